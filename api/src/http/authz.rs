//! Authorization: which households a caller may read or change.
//!
//! - client: their own household only (read and write);
//! - advisor: the households they are assigned (read and write);
//! - auditor: every household, read only (and as-of replays, the event stream, verification);
//! - admin: everything.
//!
//! A household the caller may not see answers 404, exactly like one that does not exist (so
//! guessing ids reveals nothing), and the refusal is recorded on the caller's stream.

use domain::user::{Role, UserCommand};

use super::auth::Principal;
use super::problem::Problem;
use super::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
}

/// Whether `p` may `need` the household `key`.
pub fn may(p: &Principal, key: &str, need: Need) -> bool {
    if p.is(Role::Admin) || (need == Need::Read && p.is(Role::Auditor)) {
        return true;
    }
    if p.is(Role::Advisor) && p.claims.households.iter().any(|h| h == key) {
        return true;
    }
    p.is(Role::Client) && p.claims.household.as_deref() == Some(key)
}

/// Records an access refusal on the caller's stream (a failure to record is logged, never
/// shown: the answer is the same either way).
pub async fn refused(state: &AppState, p: &Principal, what: String) {
    tracing::warn!(user = %p.user_id(), %what, "access refused");
    let command = UserCommand::RefuseAccess { what };
    if let Err(e) = commands::user::command(&state.store, p.user_id(), command, &p.caller()).await {
        tracing::error!(error = %e, "cannot record an access refusal");
    }
}

/// The household key of `household` if `p` may `need` it; otherwise records the refusal and
/// answers 404.
pub async fn household(
    state: &AppState,
    p: &Principal,
    household: &str,
    need: Need,
    what: &str,
) -> Result<String, Problem> {
    let key = domain::ledger::household_key(household);
    // (A key too long to name a stream cannot be a household.)
    let named = !key.is_empty() && key.len() <= 128;
    if named && may(p, &key, need) {
        return Ok(key);
    }
    let verb = if need == Need::Read { "read" } else { "change" };
    refused(state, p, format!("{verb} household {household:?}: {what}")).await;
    if named && may(p, &key, Need::Read) {
        // They can see it (an auditor): say why they cannot change it.
        return Err(Problem::new("forbidden", "your role may read this household, not change it"));
    }
    Err(Problem::not_found())
}

/// Refuses (403, recorded) unless the caller has one of `roles`.
pub async fn role(state: &AppState, p: &Principal, roles: &[Role], what: &str) -> Result<(), Problem> {
    if roles.iter().any(|r| p.is(*r)) {
        return Ok(());
    }
    refused(state, p, format!("{what}: needs {}", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")))
        .await;
    Err(Problem::new(
        "forbidden",
        format!("{what} needs the role {}", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")),
    ))
}
