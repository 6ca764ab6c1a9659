//! Signing in and out, and the signed-in user's own settings: `/v1/auth/…`, `/v1/me…`.

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use commands::aggregate;
use commands::user::{self as users, PersonalData};
use domain::user::{Document, UserCommand};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::auth::{self, Principal, RefreshRequest, SignIn, Tokens};
use crate::http::problem::{Body, Problem};
use crate::http::AppState;
use commands::security::password::Passwords;

type Peer = ConnectInfo<std::net::SocketAddr>;

/// Self-registration: a new client with a household of their own.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    #[schemars(regex(pattern = r"\S"))]
    pub name: String,
    #[schemars(email)]
    pub email: String,
    /// At least 12 characters, not one character repeated, not a known breached password, not
    /// containing the email's local part.
    #[schemars(length(min = 12, max = 128), extend("not" = { "pattern": "^(.)\\1*$" }))]
    pub password: String,
}

/// The answer to every accepted registration, whether the email was new or already registered,
/// so that registering reveals nothing about who has an account.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Registered {
    /// Always `accepted`.
    pub status: &'static str,
    pub detail: &'static str,
}

const REGISTERED: Registered = Registered {
    status: "accepted",
    detail: "sign in with this email and password; if the email already had an account, nothing \
             was changed and its owner's security log says someone tried",
};

