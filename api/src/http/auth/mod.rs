//! Authentication: who is calling. Passwords (`commands::security::password`), access tokens ([`token`]), rate
//! limits ([`limiter`]), and the sign-in, refresh and sign-out flows, each of which records its
//! outcome on the user's stream (sign-ins, failures, lockouts, token reuse, sign-outs).

pub mod limiter;
pub mod token;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use chrono::{DateTime, Utc};
use commands::aggregate::{self, Caller};
use commands::security::vault::Opened;
use commands::user::{self as users};
use commands::CommandError;
use domain::user::{Role, User, UserCommand, UserEvent};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use self::limiter::{Limiter, Scope};
use self::token::{Claims, Keys, ACCESS_TOKEN_SECONDS};
use super::problem::{Problem, ProblemKind};
use super::AppState;
use commands::security::password::Passwords;

/// Everything authentication keeps while the server runs.
#[derive(Debug)]
pub struct Auth {
    pub keys: Keys,
    pub passwords: Passwords,
    pub limiter: Limiter,
    /// Sessions signed out or revoked by this process, until their last access token expires.
    revoked: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Refused requests, aggregated before they are recorded.
    pub refusals: super::authz::Refusals,
}

impl Auth {
    pub fn new(keys: Keys, passwords: Passwords) -> Self {
        Self {
            keys,
            passwords,
            limiter: Limiter::default(),
            revoked: Mutex::new(HashMap::new()),
            refusals: super::authz::Refusals::default(),
        }
    }

    fn revoke(&self, session: &str) {
        let now = Utc::now();
        let mut map = self.revoked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, until| *until > now);
        map.insert(session.to_owned(), now + chrono::Duration::seconds(ACCESS_TOKEN_SECONDS + 60));
    }

    /// Whether this process revoked the session (sign-out, token reuse).
    pub fn is_revoked(&self, session: &str) -> bool {
        let map = self.revoked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(session).is_some_and(|until| *until > Utc::now())
    }
}

/// The caller of a request, from a valid access token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: Claims,
    pub ip: Option<IpAddr>,
}

impl Principal {
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }

    pub fn is(&self, role: Role) -> bool {
        self.claims.roles.contains(&role)
    }

    /// How this caller appears in event metadata.
    pub fn caller(&self) -> Caller {
        Caller { actor: format!("user:{}", self.claims.sub), source: "http".into() }
    }
}

impl Auth {
    /// The claims of the request's bearer token, if it is valid and its session not revoked.
    pub fn bearer(&self, headers: &HeaderMap) -> Result<Claims, Problem> {
        let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
            return Err(Problem::new(ProblemKind::Unauthorized, "send an access token: Authorization: Bearer <token>"));
        };
        self.verify(token)
    }

    /// The claims of an access token, if it is valid and its session not revoked (a header's,
    /// or one a WebSocket client sends in its first message).
    pub fn verify(&self, token: &str) -> Result<Claims, Problem> {
        let claims = self.keys.verify(token.trim()).map_err(|why| Problem::new(ProblemKind::Unauthorized, why))?;
        if self.is_revoked(&claims.sid) {
            return Err(Problem::new(ProblemKind::Unauthorized, "the session was signed out or revoked"));
        }
        Ok(claims)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        Ok(Self { claims: state.auth.bearer(&parts.headers)?, ip: client_ip(parts) })
    }
}

/// The peer's address (set by `into_make_service_with_connect_info`).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}

/// The network a sign-in came from: the /24 of an IPv4 address, the /48 of an IPv6 one.
pub fn network(ip: Option<IpAddr>) -> String {
    match ip.map(|i| i.to_canonical()) {
        Some(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => "unknown".into(),
    }
}

/// The cookie that names a browser or app as a device of one user: set at each successful
/// sign-in (HttpOnly, SameSite=Strict, sent only to `/v1/auth`, a year), signed with a key
/// derived from the token key. A device is known only by this cookie, never by its user agent
/// or network, which anyone can copy.
pub const DEVICE_COOKIE: &str = "cairn_device";

/// The device of a sign-in: the one its valid device cookie names, or a fresh id (a device
/// never seen, so it matches no known one).
fn signing_in_device(keys: &Keys, headers: &HeaderMap, user_id: &str) -> (String, bool) {
    let presented = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(DEVICE_COOKIE)?.strip_prefix('='))
        .find_map(|value| keys.device_of(user_id, value));
    match presented {
        Some(device) => (device, true),
        None => (uuid::Uuid::new_v4().simple().to_string(), false),
    }
}

