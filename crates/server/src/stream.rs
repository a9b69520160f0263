//! Server-Sent Events: a profile pushed when a covered chain advances and the profile changed,
//! and a health alert when the health crosses a configured threshold.
//!
//! One poller per subscription (the sorted canonical accounts and the segments) serves every
//! subscriber, across replicas: each replica with subscribers relays the subscription's events
//! from a [`Fanout`] to its local subscribers, and only the replica holding the subscription's
//! lease reads the chains and publishes. [`InProcessFanout`] is the embedded default;
//! [`RedisFanout`] shares pollers between replicas. Each tick re-reads the profile: the snapshot
//! cache is keyed by block, so a tick on an unchanged chain costs one pin per chain and no adapter
//! reads. A new subscriber first gets the latest profile, then the changes.
//!
//! Fail closed: a profile that became incomplete is pushed (its `coverage` says what failed) and
//! counts as the lowest health band, so it raises an alert rather than going quiet. When the
//! relay breaks (Redis unreachable), subscribers get an `error` event and the stream ends, so a
//! client never mistakes silence for "nothing changed".

pub mod fanout;
pub mod redis_fanout;

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Extension,
    extract::{Path, State, rejection::PathRejection},
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt, stream};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, oneshot};
use unimargin_schema::{AccountId, Health, MarginProfile, Segment};

pub use self::{
    fanout::{Fanout, FanoutError, InProcessFanout, Message, Subscription},
    redis_fanout::RedisFanout,
};
use crate::{
    auth::{Caller, Tenancy, keys::random_hex},
    error::ApiError,
    profiler::Profiler,
    state::AppState,
};

/// Streaming settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// How often a poller re-reads its profile.
    pub poll_interval: Duration,
    /// Health levels whose crossing raises a `health_alert` (e.g. 1.5, 1.2, 1.0).
    pub alert_thresholds: Vec<Decimal>,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            alert_thresholds: vec![Decimal::new(15, 1), Decimal::new(12, 1), Decimal::ONE],
        }
    }
}

/// Data of a `health_alert` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthAlert {
    /// The health before; `None` when it was unknown (incomplete profile) or this is the first.
    pub previous: Option<Health>,
    /// The health now; `None` when the profile is incomplete, which must be treated as unsafe.
    pub health: Option<Health>,
    /// The thresholds now above the health (all of them when the health is unknown).
    pub below: Vec<Decimal>,
    /// `down` when the account got riskier, `up` when it recovered.
    pub direction: AlertDirection,
}

/// Which way a health alert goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertDirection {
    /// Riskier.
    Down,
    /// Safer.
    Up,
}

/// How many thresholds are above `health`; unknown health is below every threshold.
pub fn band(health: Option<Health>, thresholds: &[Decimal]) -> usize {
    match health {
        None => thresholds.len(),
        Some(Health::Infinite) => 0,
        Some(Health::Finite(h)) => thresholds.iter().filter(|t| h < **t).count(),
    }
}

/// The alert to raise when the health goes from `previous` to `now`, if it crossed a threshold.
/// The first observation (`previous = None` and no earlier profile) alerts only if already below
/// a threshold.
pub fn crossing(
    previous: Option<Option<Health>>,
    now: Option<Health>,
    thresholds: &[Decimal],
) -> Option<HealthAlert> {
    let now_band = band(now, thresholds);
    let before_band = previous.map_or(0, |p| band(p, thresholds));
    if now_band == before_band {
        return None;
    }
    let mut below: Vec<Decimal> = thresholds.to_vec();
    below.sort();
    let below = match now {
        None => below,
        Some(Health::Infinite) => Vec::new(),
        Some(Health::Finite(h)) => below.into_iter().filter(|t| h < *t).collect(),
    };
    Some(HealthAlert {
        previous: previous.flatten(),
        health: now,
        below,
        direction: if now_band > before_band {
            AlertDirection::Down
        } else {
            AlertDirection::Up
        },
    })
}

/// Data of an `error` event. The stream ends after it: reconnect to resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StreamError {
    /// `relay_unavailable`: the events of this subscription can no longer be delivered (the
    /// fan-out backend failed), so nothing may be concluded from the silence that would follow.
    pub code: String,
    /// What happened, for people.
    pub message: String,
}

/// What a replica sends its local subscribers.
#[derive(Debug, Clone)]
enum Update {
    Event(Message),
    Error(Arc<str>),
}

