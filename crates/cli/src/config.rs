//! Configuration: TOML files in `config/`, every value overridable by `UNIMARGIN_…` environment
//! variables (nested keys joined by `__`), validated at start-up with messages naming the key.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::Deserialize;
use unimargin_cache::{Cache, MemoryCache, RedisCache, RedisOptions};
use unimargin_engine::EngineSettings;
use unimargin_schema::{ChainAliases, ChainId, MarketId, ProtocolId};
use unimargin_sdk::{
    AdapterRegistry, ChainClient, ChainClients, DeploymentSpec,
    evm::{EvmClient, EvmSettings},
    venue::{RateBudget, RetryPolicy, VenueClient, VenueClock, VenueSettings},
};
use unimargin_server::{
    AppState, AttestationSettings, Attestor, Profiler, ProfilerSettings, ServerSettings,
    StreamSettings,
};

/// Environment variables of the project that are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &[
    "CONFIG",
    "REDIS_URL",
    "ANVIL",
    "TOOLS_DIR",
    "PROTOCOL_ABIS",
    "REDIS_SERVER",
    "LOG",
    "LOG_FORMAT",
    "TEST_VECTORS",
];

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    pub(crate) server: ServerConfig,
    #[serde(default)]
    pub(crate) cache: CacheConfig,
    #[serde(default)]
    pub(crate) risk: EngineSettings,
    /// The risk model (`risk.toml`: haircuts, correlation, scenario grid), relative to this file;
    /// merged under `risk.model` before environment overrides. Absent: the engine's generic model.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "read through figment in `load`; the field makes `deny_unknown_fields` accept the key"
    )]
    pub(crate) risk_file: Option<PathBuf>,
    #[serde(default)]
    pub(crate) chains: BTreeMap<String, ChainConfig>,
    #[serde(default)]
    pub(crate) deployments: Vec<DeploymentConfig>,
    #[serde(default)]
    pub(crate) attestation: AttestationConfig,
    #[serde(default)]
    pub(crate) stream: StreamConfig,
    #[serde(default)]
    pub(crate) auth: crate::auth::AuthConfig,
}

/// `[stream]`: Server-Sent Events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StreamConfig {
    /// How often a stream's poller re-reads its profile.
    pub(crate) poll_interval_ms: u64,
    /// Health levels whose crossing raises a `health_alert`, as decimal strings (`"1.2"`).
    pub(crate) alert_thresholds: Vec<String>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        let defaults = StreamSettings::default();
        Self {
            poll_interval_ms: u64::try_from(defaults.poll_interval.as_millis()).unwrap_or(2_000),
            alert_thresholds: defaults
                .alert_thresholds
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

impl StreamConfig {
    pub(crate) fn settings(&self) -> anyhow::Result<StreamSettings> {
        if self.poll_interval_ms < 100 {
            bail!("stream.poll_interval_ms must be at least 100");
        }
        let alert_thresholds = self
            .alert_thresholds
            .iter()
            .map(|t| {
                t.parse()
                    .map_err(|_| anyhow!("stream.alert_thresholds: `{t}` is not a decimal number"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(StreamSettings {
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            alert_thresholds,
        })
    }
}

/// `[attestation]`: EIP-712 signed profiles (`?signed=true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AttestationConfig {
    /// Whether profiles can be requested signed; requires `signing_key`.
    pub(crate) enabled: bool,
    /// 32-byte hex secp256k1 secret key; best given as `UNIMARGIN_ATTESTATION__SIGNING_KEY`.
    pub(crate) signing_key: Option<String>,
    /// Seconds an attestation stays valid.
    pub(crate) ttl_secs: u64,
}

impl Default for AttestationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            signing_key: None,
            ttl_secs: 60,
        }
    }
}

impl AttestationConfig {
    /// The signer, `None` when disabled; an error naming the key when enabled without a usable key.
    pub(crate) fn attestor(&self) -> anyhow::Result<Option<Arc<Attestor>>> {
        if !self.enabled {
            return Ok(None);
        }
        if self.ttl_secs == 0 {
            bail!("attestation.ttl_secs must be at least 1");
        }
        let settings = AttestationSettings {
            ttl: Duration::from_secs(self.ttl_secs),
        };
        let Some(key) = self.signing_key.as_deref().filter(|k| !k.trim().is_empty()) else {
            bail!(
                "attestation.enabled = true but attestation.signing_key is not set \
                 (set UNIMARGIN_ATTESTATION__SIGNING_KEY to a 32-byte hex secp256k1 key)"
            );
        };
        // The key itself never appears in the message.
        let attestor = Attestor::from_hex_key(key, settings)
            .map_err(|e| anyhow!("attestation.signing_key: {e}"))?;
        Ok(Some(Arc::new(attestor)))
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServerConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) body_limit_bytes: usize,
    pub(crate) request_timeout_ms: u64,
    pub(crate) max_accounts: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 64 * 1024,
            request_timeout_ms: 30_000,
            max_accounts: 50,
        }
    }
}

