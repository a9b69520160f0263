//! The orchestration behind every profile: validate the accounts, pin one read point per chain,
//! read every (adapter × account) through the cache, and hand the result to the engine.
//!
//! Both the HTTP API and the CLI's `profile` command go through [`Profiler::profile`], so the two
//! can never disagree about what a profile contains.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use futures::future::join_all;
use tracing::{Instrument, field::Empty};
use unimargin_cache::{Cache, CacheKey, ResilientCache};
use unimargin_engine::{EngineSettings, ProfileInput, compute_profile};
use unimargin_schema::{
    AccountId, AccountIdError, ChainAliases, ChainId, Failure, FailureKind, FailureScope,
    MarginProfile, ProtocolSnapshot, ReadPoint,
};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterRegistry, ChainClient, ChainClients, ChainReader,
    ProtocolAdapter,
};

/// Knobs of the profiler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilerSettings {
    /// Most accounts one profile may cover. Each account costs one read per adapter of its
    /// chain, so the bound keeps one request from fanning out into thousands of RPC calls.
    pub max_accounts: usize,
    /// How long a snapshot stays cached. Keys include the block hash, so the TTL never decides
    /// correctness, only how long an old block's entries occupy memory.
    pub snapshot_ttl: Duration,
}

impl Default for ProfilerSettings {
    fn default() -> Self {
        Self {
            max_accounts: 50,
            snapshot_ttl: Duration::from_secs(60),
        }
    }
}

/// Why a profile was not computed at all. These are all the caller's mistakes (4xx in the
/// API); read failures never end up here, they become [`Failure`]s inside the profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The request named no account.
    #[error("no accounts given: name at least one account")]
    NoAccounts,
    /// The request named more accounts than allowed.
    #[error("{count} accounts given; at most {limit} accounts are allowed per profile")]
    TooManyAccounts {
        /// How many were given (before de-duplication).
        count: usize,
        /// The configured maximum.
        limit: usize,
    },
    /// An account id could not be parsed. The reason is shown in full because the caller has
    /// to see which part (chain, address, checksum) is wrong.
    #[error("{}", invalid_account_message(input, reason))]
    InvalidAccount {
        /// The account as given.
        input: String,
        /// Why it was rejected.
        reason: AccountIdError,
    },
    /// The account is valid, but this deployment does not read its chain.
    #[error(
        "account `{account}` is on chain {chain}, which this deployment does not serve (served: {served})"
    )]
    UnknownChain {
        /// The account.
        account: AccountId,
        /// Its chain.
        chain: ChainId,
        /// The chains that are served, for the message.
        served: String,
    },
}

/// `invalid account `x`: reason`, unless the reason already names the whole input.
fn invalid_account_message(input: &str, reason: &AccountIdError) -> String {
    match reason {
        AccountIdError::Malformed(_) => reason.to_string(),
        _ => format!("invalid account `{input}`: {reason}"),
    }
}

/// Told how the reads of a profile advance. Implementations must be cheap: they are called
/// once per read, from the reading tasks.
pub trait ReadProgress: Send + Sync {
    /// `reads` more steps (the pin, then one per adapter × account) are planned on `chain`.
    fn planned(&self, chain: &ChainId, reads: usize);
    /// One step on `chain` finished; `failed` when it did not yield data.
    fn done(&self, chain: &ChainId, failed: bool);
}

/// How the cache is doing, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheHealth {
    /// `memory` or `redis`.
    pub backend: &'static str,
    /// True when the backend is failing and reads go straight to the chains.
    pub degraded: bool,
}

/// Computes margin profiles: the one place that does I/O on behalf of the engine.
pub struct Profiler {
    clients: ChainClients,
    registry: AdapterRegistry,
    /// Always wrapped here, so a backend outage can only ever turn into misses, and so that
    /// `/readyz` can see the degradation (the `Cache` trait itself does not expose it).
    cache: ResilientCache<Arc<dyn Cache>>,
    engine: EngineSettings,
    aliases: ChainAliases,
    settings: ProfilerSettings,
}

