//! Where keys, owner sets, spent attestation nonces and quota counters live: the [`TenantStore`]
//! trait and the file-backed store.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::PoisonError,
    time::SystemTime,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::keys::KeyRecord;
use crate::owners::OwnerSet;

/// Why the store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("key store file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The stored data is not what this version writes.
    #[error("key store data is corrupt: {0}")]
    Corrupt(String),
    /// Redis failed or timed out.
    #[error("redis key store: {0}")]
    Redis(String),
}

/// Keys, owner sets, and the per-request records replicas must share (spent nonces, quota
/// counters). Owner sets are always addressed with their tenant, so a store can never hand one
/// tenant's set to another.
#[async_trait]
pub trait TenantStore: Send + Sync + std::fmt::Debug {
    /// `file`, `memory` or `redis`.
    fn backend(&self) -> &'static str;
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Adds a key record.
    async fn insert_key(&self, record: &KeyRecord) -> Result<(), StoreError>;
    /// The record of key `id`.
    async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError>;
    /// Every key record, revoked ones included.
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// Marks key `id` revoked at `at`; false when there is no such key.
    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Adds or replaces an owner set of its tenant.
    async fn put_owner_set(&self, set: &OwnerSet) -> Result<(), StoreError>;
    /// Owner set `id` of `tenant`; `None` also when it belongs to another tenant.
    async fn owner_set(&self, tenant: &str, id: &str) -> Result<Option<OwnerSet>, StoreError>;
    /// Every owner set of `tenant`.
    async fn owner_sets(&self, tenant: &str) -> Result<Vec<OwnerSet>, StoreError>;
    /// Deletes owner set `id` of `tenant`; false when `tenant` has no such set.
    async fn delete_owner_set(&self, tenant: &str, id: &str) -> Result<bool, StoreError>;
    /// Records an attestation nonce as spent until `expires_at`; false when it was already
    /// spent (a replay). With Redis every replica shares the record, so an attestation verified
    /// by one replica is a replay on all of them.
    async fn claim_nonce(&self, nonce: &str, expires_at: DateTime<Utc>)
    -> Result<bool, StoreError>;
    /// Counts one request of key `key_id` in quota window `window` (a UTC day, `2026-11-25`)
    /// and returns the window's count including this request.
    async fn count_request(&self, key_id: &str, window: &str) -> Result<u64, StoreError>;
}

/// What the file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    #[serde(default)]
    keys: BTreeMap<String, KeyRecord>,
    /// tenant → id → set.
    #[serde(default)]
    owner_sets: BTreeMap<String, BTreeMap<String, OwnerSet>>,
}

#[derive(Debug, Default)]
struct State {
    data: Data,
    /// Modification time and length of the file when it was last read, to notice writes by
    /// another process (`unimargin keys create` while the server runs).
    seen: Option<(SystemTime, u64)>,
}

/// A JSON file (`[auth] keys_file`), or memory only. Every change is written to a temporary file
/// and renamed over the old one, so a crash never leaves half a file; the file is re-read when
/// another process changed it.
///
/// Spent nonces and quota counters are kept in memory only: the file store serves one process
/// (the embedded default), so there is nobody to share them with, and they are not worth a
/// write per request. A restart forgets them; a replicated deployment uses Redis.
#[derive(Debug)]
pub struct FileStore {
    path: Option<PathBuf>,
    state: Mutex<State>,
    usage: std::sync::Mutex<Usage>,
}

/// Per-process records that change on every request.
#[derive(Debug, Default)]
struct Usage {
    /// Nonce → expiry.
    nonces: HashMap<String, DateTime<Utc>>,
    /// The current quota window and each key's count in it.
    window: String,
    counts: HashMap<String, u64>,
}

impl FileStore {
    /// A store in memory only (tests, and the open mode).
    pub fn in_memory() -> Self {
        Self {
            path: None,
            state: Mutex::new(State::default()),
            usage: Default::default(),
        }
    }

