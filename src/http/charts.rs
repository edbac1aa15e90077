//! Small charts drawn on the server as SVG: no chart library and no script in the browser.
//!
//! This module turns figures per day into display-ready geometry (coordinates already written as
//! text) that `macros.html` draws; the page never computes anything. Every chart carries its text
//! alternative: a title, a one-sentence description and the table of its figures.
//!
//! Figures stay [`Decimal`] (money is never a float); they become pixels only here, by exact
//! decimal arithmetic rounded to a tenth of a pixel.

use rust_decimal::Decimal;
use time::{Date, Duration, OffsetDateTime};

/// Which day a moment belongs to, for every "per day" of the charts: the calendar day in the
/// display zone of the request being served (`--timezone`; UTC outside a request). This is the
/// one place that decides it; the chart queries, grouped per quarter-hour, stay exact for any
/// zone.
pub fn day_of(at: OffsetDateTime) -> Date {
    super::templates::display_zone().local_date(at)
}

/// The `n` days ending with `today`, oldest first.
pub fn last_days(today: Date, n: u16) -> Vec<Date> {
    (0..i64::from(n))
        .rev()
        .map(|back| today - Duration::days(back))
        .collect()
}

/// Sum amounts per day over `days`; amounts of other days are left out.
pub fn sum_per_day(
    days: &[Date],
    amounts: impl IntoIterator<Item = (OffsetDateTime, Decimal)>,
) -> Vec<Decimal> {
    let mut sums = vec![Decimal::ZERO; days.len()];
    for (at, amount) in amounts {
        if let Ok(i) = days.binary_search(&day_of(at)) {
            sums[i] += amount;
        }
    }
    sums
}

/// The balance at the end of each of `days`: `opening` until the first change, then the latest
/// balance seen. `changes` are (moment, balance after) in time order.
pub fn balance_per_day(
    days: &[Date],
    opening: i64,
    changes: impl IntoIterator<Item = (OffsetDateTime, i64)>,
) -> Vec<i64> {
    let mut changes = changes.into_iter().peekable();
    let mut balance = opening;
    days.iter()
        .map(|day| {
            while let Some((_, after)) = changes.next_if(|(at, _)| day_of(*at) <= *day) {
                balance = after;
            }
            balance
        })
        .collect()
}

/// One figure of a chart: its day, its value, and the value as the page shows it.
pub struct Figure {
    pub day: Date,
    pub value: Decimal,
    pub shown: String,
}

/// One bar, its coordinates written out.
pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// Tooltip: day and value.
    pub tip: String,
}

/// A row of the figures table.
pub struct Row {
    pub day: String,
    pub value: String,
}

/// A chart ready to draw: bars, or a stepped line with the area under it.
pub struct Chart {
    /// Element id; also the prefix of the title and description ids.
    pub id: &'static str,
    pub title: String,
    pub desc: String,
    /// Heading of the value column of the figures table.
    pub column: String,
    pub bars: Vec<Bar>,
    /// `points` of the stepped line (empty for bars).
    pub line: String,
    /// `points` of the area under the line (empty for bars).
    pub area: String,
    /// The top of the scale, as shown.
    pub top: String,
    pub first_day: String,
    pub last_day: String,
    pub rows: Vec<Row>,
    /// The frame: `viewBox`, the baseline's and the scale top's y, the plot's left and right x.
    pub view_box: String,
    pub base_y: String,
    pub top_y: String,
    pub left_x: String,
    pub right_x: String,
    /// A level drawn across the chart as a dashed line (the reorder level): its y and legend.
    pub mark: Option<(String, String)>,
}

/// The drawing area, in SVG user units (the `viewBox`; the SVG scales to its box).
pub const WIDTH: i64 = 600;
pub const HEIGHT: i64 = 160;
const LEFT: i64 = 4;
const RIGHT: i64 = 4;
const TOP: i64 = 20;
const BOTTOM: i64 = 22;

fn px(d: Decimal) -> String {
    d.round_dp(1).normalize().to_string()
}

fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Scale: the largest value (at least one unit, so an all-zero chart still has a scale) and
/// the height a value gets.
struct Scale {
    max: Decimal,
    plot: Decimal,
}

impl Scale {
    fn of(figures: &[Figure], mark: Option<Decimal>) -> Scale {
        let max = figures
            .iter()
            .map(|f| f.value)
            .chain(mark)
            .max()
            .unwrap_or(Decimal::ZERO)
            .max(Decimal::ZERO);
        Scale {
            max,
            plot: Decimal::from(HEIGHT - TOP - BOTTOM),
        }
    }

    /// Height of `v`: negative values draw as nothing.
    fn height(&self, v: Decimal) -> Decimal {
        if self.max.is_zero() {
            return Decimal::ZERO;
        }
        v.max(Decimal::ZERO) * self.plot / self.max
    }

    fn baseline(&self) -> Decimal {
        Decimal::from(HEIGHT - BOTTOM)
    }
}

