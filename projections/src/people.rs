//! The `people` projector: users, their KYC status and full trail, and the security log.
//!
//! Personal data stays sealed in the read model (the hex of the sealed bytes); it is opened
//! only at query time, with the user's data key. After erasure the sealed column is emptied
//! and the user shows as erased; the trails keep who did what and when, never personal data.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use domain::streams::Parts;
use domain::user::{evolve, User, UserEvent};
use event_store::{StoredEvent, Upcasters};

use crate::db::{col, Db, Kind::*, Row, Table, Tx};
use crate::{row, Error, Result};

pub const USERS: Table = Table {
    name: "users",
    columns: &[
        col("user_id", Text),
        col("household", Text),
        col("roles", Text),
        col("kyc_status", Text),
        col("kyc_expires", Date),
        col("accreditation", Text),
        col("mfa_enabled", Bool),
        col("terms_version", Text),
        col("erased", Bool),
        col("personal_sealed", Text),
        col("advises", Text),
        col("alert_preferences", Text),
        col("alert_contacts_sealed", Text),
        col("registered_at", Time),
        col("position", Int),
    ],
    key: &["user_id"],
    scope: "user_id",
    time_series: false,
};

pub const KYC_TRAIL: Table = Table {
    name: "kyc_trail",
    columns: &[
        col("user_id", Text),
        col("position", Int),
        col("status", Text),
        col("actor", Text),
        col("at", Time),
        col("documents", Text),
        col("reason", Text),
        col("expires_at", Date),
        col("recorded_at", Time),
    ],
    key: &["user_id", "position"],
    scope: "user_id",
    time_series: false,
};

pub const SECURITY_LOG: Table = Table {
    name: "security_log",
    columns: &[
        col("user_id", Text),
        col("position", Int),
        col("kind", Text),
        col("detail", Text),
        col("actor", Text),
        col("at", Time),
        col("recorded_at", Time),
    ],
    key: &["user_id", "position"],
    scope: "user_id",
    time_series: false,
};

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct UserState {
    user: User,
    registered_at: Option<DateTime<Utc>>,
    /// The last event applied.
    position: u64,
}

#[derive(Default)]
pub struct People {
    users: HashMap<String, UserState>,
    dirty: BTreeSet<String>,
    kyc: Vec<Row>,
    security: Vec<Row>,
    upcasters: Upcasters,
}

