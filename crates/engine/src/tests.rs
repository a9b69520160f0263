//! Engine tests: expected values are written as the arithmetic that produces them.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test reports failure by panicking"
)]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_schema::*;

use crate::{EngineSettings, ProfileInput, compute_profile};

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

const ALICE: &str = "eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn account() -> AccountId {
    ALICE.parse().unwrap()
}

fn asset(symbol: &str, risk_key: &str) -> Asset {
    Asset {
        id: AssetId {
            chain: ChainId::evm(1),
            namespace: "erc20".into(),
            reference: format!("0x{symbol}"),
        },
        symbol: symbol.into(),
        decimals: 18,
        risk_key: risk_key.into(),
    }
}

fn price(usd: &str, age: Option<u64>) -> Price {
    Price {
        usd: d(usd),
        source: PriceSource {
            oracle: "test-oracle".into(),
            address: None,
            feed: None,
        },
        updated_at: None,
        age_seconds: age,
    }
}

fn supply(symbol: &str, amount: &str, usd: &str, ltv: &str, lt: &str) -> Position {
    Position {
        kind: PositionKind::Supply,
        side: Side::Long,
        asset: asset(symbol, symbol),
        amount: d(amount),
        price: price(usd, Some(60)),
        value_usd: d(amount) * d(usd),
        counts_as_collateral: true,
        weights: RiskWeights {
            initial: d(ltv),
            maintenance: d(lt),
        },
        perp: None,
        option: None,
        greeks: None,
        native: BTreeMap::new(),
    }
}

fn debt(symbol: &str, amount: &str, usd: &str) -> Position {
    Position {
        kind: PositionKind::Debt,
        side: Side::Short,
        weights: RiskWeights {
            initial: Decimal::ONE,
            maintenance: Decimal::ONE,
        },
        counts_as_collateral: false,
        ..supply(symbol, amount, usd, "0", "0")
    }
}

fn snapshot(protocol: &str, positions: Vec<Position>) -> ProtocolSnapshot {
    ProtocolSnapshot {
        provenance: Provenance {
            chain: ChainId::evm(1),
            read_point: ReadPoint::Block {
                number: 100,
                hash: "0xabc".into(),
                timestamp: 1_700_000_000,
            },
            protocol: ProtocolId::new(protocol).unwrap(),
            market: MarketId("core".into()),
            account: account(),
            sources: vec![],
            fetched_at: Utc.timestamp_opt(1_700_000_001, 0).unwrap(),
        },
        positions,
        native_health: NativeHealth::new("test.health", Health::Infinite, None),
        warnings: vec![],
    }
}

fn input(snapshots: Vec<ProtocolSnapshot>, failures: Vec<Failure>) -> ProfileInput {
    let expected = BTreeMap::from([(
        ChainId::evm(1),
        snapshots
            .iter()
            .map(|s| format!("{}/{}", s.provenance.protocol, s.provenance.market))
            .collect(),
    )]);
    ProfileInput {
        accounts: vec![account()],
        snapshots,
        failures,
        expected,
        read_points: BTreeMap::from([(
            ChainId::evm(1),
            Some(ReadPoint::Block {
                number: 100,
                hash: "0xabc".into(),
                timestamp: 1_700_000_000,
            }),
        )]),
        as_of: Utc.timestamp_opt(1_700_000_002, 0).unwrap(),
    }
}

