//! Hyperliquid adapter against a loopback server replaying `/info` bodies in the shapes the venue
//! documents (`tests/fixtures/*.json`, one file per account, one body per request type), through
//! the real venue client, the real adapter and the real profiler.
//!
//! Expected values are computed here from Hyperliquid's published formulas (margin tiers,
//! liquidation price) and written as the arithmetic that produces them.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test reports failure by panicking"
)]

mod vectors;

use std::{collections::BTreeMap, str::FromStr, sync::Arc, time::Duration};

use serde_json::{Map, Value, json};
use unimargin_cache::MemoryCache;
use unimargin_engine::EngineSettings;
use unimargin_hyperliquid::{HyperliquidFactory, KIND};
use unimargin_schema::{
    AccountId, ChainAliases, ChainId, Decimal, FailureKind, Health, MarginProfile, MarketId,
    Position, PositionKind, ProtocolId, ProtocolSnapshot, Side, WarningKind,
};
use unimargin_sdk::{
    AdapterError, AdapterFactory, AdapterRegistry, ChainClient, ChainClients, ChainReader,
    DeploymentSpec, ProtocolAdapter,
    venue::{
        RateBudget, RetryPolicy, VenueClient, VenueClock, VenueSettings,
        replay::{ReplayServer, Reply, Rule},
    },
};
use unimargin_server::{Profiler, ProfilerSettings};

/// An owner address (lower case, as the info API expects it).
const OWNER: &str = "0x000000000000000000000000000000000000a11c";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn chain() -> ChainId {
    ChainId::evm(999)
}

fn owner() -> AccountId {
    AccountId::new(chain(), OWNER).unwrap()
}

/// A fixture as recorded (its clearinghouse `time` is 2026-01-01T00:00:00Z).
fn recorded(name: &str) -> Map<String, Value> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A fixture replayed as if served now: the venue stamps each clearinghouse state with its
/// server time, and prices older than the engine's maximum age fail the profile closed.
fn scenario(name: &str) -> Map<String, Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut s = recorded(name);
    for (key, body) in s.iter_mut() {
        if key.starts_with("clearinghouseState") {
            body["time"] = json!(now);
        }
    }
    s
}

/// One rule per request type of the scenario: `type` or `type:dex`; user-specific types also
/// match the owner.
fn rules(s: &Map<String, Value>) -> Vec<Rule> {
    s.iter()
        .map(|(key, body)| rule(key, vec![Reply::json(body.to_string())]))
        .collect()
}

fn rule(key: &str, replies: Vec<Reply>) -> Rule {
    let (kind, dex) = key.split_once(':').unwrap_or((key, ""));
    let mut when = json!({"type": kind});
    if matches!(
        kind,
        "clearinghouseState" | "spotClearinghouseState" | "userAbstraction"
    ) {
        when["user"] = json!(OWNER);
    }
    if !dex.is_empty() {
        when["dex"] = json!(dex);
    }
    Rule::new("/info", when, replies)
}

fn settings() -> VenueSettings {
    VenueSettings {
        request_timeout: Duration::from_secs(2),
        rate: RateBudget {
            burst: 1200,
            per_minute: 1200,
        },
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(3),
        },
        clock: VenueClock::Local,
    }
}

struct Env {
    server: ReplayServer,
    client: Arc<VenueClient>,
    adapter: Arc<dyn ProtocolAdapter>,
}

async fn env(rules: Vec<Rule>) -> Env {
    let server = ReplayServer::start(rules).await.unwrap();
    let client = Arc::new(VenueClient::new(chain(), &server.base_url(), settings()).unwrap());
    let spec = DeploymentSpec {
        protocol: ProtocolId::new("hyperliquid").unwrap(),
        kind: Some(KIND.into()),
        chain: chain(),
        market: MarketId("perps".into()),
        params: json!({"risk_keys": {"UBTC": "BTC", "USDC": "USD"}}),
    };
    let adapter = HyperliquidFactory.build(&spec).unwrap();
    Env {
        server,
        client,
        adapter,
    }
}

impl Env {
    async fn snapshot(&self) -> Result<ProtocolSnapshot, AdapterError> {
        let reader = ChainReader::Venue(self.client.pin().await?);
        self.adapter.snapshot(&reader, &owner()).await
    }