/// Self-registration: rate limited per address, the password hashed on a permit of its own (so
/// a flood of registrations never delays sign-ins), and one answer (202) whether the email was
/// new or taken: a taken one changes nothing and is recorded in its owner's security log.
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): Peer,
    Body(req): Body<Register>,
) -> Result<Response, Problem> {
    auth::registration_allowed(&state, Some(peer.ip()))?;
    Passwords::policy(&req.password, &req.email).map_err(|why| Problem::field("password", why))?;
    let personal = PersonalData { name: req.name, email: req.email, tax_id: None, born: None };
    users::validate(&personal)?;
    // Hashed either way, so a taken email takes as long to answer as a new one.
    let hash = state.auth.passwords.hash_for_registration(req.password).await.map_err(Problem::internal)?;
    let caller = commands::aggregate::Caller { actor: "self-registration".into(), source: "http".into() };
    if let Some(owner) = users::user_for_login(&state.commands, &state.vault, &personal.email).await? {
        let what = "self-registration with this account's email (nothing changed; the answer did not say so)";
        let command = UserCommand::RefuseAccess { what: what.into(), count: 1 };
        commands::user::command(&state.commands, &owner, command, &caller).await?;
    } else {
        let household = format!("h{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        match users::register(&state.commands, &state.vault, &personal, Some(household), Some(hash), &caller).await {
            // Registered at the same moment by another request: the same answer.
            Ok(_) | Err(commands::CommandError::Invalid { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((StatusCode::ACCEPTED, Json(REGISTERED)).into_response())
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Body(req): Body<SignIn>,
) -> Result<Response, Problem> {
    let (tokens, cookie) = auth::sign_in(&state, &headers, Some(peer.ip()), req).await?;
    Ok(([(axum::http::header::SET_COOKIE, cookie)], Json(tokens)).into_response())
}

pub async fn refresh(
    State(state): State<AppState>,
    ConnectInfo(peer): Peer,
    Body(req): Body<RefreshRequest>,
) -> Result<Json<Tokens>, Problem> {
    auth::refresh(&state, Some(peer.ip()), req).await.map(Json)
}

pub async fn logout(State(state): State<AppState>, Body(req): Body<RefreshRequest>) -> Result<StatusCode, Problem> {
    auth::sign_out(&state, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MeView {
    pub user_id: String,
    /// The user's name, opened from their sealed personal data (none once erased).
    pub name: Option<String>,
    pub roles: Vec<String>,
    pub household: Option<String>,
    pub households: Vec<String>,
    pub mfa_enabled: bool,
    pub kyc_status: String,
    /// Unused backup codes left.
    pub backup_codes_left: usize,
    /// Devices that have signed in (fingerprints), and the live sessions.
    pub devices: usize,
    pub sessions: usize,
}

pub async fn me(State(state): State<AppState>, p: Principal) -> Result<Json<MeView>, Problem> {
    let (user_id, stream) = users::canonical(p.user_id())?;
    let (u, _) = aggregate::load::<domain::user::UserDecider, _>(&state.commands, &stream).await?;
    let name = match (&u.personal, u.erased) {
        (Some(sealed), false) => users::open_personal(&state.vault, &user_id, sealed).await?.map(|d| d.name),
        _ => None,
    };
    Ok(Json(MeView {
        user_id: p.user_id().to_owned(),
        name,
        roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        household: u.household.as_deref().map(domain::ledger::household_key),
        households: u.access.households.iter().cloned().collect(),
        mfa_enabled: u.mfa_secret.is_some(),
        kyc_status: u.kyc.as_str().to_owned(),
        backup_codes_left: u.access.backup_codes.iter().flatten().count(),
        devices: u.access.devices.len(),
        sessions: u.access.sessions.len(),
    }))
}

/// MFA turned on: the secret for the authenticator app and 10 single-use backup codes, shown
/// this once.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MfaSetup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://` URI (for a QR code).
    pub otpauth_uri: String,
    pub backup_codes: Vec<String>,
}

/// An empty object (`{}`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

pub async fn enable_mfa(
    State(state): State<AppState>,
    p: Principal,
    Body(_): Body<Empty>,
) -> Result<Response, Problem> {
    let secret = users::enable_mfa(&state.commands, &state.vault, p.user_id(), &p.caller()).await?;
    let backup_codes = users::issue_backup_codes(&state.commands, p.user_id(), &p.caller()).await?;
    let otpauth_uri =
        format!("otpauth://totp/cairn:{}?secret={secret}&issuer=cairn&algorithm=SHA1&digits=6&period=30", p.user_id());
    Ok((StatusCode::CREATED, Json(MfaSetup { secret, otpauth_uri, backup_codes })).into_response())
}

pub async fn disable_mfa(State(state): State<AppState>, p: Principal) -> Result<StatusCode, Problem> {
    users::command(&state.commands, p.user_id(), UserCommand::DisableMfa, &p.caller()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// KYC documents submitted for review.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KycSubmission {
    #[schemars(length(min = 1))]
    pub documents: Vec<KycDocument>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KycDocument {
    /// passport, driver_license, utility_bill, …
    #[schemars(regex(pattern = r"\S"))]
    pub kind: String,
    /// Where the document is kept (a vault reference).
    #[schemars(regex(pattern = r"\S"))]
    pub reference: String,
}

/// The outcome of a command on a user.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserChanged {
    pub user_id: String,
    pub events: usize,
    /// The user stream's version after the command.
    pub version: u64,
    pub last_position: Option<u64>,
}

pub async fn submit_kyc(
    State(state): State<AppState>,
    p: Principal,
    Body(req): Body<KycSubmission>,
) -> Result<Json<UserChanged>, Problem> {
    if req.documents.is_empty() {
        return Err(Problem::field("documents", "documents: at least one is needed"));
    }
    for (i, d) in req.documents.iter().enumerate() {
        for (name, value) in [("kind", &d.kind), ("reference", &d.reference)] {
            if value.trim().is_empty() {
                let field = format!("documents[{i}].{name}");
                return Err(Problem::field(&field, format!("{field}: must not be empty")));
            }
        }
    }
    let documents = req.documents.into_iter().map(|d| Document { kind: d.kind, reference: d.reference }).collect();
    let done = users::command(&state.commands, p.user_id(), UserCommand::SubmitKyc { documents }, &p.caller()).await?;
    Ok(Json(UserChanged {
        user_id: p.user_id().to_owned(),
        events: done.events.len(),
        version: done.stream_version,
        last_position: done.last_position,
    }))
}
