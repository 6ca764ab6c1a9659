//! The user aggregate: one stream per user (`user-<uuid>`). Personal data (name, email, tax id,
//! date of birth, MFA secret) arrives already sealed (AES-256-GCM under the user's data key, by
//! the shell): the domain never sees it in the clear and only stores the sealed bytes.
//!
//! KYC moves `not_started → pending → in_review → approved | rejected`; an approval expires at
//! its `expires_at` (the `Expire` command, once that date has come); a rejected or expired user
//! may submit again. After erasure every command is refused.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::access::{lockout_for, Access, Session};
use crate::DomainError;
pub use crate::Sealed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycStatus {
    #[default]
    NotStarted,
    Pending,
    InReview,
    Approved,
    Rejected,
    Expired,
}

impl KycStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Pending => "pending",
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Advisor,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Self::Client, Self::Advisor, Self::Auditor, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Advisor => "advisor",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("unknown role {:?}; expected client, advisor, auditor or admin", s.trim()))
    }
}

/// How accredited-investor status was established (SEC Rule 501(a)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accreditation {
    Income,
    NetWorth,
    Professional,
    Entity,
}

impl Accreditation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Income => "income",
            Self::NetWorth => "net_worth",
            Self::Professional => "professional",
            Self::Entity => "entity",
        }
    }
}

/// Private-market investments (private equity, hedge funds) are offered under Regulation D to
/// accredited investors only (17 CFR 230.501(a), 230.506(b)): a client sees them once an advisor
/// has recorded how the status was established; staff (advisors, auditors, administrators)
/// see them to advise.
pub fn may_see_private_markets(user: &User) -> bool {
    user.accreditation.is_some() || user.roles.iter().any(|r| *r != Role::Client)
}

impl std::str::FromStr for Accreditation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "income" => Ok(Self::Income),
            "net_worth" => Ok(Self::NetWorth),
            "professional" => Ok(Self::Professional),
            "entity" => Ok(Self::Entity),
            other => {
                Err(format!("unknown accreditation {other:?}; expected income, net_worth, professional or entity"))
            }
        }
    }
}

/// A KYC document: its kind (passport, driver_license, utility_bill, …) and where it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskProfile {
    /// 0 (no risk) to 1.
    pub risk_tolerance: Decimal,
    pub horizon_years: u32,
    /// Marginal rates as fractions (0.24).
    pub federal_bracket: Decimal,
    pub state_bracket: Decimal,
}

