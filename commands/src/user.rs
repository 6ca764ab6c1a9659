//! User commands: personal data is sealed by the [`Vault`] before the domain sees it, and
//! opened only when a caller asks to read it.

use chrono::{NaiveDate, Utc};
use domain::user::{decide, evolve, Accreditation, Document, RiskProfile, Role, User, UserCommand, UserEvent};
use event_store::{Store, StreamId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{self, Aggregate, Caller, Executed};
use crate::vault::{Opened, Vault};
use crate::CommandError;

pub const USER_SCHEMA_VERSION: u32 = domain::user::SCHEMA_VERSION;

/// The personal data sealed in `UserRegistered` and `ProfileUpdated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub born: Option<NaiveDate>,
}

pub struct UserAggregate;

impl Aggregate for UserAggregate {
    type State = User;
    type Event = UserEvent;
    const SCHEMA_VERSION: u32 = USER_SCHEMA_VERSION;
    fn evolve(state: User, event: &UserEvent) -> User {
        evolve(state, event)
    }
    fn event_type(event: &UserEvent) -> &'static str {
        event.event_type()
    }
}

/// The canonical form of a user id (lowercase, hyphenated) and the user's stream. Every use of
/// an id (stream, vault subject, associated data) goes through here, so `0190ABCD-…` and
/// `0190abcd-…` are one user with one data key.
pub fn canonical(user_id: &str) -> Result<(String, StreamId), CommandError> {
    let id = Uuid::parse_str(user_id.trim())
        .map_err(|_| CommandError::Invalid(format!("user: {user_id:?} is not a user id")))?
        .to_string();
    let stream = StreamId::new(format!("user-{id}"))?;
    Ok((id, stream))
}

const PERSONAL: &str = "personal";
const MFA: &str = "mfa_secret";

fn validate(p: &PersonalData) -> Result<(), CommandError> {
    if p.name.trim().is_empty() {
        return Err(CommandError::Invalid("name: must not be empty".into()));
    }
    let at = p.email.find('@');
    if !at.is_some_and(|i| i > 0 && i + 1 < p.email.len()) || p.email.contains(char::is_whitespace) {
        return Err(CommandError::Invalid(format!("email: {:?} is not an email address", p.email)));
    }
    Ok(())
}

/// Runs a user command at the current time.
async fn run(
    store: &Store,
    user_id: &str,
    command: UserCommand,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    let (_, stream) = canonical(user_id)?;
    let now = Utc::now();
    aggregate::execute::<UserAggregate, _>(store, &stream, |u| decide(u, &command, now), None, Uuid::now_v7(), caller)
        .await
}

/// Registers a user; returns the new user id.
pub async fn register(
    store: &Store,
    vault: &Vault,
    personal: &PersonalData,
    household: Option<String>,
    caller: &Caller,
) -> Result<String, CommandError> {
    validate(personal)?;
    let user_id = Uuid::now_v7().to_string();
    let sealed =
        vault.seal(&user_id, PERSONAL, &serde_json::to_vec(personal).expect("personal data serializes")).await?;
    run(store, &user_id, UserCommand::Register { user_id: user_id.clone(), personal: sealed, household }, caller)
        .await?;
    Ok(user_id)
}

/// Replaces the personal data (fields left `None` keep their value).
pub async fn update_profile(
    store: &Store,
    vault: &Vault,
    user_id: &str,
    change: PersonalData,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    let (user_id, _) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let current = show(store, vault, user_id).await?;
    let mut personal = match current.personal {
        Some(p) => p,
        None => return Err(CommandError::Invalid("user: data was erased".into())),
    };
    if !change.name.is_empty() {
        personal.name = change.name;
    }
    if !change.email.is_empty() {
        personal.email = change.email;
    }
    personal.tax_id = change.tax_id.or(personal.tax_id);
    personal.born = change.born.or(personal.born);
    validate(&personal)?;
    let sealed =
        vault.seal(user_id, PERSONAL, &serde_json::to_vec(&personal).expect("personal data serializes")).await?;
    run(store, user_id, UserCommand::UpdateProfile { personal: sealed }, caller).await
}

