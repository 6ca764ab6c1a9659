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
        match s.trim() {
            "client" => Ok(Self::Client),
            "advisor" => Ok(Self::Advisor),
            "auditor" => Ok(Self::Auditor),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role {other:?}; expected client, advisor, auditor or admin")),
        }
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
        }
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
        UserEvent::MfaDisabled { .. } => u.mfa_secret = None,
        UserEvent::RoleGranted { role, .. } => {
            u.roles.insert(*role);
        }
        UserEvent::RoleRevoked { role, .. } => {
            u.roles.remove(role);
        }
        UserEvent::TermsAccepted { version, .. } => u.terms_version = Some(version.clone()),
        UserEvent::ErasureRequested { .. } => u.erased = true,
    }
    u
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Register { user_id: String, personal: Sealed, household: Option<String> },
    UpdateProfile { personal: Sealed },
    SetRiskProfile(RiskProfile),
    SubmitKyc { documents: Vec<Document> },
    StartKycReview { reviewer: String },
    ApproveKyc { reviewer: String, expires_at: NaiveDate },
    RejectKyc { reviewer: String, reason: String },
    ExpireKyc,
    VerifyAccreditation(Accreditation),
    EnableMfa { secret: Sealed },
    DisableMfa,
    GrantRole { role: Role, by: String },
    RevokeRole { role: Role, by: String },
    AcceptTerms { version: String },
    Erase { by: String },
}

fn refuse(field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: None, field: field.to_owned(), problem: problem.into() }
}

/// Decides a user command at `now` (the shell's clock).
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
        return Err(refuse("user", "no such user"));
    }
    if u.erased {
        return Err(refuse("user", "this user's data was erased; nothing more can be recorded"));
    }
    let status_is = |allowed: &[KycStatus], action: &str| {
        if allowed.contains(&u.kyc) {
            Ok(())
        } else {
            Err(refuse("kyc", format!("cannot {action} while KYC is {}", u.kyc.as_str())))
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
                Some(d) => return Err(refuse("kyc", format!("the approval runs until {d}"))),
                None => return Err(refuse("kyc", "the approval has no expiry date")),
            }
        }
        C::VerifyAccreditation(kind) => E::AccreditationVerified { kind: *kind, verified_at: now },
        C::EnableMfa { secret } => {
            if u.mfa_secret.is_some() {
                return Err(refuse("mfa", "is already enabled; disable it first to replace the secret"));
            }
            E::MfaEnabled { secret: secret.clone(), at: now }
        }
        C::DisableMfa => {
            if u.mfa_secret.is_none() {
                return Err(refuse("mfa", "is not enabled"));
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

    #[test]
    fn granting_a_role_twice_records_it_once() {
        let u = run(registered(), UserCommand::GrantRole { role: Role::Advisor, by: "a".into() }).unwrap();
        assert!(decide(&u, &UserCommand::GrantRole { role: Role::Advisor, by: "a".into() }, now()).unwrap().is_empty());
        assert!(u.roles.contains(&Role::Client), "every user is a client");
    }
}
