//! Derive adapter against a loopback server replaying JSON-RPC bodies in the shapes the venue
//! documents (`tests/fixtures/*.json`, one body per method and params), through the real venue
//! client, the real adapter and the real profiler.
//!
//! The option book holds calls and puts over two expiries. Its greeks are checked against
//! Black-76 values computed independently of this crate (closed form, double precision, with
//! `erfc`), written below with their inputs.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test reports failure by panicking"
)]

mod vectors;

use std::{str::FromStr, sync::Arc, time::Duration};

use serde_json::{Map, Value, json};
use unimargin_cache::MemoryCache;
use unimargin_derive::{DeriveFactory, KIND};
use unimargin_engine::EngineSettings;
use unimargin_schema::{
    AccountId, ChainAliases, ChainId, Decimal, FailureKind, Health, MarginProfile, MarketId,
    OptionKind, Position, PositionKind, ProtocolId, ProtocolSnapshot, ReadPoint, Side, WarningKind,
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

/// The owner wallet of the fixtures.
const WALLET: &str = "0x000000000000000000000000000000000000d371";
/// 2026-01-01T00:00:00Z, the venue's time served by `public/get_time`.
const T0: u64 = 1_767_225_600;

pub(crate) fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn chain() -> ChainId {
    ChainId::evm(957)
}

fn owner() -> AccountId {
    AccountId::new(chain(), WALLET).unwrap()
}

fn scenario(name: &str) -> Map<String, Value> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Keys are `method`, `method:subaccount_id` or `method:currency:expiry_date`.
fn rule(key: &str, replies: Vec<Reply>) -> Rule {
    let mut parts = key.split(':');
    let method = parts.next().unwrap();
    let when = match (method, parts.next(), parts.next()) {
        ("public/get_subaccounts", _, _) => json!({"wallet": owner().address()}),
        ("public/margin_watch", Some(id), _) => {
            json!({"subaccount_id": id.parse::<u64>().unwrap()})
        }
        ("public/get_tickers", Some(currency), Some(date)) => {
            json!({"currency": currency, "expiry_date": date, "instrument_type": "option"})
        }
        _ => json!({}),
    };
    Rule::new(method, when, replies)
}

fn rules(s: &Map<String, Value>) -> Vec<Rule> {
    s.iter()
        .map(|(key, body)| rule(key, vec![Reply::json(body.to_string())]))
        .collect()
}

fn settings() -> VenueSettings {
    VenueSettings {
        request_timeout: Duration::from_secs(2),
        rate: RateBudget {
            burst: 25,
            per_minute: 300,
        },
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(3),
        },
        clock: VenueClock::Request {
            path: "/public/get_time".into(),
            body: json!({}),
            pointer: "/result".into(),
            weight: 1,
        },
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
        protocol: ProtocolId::new("derive").unwrap(),
        kind: Some(KIND.into()),
        chain: chain(),
        market: MarketId("options".into()),
        params: json!({"risk_keys": {"USDC": "USD"}}),
    };
    let adapter = DeriveFactory.build(&spec).unwrap();
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
        aliases.insert("derive", chain());
        let profiler = Profiler::new(
            clients,
            registry,
            Arc::new(MemoryCache::new(100)),
            EngineSettings::default(),
            aliases,
            ProfilerSettings::default(),
        );
        let accounts = profiler
            .parse_accounts(&[format!("derive:{WALLET}")])
            .unwrap();
        profiler.profile(accounts).await.unwrap()
    }
}