    /// The store in `path`, which is created on the first write if it does not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let store = Self {
            path: Some(path.into()),
            state: Mutex::new(State::default()),
            usage: Default::default(),
        };
        if let Some(path) = &store.path {
            let mut state = State::default();
            reload(path, &mut state)?;
            store
                .state
                .try_lock()
                .map(|mut s| *s = state)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        }
        Ok(store)
    }

    async fn read<T>(&self, f: impl FnOnce(&Data) -> T) -> Result<T, StoreError> {
        let mut state = self.state.lock().await;
        if let Some(path) = &self.path {
            reload(path, &mut state)?;
        }
        Ok(f(&state.data))
    }

    async fn write<T>(&self, f: impl FnOnce(&mut Data) -> T) -> Result<T, StoreError> {
        let mut state = self.state.lock().await;
        if let Some(path) = &self.path {
            reload(path, &mut state)?;
        }
        let out = f(&mut state.data);
        if let Some(path) = &self.path {
            persist(path, &state.data)?;
            state.seen = stamp(path);
        }
        Ok(out)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn reload(path: &Path, state: &mut State) -> Result<(), StoreError> {
    let now = stamp(path);
    if now.is_none() || now == state.seen {
        // No file yet (nothing stored), or unchanged since the last read.
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    state.data = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))?;
    state.seen = now;
    Ok(())
}

fn persist(path: &Path, data: &Data) -> Result<(), StoreError> {
    let text =
        serde_json::to_string_pretty(data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            // Hashes only, but still nobody else's business.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(text.as_bytes()).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[async_trait]
impl TenantStore for FileStore {
    fn backend(&self) -> &'static str {
        if self.path.is_some() {
            "file"
        } else {
            "memory"
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|_| ()).await
    }

    async fn insert_key(&self, record: &KeyRecord) -> Result<(), StoreError> {
        self.write(|d| {
            d.keys.insert(record.id.clone(), record.clone());
        })
        .await
    }

    async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.read(|d| d.keys.get(id).cloned()).await
    }

    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.read(|d| d.keys.values().cloned().collect()).await
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(|d| match d.keys.get_mut(id) {
            Some(record) => {
                record.revoked_at.get_or_insert(at);
                true
            }
            None => false,
        })
        .await
    }

    async fn put_owner_set(&self, set: &OwnerSet) -> Result<(), StoreError> {
        self.write(|d| {
            d.owner_sets
                .entry(set.tenant.clone())
                .or_default()
                .insert(set.id.clone(), set.clone());
        })
        .await
    }

    async fn owner_set(&self, tenant: &str, id: &str) -> Result<Option<OwnerSet>, StoreError> {
        self.read(|d| {
            d.owner_sets
                .get(tenant)
                .and_then(|sets| sets.get(id))
                .cloned()
        })
        .await
    }

    async fn owner_sets(&self, tenant: &str) -> Result<Vec<OwnerSet>, StoreError> {
        self.read(|d| {
            d.owner_sets
                .get(tenant)
                .map(|s| s.values().cloned().collect())
                .unwrap_or_default()
        })
        .await
    }

    async fn delete_owner_set(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        self.write(|d| {
            d.owner_sets
                .get_mut(tenant)
                .and_then(|sets| sets.remove(id))
                .is_some()
        })
        .await
    }

    async fn claim_nonce(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // A poisoned lock only means another request panicked; the maps are still usable.
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Utc::now();
        usage.nonces.retain(|_, expires| *expires > now);
        Ok(usage.nonces.insert(nonce.to_owned(), expires_at).is_none())
    }

    async fn count_request(&self, key_id: &str, window: &str) -> Result<u64, StoreError> {
        let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
        if usage.window != window {
            usage.window = window.to_owned();
            usage.counts.clear();
        }
        let count = usage.counts.entry(key_id.to_owned()).or_insert(0);
        *count += 1;
        Ok(*count)
    }
}