#[test]
fn totals_and_health_of_a_lending_account() {
    // 10 ETH at 2000 (LTV 80 %, LT 82.5 %) + 5000 USDC at 1 (LTV 75 %, LT 78 %); 12000 USDC debt.
    let s = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "10", "2000", "0.80", "0.825"),
            supply("USDC", "5000", "1", "0.75", "0.78"),
            debt("USDC", "12000", "1"),
        ],
    );
    let p = compute_profile(input(vec![s], vec![]), &EngineSettings::default());
    assert!(p.coverage.complete);
    let t = &p.totals;
    assert_eq!(t.collateral_usd, d("25000")); // 20000 + 5000
    assert_eq!(t.adjusted_collateral_usd, d("20400")); // 20000×0.825 + 5000×0.78 = 16500 + 3900
    assert_eq!(t.initial_collateral_usd, d("19750")); // 20000×0.80 + 5000×0.75 = 16000 + 3750
    assert_eq!(t.debt_usd, d("12000"));
    assert_eq!(t.net_value_usd, d("13000")); // 25000 − 12000
    assert_eq!(t.maintenance_margin_usd, d("12000"));
    assert_eq!(t.margin_excess_usd, d("8400")); // 20400 − 12000
    assert_eq!(p.health, Some(Health::Finite(d("1.7")))); // 20400 / 12000
    assert_eq!(
        p.initial_health.unwrap().finite().unwrap().round_dp(6),
        d("1.645833")
    ); // 19750/12000
    assert_eq!(t.free_collateral_usd, d("7750")); // 19750 − 12000
    // The stress grid allows less than the initial margins here, and the smaller one is served.
    assert!(p.risk.margin.credit_capacity_usd < d("7750"));
    assert_eq!(p.credit_capacity_usd, p.risk.margin.credit_capacity_usd);
    assert_eq!(p.cross_margin_benefit_usd, Decimal::ZERO);
    assert_eq!(p.protocols.len(), 1);
    assert_eq!(p.protocols[0].health, Health::Finite(d("1.7")));
}

#[test]
fn no_debt_is_infinite_health() {
    let s = snapshot("aave-v3", vec![supply("ETH", "1", "2000", "0.8", "0.825")]);
    let p = compute_profile(input(vec![s], vec![]), &EngineSettings::default());
    assert_eq!(p.health, Some(Health::Infinite));
    assert_eq!(p.totals.free_collateral_usd, d("1600")); // 2000 × 0.8
    assert_eq!(
        p.credit_capacity_usd,
        d("1600").min(p.risk.margin.credit_capacity_usd)
    );
    assert!(p.credit_capacity_usd > Decimal::ZERO);
}

#[test]
fn supply_not_used_as_collateral_counts_in_net_value_only() {
    let mut idle = supply("DAI", "1000", "1", "0.75", "0.8");
    idle.counts_as_collateral = false;
    let s = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "1", "2000", "0.8", "0.825"),
            idle,
            debt("DAI", "1000", "1"),
        ],
    );
    let p = compute_profile(input(vec![s], vec![]), &EngineSettings::default());
    assert_eq!(p.totals.net_value_usd, d("2000")); // 2000 + 1000 − 1000
    assert_eq!(p.totals.collateral_usd, d("2000"));
    assert_eq!(p.health, Some(Health::Finite(d("1.65")))); // 2000×0.825 / 1000
}

#[test]
fn a_failed_read_makes_the_profile_incomplete_and_closes_credit() {
    let ok = snapshot("aave-v3", vec![supply("ETH", "10", "2000", "0.8", "0.825")]);
    let failure = Failure {
        scope: FailureScope {
            chain: Some(ChainId::evm(1)),
            protocol: Some(ProtocolId::new("spark").unwrap()),
            market: Some(MarketId("core".into())),
            account: Some(account()),
        },
        kind: FailureKind::RpcTimeout,
        message: "rpc timeout".into(),
    };
    let mut inp = input(vec![ok], vec![failure.clone()]);
    inp.expected
        .get_mut(&ChainId::evm(1))
        .unwrap()
        .push("spark/core".into());
    let p = compute_profile(inp, &EngineSettings::default());
    assert!(!p.coverage.complete);
    assert_eq!(p.coverage.failures, vec![failure]);
    assert_eq!(p.coverage.protocols_read, 1);
    assert_eq!(p.coverage.protocols_failed, 1);
    // What was read is still shown, but nothing that could be mistaken for a verdict.
    assert_eq!(p.totals.collateral_usd, d("20000"));
    assert_eq!(p.health, None);
    assert_eq!(p.initial_health, None);
    assert_eq!(p.weakest_native_health, None);
    assert_eq!(p.credit_capacity_usd, Decimal::ZERO);
}

