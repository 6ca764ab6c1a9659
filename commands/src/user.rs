//! User commands: personal data is sealed by the [`Vault`] before the domain sees it, and
//! opened only when a caller asks to read it.

use chrono::{NaiveDate, Utc};
use domain::user::{decide, Accreditation, Document, LoginEvent, RiskProfile, Role, User, UserCommand, UserEvent};
use event_store::{EventStore, StreamId, StreamWrite};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use uuid::Uuid;

use crate::aggregate::{self, Caller, Executed};
use crate::security::vault::{Opened, Vault};
use crate::{CommandError, Context};

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

/// The canonical form of a user id (lowercase, hyphenated) and the user's stream. Every use of
/// an id (stream, vault subject, associated data) goes through here, so `0190ABCD-…` and
/// `0190abcd-…` are one user with one data key.
pub fn canonical(user_id: &str) -> Result<(String, StreamId), CommandError> {
    let id = Uuid::parse_str(user_id.trim())
        .map_err(|_| CommandError::invalid("user", format!("{user_id:?} is not a user id")))?
        .to_string();
    let stream = crate::stream_id(&domain::streams::Stream::user(&id))?;
    Ok((id, stream))
}

const PERSONAL: &str = "personal";
/// The vault field the TOTP secret is sealed under.
pub const MFA_FIELD: &str = "mfa_secret";

pub fn validate(p: &PersonalData) -> Result<(), CommandError> {
    if p.name.trim().is_empty() {
        return Err(CommandError::invalid("name", "must not be empty"));
    }
    let at = p.email.find('@');
    if !at.is_some_and(|i| i > 0 && i + 1 < p.email.len()) || p.email.contains(char::is_whitespace) {
        return Err(CommandError::invalid("email", format!("{:?} is not an email address", p.email)));
    }
    Ok(())
}

/// Runs a user command at the current time.
async fn run(
    cx: &Context,
    user_id: &str,
    command: UserCommand,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    let (_, stream) = canonical(user_id)?;
    let now = Utc::now();
    aggregate::execute::<domain::user::UserDecider, _>(
        cx,
        &stream,
        |u| decide(u, &command, now),
        None,
        Uuid::now_v7(),
        caller,
    )
    .await
}

/// The stream of a sign-in email: `login-<keyed digest of the trimmed, lowercased email>`.
pub fn login_stream(vault: &Vault, email: &str) -> Result<StreamId, CommandError> {
    Ok(StreamId::new(format!("login-{}", vault.blind_index("email", &email.trim().to_lowercase())))?)
}

/// The user who signs in with `email`, if any.
pub async fn user_for_login(cx: &Context, vault: &Vault, email: &str) -> Result<Option<String>, CommandError> {
    Ok(aggregate::load::<domain::user::LoginDecider, _>(cx, &login_stream(vault, email)?).await?.0)
}

