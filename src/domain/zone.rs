//! The time zone that times are shown in. Times are stored and exchanged in UTC (the database,
//! the JSON API, the CSV exports); a person reads them in the zone the server is configured
//! with (`--timezone`, an IANA name such as `Europe/Vienna`). Every conversion for display
//! goes through [`Zone`], so there is one place that knows about zones and their rules.
//!
//! The rules come from the `jiff` crate, which reads the system's tz database
//! (`/usr/share/zoneinfo`, kept current by the operating system's updates).

use std::fmt;

use time::{Date, Month, OffsetDateTime};

/// A named IANA time zone, or UTC.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

/// A time zone name the tz database does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone {0:?}: give an IANA name such as Europe/Vienna or America/New_York, or UTC"
)]
pub struct UnknownZone(pub String);

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone called `name` (`Europe/Vienna`, `UTC`); an empty name is UTC.
    pub fn named(name: &str) -> Result<Zone, UnknownZone> {
        let name = name.trim();
        if name.is_empty() || name.eq_ignore_ascii_case("utc") {
            return Ok(Zone::utc());
        }
        let tz = jiff::tz::TimeZone::get(name).map_err(|_| UnknownZone(name.to_string()))?;
        Ok(Zone {
            name: name.to_string(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn zoned(&self, t: OffsetDateTime) -> jiff::Zoned {
        let ts = jiff::Timestamp::new(t.unix_timestamp(), 0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        ts.to_zoned(self.tz.clone())
    }

    /// The local calendar day of the instant `t` (which may be in any offset): what "the day"
    /// of a timestamp is to the people using orderdesk, for "today" and for figures per day.
    pub fn local_date(&self, t: OffsetDateTime) -> Date {
        let d = self.zoned(t).date();
        Month::try_from(u8::try_from(d.month()).unwrap_or(1))
            .ok()
            .and_then(|m| {
                Date::from_calendar_date(i32::from(d.year()), m, u8::try_from(d.day()).ok()?).ok()
            })
            .unwrap_or_else(|| t.date())
    }

    /// Today in this zone.
    pub fn today(&self) -> Date {
        self.local_date(OffsetDateTime::now_utc())
    }

    /// The instant (in UTC) the local day `d` begins: local midnight, or the first moment of
    /// the day where a DST change skips midnight. Day `d` runs from `day_start(d)` up to
    /// `day_start(d.next_day())`, which is 23 or 25 hours on the days the clocks change.
    pub fn day_start(&self, d: Date) -> OffsetDateTime {
        let start = jiff::civil::Date::new(
            i16::try_from(d.year()).unwrap_or(1970),
            i8::try_from(u8::from(d.month())).unwrap_or(1),
            i8::try_from(d.day()).unwrap_or(1),
        )
        .ok()
        .and_then(|c| c.to_zoned(self.tz.clone()).ok());
        match start {
            Some(z) => OffsetDateTime::from_unix_timestamp(z.timestamp().as_second())
                .unwrap_or_else(|_| d.midnight().assume_utc()),
            None => d.midnight().assume_utc(),
        }
    }

    /// `2026-11-27 11:02 CET`: a moment as a person reads it, with the zone's abbreviation
    /// (or its offset, `+03`, where the zone has no abbreviation).
    pub fn datetime(&self, t: OffsetDateTime) -> String {
        self.zoned(t).strftime("%Y-%m-%d %H:%M %Z").to_string()
    }

    /// `2026-11-27`: the local day.
    pub fn date(&self, t: OffsetDateTime) -> String {
        self.zoned(t).strftime("%Y-%m-%d").to_string()
    }

    /// `11:02:41 CET`, for "already recorded at" lines.
    pub fn clock(&self, t: OffsetDateTime) -> String {
        self.zoned(t).strftime("%H:%M:%S %Z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn utc_is_the_default_and_unknown_names_are_refused() {
        assert_eq!(Zone::named("").unwrap().name(), "UTC");
        assert_eq!(Zone::named("utc").unwrap().name(), "UTC");
        let err = Zone::named("Europe/Vienn").unwrap_err();
        assert!(err.to_string().contains("\"Europe/Vienn\""), "{err}");
    }

    #[test]
    fn shows_local_time_with_its_abbreviation() {
        let vienna = Zone::named("Europe/Vienna").unwrap();
        let t = datetime!(2026-11-27 23:30 UTC);
        assert_eq!(vienna.datetime(t), "2026-11-28 00:30 CET");
        assert_eq!(vienna.date(t), "2026-11-28");
        assert_eq!(vienna.clock(t), "00:30:00 CET");
        assert_eq!(Zone::utc().datetime(t), "2026-11-27 23:30 UTC");
        let summer = datetime!(2026-07-01 10:00 UTC);
        assert_eq!(vienna.datetime(summer), "2026-07-01 12:00 CEST");
    }

    #[test]
    fn local_days_and_their_bounds() {
        let vienna = Zone::named("Europe/Vienna").unwrap();
        let t = datetime!(2026-11-27 23:30 UTC);
        assert_eq!(vienna.local_date(t), time::macros::date!(2026 - 11 - 28));
        assert_eq!(
            Zone::utc().local_date(t),
            time::macros::date!(2026 - 11 - 27)
        );
        assert_eq!(
            vienna.day_start(time::macros::date!(2026 - 11 - 28)),
            datetime!(2026-11-27 23:00 UTC)
        );
        // The day the clocks go back has 25 hours.
        let a = vienna.day_start(time::macros::date!(2026 - 10 - 25));
        let b = vienna.day_start(time::macros::date!(2026 - 10 - 26));
        assert_eq!(b - a, time::Duration::hours(25));
        let ny = Zone::named("America/New_York").unwrap();
        assert_eq!(ny.local_date(t), time::macros::date!(2026 - 11 - 27));
    }
}
