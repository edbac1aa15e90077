//! Fault injection for the test suite: hold a transaction open after its claim so duplicates
//! really overlap, or fail a confirmation right after its stock update to prove that nothing of
//! it remains. Compiled only with the `test-hooks` feature, which the integration tests enable;
//! without it the hooks below are empty functions and release builds carry none of this.

use super::Tx;

#[cfg(feature = "test-hooks")]
pub use hooks::Faults;

#[cfg(feature = "test-hooks")]
mod hooks {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    /// The switches of one [`Db`](super::Db) (so parallel tests do not disturb each other).
    #[derive(Debug, Default)]
    pub struct Faults {
        fail_after_stock_update: AtomicBool,
        action_delay_ms: AtomicU64,
    }

    impl Faults {
        /// Make the next confirmation fail right after it decremented stock (then disarm).
        pub fn fail_next_confirmation_after_stock_update(&self) {
            self.fail_after_stock_update.store(true, Ordering::SeqCst);
        }

        pub(crate) fn take_fail_after_stock_update(&self) -> bool {
            self.fail_after_stock_update.swap(false, Ordering::SeqCst)
        }

        /// Hold every state-changing action open this long inside its transaction, right
        /// after its claim, so that duplicates really overlap in tests.
        pub fn set_action_delay(&self, delay: Duration) {
            let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            self.action_delay_ms.store(ms, Ordering::SeqCst);
        }

        pub(crate) fn action_delay(&self) -> Option<Duration> {
            match self.action_delay_ms.load(Ordering::SeqCst) {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            }
        }
    }

    impl crate::db::Db {
        /// This database handle's fault switches.
        pub fn faults(&self) -> &Faults {
            &self.faults
        }
    }
}

/// Right after an action's claim: sleep when a test asked for overlapping duplicates.
pub async fn pause_after_claim(tx: &Tx) {
    #[cfg(feature = "test-hooks")]
    if let Some(delay) = tx.faults.action_delay() {
        tokio::time::sleep(delay).await;
    }
    #[cfg(not(feature = "test-hooks"))]
    let _ = tx;
}

/// Right after a confirmation's stock update: whether a test asked it to fail there.
pub fn fail_after_stock_update(tx: &Tx) -> bool {
    #[cfg(feature = "test-hooks")]
    return tx.faults.take_fail_after_stock_update();
    #[cfg(not(feature = "test-hooks"))]
    {
        let _ = tx;
        false
    }
}