impl Update {
    fn event(&self) -> Event {
        match self {
            Self::Event(Message::Profile(json)) => {
                Event::default().event("profile").data(json.as_ref())
            }
            Self::Event(Message::Alert(json)) => {
                Event::default().event("health_alert").data(json.as_ref())
            }
            Self::Error(json) => Event::default().event("error").data(json.as_ref()),
        }
    }

    fn is_profile(&self) -> bool {
        matches!(self, Self::Event(Message::Profile(_)))
    }
}

/// A replica's local subscribers of one subscription key.
struct Feed {
    tx: broadcast::Sender<Update>,
    /// The latest profile, for subscribers that join a running feed.
    latest: Mutex<Option<Update>>,
}

impl Feed {
    /// Sends `update` to the subscribers. Under the `latest` lock, so that a joining subscriber
    /// gets every profile exactly once: either as `latest` or through its receiver.
    fn push(&self, update: Update) {
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        if update.is_profile() {
            *latest = Some(update.clone());
        }
        // An error only means nobody listens right now; the next tick retires the feed.
        let _ = self.tx.send(update);
    }

    fn join(&self) -> (Option<Update>, broadcast::Receiver<Update>) {
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        (latest.clone(), self.tx.subscribe())
    }
}

/// What a subscription profiles.
struct Source {
    key: String,
    profiler: Arc<Profiler>,
    accounts: Vec<AccountId>,
    segments: Vec<Segment>,
}

impl Source {
    /// The key is a SHA-256 of the sorted canonical accounts and the segments: the same set
    /// asked for by any tenant, through any route or replica, shares one poller, and the key
    /// names in Redis reveal no account.
    fn new(profiler: Arc<Profiler>, mut accounts: Vec<AccountId>, segments: Vec<Segment>) -> Self {
        accounts.sort();
        accounts.dedup();
        let segment_keys: Vec<Value> = segments
            .iter()
            .map(|s| {
                let mut members: Vec<String> = s.accounts.iter().map(ToString::to_string).collect();
                members.sort();
                serde_json::json!({ "name": s.name, "accounts": members })
            })
            .collect();
        let canonical = serde_json::json!({ "accounts": accounts, "segments": segment_keys });
        let key = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
        Self {
            key,
            profiler,
            accounts,
            segments,
        }
    }
}

/// A poller's memory of what it last published.
struct Poller {
    thresholds: Vec<Decimal>,
    last_points: Option<Value>,
    last_print: Option<Value>,
    last_health: Option<Option<Health>>,
}

fn read_points(profile: &MarginProfile) -> Value {
    serde_json::to_value(
        profile
            .coverage
            .chains
            .iter()
            .map(|c| &c.read_point)
            .collect::<Vec<_>>(),
    )
    .unwrap_or(Value::Null)
}

impl Poller {
    /// A poller that continues from `latest` (what the previous lease holder published), so
    /// a takeover repeats neither the profile nor the alert.
    fn seeded(thresholds: Vec<Decimal>, latest: Option<&Message>) -> Self {
        let mut poller = Self {
            thresholds,
            last_points: None,
            last_print: None,
            last_health: None,
        };
        if let Some(Message::Profile(json)) = latest
            && let Ok(profile) = serde_json::from_str::<MarginProfile>(json)
        {
            poller.last_points = Some(read_points(&profile));
            poller.last_print = Some(fingerprint(&profile));
            poller.last_health = Some(profile.health);
        }
        poller
    }

    /// Reads the profile; what to publish: the profile when a chain advanced and it changed
    /// (always the first time), and an alert when the health crossed a threshold.
    async fn tick(&mut self, source: &Source) -> Vec<Message> {
        let profile = match source
            .profiler
            .profile_segmented(source.accounts.clone(), &source.segments)
            .await
        {
            Ok(profile) => profile,
            Err(error) => {
                // The accounts were validated when the stream opened; this is a bug.
                tracing::error!(%error, "stream poller cannot profile its accounts");
                return Vec::new();
            }
        };
        let points = read_points(&profile);
        let print = fingerprint(&profile);
        let chain_advanced = self.last_points.as_ref() != Some(&points);
        let changed = self.last_print.as_ref() != Some(&print);
        self.last_points = Some(points);
        if !(chain_advanced && changed) && self.last_print.is_some() {
            return Vec::new();
        }
        self.last_print = Some(print);
        let mut out = Vec::with_capacity(2);
        if let Ok(json) = serde_json::to_string(&profile) {
            out.push(Message::Profile(json.into()));
        }
        if let Some(alert) = crossing(self.last_health, profile.health, &self.thresholds)
            && let Ok(json) = serde_json::to_string(&alert)
        {
            out.push(Message::Alert(json.into()));
        }
        self.last_health = Some(profile.health);
        out
    }
}