/// The schema version of every user event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserEvent {
    UserRegistered {
        user_id: String,
        personal: Sealed,
        household: Option<String>,
        at: DateTime<Utc>,
    },
    ProfileUpdated {
        personal: Sealed,
        at: DateTime<Utc>,
    },
    RiskProfileSet {
        profile: RiskProfile,
        at: DateTime<Utc>,
    },
    KycSubmitted {
        documents: Vec<Document>,
        at: DateTime<Utc>,
    },
    KycReviewStarted {
        reviewer: String,
        at: DateTime<Utc>,
    },
    KycApproved {
        reviewer: String,
        verified_at: DateTime<Utc>,
        expires_at: NaiveDate,
    },
    KycRejected {
        reviewer: String,
        reason: String,
        at: DateTime<Utc>,
    },
    KycExpired {
        at: DateTime<Utc>,
    },
    AccreditationVerified {
        kind: Accreditation,
        verified_at: DateTime<Utc>,
    },
    MfaEnabled {
        secret: Sealed,
        at: DateTime<Utc>,
    },
    MfaDisabled {
        at: DateTime<Utc>,
    },
    RoleGranted {
        role: Role,
        by: String,
        at: DateTime<Utc>,
    },
    RoleRevoked {
        role: Role,
        by: String,
        at: DateTime<Utc>,
    },
    TermsAccepted {
        version: String,
        at: DateTime<Utc>,
    },
    /// The user's data key is destroyed with this event: what was sealed is unreadable from now on.
    ErasureRequested {
        by: String,
        at: DateTime<Utc>,
    },
    /// An Argon2id hash (PHC string); the password itself is never recorded.
    PasswordSet {
        hash: String,
        at: DateTime<Utc>,
    },
    /// A sign-in: a new session (refresh-token family) whose first token has digest `token`.
    SignedIn {
        session: String,
        token: String,
        device: String,
        network: String,
        new_device: bool,
        mfa_step: Option<u64>,
        backup_code: Option<u32>,
        at: DateTime<Utc>,
    },
    /// A refused sign-in (wrong password or code); `failures` counts consecutive ones.
    SignInFailed {
        reason: String,
        network: String,
        failures: u32,
        at: DateTime<Utc>,
    },
    LockedOut {
        until: DateTime<Utc>,
        failures: u32,
        at: DateTime<Utc>,
    },
    /// The session's refresh token was rotated: `token` is the digest of the new one.
    TokenRefreshed {
        session: String,
        token: String,
        at: DateTime<Utc>,
    },
    /// A rotated-away refresh token was presented again: the whole session is revoked.
    TokenReuseDetected {
        session: String,
        at: DateTime<Utc>,
    },
    SignedOut {
        session: String,
        at: DateTime<Utc>,
    },
    /// The user asked for something outside their rights (`what`: method, path and reason).
    /// Repeats are aggregated by the shell: `count` refusals of `what` (1 for events recorded
    /// before aggregation), the last of them at `at`.
    AccessRefused {
        what: String,
        at: DateTime<Utc>,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        count: u64,
    },
    /// Digests of fresh single-use backup codes (replacing any earlier ones).
    BackupCodesIssued {
        codes: Vec<String>,
        at: DateTime<Utc>,
    },
    HouseholdAssigned {
        household: String,
        by: String,
        at: DateTime<Utc>,
    },
    HouseholdUnassigned {
        household: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// How the user wants to hear of alerts (`domain::alerts::Preferences`), and the contacts
    /// besides their email (phone, push devices), sealed like the rest of their personal data.
    AlertPreferencesSet {
        preferences: crate::alerts::Preferences,
        contacts: Option<Sealed>,
        at: DateTime<Utc>,
    },
}

impl UserEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::UserRegistered { .. } => "UserRegistered",
            Self::ProfileUpdated { .. } => "ProfileUpdated",
            Self::RiskProfileSet { .. } => "RiskProfileSet",
            Self::KycSubmitted { .. } => "KycSubmitted",
            Self::KycReviewStarted { .. } => "KycReviewStarted",
            Self::KycApproved { .. } => "KycApproved",
            Self::KycRejected { .. } => "KycRejected",
            Self::KycExpired { .. } => "KycExpired",
            Self::AccreditationVerified { .. } => "AccreditationVerified",
            Self::MfaEnabled { .. } => "MfaEnabled",
            Self::MfaDisabled { .. } => "MfaDisabled",
            Self::RoleGranted { .. } => "RoleGranted",
            Self::RoleRevoked { .. } => "RoleRevoked",
            Self::TermsAccepted { .. } => "TermsAccepted",
            Self::ErasureRequested { .. } => "ErasureRequested",
            Self::PasswordSet { .. } => "PasswordSet",
            Self::SignedIn { .. } => "SignedIn",
            Self::SignInFailed { .. } => "SignInFailed",
            Self::LockedOut { .. } => "LockedOut",
            Self::TokenRefreshed { .. } => "TokenRefreshed",
            Self::TokenReuseDetected { .. } => "TokenReuseDetected",
            Self::SignedOut { .. } => "SignedOut",
            Self::AccessRefused { .. } => "AccessRefused",
            Self::BackupCodesIssued { .. } => "BackupCodesIssued",
            Self::HouseholdAssigned { .. } => "HouseholdAssigned",
            Self::HouseholdUnassigned { .. } => "HouseholdUnassigned",
            Self::AlertPreferencesSet { .. } => "AlertPreferencesSet",
        }
    }
}

/// The sign-in name registry: one stream per email (named by a keyed digest of it), so two
/// users cannot claim the same email even when registering at the same instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginEvent {
    LoginClaimed {
        user_id: String,
        at: DateTime<Utc>,
    },
    /// The user was erased: the email may be registered again.
    LoginReleased {
        user_id: String,
        at: DateTime<Utc>,
    },
}

impl LoginEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::LoginClaimed { .. } => "LoginClaimed",
            Self::LoginReleased { .. } => "LoginReleased",
        }
    }
}

