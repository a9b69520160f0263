//! Typed settings of one venue client: where it is, how long a request may take, how much of the
//! venue's rate limit it may spend and how it retries.

use std::time::Duration;

/// Per-venue settings. The base URL is not here on purpose: it is an argument of
/// [`VenueClient::new`](super::VenueClient::new) taken from configuration, and adapters only ever
/// name paths, so a caller can never point a read at a host of its choosing.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueSettings {
    /// Upper bound of one HTTP exchange (connect, send, read the whole body). Beyond it the read
    /// fails as [`AdapterError::RpcTimeout`](crate::AdapterError::RpcTimeout); a timeout is not
    /// retried, because the profile as a whole has a deadline too.
    pub request_timeout: Duration,
    /// The share of the venue's published rate limit this process may spend.
    pub rate: RateBudget,
    /// Retries of `429` and `5xx` answers and of refused connections.
    pub retry: RetryPolicy,
    /// Where the pinned read time comes from.
    pub clock: VenueClock,
}

impl Default for VenueSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            rate: RateBudget::default(),
            retry: RetryPolicy::default(),
            clock: VenueClock::Local,
        }
    }
}

/// A token bucket in the venue's own weight units (Hyperliquid weighs `clearinghouseState` 2 and
/// `meta` 20 against 1200 per minute; Derive counts every non-matching request as 1 against
/// 5 per second with a 5x burst).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateBudget {
    /// Weight units that may be spent at once (the bucket's size).
    pub burst: u32,
    /// Weight units added back per minute.
    pub per_minute: u32,
}

impl Default for RateBudget {
    fn default() -> Self {
        Self {
            burst: 60,
            per_minute: 600,
        }
    }
}

/// Exponential backoff with full jitter: attempt `n` (from 0) waits a uniformly random time in
/// `[0, min(max_delay, base_delay × 2^n)]`, or exactly what a `Retry-After` header asks when the
/// venue sends one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// The backoff of the first retry, before jitter.
    pub base_delay: Duration,
    /// The longest single wait. A `Retry-After` longer than this is not waited for: the read fails
    /// at once, because waiting would outlast any sensible profile deadline.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Where [`VenueClient::pin`](super::VenueClient::pin) takes the read time from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VenueClock {
    /// The local wall clock. Pinning costs no request; adapters still record the venue's own
    /// timestamps (Hyperliquid's `time`, Derive's `valuation_timestamp`) and age prices by them.
    #[default]
    Local,
    /// One `POST` of `body` to `path` whose JSON reply holds the venue's time in milliseconds at
    /// the JSON pointer `pointer` (RFC 6901, e.g. `/result`).
    Request {
        /// Path under the base URL, e.g. `/public/get_time`.
        path: String,
        /// JSON body sent.
        body: serde_json::Value,
        /// Where the millisecond timestamp is in the reply.
        pointer: String,
        /// Rate-limit weight of the request.
        weight: u32,
    },
}