    async fn profile(&self) -> MarginProfile {
        let mut clients = ChainClients::new();
        clients.insert(ChainClient::Venue(Arc::clone(&self.client)));
        let mut registry = AdapterRegistry::new();
        registry.add_adapter(Arc::clone(&self.adapter));
        let mut aliases = ChainAliases::new();
        aliases.insert("hyperliquid", chain());
        let profiler = Profiler::new(
            clients,
            registry,
            Arc::new(MemoryCache::new(100)),
            EngineSettings::default(),
            aliases,
            ProfilerSettings::default(),
        );
        let accounts = profiler
            .parse_accounts(&[format!("hyperliquid:{OWNER}")])
            .unwrap();
        profiler.profile(accounts).await.unwrap()
    }
}

fn perp<'a>(s: &'a ProtocolSnapshot, coin: &str) -> &'a Position {
    s.positions
        .iter()
        .find(|p| p.kind == PositionKind::Perp && p.asset.id.reference == coin)
        .unwrap()
}

fn balances<'a>(s: &'a ProtocolSnapshot, account: &str) -> Vec<&'a Position> {
    s.positions
        .iter()
        .filter(|p| p.native.get("account").map(String::as_str) == Some(account))
        .collect()
}

fn figure(s: &ProtocolSnapshot, key: &str) -> Decimal {
    d(s.native_health
        .figures
        .get(key)
        .unwrap_or_else(|| panic!("no figure {key}")))
}

