//! Tenants, API keys, owner sets and per-key rate limits.
//!
//! * [`keys`]: key generation (`um_<id>_<secret>`) and verification. Only `sha256(salt ‖ key)`
//!   with a per-key random salt is stored; keys are compared in constant time and never logged.
//! * [`store`]: the [`TenantStore`] trait (keys and owner sets) with a file-backed store for the
//!   embedded default and a Redis store for replicated deployments.
//! * [`limit`]: a GCRA token bucket keyed by key id, with `RateLimit-*` headers, and the daily
//!   quota per key ([`Quota`]), counted in the store so replicas share one count.
//! * [`middleware`]: the layer that authenticates `/v1` routes and applies the rate limit.
//!
//! With [`AuthMode::Disabled`] every caller is the tenant [`PUBLIC_TENANT`]; that keeps the demo
//! and the tests of the profile routes open, exactly as before keys existed.

pub mod keys;
pub mod limit;
pub(crate) mod middleware;
pub mod redis_store;
pub mod store;

use std::sync::Arc;

pub use keys::{ApiKey, KeyError, KeyRecord};
pub use limit::{Quota, RateLimit, RateLimiter};
pub use redis_store::RedisStore;
pub use store::{FileStore, StoreError, TenantStore};

/// The tenant every caller is when authentication is disabled.
pub const PUBLIC_TENANT: &str = "public";

/// Whether `/v1` routes require an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every `/v1` request needs a valid, unrevoked key.
    Required,
    /// No key is asked for; every caller is [`PUBLIC_TENANT`]. For the local demo only.
    Disabled,
}

/// Who is calling, inserted into the request's extensions by the auth layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the key belongs to.
    pub tenant: String,
    /// The key's id (`None` when authentication is disabled).
    pub key_id: Option<String>,
}

/// Everything the tenant-aware routes need: how callers authenticate, where keys and owner sets
/// live, and the rate limiter. Shared by every request (an `Arc` inside the router).
#[derive(Debug, Clone)]
pub struct Tenancy {
    /// Whether keys are required.
    pub mode: AuthMode,
    /// Keys and owner sets.
    pub store: Arc<dyn TenantStore>,
    /// Per-key limits.
    pub limiter: Arc<RateLimiter>,
    /// The key of pre-signed links to the HTML pages, the other way to open them.
    pub view_links: Arc<crate::view_link::ViewLinks>,
    /// The default daily quota per key (a key's record may override it).
    pub quota: Quota,
}

impl Tenancy {
    /// The same with view links keyed by `links`: replicas that open each other's links must
    /// share one key.
    pub fn with_view_links(self, links: crate::view_link::ViewLinks) -> Self {
        Self {
            view_links: Arc::new(links),
            ..self
        }
    }

    /// Open access (no keys, no rate limit) over an in-memory store: the behaviour of the API
    /// before tenants existed, used by [`crate::router`].
    pub fn open() -> Self {
        Self {
            mode: AuthMode::Disabled,
            store: Arc::new(FileStore::in_memory()),
            limiter: Arc::new(RateLimiter::new(RateLimit::unlimited())),
            view_links: Arc::new(crate::view_link::ViewLinks::random()),
            quota: Quota::unlimited(),
        }
    }

    /// The same with a default daily quota per key.
    pub fn with_quota(self, quota: Quota) -> Self {
        Self { quota, ..self }
    }

    /// Keys required, with `store` and `limit` (no quota; see [`Tenancy::with_quota`]).
    pub fn required(store: Arc<dyn TenantStore>, limit: RateLimit) -> Self {
        Self {
            mode: AuthMode::Required,
            store,
            limiter: Arc::new(RateLimiter::new(limit)),
            view_links: Arc::new(crate::view_link::ViewLinks::random()),
            quota: Quota::unlimited(),
        }
    }
}