/// The sign-in name registry as a decider: the shell states the claim or release; a claim of a
/// name another user holds is refused.
pub struct LoginDecider;

impl crate::decider::Decider for LoginDecider {
    type State = Option<String>;
    type Command = LoginEvent;
    type Event = LoginEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(holder: &Option<String>, event: &LoginEvent) -> Result<Vec<LoginEvent>, DomainError> {
        match (event, holder) {
            (LoginEvent::LoginClaimed { user_id, .. }, Some(other)) if other != user_id => {
                Err(DomainError::conflict("email", "is already registered"))
            }
            _ => Ok(vec![event.clone()]),
        }
    }

    fn evolve(state: Option<String>, event: &LoginEvent) -> Option<String> {
        evolve_login(state, event)
    }

    fn event_type(event: &LoginEvent) -> &'static str {
        event.event_type()
    }
}

/// The user holding a sign-in name, if any.
pub fn evolve_login(_: Option<String>, e: &LoginEvent) -> Option<String> {
    match e {
        LoginEvent::LoginClaimed { user_id, .. } => Some(user_id.clone()),
        LoginEvent::LoginReleased { .. } => None,
    }
}

/// A user as its events leave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: Option<String>,
    pub household: Option<String>,
    pub personal: Option<Sealed>,
    pub risk: Option<RiskProfile>,
    pub kyc: KycStatus,
    pub kyc_expires: Option<NaiveDate>,
    pub accreditation: Option<Accreditation>,
    pub mfa_secret: Option<Sealed>,
    pub roles: BTreeSet<Role>,
    pub terms_version: Option<String>,
    pub erased: bool,
    /// Password, sessions, devices, lockout, MFA replay guard, advisor households.
    #[serde(default)]
    pub access: Access,
    /// Alert preferences and the sealed contacts they use, once set.
    #[serde(default)]
    pub alert_preferences: Option<crate::alerts::Preferences>,
    #[serde(default)]
    pub alert_contacts: Option<Sealed>,
}