/// Registers a user, claiming their email as a sign-in name in the same transaction (an email
/// held by another user is refused), with an optional password hash; returns the new user id.
pub async fn register(
    cx: &Context,
    vault: &Vault,
    personal: &PersonalData,
    household: Option<String>,
    password_hash: Option<String>,
    caller: &Caller,
) -> Result<String, CommandError> {
    validate(personal)?;
    let user_id = Uuid::now_v7().to_string();
    let (_, stream) = canonical(&user_id)?;
    let login = login_stream(vault, &personal.email)?;
    let (holder, login_version) = aggregate::load::<domain::user::LoginDecider, _>(cx, &login).await?;
    if holder.is_some() {
        return Err(CommandError::invalid("email", format!("{} is already registered", personal.email)));
    }
    let sealed =
        vault.seal(&user_id, PERSONAL, &serde_json::to_vec(personal).expect("personal data serializes")).await?;
    let now = Utc::now();
    let mut events = decide(
        &User::default(),
        &UserCommand::Register { user_id: user_id.clone(), personal: sealed, household },
        now,
    )?;
    if let Some(hash) = password_hash {
        events.push(UserEvent::PasswordSet { hash, at: now });
    }
    let metadata = aggregate::metadata(Uuid::now_v7(), caller);
    let user_events = aggregate::new_events::<domain::user::UserDecider>(&events, &metadata)?;
    let claim = aggregate::new_events::<domain::user::LoginDecider>(
        &[LoginEvent::LoginClaimed { user_id: user_id.clone(), at: now }],
        &metadata,
    )?;
    let writes = [
        StreamWrite { stream: &login, expected: aggregate::expect(login_version), events: &claim },
        StreamWrite { stream: &stream, expected: aggregate::expect(0), events: &user_events },
    ];
    match cx.store().append_many(&writes).await {
        Ok(_) => Ok(user_id),
        Err(e) if e.is_conflict() => {
            Err(CommandError::invalid("email", format!("{} is already registered", personal.email)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces the personal data (fields left `None` keep their value).
pub async fn update_profile(
    cx: &Context,
    vault: &Vault,
    user_id: &str,
    change: PersonalData,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    let (user_id, _) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let current = show(cx, vault, user_id).await?;
    let mut personal = match current.personal {
        Some(p) => p,
        None => return Err(CommandError::invalid("user", "data was erased")),
    };
    let old_email = personal.email.clone();
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
    let (old_login, new_login) = (login_stream(vault, &old_email)?, login_stream(vault, &personal.email)?);
    if old_login == new_login {
        return run(cx, user_id, UserCommand::UpdateProfile { personal: sealed }, caller).await;
    }
    // A new email moves the sign-in name: claim the new one, release the old, and record the
    // profile, in one transaction.
    let (holder, new_version) = aggregate::load::<domain::user::LoginDecider, _>(cx, &new_login).await?;
    if holder.is_some() {
        return Err(CommandError::invalid("email", format!("{} is already registered", personal.email)));
    }
    let (old_holder, old_version) = aggregate::load::<domain::user::LoginDecider, _>(cx, &old_login).await?;
    let (_, stream) = canonical(user_id)?;
    let (user, version) = aggregate::load::<domain::user::UserDecider, _>(cx, &stream).await?;
    let now = Utc::now();
    let events = decide(&user, &UserCommand::UpdateProfile { personal: sealed }, now)?;
    let metadata = aggregate::metadata(Uuid::now_v7(), caller);
    let user_events = aggregate::new_events::<domain::user::UserDecider>(&events, &metadata)?;
    let login = |e: LoginEvent| aggregate::new_events::<domain::user::LoginDecider>(&[e], &metadata);
    let claim = login(LoginEvent::LoginClaimed { user_id: user_id.to_owned(), at: now })?;
    let release = login(LoginEvent::LoginReleased { user_id: user_id.to_owned(), at: now })?;
    let at = aggregate::expect;
    let mut writes = vec![
        StreamWrite { stream: &new_login, expected: at(new_version), events: &claim },
        StreamWrite { stream: &stream, expected: at(version), events: &user_events },
    ];
    if old_holder.as_deref() == Some(user_id) {
        writes.push(StreamWrite { stream: &old_login, expected: at(old_version), events: &release });
    }
    match cx.store().append_many(&writes).await {
        Ok(results) => Ok(Executed {
            events,
            first_position: Some(results[1].first_position),
            last_position: Some(results[1].last_position),
            stream_version: results[1].stream_version,
        }),
        Err(e) if e.is_conflict() => Err(CommandError::Contention(stream.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// Everything but sealing: risk profile, KYC, roles, terms, accreditation, MFA off.
pub async fn command(
    cx: &Context,
    user_id: &str,
    command: UserCommand,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    run(cx, user_id, command, caller).await
}

/// Turns MFA on with a fresh TOTP secret; returns the secret in base32 (shown once).
pub async fn enable_mfa(cx: &Context, vault: &Vault, user_id: &str, caller: &Caller) -> Result<String, CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let (user, _) = aggregate::load::<domain::user::UserDecider, _>(cx, &stream).await?;
    if user.erased {
        return Err(CommandError::invalid("user", "this user's data was erased; nothing more can be recorded"));
    }
    let mut secret = [0u8; 20];
    aes_gcm::aead::rand_core::RngCore::fill_bytes(&mut aes_gcm::aead::OsRng, &mut secret);
    let encoded = crate::security::totp::base32(&secret);
    let sealed = vault.seal(user_id, MFA_FIELD, encoded.as_bytes()).await?;
    run(cx, user_id, UserCommand::EnableMfa { secret: sealed }, caller).await?;
    Ok(encoded)
}

/// Backup codes issued at once.
pub const BACKUP_CODES: usize = 10;

/// The stored form of a backup code: SHA-256 over the user id and the code's letters and
/// digits, lowercased (codes are random 40-bit values, so a fast hash is enough).
pub fn backup_digest(user_id: &str, code: &str) -> String {
    let normal: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    hex::encode(sha2::Sha256::new().chain_update(user_id).chain_update(":").chain_update(normal).finalize())
}

/// Issues fresh single-use backup codes (replacing any earlier ones); returns them in the
/// clear, to be shown once. Only their digests are recorded.
pub async fn issue_backup_codes(cx: &Context, user_id: &str, caller: &Caller) -> Result<Vec<String>, CommandError> {
    let (user_id, _) = canonical(user_id)?;
    let codes: Vec<String> = (0..BACKUP_CODES)
        .map(|_| {
            let mut bytes = [0u8; 5];
            aes_gcm::aead::rand_core::RngCore::fill_bytes(&mut aes_gcm::aead::OsRng, &mut bytes);
            let text = crate::security::totp::base32(&bytes).to_lowercase();
            format!("{}-{}", &text[..4], &text[4..])
        })
        .collect();
    let digests = codes.iter().map(|c| backup_digest(&user_id, c)).collect();
    run(cx, &user_id, UserCommand::IssueBackupCodes { codes: digests }, caller).await?;
    Ok(codes)
}

/// Records the erasure, then destroys the user's data key. Running it again after a crash
/// between the two finishes the job.
pub async fn erase(cx: &Context, vault: &Vault, user_id: &str, by: &str, caller: &Caller) -> Result<(), CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let (user, _) = aggregate::load::<domain::user::UserDecider, _>(cx, &stream).await?;
    if user.user_id.is_none() {
        return Err(CommandError::invalid("user", "no such user"));
    }
    if !user.erased {
        run(cx, user_id, UserCommand::Erase { by: by.to_owned() }, caller).await?;
    }
    // Free the sign-in email while it can still be read (a crash after the shred leaves it
    // claimed by an erased user, which signing in refuses anyway).
    if let Some(sealed) = &user.personal {
        if let Some(personal) = open_personal(vault, user_id, sealed).await? {
            let login = login_stream(vault, &personal.email)?;
            let release = |holder: &Option<String>| {
                Ok::<_, domain::DomainError>(match holder {
                    Some(h) if h == user_id => {
                        vec![LoginEvent::LoginReleased { user_id: user_id.to_owned(), at: Utc::now() }]
                    }
                    _ => Vec::new(),
                })
            };
            aggregate::execute::<domain::user::LoginDecider, _>(cx, &login, release, None, Uuid::now_v7(), caller)
                .await?;
        }
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

pub async fn show(cx: &Context, vault: &Vault, user_id: &str) -> Result<UserView, CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let user_id = user_id.as_str();
    let (user, version) = aggregate::load::<domain::user::UserDecider, _>(cx, &stream).await?;
    if version == 0 {
        return Err(CommandError::invalid("user", format!("no user {user_id}")));
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
            Ok(Some(serde_json::from_slice(&bytes).map_err(|e| CommandError::invalid("personal data", e.to_string()))?))
        }
        Opened::Erased => Ok(None),
    }
}

/// The contacts alerts use besides the user's email, sealed in `AlertPreferencesSet`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertContacts {
    /// A mobile number in E.164 (`+15551234567`), for text messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// FCM registration tokens of the user's devices, for push notifications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
}

/// The vault field the alert contacts are sealed under.
const ALERT_CONTACTS: &str = "alert_contacts";

/// Checks a phone number is E.164: `+`, then 8 to 15 digits, the first not 0 (ITU-T E.164 §6:
/// at most 15 digits in all).
pub fn validate_phone(phone: &str) -> Result<(), CommandError> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    if digits.len() < 8 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(CommandError::invalid("phone", format!("{phone:?} is not an E.164 number (+15551234567)")));
    }
    Ok(())
}

/// Sets how the user hears of alerts. Each channel chosen must reach them: text messages need
/// a phone, push a device; the contacts are sealed with the user's data key.
pub async fn set_alert_preferences(
    cx: &Context,
    vault: &Vault,
    user_id: &str,
    preferences: domain::alerts::Preferences,
    contacts: AlertContacts,
    caller: &Caller,
) -> Result<Executed<UserEvent>, CommandError> {
    use domain::alerts::Channel;
    let (user_id, _) = canonical(user_id)?;
    if let Some(phone) = &contacts.phone {
        validate_phone(phone)?;
    }
    if let Some(i) = contacts.devices.iter().position(|d| d.trim().is_empty() || d.len() > 4096) {
        return Err(CommandError::invalid("devices", format!("device {} is not a registration token", i + 1)));
    }
    if preferences.channels.contains_key(&Channel::Sms) && contacts.phone.is_none() {
        return Err(CommandError::invalid("phone", "text messages need a phone number"));
    }
    if preferences.channels.contains_key(&Channel::Push) && contacts.devices.is_empty() {
        return Err(CommandError::invalid("devices", "push notifications need a device's registration token"));
    }
    let sealed = if contacts == AlertContacts::default() {
        None
    } else {
        let bytes = serde_json::to_vec(&contacts).expect("contacts serialize");
        Some(vault.seal(&user_id, ALERT_CONTACTS, &bytes).await?)
    };
    run(cx, &user_id, UserCommand::SetAlertPreferences { preferences, contacts: sealed }, caller).await
}

/// Opens a user's sealed alert contacts; `None` once the user's key is destroyed (erased).
pub async fn open_alert_contacts(
    vault: &Vault,
    user_id: &str,
    sealed: &domain::Sealed,
) -> Result<Option<AlertContacts>, CommandError> {
    match vault.open(user_id, ALERT_CONTACTS, sealed).await? {
        Opened::Plain(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).map_err(|e| CommandError::invalid("alert contacts", e.to_string()))?,
        )),
        Opened::Erased => Ok(None),
    }
}

/// A user's alert preferences (`None` until set) and their contacts, opened.
pub async fn alert_preferences(
    cx: &Context,
    vault: &Vault,
    user_id: &str,
) -> Result<(Option<domain::alerts::Preferences>, AlertContacts), CommandError> {
    let (user_id, stream) = canonical(user_id)?;
    let (user, version) = aggregate::load::<domain::user::UserDecider, _>(cx, &stream).await?;
    if version == 0 {
        return Err(CommandError::invalid("user", format!("no user {user_id}")));
    }
    let contacts = match &user.alert_contacts {
        Some(sealed) => open_alert_contacts(vault, &user_id, sealed).await?.unwrap_or_default(),
        None => AlertContacts::default(),
    };
    Ok((user.alert_preferences, contacts))
}

/// Parses `kind:reference` KYC document arguments.
pub fn parse_documents(args: &[String]) -> Result<Vec<Document>, CommandError> {
    args.iter()
        .map(|a| {
            let (kind, reference) = a
                .split_once(':')
                .filter(|(k, r)| !k.is_empty() && !r.is_empty())
                .ok_or_else(|| CommandError::invalid("document", format!("{a:?} is not kind:reference")))?;
            Ok(Document { kind: kind.to_owned(), reference: reference.to_owned() })
        })
        .collect()
}
