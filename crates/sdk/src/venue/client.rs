//! The HTTP venue client and its pinned reader.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use reqwest::Url;
use serde::de::DeserializeOwned;
use unimargin_schema::{ChainId, ReadPoint};

use super::{
    VenueClock, VenueSettings,
    rate::TokenBucket,
    retry::{backoff, retry_after, retryable_status},
};
use crate::{AdapterError, Result};

/// A JSON-over-HTTP client of one venue (Hyperliquid's `/info`, Derive's JSON-RPC over POST).
///
/// It owns what every venue read needs and no adapter should reimplement: the base URL from
/// configuration, a per-request timeout, a token bucket in the venue's weight units, retries with
/// exponential backoff and jitter on `429` / `5xx` that honour `Retry-After`, and decoding that
/// names the JSON path of the first field that did not fit.
pub struct VenueClient {
    chain: ChainId,
    base: Url,
    http: reqwest::Client,
    settings: VenueSettings,
    bucket: TokenBucket,
    stats: Counters,
}

impl fmt::Debug for VenueClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The base URL may carry an API key in its path or query: never print it.
        f.debug_struct("VenueClient")
            .field("chain", &self.chain)
            .field("settings", &self.settings)
            .finish()
    }
}

/// What a client has sent so far, for tests, metrics and the closing numbers of a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VenueStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Of those, how many were retries.
    pub retries: u64,
    /// Weight units spent.
    pub weight: u64,
    /// `429` answers received.
    pub rate_limited: u64,
    /// Time spent waiting for the token bucket, in milliseconds.
    pub throttled_ms: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    weight: AtomicU64,
    rate_limited: AtomicU64,
    throttled_ms: AtomicU64,
}

/// What one attempt came to.
enum Attempt {
    Done(Vec<u8>),
    Fail(AdapterError),
    Retry {
        after: Option<Duration>,
        error: AdapterError,
    },
}

impl VenueClient {
    /// A client of the venue at `base_url` (from configuration; paths are appended to it). Nothing
    /// is sent here, so a client can be built while the venue is down.
    pub fn new(chain: ChainId, base_url: &str, settings: VenueSettings) -> Result<Self> {
        let base = Url::parse(base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                AdapterError::Config(format!(
                    "invalid base URL for venue {chain} (http or https expected)"
                ))
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("unimargin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                AdapterError::Config(format!(
                    "venue {chain}: cannot build the HTTP client: {}",
                    e.without_url()
                ))
            })?;
        let bucket = TokenBucket::new(settings.rate);
        Ok(Self {
            chain,
            base,
            http,
            settings,
            bucket,
            stats: Counters::default(),
        })
    }

    /// The chain id the venue is known by.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The settings.
    pub fn settings(&self) -> &VenueSettings {
        &self.settings
    }

    /// Counters since the client was built.
    pub fn stats(&self) -> VenueStats {
        VenueStats {
            requests: self.stats.requests.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            weight: self.stats.weight.load(Ordering::Relaxed),
            rate_limited: self.stats.rate_limited.load(Ordering::Relaxed),
            throttled_ms: self.stats.throttled_ms.load(Ordering::Relaxed),
        }
    }

    /// Pins the time every read of this profile on this venue is attributed to: the venue's
    /// clock when [`VenueClock::Request`] is configured, else the local clock.
    pub async fn pin(self: &Arc<Self>) -> Result<PinnedVenue> {
        let timestamp = match &self.settings.clock {
            VenueClock::Local => unix_now(),
            VenueClock::Request {
                path,
                body,
                pointer,
                weight,
            } => {
                let reply: serde_json::Value = self.post(path, body.clone(), *weight).await?;
                let raw = reply.pointer(pointer).ok_or_else(|| {
                    AdapterError::malformed(
                        format!("{} {path}", self.chain),
                        format!("no server time at `{pointer}`"),
                    )
                })?;
                let millis = raw
                    .as_u64()
                    .or_else(|| raw.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| {
                        AdapterError::malformed(
                            format!("{} {path}", self.chain),
                            format!(
                                "server time at `{pointer}` is not a millisecond timestamp: {raw}"
                            ),
                        )
                    })?;
                millis / 1000
            }
        };
        Ok(PinnedVenue {
            client: Arc::clone(self),
            timestamp,
        })
    }

    /// `POST`s `body` as JSON to `path` and decodes the reply as `T`. `weight` is the request's
    /// cost in the venue's rate-limit units.
    ///
    /// Errors: a timeout is [`AdapterError::RpcTimeout`]; a refused connection that persists
    /// through the retries is [`AdapterError::RpcUnavailable`]; a `429` or `5xx` that persists is
    /// [`AdapterError::RpcError`]; a body that does not decode is [`AdapterError::Malformed`] with
    /// the JSON path of the offending field.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
        weight: u32,
    ) -> Result<T> {
        let bytes = self.post_bytes(path, &body, weight).await?;
        decode(&format!("{} {path}", self.chain), &bytes)
    }

    async fn post_bytes(
        &self,
        path: &str,
        body: &serde_json::Value,
        weight: u32,
    ) -> Result<Vec<u8>> {
        if !self.bucket.admits(weight) {
            return Err(AdapterError::Config(format!(
                "venue {}: a request of weight {weight} exceeds the configured burst {}",
                self.chain, self.settings.rate.burst
            )));
        }
        let url = self.url(path)?;
        let policy = self.settings.retry;
        let mut retry = 0u32;
        loop {
            let waited = self.bucket.acquire(weight).await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            self.stats
                .weight
                .fetch_add(u64::from(weight), Ordering::Relaxed);
            self.stats.throttled_ms.fetch_add(
                u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
            let (after, error) = match self.attempt(&url, body).await {
                Attempt::Done(bytes) => return Ok(bytes),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry { after, error } => (after, error),
            };
            if retry >= policy.max_retries {
                return Err(with_note(error, format!("after {retry} retries")));
            }
            let delay = match after {
                Some(after) if after > policy.max_delay => {
                    return Err(with_note(
                        error,
                        format!(
                            "the venue asks to wait {} s, more than the {} s allowed",
                            after.as_secs(),
                            policy.max_delay.as_secs()
                        ),
                    ));
                }
                Some(after) => after,
                None => backoff(&policy, retry),
            };
            tracing::debug!(chain = %self.chain, path, retry, delay_ms = delay.as_millis() as u64, %error, "retrying venue request");
            tokio::time::sleep(delay).await;
            retry += 1;
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn attempt(&self, url: &Url, body: &serde_json::Value) -> Attempt {
        let chain = self.chain.to_string();
        let response = match self
            .http
            .post(url.clone())
            .json(body)
            .timeout(self.settings.request_timeout)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return self.transport_error(e),
        };
        let status = response.status();
        if status.is_success() {
            return match response.bytes().await {
                Ok(bytes) => Attempt::Done(bytes.to_vec()),
                Err(e) => self.transport_error(e),
            };
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let after = retry_after(response.headers(), SystemTime::now());
        // A short excerpt of the body helps diagnose a rejection; venues answer errors with a
        // message, never with secrets of ours, but it is truncated all the same.
        let excerpt = response
            .text()
            .await
            .map(|t| excerpt(&t))
            .unwrap_or_default();
        let message = if excerpt.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {excerpt}")
        };
        let error = AdapterError::RpcError { chain, message };
        if retryable_status(status) {
            Attempt::Retry { after, error }
        } else {
            Attempt::Fail(error)
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> Attempt {
        let chain = self.chain.to_string();
        if e.is_timeout() {
            return Attempt::Fail(AdapterError::RpcTimeout {
                chain,
                timeout_ms: u64::try_from(self.settings.request_timeout.as_millis())
                    .unwrap_or(u64::MAX),
            });
        }
        let retryable = e.is_connect();
        // `without_url` keeps the URL (and any key in it) out of the message.
        let error = AdapterError::RpcUnavailable {
            chain,
            message: e.without_url().to_string(),
        };
        if retryable {
            Attempt::Retry { after: None, error }
        } else {
            Attempt::Fail(error)
        }
    }

    fn url(&self, path: &str) -> Result<Url> {
        let joined = format!(
            "{}/{}",
            self.base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|_| {
            AdapterError::Config(format!(
                "venue {}: invalid request path `{path}`",
                self.chain
            ))
        })
    }
}

/// A venue client pinned to one read time. Cheap to clone.
#[derive(Clone)]
pub struct PinnedVenue {
    client: Arc<VenueClient>,
    timestamp: u64,
}

impl fmt::Debug for PinnedVenue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedVenue")
            .field("chain", &self.client.chain)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

impl PinnedVenue {
    /// The chain id the venue is known by.
    pub fn chain(&self) -> &ChainId {
        &self.client.chain
    }

    /// The pinned time (seconds since the epoch).
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The read point for provenance.
    pub fn read_point(&self) -> ReadPoint {
        ReadPoint::Venue {
            timestamp: self.timestamp,
        }
    }

    /// The client behind the reader.
    pub fn client(&self) -> &VenueClient {
        &self.client
    }

    /// See [`VenueClient::post`].
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
        weight: u32,
    ) -> Result<T> {
        self.client.post(path, body, weight).await
    }
}

/// Decodes JSON, naming the path of the first field that does not fit (`positions[2].amount`).
pub fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::from("the body")
        } else {
            format!("`{path}`")
        };
        AdapterError::malformed(what, format!("at {at}: {}", e.inner()))
    })
}

