//! Server-Sent Events: a profile pushed when a covered chain advances and the profile changed,
//! and a health alert when the health crosses a configured threshold.
//!
//! One poller per subscription key (the sorted canonical account list) is shared by every
//! subscriber through a `tokio::sync::broadcast` channel; it stops when the last subscriber
//! leaves. Each tick re-reads the profile: the snapshot cache is keyed by block, so a tick on
//! an unchanged chain costs one pin per chain and no adapter reads. A new subscriber first gets
//! the latest profile, then the changes.
//!
//! Fail closed: a profile that became incomplete is pushed (its `coverage` says what failed) and
//! counts as the lowest health band, so it raises an alert rather than going quiet.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex, PoisonError},
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
use tokio::sync::broadcast;
use unimargin_schema::{AccountId, Health, MarginProfile};

use crate::{error::ApiError, profiler::Profiler, state::AppState};

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

/// What a poller broadcasts.
#[derive(Debug, Clone)]
enum Update {
    Profile(Arc<str>),
    Alert(Arc<str>),
}

impl Update {
    fn event(&self) -> Event {
        match self {
            Self::Profile(json) => Event::default().event("profile").data(json.as_ref()),
            Self::Alert(json) => Event::default().event("health_alert").data(json.as_ref()),
        }
    }
}

struct Feed {
    tx: broadcast::Sender<Update>,
    /// The latest profile, for subscribers that join a running poller.
    last: Mutex<Option<Update>>,
}

/// The pollers, one per subscription key.
#[derive(Default)]
pub struct StreamHub {
    settings: StreamSettings,
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl StreamHub {
    /// A hub with no pollers yet.
    pub fn new(settings: StreamSettings) -> Self {
        Self {
            settings,
            feeds: Mutex::default(),
        }
    }

    /// How many pollers run (one per distinct account set with subscribers).
    pub fn pollers(&self) -> usize {
        self.feeds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Subscribes to `accounts`, starting their poller if none runs.
    fn subscribe(
        self: &Arc<Self>,
        profiler: Arc<Profiler>,
        accounts: Vec<AccountId>,
    ) -> (Option<Update>, broadcast::Receiver<Update>) {
        let mut keys: Vec<String> = accounts.iter().map(ToString::to_string).collect();
        keys.sort();
        keys.dedup();
        let key = keys.join(",");
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(feed) = feeds.get(&key) {
            let last = feed
                .last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            return (last, feed.tx.subscribe());
        }
        let (tx, rx) = broadcast::channel(64);
        let feed = Arc::new(Feed {
            tx,
            last: Mutex::new(None),
        });
        feeds.insert(key.clone(), feed.clone());
        tokio::spawn(poll(self.clone(), key, feed, profiler, accounts));
        (None, rx)
    }

    /// Removes the feed if nobody listens any more; decided under the map's lock, so a
    /// subscriber either finds the feed before or starts a new poller after.
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

async fn poll(
    hub: Arc<StreamHub>,
    key: String,
    feed: Arc<Feed>,
    profiler: Arc<Profiler>,
    accounts: Vec<AccountId>,
) {
    let thresholds = hub.settings.alert_thresholds.clone();
    let mut ticker = tokio::time::interval(hub.settings.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_points: Option<Value> = None;
    let mut last_print: Option<Value> = None;
    let mut last_health: Option<Option<Health>> = None;
    loop {
        ticker.tick().await;
        if hub.retire_if_idle(&key, &feed) {
            return;
        }
        let profile = match profiler.profile(accounts.clone()).await {
            Ok(profile) => profile,
            Err(error) => {
                // The accounts were validated when the stream opened; this is a bug.
                tracing::error!(%error, "stream poller cannot profile its accounts");
                continue;
            }
        };
        let points = serde_json::to_value(
            profile
                .coverage
                .chains
                .iter()
                .map(|c| &c.read_point)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(Value::Null);
        let print = fingerprint(&profile);
        let chain_advanced = last_points.as_ref() != Some(&points);
        let changed = last_print.as_ref() != Some(&print);
        last_points = Some(points);
        if !(chain_advanced && changed) && last_print.is_some() {
            continue;
        }
        last_print = Some(print);
        if let Ok(json) = serde_json::to_string(&profile) {
            let update = Update::Profile(json.into());
            *feed.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(update.clone());
            // An error only means nobody listens right now; the next tick retires the poller.
            let _ = feed.tx.send(update);
        }
        if let Some(alert) = crossing(last_health, profile.health, &thresholds)
            && let Ok(json) = serde_json::to_string(&alert)
        {
            let _ = feed.tx.send(Update::Alert(json.into()));
        }
        last_health = Some(profile.health);
    }
}

/// `GET /v1/accounts/{account}/stream`.
pub(crate) async fn account_stream(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<StreamHub>>,
    account: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Path(account) = account?;
    let accounts = state.profiler.parse_accounts(&[account])?;
    let (first, rx) = hub.subscribe(state.profiler.clone(), accounts);
    let first = stream::iter(first.map(|u| Ok(u.event())));
    let rest = stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(update) => return Some((Ok(update.event()), rx)),
                // A slow subscriber skips to the newest events rather than stalling the poller.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(first.chain(rest)).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests;