fn instrument<'a>(s: &'a ProtocolSnapshot, name: &str) -> &'a Position {
    s.positions
        .iter()
        .find(|p| p.asset.id.reference == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn close(got: &str, want: f64, rel: f64) {
    let got: f64 = got.parse().unwrap();
    assert!((got - want).abs() <= rel * want.abs(), "{got} ≠ {want}");
}

/// One option of the book: name, signed size, and the independent Black-76 greeks per unit
/// (delta w.r.t. the forward, gamma, vega per vol point, theta per day) for its inputs.
struct Expected {
    name: &'static str,
    kind: OptionKind,
    size: f64,
    strike: &'static str,
    expiry: u64,
    iv: &'static str,
    greeks: [f64; 4],
}

/// Inputs: T0 = 2026-01-01T00:00:00Z; expiries at 08:00 UTC, so T = 2 534 400 s / 31 536 000 s =
/// 0.08036529680365297 y (2026-01-30) and 7 372 800 s / 31 536 000 s = 0.23378995433789954 y
/// (2026-03-27); forwards 2 995 (January) and 3 010 (March).
const BOOK: [Expected; 4] = [
    // F = 2995, K = 3000, σ = 0.62: price 207.42105553877036.
    Expected {
        name: "ETH-20260130-3000-C",
        kind: OptionKind::Call,
        size: 2.0,
        strike: "3000",
        expiry: 1_769_760_000,
        iv: "0.62",
        greeks: [
            0.5312413998321279,
            0.0007555320258932563,
            3.3768111572632504,
            -3.5686754275622987,
        ],
    },
    // F = 2995, K = 2800, σ = 0.68: price 138.37161432282437.
    Expected {
        name: "ETH-20260130-2800-P",
        kind: OptionKind::Put,
        size: -3.0,
        strike: "2800",
        expiry: 1_769_760_000,
        iv: "0.68",
        greeks: [
            -0.32793145164478665,
            0.0006256726763361649,
            3.067032008998814,
            -3.554968919521352,
        ],
    },
    // F = 3010, K = 3500, σ = 0.65: price 206.88488216937924.
    Expected {
        name: "ETH-20260327-3500-C",
        kind: OptionKind::Call,
        size: -1.0,
        strike: "3500",
        expiry: 1_774_598_400,
        iv: "0.65",
        greeks: [
            0.37344389996114336,
            0.0004003116112246305,
            5.511507226316751,
            -2.0991091975229814,
        ],
    },
    // F = 3010, K = 2500, σ = 0.72: price 177.87087411893083.
    Expected {
        name: "ETH-20260327-2500-P",
        kind: OptionKind::Put,
        size: 4.0,
        strike: "2500",
        expiry: 1_774_598_400,
        iv: "0.72",
        greeks: [
            -0.23967834011293077,
            0.00029645148068397655,
            4.52110879165212,
            -1.9073427714782383,
        ],
    },
];

#[tokio::test]
async fn an_option_book_over_two_expiries_with_greeks_checked_independently() {
    let env = env(rules(&scenario("book"))).await;
    let s = env.snapshot().await.unwrap();
    assert_eq!(s.provenance.read_point, ReadPoint::Venue { timestamp: T0 });
    // Owner mapping: the wallet's two subaccounts, in id order.
    assert_eq!(s.native_health.figures["subaccounts"], "1001,1002");

    for e in &BOOK {
        let p = instrument(&s, e.name);
        assert_eq!(p.kind, PositionKind::Option);
        assert_eq!(
            p.side,
            if e.size < 0.0 {
                Side::Short
            } else {
                Side::Long
            }
        );
        let o = p.option.as_ref().unwrap();
        assert_eq!(
            (o.kind, o.strike, o.expiry),
            (e.kind, d(e.strike), e.expiry)
        );
        assert_eq!(o.implied_vol, Some(d(e.iv)));
        // Our Black-76 per position = per unit × signed size, to 1e-10.
        for (greek, per_unit) in ["delta", "gamma", "vega", "theta"].iter().zip(e.greeks) {
            close(
                &p.native[&format!("black76.{greek}")],
                per_unit * e.size,
                1e-10,
            );
        }
        // The venue's greeks (8 significant digits per unit) agree within the 2 % tolerance.
        let g = p.greeks.unwrap();
        let venue_delta: f64 = g.delta.to_string().parse().unwrap();
        assert!(
            (venue_delta - e.greeks[0] * e.size).abs() < 1e-6,
            "{}",
            e.name
        );
        assert_eq!(
            p.native["black76.agrees"], "true",
            "{}: {:?}",
            e.name, p.native
        );
    }
    assert_eq!(s.native_health.figures["greeks.disagreements"], "0");

    // A written put (−3 at 138.37, mark value −415.11) margined at −(−1 315.11): the weight
    // reproduces the requirement and never understates it.
    let put = instrument(&s, "ETH-20260130-2800-P");
    assert_eq!(put.value_usd, d("415.11"));
    let requirement = put.value_usd * put.weights.maintenance;
    assert!(requirement >= d("1315.11") && requirement - d("1315.11") < d("0.000000000000000001"));
    // A bought call counts as collateral at its contribution: 207.42 of 414.84.
    let call = instrument(&s, "ETH-20260130-3000-C");
    assert!(call.counts_as_collateral);
    assert_eq!(call.weights.maintenance, d("0.5"));

    // The perp: short 5 at 3 001.5, PnL 250.75; requirement 250.75 − (−499.625) = 750.375 =
    // 5 % of 15 007.5.
    let perp = instrument(&s, "ETH-PERP");
    assert_eq!((perp.side, perp.value_usd), (Side::Short, d("15007.5")));
    assert_eq!(perp.weights.maintenance, d("0.05"));
    assert_eq!(perp.perp.as_ref().unwrap().unrealized_pnl_usd, d("250.75"));
    assert_eq!(
        perp.perp.as_ref().unwrap().liquidation_price,
        Some(d("7100.25"))
    );

    // Collateral of both subaccounts: USDC, ETH (0.75 of 6 000), BTC (0.75 of 9 500).
    let eth = instrument(&s, "ETH");
    assert_eq!(
        (eth.weights.initial, eth.weights.maintenance),
        (d("0.6"), d("0.75"))
    );
    assert_eq!(instrument(&s, "BTC").native["subaccount_id"], "1002");
    // Prices carry the venue's valuation time, 2 s before the pinned time.
    assert_eq!(eth.price.age_seconds, Some(2));

    // The venue's totals are the sums of their breakdown (maintenance 22 741.545 for 1001).
    assert_eq!(
        s.native_health.figures["1001.maintenance_margin.reproduced"],
        "22741.545"
    );
    assert_eq!(s.native_health.agrees, Some(true), "{:?}", s.warnings);
    // Health of 1001: credit = collateral 20 000 + 4 500 plus mark values
    // 250.75 + 414.84 − 415.11 − 206.88 + 711.48 = 25 255.08; requirement = 750.375 + 207.42 +
    // 900 + 300 + 355.74 = 2 513.535. Subaccount 1002 has no requirement.
    assert_eq!(
        s.native_health.value,
        Health::ratio(d("25255.08"), d("2513.535"))
    );
    assert_eq!(
        s.native_health.reported,
        Some(Health::ratio(d("2513.535") + d("22741.545"), d("2513.535")))
    );

    // The engine's view nets both subaccounts: 22 741.545 + 7 125 of maintenance excess.
    let profile = env.profile().await;
    assert!(profile.coverage.complete, "{:?}", profile.coverage.failures);
    let excess = profile.totals.margin_excess_usd;
    assert!(
        (excess - d("29866.545")).abs() < d("0.000000000001"),
        "{excess}"
    );
    // Per profile: get_time (the pin), get_subaccounts, 2 × margin_watch, 2 × get_tickers.
    assert_eq!(env.server.request_count(), 2 * 6);
}

#[tokio::test]
async fn a_wallet_without_subaccounts_is_empty() {
    let env = env(rules(&scenario("empty"))).await;
    let s = env.snapshot().await.unwrap();
    assert!(s.positions.is_empty());
    assert_eq!(s.native_health.value, Health::Infinite);
    let w = s
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::NoPositions)
        .unwrap();
    assert!(w.message.contains("no subaccount"));
    assert_eq!(env.server.request_count(), 2);
}

