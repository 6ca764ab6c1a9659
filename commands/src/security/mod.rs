//! Secrets: [`vault`] seals personal data with per-user data keys wrapped by the master key;
//! [`password`] hashes passwords (Argon2id) and checks the policy; [`totp`] is RFC 6238
//! one-time codes (and base32) for multi-factor sign-in.

pub mod password;
pub mod totp;
pub mod vault;
