//! Signing in, as part of the user aggregate: the password hash, refresh-token sessions
//! (rotated on each use; reuse of a rotated token revokes its whole family), known devices,
//! consecutive failures with a lockout that grows (it holds against devices that never signed
//! in, so failures from elsewhere cannot keep the owner's own browser out), the last TOTP step
//! used (a code is never accepted twice), single-use backup codes, and the households an advisor is assigned.
//!
//! The shell hashes passwords, checks TOTP codes and fingerprints devices; the domain holds
//! the state those checks need and decides what is recorded. Refresh tokens appear here only
//! as SHA-256 digests.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Consecutive failed sign-ins after which the account is locked.
pub const LOCKOUT_AFTER_FAILURES: u32 = 5;
/// The first lockout; each further failure while still failing doubles it, up to the maximum.
pub const FIRST_LOCKOUT_SECONDS: i64 = 60;
pub const MAX_LOCKOUT_SECONDS: i64 = 3600;
/// How long a refresh token may be used after it was issued.
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// How long the account is locked after `failures` consecutive failures (none below the
/// threshold): 1 minute at 5, 2 at 6, 4 at 7, … at most an hour.
pub fn lockout_for(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(LOCKOUT_AFTER_FAILURES)?;
    let seconds = FIRST_LOCKOUT_SECONDS.saturating_mul(1i64 << over.min(20)).min(MAX_LOCKOUT_SECONDS);
    Some(Duration::seconds(seconds))
}

/// One refresh-token family: a sign-in and every rotation since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 (hex) of the token that may be used next.
    pub current: String,
    /// Digests of the tokens already rotated away: presenting one is reuse.
    pub rotated: BTreeSet<String>,
    pub device: String,
    pub started: DateTime<Utc>,
    /// When `current` was issued (it expires [`REFRESH_TOKEN_DAYS`] later).
    pub issued: DateTime<Utc>,
}

/// What signing in needs to know of a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Argon2id hash in PHC string form.
    pub password: Option<String>,
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// Live sessions by id; a revoked or logged-out family is removed.
    pub sessions: BTreeMap<String, Session>,
    /// Fingerprints of devices that signed in before.
    pub devices: BTreeSet<String>,
    /// The last TOTP time step accepted.
    pub mfa_last_step: Option<u64>,
    /// Backup-code digests; `None` once used.
    pub backup_codes: Vec<Option<String>>,
    /// Households an advisor is assigned to.
    pub households: BTreeSet<String>,
}

impl Access {
    /// The session whose current token has this digest and is still within its lifetime.
    pub fn session_for(&self, token: &str, now: DateTime<Utc>) -> Option<&str> {
        self.sessions
            .iter()
            .find(|(_, s)| s.current == token && now < s.issued + Duration::days(REFRESH_TOKEN_DAYS))
            .map(|(id, _)| id.as_str())
    }

    /// The session a rotated-away token belonged to.
    pub fn session_reusing(&self, token: &str) -> Option<&str> {
        self.sessions.iter().find(|(_, s)| s.rotated.contains(token)).map(|(id, _)| id.as_str())
    }

    pub fn locked(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_starts_at_the_threshold_and_doubles_up_to_an_hour() {
        assert_eq!(lockout_for(4), None);
        assert_eq!(lockout_for(5), Some(Duration::seconds(60)));
        assert_eq!(lockout_for(6), Some(Duration::seconds(120)));
        assert_eq!(lockout_for(8), Some(Duration::seconds(480)));
        assert_eq!(lockout_for(11), Some(Duration::seconds(3600)));
        assert_eq!(lockout_for(200), Some(Duration::seconds(3600)));
    }
}