#[test]
fn a_chain_that_could_not_be_pinned_fails_every_market_on_it() {
    let failure = Failure {
        scope: FailureScope {
            chain: Some(ChainId::evm(1)),
            ..Default::default()
        },
        kind: FailureKind::RpcUnavailable,
        message: "connection refused".into(),
    };
    let mut inp = input(vec![], vec![failure]);
    inp.expected.insert(
        ChainId::evm(1),
        vec!["aave-v3/core".into(), "spark/core".into()],
    );
    inp.read_points.insert(ChainId::evm(1), None);
    let p = compute_profile(inp, &EngineSettings::default());
    assert!(!p.coverage.complete);
    assert_eq!(p.coverage.protocols_failed, 2);
    assert_eq!(p.coverage.chains[0].read_point, None);
    assert_eq!(p.health, None);
}

#[test]
fn a_market_with_neither_snapshot_nor_failure_is_not_silently_dropped() {
    let mut inp = input(vec![], vec![]);
    inp.expected
        .insert(ChainId::evm(1), vec!["aave-v3/core".into()]);
    let p = compute_profile(inp, &EngineSettings::default());
    assert!(!p.coverage.complete);
    assert_eq!(p.coverage.failures[0].kind, FailureKind::Internal);
}

#[test]
fn a_stale_price_fails_closed_and_its_debt_is_not_dropped_silently() {
    let mut stale_debt = debt("USDC", "12000", "1");
    stale_debt.price.age_seconds = Some(90_000);
    let s = snapshot(
        "aave-v3",
        vec![supply("ETH", "10", "2000", "0.8", "0.825"), stale_debt],
    );
    let p = compute_profile(input(vec![s], vec![]), &EngineSettings::default());
    assert!(!p.coverage.complete);
    assert_eq!(p.coverage.failures.len(), 1);
    assert_eq!(p.coverage.failures[0].kind, FailureKind::StalePrice);
    assert!(p.coverage.failures[0].message.contains("90000 s old"));
    assert_eq!(p.health, None);
    assert_eq!(p.credit_capacity_usd, Decimal::ZERO);
    // The market is excluded as a whole: its collateral is not counted without its debt.
    assert_eq!(p.totals.collateral_usd, Decimal::ZERO);
}

#[test]
fn a_missing_price_fails_closed() {
    let s = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "10", "2000", "0.8", "0.825"),
            debt("XYZ", "5", "0"),
        ],
    );
    let p = compute_profile(input(vec![s], vec![]), &EngineSettings::default());
    assert!(!p.coverage.complete);
    assert_eq!(p.coverage.failures[0].kind, FailureKind::MissingPrice);
}

#[test]
fn unknown_price_age_warns_or_fails_by_setting() {
    let mut pos = supply("ETH", "1", "2000", "0.8", "0.825");
    pos.price.age_seconds = None;
    let s = snapshot("aave-v3", vec![pos]);
    let p = compute_profile(input(vec![s.clone()], vec![]), &EngineSettings::default());
    assert!(p.coverage.complete);
    assert_eq!(p.coverage.warnings[0].kind, WarningKind::PriceAgeUnknown);
    let strict = EngineSettings {
        require_price_age: true,
        ..EngineSettings::default()
    };
    let p = compute_profile(input(vec![s], vec![]), &strict);
    assert!(!p.coverage.complete);
}