/// The `Set-Cookie` value of a device cookie (`Secure` when the request came over HTTPS, as a
/// proxy in front says with `X-Forwarded-Proto`).
pub fn device_set_cookie(headers: &HeaderMap, value: &str) -> String {
    let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p == "https");
    format!(
        "{DEVICE_COOKIE}={value}; Path=/v1/auth; Max-Age=31536000; HttpOnly; SameSite=Strict{}",
        if https { "; Secure" } else { "" }
    )
}

/// The key per-IP limits count under: the address for IPv4, its /64 for IPv6 (a single host
/// commonly holds a whole /64).
fn ip_key(ip: Option<IpAddr>) -> String {
    match ip.map(|i| i.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => "unknown".into(),
    }
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A refresh token: `<user id>.<session>.<64 random hex digits>`; only its digest is stored.
fn refresh_token(user_id: &str, session: &str) -> String {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    format!("{user_id}.{session}.{}", hex::encode(secret))
}

/// What signing in or refreshing returns.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Tokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: i64,
    /// Rotated on every use; valid 30 days. Presenting a rotated one revokes the session.
    pub refresh_token: String,
    /// True when this sign-in came from a device (user agent and network) not seen before.
    pub new_device: bool,
    pub user: Me,
}

/// The signed-in user as tokens describe them.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Me {
    pub user_id: String,
    pub roles: Vec<String>,
    pub household: Option<String>,
    pub households: Vec<String>,
}

fn me(user_id: &str, u: &User) -> Me {
    Me {
        user_id: user_id.to_owned(),
        roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        household: u.household.as_ref().map(|h| domain::ledger::household_key(h)),
        households: u.access.households.iter().cloned().collect(),
    }
}

fn issue(
    auth: &Auth,
    user_id: &str,
    u: &User,
    session: &str,
    refresh: String,
    new_device: bool,
) -> Result<Tokens, Problem> {
    let m = me(user_id, u);
    let claims =
        Claims::new(user_id, session, u.roles.iter().copied().collect(), m.household.clone(), m.households.clone());
    let access_token = auth.keys.sign(&claims).map_err(Problem::internal)?;
    Ok(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: refresh,
        new_device,
        user: m,
    })
}

/// Refuses a self-registration from an address that has made too many (429 with Retry-After).
pub fn registration_allowed(state: &AppState, ip: Option<IpAddr>) -> Result<(), Problem> {
    limited(state.auth.limiter.attempt(Scope::RegisterPerIp, &ip_key(ip)))
}

fn limited(result: Result<(), std::time::Duration>) -> Result<(), Problem> {
    result.map_err(|wait| {
        Problem::new(ProblemKind::RateLimited, "too many attempts; wait and try again").retry_after(wait.as_secs())
    })
}

fn system() -> Caller {
    Caller { actor: "cairn auth".into(), source: "http".into() }
}

async fn record(
    cx: &commands::Context,
    user_id: &str,
    command: UserCommand,
    caller: &Caller,
) -> Result<Vec<UserEvent>, CommandError> {
    Ok(users::command(cx, user_id, command, caller).await?.events)
}

/// A sign-in request.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    /// The 6-digit code from the authenticator app, when MFA is on.
    #[serde(default)]
    pub totp: Option<String>,
    /// One of the 10 backup codes, instead of `totp`.
    #[serde(default)]
    pub backup_code: Option<String>,
}