impl std::fmt::Debug for Profiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `ChainClients` prints only chains and settings, never RPC URLs.
        f.debug_struct("Profiler")
            .field("chains", &self.clients.chains().collect::<Vec<_>>())
            .field("registry", &self.registry)
            .field("cache", &self.cache.backend())
            .field("engine", &self.engine)
            .field("settings", &self.settings)
            .finish()
    }
}

/// What reading one chain produced.
struct ChainRead {
    chain: ChainId,
    read_point: Option<ReadPoint>,
    expected: Vec<String>,
    snapshots: Vec<ProtocolSnapshot>,
    failures: Vec<Failure>,
}

/// What reading one (adapter, account) pair produced.
enum PairRead {
    Cached(Vec<ProtocolSnapshot>),
    Fresh(Vec<ProtocolSnapshot>),
    Failed(Failure),
}

impl Profiler {
    /// Builds a profiler.
    ///
    /// `cache` is the raw backend ([`unimargin_cache::MemoryCache`] or
    /// [`unimargin_cache::RedisCache`]); it is wrapped in a [`ResilientCache`] here. Passing an
    /// already wrapped cache also works (the outer wrapper then sees no errors, but `/readyz`
    /// still detects an outage through `ping`, which passes errors through).
    pub fn new(
        clients: ChainClients,
        registry: AdapterRegistry,
        cache: Arc<dyn Cache>,
        engine: EngineSettings,
        aliases: ChainAliases,
        settings: ProfilerSettings,
    ) -> Self {
        Self {
            clients,
            registry,
            cache: ResilientCache::new(cache),
            engine,
            aliases,
            settings,
        }
    }

    /// The engine's settings (risk model, price age), for computations on a profile already
    /// read, such as a what-if simulation.
    pub fn engine(&self) -> &EngineSettings {
        &self.engine
    }

    /// The settings.
    pub fn settings(&self) -> &ProfilerSettings {
        &self.settings
    }

    /// The chain aliases accounts may be written with.
    pub fn aliases(&self) -> &ChainAliases {
        &self.aliases
    }

    /// Every configured protocol market.
    pub fn deployments(&self) -> impl Iterator<Item = &AdapterDescriptor> {
        self.registry
            .adapters()
            .iter()
            .map(|a| a.as_ref().descriptor())
    }

    /// Chains with a client, with the number of protocol markets read on each.
    pub fn chains(&self) -> impl Iterator<Item = (&ChainId, usize)> {
        self.clients
            .chains()
            .map(|c| (c, self.registry.for_chain(c).count()))
    }

    /// Requests sent so far per chain (the clients count them: JSON-RPC over HTTP for EVM and
    /// Solana, HTTP requests with retries for venues), for `/metrics`.
    pub fn rpc_request_counts(&self) -> Vec<(ChainId, u64)> {
        self.clients
            .chains()
            .filter_map(|c| {
                let count = match self.clients.get(c)? {
                    ChainClient::Evm(client) => client.request_count(),
                    ChainClient::Solana(client) => {
                        u64::try_from(client.requests_sent()).unwrap_or(u64::MAX)
                    }
                    ChainClient::Venue(client) => client.stats().requests,
                };
                Some((c.clone(), count))
            })
            .collect()
    }

    /// Pins every served chain once, each bounded by `timeout`, for `/readyz`: the block (or
    /// slot) number pinned, or why not.
    pub async fn probe_chains(&self, timeout: Duration) -> Vec<(ChainId, Result<u64, String>)> {
        let probes = self
            .clients
            .chains()
            .filter_map(|c| self.clients.get(c))
            .map(|client| async move {
                let result = match tokio::time::timeout(timeout, client.pin()).await {
                    Ok(Ok(reader)) => Ok(reader.read_point().cache_label().0),
                    Ok(Err(err)) => Err(redact_urls(&err.to_string())),
                    Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
                };
                (client.chain().clone(), result)
            });
        join_all(probes).await
    }

