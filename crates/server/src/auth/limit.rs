//! Per-key rate limits: a GCRA token bucket (the algorithm behind `governor`) keyed by key id;
//! and per-key daily quotas ([`Quota`]).
//!
//! Each key may send `burst` requests at once and then one every `period / per_period`. The
//! state per key is one instant (the theoretical arrival time), so the limiter is a map and a
//! mutex and holds no timers.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A limit: `burst` requests at once, refilled at `per_minute` requests per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute, sustained; 0 disables limiting.
    pub per_minute: u32,
    /// Requests that may arrive together.
    pub burst: u32,
}

impl RateLimit {
    /// No limit.
    pub fn unlimited() -> Self {
        Self {
            per_minute: 0,
            burst: 0,
        }
    }
}

impl Default for RateLimit {
    /// 600 requests per minute with bursts of 60.
    fn default() -> Self {
        Self {
            per_minute: 600,
            burst: 60,
        }
    }
}

/// A daily quota: requests per key per UTC day. Unlike the rate limit (which smooths bursts in
/// one process), the quota is a budget: it is counted in the tenant store, so with Redis every
/// replica draws on the same count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    /// Requests per UTC day; 0 means unlimited.
    pub per_day: u64,
}

impl Quota {
    /// No quota.
    pub fn unlimited() -> Self {
        Self { per_day: 0 }
    }

    /// The quota of a key whose record says `per_key` (which wins when set).
    pub fn for_key(self, per_key: Option<u64>) -> Self {
        per_key.map_or(self, |per_day| Self { per_day })
    }

    /// The window `now` falls in (`2026-11-25`) and the time until the next one starts.
    pub fn window(now: chrono::DateTime<chrono::Utc>) -> (String, Duration) {
        let day = now.date_naive();
        let next = day
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        let left = next
            .and_then(|next| (next - now).to_std().ok())
            .unwrap_or(Duration::from_secs(86_400));
        (day.format("%Y-%m-%d").to_string(), left)
    }
}

/// What the limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let it through; `remaining` more may follow at once, the bucket is full again after
    /// `reset`.
    Allow {
        /// The burst size.
        limit: u32,
        /// Requests left in the current burst.
        remaining: u32,
        /// Time until the bucket is full again.
        reset: Duration,
    },
    /// Refuse it; a request is allowed again after `retry_after`.
    Deny {
        /// The burst size.
        limit: u32,
        /// Time until one request is allowed.
        retry_after: Duration,
    },
    /// No limit configured.
    Unlimited,
}

/// Token buckets keyed by API key id.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    /// Key id → theoretical arrival time.
    tat: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// A limiter with `limit` for every key.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request of `key` at `now`.
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        let RateLimit { per_minute, burst } = self.limit;
        if per_minute == 0 || burst == 0 {
            return Decision::Unlimited;
        }
        // Emission interval T = 60 s / per_minute; tolerance τ = T × (burst − 1).
        let interval = Duration::from_secs(60) / per_minute;
        let tolerance = interval * (burst - 1);
        let Ok(mut map) = self.tat.lock() else {
            // A poisoned lock means a panic elsewhere; refusing keeps the limit (fail closed).
            return Decision::Deny {
                limit: burst,
                retry_after: interval,
            };
        };
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Decision::Deny {
                limit: burst,
                retry_after: ahead - tolerance,
            };
        }
        let new_tat = tat + interval;
        map.insert(key.to_owned(), new_tat);
        let backlog = new_tat - now; // ≤ τ + T
        let room = (tolerance + interval).saturating_sub(backlog);
        let remaining =
            u32::try_from(room.as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX);
        Decision::Allow {
            limit: burst,
            remaining,
            reset: backlog,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, reason = "a test reports failure by panicking")]
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        // 60/min = one per second, burst 3.
        let limiter = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        let t0 = Instant::now();
        let remaining: Vec<_> = (0..3)
            .map(|_| match limiter.check("k", t0) {
                Decision::Allow { remaining, .. } => remaining,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        // Fourth at t0: TAT = t0 + 3 s, τ = 2 s → wait 1 s.
        assert_eq!(
            limiter.check("k", t0),
            Decision::Deny {
                limit: 3,
                retry_after: Duration::from_secs(1)
            }
        );
        // Another key is not affected.
        assert!(matches!(
            limiter.check("other", t0),
            Decision::Allow { remaining: 2, .. }
        ));
        // One second later one request fits again.
        assert!(matches!(
            limiter.check("k", t0 + Duration::from_secs(1)),
            Decision::Allow { remaining: 0, .. }
        ));
    }
}
