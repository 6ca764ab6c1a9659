//! Per-subject encryption: each subject (a user) gets its own AES-256 data key, stored wrapped
//! (AES-256-GCM) by the master key in the store's `data_keys` table. Personal data is sealed
//! with the data key before it enters an event. Destroying the data key (crypto-shredding)
//! leaves every event in place and verifiable while making the personal data unreadable.

use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use domain::user::Sealed;
use event_store::{Store, StoredKey};

use crate::CommandError;

/// The master key that wraps every data key. Never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

impl MasterKey {
    /// From 64 hexadecimal characters.
    pub fn from_hex(hex_key: &str) -> Result<Self, CommandError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CommandError::invalid("master key", "not hexadecimal"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CommandError::invalid("master key", "must be 32 bytes (64 hex characters)"))?;
        Ok(Self(key))
    }

    /// Reads the key file, or creates it with a fresh random key (mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<Self, CommandError> {
        let io =
            |e: std::io::Error| CommandError::invalid(&format!("master key file {}", path.display()), e.to_string());
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let key: [u8; 32] = Aes256Gcm::generate_key(&mut OsRng).into();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                std::io::Write::write_all(&mut file, hex::encode(key).as_bytes()).map_err(io)?;
                Ok(Self(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }
}

fn seal_with(cipher: &Aes256Gcm, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, CommandError> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(&nonce, Payload { msg: plaintext, aad })
        .map_err(|_| CommandError::invalid("", "encryption failed"))?;
    Ok(Sealed { nonce: nonce.to_vec(), ciphertext })
}

fn open_with(cipher: &Aes256Gcm, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, CommandError> {
    if sealed.nonce.len() != 12 {
        return Err(CommandError::invalid("sealed data", "bad nonce"));
    }
    cipher.decrypt(Nonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad }).map_err(|_| {
        CommandError::invalid("", "sealed data does not open with this key (wrong master key, or tampered)")
    })
}

/// Seals and opens subjects' data with their data keys.
#[derive(Debug, Clone)]
pub struct Vault {
    store: Store,
    master: MasterKey,
}

/// What opening a subject's data gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Plain(Vec<u8>),
    /// The subject's key was destroyed: the data is gone for good.
    Erased,
}

impl Vault {
    pub fn new(store: Store, master: MasterKey) -> Self {
        Self { store, master }
    }

    fn wrap_aad(subject: &str) -> Vec<u8> {
        format!("cairn-data-key:{subject}").into_bytes()
    }

    async fn data_key(&self, subject: &str, create: bool) -> Result<Option<Aes256Gcm>, CommandError> {
        let mut stored = self.store.data_key(subject).await?;
        if stored == StoredKey::Missing && create {
            let key = Aes256Gcm::generate_key(&mut OsRng);
            let wrapped = seal_with(&self.master.cipher(), &key, &Self::wrap_aad(subject))?;
            let mut bytes = wrapped.nonce;
            bytes.extend(wrapped.ciphertext);
            stored = self.store.put_data_key(subject, &bytes).await?;
        }
        match stored {
            StoredKey::Active(bytes) if bytes.len() > 12 => {
                let (nonce, ciphertext) = bytes.split_at(12);
                let sealed = Sealed { nonce: nonce.to_vec(), ciphertext: ciphertext.to_vec() };
                let key = open_with(&self.master.cipher(), &sealed, &Self::wrap_aad(subject))?;
                Ok(Some(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))))
            }
            StoredKey::Active(_) => Err(CommandError::invalid("", format!("data key of {subject} is malformed"))),
            StoredKey::Destroyed | StoredKey::Missing => Ok(None),
        }
    }

    /// Seals `plaintext` for `subject` (creating its data key on first use); `field` is bound
    /// in as associated data, so a sealed value cannot be moved to another field or subject.
    pub async fn seal(&self, subject: &str, field: &str, plaintext: &[u8]) -> Result<Sealed, CommandError> {
        let cipher = self
            .data_key(subject, true)
            .await?
            .ok_or_else(|| CommandError::invalid("", format!("{subject}: data was erased; nothing can be sealed")))?;
        seal_with(&cipher, plaintext, format!("{subject}:{field}").as_bytes())
    }

    pub async fn open(&self, subject: &str, field: &str, sealed: &Sealed) -> Result<Opened, CommandError> {
        match self.data_key(subject, false).await? {
            Some(cipher) => Ok(Opened::Plain(open_with(&cipher, sealed, format!("{subject}:{field}").as_bytes())?)),
            None => Ok(Opened::Erased),
        }
    }

    /// A keyed digest (HMAC-SHA-256 under a key derived from the master key) of `value` for
    /// looking a record up by a value that is itself kept sealed (a sign-in email): equal
    /// values give equal digests, and without the master key the digest reveals nothing.
    pub fn blind_index(&self, field: &str, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut derive = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.master.0).expect("any key length");
        derive.update(format!("cairn-blind-index:{field}").as_bytes());
        let key = derive.finalize().into_bytes();
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("any key length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Destroys the subject's data key (idempotent).
    pub async fn shred(&self, subject: &str) -> Result<(), CommandError> {
        Ok(self.store.destroy_data_key(subject).await?)
    }
}