#[tokio::test]
async fn cross_isolated_hip3_and_spot_positions_reproduce_the_venue() {
    let env = env(rules(&scenario("standard"))).await;
    let s = env.snapshot().await.unwrap();
    assert_eq!(s.provenance.account, owner());
    assert!(matches!(
        s.provenance.read_point,
        unimargin_schema::ReadPoint::Venue { .. }
    ));

    // Cross long 0.5 BTC: entry 60 000, mark 62 000, 20x chosen, 40x max (tier 0: mmr = 1/80).
    let btc = perp(&s, "BTC");
    assert_eq!((btc.side, btc.amount), (Side::Long, d("0.5")));
    assert_eq!(btc.value_usd, d("31000")); // 0.5 × 62 000
    let details = btc.perp.as_ref().unwrap();
    assert_eq!(details.unrealized_pnl_usd, d("1000")); // 0.5 × (62 000 − 60 000)
    assert_eq!(details.entry_price, d("60000"));
    assert_eq!(details.liquidation_price, Some(d("19929.1139240506")));
    assert_eq!(btc.weights.initial, d("0.05")); // 1 / 20
    assert_eq!(btc.weights.maintenance, d("0.0125")); // 1 / (2 × 40)
    assert_eq!(btc.native["leverage_type"], "cross");
    assert_eq!(btc.native["cum_funding.all_time"], "-12.5");
    assert_eq!(btc.asset.risk_key, "BTC");

    // Cross short 4 ETH: entry 3 100, mark 3 000, table id 25 (< 50: one tier at 25x, mmr 1/50).
    let eth = perp(&s, "ETH");
    assert_eq!(
        (eth.side, eth.amount, eth.value_usd),
        (Side::Short, d("4"), d("12000"))
    );
    assert_eq!(eth.perp.as_ref().unwrap().unrealized_pnl_usd, d("400")); // −4 × (3 000 − 3 100)
    assert_eq!(eth.weights.maintenance, d("0.02"));

    // Isolated long 100 HYPE: rawUsd −3 200, mark 38, 10x max (mmr 1/20).
    let hype = perp(&s, "HYPE");
    assert_eq!(hype.native["leverage_type"], "isolated");
    assert_eq!(hype.perp.as_ref().unwrap().unrealized_pnl_usd, d("-200")); // 100 × (38 − 40)
    // Isolated margin = −3 200 + 100 × 38 = 600; maintenance = 3 800 / 20 = 190.
    assert_eq!(figure(&s, "main.HYPE.isolated_margin.reproduced"), d("600"));
    assert_eq!(d(&hype.native["maintenance_margin"]), d("190"));
    // liq = 38 − (600 − 190) / 100 / (1 − 0.05)
    let liq = d("38") - (d("600") - d("190")) / d("100") / (d("1") - d("0.05"));
    assert_eq!(
        figure(&s, "main.HYPE.liquidation_px.reproduced"),
        liq.normalize()
    );

    // HIP-3 dex `xyz`: cross long 2 XYZ100 at mark 25 000, entry 24 000, 20x max (mmr 1/40).
    let xyz = perp(&s, "xyz:XYZ100");
    assert_eq!(
        (xyz.asset.symbol.as_str(), xyz.native["dex"].as_str()),
        ("XYZ100", "xyz")
    );
    assert_eq!(xyz.value_usd, d("50000"));
    // Cross account value 12 000, maintenance 50 000 / 40 = 1 250:
    // liq = 25 000 − (12 000 − 1 250) / 2 / (1 − 0.025)
    let liq = d("25000") - (d("12000") - d("1250")) / d("2") / (d("1") - d("0.025"));
    assert_eq!(
        figure(&s, "xyz.XYZ100.liquidation_px.reproduced"),
        liq.normalize()
    );

    // The venue's own figures of the default dex, reproduced:
    // account value = totalRawUsd + Σ szi × mark = −800 + 0.5 × 62 000 − 4 × 3 000 + 100 × 38.
    assert_eq!(figure(&s, "main.account_value.reproduced"), d("22000"));
    // cross: 2 400 + 31 000 − 12 000; margin used 31 000 / 20 + 12 000 / 10;
    // maintenance 31 000 / 80 + 12 000 / 50.
    assert_eq!(
        figure(&s, "main.cross.account_value.reproduced"),
        d("21400")
    );
    assert_eq!(figure(&s, "main.cross.margin_used.reproduced"), d("2750"));
    assert_eq!(
        figure(&s, "main.cross.maintenance_margin.reproduced"),
        d("627.5")
    );
    assert_eq!(figure(&s, "main.total_notional.reproduced"), d("46800"));
    // Cross liquidation prices from the cross margin available, 21 400 − 627.5 = 20 772.5.
    let btc_liq = d("62000") - d("20772.5") / d("0.5") / (d("1") - d("0.0125"));
    let eth_liq = d("3000") + d("20772.5") / d("4") / (d("1") + d("0.02"));
    assert_eq!(
        figure(&s, "main.BTC.liquidation_px.reproduced"),
        btc_liq.normalize()
    );
    assert_eq!(
        figure(&s, "main.ETH.liquidation_px.reproduced"),
        eth_liq.normalize()
    );
    assert_eq!(s.native_health.agrees, Some(true), "{:?}", s.warnings);

    // Health per margin unit: main cross 21 400 / 627.5, HYPE isolated 600 / 190, xyz cross
    // 12 000 / 1 250 = 9.6. The weakest is the isolated HYPE position.
    assert_eq!(s.native_health.value, Health::ratio(d("600"), d("190")));
    assert_eq!(
        s.native_health.reported,
        Some(Health::ratio(d("600"), d("190")))
    );
    assert!(!s.native_health.liquidatable);

    // Collateral: each dex's perp cash (account value less PnL) counts; spot is separate money
    // that does not back perps on a standard account.
    let perp_cash: Vec<_> = balances(&s, "perp")
        .iter()
        .map(|p| (p.native["dex"].clone(), p.amount, p.counts_as_collateral))
        .collect();
    // main: −800 + 0.5 × 60 000 − 4 × 3 100 + 100 × 40 = 20 800; xyz: −38 000 + 2 × 24 000.
    assert_eq!(
        perp_cash,
        vec![
            ("main".to_owned(), d("20800"), true),
            ("xyz".to_owned(), d("10000"), true)
        ]
    );
    let spot = balances(&s, "spot");
    assert_eq!(spot.len(), 2);
    let hype_spot = spot.iter().find(|p| p.asset.symbol == "HYPE").unwrap();
    assert_eq!(
        (hype_spot.amount, hype_spot.price.usd, hype_spot.value_usd),
        (d("10"), d("38.5"), d("385"))
    );
    assert!(
        spot.iter()
            .all(|p| !p.counts_as_collateral && p.kind == PositionKind::Supply)
    );

    // The whole profile: one dollar appears once. Net value = dex account values + spot:
    // 22 000 + 12 000 + 5 000 + 10 × 38.5.
    let profile = env.profile().await;
    assert!(profile.coverage.complete, "{:?}", profile.coverage.failures);
    assert_eq!(profile.totals.net_value_usd, d("39385"));
    // Requests: userAbstraction, perpDexs, 2 × clearinghouseState, spotClearinghouseState,
    // 2 × metaAndAssetCtxs, spotMetaAndAssetCtxs; twice (snapshot, then profile).
    assert_eq!(env.server.request_count(), 2 * 8);
    assert_eq!(figure(&s, "requests.clearinghouseState"), d("2"));
}