fn common(
    id: &'static str,
    title: &str,
    column: &str,
    figures: &[Figure],
    top_shown: String,
    desc: String,
) -> Chart {
    Chart {
        id,
        title: title.to_string(),
        desc,
        column: column.to_string(),
        bars: Vec::new(),
        line: String::new(),
        area: String::new(),
        top: top_shown,
        first_day: figures.first().map(|f| day_text(f.day)).unwrap_or_default(),
        last_day: figures.last().map(|f| day_text(f.day)).unwrap_or_default(),
        rows: figures
            .iter()
            .map(|f| Row {
                day: day_text(f.day),
                value: f.shown.clone(),
            })
            .collect(),
        view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        base_y: (HEIGHT - BOTTOM).to_string(),
        top_y: TOP.to_string(),
        left_x: LEFT.to_string(),
        right_x: (WIDTH - RIGHT).to_string(),
        mark: None,
    }
}

fn slot(figures: &[Figure]) -> Decimal {
    let n = Decimal::from(figures.len().max(1) as i64);
    Decimal::from(WIDTH - LEFT - RIGHT) / n
}

/// A bar per figure. `show` writes a value the way the page shows it (for the scale's top).
pub fn bars(
    id: &'static str,
    title: &str,
    column: &str,
    figures: &[Figure],
    show: impl Fn(Decimal) -> String,
) -> Chart {
    let scale = Scale::of(figures, None);
    let slot = slot(figures);
    let width = slot * Decimal::new(7, 1);
    let total: Decimal = figures.iter().map(|f| f.value).sum();
    let desc = match figures.iter().max_by_key(|f| f.value) {
        Some(best) if !best.value.is_zero() => format!(
            "{title} from {} to {}: {} in all; the highest was {} on {}.",
            day_text(figures[0].day),
            day_text(figures[figures.len() - 1].day),
            show(total),
            best.shown,
            day_text(best.day)
        ),
        _ => format!("{title}: none in the period shown."),
    };
    let mut chart = common(id, title, column, figures, show(scale.max), desc);
    chart.bars = figures
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let h = scale.height(f.value);
            Bar {
                x: px(Decimal::from(LEFT)
                    + slot * Decimal::from(i as i64)
                    + (slot - width) / Decimal::TWO),
                y: px(scale.baseline() - h),
                width: px(width),
                height: px(h),
                tip: format!("{}: {}", day_text(f.day), f.shown),
            }
        })
        .collect();
    chart
}

