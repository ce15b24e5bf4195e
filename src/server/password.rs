//! Password hashing with argon2id, off the async runtime's threads.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use secrecy::{ExposeSecret, SecretString};

/// A PHC string (`$argon2id$...`) for `password`.
pub async fn hash(password: SecretString) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing failed: {e}"))
    })
    .await
    .map_err(|e| format!("hashing task failed: {e}"))?
}

/// Whether `password` matches `phc`. With `phc = None` it still spends the
/// same time, so an unknown username cannot be told from a wrong password.
pub async fn verify(password: SecretString, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
            && phc != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

/// The hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4E8zXz0iP+0gSYTKXfN8BDUzEjOc5Rk5cWzK0ylVWWs";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let phc = hash(SecretString::from("Keyport-demo-1")).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(SecretString::from("Keyport-demo-1"), Some(phc.clone())).await);
        assert!(!verify(SecretString::from("keyport-demo-1"), Some(phc)).await);
        assert!(!verify(SecretString::from("anything"), None).await);
    }
}