#[test]
fn native_health_mismatch_is_reported_and_the_worse_value_used() {
    let mut s = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "1", "2000", "0.8", "0.825"),
            debt("USDC", "1000", "1"),
        ],
    );
    s.native_health = NativeHealth::new(
        "aave-v3.health_factor",
        Health::Finite(d("1.65")),
        Some(Health::Finite(d("1.6"))),
    );
    let p = compute_profile(input(vec![s], vec![]), &EngineSettings::default());
    assert_eq!(p.protocols[0].native_health.value, Health::Finite(d("1.6")));
    assert_eq!(p.weakest_native_health, Some(Health::Finite(d("1.6"))));
    assert!(
        p.coverage
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::NativeHealthMismatch)
    );
}

#[test]
fn cross_protocol_hedge_is_the_cross_margin_benefit() {
    // ETH collateral on protocol A, ETH debt on protocol B (against USDC collateral there).
    let a = snapshot("aave-v3", vec![supply("ETH", "10", "2000", "0.8", "0.825")]);
    let b = snapshot(
        "spark",
        vec![
            supply("USDC", "30000", "1", "0.75", "0.78"),
            debt("ETH", "4", "2000"),
        ],
    );
    let p = compute_profile(input(vec![a, b], vec![]), &EngineSettings::default());
    assert_eq!(p.isolated_requirement_usd, d("8000")); // 4 × 2000
    // ETH debt 8000 is hedged by 20000 of ETH collateral on the other protocol: min(8000, 20000) − 0.
    assert_eq!(p.cross_margin_benefit_usd, d("8000"));
    assert_eq!(p.cross_requirement_usd, Decimal::ZERO);
    // The public netting functions agree with what the engine summed while building its book.
    assert_eq!(
        crate::netting::cross_margin_benefit_of_profiles(&p.protocols),
        d("8000")
    );
}

#[test]
fn hedging_inside_one_protocol_is_not_a_cross_margin_benefit() {
    let s = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "10", "2000", "0.8", "0.825"),
            debt("ETH", "2", "2000"),
        ],
    );
    let p = compute_profile(input(vec![s.clone()], vec![]), &EngineSettings::default());
    assert_eq!(p.cross_margin_benefit_usd, Decimal::ZERO);
    assert_eq!(crate::netting::cross_margin_benefit([&s]), Decimal::ZERO);
}

#[test]
fn output_is_independent_of_input_order() {
    let a = snapshot("aave-v3", vec![supply("ETH", "10", "2000", "0.8", "0.825")]);
    let b = snapshot(
        "spark",
        vec![
            supply("USDC", "30000", "1", "0.75", "0.78"),
            debt("ETH", "4", "2000"),
        ],
    );
    let p1 = compute_profile(
        input(vec![a.clone(), b.clone()], vec![]),
        &EngineSettings::default(),
    );
    let p2 = compute_profile(input(vec![b, a], vec![]), &EngineSettings::default());
    assert_eq!(
        serde_json::to_string(&p1).unwrap(),
        serde_json::to_string(&p2).unwrap()
    );
}

#[test]
fn more_collateral_never_lowers_health() {
    let base = vec![
        supply("ETH", "3", "2000", "0.8", "0.825"),
        debt("USDC", "4000", "1"),
    ];
    let mut last = Health::Finite(Decimal::ZERO);
    for extra in 0..50u32 {
        let mut positions = base.clone();
        positions.push(supply(
            "WBTC",
            &format!("{}", extra),
            "60000",
            "0.7",
            "0.75",
        ));
        let p = compute_profile(
            input(vec![snapshot("aave-v3", positions)], vec![]),
            &EngineSettings::default(),
        );
        let h = p.health.unwrap();
        assert!(
            h >= last,
            "health fell from {last} to {h} adding collateral"
        );
        last = h;
    }
}

