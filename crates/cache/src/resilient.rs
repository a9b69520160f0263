//! Fail-open wrapper: backend errors become misses.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::ErrorChain;
use crate::{Cache, CacheError, CacheKey};

/// Wraps any [`Cache`] so that a failing backend behaves as an empty one.
///
/// A cache is an optimisation: when Redis is down the service must keep answering from direct
/// reads, never fail a request and never serve something wrong. So `get` errors become `Ok(None)`
/// and `put` errors become `Ok(())`. How long a failing call takes is the inner cache's business
/// ([`crate::RedisCache`] bounds every command by its timeout).
///
/// Failures are still visible: [`ResilientCache::degraded`] tells /readyz whether the last call
/// that reached the backend failed, [`ResilientCache::error_count`] counts failures for metrics,
/// and one `tracing::warn!` is logged when the backend starts failing and one `tracing::info!`
/// when it recovers — once per state change, not per call, so an outage does not flood the logs.
///
/// While degraded, a failing backend would still cost every `get` and `put` a full timeout, so
/// calls stop reaching it: at most one `get` or `put` per probe interval (default
/// [`ResilientCache::DEFAULT_PROBE_INTERVAL`]) is let through to find out whether it is back, and
/// the others return a miss at once. The first success ends the degraded state.
///
/// [`Cache::ping`] is a probe, not a data path: it always reaches the backend, passes the inner
/// result through, and updates the state like any other operation (so /readyz polling also
/// detects recovery).
#[derive(Debug)]
pub struct ResilientCache<C> {
    inner: C,
    degraded: AtomicBool,
    errors: AtomicU64,
    probe_interval: Duration,
    /// Origin of `next_probe_nanos`.
    epoch: Instant,
    /// While degraded, the earliest time (nanoseconds after `epoch`) at which a `get` or `put`
    /// may reach the backend again.
    next_probe_nanos: AtomicU64,
}

impl<C: Cache> ResilientCache<C> {
    /// How often a degraded wrapper lets a `get` or `put` through to the backend by default.
    pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(1);

    /// Wraps `inner`; the wrapper starts healthy.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            degraded: AtomicBool::new(false),
            errors: AtomicU64::new(0),
            probe_interval: Self::DEFAULT_PROBE_INTERVAL,
            epoch: Instant::now(),
            next_probe_nanos: AtomicU64::new(0),
        }
    }

    /// Sets how often a degraded wrapper lets a `get` or `put` through to the backend. Zero lets
    /// every call through (each failing call then costs the backend's timeout).
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Whether the last call that reached the backend failed (for /readyz reporting). Stays true
    /// until a call succeeds; calls answered without reaching the backend do not change it.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// How many calls to the backend have failed since construction (for metrics). Calls
    /// answered without reaching the backend are not counted.
    pub fn error_count(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The wrapped cache.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Unwraps the inner cache.
    pub fn into_inner(self) -> C {
        self.inner
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn interval_nanos(&self) -> u64 {
        u64::try_from(self.probe_interval.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether a `get` or `put` may reach the backend: always when healthy; when degraded, only
    /// the one caller that claims the current probe slot.
    fn admit(&self) -> bool {
        if !self.degraded() || self.probe_interval.is_zero() {
            return true;
        }
        let now = self.now_nanos();
        let next = self.next_probe_nanos.load(Ordering::Acquire);
        if now < next {
            return false;
        }
        // Of the callers that see the slot open, only the one whose exchange succeeds probes.
        self.next_probe_nanos
            .compare_exchange(
                next,
                now.saturating_add(self.interval_nanos()),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    fn record_ok(&self) {
        // `swap` makes exactly one caller see the transition, so exactly one line is logged.
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::info!(
                backend = self.inner.backend(),
                errors_total = self.error_count(),
                "cache backend recovered"
            );
        }
    }

    fn record_err(&self, op: &'static str, error: &CacheError) {
        let errors_total = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        self.next_probe_nanos.store(
            self.now_nanos().saturating_add(self.interval_nanos()),
            Ordering::Release,
        );
        if !self.degraded.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                backend = self.inner.backend(),
                op,
                errors_total,
                error = %ErrorChain(error),
                "cache backend failing; serving misses until it recovers"
            );
        }
    }
}

#[async_trait]
impl<C: Cache> Cache for ResilientCache<C> {
    async fn get(&self, key: &CacheKey) -> Result<Option<Vec<u8>>, CacheError> {
        if !self.admit() {
            return Ok(None);
        }
        match self.inner.get(key).await {
            Ok(value) => {
                self.record_ok();
                Ok(value)
            }
            Err(error) => {
                self.record_err("get", &error);
                Ok(None)
            }
        }
    }

    async fn put(&self, key: &CacheKey, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        if !self.admit() {
            return Ok(());
        }
        match self.inner.put(key, value, ttl).await {
            Ok(()) => self.record_ok(),
            Err(error) => self.record_err("put", &error),
        }
        Ok(())
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let result = self.inner.ping().await;
        match &result {
            Ok(()) => self.record_ok(),
            Err(error) => self.record_err("ping", error),
        }
        result
    }
}
