//! A session store wrapper that keeps only a one-way hash of each session
//! id, so the session table never holds a usable cookie value.
//!
//! The cookie carries the random id tower-sessions makes; [`HashedIds`]
//! stores, loads and deletes the row under SHA-256 of that id (truncated to
//! the id's 128 bits). Reading the table (a backup, a copied database file)
//! yields no id a browser could present. The record's serialised data
//! carries the hashed id as well, and `load` hands the caller's id back.
//!
//! The traits are `async_trait` ones; their methods are written out as the
//! boxed futures that macro would produce.

use super::store::flight::Flights;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// How often `create` draws a fresh id when the inner store had to change
/// the hashed one (a collision); 2^-128 odds make even one retry unlikely.
const CREATE_ATTEMPTS: usize = 8;

type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = session_store::Result<T>> + Send + 'a>>;

/// `S`, with every session id replaced by [`stored_id`] of it.
#[derive(Clone, Debug)]
pub struct HashedIds<S> {
    inner: S,
    /// Concurrent loads of one session share the read (`store::flight`).
    loads: Arc<Flights<Id, Option<Record>>>,
}

impl<S: SessionStore> HashedIds<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            loads: Arc::default(),
        }
    }

    /// The wrapped store (its rows are keyed by hashed ids).
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// The id a session is stored under: the first 128 bits of
/// SHA-256(`keyport-session-id\0` ‖ the cookie id's 16 bytes).
pub fn stored_id(id: &Id) -> Id {
    let digest = Sha256::new()
        .chain_update(b"keyport-session-id\0")
        .chain_update(id.0.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

/// `record` as stored: the same data under the hashed id.
fn hashed(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        data: record.data.clone(),
        expiry_date: record.expiry_date,
    }
}

impl<S: SessionStore> SessionStore for HashedIds<S> {
    fn create<'life0, 'life1, 'async_trait>(
        &'life0 self,
        record: &'life1 mut Record,
    ) -> StoreFuture<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            for _ in 0..CREATE_ATTEMPTS {
                let mut stored = hashed(record);
                let wanted = stored.id;
                self.inner.create(&mut stored).await?;
                if stored.id == wanted {
                    return Ok(());
                }
                // The inner store moved the row to an id of its own choosing,
                // which no cookie id hashes to: drop it and start again.
                self.inner.delete(&stored.id).await?;
                record.id = Id::default();
            }
            Err(session_store::Error::Backend(
                "could not create a session under a fresh id".to_owned(),
            ))
        })
    }

    fn save<'life0, 'life1, 'async_trait>(
        &'life0 self,
        record: &'life1 Record,
    ) -> StoreFuture<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.save(&hashed(record)).await })
    }

    fn load<'life0, 'life1, 'async_trait>(
        &'life0 self,
        session_id: &'life1 Id,
    ) -> StoreFuture<'async_trait, Option<Record>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let stored = stored_id(session_id);
            let (loaded, _) = self
                .loads
                .run(*session_id, |_| self.inner.load(&stored))
                .await?;
            Ok(loaded.map(|record| Record {
                id: *session_id,
                ..record
            }))
        })
    }

    fn delete<'life0, 'life1, 'async_trait>(
        &'life0 self,
        session_id: &'life1 Id,
    ) -> StoreFuture<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.delete(&stored_id(session_id)).await })
    }
}

/// Expiry is a column of its own, not part of the id: the inner store's
/// deletion works unchanged.
impl<S: ExpiredDeletion> ExpiredDeletion for HashedIds<S> {
    fn delete_expired<'life0, 'async_trait>(&'life0 self) -> StoreFuture<'async_trait, ()>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.delete_expired().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, OffsetDateTime};
    use tower_sessions::MemoryStore;

    fn record() -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("user".to_owned(), serde_json::json!("api@acme.example"));
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + Duration::minutes(30),
        }
    }

    #[test]
    fn the_stored_id_is_fixed_and_differs_from_the_cookie_id() {
        let id = Id(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(stored_id(&id), stored_id(&id));
        assert_ne!(stored_id(&id), id);
        assert_ne!(stored_id(&id), stored_id(&Id(id.0 + 1)));
    }

    #[tokio::test]
    async fn save_then_load_by_the_cookie_id() {
        let inner = MemoryStore::default();
        let store = HashedIds::new(inner.clone());
        let rec = record();
        store.save(&rec).await.unwrap();
        let loaded = store.load(&rec.id).await.unwrap().expect("the session");
        assert_eq!(loaded, rec);
        // Only the hash is a key of the inner store.
        assert!(inner.load(&rec.id).await.unwrap().is_none());
        let row = inner.load(&stored_id(&rec.id)).await.unwrap().expect("row");
        assert_eq!(row.id, stored_id(&rec.id));
        assert_eq!(row.data, rec.data);
    }

    #[tokio::test]
    async fn an_unknown_id_loads_nothing() {
        let store = HashedIds::new(MemoryStore::default());
        let rec = record();
        store.save(&rec).await.unwrap();
        // Presenting the stored (hashed) id as a cookie finds nothing.
        assert!(store.load(&stored_id(&rec.id)).await.unwrap().is_none());
        assert!(store.load(&Id::default()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn delete_removes_the_hashed_row() {
        let inner = MemoryStore::default();
        let store = HashedIds::new(inner.clone());
        let rec = record();
        store.save(&rec).await.unwrap();
        store.delete(&rec.id).await.unwrap();
        assert!(store.load(&rec.id).await.unwrap().is_none());
        assert!(inner.load(&stored_id(&rec.id)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn create_stores_under_the_hash_and_keeps_the_id() {
        let inner = MemoryStore::default();
        let store = HashedIds::new(inner.clone());
        let mut rec = record();
        let id = rec.id;
        store.create(&mut rec).await.unwrap();
        assert_eq!(rec.id, id);
        assert!(inner.load(&id).await.unwrap().is_none());
        assert!(inner.load(&stored_id(&id)).await.unwrap().is_some());
        assert_eq!(
            store.load(&id).await.unwrap().expect("session").data,
            rec.data
        );
    }

    #[tokio::test]
    async fn create_on_a_taken_hash_gives_a_fresh_id() {
        let inner = MemoryStore::default();
        let store = HashedIds::new(inner.clone());
        let first = record();
        store.save(&first).await.unwrap();
        // A second session whose cookie id hashes to the taken row.
        let mut second = record();
        second.id = first.id;
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id);
        // Both sessions load by their own cookie ids; the first is intact.
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first.clone()));
        assert!(store.load(&second.id).await.unwrap().is_some());
    }
}
