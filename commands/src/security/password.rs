//! Passwords: Argon2id hashing (64 MiB, 3 iterations, parallelism 4 unless configured), run on
//! the blocking pool behind a semaphore so a flood of sign-ins queues instead of allocating
//! 64 MiB each; and the password policy ([`domain::password`]) with the breached list shipped
//! as data (`commands/data/breached-passwords.txt`).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// The breached-password list shipped as data (see the file's header for its source).
const BREACHED: &str = include_str!("../../data/breached-passwords.txt");

fn breached() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| BREACHED.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect())
}

/// Argon2id cost, from the environment (`CAIRN_ARGON2_MEMORY_KIB`, `CAIRN_ARGON2_ITERATIONS`,
/// `CAIRN_ARGON2_PARALLELISM`, `CAIRN_ARGON2_CONCURRENCY`) or the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; the rest wait.
    pub concurrency: usize,
}

impl Default for HashCost {
    fn default() -> Self {
        Self { memory_kib: 64 * 1024, iterations: 3, parallelism: 4, concurrency: 4 }
    }
}

#[derive(Debug, Clone)]
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// Self-registrations hash one at a time, on a permit of their own: however many arrive,
    /// they never take the permits sign-ins wait for.
    registration: Arc<Semaphore>,
    /// A hash of a random password with the same cost, verified against when the account does
    /// not exist so that an unknown email takes as long as a wrong password.
    decoy: Arc<String>,
}

impl Passwords {
    pub fn new(cost: HashCost) -> anyhow::Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("Argon2 parameters: {e}"))?;
        let decoy = hash_with(&params, &uuid::Uuid::new_v4().to_string())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cost.concurrency.max(1))),
            registration: Arc::new(Semaphore::new(1)),
            decoy: Arc::new(decoy),
        })
    }

    /// Checks the policy ([`domain::password::policy`], against the shipped breached list):
    /// `Err` names what is wrong.
    pub fn policy(password: &str, email: &str) -> Result<(), String> {
        domain::password::policy(password, email, breached())
    }

    /// The Argon2id hash of `password` (PHC string with a fresh salt).
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// [`Passwords::hash`] for a self-registration, on the registrations' own permit.
    pub async fn hash_for_registration(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.registration.acquire().await?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// Whether `password` matches `phc`. With no hash (unknown user), checks a decoy so the
    /// answer takes as long, and is false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else { return false };
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.decoy.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false);
        ok && known
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

impl HashCost {
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let var = |name: &str, default: u32| -> anyhow::Result<u32> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().map_err(|_| anyhow::anyhow!("{name}: {v:?} is not a whole number")),
                Err(_) => Ok(default),
            }
        };
        Ok(Self {
            memory_kib: var("CAIRN_ARGON2_MEMORY_KIB", d.memory_kib)?,
            iterations: var("CAIRN_ARGON2_ITERATIONS", d.iterations)?,
            parallelism: var("CAIRN_ARGON2_PARALLELISM", d.parallelism)?,
            concurrency: var("CAIRN_ARGON2_CONCURRENCY", d.concurrency as u32)? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_breached_and_email_passwords() {
        assert_eq!(Passwords::policy("short", "a@b.c").unwrap_err(), "must be at least 12 characters");
        assert!(Passwords::policy("qwerty123456", "a@b.c").unwrap_err().contains("breached"));
        assert!(Passwords::policy("QWERTY123456", "a@b.c").unwrap_err().contains("breached"), "case-insensitive");
        assert!(Passwords::policy("alice-is-great-2026", "alice@example.com").unwrap_err().contains("email"));
        assert!(Passwords::policy("aaaaaaaaaaaaaaaa", "x@y.z").is_err());
        assert!(Passwords::policy("correct horse battery staple", "alice@example.com").is_ok());
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_with_the_configured_cost_and_verifies_only_its_password() {
        let cost = HashCost { memory_kib: 8 * 1024, iterations: 2, parallelism: 1, concurrency: 1 };
        let p = Passwords::new(cost).unwrap();
        let hash = p.hash("correct horse battery staple".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"), "{hash}");
        assert!(p.verify("correct horse battery staple".into(), Some(hash.clone())).await);
        assert!(!p.verify("correct horse battery stapler".into(), Some(hash)).await);
        assert!(!p.verify("anything".into(), None).await, "an unknown user never verifies");
        assert_eq!(HashCost::default(), HashCost { memory_kib: 65536, iterations: 3, parallelism: 4, concurrency: 4 });
    }
}