/// `[cache]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CacheConfig {
    /// Redis URL; absent = the in-memory cache.
    pub(crate) redis_url: Option<String>,
    pub(crate) redis_key_prefix: String,
    pub(crate) redis_timeout_ms: u64,
    pub(crate) memory_max_entries: usize,
    pub(crate) snapshot_ttl_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            redis_key_prefix: String::new(),
            redis_timeout_ms: 500,
            memory_max_entries: MemoryCache::DEFAULT_MAX_ENTRIES,
            snapshot_ttl_secs: 60,
        }
    }
}

/// `[chains.<alias>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChainConfig {
    /// CAIP-2 id.
    pub(crate) id: String,
    /// JSON-RPC endpoint (EVM, Solana); unused by venues, which have `base_url`.
    #[serde(default)]
    pub(crate) rpc_url: String,
    #[serde(default = "default_rpc_timeout")]
    pub(crate) request_timeout_ms: u64,
    #[serde(default)]
    pub(crate) confirmations: u64,
    #[serde(default = "default_batch")]
    pub(crate) max_calls_per_batch: usize,
    /// Chain family: `evm` (default), `solana` or `venue` (an HTTP API such as Hyperliquid's).
    #[serde(default)]
    pub(crate) kind: Option<String>,
    /// Venue only: the API's base URL (request paths are appended to it).
    #[serde(default)]
    pub(crate) base_url: Option<String>,
    /// Venue only: rate budget in the venue's weight units (burst, and refill per minute).
    #[serde(default)]
    pub(crate) rate_limit_burst: Option<u32>,
    #[serde(default)]
    pub(crate) rate_limit_per_minute: Option<u32>,
    /// Venue only: retries of 429 / 5xx answers and their backoff bounds.
    #[serde(default)]
    pub(crate) max_retries: Option<u32>,
    #[serde(default)]
    pub(crate) retry_base_ms: Option<u64>,
    #[serde(default)]
    pub(crate) retry_max_ms: Option<u64>,
    /// Venue only: the request that gives the venue's time (absent: the local clock).
    #[serde(default)]
    pub(crate) clock: Option<VenueClockConfig>,
    /// Solana only: commitment for every read, `processed`, `confirmed` (default) or `finalized`.
    #[serde(default)]
    pub(crate) commitment: Option<String>,
}

/// `[chains.<alias>.clock]` of a venue: `POST body to path`; the reply's JSON at `pointer` is the
/// venue's time in milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VenueClockConfig {
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) pointer: String,
    #[serde(default = "default_clock_weight")]
    pub(crate) weight: u32,
}

fn default_clock_weight() -> u32 {
    1
}

impl ChainConfig {
    /// Whether this is an HTTP venue.
    pub(crate) fn is_venue(&self) -> bool {
        self.kind.as_deref() == Some("venue")
    }

    /// The venue client's settings, validated.
    pub(crate) fn venue_settings(&self) -> anyhow::Result<VenueSettings> {
        let defaults = VenueSettings::default();
        let rate = RateBudget {
            burst: self.rate_limit_burst.unwrap_or(defaults.rate.burst),
            per_minute: self
                .rate_limit_per_minute
                .unwrap_or(defaults.rate.per_minute),
        };
        if rate.burst == 0 || rate.per_minute == 0 {
            bail!("rate_limit_burst and rate_limit_per_minute must be positive");
        }
        let retry = RetryPolicy {
            max_retries: self.max_retries.unwrap_or(defaults.retry.max_retries),
            base_delay: self
                .retry_base_ms
                .map_or(defaults.retry.base_delay, Duration::from_millis),
            max_delay: self
                .retry_max_ms
                .map_or(defaults.retry.max_delay, Duration::from_millis),
        };
        let clock = match &self.clock {
            None => VenueClock::Local,
            Some(c) => VenueClock::Request {
                path: c.path.clone(),
                body: c.body.clone().unwrap_or_else(|| serde_json::json!({})),
                pointer: c.pointer.clone(),
                weight: c.weight,
            },
        };
        Ok(VenueSettings {
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            rate,
            retry,
            clock,
        })
    }

    /// Whether this is a Solana cluster.
    pub(crate) fn is_solana(&self) -> bool {
        self.kind.as_deref() == Some("solana")
    }

