//! Access tokens: EdDSA (Ed25519) JWTs valid for 15 minutes, with `jti`, issuer, audience and
//! not-before. Only `EdDSA` is accepted, so `alg: none` and algorithm swaps (an HMAC token
//! "signed" with the public key) fail before any signature check. The key pair is generated
//! on first start into the data directory (PKCS#8 PEM, mode 0600) or loaded from a file named
//! by `CAIRN_JWT_KEY_FILE`.

use std::path::Path;

use chrono::Utc;
use domain::user::Role;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// Clock skew tolerated on a token's expiry and not-before: a few seconds, so an expired token
/// stops working when it says it does.
pub const LEEWAY_SECONDS: u64 = 5;

/// Lifetime of an access token.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
pub const ISSUER: &str = "cairn";
pub const AUDIENCE: &str = "cairn-api";

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The session (refresh-token family) the token was issued in.
    pub sid: String,
    pub roles: Vec<Role>,
    /// A client's own household.
    pub household: Option<String>,
    /// An advisor's assigned households.
    pub households: Vec<String>,
}

/// The signing key pair.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Signs device cookies: derived from the signing key, so it needs no file of its own.
    device_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(redacted)")
    }
}

/// The PKCS#8 PEM of the Ed25519 private key in `path`, created (mode 0600, its folder too)
/// with a fresh key when the file is missing. The token key and the audit key are such files.
pub fn signing_key_file(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(pem) => Ok(pem),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let signing = SigningKey::generate(&mut rand::rngs::OsRng);
            let pem = signing
                .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            std::io::Write::write_all(&mut file, pem.as_bytes())?;
            Ok(pem.to_string())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

impl Keys {
    /// From an Ed25519 private key in PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 key: {e}"))?;
        let der = signing.to_pkcs8_der().map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?;
        let device_key: [u8; 32] = sha2::Sha256::new()
            .chain_update(b"cairn device cookie v1\0")
            .chain_update(signing.to_bytes())
            .finalize()
            .into();
        Ok(Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(signing.verifying_key().as_bytes()),
            device_key,
        })
    }

    /// The value of a device cookie naming `device` for `user`: `<device>.<HMAC-SHA-256 of the
    /// user and the device>`, so it cannot be forged, nor moved to another account.
    pub fn device_cookie(&self, user: &str, device: &str) -> String {
        format!("{device}.{}", hex::encode(hmac::Mac::finalize(self.device_mac(user, device)).into_bytes()))
    }

    /// The device a cookie value names, if it was made by [`Keys::device_cookie`] for `user`
    /// (checked in constant time).
    pub fn device_of(&self, user: &str, cookie: &str) -> Option<String> {
        let (device, mac) = cookie.rsplit_once('.')?;
        let mac = hex::decode(mac).ok()?;
        hmac::Mac::verify_slice(self.device_mac(user, device), &mac).is_ok().then(|| device.to_owned())
    }

    fn device_mac(&self, user: &str, device: &str) -> hmac::Hmac<sha2::Sha256> {
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.device_key).expect("any key length");
        hmac::Mac::update(&mut mac, user.as_bytes());
        hmac::Mac::update(&mut mac, b"|");
        hmac::Mac::update(&mut mac, device.as_bytes());
        mac
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key pair when missing.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        Self::from_pem(&signing_key_file(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &self.encoding)?)
    }

    /// Checks signature, algorithm, issuer, audience, expiry and not-before ([`LEEWAY_SECONDS`]
    /// for clock skew); `Err` says which failed, in words of its own (never the library's).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.leeway = LEEWAY_SECONDS;
        v.validate_nbf = true;
        v.set_audience(&[AUDIENCE]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => "the token has expired".to_owned(),
                K::ImmatureSignature => "the token is not valid yet".to_owned(),
                K::InvalidAudience => "the token is for another audience".to_owned(),
                K::InvalidIssuer => "the token is from another issuer".to_owned(),
                K::InvalidAlgorithm => "the token's algorithm is not accepted".to_owned(),
                K::InvalidSignature => "the token's signature does not verify".to_owned(),
                K::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
                _ => "the token is malformed".to_owned(),
            }
        })
    }
}

impl Claims {
    /// Fresh claims for a user, valid from now for [`ACCESS_TOKEN_SECONDS`].
    pub fn new(
        user_id: &str,
        session: &str,
        roles: Vec<Role>,
        household: Option<String>,
        households: Vec<String>,
    ) -> Self {
        let now = Utc::now().timestamp();
        Self {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session.into(),
            roles,
            household,
            households,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn keys() -> Keys {
        let pem = SigningKey::from_bytes(&[7; 32])
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        Keys::from_pem(&pem).unwrap()
    }

    fn claims() -> Claims {
        Claims::new("u1", "s1", vec![Role::Client], Some("smith".into()), vec![])
    }

    fn b64(v: &serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn a_signed_token_verifies_and_carries_its_claims() {
        let k = keys();
        let c = claims();
        assert_eq!(k.verify(&k.sign(&c).unwrap()).unwrap(), c);
    }

    #[test]
    fn alg_none_is_refused() {
        let k = keys();
        let token = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
            b64(&serde_json::to_value(claims()).unwrap())
        );
        assert!(k.verify(&token).is_err());
    }

    #[test]
    fn an_hmac_token_keyed_with_the_public_key_is_refused() {
        let k = keys();
        let public = SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
        let forged =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &EncodingKey::from_secret(&public))
                .unwrap();
        assert_eq!(k.verify(&forged).unwrap_err(), "the token's algorithm is not accepted");
    }

    #[test]
    fn expired_not_yet_valid_wrong_audience_and_foreign_keys_are_refused() {
        let k = keys();
        let now = Utc::now().timestamp();
        let expired = Claims { exp: now - 120, iat: now - 1000, nbf: now - 1000, ..claims() };
        assert_eq!(k.verify(&k.sign(&expired).unwrap()).unwrap_err(), "the token has expired");
        let early = Claims { nbf: now + 3600, exp: now + 7200, ..claims() };
        assert_eq!(k.verify(&k.sign(&early).unwrap()).unwrap_err(), "the token is not valid yet");
        let other = Claims { aud: "someone-else".into(), ..claims() };
        assert_eq!(k.verify(&k.sign(&other).unwrap()).unwrap_err(), "the token is for another audience");
        let pem = SigningKey::from_bytes(&[8; 32])
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        let stranger = Keys::from_pem(&pem).unwrap();
        assert_eq!(k.verify(&stranger.sign(&claims()).unwrap()).unwrap_err(), "the token's signature does not verify");
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/jwt-ed25519.pem");
        let a = Keys::load_or_create(&path).unwrap();
        let token = a.sign(&claims()).unwrap();
        let b = Keys::load_or_create(&path).unwrap();
        assert!(b.verify(&token).is_ok(), "the second start loads the same key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