/// Everything but sealing: risk profile, KYC, roles, terms, accreditation, MFA off.
pub async fn command(
    store: &Store,
    user_id: &str,
    command: UserCommand,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    run(store, user_id, command, caller).await
}

/// Turns MFA on with a fresh TOTP secret; returns the secret in base32 (shown once).
pub async fn enable_mfa(store: &Store, vault: &Vault, user_id: &str, caller: &Caller) -> Result<String, CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let (user, _) = aggregate::load::<UserAggregate, _>(store, &stream).await?;
    if user.erased {
        return Err(CommandError::Invalid("user: this user's data was erased; nothing more can be recorded".into()));
    }
    let mut secret = [0u8; 20];
    aes_gcm::aead::rand_core::RngCore::fill_bytes(&mut aes_gcm::aead::OsRng, &mut secret);
    let encoded = base32(&secret);
    let sealed = vault.seal(user_id, MFA, encoded.as_bytes()).await?;
    run(store, user_id, UserCommand::EnableMfa { secret: sealed }, caller).await?;
    Ok(encoded)
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Records the erasure, then destroys the user's data key. Running it again after a crash
/// between the two finishes the job.
pub async fn erase(store: &Store, vault: &Vault, user_id: &str, by: &str, caller: &Caller) -> Result<(), CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let (user, _) = aggregate::load::<UserAggregate, _>(store, &stream).await?;
    if user.user_id.is_none() {
        return Err(CommandError::Invalid("user: no such user".into()));
    }
    if !user.erased {
        run(store, user_id, UserCommand::Erase { by: by.to_owned() }, caller).await?;
    }
    vault.shred(user_id).await
}

/// A user as a reader sees it: personal data opened, or `None` once erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    pub user_id: String,
    pub household: Option<String>,
    pub personal: Option<PersonalData>,
    pub erased: bool,
    pub kyc: domain::user::KycStatus,
    pub kyc_expires: Option<NaiveDate>,
    pub risk: Option<RiskProfile>,
    pub accreditation: Option<Accreditation>,
    pub mfa_enabled: bool,
    pub roles: Vec<Role>,
    pub terms_version: Option<String>,
}

pub async fn show(store: &Store, vault: &Vault, user_id: &str) -> Result<UserView, CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let (user, version) = aggregate::load::<UserAggregate, _>(store, &stream).await?;
    if version == 0 {
        return Err(CommandError::Invalid(format!("user: no user {user_id}")));
    }
    let personal = match (&user.personal, user.erased) {
        (Some(sealed), false) => open_personal(vault, user_id, sealed).await?,
        _ => None,
    };
    Ok(UserView {
        user_id: user_id.to_owned(),
        household: user.household.clone(),
        erased: user.erased || personal.is_none(),
        personal,
        kyc: user.kyc,
        kyc_expires: user.kyc_expires,
        risk: user.risk.clone(),
        accreditation: user.accreditation,
        mfa_enabled: user.mfa_secret.is_some(),
        roles: user.roles.iter().copied().collect(),
        terms_version: user.terms_version.clone(),
    })
}

/// Opens a user's sealed personal data; `None` once the user's key is destroyed (erased).
pub async fn open_personal(
    vault: &Vault,
    user_id: &str,
    sealed: &domain::Sealed,
) -> Result<Option<PersonalData>, CommandError> {
    match vault.open(user_id, PERSONAL, sealed).await? {
        Opened::Plain(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).map_err(|e| CommandError::Invalid(format!("personal data: {e}")))?))
        }
        Opened::Erased => Ok(None),
    }
}

/// Parses `kind:reference` KYC document arguments.
pub fn parse_documents(args: &[String]) -> Result<Vec<Document>, CommandError> {
    args.iter()
        .map(|a| {
            let (kind, reference) = a
                .split_once(':')
                .filter(|(k, r)| !k.is_empty() && !r.is_empty())
                .ok_or_else(|| CommandError::Invalid(format!("document: {a:?} is not kind:reference")))?;
            Ok(Document { kind: kind.to_owned(), reference: reference.to_owned() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(super::base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(super::base32(b"f"), "MY");
    }
}