#[tokio::test]
async fn rate_limited_then_success() {
    let mut s = scenario("book");
    let body = s.remove("public/margin_watch:1002").unwrap();
    let mut rules = rules(&s);
    rules.push(rule(
        "public/margin_watch:1002",
        vec![Reply::status(429, "{}"), Reply::json(body.to_string())],
    ));
    let env = env(rules).await;
    let snapshot = env.snapshot().await.unwrap();
    assert_eq!(snapshot.positions.len(), 8);
    let stats = env.client.stats();
    assert_eq!(
        (stats.rate_limited, stats.retries, stats.requests),
        (1, 1, 7)
    );
}

#[tokio::test]
async fn a_malformed_body_is_a_clear_error_and_the_profile_is_incomplete() {
    let mut s = scenario("book");
    s.get_mut("public/margin_watch:1001").unwrap()["result"]["positions"][2]["amount"] =
        json!("two");
    let env = env(rules(&s)).await;
    let err = env.snapshot().await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Malformed { detail, .. } if detail.contains("`result.positions[2].amount`")),
        "{err}"
    );
    let profile = env.profile().await;
    assert!(!profile.coverage.complete);
    assert_eq!(profile.health, None);
    assert_eq!(
        profile.coverage.failures[0].kind,
        FailureKind::MalformedReply
    );
}