/// Signs in: rate limits, password, lockout, MFA, then a new session.
/// With a successful sign-in: the `Set-Cookie` value naming its device.
pub async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    req: SignIn,
) -> Result<(Tokens, String), Problem> {
    let auth = &state.auth;
    let net = network(ip);
    limited(auth.limiter.attempt(Scope::SignInPerIp, &ip_key(ip)))?;
    let user_id = users::user_for_login(&state.commands, &state.vault, &req.email).await?;
    let email = req.email.trim().to_lowercase();
    let Some(user_id) = user_id else {
        limited(auth.limiter.attempt(Scope::SignInPerAccount, &email))?;
        auth.passwords.verify(req.password, None).await;
        tracing::info!(network = %net, "sign-in for an unknown email");
        return Err(Problem::new(ProblemKind::InvalidCredentials, "wrong email or password"));
    };
    let (_, stream) = users::canonical(&user_id)?;
    let (user, _) = aggregate::load::<domain::user::UserDecider, _>(&state.commands, &stream).await?;
    let (this_device, signed) = signing_in_device(&auth.keys, headers, &user_id);
    // Each known device has a per-account bucket of its own: attempts from elsewhere, however
    // many, never rate-limit the owner's own browser.
    let known = signed && user.access.devices.contains(&this_device);
    let bucket = if known { format!("{email}|{this_device}") } else { email };
    limited(auth.limiter.attempt(Scope::SignInPerAccount, &bucket))?;
    if user.erased {
        auth.passwords.verify(req.password, None).await;
        return Err(Problem::new(ProblemKind::InvalidCredentials, "wrong email or password"));
    }
    let now = Utc::now();
    // A lock holds against devices that never signed in: the owner's own browser may still try
    // (and a wrong password from it counts too), so failures from elsewhere cannot keep the
    // owner out.
    if let Some(until) = user.access.locked(now).filter(|_| !user.access.devices.contains(&this_device)) {
        let wait = (until - now).num_seconds().max(1) as u64;
        return Err(Problem::new(
            ProblemKind::LockedOut,
            format!("too many failed sign-ins; locked until {}", until.to_rfc3339()),
        )
        .retry_after(wait));
    }
    if !auth.passwords.verify(req.password, user.access.password.clone()).await {
        let failed = UserCommand::FailSignIn { reason: "password".into(), network: net };
        record(&state.commands, &user_id, failed, &system()).await?;
        return Err(Problem::new(ProblemKind::InvalidCredentials, "wrong email or password"));
    }
    let (mut mfa_step, mut backup_code) = (None, None);
    if let Some(sealed) = &user.mfa_secret {
        let (totp, backup) =
            (req.totp.filter(|c| !c.trim().is_empty()), req.backup_code.filter(|c| !c.trim().is_empty()));
        if totp.is_none() && backup.is_none() {
            return Err(Problem::new(
                ProblemKind::MfaRequired,
                "enter the code from your authenticator app, or a backup code",
            ));
        }
        limited(auth.limiter.attempt(Scope::MfaPerAccount, &user_id))?;
        if let Some(code) = totp {
            let secret = match state.vault.open(&user_id, users::MFA_FIELD, sealed).await? {
                Opened::Plain(bytes) => {
                    String::from_utf8(bytes).ok().and_then(|s| commands::security::totp::base32_decode(&s))
                }
                Opened::Erased => None,
            }
            .ok_or_else(|| Problem::internal("the MFA secret cannot be read"))?;
            mfa_step = commands::security::totp::verify(&secret, &code, now.timestamp().max(0) as u64);
        } else if let Some(code) = backup {
            let d = users::backup_digest(&user_id, &code);
            backup_code =
                user.access.backup_codes.iter().position(|c| c.as_deref() == Some(d.as_str())).map(|i| i as u32);
        }
        if mfa_step.is_none() && backup_code.is_none() {
            let failed = UserCommand::FailSignIn { reason: "mfa code".into(), network: net };
            record(&state.commands, &user_id, failed, &system()).await?;
            return Err(Problem::new(ProblemKind::InvalidMfaCode, "the authentication code is wrong or expired"));
        }
    }
    let session = uuid::Uuid::new_v4().simple().to_string();
    let refresh = refresh_token(&user_id, &session);
    let command = UserCommand::SignIn {
        session: session.clone(),
        token: digest(&refresh),
        device: this_device.clone(),
        network: net,
        mfa_step,
        backup_code,
    };
    let caller = Caller { actor: format!("user:{user_id}"), source: "http".into() };
    let events = match record(&state.commands, &user_id, command, &caller).await {
        Ok(events) => events,
        Err(CommandError::Rejected(domain::DomainError::Rejected { field, problem, .. }))
            if field == "totp" || field == "backup_code" =>
        {
            return Err(Problem::new(ProblemKind::InvalidMfaCode, problem))
        }
        Err(CommandError::Rejected(domain::DomainError::Rejected { field, problem, .. })) if field == "locked" => {
            return Err(Problem::new(ProblemKind::LockedOut, problem).retry_after(60))
        }
        Err(e) => return Err(e.into()),
    };
    let new_device = events.iter().any(|e| matches!(e, UserEvent::SignedIn { new_device: true, .. }));
    let user = events.iter().fold(user, domain::user::evolve);
    let cookie = device_set_cookie(headers, &auth.keys.device_cookie(&user_id, &this_device));
    Ok((issue(auth, &user_id, &user, &session, refresh, new_device)?, cookie))
}