pub fn evolve(mut u: User, e: &UserEvent) -> User {
    match e {
        UserEvent::UserRegistered { user_id, personal, household, .. } => {
            u.user_id = Some(user_id.clone());
            u.personal = Some(personal.clone());
            u.household.clone_from(household);
            u.roles.insert(Role::Client);
        }
        UserEvent::ProfileUpdated { personal, .. } => u.personal = Some(personal.clone()),
        UserEvent::RiskProfileSet { profile, .. } => u.risk = Some(profile.clone()),
        UserEvent::KycSubmitted { .. } => u.kyc = KycStatus::Pending,
        UserEvent::KycReviewStarted { .. } => u.kyc = KycStatus::InReview,
        UserEvent::KycApproved { expires_at, .. } => {
            u.kyc = KycStatus::Approved;
            u.kyc_expires = Some(*expires_at);
        }
        UserEvent::KycRejected { .. } => u.kyc = KycStatus::Rejected,
        UserEvent::KycExpired { .. } => u.kyc = KycStatus::Expired,
        UserEvent::AccreditationVerified { kind, .. } => u.accreditation = Some(*kind),
        UserEvent::MfaEnabled { secret, .. } => u.mfa_secret = Some(secret.clone()),
        UserEvent::MfaDisabled { .. } => {
            u.mfa_secret = None;
            u.access.backup_codes.clear();
        }
        UserEvent::RoleGranted { role, .. } => {
            u.roles.insert(*role);
        }
        UserEvent::RoleRevoked { role, .. } => {
            u.roles.remove(role);
        }
        UserEvent::TermsAccepted { version, .. } => u.terms_version = Some(version.clone()),
        UserEvent::ErasureRequested { .. } => {
            u.erased = true;
            u.access = Access::default();
            (u.alert_preferences, u.alert_contacts) = (None, None);
        }
        UserEvent::PasswordSet { hash, .. } => u.access.password = Some(hash.clone()),
        UserEvent::SignedIn { session, token, device, mfa_step, backup_code, at, .. } => {
            let a = &mut u.access;
            a.failures = 0;
            a.locked_until = None;
            a.sessions.insert(
                session.clone(),
                Session {
                    current: token.clone(),
                    rotated: BTreeSet::new(),
                    device: device.clone(),
                    started: *at,
                    issued: *at,
                },
            );
            a.devices.insert(device.clone());
            if mfa_step.is_some() {
                a.mfa_last_step = a.mfa_last_step.max(*mfa_step);
            }
            if let Some(code) = backup_code.and_then(|i| a.backup_codes.get_mut(i as usize)) {
                *code = None;
            }
        }
        UserEvent::SignInFailed { failures, .. } => u.access.failures = *failures,
        UserEvent::LockedOut { until, .. } => u.access.locked_until = Some(*until),
        UserEvent::TokenRefreshed { session, token, at } => {
            if let Some(s) = u.access.sessions.get_mut(session) {
                let old = std::mem::replace(&mut s.current, token.clone());
                s.rotated.insert(old);
                s.issued = *at;
            }
        }
        UserEvent::TokenReuseDetected { session, .. } | UserEvent::SignedOut { session, .. } => {
            u.access.sessions.remove(session);
        }
        UserEvent::AccessRefused { .. } => {}
        UserEvent::BackupCodesIssued { codes, .. } => {
            u.access.backup_codes = codes.iter().cloned().map(Some).collect();
        }
        UserEvent::HouseholdAssigned { household, .. } => {
            u.access.households.insert(household.clone());
        }
        UserEvent::HouseholdUnassigned { household, .. } => {
            u.access.households.remove(household);
        }
        UserEvent::AlertPreferencesSet { preferences, contacts, .. } => {
            u.alert_preferences = Some(preferences.clone());
            u.alert_contacts.clone_from(contacts);
        }
    }
    u
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Register {
        user_id: String,
        personal: Sealed,
        household: Option<String>,
    },
    UpdateProfile {
        personal: Sealed,
    },
    SetRiskProfile(RiskProfile),
    SubmitKyc {
        documents: Vec<Document>,
    },
    StartKycReview {
        reviewer: String,
    },
    ApproveKyc {
        reviewer: String,
        expires_at: NaiveDate,
    },
    RejectKyc {
        reviewer: String,
        reason: String,
    },
    ExpireKyc,
    VerifyAccreditation(Accreditation),
    EnableMfa {
        secret: Sealed,
    },
    DisableMfa,
    GrantRole {
        role: Role,
        by: String,
    },
    RevokeRole {
        role: Role,
        by: String,
    },
    AcceptTerms {
        version: String,
    },
    Erase {
        by: String,
    },
    SetPassword {
        hash: String,
    },
    /// The shell checked the password (and the TOTP step or backup code named here).
    SignIn {
        session: String,
        token: String,
        device: String,
        network: String,
        mfa_step: Option<u64>,
        backup_code: Option<u32>,
    },
    FailSignIn {
        reason: String,
        network: String,
    },
    /// Rotate the refresh token whose digest is `presented` to one whose digest is `replacement`.
    Refresh {
        presented: String,
        replacement: String,
    },
    SignOut {
        session: String,
    },
    /// Record `count` refusals of `what` (the shell aggregates repeats).
    RefuseAccess {
        what: String,
        count: u64,
    },
    IssueBackupCodes {
        codes: Vec<String>,
    },
    AssignHousehold {
        household: String,
        by: String,
    },
    UnassignHousehold {
        household: String,
        by: String,
    },
    /// The shell sealed the contacts and checked that each channel chosen can reach the user.
    SetAlertPreferences {
        preferences: crate::alerts::Preferences,
        contacts: Option<Sealed>,
    },
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

/// Decides a user command at `now` (the shell's clock).
/// The user aggregate as a decider; a command is decided at an instant the shell passes in.
pub struct UserDecider;

impl crate::decider::Decider for UserDecider {
    type State = User;
    type Command = (UserCommand, DateTime<Utc>);
    type Event = UserEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(u: &User, (cmd, now): &(UserCommand, DateTime<Utc>)) -> Result<Vec<UserEvent>, DomainError> {
        decide(u, cmd, *now)
    }

    fn evolve(state: User, event: &UserEvent) -> User {
        evolve(state, event)
    }

    fn event_type(event: &UserEvent) -> &'static str {
        event.event_type()
    }
}

