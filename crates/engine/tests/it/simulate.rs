//! What-if simulation and segments.

use unimargin_engine::{SimulateError, compute_profile, compute_segmented_profile, simulate};
use unimargin_schema::*;

use crate::support::*;

fn at(protocol: &str) -> MarketRef {
    MarketRef {
        protocol: ProtocolId::new(protocol).unwrap(),
        market: MarketId("core".into()),
        account: None,
    }
}

fn base() -> MarginProfile {
    let aave = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825"),
            debt("USDC", "USD", d("12000"), d("1")),
        ],
    );
    let spark = snapshot(
        "spark",
        vec![supply("USDC", "USD", d("30000"), d("1"), "0.75", "0.78")],
    );
    compute_profile(input(vec![aave, spark]), &settings(plain_model()))
}

#[test]
fn a_simulation_without_changes_reproduces_the_profile() {
    let base = base();
    let sim = simulate(&base, &[], &settings(plain_model())).unwrap();
    assert_eq!(sim.before, base);
    assert_eq!(sim.after, base);
    assert!(sim.diff.markets.is_empty());
}

#[test]
fn repaying_debt_raises_health_and_is_reported_in_the_diff() {
    let base = base();
    let changes = [WhatIfChange::Repay {
        at: at("aave-v3"),
        symbol: "usdc".into(),
        amount: d("2000"),
    }];
    let sim = simulate(&base, &changes, &settings(plain_model())).unwrap();
    // Aave health 16 500 ÷ 12 000 = 1.375 → 16 500 ÷ 10 000 = 1.65.
    let [m] = sim.diff.markets.as_slice() else {
        panic!("{:?}", sim.diff.markets)
    };
    assert_eq!(
        (m.before, m.after),
        (
            Some(Health::Finite(d("1.375"))),
            Some(Health::Finite(d("1.65")))
        )
    );
    // The repayment came from outside: equity +2 000.
    assert_eq!(sim.diff.equity_usd.delta, d("2000"));
    assert!(sim.diff.health.after > sim.diff.health.before);
    let aave = sim
        .after
        .protocols
        .iter()
        .find(|p| p.protocol.as_str() == "aave-v3")
        .unwrap();
    assert_eq!(aave.native_health.metric, "test.health.simulated");
    assert_eq!(aave.native_health.value, Health::Finite(d("1.65")));
}

#[test]
fn a_price_override_moves_every_market_holding_the_asset() {
    let changes = [WhatIfChange::PriceOverride {
        symbol: "ETH".into(),
        group: None,
        usd: d("1400"),
    }];
    let sim = simulate(&base(), &changes, &settings(plain_model())).unwrap();
    // 14 000 × 0.825 = 11 550 < 12 000: aave becomes liquidatable.
    let [m] = sim.diff.markets.as_slice() else {
        panic!()
    };
    assert!(m.liquidatable_after);
    assert_eq!(m.after, Some(Health::Finite(d("0.9625"))));
    assert_eq!(sim.diff.equity_usd.delta, d("-6000"));
}

#[test]
fn borrowing_a_new_asset_prices_it_from_the_profile() {
    let changes = [WhatIfChange::Borrow {
        at: at("spark"),
        symbol: "ETH".into(),
        amount: d("2"),
    }];
    let sim = simulate(&base(), &changes, &settings(plain_model())).unwrap();
    let spark = sim
        .after
        .protocols
        .iter()
        .find(|p| p.protocol.as_str() == "spark")
        .unwrap();
    let debt = spark
        .positions
        .iter()
        .find(|p| p.kind == PositionKind::Debt)
        .unwrap();
    assert_eq!(
        (debt.value_usd, debt.weights.maintenance),
        (d("4000"), d("1"))
    );
    assert_eq!(sim.diff.equity_usd.delta, d("-4000"));
}