/// A refresh or sign-out request.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

fn token_parts(token: &str) -> Result<(String, String), Problem> {
    let mut parts = token.trim().splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(user), Some(session), Some(secret)) if secret.len() == 64 => {
            let (user_id, _) =
                users::canonical(user).map_err(|_| Problem::new(ProblemKind::Unauthorized, "not a refresh token"))?;
            Ok((user_id, session.to_owned()))
        }
        _ => Err(Problem::new(ProblemKind::Unauthorized, "not a refresh token")),
    }
}

/// Rotates a refresh token; a rotated one presented again revokes its whole session.
pub async fn refresh(state: &AppState, ip: Option<IpAddr>, req: RefreshRequest) -> Result<Tokens, Problem> {
    let auth = &state.auth;
    limited(auth.limiter.attempt(Scope::RefreshPerIp, &ip_key(ip)))?;
    let (user_id, session) = token_parts(&req.refresh_token)?;
    limited(auth.limiter.attempt(Scope::RefreshPerAccount, &user_id))?;
    let replacement = refresh_token(&user_id, &session);
    let command = UserCommand::Refresh { presented: digest(&req.refresh_token), replacement: digest(&replacement) };
    let caller = Caller { actor: format!("user:{user_id}"), source: "http".into() };
    let (_, stream) = users::canonical(&user_id)?;
    let events = match record(&state.commands, &user_id, command, &caller).await {
        Ok(events) => events,
        Err(CommandError::Rejected(domain::DomainError::Rejected { problem, .. })) => {
            return Err(Problem::new(ProblemKind::Unauthorized, format!("refresh token {problem}")))
        }
        Err(e) => return Err(e.into()),
    };
    match events.first() {
        // The session named in the token must be the one its digest belongs to, of this user: a
        // token edited to carry another session id is refused.
        Some(UserEvent::TokenRefreshed { session: refreshed, .. }) if *refreshed == session => {
            let (user, _) = aggregate::load::<domain::user::UserDecider, _>(&state.commands, &stream).await?;
            issue(auth, &user_id, &user, refreshed, replacement, false)
        }
        Some(UserEvent::TokenReuseDetected { session, .. }) => {
            auth.revoke(session);
            Err(Problem::new(
                ProblemKind::TokenReused,
                "this refresh token was already used; the session is revoked, sign in again",
            ))
        }
        _ => Err(Problem::new(ProblemKind::Unauthorized, "refresh token unknown, expired or revoked")),
    }
}

/// Ends the session of a refresh token (its access tokens stop working at once).
pub async fn sign_out(state: &AppState, req: RefreshRequest) -> Result<(), Problem> {
    let (user_id, session) = token_parts(&req.refresh_token)?;
    let (_, stream) = users::canonical(&user_id)?;
    let (user, _) = aggregate::load::<domain::user::UserDecider, _>(&state.commands, &stream).await?;
    let presented = digest(&req.refresh_token);
    let Some(id) =
        user.access.sessions.iter().find(|(id, s)| **id == session && s.current == presented).map(|(id, _)| id.clone())
    else {
        return Err(Problem::new(ProblemKind::Unauthorized, "refresh token unknown, expired or revoked"));
    };
    let caller = Caller { actor: format!("user:{user_id}"), source: "http".into() };
    record(&state.commands, &user_id, UserCommand::SignOut { session: id.clone() }, &caller).await?;
    state.auth.revoke(&id);
    Ok(())
}
