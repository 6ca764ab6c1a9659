//! Rate limits for signing in, MFA codes and refreshing: a sliding window of attempts per key
//! (an IP address, an account), kept in memory. Exceeding a limit answers 429 with
//! `Retry-After`; the lockout that grows with consecutive failures is recorded as events on
//! the user (see `domain::access`), so it survives a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is being limited, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    SignInPerIp,
    SignInPerAccount,
    MfaPerAccount,
    RefreshPerIp,
    RefreshPerAccount,
    /// Self-registrations from one address (IPv6: one /64).
    RegisterPerIp,
}

impl Scope {
    /// (attempts, window).
    pub fn rule(self) -> (usize, Duration) {
        match self {
            Self::SignInPerIp => (30, Duration::from_secs(60)),
            Self::SignInPerAccount => (20, Duration::from_secs(60)),
            Self::MfaPerAccount => (5, Duration::from_secs(300)),
            Self::RefreshPerIp => (120, Duration::from_secs(60)),
            Self::RefreshPerAccount => (30, Duration::from_secs(60)),
            Self::RegisterPerIp => (10, Duration::from_secs(600)),
        }
    }
}

#[derive(Debug, Default)]
pub struct Limiter {
    attempts: Mutex<HashMap<(Scope, String), VecDeque<Instant>>>,
}

impl Limiter {
    /// Counts an attempt under `key`; `Err(wait)` when the limit is already reached (the
    /// attempt is then not counted).
    pub fn attempt(&self, scope: Scope, key: &str) -> Result<(), Duration> {
        self.attempt_at(scope, key, Instant::now())
    }

    fn attempt_at(&self, scope: Scope, key: &str, now: Instant) -> Result<(), Duration> {
        let (limit, window) = scope.rule();
        let mut map = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|(s, _), q| q.back().is_some_and(|t| now.duration_since(*t) < s.rule().1));
        }
        let q = map.entry((scope, key.to_owned())).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= limit {
            let oldest = *q.front().expect("limit is at least one");
            return Err(window.saturating_sub(now.duration_since(oldest)).max(Duration::from_secs(1)));
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_per_key_and_the_window_slides() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(l.attempt_at(Scope::SignInPerAccount, "alice", t0 + Duration::from_millis(i * 500)).is_ok());
        }
        let wait = l.attempt_at(Scope::SignInPerAccount, "alice", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50), "until the first attempt leaves the window");
        assert!(l.attempt_at(Scope::SignInPerAccount, "bob", t0 + Duration::from_secs(10)).is_ok());
        assert!(l.attempt_at(Scope::SignInPerAccount, "alice", t0 + Duration::from_secs(60)).is_ok());
    }
}