pub fn decide(u: &User, cmd: &UserCommand, now: DateTime<Utc>) -> Result<Vec<UserEvent>, DomainError> {
    use UserCommand as C;
    use UserEvent as E;
    if let (C::Register { user_id, personal, household }, None) = (cmd, &u.user_id) {
        return Ok(vec![E::UserRegistered {
            user_id: user_id.clone(),
            personal: personal.clone(),
            household: household.clone(),
            at: now,
        }]);
    }
    if u.user_id.is_none() {
        return Err(DomainError::not_found("user", "no such user"));
    }
    if u.erased {
        return Err(refuse("user", "this user's data was erased; nothing more can be recorded"));
    }
    let status_is = |allowed: &[KycStatus], action: &str| {
        if allowed.contains(&u.kyc) {
            Ok(())
        } else {
            Err(DomainError::conflict("kyc", format!("cannot {action} while KYC is {}", u.kyc.as_str())))
        }
    };
    let event = match cmd {
        C::Register { user_id, .. } => return Err(refuse("user", format!("{user_id} is already registered"))),
        C::UpdateProfile { personal } => E::ProfileUpdated { personal: personal.clone(), at: now },
        C::SetRiskProfile(p) => {
            let fraction = |d: Decimal| d >= Decimal::ZERO && d <= Decimal::ONE;
            if !fraction(p.risk_tolerance) {
                return Err(refuse("tolerance", "must be between 0 and 1"));
            }
            if !fraction(p.federal_bracket) || !fraction(p.state_bracket) {
                return Err(refuse("bracket", "tax brackets are fractions between 0 and 1 (0.24 for 24%)"));
            }
            if p.horizon_years > 100 {
                return Err(refuse("horizon", "must be 100 years or less"));
            }
            E::RiskProfileSet { profile: p.clone(), at: now }
        }
        C::SubmitKyc { documents } => {
            status_is(&[KycStatus::NotStarted, KycStatus::Rejected, KycStatus::Expired], "submit")?;
            if documents.is_empty() {
                return Err(refuse("documents", "at least one document is needed"));
            }
            E::KycSubmitted { documents: documents.clone(), at: now }
        }
        C::StartKycReview { reviewer } => {
            status_is(&[KycStatus::Pending], "start a review")?;
            E::KycReviewStarted { reviewer: reviewer.clone(), at: now }
        }
        C::ApproveKyc { reviewer, expires_at } => {
            status_is(&[KycStatus::InReview], "approve")?;
            if *expires_at <= now.date_naive() {
                return Err(refuse("expires", "must be after today"));
            }
            E::KycApproved { reviewer: reviewer.clone(), verified_at: now, expires_at: *expires_at }
        }
        C::RejectKyc { reviewer, reason } => {
            status_is(&[KycStatus::InReview], "reject")?;
            if reason.trim().is_empty() {
                return Err(refuse("reason", "a rejection needs a reason"));
            }
            E::KycRejected { reviewer: reviewer.clone(), reason: reason.clone(), at: now }
        }
        C::ExpireKyc => {
            status_is(&[KycStatus::Approved], "expire")?;
            match u.kyc_expires {
                Some(d) if d <= now.date_naive() => E::KycExpired { at: now },
                Some(d) => return Err(DomainError::conflict("kyc", format!("the approval runs until {d}"))),
                None => return Err(refuse("kyc", "the approval has no expiry date")),
            }
        }
        C::VerifyAccreditation(kind) => E::AccreditationVerified { kind: *kind, verified_at: now },
        C::EnableMfa { secret } => {
            if u.mfa_secret.is_some() {
                return Err(DomainError::conflict("mfa", "is already enabled; disable it first to replace the secret"));
            }
            E::MfaEnabled { secret: secret.clone(), at: now }
        }
        C::DisableMfa => {
            if u.mfa_secret.is_none() {
                return Err(DomainError::conflict("mfa", "is not enabled"));
            }
            E::MfaDisabled { at: now }
        }
        C::GrantRole { role, by } => {
            if u.roles.contains(role) {
                return Ok(Vec::new());
            }
            E::RoleGranted { role: *role, by: by.clone(), at: now }
        }
        C::RevokeRole { role, by } => {
            if *role == Role::Client {
                return Err(refuse("role", "every user is a client; that role cannot be revoked"));
            }
            if !u.roles.contains(role) {
                return Ok(Vec::new());
            }
            E::RoleRevoked { role: *role, by: by.clone(), at: now }
        }
        C::AcceptTerms { version } => {
            if version.trim().is_empty() {
                return Err(refuse("version", "must not be empty"));
            }
            E::TermsAccepted { version: version.clone(), at: now }
        }
        C::Erase { by } => E::ErasureRequested { by: by.clone(), at: now },
        C::SetPassword { hash } => E::PasswordSet { hash: hash.clone(), at: now },
        C::SignIn { session, token, device, network, mfa_step, backup_code } => {
            let a = &u.access;
            // A lock holds against devices that never signed in (see `access`).
            if let Some(until) = a.locked(now).filter(|_| !a.devices.contains(device)) {
                return Err(refuse("locked", format!("too many failed sign-ins; locked until {}", until.to_rfc3339())));
            }
            if a.password.is_none() {
                return Err(refuse("password", "no password is set for this user"));
            }
            if mfa_step.is_some_and(|s| a.mfa_last_step.is_some_and(|last| s <= last)) {
                return Err(refuse("totp", "this code was already used; wait for the next one"));
            }
            if let Some(i) = backup_code {
                if !matches!(a.backup_codes.get(*i as usize), Some(Some(_))) {
                    return Err(refuse("backup_code", "this backup code was already used"));
                }
            }
            E::SignedIn {
                session: session.clone(),
                token: token.clone(),
                device: device.clone(),
                network: network.clone(),
                new_device: !a.devices.is_empty() && !a.devices.contains(device),
                mfa_step: *mfa_step,
                backup_code: *backup_code,
                at: now,
            }
        }
        C::FailSignIn { reason, network } => {
            let failures = u.access.failures.saturating_add(1);
            let mut events =
                vec![E::SignInFailed { reason: reason.clone(), network: network.clone(), failures, at: now }];
            if let Some(d) = lockout_for(failures) {
                events.push(E::LockedOut { until: now + d, failures, at: now });
            }
            return Ok(events);
        }
        C::Refresh { presented, replacement } => {
            if let Some(session) = u.access.session_for(presented, now) {
                E::TokenRefreshed { session: session.to_owned(), token: replacement.clone(), at: now }
            } else if let Some(session) = u.access.session_reusing(presented) {
                E::TokenReuseDetected { session: session.to_owned(), at: now }
            } else {
                return Err(refuse("refresh_token", "unknown, expired or revoked"));
            }
        }
        C::SignOut { session } => {
            if !u.access.sessions.contains_key(session) {
                return Ok(Vec::new());
            }
            E::SignedOut { session: session.clone(), at: now }
        }
        C::RefuseAccess { what, count } => E::AccessRefused { what: what.clone(), at: now, count: (*count).max(1) },
        C::IssueBackupCodes { codes } => {
            if u.mfa_secret.is_none() {
                return Err(DomainError::conflict("mfa", "is not enabled"));
            }
            E::BackupCodesIssued { codes: codes.clone(), at: now }
        }
        C::AssignHousehold { household, by } => {
            if !u.roles.contains(&Role::Advisor) {
                return Err(refuse("role", "only an advisor is assigned households"));
            }
            if u.access.households.contains(household) {
                return Ok(Vec::new());
            }
            E::HouseholdAssigned { household: household.clone(), by: by.clone(), at: now }
        }
        C::UnassignHousehold { household, by } => {
            if !u.access.households.contains(household) {
                return Ok(Vec::new());
            }
            E::HouseholdUnassigned { household: household.clone(), by: by.clone(), at: now }
        }
        C::SetAlertPreferences { preferences, contacts } => {
            preferences.validate()?;
            E::AlertPreferencesSet { preferences: preferences.clone(), contacts: contacts.clone(), at: now }
        }
    };
    Ok(vec![event])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> Sealed {
        Sealed { nonce: vec![0; 12], ciphertext: vec![1, 2, 3] }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    fn run(u: User, c: UserCommand) -> Result<User, DomainError> {
        Ok(decide(&u, &c, now())?.iter().fold(u, evolve))
    }

    fn registered() -> User {
        run(User::default(), UserCommand::Register { user_id: "u1".into(), personal: sealed(), household: None })
            .unwrap()
    }

    #[test]
    fn kyc_moves_from_pending_through_review_to_approved_and_expires_on_its_date() {
        let docs = vec![Document { kind: "passport".into(), reference: "vault://p/1".into() }];
        let u = run(registered(), UserCommand::SubmitKyc { documents: docs }).unwrap();
        assert_eq!(u.kyc, KycStatus::Pending);
        let u = run(u, UserCommand::StartKycReview { reviewer: "r".into() }).unwrap();
        let expires = "2027-11-21".parse().unwrap();
        let u = run(u, UserCommand::ApproveKyc { reviewer: "r".into(), expires_at: expires }).unwrap();
        assert_eq!(u.kyc, KycStatus::Approved);
        let err = run(u.clone(), UserCommand::ExpireKyc).unwrap_err();
        assert_eq!(err.to_string(), "kyc: the approval runs until 2027-11-21");
        let later: DateTime<Utc> = "2027-11-21T00:00:01Z".parse().unwrap();
        let events = decide(&u, &UserCommand::ExpireKyc, later).unwrap();
        assert_eq!(events.iter().fold(u, evolve).kyc, KycStatus::Expired);
    }

    #[test]
    fn kyc_cannot_be_approved_before_review() {
        let docs = vec![Document { kind: "passport".into(), reference: "r".into() }];
        let u = run(registered(), UserCommand::SubmitKyc { documents: docs }).unwrap();
        let err = run(u, UserCommand::ApproveKyc { reviewer: "r".into(), expires_at: "2030-01-01".parse().unwrap() });
        assert_eq!(err.unwrap_err().to_string(), "kyc: cannot approve while KYC is pending");
    }

    #[test]
    fn after_erasure_every_command_is_refused() {
        let u = run(registered(), UserCommand::Erase { by: "admin".into() }).unwrap();
        assert!(u.erased);
        let err = run(u, UserCommand::AcceptTerms { version: "2".into() }).unwrap_err();
        assert!(err.to_string().contains("erased"));
    }

    #[test]
    fn a_risk_tolerance_outside_0_to_1_is_refused() {
        let p = RiskProfile {
            risk_tolerance: Decimal::new(15, 1),
            horizon_years: 10,
            federal_bracket: Decimal::new(24, 2),
            state_bracket: Decimal::ZERO,
        };
        assert_eq!(
            run(registered(), UserCommand::SetRiskProfile(p)).unwrap_err().to_string(),
            "tolerance: must be between 0 and 1"
        );
    }

    fn signed_in(u: User, session: &str, token: &str, device: &str) -> User {
        let cmd = UserCommand::SignIn {
            session: session.into(),
            token: token.into(),
            device: device.into(),
            network: "10.0.0.0/24".into(),
            mfa_step: None,
            backup_code: None,
        };
        run(u, cmd).unwrap()
    }

    fn with_password() -> User {
        run(registered(), UserCommand::SetPassword { hash: "$argon2id$…".into() }).unwrap()
    }

    #[test]
    fn a_rotated_refresh_token_presented_again_revokes_the_whole_session() {
        let u = signed_in(with_password(), "s1", "t1", "d1");
        let refresh = |presented: &str, replacement: &str| UserCommand::Refresh {
            presented: presented.into(),
            replacement: replacement.into(),
        };
        let u = run(u, refresh("t1", "t2")).unwrap();
        assert_eq!(u.access.sessions["s1"].current, "t2");
        let events = decide(&u, &refresh("t1", "t3"), now()).unwrap();
        assert!(matches!(&events[..], [UserEvent::TokenReuseDetected { session, .. }] if session == "s1"));
        let u = events.iter().fold(u, evolve);
        assert!(u.access.sessions.is_empty(), "the family is gone");
        assert_eq!(
            run(u, refresh("t2", "t4")).unwrap_err().to_string(),
            "refresh_token: unknown, expired or revoked",
            "even the newest token of a revoked family is refused"
        );
    }

    #[test]
    fn a_refresh_token_expires_after_30_days() {
        let u = signed_in(with_password(), "s1", "t1", "d1");
        let later = now() + chrono::Duration::days(30);
        let cmd = UserCommand::Refresh { presented: "t1".into(), replacement: "t2".into() };
        assert!(decide(&u, &cmd, later).is_err());
        assert!(decide(&u, &cmd, later - chrono::Duration::seconds(1)).is_ok());
    }

    #[test]
    fn five_failures_lock_the_account_and_a_sign_in_then_is_refused_until_it_ends() {
        let mut u = with_password();
        for _ in 0..4 {
            u = run(u, UserCommand::FailSignIn { reason: "password".into(), network: "n".into() }).unwrap();
        }
        assert_eq!(u.access.locked_until, None);
        let events =
            decide(&u, &UserCommand::FailSignIn { reason: "password".into(), network: "n".into() }, now()).unwrap();
        assert!(matches!(events[1], UserEvent::LockedOut { failures: 5, .. }));
        let u = events.iter().fold(u, evolve);
        let sign_in = UserCommand::SignIn {
            session: "s".into(),
            token: "t".into(),
            device: "d".into(),
            network: "n".into(),
            mfa_step: None,
            backup_code: None,
        };
        assert!(decide(&u, &sign_in, now()).unwrap_err().to_string().starts_with("locked: "));
        let known = UserCommand::SignIn {
            session: "s".into(),
            token: "t".into(),
            device: "laptop".into(),
            network: "n".into(),
            mfa_step: None,
            backup_code: None,
        };
        let mut seen = u.clone();
        seen.access.devices.insert("laptop".into());
        assert!(decide(&seen, &known, now()).is_ok(), "the owner's known device is not locked out");
        let after = now() + chrono::Duration::seconds(61);
        let u = decide(&u, &sign_in, after).unwrap().iter().fold(u, evolve);
        assert_eq!((u.access.failures, u.access.locked_until), (0, None), "a sign-in clears the count");
    }

    #[test]
    fn a_totp_step_and_a_backup_code_are_accepted_once() {
        let u = run(with_password(), UserCommand::EnableMfa { secret: sealed() }).unwrap();
        let u = run(u, UserCommand::IssueBackupCodes { codes: vec!["h0".into(), "h1".into()] }).unwrap();
        let sign_in = |step: Option<u64>, code: Option<u32>| UserCommand::SignIn {
            session: format!("s{step:?}{code:?}"),
            token: "t".into(),
            device: "d".into(),
            network: "n".into(),
            mfa_step: step,
            backup_code: code,
        };
        let u = run(u, sign_in(Some(100), None)).unwrap();
        assert!(run(u.clone(), sign_in(Some(100), None)).unwrap_err().to_string().starts_with("totp: "));
        assert!(run(u.clone(), sign_in(Some(99), None)).is_err(), "an older step is refused too");
        let u = run(u, sign_in(None, Some(1))).unwrap();
        assert_eq!(u.access.backup_codes, vec![Some("h0".to_owned()), None]);
        assert!(run(u, sign_in(None, Some(1))).unwrap_err().to_string().starts_with("backup_code: "));
    }

    #[test]
    fn only_a_device_not_seen_before_is_new() {
        let u = signed_in(with_password(), "s1", "t1", "laptop");
        let cmd = |device: &str| UserCommand::SignIn {
            session: "s2".into(),
            token: "t2".into(),
            device: device.into(),
            network: "n".into(),
            mfa_step: None,
            backup_code: None,
        };
        assert!(matches!(decide(&u, &cmd("laptop"), now()).unwrap()[0], UserEvent::SignedIn { new_device: false, .. }));
        assert!(matches!(decide(&u, &cmd("phone"), now()).unwrap()[0], UserEvent::SignedIn { new_device: true, .. }));
    }

    #[test]
    fn granting_a_role_twice_records_it_once() {
        let u = run(registered(), UserCommand::GrantRole { role: Role::Advisor, by: "a".into() }).unwrap();
        assert!(decide(&u, &UserCommand::GrantRole { role: Role::Advisor, by: "a".into() }, now()).unwrap().is_empty());
        assert!(u.roles.contains(&Role::Client), "every user is a client");
    }
}