#[tokio::test]
async fn a_json_rpc_error_is_an_rpc_error() {
    let mut s = scenario("book");
    s.insert(
        "public/margin_watch:1002".into(),
        json!({"id": "1", "error": {"code": 14001, "message": "Subaccount not found"}}),
    );
    let env = env(rules(&s)).await;
    let err = env.snapshot().await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::RpcError { message, .. } if message.contains("code 14001")),
        "{err}"
    );
}

#[tokio::test]
async fn disagreeing_greeks_and_margins_are_reported() {
    let mut s = scenario("book");
    // The venue's vega of the March call off by a factor of 100 (per unit of vol, not per point).
    let book = s.get_mut("public/margin_watch:1001").unwrap();
    book["result"]["positions"][3]["vega"] = json!("551.15072");
    // And a maintenance total that is not the sum of its breakdown (worse by 30 000).
    book["result"]["maintenance_margin"] = json!("-7258.455");
    let env = env(rules(&s)).await;
    let s = env.snapshot().await.unwrap();
    let call = instrument(&s, "ETH-20260327-3500-C");
    assert_eq!(call.native["black76.agrees"], "false");
    assert_eq!(call.native["black76.vega.disagrees"], "venue -551.15072");
    assert_eq!(s.native_health.figures["greeks.disagreements"], "1");
    assert_eq!(s.native_health.agrees, Some(false));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.kind == WarningKind::NativeHealthMismatch
                && w.message.contains("subaccount 1001 maintenance_margin"))
    );
    // The venue's figure (net −7 258.455: liquidatable) is the one relied on.
    assert!(s.native_health.liquidatable);
    assert_eq!(
        s.native_health.value,
        Health::ratio(d("2513.535") - d("7258.455"), d("2513.535"))
    );
}

#[tokio::test]
async fn profile_cost_and_latency_against_the_replay_server() {
    let env = env(rules(&scenario("book"))).await;
    // Within the burst of 25 requests, so the rate budget does not pace the measurement.
    let runs = 4u32;
    let started = std::time::Instant::now();
    for _ in 0..runs {
        env.snapshot().await.unwrap();
    }
    let per_profile = started.elapsed() / runs;
    let requests = env.client.stats().requests / u64::from(runs);
    println!(
        "derive: {requests} requests per profile (pin included); {per_profile:?} per profile over {runs} runs"
    );
    assert_eq!(requests, 6);
}
