//! The cache in front of margin-profile computation: one [`Cache`] trait, two backends and a
//! fail-open wrapper.
//!
//! # What it owns
//!
//! - [`CacheKey`]: the only way to name a cached value. Keys are built by typed constructors
//!   ([`CacheKey::snapshot`]) that take every part (chain, block number and hash, protocol, market,
//!   account), so a new block is a natural miss and no caller can forget a part.
//! - [`Cache`]: a byte-level get/put-with-TTL interface. Values are opaque here; the server stores
//!   serialized JSON snapshots.
//! - [`MemoryCache`]: the embedded default, bounded by entry count, TTL per entry.
//! - [`RedisCache`]: a shared cache on Redis through `redis`'s `ConnectionManager`; every command
//!   is bounded by a timeout, so an outage costs at most that timeout and never hangs a request.
//! - [`ResilientCache`]: wraps any [`Cache`] and turns backend errors into misses and no-op puts,
//!   so a Redis outage degrades the service to direct reads, never to an error or a wrong answer.
//! - `testkit` (cargo feature `testkit`): starts a private `redis-server` for tests.
//!
//! # What it may depend on
//!
//! Only external crates (`redis`, `tokio`, `tracing`, …). It never depends on another `unimargin-*`
//! crate: the server composes it, and nothing here knows what a snapshot contains.
//!
//! # How to test it
//!
//! `cargo test -p unimargin-cache`. The integration tests (`tests/it/`) start their own
//! `redis-server` on free loopback ports (never the machine's Redis on 6379); the binary is taken
//! from `UNIMARGIN_REDIS_SERVER` or from `PATH` (`apt-get install redis-server`), and the tests fail
//! with that hint when it is missing.

mod error;
mod key;
mod memory;
mod redis_cache;
mod resilient;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::time::Duration;

use async_trait::async_trait;
use auto_impl::auto_impl;

pub use error::{BoxError, CacheError, Result};
pub use key::CacheKey;
pub use memory::MemoryCache;
pub use redis_cache::{RedisCache, RedisOptions};
pub use resilient::ResilientCache;

/// Byte-level cache; values are opaque (the server stores serialized JSON snapshots).
///
/// One trait for every backend so the server picks memory or Redis from its configuration and
/// holds an `Arc<dyn Cache>`; the `auto_impl` lets `Arc`s and `Box`es of a cache be used wherever
/// a cache is expected (for instance `ResilientCache<Arc<RedisCache>>`). Because of the `'static`
/// bound, which lets generic code spawn tasks holding a cache, the `&` impl only covers
/// `&'static` references: share a cache through `Arc`.
#[async_trait]
#[auto_impl(&, Arc, Box)]
pub trait Cache: Send + Sync + 'static {
    /// Returns the value stored under `key`, or `None` when it is absent or expired.
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    ///
    /// A zero `ttl` stores nothing (the entry would be expired at once) and returns `Ok(())`.
    async fn put(&self, key: &CacheKey, value: &[u8], ttl: Duration) -> Result<(), CacheError>;

    /// Short name for logs/metrics/health: "memory" or "redis".
    fn backend(&self) -> &'static str;

    /// Cheap liveness probe (used by /readyz); memory always Ok.
    async fn ping(&self) -> Result<(), CacheError>;
}