#[test]
fn perp_pnl_counts_at_maintenance_but_positive_pnl_not_at_initial() {
    let collateral = supply("USDC", "1000", "1", "1", "1");
    let perp = Position {
        kind: PositionKind::Perp,
        side: Side::Long,
        weights: RiskWeights {
            initial: d("0.1"),
            maintenance: d("0.05"),
        },
        counts_as_collateral: false,
        perp: Some(PerpDetails {
            market: "ETH-USD".into(),
            entry_price: d("1800"),
            mark_price: d("2000"),
            unrealized_pnl_usd: d("400"),
            liquidation_price: None,
        }),
        ..supply("ETH", "2", "2000", "0", "0")
    };
    let p = compute_profile(
        input(vec![snapshot("drift", vec![collateral, perp])], vec![]),
        &EngineSettings::default(),
    );
    assert_eq!(p.totals.net_value_usd, d("1400"));
    assert_eq!(p.totals.adjusted_collateral_usd, d("1400")); // 1000 + 400
    assert_eq!(p.totals.initial_collateral_usd, d("1000")); // positive PnL excluded
    assert_eq!(p.totals.maintenance_margin_usd, d("200")); // 4000 × 0.05
    assert_eq!(p.totals.initial_margin_usd, d("400")); // 4000 × 0.1
    assert_eq!(p.health, Some(Health::Finite(d("7"))));
}

/// 10 WETH supplied and 5 000 USDC borrowed on one market: a book with a grid to build.
fn eth_loan() -> ProfileInput {
    input(
        vec![snapshot(
            "aave-v3",
            vec![
                supply("WETH", "10", "2000", "0.8", "0.85"),
                debt("USDC", "5000", "1"),
            ],
        )],
        vec![],
    )
}

/// Grids are compiled once per model and book shape and shared by clones of the settings; a
/// model changed afterwards (its fields are public) must get its own grid, never a stale one.
#[test]
fn a_cached_grid_is_never_used_for_a_changed_model() {
    let mut settings = EngineSettings::default();
    let first = compute_profile(eth_loan(), &settings);
    // The same settings again: the cached grid gives the same profile.
    assert_eq!(compute_profile(eth_loan(), &settings), first);

    settings.model.grid.moves = vec![d("0.5")];
    settings.model.grid.joint = false;
    let changed = compute_profile(eth_loan(), &settings);
    let fresh = compute_profile(
        eth_loan(),
        &EngineSettings {
            model: settings.model.clone(),
            ..EngineSettings::default()
        },
    );
    assert_eq!(changed, fresh, "the changed model builds its own grid");
    assert_ne!(changed.risk.scenarios, first.risk.scenarios);
    let ids: Vec<&str> = changed
        .risk
        .scenarios
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    // The one grid move, 50 %, scaled by the default group's 1.5 (volatility ÷ reference).
    assert!(ids.contains(&"WETH-75%"), "{ids:?}");
}

/// The book writes its market labels out by hand; they must read as the formatted ids do.
#[test]
fn market_labels_read_as_the_formatted_ids() {
    let s = snapshot("aave-v3", vec![]);
    let p = &s.provenance;
    assert_eq!(
        crate::book::market_label(&s),
        format!("{}/{}@{}", p.protocol, p.market, p.account)
    );
    assert_eq!(
        crate::book::market_label(&s),
        "aave-v3/core@eip155:1:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    );
}

/// Profiles computed at once from several threads with shared settings agree, and the grid of
/// their one shape is kept once.
#[test]
fn concurrent_profiles_share_one_compiled_grid() {
    let settings = EngineSettings::default();
    let profiles: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| compute_profile(eth_loan(), &settings)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(profiles.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(format!("{:?}", settings.grids), "GridCache { grids: 1 }");
    // Every profile either found the grid or built it (a race builds it more than once).
    let stats = settings.grids.stats();
    assert_eq!(stats.grids, 1);
    assert!(stats.built >= 1);
    assert_eq!(stats.found + stats.built, 4, "{stats:?}");
    compute_profile(eth_loan(), &settings);
    assert_eq!(settings.grids.stats().found, stats.found + 1);
}
