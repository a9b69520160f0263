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
    providers::{Env, Format, Toml},
};
use serde::Deserialize;
use unimargin_cache::{Cache, MemoryCache, RedisCache, RedisOptions};
use unimargin_engine::EngineSettings;
use unimargin_schema::{ChainAliases, ChainId, MarketId, ProtocolId};
use unimargin_sdk::{
    AdapterRegistry, ChainClient, ChainClients, DeploymentSpec,
    evm::{EvmClient, EvmSettings},
};
use unimargin_server::{AppState, Profiler, ProfilerSettings, ServerSettings};

/// Environment variables of the project that are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &["CONFIG", "REDIS_URL", "ANVIL", "TOOLS_DIR", "PROTOCOL_ABIS", "REDIS_SERVER", "LOG", "TEST_VECTORS"];

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
    #[serde(default)]
    pub(crate) chains: BTreeMap<String, ChainConfig>,
    #[serde(default)]
    pub(crate) deployments: Vec<DeploymentConfig>,
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
    pub(crate) rpc_url: String,
    #[serde(default = "default_rpc_timeout")]
    pub(crate) request_timeout_ms: u64,
    #[serde(default)]
    pub(crate) confirmations: u64,
    #[serde(default = "default_batch")]
    pub(crate) max_calls_per_batch: usize,
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
            bail!("configuration file {} not found (set --config or UNIMARGIN_CONFIG)", path.display());
        }
        let figment = Figment::new()
            .merge(Toml::file(&path))
            .merge(Env::prefixed("UNIMARGIN_").ignore(NON_CONFIG_ENV).split("__"))
            .merge(Env::raw().only(&["UNIMARGIN_REDIS_URL"]).map(|_| "cache.redis_url".into()));
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow!("invalid configuration ({}): {e}", path.display()))?;
        config.validate()?;
        Ok((config, path))
    }

    /// Checks what serde cannot: ids, URLs, references between sections.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        let aliases = self.aliases()?;
        for (name, chain) in &self.chains {
            url_ok(&chain.rpc_url).with_context(|| format!("chains.{name}.rpc_url"))?;
            if chain.request_timeout_ms == 0 {
                bail!("chains.{name}.request_timeout_ms must be positive");
            }
        }
        for (i, d) in self.deployments.iter().enumerate() {
            ProtocolId::new(&d.protocol).with_context(|| format!("deployments[{i}].protocol"))?;
            let chain = ChainId::parse_with_aliases(&d.chain, &aliases).with_context(|| format!("deployments[{i}].chain"))?;
            if !self.chains.values().any(|c| c.id.parse::<ChainId>().ok().as_ref() == Some(&chain)) {
                bail!("deployments[{i}].chain: `{}` has no [chains] entry with an rpc_url", d.chain);
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
            let id: ChainId = chain.id.parse().with_context(|| format!("chains.{name}.id"))?;
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
                    protocol: ProtocolId::new(&d.protocol).with_context(|| format!("deployments[{i}].protocol"))?,
                    kind: d.kind.clone(),
                    chain: ChainId::parse_with_aliases(&d.chain, &aliases).with_context(|| format!("deployments[{i}].chain"))?,
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
            let settings = EvmSettings {
                request_timeout: Duration::from_millis(c.request_timeout_ms),
                confirmations: c.confirmations,
                max_calls_per_batch: c.max_calls_per_batch.max(1),
                ..EvmSettings::default()
            };
            let client = EvmClient::http(id, &c.rpc_url, settings).with_context(|| format!("chains.{name}.rpc_url"))?;
            clients.insert(ChainClient::Evm(Arc::new(client)));
        }
        let cache: Arc<dyn Cache> = match &self.cache.redis_url {
            Some(url) => {
                let options = RedisOptions {
                    key_prefix: self.cache.redis_key_prefix.clone(),
                    response_timeout: Duration::from_millis(self.cache.redis_timeout_ms),
                    ..RedisOptions::default()
                };
                Arc::new(RedisCache::connect(url, options).await.context("cache.redis_url")?)
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
        Ok(AppState {
            profiler: Arc::new(profiler),
            settings: ServerSettings {
                bind: self.server.bind,
                body_limit_bytes: self.server.body_limit_bytes,
                request_timeout: Duration::from_millis(self.server.request_timeout_ms),
            },
        })
    }
}

fn url_ok(url: &str) -> anyhow::Result<()> {
    let ok = (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "http://".len();
    if ok { Ok(()) } else { bail!("`{}` is not an http(s) URL", redact(url)) }
}

/// Keeps the scheme and host of a URL and drops paths and queries, which often carry API keys.
pub(crate) fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}/…", rest.split('/').next().unwrap_or("")),
        None => "<invalid url>".into(),
    }
}