fn with_note(error: AdapterError, note: String) -> AdapterError {
    match error {
        AdapterError::RpcError { chain, message } => AdapterError::RpcError {
            chain,
            message: format!("{message} ({note})"),
        },
        AdapterError::RpcUnavailable { chain, message } => AdapterError::RpcUnavailable {
            chain,
            message: format!("{message} ({note})"),
        },
        other => other,
    }
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Reply {
        #[allow(dead_code, reason = "decoded to check the path of a failure")]
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        #[allow(dead_code, reason = "decoded to check the path of a failure")]
        amount: rust_decimal::Decimal,
    }

    #[test]
    fn decode_errors_name_the_field_path() {
        let ok: Reply = decode("venue /x", br#"{"items":[{"amount":"1.5"}]}"#).unwrap();
        assert_eq!(ok.items.len(), 1);
        let err = decode::<Reply>(
            "venue /x",
            br#"{"items":[{"amount":"1.5"},{"amount":"two"}]}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, AdapterError::Malformed { what, detail } if what == "venue /x" && detail.starts_with("at `items[1].amount`")),
            "{err}"
        );
        let err = decode::<Reply>("venue /x", b"<html>busy</html>").unwrap_err();
        assert!(err.to_string().contains("at the body"), "{err}");
    }

    #[test]
    fn base_urls_are_checked_and_paths_joined() {
        let chain = ChainId::evm(999);
        assert!(VenueClient::new(chain.clone(), "ftp://x", VenueSettings::default()).is_err());
        assert!(VenueClient::new(chain.clone(), "not a url", VenueSettings::default()).is_err());
        let client =
            VenueClient::new(chain, "https://api.example/v3/", VenueSettings::default()).unwrap();
        assert_eq!(
            client.url("/public/get_time").unwrap().as_str(),
            "https://api.example/v3/public/get_time"
        );
        // The base URL never appears in debug output (it may carry a key).
        assert!(!format!("{client:?}").contains("api.example"));
    }
}
