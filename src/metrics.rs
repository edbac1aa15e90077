//! Prometheus metrics of one server process: requests (all, and the API's), confirmations and
//! their latency.
//!
//! Counters live in memory because they describe this process (Prometheus scrapes each server);
//! nothing that decides an outcome is kept here.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::db::timing::Phase;
use crate::idempotency::Timing;

/// Upper bounds of the request latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Upper bounds of the buckets of one phase of a confirmation, in seconds: most phases take a
/// fraction of a millisecond.
const PHASE_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// A latency histogram with fixed buckets.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::with_bounds(&BUCKETS)
    }
}

impl Histogram {
    fn with_bounds(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, n) in self.bounds.iter().zip(&self.buckets) {
            if secs <= *bound {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        self.render_series(out, name, "");
    }

    /// The series of this histogram, each with `labels` (`key="value",` or empty) first.
    fn render_series(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, n) in self.bounds.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}le=\"{bound}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let labels = match labels.trim_end_matches(',') {
            "" => String::new(),
            l => format!("{{{l}}}"),
        };
        let _ = writeln!(
            out,
            "{name}_sum{labels} {sum}\n{name}_count{labels} {count}"
        );
    }
}

/// How a confirmation request ended.
#[derive(Debug, Clone, Copy)]
pub enum ConfirmOutcome {
    /// This request did the work.
    Confirmed,
    /// A duplicate, answered with the recorded outcome.
    Replayed,
    /// Refused for short stock; nothing changed.
    Short,
    /// A duplicate past the wait bound, told "still processing".
    StillProcessing,
    /// Any other refusal or failure.
    Failed,
}

/// Every counter of the process.
pub struct Metrics {
    responses: [AtomicU64; 5],
    api_responses: [AtomicU64; 5],
    request_seconds: Histogram,
    confirmations: [AtomicU64; 5],
    confirm_seconds: Histogram,
    /// The phases of the confirmations this server committed, one histogram per [`Phase`].
    confirm_phase_seconds: Vec<Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            responses: Default::default(),
            api_responses: Default::default(),
            request_seconds: Histogram::default(),
            confirmations: Default::default(),
            confirm_seconds: Histogram::default(),
            confirm_phase_seconds: Phase::ALL
                .iter()
                .map(|_| Histogram::with_bounds(&PHASE_BUCKETS))
                .collect(),
        }
    }
}

/// The action whose phases `/metrics` shows: a confirmation (its scope's purpose).
const CONFIRMATION: &str = "confirm-order";