#[test]
fn invalid_changes_are_typed_errors() {
    let s = settings(plain_model());
    let base = base();
    let cases = [
        (
            WhatIfChange::Withdraw {
                at: at("aave-v3"),
                symbol: "ETH".into(),
                amount: d("11"),
            },
            "more than the 10 held",
        ),
        (
            WhatIfChange::Deposit {
                at: at("compound-v3"),
                symbol: "ETH".into(),
                amount: d("1"),
            },
            "no market compound-v3/core",
        ),
        (
            WhatIfChange::Repay {
                at: at("spark"),
                symbol: "USDC".into(),
                amount: d("1"),
            },
            "no debt position in USDC",
        ),
        (
            WhatIfChange::Deposit {
                at: at("aave-v3"),
                symbol: "ETH".into(),
                amount: d("0"),
            },
            "amount must be positive",
        ),
        (
            WhatIfChange::Borrow {
                at: at("aave-v3"),
                symbol: "DOGE".into(),
                amount: d("1"),
            },
            "no price for DOGE",
        ),
    ];
    for (change, message) in cases {
        let err = simulate(&base, &[change], &s).unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
    }
    assert!(matches!(
        simulate(
            &base,
            &[WhatIfChange::Withdraw {
                at: at("aave-v3"),
                symbol: "ETH".into(),
                amount: d("11")
            }],
            &s
        ),
        Err(SimulateError::TooMuch { index: 0, .. })
    ));
}

/// Alice's ETH long on aave and Bob's ETH short on drift: together they hedge; each segment alone
/// carries its own risk.
#[test]
fn segments_are_margined_on_their_own() {
    let alice = snapshot_of("aave-v3", ALICE, aave_eth_loan());
    let bob = snapshot_of("drift", BOB, drift_eth_short());
    let segments = [
        Segment {
            name: "spot".into(),
            accounts: vec![account(ALICE)],
        },
        Segment {
            name: "perps".into(),
            accounts: vec![account(BOB)],
        },
    ];
    // Each account is read on both markets (the engine expects every market for every account).
    let empty = [
        snapshot_of("drift", ALICE, vec![]),
        snapshot_of("aave-v3", BOB, vec![]),
    ];
    let mut snapshots = vec![alice, bob];
    snapshots.extend(empty);
    let p = compute_segmented_profile(input(snapshots), &segments, &settings(plain_model()));
    assert!(p.coverage.complete, "{:?}", p.coverage.failures);
    // The whole: the credit-capacity example, 3 500 of stress loss.
    assert_eq!(p.risk.margin.stress_loss_usd, d("3500"));
    let seg = |n: &str| p.risk.segments.iter().find(|s| s.name == n).unwrap();
    // Alice alone: ETH −35 % on 20 000 = 7 000.
    assert_eq!(seg("spot").margin.stress_loss_usd, d("7000"));
    assert_eq!(
        seg("spot").markets,
        [
            format!("aave-v3/core@{}", account(ALICE)),
            format!("drift/core@{}", account(ALICE))
        ]
    );
    // Bob alone: ETH +35 % loses 3 500 and liquidates drift (3 000 − 3 500 < 13 500 × 5 %):
    // 3 500 + 5 % × 13 500 = 4 175.
    assert_eq!(seg("perps").margin.stress_loss_usd, d("4175"));
    assert_eq!(
        seg("perps").first_liquidation.as_deref(),
        Some(format!("drift/core@{}", account(BOB)).as_str())
    );
    assert!(seg("perps").complete && seg("spot").complete);
    // Simulating keeps the segments.
    let sim = simulate(&p, &[], &settings(plain_model())).unwrap();
    assert_eq!(sim.after.risk.segments, p.risk.segments);
}

#[test]
fn a_failure_on_one_account_leaves_the_other_segment_complete() {
    let alice = snapshot_of(
        "aave-v3",
        ALICE,
        vec![supply("ETH", "ETH", d("1"), d("2000"), "0.8", "0.825")],
    );
    let mut inp = input(vec![alice]);
    inp.accounts.push(account(BOB));
    inp.failures.push(Failure {
        scope: FailureScope {
            chain: Some(ChainId::evm(1)),
            protocol: Some(ProtocolId::new("aave-v3").unwrap()),
            market: Some(MarketId("core".into())),
            account: Some(account(BOB)),
        },
        kind: FailureKind::RpcTimeout,
        message: "timeout".into(),
    });
    let segments = [
        Segment {
            name: "alice".into(),
            accounts: vec![account(ALICE)],
        },
        Segment {
            name: "bob".into(),
            accounts: vec![account(BOB)],
        },
    ];
    let p = compute_segmented_profile(inp, &segments, &settings(plain_model()));
    assert!(!p.coverage.complete);
    assert_eq!(p.risk.margin.health, None);
    let seg = |n: &str| p.risk.segments.iter().find(|s| s.name == n).unwrap();
    assert!(seg("alice").complete && seg("alice").margin.health.is_some());
    assert!(!seg("bob").complete && seg("bob").margin.health.is_none());
    assert_eq!(
        seg("bob").margin.credit_capacity_usd,
        rust_decimal::Decimal::ZERO
    );
}
