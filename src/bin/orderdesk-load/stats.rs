//! Latency samples and their summary.

use std::time::Duration;

/// What one scenario measured.
#[derive(Debug, Default)]
pub struct Summary {
    pub count: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn summarize(mut samples: Vec<Duration>, wall: Duration) -> Summary {
    samples.sort();
    let pick = |q: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    Summary {
        count: samples.len(),
        per_second: samples.len() as f64 / wall.as_secs_f64().max(1e-9),
        p50_ms: pick(0.50),
        p90_ms: pick(0.90),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
    }
}
