//! Authorization: which households a caller may read or change.
//!
//! - client: their own household only (read and write);
//! - advisor: the households they are assigned (read and write);
//! - auditor: every household, read only (and as-of replays, the event stream, verification);
//! - admin: everything.
//!
//! A household the caller may not see answers 404, exactly like one that does not exist (so
//! guessing ids reveals nothing), and the refusal is recorded on the caller's stream,
//! repeats aggregated ([`Refusals`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::user::{Role, UserCommand};

use super::auth::Principal;
use super::problem::{Problem, ProblemKind};
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

/// Records an access refusal on the caller's stream, aggregated by [`Refusals`] (a failure to
/// record is logged, never shown: the answer is the same either way).
pub async fn refused(state: &AppState, p: &Principal, what: String) {
    tracing::warn!(user = %p.user_id(), %what, "access refused");
    for (what, count) in state.auth.refusals.note(p.user_id(), what, Instant::now()) {
        let command = UserCommand::RefuseAccess { what, count };
        if let Err(e) = commands::user::command(&state.commands, p.user_id(), command, &p.caller()).await {
            tracing::error!(error = %e, "cannot record an access refusal");
        }
    }
}

/// How long repeats of one refusal are gathered into one event.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Distinct refusals recorded one by one per user and window; further ones are counted together.
pub const REFUSALS_PER_WINDOW: usize = 20;
/// What the refusals beyond [`REFUSALS_PER_WINDOW`] are recorded as.
pub const OTHER_REFUSALS: &str = "further refusals of other requests";

/// Keeps the security log useful and bounded however fast a caller is refused: in each window
/// of [`REFUSAL_WINDOW`] per user, the first refusal of each request is recorded at once, its
/// repeats are counted and recorded as one event with their count when the window has passed
/// (at the user's next refusal), and past [`REFUSALS_PER_WINDOW`] distinct requests the rest
/// are counted under [`OTHER_REFUSALS`]. Counts still open when the process stops are not
/// recorded (at most one window's repeats of requests already in the log).
#[derive(Debug, Default)]
pub struct Refusals(Mutex<HashMap<String, Window>>);

#[derive(Debug)]
struct Window {
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    /// Each request refused in this window, with its repeats not yet recorded.
    repeats: HashMap<String, u64>,
    others: u64,
}

impl Window {
    fn new(at: Instant) -> Self {
        Self { started: at, started_at: chrono::Utc::now(), repeats: HashMap::new(), others: 0 }
    }

    /// The counts to record when the window closes, each saying which window it counts.
    fn close(self) -> impl Iterator<Item = (String, u64)> {
        let from = self.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let during = move |what: String| format!("{what} (repeated in the {} s from {from})", REFUSAL_WINDOW.as_secs());
        let others = (self.others > 0).then(|| (OTHER_REFUSALS.to_owned(), self.others));
        self.repeats.into_iter().filter(|(_, n)| *n > 0).chain(others).map(move |(w, n)| (during(w), n))
    }
}

impl Refusals {
    /// Notes a refusal of `what` to `user` at `at`; returns the events to record now, as
    /// (what, count).
    pub fn note(&self, user: &str, what: String, at: Instant) -> Vec<(String, u64)> {
        let mut users = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        // Windows of other users that have passed are closed too, so memory stays bounded.
        if users.len() > 10_000 {
            let expired: Vec<String> = users
                .iter()
                .filter(|(_, w)| at.duration_since(w.started) >= REFUSAL_WINDOW)
                .map(|(u, _)| u.clone())
                .collect();
            for u in expired {
                if let Some(w) = users.remove(&u) {
                    let pending: Vec<_> = w.close().collect();
                    if !pending.is_empty() {
                        tracing::info!(user = %u, pending = pending.len(), "repeated refusals dropped from memory");
                    }
                }
            }
        }
        let window = users.entry(user.to_owned()).or_insert_with(|| Window::new(at));
        if at.duration_since(window.started) >= REFUSAL_WINDOW {
            out.extend(std::mem::replace(window, Window::new(at)).close());
        }
        if let Some(n) = window.repeats.get_mut(&what) {
            *n += 1;
        } else if window.repeats.len() < REFUSALS_PER_WINDOW {
            window.repeats.insert(what.clone(), 0);
            out.push((what, 1));
        } else {
            window.others += 1;
        }
        out
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
        return Err(Problem::new(ProblemKind::Forbidden, "your role may read this household, not change it"));
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
        ProblemKind::Forbidden,
        format!("{what} needs the role {}", roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_counted_into_one_event_per_window_and_distinct_requests_are_bounded() {
        let r = Refusals::default();
        let t0 = Instant::now();
        assert_eq!(r.note("u", "read jones".into(), t0), [("read jones".to_owned(), 1)]);
        for i in 1..=340u64 {
            assert!(r.note("u", "read jones".into(), t0 + Duration::from_millis(i)).is_empty());
        }
        // Another user is not affected.
        assert_eq!(r.note("v", "read jones".into(), t0), [("read jones".to_owned(), 1)]);
        for i in 0..30 {
            let _ = r.note("u", format!("read h{i}"), t0 + Duration::from_secs(1));
        }
        // The window passes: its 340 repeats and the 11 requests past the first 20 are recorded.
        let mut later = r.note("u", "read jones".into(), t0 + REFUSAL_WINDOW);
        later.sort();
        let counts: Vec<u64> = later.iter().map(|(_, n)| *n).collect();
        assert_eq!(counts, [11, 1, 340], "{later:?}");
        assert!(later[0].0.starts_with("further refusals of other requests (repeated in the 60 s from "));
        assert_eq!(later[1].0, "read jones");
        assert!(later[2].0.starts_with("read jones (repeated in the 60 s from "));
    }
}
