//! The clock the day's operations run on: the system's, or a simulated one that jumps to each
//! instant waited for, so a test runs a whole trading week in seconds.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

/// What the scheduler asks of time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Completes at `at` (at once when it has passed).
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'_, ()>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // In steps of at most a minute, so a change of the system clock is noticed.
            loop {
                let left = at - Utc::now();
                if left <= chrono::Duration::zero() {
                    return;
                }
                let step = left.to_std().unwrap_or_default().min(std::time::Duration::from_secs(60));
                tokio::time::sleep(step).await;
            }
        })
    }
}

/// A clock that stands still until it is waited on, then jumps to the instant waited for.
#[derive(Debug)]
pub struct SimulatedClock(Mutex<DateTime<Utc>>);

impl SimulatedClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock to `at` (never backwards).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = (*now).max(at);
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'_, ()> {
        self.set(at);
        Box::pin(std::future::ready(()))
    }
}