#[tokio::test]
async fn an_account_near_liquidation_is_just_above_one() {
    let env = env(rules(&scenario("near_liquidation"))).await;
    let s = env.snapshot().await.unwrap();
    // Long 10 ETH from 3 300 at mark 3 000, 25x max: maintenance 30 000 / 50 = 600; cross
    // account value −29 390 + 10 × 3 000 = 610.
    assert_eq!(
        s.native_health.reproduced,
        Health::ratio(d("610"), d("600"))
    );
    assert_eq!(s.native_health.value, Health::ratio(d("610"), d("600")));
    assert!(!s.native_health.liquidatable);
    // liq = 3 000 − (610 − 600) / 10 / (1 − 0.02): about a dollar away.
    let liq = d("3000") - d("10") / d("10") / d("0.98");
    assert_eq!(
        figure(&s, "main.ETH.liquidation_px.reproduced"),
        liq.normalize()
    );
    assert_eq!(s.native_health.agrees, Some(true), "{:?}", s.warnings);

    // The engine agrees: collateral 3 610 of cash less 3 000 of loss over 600 of maintenance.
    let profile = env.profile().await;
    assert!(profile.coverage.complete, "{:?}", profile.coverage.failures);
    assert_eq!(profile.health, Some(Health::ratio(d("610"), d("600"))));
    assert_eq!(profile.totals.maintenance_margin_usd, d("600"));
    // No HIP-3 dex and no spot balance: 5 requests (abstraction, dexes, state, spot, meta).
    assert_eq!(env.server.request_count(), 2 * 5);
}

#[tokio::test]
async fn an_empty_account_reads_no_market_data() {
    let env = env(rules(&scenario("empty"))).await;
    let s = env.snapshot().await.unwrap();
    assert!(s.positions.is_empty());
    assert_eq!(s.native_health.value, Health::Infinite);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.kind == WarningKind::NoPositions)
    );
    // userAbstraction, perpDexs, clearinghouseState (main and xyz), spotClearinghouseState: no meta.
    let kinds: Vec<String> = env
        .server
        .requests()
        .iter()
        .map(|r| r.body["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.len(), 5);
    assert!(
        !kinds
            .iter()
            .any(|k| k.contains("meta") || k.contains("Meta")),
        "{kinds:?}"
    );
    let profile = env.profile().await;
    assert!(profile.coverage.complete);
    assert_eq!(profile.health, Some(Health::Infinite));
}

#[tokio::test]
async fn a_unified_account_counts_each_dollar_once() {
    let env = env(rules(&scenario("unified"))).await;
    let s = env.snapshot().await.unwrap();
    // The spot USDC balance (5 100) already holds the perp account value (−2 690 + 3 100 = 410),
    // so no perp cash is added and the unrealized PnL (1 × (3 100 − 3 000) = 100) is taken out of
    // the spot balance, because the position carries it.
    assert!(balances(&s, "perp").is_empty());
    let usdc = balances(&s, "spot")
        .into_iter()
        .find(|p| p.asset.symbol == "USDC")
        .unwrap();
    assert_eq!(usdc.amount, d("5000")); // 5 100 − 100
    assert!(usdc.counts_as_collateral);
    // The venue's spot hold matches the perp margin in use (310 = 3 100 / 10).
    assert_eq!(
        figure(
            &s,
            "crosscheck.USDC.spot_hold_vs_perp_margin_used.reproduced"
        ),
        d("310")
    );
    assert_eq!(s.native_health.agrees, Some(true), "{:?}", s.warnings);
    let profile = env.profile().await;
    assert!(profile.coverage.complete, "{:?}", profile.coverage.failures);
    // Net value = the spot balance, 5 000 + 100 of PnL; a standard reading would add 410 again.
    assert_eq!(profile.totals.net_value_usd, d("5100"));
}

#[tokio::test]
async fn rate_limited_then_success_honours_retry_after() {
    let mut s = scenario("near_liquidation");
    let spot = s.remove("spotClearinghouseState").unwrap();
    let mut rules = rules(&s);
    rules.push(rule(
        "spotClearinghouseState",
        vec![
            Reply::status(429, "null").header("retry-after", "1"),
            Reply::json(spot.to_string()),
        ],
    ));
    let env = env(rules).await;
    let started = std::time::Instant::now();
    let snapshot = env.snapshot().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        snapshot.native_health.value,
        Health::ratio(d("610"), d("600"))
    );
    let stats = env.client.stats();
    assert_eq!((stats.rate_limited, stats.retries), (1, 1));
    // 5 requests and one retry; the retry waited the second the venue asked for.
    assert_eq!(stats.requests, 6);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn persistent_rate_limiting_fails_as_an_rpc_error() {
    let mut s = scenario("empty");
    s.remove("spotClearinghouseState");
    let mut rules = rules(&s);
    rules.push(rule(
        "spotClearinghouseState",
        vec![Reply::status(429, "null")],
    ));
    let env = env(rules).await;
    let err = env.snapshot().await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::RpcError { message, .. } if message.contains("429") && message.contains("after 3 retries")),
        "{err}"
    );
    assert_eq!(err.failure_kind(), FailureKind::RpcError);
    // 1 try + 3 retries.
    assert_eq!(env.client.stats().rate_limited, 4);
}