    /// Probes the cache backend (bounded by the backend's own timeout).
    pub async fn cache_health(&self) -> CacheHealth {
        let ping_failed = self.cache.ping().await.is_err();
        CacheHealth {
            backend: self.cache.backend(),
            degraded: ping_failed || self.cache.degraded(),
        }
    }

    /// Parses account ids as a client writes them (CAIP-10 or `alias:address`), checking the
    /// count first so an oversized request is rejected before any parsing.
    pub fn parse_accounts<S: AsRef<str>>(
        &self,
        inputs: &[S],
    ) -> Result<Vec<AccountId>, ProfileError> {
        self.check_count(inputs.len())?;
        inputs
            .iter()
            .map(|s| {
                let input = s.as_ref();
                AccountId::parse_with_aliases(input, &self.aliases).map_err(|reason| {
                    ProfileError::InvalidAccount {
                        input: input.to_owned(),
                        reason,
                    }
                })
            })
            .collect()
    }

    fn check_count(&self, count: usize) -> Result<(), ProfileError> {
        if count == 0 {
            return Err(ProfileError::NoAccounts);
        }
        if count > self.settings.max_accounts {
            return Err(ProfileError::TooManyAccounts {
                count,
                limit: self.settings.max_accounts,
            });
        }
        Ok(())
    }

    /// Validates and groups accounts by chain (each group sorted and de-duplicated).
    /// Validates and groups accounts by chain, each group with its client (sorted, without
    /// duplicates). Returning the client with the group means no later step can meet a chain
    /// without one.
    fn group(
        &self,
        accounts: Vec<AccountId>,
    ) -> Result<Vec<(&ChainClient, Vec<AccountId>)>, ProfileError> {
        self.check_count(accounts.len())?;
        let mut by_chain: BTreeMap<ChainId, (&ChainClient, BTreeSet<AccountId>)> = BTreeMap::new();
        for account in accounts {
            let Some(client) = self.clients.get(account.chain()) else {
                return Err(ProfileError::UnknownChain {
                    chain: account.chain().clone(),
                    account,
                    served: self.served_chains(),
                });
            };
            by_chain
                .entry(account.chain().clone())
                .or_insert_with(|| (client, BTreeSet::new()))
                .1
                .insert(account);
        }
        Ok(by_chain
            .into_values()
            .map(|(client, accounts)| (client, accounts.into_iter().collect()))
            .collect())
    }