/// A stepped line: each figure holds for its day (stock stays what it is until it moves), and
/// `mark`, a level with its name (the reorder level), as a dashed line the scale includes.
pub fn steps(
    id: &'static str,
    title: &str,
    column: &str,
    figures: &[Figure],
    mark: Option<(Decimal, &str)>,
    show: impl Fn(Decimal) -> String,
) -> Chart {
    let scale = Scale::of(figures, mark.map(|(v, _)| v));
    let slot = slot(figures);
    let desc = match (figures.first(), figures.last()) {
        (Some(first), Some(last)) => {
            let low = figures.iter().min_by_key(|f| f.value).unwrap_or(first);
            format!(
                "{title} from {} to {}: {} at the start, {} at the end; the lowest was {} on {}.",
                day_text(first.day),
                day_text(last.day),
                first.shown,
                last.shown,
                low.shown,
                day_text(low.day)
            )
        }
        _ => format!("{title}: nothing to show."),
    };
    let desc = match mark {
        Some((level, name)) => format!("{desc} {name}: {}.", show(level)),
        None => desc,
    };
    let mut chart = common(id, title, column, figures, show(scale.max), desc);
    chart.mark = mark.map(|(level, name)| {
        (
            px(scale.baseline() - scale.height(level)),
            format!("{name}: {}", show(level)),
        )
    });
    let mut points = Vec::with_capacity(figures.len() * 2);
    for (i, f) in figures.iter().enumerate() {
        let y = px(scale.baseline() - scale.height(f.value));
        let x0 = Decimal::from(LEFT) + slot * Decimal::from(i as i64);
        points.push(format!("{},{y}", px(x0)));
        points.push(format!("{},{y}", px(x0 + slot)));
    }
    if !points.is_empty() {
        let base = px(scale.baseline());
        let right = px(Decimal::from(LEFT) + slot * Decimal::from(figures.len() as i64));
        chart.area = format!(
            "{},{base} {} {right},{base}",
            px(Decimal::from(LEFT)),
            points.join(" ")
        );
    }
    chart.line = points.join(" ");
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn figs(values: &[i64]) -> Vec<Figure> {
        let days = last_days(date!(2026 - 11 - 30), values.len() as u16);
        days.into_iter()
            .zip(values)
            .map(|(day, v)| Figure {
                day,
                value: Decimal::from(*v),
                shown: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn outside_a_request_a_day_is_the_utc_date() {
        assert_eq!(
            day_of(datetime!(2026-11-30 23:59:59 UTC)),
            date!(2026 - 11 - 30)
        );
        assert_eq!(
            day_of(datetime!(2026-11-30 23:30 -01:00)),
            date!(2026 - 12 - 01)
        );
    }

    #[test]
    fn last_days_end_today_oldest_first() {
        let days = last_days(date!(2026 - 03 - 02), 3);
        assert_eq!(
            days,
            vec![
                date!(2026 - 02 - 28),
                date!(2026 - 03 - 01),
                date!(2026 - 03 - 02)
            ]
        );
    }

    #[test]
    fn sums_fall_on_their_day_and_outside_days_are_dropped() {
        let days = last_days(date!(2026 - 11 - 30), 2);
        let sums = sum_per_day(
            &days,
            [
                (datetime!(2026-11-28 12:00 UTC), Decimal::ONE),
                (datetime!(2026-11-29 00:00 UTC), Decimal::new(150, 2)),
                (datetime!(2026-11-29 23:45 UTC), Decimal::new(250, 2)),
                (datetime!(2026-11-30 10:00 UTC), Decimal::new(1, 2)),
            ],
        );
        assert_eq!(sums, vec![Decimal::new(400, 2), Decimal::new(1, 2)]);
    }

    #[test]
    fn balance_carries_over_days_without_movement() {
        let days = last_days(date!(2026 - 11 - 30), 4);
        let balances = balance_per_day(
            &days,
            7,
            [
                (datetime!(2026-11-26 09:00 UTC), 5),
                (datetime!(2026-11-28 09:00 UTC), 20),
                (datetime!(2026-11-28 17:00 UTC), 12),
            ],
        );
        assert_eq!(balances, vec![5, 12, 12, 12]);
        assert_eq!(balance_per_day(&days, 3, []), vec![3, 3, 3, 3]);
    }

    #[test]
    fn the_highest_bar_fills_the_plot_and_the_others_scale_exactly() {
        let chart = bars("c", "Confirmations", "Confirmed", &figs(&[0, 1, 4]), |d| {
            d.to_string()
        });
        let heights: Vec<&str> = chart.bars.iter().map(|b| b.height.as_str()).collect();
        // plot height is 160 - 20 - 22 = 118
        assert_eq!(heights, vec!["0", "29.5", "118"]);
        assert_eq!(chart.bars[2].y, "20");
        assert_eq!(chart.bars[0].y, "138");
        assert_eq!(chart.top, "4");
        assert_eq!(chart.rows.len(), 3);
        assert_eq!(chart.rows[2].day, "2026-11-30");
        assert!(chart.desc.contains("5 in all"), "{}", chart.desc);
        assert!(chart.desc.contains("4 on 2026-11-30"), "{}", chart.desc);
    }

    #[test]
    fn money_scales_without_floats() {
        let figures = vec![
            Figure {
                day: date!(2026 - 11 - 29),
                value: Decimal::new(1, 2),
                shown: "0.01".into(),
            },
            Figure {
                day: date!(2026 - 11 - 30),
                value: Decimal::new(300, 2),
                shown: "3.00".into(),
            },
        ];
        let chart = bars("r", "Revenue", "Invoiced", &figures, |d| d.to_string());
        // 0.01 / 3.00 * 118 = 0.393.. -> 0.4
        assert_eq!(chart.bars[0].height, "0.4");
        assert_eq!(chart.bars[1].height, "118");
    }

    #[test]
    fn an_empty_period_draws_flat_and_says_so() {
        let chart = bars("c", "Confirmations", "Confirmed", &figs(&[0, 0]), |d| {
            d.to_string()
        });
        assert!(chart.bars.iter().all(|b| b.height == "0"));
        assert!(chart.desc.contains("none"), "{}", chart.desc);
    }

    #[test]
    fn steps_hold_each_value_for_its_day() {
        let chart = steps("s", "Stock", "On hand", &figs(&[2, 0]), None, |d| {
            d.to_string()
        });
        // two slots of 296 from x = 4; 2 is the top (y 20), 0 the baseline (y 138)
        assert_eq!(chart.line, "4,20 300,20 300,138 596,138");
        assert_eq!(chart.area, "4,138 4,20 300,20 300,138 596,138 596,138");
        assert!(
            chart.desc.contains("2 at the start, 0 at the end"),
            "{}",
            chart.desc
        );
        assert!(chart.mark.is_none());
    }

    #[test]
    fn a_mark_above_every_figure_raises_the_scale() {
        let reorder = Some((Decimal::from(4), "Reorder level"));
        let chart = steps("s", "Stock", "On hand", &figs(&[2, 1]), reorder, |d| {
            d.to_string()
        });
        assert_eq!(chart.top, "4");
        assert_eq!(
            chart.mark,
            Some(("20".to_string(), "Reorder level: 4".to_string()))
        );
        // 2 of 4 is half the plot's 118: y = 138 - 59
        assert!(chart.line.starts_with("4,79 "), "{}", chart.line);
        assert!(chart.desc.ends_with("Reorder level: 4."), "{}", chart.desc);
    }
}
