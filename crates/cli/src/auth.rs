//! `[auth]`: API keys, where they are kept, and the per-key rate limit.
//!
//! ```toml
//! [auth]
//! enabled = true                  # false: no keys, every caller is tenant `public` (local demo)
//! keys_file = ".unimargin/keys.json"  # without cache.redis_url; holds salted hashes only
//! rate_limit_per_minute = 600     # per key, sustained
//! rate_limit_burst = 60           # per key, at once
//! quota_per_day = 0               # requests per key per UTC day (0: none); a key may override it
//! view_link_secret = "…"          # ≥ 32 bytes; best as UNIMARGIN_AUTH__VIEW_LINK_SECRET
//! ```
//!
//! With `cache.redis_url` set, keys and owner sets live in Redis (under the cache's key prefix)
//! so that every replica sees the same ones; otherwise in `keys_file`. View links of the HTML
//! pages are keyed by `view_link_secret`, which replicas must share to open each other's links;
//! without it each process makes up its own key.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use serde::Deserialize;
use unimargin_server::{
    Tenancy, ViewLinks,
    auth::{FileStore, Quota, RateLimit, RedisStore, TenantStore},
};

use crate::config::Config;

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuthConfig {
    /// Whether `/v1` routes require an API key. On unless a file turns it off.
    pub(crate) enabled: bool,
    /// The key and owner-set file when Redis is not configured.
    pub(crate) keys_file: PathBuf,
    /// Requests per minute per key (0: no limit).
    pub(crate) rate_limit_per_minute: u32,
    /// Requests per key at once.
    pub(crate) rate_limit_burst: u32,
    /// Requests per key per UTC day (0: no quota), unless the key has its own.
    pub(crate) quota_per_day: u64,
    /// The HMAC key of view links (at least 32 bytes).
    pub(crate) view_link_secret: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        let limit = RateLimit::default();
        Self {
            enabled: true,
            keys_file: PathBuf::from(".unimargin/keys.json"),
            rate_limit_per_minute: limit.per_minute,
            rate_limit_burst: limit.burst,
            quota_per_day: 0,
            view_link_secret: None,
        }
    }
}

impl Config {
    /// The key and owner-set store: Redis when `cache.redis_url` is set, else `auth.keys_file`.
    pub(crate) fn tenant_store(&self) -> anyhow::Result<Arc<dyn TenantStore>> {
        match &self.cache.redis_url {
            Some(url) => {
                let timeout = Duration::from_millis(self.cache.redis_timeout_ms.max(1));
                let store = RedisStore::connect(url, &self.cache.redis_key_prefix, timeout)
                    .context("cache.redis_url")?;
                Ok(Arc::new(store))
            }
            None => {
                let store = FileStore::open(&self.auth.keys_file).context("auth.keys_file")?;
                Ok(Arc::new(store))
            }
        }
    }

    /// The key of view links: `auth.view_link_secret`, else one made up for this process.
    fn view_links(&self) -> anyhow::Result<ViewLinks> {
        match &self.auth.view_link_secret {
            Some(secret) => ViewLinks::new(secret.as_bytes()).context("auth.view_link_secret"),
            None => {
                if self.cache.redis_url.is_some() {
                    tracing::warn!(
                        "auth.view_link_secret is not set: a view link opens only on the replica that issued it"
                    );
                }
                Ok(ViewLinks::random())
            }
        }
    }

    /// What the router needs for tenants, from `[auth]`.
    pub(crate) fn tenancy(&self) -> anyhow::Result<Tenancy> {
        let links = self.view_links()?;
        if !self.auth.enabled {
            // The store still holds owner sets (of tenant `public`).
            return Ok(Tenancy {
                store: self.tenant_store()?,
                ..Tenancy::open()
            }
            .with_view_links(links));
        }
        if self.auth.rate_limit_per_minute > 0 && self.auth.rate_limit_burst == 0 {
            bail!(
                "auth.rate_limit_burst must be at least 1 when auth.rate_limit_per_minute is set"
            );
        }
        let limit = RateLimit {
            per_minute: self.auth.rate_limit_per_minute,
            burst: self.auth.rate_limit_burst,
        };
        Ok(Tenancy::required(self.tenant_store()?, limit)
            .with_quota(Quota {
                per_day: self.auth.quota_per_day,
            })
            .with_view_links(links))
    }

    /// The event streams: shared through Redis when `cache.redis_url` is set, so that replicas
    /// run one poller per subscription; in this process otherwise.
    pub(crate) fn stream_hub(
        &self,
        settings: &unimargin_server::StreamSettings,
    ) -> anyhow::Result<Arc<unimargin_server::StreamHub>> {
        let hub = match &self.cache.redis_url {
            Some(url) => {
                let timeout = Duration::from_millis(self.cache.redis_timeout_ms.max(1));
                let fanout = unimargin_server::RedisFanout::connect(
                    url,
                    &self.cache.redis_key_prefix,
                    timeout,
                )
                .context("cache.redis_url")?;
                unimargin_server::StreamHub::with_fanout(settings.clone(), Arc::new(fanout))
            }
            None => unimargin_server::StreamHub::new(settings.clone()),
        };
        Ok(Arc::new(hub))
    }
}