    fn served_chains(&self) -> String {
        let names: Vec<String> = self
            .clients
            .chains()
            .map(|c| match self.aliases.name_of(c) {
                Some(alias) => format!("{c} ({alias})"),
                None => c.to_string(),
            })
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// Computes the profile of `accounts`.
    ///
    /// Errors only for invalid requests ([`ProfileError`]). Read failures (an RPC outage, a
    /// revert, a stale price) are reported inside the profile, which is then incomplete: the
    /// caller decides how to present that (the API answers 502/504 with the partial profile).
    pub async fn profile(&self, accounts: Vec<AccountId>) -> Result<MarginProfile, ProfileError> {
        self.profile_segmented(accounts, &[]).await
    }

    /// Checks that every account's chain is served, without reading anything (owner sets are
    /// checked when they are registered).
    pub fn check_served(&self, accounts: &[AccountId]) -> Result<(), ProfileError> {
        self.group(accounts.to_vec()).map(drop)
    }

    /// [`Profiler::profile`], with each of `segments` also margined on its own
    /// ([`unimargin_engine::compute_segmented_profile`]).
    pub async fn profile_segmented(
        &self,
        accounts: Vec<AccountId>,
        segments: &[unimargin_schema::Segment],
    ) -> Result<MarginProfile, ProfileError> {
        self.profile_with_progress(accounts, segments, None).await
    }

    /// [`Profiler::profile_segmented`], telling `progress` how the reads advance (the CLI's
    /// progress bar for long multi-chain reads).
    pub async fn profile_with_progress(
        &self,
        accounts: Vec<AccountId>,
        segments: &[unimargin_schema::Segment],
        progress: Option<&dyn ReadProgress>,
    ) -> Result<MarginProfile, ProfileError> {
        let groups = self.group(accounts)?;
        let accounts: Vec<AccountId> = groups
            .iter()
            .flat_map(|(_, accounts)| accounts.iter().cloned())
            .collect();
        let span = tracing::info_span!("profile", accounts = accounts.len(), chains = groups.len());
        let reads = join_all(
            groups
                .iter()
                .map(|(client, accounts)| self.read_chain(client, accounts, progress)),
        )
        .instrument(span)
        .await;

        let mut input = ProfileInput {
            accounts,
            snapshots: Vec::new(),
            failures: Vec::new(),
            expected: BTreeMap::new(),
            read_points: BTreeMap::new(),
            as_of: chrono::Utc::now(),
        };
        for read in reads {
            input.expected.insert(read.chain.clone(), read.expected);
            input.read_points.insert(read.chain, read.read_point);
            input.snapshots.extend(read.snapshots);
            input.failures.extend(read.failures);
        }
        if segments.is_empty() {
            Ok(compute_profile(input, &self.engine))
        } else {
            Ok(unimargin_engine::compute_segmented_profile(
                input,
                segments,
                &self.engine,
            ))
        }
    }

    /// Pins `client`'s chain once and reads every (adapter × account) pair at that read point.
    async fn read_chain(
        &self,
        client: &ChainClient,
        accounts: &[AccountId],
        progress: Option<&dyn ReadProgress>,
    ) -> ChainRead {
        let chain = client.chain().clone();
        // Borrowed from `client`, not `chain`: `for_chain` ties its items to the chain's lifetime.
        let adapters: Vec<&Arc<dyn ProtocolAdapter>> =
            self.registry.for_chain(client.chain()).collect();
        // Adapters that discover markets at read time cannot be expected by market: their
        // failures are still reported, but "no snapshot" means "no market" for them.
        let expected = adapters
            .iter()
            .filter(|a| !a.as_ref().discovers_markets())
            .map(|a| label(a.as_ref().descriptor()))
            .collect();
        let span = tracing::info_span!(
            "chain",
            chain = %chain,
            accounts = accounts.len(),
            adapters = adapters.len(),
            block = Empty,
            cache_hits = Empty,
            cache_misses = Empty,
            failures = Empty,
        );
        let mut out = ChainRead {
            chain,
            read_point: None,
            expected,
            snapshots: Vec::new(),
            failures: Vec::new(),
        };
        let planned = adapters.len() * accounts.len();
        if let Some(p) = progress {
            // The pin, then every (adapter × account) read.
            p.planned(&out.chain, planned + 1);
        }
        async {
            let pinned = client.pin().await;
            if let Some(p) = progress {
                p.done(&out.chain, pinned.is_err());
            }
            let reader = match pinned {
                Ok(reader) => reader,
                Err(err) => {
                    if let Some(p) = progress {
                        // Nothing more is read on this chain.
                        (0..planned).for_each(|_| p.done(&out.chain, true));
                    }
                    let failure = Failure {
                        scope: FailureScope { chain: Some(out.chain.clone()), ..FailureScope::default() },
                        kind: err.failure_kind(),
                        message: redact_urls(&err.to_string()),
                    };
                    crate::metrics::record_rpc_error(&out.chain, "pin", failure.kind);
                    tracing::warn!(kind = ?failure.kind, error = %failure.message, "could not pin a read point");
                    out.failures.push(failure);
                    return;
                }
            };
            let read_point = reader.read_point();
            let (number, _) = read_point.cache_label();
            tracing::Span::current().record("block", number);
            let pairs = adapters
                .iter()
                .flat_map(|adapter| accounts.iter().map(move |account| (adapter, account)))
                .map(|(adapter, account)| async {
                    let read = self.read_pair(&reader, adapter.as_ref(), account, &read_point).await;
                    if let Some(p) = progress {
                        p.done(client.chain(), matches!(read, PairRead::Failed(_)));
                    }
                    read
                });
            let (mut hits, mut misses) = (0usize, 0usize);
            for read in join_all(pairs).await {
                match read {
                    PairRead::Cached(s) => {
                        hits += 1;
                        out.snapshots.extend(s);
                    }
                    PairRead::Fresh(s) => {
                        misses += 1;
                        out.snapshots.extend(s);
                    }
                    PairRead::Failed(f) => {
                        misses += 1;
                        out.failures.push(f);
                    }
                }
            }
            let span = tracing::Span::current();
            span.record("cache_hits", hits);
            span.record("cache_misses", misses);
            metrics::counter!(crate::metrics::CACHE_HITS).increment(u64::try_from(hits).unwrap_or(u64::MAX));
            metrics::counter!(crate::metrics::CACHE_MISSES).increment(u64::try_from(misses).unwrap_or(u64::MAX));
            span.record("failures", out.failures.len());
            tracing::debug!(hits, misses, failures = out.failures.len(), "chain read");
            out.read_point = Some(read_point);
        }
        .instrument(span)
        .await;
        out
    }

    /// Reads one account on one protocol market: from the cache when this exact read point was
    /// read before, else from the adapter (then cached).
    async fn read_pair(
        &self,
        reader: &ChainReader,
        adapter: &dyn ProtocolAdapter,
        account: &AccountId,
        read_point: &ReadPoint,
    ) -> PairRead {
        let d = adapter.descriptor();
        let (number, hash) = read_point.cache_label();
        let key = CacheKey::snapshot(
            &d.chain.to_string(),
            number,
            &hash,
            d.protocol.as_str(),
            &d.market.0,
            &account.to_string(),
        );
        let discovers = adapter.discovers_markets();
        if let Some(snapshots) = self.cached(&key, d, discovers, account, read_point).await {
            crate::metrics::record_adapter_read(d, "cached");
            return PairRead::Cached(snapshots);
        }
        let scope = FailureScope {
            chain: Some(d.chain.clone()),
            protocol: Some(d.protocol.clone()),
            market: Some(d.market.clone()),
            account: Some(account.clone()),
        };
        match adapter.snapshots(reader, account).await {
            Ok(snapshots) => {
                if let Some(why) = snapshots
                    .iter()
                    .find_map(|s| matches_request(s, d, discovers, account, read_point).err())
                {
                    // An adapter bug: never count (or cache) a snapshot of something else.
                    tracing::error!(protocol = %d.protocol, market = %d.market, %why, "adapter returned a mismatched snapshot");
                    crate::metrics::record_adapter_read(d, "failed");
                    crate::metrics::record_rpc_error(&d.chain, &d.kind, FailureKind::Internal);
                    return PairRead::Failed(Failure {
                        scope,
                        kind: FailureKind::Internal,
                        message: why,
                    });
                }
                self.store(&key, &snapshots).await;
                crate::metrics::record_adapter_read(d, "fresh");
                PairRead::Fresh(snapshots)
            }
            Err(err) => {
                crate::metrics::record_adapter_read(d, "failed");
                crate::metrics::record_rpc_error(&d.chain, &d.kind, err.failure_kind());
                PairRead::Failed(adapter_failure(scope, &err))
            }
        }
    }

    /// A cached snapshot for `key`, or `None` on a miss. A corrupt or mismatched entry is a
    /// miss: the cache is an optimisation and must never change an answer.
    async fn cached(
        &self,
        key: &CacheKey,
        d: &AdapterDescriptor,
        discovers: bool,
        account: &AccountId,
        read_point: &ReadPoint,
    ) -> Option<Vec<ProtocolSnapshot>> {
        // `ResilientCache` never returns an error; `.ok()` only keeps this free of unwraps.
        let bytes = self.cache.get(key).await.ok().flatten()?;
        match serde_json::from_slice::<Vec<ProtocolSnapshot>>(&bytes) {
            Ok(snapshots) => match snapshots
                .iter()
                .try_for_each(|s| matches_request(s, d, discovers, account, read_point))
            {
                Ok(()) => Some(snapshots),
                Err(why) => {
                    tracing::warn!(key = %key, %why, "cached snapshot does not match its key; reading directly");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(key = %key, %error, "corrupt cached snapshot; reading directly");
                None
            }
        }
    }

    async fn store(&self, key: &CacheKey, snapshots: &[ProtocolSnapshot]) {
        match serde_json::to_vec(snapshots) {
            // `ResilientCache::put` never fails; a backend error was already logged by it.
            Ok(bytes) => {
                let _ = self
                    .cache
                    .put(key, &bytes, self.settings.snapshot_ttl)
                    .await;
            }
            Err(error) => {
                tracing::error!(key = %key, %error, "could not serialize a snapshot for the cache")
            }
        }
    }
}

/// `protocol/market`, the label the engine expects per chain.
fn label(d: &AdapterDescriptor) -> String {
    format!("{}/{}", d.protocol, d.market)
}

/// Checks that a snapshot is the one asked for: same protocol market, account and read point.
/// An adapter that discovers markets may report any market of its protocol.
fn matches_request(
    s: &ProtocolSnapshot,
    d: &AdapterDescriptor,
    discovers: bool,
    account: &AccountId,
    read_point: &ReadPoint,
) -> Result<(), String> {
    let p = &s.provenance;
    if p.chain != d.chain || p.protocol != d.protocol || (p.market != d.market && !discovers) {
        return Err(format!(
            "snapshot is of {}/{} on {}, expected {} on {}",
            p.protocol,
            p.market,
            p.chain,
            label(d),
            d.chain
        ));
    }
    if &p.account != account {
        return Err(format!(
            "snapshot is of account {}, expected {account}",
            p.account
        ));
    }
    if p.read_point.cache_label() != read_point.cache_label() {
        let (got, _) = p.read_point.cache_label();
        let (want, _) = read_point.cache_label();
        return Err(format!(
            "snapshot was read at {got}, expected the pinned {want}"
        ));
    }
    Ok(())
}

fn adapter_failure(scope: FailureScope, err: &AdapterError) -> Failure {
    let failure = Failure {
        scope,
        kind: err.failure_kind(),
        message: redact_urls(&err.to_string()),
    };
    tracing::warn!(
        protocol = ?failure.scope.protocol.as_ref().map(|p| p.as_str()),
        account = ?failure.scope.account.as_ref().map(|a| a.to_string()),
        kind = ?failure.kind,
        error = %failure.message,
        "adapter read failed"
    );
    failure
}

/// Replaces every URL in `s` with `<url>`.
///
/// Transport errors (reqwest's in particular) name the URL they failed on, and RPC URLs often
/// embed an API key. Failure messages go to clients and to logs, so they are scrubbed here, at
/// the one place every adapter error passes through.
pub(crate) fn redact_urls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(sep) = rest.find("://") {
        let scheme_start = rest[..sep]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        if scheme_start == sep {
            // `://` without a scheme: not a URL, keep it.
            out.push_str(&rest[..sep + 3]);
            rest = &rest[sep + 3..];
            continue;
        }
        out.push_str(&rest[..scheme_start]);
        out.push_str("<url>");
        let after = &rest[sep + 3..];
        let end = after
            .find(|c: char| {
                c.is_whitespace() || matches!(c, ')' | ']' | '>' | '"' | '\'' | ',' | '`')
            })
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
