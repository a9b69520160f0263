//! Shared set-up: the test adapter, deployments of the service, and a request helper that checks
//! every answer against the OpenAPI document.

use std::{
    str::FromStr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::primitives::{Address, U256};
use async_trait::async_trait;
use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::Value;
use tower::ServiceExt;
use unimargin_cache::{Cache, MemoryCache};
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainAliases, ChainId, Health, MarketId, NativeHealth, Position,
    PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance, RiskWeights, Side,
};
use unimargin_sdk::{
    AdapterDescriptor, AdapterError, AdapterRegistry, ChainClient, ChainClients, ChainReader,
    ProtocolAdapter,
    evm::{EvmClient, EvmSettings, MULTICALL3},
    testkit::TestChain,
    units::{Rounding, scale},
};
use unimargin_server::{
    AppState, Profiler, ProfilerSettings, ServerSettings,
    auth::{ApiKey, TenantStore},
    router,
};

alloy::sol! {
    function getEthBalance(address addr) external view returns (uint256 balance);
}

/// anvil's chain id.
pub(crate) const ANVIL: u64 = 31337;
/// A fixed account (the first EIP-55 test vector), funded per test with `fund`.
pub(crate) const ADDR: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
/// USD per ETH of the test adapter.
pub(crate) const ETH_USD: i64 = 2_000;
/// Credit capacity of an account holding 10 ETH with the test adapter under the engine's generic
/// model: the stress-tested figure, smaller than the 16 000 of free collateral (20 000 × 0.80):
/// equity 20 000 − worst scenario 10 500 (ETH −52.5 %) − concentration add-on 666.666666.
pub(crate) const CREDIT: &str = "8833.333334";
/// Age the test adapter reports for its price: well under the engine's one-day maximum.
pub(crate) const PRICE_AGE_SECS: u64 = 60;

pub(crate) fn account() -> String {
    format!("eip155:{ANVIL}:{ADDR}")
}

pub(crate) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Reads an account's native ETH balance at the pinned block through Multicall3's
/// `getEthBalance` and reports it as one supply position at a fixed price.
pub(crate) struct NativeBalance {
    descriptor: AdapterDescriptor,
    /// Adapter invocations, to tell cache hits from reads.
    pub(crate) calls: Arc<AtomicUsize>,
}

impl NativeBalance {
    pub(crate) fn new() -> Self {
        Self {
            descriptor: AdapterDescriptor {
                protocol: ProtocolId::new("native").unwrap(),
                kind: "native-balance".to_owned(),
                market: MarketId("eth".to_owned()),
                chain: ChainId::evm(ANVIL),
            },
            calls: Arc::default(),
        }
    }
}

#[async_trait]
impl ProtocolAdapter for NativeBalance {
    fn descriptor(&self) -> &AdapterDescriptor {
        &self.descriptor
    }

    async fn snapshot(
        &self,
        chain: &ChainReader,
        account: &AccountId,
    ) -> unimargin_sdk::Result<ProtocolSnapshot> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let evm = chain.evm()?;
        let bytes = account
            .evm_address_bytes()
            .ok_or_else(|| AdapterError::Config("not an EVM account".into()))?;
        let mut batch = evm.batch();
        let balance = batch.add(
            MULTICALL3,
            &getEthBalanceCall {
                addr: Address::from(bytes),
            },
        );
        let wei: U256 = batch.execute().await?.get(balance)?;
        let amount = scale(wei, 18, Rounding::Down)?.value.normalize();
        let price = Decimal::from(ETH_USD);
        let d = &self.descriptor;
        let positions = if amount.is_zero() {
            Vec::new()
        } else {
            vec![Position {
                kind: PositionKind::Supply,
                side: Side::Long,
                asset: Asset {
                    id: AssetId {
                        chain: d.chain.clone(),
                        namespace: "slip44".into(),
                        reference: "60".into(),
                    },
                    symbol: "ETH".into(),
                    decimals: 18,
                    risk_key: "ETH".into(),
                },
                amount,
                price: Price {
                    usd: price,
                    source: PriceSource {
                        oracle: "test-fixed".into(),
                        address: None,
                        feed: None,
                    },
                    updated_at: None,
                    age_seconds: Some(PRICE_AGE_SECS),
                },
                value_usd: amount * price,
                counts_as_collateral: true,
                weights: RiskWeights {
                    initial: dec("0.8"),
                    maintenance: dec("0.85"),
                },
                perp: None,
                option: None,
                greeks: None,
                native: Default::default(),
            }]
        };
        Ok(ProtocolSnapshot {
            provenance: Provenance {
                chain: d.chain.clone(),
                read_point: chain.read_point(),
                protocol: d.protocol.clone(),
                market: d.market.clone(),
                account: account.clone(),
                sources: vec![evm.caip10(MULTICALL3)],
                fetched_at: Utc::now(),
            },
            positions,
            native_health: NativeHealth::new("native.none", Health::Infinite, None),
            warnings: Vec::new(),
        })
    }
}

/// One deployment of the service.
pub(crate) struct Service {
    pub(crate) router: Router,
    pub(crate) calls: Arc<AtomicUsize>,
}