/// The streams of one replica: its local feeds, one per subscription key with subscribers
/// here, and the [`Fanout`] that decides which replica polls each key.
pub struct StreamHub {
    settings: StreamSettings,
    fanout: Arc<dyn Fanout>,
    /// This replica's name in leases.
    holder: String,
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
    polls: AtomicU64,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("settings", &self.settings)
            .field("fanout", &self.fanout.backend())
            .finish_non_exhaustive()
    }
}

impl Default for StreamHub {
    fn default() -> Self {
        Self::new(StreamSettings::default())
    }
}

impl StreamHub {
    /// A hub for one process (no Redis).
    pub fn new(settings: StreamSettings) -> Self {
        Self::with_fanout(settings, Arc::new(InProcessFanout::default()))
    }

    /// A hub whose subscriptions are shared through `fanout` (e.g. [`RedisFanout`], so that
    /// several replicas run one poller per subscription).
    pub fn with_fanout(settings: StreamSettings, fanout: Arc<dyn Fanout>) -> Self {
        let holder = random_hex(8).unwrap_or_else(|_| {
            // Without OS randomness, the process id and the clock still tell replicas apart.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{}-{nanos}", std::process::id())
        });
        Self {
            settings,
            fanout,
            holder,
            feeds: Mutex::default(),
            polls: AtomicU64::new(0),
        }
    }