impl Metrics {
    pub fn record_response(&self, status: u16, took: Duration) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        self.request_seconds.observe(took);
    }

    /// One response of the JSON API (also counted among all responses).
    pub fn record_api_response(&self, status: u16) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.api_responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Time a confirmation request and count it by how it ended: `request` says so when it
    /// answers, `failed` classifies its errors. Both faces count confirmations through this.
    pub async fn time_confirmation<T, E>(
        &self,
        request: impl std::future::Future<Output = Result<(T, ConfirmOutcome), E>>,
        failed: impl FnOnce(&E) -> ConfirmOutcome,
    ) -> Result<T, E> {
        let start = std::time::Instant::now();
        let result = request.await;
        let outcome = match &result {
            Ok((_, outcome)) => *outcome,
            Err(e) => failed(e),
        };
        self.record_confirmation(outcome, start.elapsed());
        result.map(|(answer, _)| answer)
    }

    /// The phases of an action this server committed (pages and API alike); `/metrics` keeps
    /// those of confirmations, the log has every action's.
    pub fn record_timing(&self, timing: &Timing) {
        if timing.action != CONFIRMATION {
            return;
        }
        for (phase, histogram) in Phase::ALL.iter().zip(&self.confirm_phase_seconds) {
            histogram.observe(timing.phases.get(*phase));
        }
    }

    pub fn record_confirmation(&self, outcome: ConfirmOutcome, took: Duration) {
        self.confirmations[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.confirm_seconds.observe(took);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP orderdesk_http_responses_total HTTP responses by status class.\n");
        out.push_str("# TYPE orderdesk_http_responses_total counter\n");
        for (i, n) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "orderdesk_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                n.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP orderdesk_api_responses_total JSON API responses by status class.\n");
        out.push_str("# TYPE orderdesk_api_responses_total counter\n");
        for (i, n) in self.api_responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "orderdesk_api_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                n.load(Ordering::Relaxed)
            );
        }
        self.request_seconds.render(
            &mut out,
            "orderdesk_http_request_duration_seconds",
            "Time to answer a request.",
        );
        out.push_str("# HELP orderdesk_confirmations_total Confirmation requests by outcome.\n");
        out.push_str("# TYPE orderdesk_confirmations_total counter\n");
        for (label, outcome) in [
            ("confirmed", ConfirmOutcome::Confirmed),
            ("replayed", ConfirmOutcome::Replayed),
            ("short_stock", ConfirmOutcome::Short),
            ("still_processing", ConfirmOutcome::StillProcessing),
            ("failed", ConfirmOutcome::Failed),
        ] {
            let n = self.confirmations[outcome as usize].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "orderdesk_confirmations_total{{outcome=\"{label}\"}} {n}"
            );
        }
        self.confirm_seconds.render(
            &mut out,
            "orderdesk_confirmation_duration_seconds",
            "Time to answer a confirmation request.",
        );
        let name = "orderdesk_confirmation_phase_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time a committed confirmation spent in each phase of its transaction \
             (connection, claim, lock, write, number, render, commit).\n# TYPE {name} histogram"
        );
        for (phase, histogram) in Phase::ALL.iter().zip(&self.confirm_phase_seconds) {
            histogram.render_series(&mut out, name, &format!("phase=\"{}\",", phase.name()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record_response(303, Duration::from_millis(3));
        m.record_response(500, Duration::from_millis(30));
        m.record_confirmation(ConfirmOutcome::Replayed, Duration::from_millis(2));
        m.record_api_response(201);
        let text = m.render();
        assert!(text.contains("orderdesk_http_responses_total{class=\"3xx\"} 1"));
        assert!(text.contains("orderdesk_http_responses_total{class=\"5xx\"} 1"));
        assert!(text.contains("orderdesk_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("orderdesk_http_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("orderdesk_http_request_duration_seconds_count 2"));
        assert!(text.contains("orderdesk_confirmations_total{outcome=\"replayed\"} 1"));
        assert!(text.contains("orderdesk_confirmations_total{outcome=\"confirmed\"} 0"));
        assert!(text.contains("orderdesk_api_responses_total{class=\"2xx\"} 1"));
        assert!(text.contains("orderdesk_http_request_duration_seconds_sum 0.033"));
    }

    #[test]
    fn confirmations_have_a_histogram_per_phase_and_other_actions_none() {
        use crate::db::timing::PhaseTimes;
        let m = Metrics::default();
        let start = std::time::Instant::now();
        let mut phases = PhaseTimes::since(start);
        phases.mark(Phase::Claim);
        let timing = |action| Timing {
            action,
            phases: phases.clone(),
        };
        m.record_timing(&timing("confirm-order"));
        m.record_timing(&timing("add-line"));
        let text = m.render();
        let phase = "orderdesk_confirmation_phase_seconds";
        for p in Phase::ALL {
            let count = format!("{phase}_count{{phase=\"{}\"}} 1", p.name());
            assert!(text.contains(&count), "{count} in {text}");
        }
        assert!(text.contains(&format!("{phase}_bucket{{phase=\"lock\",le=\"0.0001\"}} 1")));
        assert!(text.contains(&format!("{phase}_bucket{{phase=\"claim\",le=\"+Inf\"}} 1")));
    }
}