impl People {
    pub const NAME: &'static str = "people";
    pub const VERSION: i64 = 3;
    pub const CATEGORIES: &'static [&'static str] = &["user"];
    pub const TABLES: &'static [&'static Table] = &[&USERS, &KYC_TRAIL, &SECURITY_LOG];

    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    pub(crate) async fn absorb(&mut self, db: &Db, generation: i64, events: &[StoredEvent]) -> Result<()> {
        for e in events {
            let event: UserEvent = self
                .upcasters
                .decode_versioned(e, domain::user::SCHEMA_VERSION)
                .map_err(|x| Error::Decode { position: e.global_position, problem: x.to_string() })?;
            let Some(Parts::User(key)) = Parts::of(e.stream_id.as_str()) else { continue };
            let key = key.to_owned();
            if !self.users.contains_key(&key) {
                let user = match db.load_state(Self::NAME, generation, &key).await? {
                    Some(bytes) => {
                        rmp_serde::from_slice(&bytes).map_err(|x| Error::Config(format!("user {key}: {x}")))?
                    }
                    None => UserState::default(),
                };
                self.users.insert(key.clone(), user);
            }
            let state = self.users.get_mut(&key).expect("inserted above");
            state.user = evolve(std::mem::take(&mut state.user), &event);
            state.position = e.global_position;
            if let UserEvent::UserRegistered { at, .. } = &event {
                state.registered_at = Some(*at);
            }
            let actor = e.metadata().ok().and_then(|m| m.actor);
            self.trail(&key, e, &event, actor);
            self.dirty.insert(key);
        }
        Ok(())
    }

    fn trail(&mut self, user: &str, e: &StoredEvent, event: &UserEvent, actor: Option<String>) {
        use UserEvent as U;
        let pos = e.global_position;
        let rec = e.recorded_at;
        let mut kyc = |status: &str,
                       who: Option<String>,
                       at: &DateTime<Utc>,
                       docs: Option<String>,
                       reason: Option<String>,
                       expires| {
            self.kyc.push(row![user, pos, status, who, *at, docs, reason, expires, rec]);
        };
        match event {
            U::KycSubmitted { documents, at } => {
                let docs =
                    documents.iter().map(|d| format!("{}:{}", d.kind, d.reference)).collect::<Vec<_>>().join("; ");
                kyc("pending", actor.clone(), at, Some(docs), None, None);
            }
            U::KycReviewStarted { reviewer, at } => kyc("in_review", Some(reviewer.clone()), at, None, None, None),
            U::KycApproved { reviewer, verified_at, expires_at } => {
                kyc("approved", Some(reviewer.clone()), verified_at, None, None, Some(*expires_at));
            }
            U::KycRejected { reviewer, reason, at } => {
                kyc("rejected", Some(reviewer.clone()), at, None, Some(reason.clone()), None);
            }
            U::KycExpired { at } => kyc("expired", actor.clone(), at, None, None, None),
            _ => {}
        }
        let security: Option<(&str, String, &DateTime<Utc>)> = match event {
            U::UserRegistered { at, .. } => Some(("registered", String::new(), at)),
            U::MfaEnabled { at, .. } => Some(("mfa_enabled", String::new(), at)),
            U::MfaDisabled { at } => Some(("mfa_disabled", String::new(), at)),
            U::RoleGranted { role, by, at } => Some(("role_granted", format!("{} by {by}", role.as_str()), at)),
            U::RoleRevoked { role, by, at } => Some(("role_revoked", format!("{} by {by}", role.as_str()), at)),
            U::ErasureRequested { by, at } => Some(("erased", format!("by {by}"), at)),
            U::ProfileUpdated { at, .. } => Some(("profile_updated", String::new(), at)),
            U::PasswordSet { at, .. } => Some(("password_set", String::new(), at)),
            U::SignedIn { network, new_device, mfa_step, backup_code, at, .. } => {
                let how = match (mfa_step, backup_code) {
                    (Some(_), _) => " with TOTP",
                    (None, Some(_)) => " with a backup code",
                    (None, None) => "",
                };
                let kind = if *new_device { "sign_in_new_device" } else { "sign_in" };
                Some((kind, format!("from {network}{how}"), at))
            }
            U::SignInFailed { reason, network, failures, at } => {
                Some(("sign_in_failed", format!("{reason} from {network} ({failures} in a row)"), at))
            }
            U::LockedOut { until, at, .. } => Some(("locked_out", format!("until {}", until.to_rfc3339()), at)),
            U::TokenReuseDetected { session, at } => {
                Some(("token_reuse", format!("session {session} revoked: a rotated refresh token was used again"), at))
            }
            U::SignedOut { session, at } => Some(("signed_out", format!("session {session}"), at)),
            U::AccessRefused { what, at, count } => {
                let detail = if *count > 1 { format!("{what}: {count} times") } else { what.clone() };
                Some(("access_refused", detail, at))
            }
            U::BackupCodesIssued { codes, at } => Some(("backup_codes_issued", format!("{} codes", codes.len()), at)),
            U::HouseholdAssigned { household, by, at } => {
                Some(("household_assigned", format!("{household} by {by}"), at))
            }
            U::HouseholdUnassigned { household, by, at } => {
                Some(("household_unassigned", format!("{household} by {by}"), at))
            }
            U::AlertPreferencesSet { preferences, at, .. } => {
                let channels: Vec<String> =
                    preferences.channels.iter().map(|(c, s)| format!("{c} from {}", s.as_str())).collect();
                Some(("alert_preferences_set", channels.join(", "), at))
            }
            _ => None,
        };
        if let Some((kind, detail, at)) = security {
            self.security.push(row![user, pos, kind, detail, actor, *at, rec]);
        }
    }

    pub(crate) async fn flush(&mut self, db: &Db, tx: &mut Tx, generation: i64) -> Result<()> {
        let dirty: Vec<String> = std::mem::take(&mut self.dirty).into_iter().collect();
        let mut users = Vec::with_capacity(dirty.len());
        for key in &dirty {
            let state = &self.users[key];
            let u = &state.user;
            let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
            let hexed = |sealed: &Option<domain::Sealed>| match (sealed, u.erased) {
                (Some(p), false) => {
                    rmp_serde::to_vec_named(p).map(|b| Some(hex::encode(b))).map_err(|x| Error::Config(x.to_string()))
                }
                _ => Ok(None),
            };
            let (sealed, contacts) = (hexed(&u.personal)?, hexed(&u.alert_contacts)?);
            let advises: Vec<String> = u.access.households.iter().map(|h| domain::ledger::household_key(h)).collect();
            let preferences = match &u.alert_preferences {
                Some(p) => Some(serde_json::to_string(p).map_err(|x| Error::Config(x.to_string()))?),
                None => None,
            };
            users.push(row![
                key,
                u.household.as_deref().map(domain::ledger::household_key),
                roles.join(","),
                u.kyc.as_str(),
                u.kyc_expires,
                u.accreditation.map(|a| a.as_str()),
                u.mfa_secret.is_some(),
                u.terms_version,
                u.erased,
                sealed,
                advises.join(","),
                preferences,
                contacts,
                state.registered_at,
                state.position,
            ]);
            let bytes = rmp_serde::to_vec_named(state).map_err(|x| Error::Config(x.to_string()))?;
            tx.save_state(Self::NAME, generation, key, &bytes).await?;
        }
        db.insert(tx, &USERS, generation, &users, true).await?;
        db.insert(tx, &KYC_TRAIL, generation, &std::mem::take(&mut self.kyc), false).await?;
        db.insert(tx, &SECURITY_LOG, generation, &std::mem::take(&mut self.security), false).await?;
        Ok(())
    }
}

/// Reads back the sealed data stored in `users.personal_sealed` or `users.alert_contacts_sealed`
/// (after hex decoding).
pub fn sealed_from(bytes: &[u8]) -> Result<domain::Sealed> {
    rmp_serde::from_slice(bytes).map_err(|e| Error::Config(format!("sealed personal data: {e}")))
}
