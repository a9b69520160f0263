//! The embedded, in-process cache.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::{Cache, CacheError, CacheKey};

/// Entries live at most this long, whatever TTL is asked for, so that an expiry instant can always
/// be computed (a `Duration::MAX` TTL would overflow `Instant`).
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// The embedded default cache: a bounded map in process memory, with a TTL per entry.
///
/// Bounded by entry count because snapshots are roughly the same size and an unbounded cache is a
/// memory leak keyed by every account ever asked about. When full, an insertion first drops expired
/// entries, then the oldest insertion (overwriting a key counts as a new insertion). Expired
/// entries are otherwise dropped lazily, when read or when room is needed; see
/// [`MemoryCache::purge_expired`] for an eager sweep.
///
/// All state sits behind one `std` mutex that is never held across an `.await` (every operation
/// is synchronous inside), which is cheaper than an async lock for sub-microsecond sections.
/// Time is read from `tokio::time::Instant`, so tests can pause and advance the clock.
#[derive(Debug)]
pub struct MemoryCache {
    max_entries: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<CacheKey, Entry>,
    /// Insertion sequence number → key, oldest first: the eviction order.
    by_insertion: BTreeMap<u64, CacheKey>,
    /// (expiry, insertion sequence number), soonest first: what to drop first when full.
    by_expiry: BTreeSet<(Instant, u64)>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Instant,
    seq: u64,
}

impl MemoryCache {
    /// The bound used by [`MemoryCache::default`].
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

    /// A cache holding at most `max_entries` entries. Zero disables storing altogether (every
    /// `get` misses), which is a valid way to run without a cache.
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            state: Mutex::new(State::default()),
        }
    }

    /// The configured bound.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// How many entries are held, including expired ones not yet dropped.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired entry now and returns how many were dropped. Optional: expired entries
    /// are never returned and are dropped when room is needed anyway; a periodic sweep only
    /// returns their memory sooner.
    pub fn purge_expired(&self) -> usize {
        let now = Instant::now();
        self.lock().purge_expired(now)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot have left the maps half-updated (nothing in the
        // critical sections panics), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_ENTRIES)
    }
}

impl State {
    fn remove(&mut self, key: &CacheKey) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.by_insertion.remove(&entry.seq);
        self.by_expiry.remove(&(entry.expires_at, entry.seq));
        Some(entry)
    }

    fn remove_seq(&mut self, seq: u64) {
        if let Some(key) = self.by_insertion.get(&seq).cloned() {
            self.remove(&key);
        }
    }

    fn purge_expired(&mut self, now: Instant) -> usize {
        let mut purged = 0;
        while let Some(&(expires_at, seq)) = self.by_expiry.first() {
            if expires_at > now {
                break;
            }
            self.remove_seq(seq);
            purged += 1;
        }
        purged
    }

    fn evict_oldest(&mut self) {
        if let Some((&seq, _)) = self.by_insertion.first_key_value() {
            self.remove_seq(seq);
        }
    }

    fn insert(&mut self, key: CacheKey, value: Vec<u8>, expires_at: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_insertion.insert(seq, key.clone());
        self.by_expiry.insert((expires_at, seq));
        self.entries.insert(
            key,
            Entry {
                value,
                expires_at,
                seq,
            },
        );
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        let now = Instant::now();
        let mut state = self.lock();
        match state.entries.get(key) {
            Some(entry) if entry.expires_at > now => Ok(Some(entry.value.clone())),
            Some(_) => {
                state.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn put(&self, key: &CacheKey, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() || self.max_entries == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let Some(expires_at) = now.checked_add(ttl.min(MAX_TTL)) else {
            // Only reachable on a clock near its end of range: not caching is the safe answer.
            return Ok(());
        };
        // Copy before taking the lock, to keep the critical section short.
        let value = value.to_vec();
        let mut state = self.lock();
        if state.remove(key).is_none() && state.entries.len() >= self.max_entries {
            state.purge_expired(now);
            while state.entries.len() >= self.max_entries {
                state.evict_oldest();
            }
        }
        state.insert(key.clone(), value, expires_at);
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}