    /// How many subscriptions this replica relays (distinct account sets with subscribers here).
    pub fn pollers(&self) -> usize {
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// How many profile reads this replica's pollers made: a replica that does not hold a
    /// subscription's lease relays its events without reading any chain.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// How long a lease lasts without renewal: a few polls, so that a replica that died is
    /// replaced within seconds, while one slow read does not hand the lease over.
    pub fn lease_ttl(&self) -> Duration {
        (self.settings.poll_interval * 5).max(Duration::from_secs(2))
    }

    /// Subscribes to `source`, starting this replica's relay of it if none runs. Fails (503)
    /// when the fan-out cannot be reached, before any event is promised.
    async fn subscribe(
        self: &Arc<Self>,
        source: Source,
    ) -> Result<(Option<Update>, broadcast::Receiver<Update>), ApiError> {
        let (rx, ready) = {
            let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(feed) = feeds.get(&source.key) {
                return Ok(feed.join());
            }
            let (tx, rx) = broadcast::channel(64);
            let feed = Arc::new(Feed {
                tx,
                latest: Mutex::new(None),
            });
            feeds.insert(source.key.clone(), feed.clone());
            let (ready_tx, ready_rx) = oneshot::channel();
            tokio::spawn(self.clone().run(feed, source, ready_tx));
            (rx, ready_rx)
        };
        match ready.await {
            Ok(Ok(())) => Ok((None, rx)),
            Ok(Err(error)) => Err(ApiError::RelayUnavailable(error.to_string())),
            Err(_) => Err(ApiError::Internal(
                "the stream relay stopped before it started".into(),
            )),
        }
    }

    /// Removes the feed if nobody listens any more; decided under the map's lock, so a
    /// subscriber either finds the feed before or starts a new relay after.
    fn retire_if_idle(&self, key: &str, feed: &Arc<Feed>) -> bool {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if feed.tx.receiver_count() > 0 {
            return false;
        }
        if feeds.get(key).is_some_and(|f| Arc::ptr_eq(f, feed)) {
            feeds.remove(key);
        }
        true
    }

    fn forget(&self, key: &str, feed: &Arc<Feed>) {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if feeds.get(key).is_some_and(|f| Arc::ptr_eq(f, feed)) {
            feeds.remove(key);
        }
    }

    /// One feed's life: relay until idle or broken; a broken relay tells its subscribers.
    async fn run(
        self: Arc<Self>,
        feed: Arc<Feed>,
        source: Source,
        ready: oneshot::Sender<Result<(), FanoutError>>,
    ) {
        let outcome = self.relay(&feed, &source, ready).await;
        // First forgotten, so that a new subscriber starts a fresh relay instead of joining
        // this one; then the error, after which the subscribers' streams end.
        self.forget(&source.key, &feed);
        if let Err(error) = &outcome {
            tracing::warn!(%error, "stream relay broke; its subscribers are told and closed");
            let body = StreamError {
                code: "relay_unavailable".to_owned(),
                message: format!("{error}; reconnect to resume"),
            };
            if let Ok(json) = serde_json::to_string(&body) {
                feed.push(Update::Error(json.into()));
            }
        }
        if let Err(error) = self.fanout.release(&source.key, &self.holder).await {
            // The lease lapses on its own within its TTL.
            tracing::debug!(%error, "stream lease not released");
        }
    }

    async fn relay(
        &self,
        feed: &Arc<Feed>,
        source: &Source,
        ready: oneshot::Sender<Result<(), FanoutError>>,
    ) -> Result<(), FanoutError> {
        let key = source.key.as_str();
        // Subscribe before reading the latest profile, so nothing published in between is lost.
        let started = async {
            let subscription = self.fanout.subscribe(key).await?;
            let latest = self.fanout.latest(key).await?;
            Ok::<_, FanoutError>((subscription, latest))
        }
        .await;
        let (mut subscription, latest) = match started {
            Ok(started) => {
                let _ = ready.send(Ok(()));
                started
            }
            Err(error) => {
                let _ = ready.send(Err(error.clone()));
                return Err(error);
            }
        };
        if let Some(message) = latest {
            feed.push(Update::Event(message));
        }
        let ttl = self.lease_ttl();
        let mut poller: Option<Poller> = None;
        let mut ticker = tokio::time::interval(self.settings.poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = subscription.next() => match message {
                    Some(message) => feed.push(Update::Event(message)),
                    None => {
                        return Err(FanoutError::Unavailable(
                            "the event subscription ended".into(),
                        ));
                    }
                },
                _ = ticker.tick() => {
                    if self.retire_if_idle(key, feed) {
                        return Ok(());
                    }
                    if !self.fanout.lease(key, &self.holder, ttl).await? {
                        // Another replica polls; it may be replaced later, and this one then
                        // continues from what that one published.
                        poller = None;
                        continue;
                    }
                    let active = match &mut poller {
                        Some(active) => active,
                        None => poller.insert(Poller::seeded(
                            self.settings.alert_thresholds.clone(),
                            self.fanout.latest(key).await?.as_ref(),
                        )),
                    };
                    self.polls.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("unimargin_stream_polls_total").increment(1);
                    for message in active.tick(source).await {
                        if !self.fanout.publish(key, &self.holder, &message, ttl).await? {
                            // The lease lapsed during the read: the new holder publishes.
                            poller = None;
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// The profile without what changes on every read while the account does not: the read points
/// and timestamps. Two profiles with the same fingerprint say the same thing.
fn fingerprint(profile: &MarginProfile) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for key in [
                    "as_of",
                    "block",
                    "read_point",
                    "age_seconds",
                    "fetched_at",
                    "updated_at",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(profile).unwrap_or(Value::Null);
    strip(&mut value);
    value
}

fn sse(
    first: Option<Update>,
    rx: broadcast::Receiver<Update>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = stream::iter(first.map(|u| Ok(u.event())));
    let rest = stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(update) => return Some((Ok(update.event()), rx)),
                // A slow subscriber skips to the newest events rather than stalling the relay.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(first.chain(rest)).keep_alive(KeepAlive::default())
}

/// `GET /v1/accounts/{account}/stream`.
pub(crate) async fn account_stream(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<StreamHub>>,
    account: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Path(account) = account?;
    let accounts = state.profiler.parse_accounts(&[account])?;
    let source = Source::new(state.profiler.clone(), accounts, Vec::new());
    let (first, rx) = hub.subscribe(source).await?;
    Ok(sse(first, rx))
}

/// `GET /v1/owners/{id}/stream`: the caller's owner set (another tenant's is a 404, exactly
/// like a made-up id), margined with its segments.
pub(crate) async fn owner_stream(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<StreamHub>>,
    Extension(tenancy): Extension<Arc<Tenancy>>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Path(id) = id?;
    let set = crate::html::owner_set_of(&tenancy, &caller.tenant, id).await?;
    let source = Source::new(state.profiler.clone(), set.accounts, set.segments);
    let (first, rx) = hub.subscribe(source).await?;
    Ok(sse(first, rx))
}

#[cfg(test)]
mod tests;
