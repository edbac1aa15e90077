//! Where the time of one write transaction goes: each [`Tx`](super::Tx) keeps a clock that the
//! engine and the actions mark at the end of each phase, so that a confirmation's log line and
//! `/metrics` can say how long it waited for a connection, claimed its key, waited for row locks,
//! wrote, took its number, rendered its answer and committed.
//!
//! A mark adds the time since the previous mark to its phase, so the phases of one transaction
//! add up to its whole time, and an action that marks nothing has all of its work counted in
//! [`Phase::Write`] (the engine marks that after every action).

use std::time::{Duration, Instant};

/// A phase of a write transaction, in the order a confirmation goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A connection from the pool and `BEGIN` (on SQLite `BEGIN IMMEDIATE`, which waits for
    /// the write lock).
    Connection,
    /// The idempotency key's claim (on PostgreSQL it waits for an in-flight duplicate).
    Claim,
    /// The conditional update of the order and the row locks on its products, taken in id
    /// order: the waits behind other confirmations of the same products.
    Lock,
    /// Stock, ledger, invoice lines and audit.
    Write,
    /// The invoice number from the counter row, on which every confirmation queues, and the
    /// invoice header.
    Number,
    /// The answer made from the result and recorded with the key.
    Render,
    /// `COMMIT`.
    Commit,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::Connection,
        Phase::Claim,
        Phase::Lock,
        Phase::Write,
        Phase::Number,
        Phase::Render,
        Phase::Commit,
    ];

    /// The name in metrics labels and log fields.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Connection => "connection",
            Phase::Claim => "claim",
            Phase::Lock => "lock",
            Phase::Write => "write",
            Phase::Number => "number",
            Phase::Render => "render",
            Phase::Commit => "commit",
        }
    }
}

/// The time one transaction spent in each phase so far.
#[derive(Debug, Clone)]
pub struct PhaseTimes {
    spent: [Duration; Phase::ALL.len()],
    last: Instant,
}

impl PhaseTimes {
    /// A clock started at `at` (before the connection was asked for).
    pub fn since(at: Instant) -> PhaseTimes {
        PhaseTimes {
            spent: [Duration::ZERO; Phase::ALL.len()],
            last: at,
        }
    }

    /// The time since the previous mark belongs to `phase`.
    pub fn mark(&mut self, phase: Phase) {
        let now = Instant::now();
        self.spent[phase as usize] += now.saturating_duration_since(self.last);
        self.last = now;
    }

    pub fn get(&self, phase: Phase) -> Duration {
        self.spent[phase as usize]
    }

    /// Every phase together.
    pub fn total(&self) -> Duration {
        self.spent.iter().sum()
    }

    /// Milliseconds of `phase` to the microsecond, for log fields.
    pub fn millis(&self, phase: Phase) -> f64 {
        millis(self.get(phase))
    }

    /// Milliseconds of the whole to the microsecond.
    pub fn total_millis(&self) -> f64 {
        millis(self.total())
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_add_up_to_the_whole_and_each_lands_in_its_phase() {
        let start = Instant::now();
        let mut t = PhaseTimes::since(start);
        std::thread::sleep(Duration::from_millis(2));
        t.mark(Phase::Connection);
        t.mark(Phase::Claim);
        std::thread::sleep(Duration::from_millis(1));
        t.mark(Phase::Write);
        std::thread::sleep(Duration::from_millis(1));
        t.mark(Phase::Write);
        assert!(t.get(Phase::Connection) >= Duration::from_millis(2));
        assert!(
            t.get(Phase::Write) >= Duration::from_millis(2),
            "two marks add up"
        );
        assert_eq!(t.get(Phase::Lock), Duration::ZERO);
        let whole = start.elapsed();
        assert!(t.total() <= whole && t.total() >= Duration::from_millis(4));
        assert_eq!(millis(Duration::from_nanos(3_467_524_999)), 3467.525);
    }
}