    /// The Solana commitment level, validated.
    pub(crate) fn solana_commitment(
        &self,
    ) -> anyhow::Result<unimargin_sdk::solana::CommitmentLevel> {
        use unimargin_sdk::solana::CommitmentLevel;
        match self.commitment.as_deref().unwrap_or("confirmed") {
            "processed" => Ok(CommitmentLevel::Processed),
            "confirmed" => Ok(CommitmentLevel::Confirmed),
            "finalized" => Ok(CommitmentLevel::Finalized),
            other => bail!("`{other}` is not a commitment (processed, confirmed, finalized)"),
        }
    }
}

fn default_rpc_timeout() -> u64 {
    10_000
}

fn default_batch() -> usize {
    300
}

/// `[[deployments]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeploymentConfig {
    pub(crate) protocol: String,
    #[serde(default)]
    pub(crate) kind: Option<String>,
    /// Chain alias (a key of `[chains]`) or CAIP-2 id.
    pub(crate) chain: String,
    pub(crate) market: String,
    #[serde(default)]
    pub(crate) params: serde_json::Value,
}

impl Config {
    /// Loads `path` (or `$UNIMARGIN_CONFIG`, or `config/default.toml`) with environment overrides.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<(Self, PathBuf)> {
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("UNIMARGIN_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("config/default.toml"));
        if !path.exists() {
            bail!(
                "configuration file {} not found (set --config or UNIMARGIN_CONFIG)",
                path.display()
            );
        }
        let env = || {
            Env::prefixed("UNIMARGIN_")
                .ignore(NON_CONFIG_ENV)
                .split("__")
        };
        let mut figment = Figment::new().merge(Toml::file(&path));
        if let Ok(file) = figment
            .clone()
            .merge(env())
            .extract_inner::<PathBuf>("risk_file")
        {
            figment = figment.merge(Serialized::default("risk.model", risk_model(&path, &file)?));
        }
        let figment = figment.merge(env()).merge(
            Env::raw()
                .only(&["UNIMARGIN_REDIS_URL"])
                .map(|_| "cache.redis_url".into()),
        );
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow!("invalid configuration ({}): {e}", path.display()))?;
        config.validate()?;
        Ok((config, path))
    }

    /// Checks what serde cannot: ids, URLs, references between sections.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        self.risk
            .model
            .validate()
            .context("risk model (risk_file)")?;
        let aliases = self.aliases()?;
        for (name, chain) in &self.chains {
            if chain.is_venue() {
                url_ok(chain.base_url.as_deref().unwrap_or_default())
                    .with_context(|| format!("chains.{name}.base_url"))?;
                chain
                    .venue_settings()
                    .with_context(|| format!("chains.{name}"))?;
            } else {
                url_ok(&chain.rpc_url).with_context(|| format!("chains.{name}.rpc_url"))?;
            }
            if chain.request_timeout_ms == 0 {
                bail!("chains.{name}.request_timeout_ms must be positive");
            }
            match chain.kind.as_deref() {
                None | Some("evm") => {}
                Some("solana") => {
                    chain
                        .solana_commitment()
                        .with_context(|| format!("chains.{name}.commitment"))?;
                }
                Some("venue") => {}
                Some(other) => {
                    bail!("chains.{name}.kind: `{other}` is not a chain kind (evm, solana, venue)")
                }
            }
        }
        for (i, d) in self.deployments.iter().enumerate() {
            ProtocolId::new(&d.protocol).with_context(|| format!("deployments[{i}].protocol"))?;
            let chain = ChainId::parse_with_aliases(&d.chain, &aliases)
                .with_context(|| format!("deployments[{i}].chain"))?;
            if !self
                .chains
                .values()
                .any(|c| c.id.parse::<ChainId>().ok().as_ref() == Some(&chain))
            {
                bail!(
                    "deployments[{i}].chain: `{}` has no [chains] entry with an rpc_url",
                    d.chain
                );
            }
        }
        if self.server.body_limit_bytes == 0 || self.server.max_accounts == 0 {
            bail!("server.body_limit_bytes and server.max_accounts must be positive");
        }
        Ok(())
    }

    /// `[chains]` keys as aliases of their ids.
    pub(crate) fn aliases(&self) -> anyhow::Result<ChainAliases> {
        let mut aliases = ChainAliases::new();
        for (name, chain) in &self.chains {
            let id: ChainId = chain
                .id
                .parse()
                .with_context(|| format!("chains.{name}.id"))?;
            aliases.insert(name, id);
        }
        Ok(aliases)
    }

    /// Deployments as the registry wants them.
    pub(crate) fn deployment_specs(&self) -> anyhow::Result<Vec<DeploymentSpec>> {
        let aliases = self.aliases()?;
        self.deployments
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(DeploymentSpec {
                    protocol: ProtocolId::new(&d.protocol)
                        .with_context(|| format!("deployments[{i}].protocol"))?,
                    kind: d.kind.clone(),
                    chain: ChainId::parse_with_aliases(&d.chain, &aliases)
                        .with_context(|| format!("deployments[{i}].chain"))?,
                    market: MarketId(d.market.clone()),
                    params: d.params.clone(),
                })
            })
            .collect()
    }

    /// Everything the server needs, with the adapters of `registry` built from the deployments.
    pub(crate) async fn runtime(&self, mut registry: AdapterRegistry) -> anyhow::Result<AppState> {
        registry.build_all(&self.deployment_specs()?)?;
        let mut clients = ChainClients::new();
        for (name, c) in &self.chains {
            let id: ChainId = c.id.parse().with_context(|| format!("chains.{name}.id"))?;
            if c.is_venue() {
                let settings = c
                    .venue_settings()
                    .with_context(|| format!("chains.{name}"))?;
                let client =
                    VenueClient::new(id, c.base_url.as_deref().unwrap_or_default(), settings)
                        .with_context(|| format!("chains.{name}.base_url"))?;
                clients.insert(ChainClient::Venue(Arc::new(client)));
                continue;
            }
            if c.is_solana() {
                let settings = unimargin_sdk::solana::SolanaSettings {
                    commitment: c
                        .solana_commitment()
                        .with_context(|| format!("chains.{name}.commitment"))?,
                    request_timeout: Duration::from_millis(c.request_timeout_ms),
                    ..unimargin_sdk::solana::SolanaSettings::default()
                };
                let client = unimargin_sdk::solana::SolanaClient::http(id, &c.rpc_url, settings)
                    .with_context(|| format!("chains.{name}.rpc_url"))?;
                clients.insert(ChainClient::Solana(Arc::new(client)));
                continue;
            }
            let settings = EvmSettings {
                request_timeout: Duration::from_millis(c.request_timeout_ms),
                confirmations: c.confirmations,
                max_calls_per_batch: c.max_calls_per_batch.max(1),
                ..EvmSettings::default()
            };
            let client = EvmClient::http(id, &c.rpc_url, settings)
                .with_context(|| format!("chains.{name}.rpc_url"))?;
            clients.insert(ChainClient::Evm(Arc::new(client)));
        }
        let cache: Arc<dyn Cache> = match &self.cache.redis_url {
            Some(url) => {
                let options = RedisOptions {
                    key_prefix: self.cache.redis_key_prefix.clone(),
                    response_timeout: Duration::from_millis(self.cache.redis_timeout_ms),
                    ..RedisOptions::default()
                };
                Arc::new(
                    RedisCache::connect(url, options)
                        .await
                        .context("cache.redis_url")?,
                )
            }
            None => Arc::new(MemoryCache::new(self.cache.memory_max_entries)),
        };
        let profiler = Profiler::new(
            clients,
            registry,
            cache,
            self.risk.clone(),
            self.aliases()?,
            ProfilerSettings {
                max_accounts: self.server.max_accounts,
                snapshot_ttl: Duration::from_secs(self.cache.snapshot_ttl_secs),
            },
        );
        let attestor = self.attestation.attestor()?;
        Ok(AppState {
            attestor,
            profiler: Arc::new(profiler),
            settings: ServerSettings {
                bind: self.server.bind,
                body_limit_bytes: self.server.body_limit_bytes,
                request_timeout: Duration::from_millis(self.server.request_timeout_ms),
                stream: self.stream.settings()?,
            },
        })
    }
}

/// Reads the risk model file (relative to the configuration file) as a TOML value.
fn risk_model(config: &Path, file: &Path) -> anyhow::Result<toml::Value> {
    let file = config.parent().unwrap_or_else(|| Path::new(".")).join(file);
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("risk_file: cannot read {}", file.display()))?;
    toml::from_str(&text).map_err(|e| anyhow!("risk_file {}: {e}", file.display()))
}

fn url_ok(url: &str) -> anyhow::Result<()> {
    let ok =
        (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "http://".len();
    if ok {
        Ok(())
    } else {
        bail!("`{}` is not an http(s) URL", redact(url))
    }
}

/// Keeps the scheme and host of a URL and drops paths and queries, which often carry API keys.
pub(crate) fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}/…", rest.split('/').next().unwrap_or("")),
        None => "<invalid url>".into(),
    }
}