impl Service {
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A profiler over `client` with the test adapter and the alias `anvil`, and the adapter's count
/// of reads.
pub(crate) fn native_profiler(
    client: EvmClient,
    cache: Arc<dyn Cache>,
) -> (Profiler, Arc<AtomicUsize>) {
    let adapter = NativeBalance::new();
    let calls = adapter.calls.clone();
    let mut registry = AdapterRegistry::new();
    registry.add_adapter(Arc::new(adapter));
    let mut clients = ChainClients::new();
    clients.insert(ChainClient::Evm(Arc::new(client)));
    let mut aliases = ChainAliases::new();
    aliases.insert("anvil", ChainId::evm(ANVIL));
    let profiler = Profiler::new(
        clients,
        registry,
        cache,
        Default::default(),
        aliases,
        ProfilerSettings::default(),
    );
    (profiler, calls)
}

/// The service over `client` with the test adapter, alias `anvil`, and the given cache.
pub(crate) fn service_with(
    client: EvmClient,
    cache: Arc<dyn Cache>,
    settings: ServerSettings,
) -> Service {
    let (profiler, calls) = native_profiler(client, cache);
    Service {
        router: router(AppState {
            profiler: Arc::new(profiler),
            settings,
            attestor: Some(signer()),
        }),
        calls,
    }
}

/// A signer with a fresh key, so every test service can answer `?signed=true`.
fn signer() -> Arc<unimargin_server::Attestor> {
    Arc::new(unimargin_server::Attestor::random(Default::default()))
}

/// The service on a running anvil with an in-memory cache.
pub(crate) fn service(chain: &TestChain) -> Service {
    service_with(
        chain.client(EvmSettings::default()),
        Arc::new(MemoryCache::default()),
        ServerSettings::default(),
    )
}

/// The service pointed at a port where nothing listens: for tests that must be answered before
/// any RPC (validation) or that rehearse an unreachable node.
pub(crate) fn offline_service() -> Service {
    let client = EvmClient::http(
        ChainId::evm(ANVIL),
        "http://127.0.0.1:1",
        EvmSettings::default(),
    )
    .unwrap();
    service_with(
        client,
        Arc::new(MemoryCache::default()),
        ServerSettings::default(),
    )
}

/// Starts anvil and gives [`ADDR`] `eth` ether, mined into a block.
pub(crate) async fn funded_chain(eth: u64) -> TestChain {
    let chain = TestChain::start().await.expect("anvil");
    fund(&chain, eth).await;
    chain
}

pub(crate) async fn fund(chain: &TestChain, eth: u64) {
    use alloy::providers::Provider;
    let wei = U256::from(eth) * U256::from(10u64).pow(U256::from(18u64));
    let addr = Address::from_str(ADDR).unwrap();
    chain
        .provider()
        .raw_request::<_, Value>("anvil_setBalance".into(), (addr, wei))
        .await
        .unwrap();
    chain.mine().await.unwrap();
}

pub(crate) async fn block_number(chain: &TestChain) -> u64 {
    use alloy::providers::Provider;
    chain.provider().get_block_number().await.unwrap()
}

/// An answer of the service.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    /// `error.code` of an error body.
    pub(crate) fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error.code>")
    }

    pub(crate) fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or("<no error.message>")
    }
}

pub(crate) fn post_json(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

pub(crate) fn profile_request(accounts: &[&str]) -> Request<Body> {
    post_json(
        "/v1/profiles",
        serde_json::json!({ "accounts": accounts }).to_string(),
    )
}

pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// Sends `req` and returns the answer, checking the invariants every answer must hold: the body
/// is JSON (errors included), an `x-request-id` comes back, and a routed answer's status is
/// documented for its route in the OpenAPI document.
pub(crate) async fn send(router: &Router, req: Request<Body>) -> Answer {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!("{method} {path} → {status}: body is not JSON ({e}): {bytes:?}")
    });
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{method} {path} → {status}"
    );
    assert!(
        headers.contains_key("x-request-id"),
        "{method} {path}: no x-request-id"
    );
    if status.is_client_error() || status.is_server_error() {
        let id = headers["x-request-id"].to_str().unwrap();
        assert_eq!(
            body["error"]["request_id"], id,
            "{method} {path}: error body must quote the request id"
        );
    }
    if !matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        assert_documented(&method, &path, status);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// The OpenAPI document, rendered once.
pub(crate) fn openapi() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| unimargin_server::openapi::document().unwrap())
}

/// Whether a concrete path matches a documented template (`{param}` matches one segment).
pub(crate) fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

fn assert_documented(method: &Method, path: &str, status: StatusCode) {
    let paths = openapi()["paths"].as_object().unwrap();
    let (template, item) = paths
        .iter()
        .find(|(t, _)| matches_template(t, path))
        .unwrap_or_else(|| {
            panic!("{method} {path} answered {status} but the path is not documented")
        });
    let op = &item[method.as_str().to_ascii_lowercase()];
    assert!(
        op.is_object(),
        "{method} {template} answered {status} but the method is not documented"
    );
    assert!(
        op["responses"].get(status.as_str()).is_some(),
        "{method} {template} answered {status}, which is not documented"
    );
}

/// A loopback "node" that accepts connections and never answers.
pub(crate) async fn silent_node() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

pub(crate) fn evm_settings(request_timeout: Duration) -> EvmSettings {
    EvmSettings {
        request_timeout,
        ..EvmSettings::default()
    }
}

/// A new API key of `tenant`, stored in `store`; its secret.
pub(crate) async fn key(store: &dyn TenantStore, tenant: &str) -> String {
    let key = ApiKey::generate(tenant).unwrap();
    store.insert_key(&key.record).await.unwrap();
    key.secret
}
