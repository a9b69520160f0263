//! The shared cache on Redis.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, RedisError, RetryMethod};

use crate::{Cache, CacheError, CacheKey};

const BACKEND: &str = "redis";

/// How [`RedisCache`] connects and how long it waits.
///
/// The defaults suit a cache in front of RPC reads: a lookup that takes longer than the
/// computation it saves is worse than a miss.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisOptions {
    /// Prepended to every [`CacheKey`] in Redis (for instance `"staging:"`), so that deployments
    /// sharing one Redis do not see each other's entries. Empty by default: keys already start
    /// with `unimargin:v1:`.
    pub key_prefix: String,
    /// Bound on each attempt to open a connection (TCP connect and handshake).
    pub connect_timeout: Duration,
    /// Bound on each cache operation as a whole: waiting for a (re)connection plus the command's
    /// round trip. An outage costs at most this per call.
    pub response_timeout: Duration,
    /// How many times one reconnection is retried, with exponential backoff and jitter, before it
    /// gives up; the next command then starts a new reconnection.
    pub reconnect_retries: usize,
    /// Cap on the backoff between reconnection attempts, which is also about how long the cache
    /// takes to notice that Redis is back.
    pub reconnect_max_delay: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            key_prefix: String::new(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
            reconnect_retries: 6,
            reconnect_max_delay: Duration::from_secs(1),
        }
    }
}

/// A [`Cache`] on Redis, shared by every replica of the service.
///
/// Built on `redis`'s `ConnectionManager`: one multiplexed connection, cloned per call, that
/// reconnects in the background when the connection drops.
///
/// # Start-up and outages
///
/// [`RedisCache::connect`] fails only on an unusable URL or option. It does not wait for the
/// server: the connection is opened lazily by the first command, so a Redis that is down at
/// start-up does not stop the service from starting. Until the server is reachable every command
/// returns [`CacheError::Unavailable`] or [`CacheError::Timeout`] (wrap the cache in
/// [`crate::ResilientCache`] to turn those into misses), and once it is reachable commands succeed
/// without any action from the caller. Callers that prefer to fail fast call [`Cache::ping`]
/// after `connect`.
///
/// Every command is bounded by [`RedisOptions::response_timeout`], measured from the call, so a
/// dead, slow or frozen server costs at most that timeout per call and never hangs a request.
///
/// Values are stored with `SET key value EX seconds` (`PX milliseconds` when the TTL has a
/// fractional second, rounded up) and read with `GET`.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    key_prefix: Arc<str>,
    response_timeout: Duration,
}

impl fmt::Debug for RedisCache {
    // Not derived: the connection manager's `Debug` prints the connection info, which may hold a
    // password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("key_prefix", &self.key_prefix)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Prepares a cache on the Redis at `url` (`redis://[user:password@]host:port[/db]`).
    ///
    /// Returns [`CacheError::InvalidUrl`] when the URL cannot be parsed and
    /// [`CacheError::InvalidConfig`] for a zero timeout. A server that is down is not an error
    /// here; see the type's documentation. Must be called within a Tokio runtime, which the
    /// connection manager uses for its background tasks.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, CacheError> {
        if options.connect_timeout.is_zero() {
            return Err(CacheError::InvalidConfig {
                reason: "connect_timeout must be positive",
                source: None,
            });
        }
        if options.response_timeout.is_zero() {
            return Err(CacheError::InvalidConfig {
                reason: "response_timeout must be positive",
                source: None,
            });
        }
        let client = redis::Client::open(url).map_err(|error| CacheError::InvalidUrl {
            source: Box::new(error),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(options.reconnect_retries)
            .set_max_delay(options.reconnect_max_delay);
        // Lazy: no connection attempt until the first command, so start-up never waits on Redis.
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|error| {
            CacheError::InvalidConfig {
                reason: "the Redis connection manager rejected the options",
                source: Some(Box::new(error)),
            }
        })?;
        Ok(Self {
            conn,
            key_prefix: options.key_prefix.into(),
            response_timeout: options.response_timeout,
        })
    }

    /// The key under which `key` is stored in Redis: the configured prefix, then the key.
    pub fn redis_key(&self, key: &CacheKey) -> String {
        let mut full = String::with_capacity(self.key_prefix.len() + key.as_str().len());
        full.push_str(&self.key_prefix);
        full.push_str(key.as_str());
        full
    }

    /// Runs one command under the per-call deadline.
    async fn run<T: FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, CacheError> {
        let mut conn = self.conn.clone();
        // The outer deadline covers what the client's own response timeout does not: waiting for
        // a reconnection in progress, whose retries and backoff can take seconds.
        match tokio::time::timeout(self.response_timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(op, error, self.response_timeout)),
            Err(_elapsed) => Err(CacheError::Timeout {
                backend: BACKEND,
                op,
                after: self.response_timeout,
                source: None,
            }),
        }
    }
}

/// Sorts a client error into the crate's variants, from its kind and never from its message.
fn classify(op: &'static str, error: RedisError, after: Duration) -> CacheError {
    if error.is_timeout() {
        return CacheError::Timeout {
            backend: BACKEND,
            op,
            after,
            source: Some(Box::new(error)),
        };
    }
    let unavailable = error.is_io_error()
        || error.kind() == ErrorKind::AuthenticationFailed
        // Server replies such as LOADING, MASTERDOWN or TRYAGAIN: the server is not serving yet.
        || (matches!(error.kind(), ErrorKind::Server(_))
            && matches!(error.retry_method(), RetryMethod::WaitAndRetry));
    if unavailable {
        CacheError::Unavailable {
            backend: BACKEND,
            op,
            source: Box::new(error),
        }
    } else {
        CacheError::Protocol {
            backend: BACKEND,
            op,
            source: Box::new(error),
        }
    }
}

/// The `SET` expiry option for `ttl`: whole seconds as `EX`, anything finer as `PX` in
/// milliseconds rounded up (so a sub-millisecond TTL still stores for 1 ms rather than being
/// rejected by Redis as zero).
fn expiry(ttl: Duration) -> (&'static str, u64) {
    if ttl.subsec_nanos() == 0 {
        ("EX", ttl.as_secs())
    } else {
        let millis = ttl.as_nanos().div_ceil(1_000_000);
        ("PX", u64::try_from(millis).unwrap_or(u64::MAX))
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis_key(key));
        self.run("GET", &cmd).await
    }

    async fn put(&self, key: &CacheKey, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if ttl.is_zero() {
            return Ok(());
        }
        let (unit, amount) = expiry(ttl);
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(key))
            .arg(value)
            .arg(unit)
            .arg(amount);
        self.run("SET", &cmd).await
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let reply: String = self.run("PING", &redis::cmd("PING")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Protocol {
                backend: BACKEND,
                op: "PING",
                source: format!("expected PONG, got {reply:?}").into(),
            })
        }
    }
}

#[cfg(test)]
mod tests;
