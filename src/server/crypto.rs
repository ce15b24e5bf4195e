//! Secrets at rest (docs/SECURITY.md#secrets-at-rest-servercryptors): generation from the OS CSPRNG, sealing
//! with AES-256-GCM so admins can reveal them, and an HMAC-SHA-256 digest so
//! a presented secret can be found without decrypting every row.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

/// Length of a sandbox token (A-Z a-z 0-9).
pub const TOKEN_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// Why the master key could not be had. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("KEYPORT_MASTER_KEY must be 64 hexadecimal characters (32 bytes)")]
    BadEnvKey,
    #[error("master key file {0} must hold 64 hexadecimal characters")]
    BadKeyFile(String),
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Encryption failed (it cannot for secrets of our size; an error all the same).
#[derive(Debug, thiserror::Error)]
#[error("sealing a secret failed")]
pub struct SealError;

impl From<SealError> for crate::error::AppError {
    fn from(e: SealError) -> Self {
        tracing::error!(error = %e, "crypto error");
        crate::error::AppError::internal()
    }
}

/// The keys derived from the configured master key.
pub struct Secrets {
    cipher: Aes256Gcm,
    /// Keyed once; cloned for each digest.
    mac: Hmac<Sha256>,
    fingerprint: String,
}

impl Secrets {
    /// Derives the encryption and digest keys from a 32-byte master key, so
    /// that the same bytes are never used for two purposes.
    pub fn from_master(master: &[u8; 32]) -> Self {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = hmac_with(master);
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        let enc_key = derive(b"keyport/v1/seal");
        Secrets {
            cipher: Aes256Gcm::new(&enc_key.into()),
            mac: hmac_with(&derive(b"keyport/v1/digest")),
            fingerprint: hex::encode(&derive(b"keyport/v1/fingerprint")[..8]),
        }
    }

    /// Identifies the master key without revealing it. Stored in the
    /// database, so that starting with another key is noticed.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Loads the master key from `KEYPORT_MASTER_KEY` (hex) if given, else
    /// from `key_file`, creating it (mode 0600) on first start.
    pub fn load(env_key: Option<&SecretString>, key_file: &Path) -> Result<Self, KeyError> {
        if let Some(hex_key) = env_key {
            let bytes = parse_key(hex_key.expose_secret()).ok_or(KeyError::BadEnvKey)?;
            return Ok(Self::from_master(&bytes));
        }
        let io = |source| KeyError::Io {
            path: key_file.display().to_string(),
            source,
        };
        match std::fs::read_to_string(key_file) {
            Ok(text) => {
                let bytes = parse_key(&text)
                    .ok_or_else(|| KeyError::BadKeyFile(key_file.display().to_string()))?;
                tighten_key_file(key_file);
                Ok(Self::from_master(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut master = [0u8; 32];
                OsRng.fill_bytes(&mut master);
                write_new_key_file(key_file, &hex::encode(master)).map_err(io)?;
                tracing::info!(path = %key_file.display(), "created a new master key file");
                Ok(Self::from_master(&master))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seals `plaintext`; `context` binds the ciphertext to its use (a row
    /// sealed for one purpose cannot be replayed for another).
    pub fn seal(&self, plaintext: &SecretString, context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext.expose_secret().as_bytes(),
            aad: context,
        };
        // AES-GCM fails only for messages over 64 GiB; secrets are 12 to 32 bytes.
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| SealError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Secrets::seal`] made; `None` if it was tampered with or
    /// sealed under another key.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Option<SecretString> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, msg) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg, aad: context })
            .ok()?;
        String::from_utf8(plain).ok().map(SecretString::from)
    }

    /// The keyed digest used to look a presented secret up.
    pub fn digest(&self, secret: &str) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Constant-time check that `secret` has the stored `digest`.
    pub fn verify(&self, secret: &str, digest: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.digest(secret).ct_eq(digest).into()
    }
}

/// HMAC-SHA-256 keyed with a 32-byte key. HMAC zero-pads keys shorter than
/// its 64-byte block, so padding here gives the same MAC, infallibly.
fn hmac_with(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

/// A new random secret of `len` characters from A-Z a-z 0-9.
pub fn generate_secret(len: usize) -> SecretString {
    let s: String = OsRng
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    SecretString::from(s)
}

/// The last four characters, the only part of a secret ever shown masked.
pub fn last4(secret: &SecretString) -> String {
    let s = secret.expose_secret();
    s[s.len().saturating_sub(4)..].to_owned()
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

/// An existing key file readable by others is made owner-only (0600).
fn tighten_key_file(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let loose = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
    if loose && let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    {
        tracing::warn!(path = %path.display(), error = %e, "could not make the master key file 0600");
    }
}

fn write_new_key_file(path: &Path, hex_key: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(hex_key.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::from_master(&[7u8; 32])
    }

    #[test]
    fn generated_secrets_are_alphanumeric_and_distinct() {
        let a = generate_secret(TOKEN_LEN);
        let b = generate_secret(TOKEN_LEN);
        assert_eq!(a.expose_secret().len(), 32);
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn seal_round_trips_and_binds_context() {
        let s = secrets();
        let secret = SecretString::from("abcdEFGH1234");
        let sealed = s.seal(&secret, b"sandbox").unwrap();
        assert!(
            !sealed.windows(12).any(|w| w == b"abcdEFGH1234"),
            "plaintext must not appear"
        );
        assert_eq!(
            s.open(&sealed, b"sandbox")
                .map(|x| x.expose_secret().to_owned())
                .as_deref(),
            Some("abcdEFGH1234")
        );
        assert!(s.open(&sealed, b"other").is_none());
        assert!(
            Secrets::from_master(&[8u8; 32])
                .open(&sealed, b"sandbox")
                .is_none()
        );
    }

    #[test]
    fn padded_key_gives_the_standard_hmac() {
        let key = [3u8; 32];
        let mut standard = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        standard.update(b"x");
        let mut ours = hmac_with(&key);
        ours.update(b"x");
        assert_eq!(
            standard.finalize().into_bytes(),
            ours.finalize().into_bytes()
        );
    }

    #[test]
    fn digest_is_keyed_and_verifies() {
        let s = secrets();
        let d = s.digest("token");
        assert!(s.verify("token", &d));
        assert!(!s.verify("token2", &d));
        assert_ne!(Secrets::from_master(&[8u8; 32]).digest("token"), d);
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = Secrets::load(None, &path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = first.seal(&SecretString::from("x"), b"c").unwrap();
        let second = Secrets::load(None, &path).unwrap();
        assert!(second.open(&sealed, b"c").is_some());
    }

    #[test]
    fn env_key_must_be_64_hex() {
        let dir = tempfile::tempdir().unwrap();
        let bad = SecretString::from("abc");
        assert!(Secrets::load(Some(&bad), &dir.path().join("k")).is_err());
        let good = SecretString::from("11".repeat(32));
        assert!(Secrets::load(Some(&good), &dir.path().join("k")).is_ok());
    }
}