#[tokio::test]
async fn a_slow_venue_times_out() {
    let mut s = scenario("empty");
    let body = s.remove("spotClearinghouseState").unwrap();
    let mut rules = rules(&s);
    rules.push(rule(
        "spotClearinghouseState",
        vec![Reply::json(body.to_string()).delay(Duration::from_secs(5))],
    ));
    let env = env(rules).await;
    let err = env.snapshot().await.unwrap_err();
    assert!(
        matches!(
            err,
            AdapterError::RpcTimeout {
                timeout_ms: 2000,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_malformed_body_is_a_clear_error_and_the_profile_is_incomplete() {
    let mut s = scenario("standard");
    let state = s.get_mut("clearinghouseState").unwrap();
    state["assetPositions"][1]["position"]["szi"] = json!("four");
    let env = env(rules(&s)).await;
    let err = env.snapshot().await.unwrap_err();
    let AdapterError::Malformed { detail, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        detail.contains("`assetPositions[1].position.szi`"),
        "{detail}"
    );

    let profile = env.profile().await;
    assert!(!profile.coverage.complete);
    assert_eq!(profile.health, None);
    assert_eq!(profile.credit_capacity_usd, Decimal::ZERO);
    let failure = &profile.coverage.failures[0];
    assert_eq!(failure.kind, FailureKind::MalformedReply);
    assert!(
        failure.message.contains("assetPositions[1].position.szi"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_disagreement_with_the_venue_is_reported_and_the_worse_figure_used() {
    let mut s = scenario("standard");
    // The venue claims more maintenance margin for the default dex than its tiers give.
    s.get_mut("clearinghouseState").unwrap()["crossMaintenanceMarginUsed"] = json!("10700.0");
    let env = env(rules(&s)).await;
    let snapshot = env.snapshot().await.unwrap();
    assert_eq!(snapshot.native_health.agrees, Some(false));
    let warning = snapshot
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::NativeHealthMismatch)
        .unwrap();
    assert!(
        warning
            .message
            .contains("main.cross.maintenance_margin: reproduced 627.5 vs venue 10700"),
        "{}",
        warning.message
    );
    // The venue's own view (21 400 / 10 700 = 2) is worse than ours and is the one relied on.
    assert_eq!(
        snapshot.native_health.reported,
        Some(Health::ratio(d("21400"), d("10700")))
    );
    assert_eq!(
        snapshot.native_health.value,
        Health::ratio(d("21400"), d("10700"))
    );
}

#[tokio::test]
async fn a_stale_venue_reply_fails_the_profile_closed() {
    // Served with the recorded time, long past: every mark is older than the 24 h maximum.
    let env = env(rules(&recorded("near_liquidation"))).await;
    let profile = env.profile().await;
    assert!(!profile.coverage.complete);
    assert_eq!(profile.health, None);
    assert!(
        profile
            .coverage
            .failures
            .iter()
            .all(|f| f.kind == FailureKind::StalePrice),
        "{:?}",
        profile.coverage.failures
    );
}

#[tokio::test]
async fn an_unknown_account_mode_fails_closed() {
    let mut s = scenario("empty");
    s.insert("userAbstraction".into(), json!("dexAbstraction"));
    let env = env(rules(&s)).await;
    let err = env.snapshot().await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Malformed { detail, .. } if detail.contains("dexAbstraction")),
        "{err}"
    );
}

#[tokio::test]
async fn profile_cost_and_latency_against_the_replay_server() {
    let env = env(rules(&scenario("standard"))).await;
    // 10 × 106 weight stays within the 1 200 burst, so the budget does not pace the measurement.
    let runs = 10u32;
    let started = std::time::Instant::now();
    for _ in 0..runs {
        env.snapshot().await.unwrap();
    }
    let per_profile = started.elapsed() / runs;
    let stats = env.client.stats();
    let requests = stats.requests / u64::from(runs);
    let weight = stats.weight / u64::from(runs);
    println!(
        "hyperliquid: {requests} requests, weight {weight} per profile; {per_profile:?} per profile over {runs} runs"
    );
    assert_eq!((requests, weight), (8, 2 * 20 + 3 * 2 + 3 * 20));
    let counts: BTreeMap<String, usize> =
        env.server
            .requests()
            .iter()
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.body["type"].as_str().unwrap().to_owned())
                    .or_default() += 1;
                m
            });
    assert_eq!(counts["clearinghouseState"], 2 * runs as usize);
}
