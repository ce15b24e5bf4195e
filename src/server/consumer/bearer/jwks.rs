//! The JWKS side of bearer tokens: the usable keys of a JWKS document
//! ([`KeySet`]) and the per-server cache that fetches them ([`JwksCache`],
//! at most once per server per [`MIN_REFRESH`]).

use super::{FETCH_TIMEOUT, KEYS_MAX_AGE, KEYS_MAX_STALE, MIN_REFRESH, MIN_RSA_BITS, Rejected};
use crate::server::oauth::get_jwks_document;
use crate::server::outbound::FetchError;
use crate::server::state::AppState;
use crate::server::store::OAuthRow;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A verification key of a JWKS: its `kid` and the one algorithm it is for.
struct VerifyKey {
    kid: String,
    alg: Algorithm,
    key: DecodingKey,
}

/// The usable keys of one JWKS document.
#[derive(Default)]
pub(super) struct KeySet(Vec<VerifyKey>);

impl KeySet {
    /// The keys of a JWKS document that can verify an accepted algorithm:
    /// RSA keys of at least 2048 bits (RS256) and P-256 keys (ES256), each
    /// with a `kid`, not marked for another use or another algorithm.
    /// Other keys are skipped, not refused: a JWKS may list encryption keys.
    pub(super) fn parse(body: &[u8]) -> Result<KeySet, &'static str> {
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "the JWKS is not valid JSON.")?;
        let keys = doc
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or("the JWKS has no \"keys\" list.")?;
        Ok(KeySet(
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter_map(|jwk| verify_key(&jwk))
                .collect(),
        ))
    }

    /// The key named `kid` for `alg`.
    /// The `kid` of each usable key, in the document's order.
    #[cfg(test)]
    pub(super) fn kids(&self) -> Vec<&str> {
        self.0.iter().map(|k| k.kid.as_str()).collect()
    }

    pub(super) fn find(&self, kid: &str, alg: Algorithm) -> Result<&DecodingKey, Rejected> {
        let mut named = self.0.iter().filter(|k| k.kid == kid).peekable();
        if named.peek().is_none() {
            return Err(Rejected::UnknownKid);
        }
        named
            .find(|k| k.alg == alg)
            .map(|k| &k.key)
            .ok_or(Rejected::WrongKeyType)
    }

    fn has(&self, kid: &str) -> bool {
        self.0.iter().any(|k| k.kid == kid)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    let common = &jwk.common;
    let kid = common.key_id.clone()?;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let (alg, named) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    if common.key_algorithm.is_some_and(|a| a != named) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    if let DecodingKeyKind::RsaModulusExponent { n, .. } = key.kind() {
        let significant = n.iter().skip_while(|b| **b == 0).count();
        let bits = significant * 8
            - n.iter()
                .find(|b| **b != 0)
                .map_or(0, |b| b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return None;
        }
    }
    Some(VerifyKey { kid, alg, key })
}

/// The JWKS keys of each server, by server id, for the JWKS location and
/// certificate setting they were fetched with (an edit of either starts
/// afresh). Only keys are kept: whether a server is enabled is read from
/// the database on every call. Entries of deleted servers stay until the
/// process ends; there are at most as many as servers ever used here.
pub struct JwksCache {
    min_refresh: Duration,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
}

struct Slot {
    jwks_url: String,
    validate_cert: bool,
    cached: Mutex<Cached>,
    /// Held while fetching: one fetch per server at a time.
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    fn cached(&self) -> MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Cached {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    /// Why the last attempt failed (a sentence for the caller), if it did.
    last_error: Option<String>,
}

impl Cached {
    fn younger_than(&self, age: Duration) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() < age)
    }

    /// The keys if they may still verify, else why there are none.
    fn usable(&self) -> Result<Arc<KeySet>, String> {
        if self.younger_than(KEYS_MAX_STALE) {
            Ok(self.keys.clone())
        } else {
            Err(self
                .last_error
                .clone()
                .unwrap_or_else(|| "they were not fetched yet.".to_owned()))
        }
    }
}

impl Default for JwksCache {
    fn default() -> Self {
        JwksCache::new(MIN_REFRESH)
    }
}

impl JwksCache {
    /// A cache that fetches a server's JWKS at most once per `min_refresh`.
    pub fn new(min_refresh: Duration) -> Self {
        JwksCache {
            min_refresh,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, server: &OAuthRow) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let url = server.jwks_url.trim();
        let validate_cert = server.validate_cert.0;
        match slots.get(&server.id) {
            Some(slot) if slot.jwks_url == url && slot.validate_cert == validate_cert => {
                slot.clone()
            }
            _ => {
                let slot = Arc::new(Slot {
                    jwks_url: url.to_owned(),
                    validate_cert,
                    cached: Mutex::new(Cached::default()),
                    refresh: tokio::sync::Mutex::new(()),
                });
                slots.insert(server.id, slot.clone());
                slot
            }
        }
    }

    /// The server's keys, fetched first if none has `kid` or they are older
    /// than [`KEYS_MAX_AGE`] — unless the last fetch was started less than
    /// `min_refresh` ago. `Err` (a sentence) when no usable keys can be had.
    pub(super) async fn keys(
        &self,
        state: &AppState,
        server: &OAuthRow,
        kid: &str,
    ) -> Result<Arc<KeySet>, String> {
        let slot = self.slot(server);
        let known = {
            let cached = slot.cached();
            if cached.younger_than(KEYS_MAX_AGE) && cached.keys.has(kid) {
                return Ok(cached.keys.clone());
            }
            cached.younger_than(KEYS_MAX_STALE) && cached.keys.has(kid)
        };
        // A known key past its age is used while another call refreshes.
        let _refreshing = if known {
            match slot.refresh.try_lock() {
                Ok(guard) => guard,
                Err(_) => return slot.cached().usable(),
            }
        } else {
            slot.refresh.lock().await
        };
        {
            let mut cached = slot.cached();
            if cached.younger_than(KEYS_MAX_AGE) && cached.keys.has(kid) {
                return Ok(cached.keys.clone());
            }
            if cached
                .attempted_at
                .is_some_and(|t| t.elapsed() < self.min_refresh)
            {
                return cached.usable();
            }
            cached.attempted_at = Some(Instant::now());
        }
        let fetched =
            get_jwks_document(state, &slot.jwks_url, slot.validate_cert, FETCH_TIMEOUT).await;
        let parsed = match fetched {
            Ok(body) => KeySet::parse(&body).map_err(str::to_owned),
            Err(e) => Err(fetch_error_sentence(e)),
        };
        let mut cached = slot.cached();
        match parsed {
            Ok(keys) => {
                tracing::info!(server = server.id, keys = keys.len(), "JWKS fetched");
                cached.keys = Arc::new(keys);
                cached.fetched_at = Some(Instant::now());
                cached.last_error = None;
            }
            Err(why) => {
                tracing::warn!(server = server.id, %why, "JWKS fetch for a bearer token failed");
                cached.last_error = Some(why);
            }
        }
        cached.usable()
    }
}

/// A [`FetchError`]'s sentence with a lower-case first letter, to follow
/// "… could not be fetched: "; it never carries the remote answer.
fn fetch_error_sentence(e: FetchError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}
