//! The seam between a stream's poller and its subscribers: [`Fanout`] decides which replica polls
//! a subscription (a lease) and carries that poller's events to every replica's subscribers.
//!
//! [`InProcessFanout`] serves one process (the embedded default, no Redis);
//! [`RedisFanout`](super::redis_fanout::RedisFanout) lets several API replicas share one poller per
//! subscription through a Redis lease and pub/sub channel.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures::{StreamExt, stream::BoxStream};
use tokio::sync::broadcast;

/// One event of a subscription, as carried between replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A `MarginProfile` as JSON.
    Profile(Arc<str>),
    /// A [`HealthAlert`](super::HealthAlert) as JSON.
    Alert(Arc<str>),
}

impl Message {
    /// The wire form: the event name, a newline, the JSON.
    pub fn encode(&self) -> String {
        match self {
            Self::Profile(json) => format!("profile\n{json}"),
            Self::Alert(json) => format!("health_alert\n{json}"),
        }
    }

    /// Parses [`Message::encode`]'s form; `None` for anything else (never guessed).
    pub fn decode(wire: &str) -> Option<Self> {
        match wire.split_once('\n')? {
            ("profile", json) => Some(Self::Profile(json.into())),
            ("health_alert", json) => Some(Self::Alert(json.into())),
            _ => None,
        }
    }
}

/// Why the fan-out cannot be used. The text carries no URL or credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FanoutError {
    /// The backend did not answer or refused the command.
    #[error("stream fan-out unavailable: {0}")]
    Unavailable(String),
}

/// The events of one subscription key, from now on. The stream **ends** when the relay breaks
/// (e.g. the Redis connection dropped), so that a subscriber is told instead of waiting forever.
pub type Subscription = BoxStream<'static, Message>;

/// Who polls a subscription and how its events reach every replica.
///
/// A replica with subscribers to `key` subscribes to its events, and on every tick calls
/// [`Fanout::lease`]; only the holder of the lease reads the chains and calls
/// [`Fanout::publish`]. A lease that is not renewed within its TTL lapses, so a replica that
/// died is replaced by another one that still has subscribers.
#[async_trait]
pub trait Fanout: Send + Sync + std::fmt::Debug {
    /// `memory` or `redis`.
    fn backend(&self) -> &'static str;

    /// Takes the poll lease of `key` for `holder` when nobody holds it, or renews it when
    /// `holder` already does; `false` when another holder has it. Also keeps `key`'s latest
    /// profile alive for `ttl`.
    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, FanoutError>;

    /// Gives the lease up if `holder` holds it, so another replica takes over without waiting
    /// for the TTL.
    async fn release(&self, key: &str, holder: &str) -> Result<(), FanoutError>;

    /// Sends `message` to every subscriber of `key` if `holder` still holds the lease (`false`
    /// otherwise: a poller that lost its lease must stop publishing). A profile also becomes
    /// `key`'s latest, kept for `ttl`.
    async fn publish(
        &self,
        key: &str,
        holder: &str,
        message: &Message,
        ttl: Duration,
    ) -> Result<bool, FanoutError>;

    /// The latest profile published for `key`, for subscribers that join a running poller and
    /// for a poller that takes a lease over (so it neither repeats the profile nor the alert).
    async fn latest(&self, key: &str) -> Result<Option<Message>, FanoutError>;

    /// Subscribes to `key`'s events. Once this returns, every later publish is delivered.
    async fn subscribe(&self, key: &str) -> Result<Subscription, FanoutError>;
}

struct Channel {
    tx: broadcast::Sender<Message>,
    latest: Option<(Message, Instant)>,
    lease: Option<(String, Instant)>,
}

impl Channel {
    fn new() -> Self {
        Self {
            tx: broadcast::channel(64).0,
            latest: None,
            lease: None,
        }
    }
}

/// One process: a broadcast channel per key, leases in memory.
#[derive(Default)]
pub struct InProcessFanout {
    channels: Mutex<HashMap<String, Channel>>,
}

impl std::fmt::Debug for InProcessFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessFanout").finish_non_exhaustive()
    }
}

impl InProcessFanout {
    fn with<T>(&self, key: &str, f: impl FnOnce(&mut Channel) -> T) -> T {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        f(channels.entry(key.to_owned()).or_insert_with(Channel::new))
    }
}

#[async_trait]
impl Fanout for InProcessFanout {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn lease(&self, key: &str, holder: &str, ttl: Duration) -> Result<bool, FanoutError> {
        let now = Instant::now();
        Ok(self.with(key, |c| {
            let free = match &c.lease {
                None => true,
                Some((h, until)) => h == holder || *until <= now,
            };
            if free {
                c.lease = Some((holder.to_owned(), now + ttl));
                if let Some((_, until)) = &mut c.latest {
                    *until = (*until).max(now + ttl);
                }
            }
            free
        }))
    }

    async fn release(&self, key: &str, holder: &str) -> Result<(), FanoutError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = channels.get_mut(key) {
            if c.lease.as_ref().is_some_and(|(h, _)| h == holder) {
                c.lease = None;
            }
            // Nobody polls and nobody listens: forget the key.
            if c.lease.is_none() && c.tx.receiver_count() == 0 {
                channels.remove(key);
            }
        }
        Ok(())
    }

    async fn publish(
        &self,
        key: &str,
        holder: &str,
        message: &Message,
        ttl: Duration,
    ) -> Result<bool, FanoutError> {
        Ok(self.with(key, |c| {
            if c.lease.as_ref().is_none_or(|(h, _)| h != holder) {
                return false;
            }
            if matches!(message, Message::Profile(_)) {
                c.latest = Some((message.clone(), Instant::now() + ttl));
            }
            // An error only means nobody listens right now.
            let _ = c.tx.send(message.clone());
            true
        }))
    }

    async fn latest(&self, key: &str) -> Result<Option<Message>, FanoutError> {
        let now = Instant::now();
        Ok(self.with(key, |c| {
            c.latest
                .as_ref()
                .filter(|(_, until)| *until > now)
                .map(|(m, _)| m.clone())
        }))
    }

    async fn subscribe(&self, key: &str) -> Result<Subscription, FanoutError> {
        let rx = self.with(key, |c| c.tx.subscribe());
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(message) => return Some((message, rx)),
                    // A slow relay skips to the newest events rather than stalling the poller.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed())
    }
}
