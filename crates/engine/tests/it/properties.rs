//! Invariants over generated portfolios (proptest), with the shipped-like model: every
//! scenario family on (correlated joint moves, depegs, oracle deviation, carry, haircuts).

use proptest::prelude::*;
use rust_decimal::Decimal;
use unimargin_engine::{
    EngineSettings, compute_profile,
    model::{CorrelationConfig, PegConfig, SizeParams},
};
use unimargin_schema::*;

use crate::support::*;

fn model() -> EngineSettings {
    let mut m = plain_model();
    m.carry.borrow_apr = d("0.3");
    m.carry.funding_apr = d("1");
    m.grid.oracle_deviation = d("0.02");
    m.grid.joint = true;
    m.groups.get_mut("USD").unwrap().default_depeg = d("0.05");
    m.pegs.insert(
        "USDC".into(),
        PegConfig {
            group: "USD".into(),
            symbols: vec!["USDC".into()],
            depeg: d("0.1"),
        },
    );
    m.correlation = CorrelationConfig {
        groups: vec!["BTC".into(), "ETH".into()],
        matrix: vec![vec![d("1"), d("0.8")], vec![d("0.8"), d("1")]],
    };
    m.haircuts = unimargin_engine::model::HaircutSchedule::default();
    m.haircuts.assets.insert(
        "ETH".into(),
        SizeParams {
            liquidity_usd: d("1000000"),
            imf: d("0.02"),
        },
    );
    m.haircuts.assets.insert(
        "USDC".into(),
        SizeParams {
            liquidity_usd: d("1000000000"),
            imf: d("0.005"),
        },
    );
    m.validate().unwrap();
    settings(m)
}

/// Whole units from a generated integer (cents of a unit), so amounts are exact.
fn units(cents: u32) -> Decimal {
    Decimal::new(i64::from(cents), 2)
}

#[derive(Debug, Clone)]
struct Book {
    aave_eth: u32,
    aave_btc: u32,
    aave_usdc: u32,
    aave_debt_usdc: u32,
    aave_debt_eth: u32,
    spark_eth: u32,
    spark_debt_usdc: u32,
    drift_usdc: u32,
    drift_perp: u32,
    drift_long: bool,
}

fn books() -> impl Strategy<Value = Book> {
    (
        (
            1u32..2_000,
            0u32..100,
            0u32..5_000_000,
            0u32..5_000_000,
            0u32..500,
        ),
        (
            0u32..2_000,
            0u32..3_000_000,
            1u32..3_000_000,
            0u32..1_000,
            any::<bool>(),
        ),
    )
        .prop_map(|((a, b, c, dd, e), (f, g, h, i, j))| Book {
            aave_eth: a,
            aave_btc: b,
            aave_usdc: c,
            aave_debt_usdc: dd,
            aave_debt_eth: e,
            spark_eth: f,
            spark_debt_usdc: g,
            drift_usdc: h,
            drift_perp: i,
            drift_long: j,
        })
}

fn snapshots(b: &Book) -> Vec<ProtocolSnapshot> {
    let mut aave = vec![
        supply("ETH", "ETH", units(b.aave_eth), d("2000"), "0.8", "0.825"),
        supply("BTC", "BTC", units(b.aave_btc), d("40000"), "0.73", "0.78"),
        supply("USDC", "USD", units(b.aave_usdc), d("1"), "0.75", "0.78"),
        debt("USDC", "USD", units(b.aave_debt_usdc), d("1")),
        debt("ETH", "ETH", units(b.aave_debt_eth), d("2000")),
    ];
    aave.retain(|p| !p.amount.is_zero());
    let mut spark = vec![
        supply("ETH", "ETH", units(b.spark_eth), d("2000"), "0.75", "0.8"),
        debt("USDC", "USD", units(b.spark_debt_usdc), d("1")),
    ];
    spark.retain(|p| !p.amount.is_zero());
    let side = if b.drift_long {
        Side::Long
    } else {
        Side::Short
    };
    let mut drift = vec![
        supply("USDC", "USD", units(b.drift_usdc), d("1"), "1", "1"),
        perp(
            side,
            "ETH",
            "ETH",
            units(b.drift_perp),
            d("2000"),
            "0.1",
            "0.05",
        ),
    ];
    drift.retain(|p| !p.amount.is_zero());
    vec![
        snapshot("aave-v3", aave),
        snapshot("spark", spark),
        snapshot("drift", drift),
    ]
}

fn health(
    snapshots: Vec<ProtocolSnapshot>,
    s: &EngineSettings,
) -> (Option<Health>, Option<Health>) {
    let p = compute_profile(input(snapshots), s);
    (p.risk.margin.health, p.risk.margin.initial_health)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Adding collateral (of any asset the portfolio trades, on any market) never lowers the
    /// portfolio health, at maintenance or initial level.
    #[test]
    fn adding_collateral_never_lowers_health(b in books(), market in 0usize..3, asset in 0usize..3, extra in 1u32..2_000_000) {
        let s = model();
        let base = snapshots(&b);
        let mut more = base.clone();
        let (symbol, group, usd) = [("ETH", "ETH", "2000"), ("BTC", "BTC", "40000"), ("USDC", "USD", "1")][asset];
        more[market].positions.push(supply(symbol, group, units(extra) / Decimal::ONE_HUNDRED, d(usd), "0.7", "0.75"));
        let (h0, i0) = health(base, &s);
        let (h1, i1) = health(more, &s);
        prop_assert!(h1 >= h0, "health fell from {h0:?} to {h1:?}");
        prop_assert!(i1 >= i0, "initial health fell from {i0:?} to {i1:?}");
    }

    /// Adding debt (borrowed and taken out of the profile) never raises the portfolio health.
    #[test]
    fn adding_debt_never_raises_health(b in books(), market in 0usize..3, asset in 0usize..3, extra in 1u32..2_000_000) {
        let s = model();
        let base = snapshots(&b);
        let mut more = base.clone();
        let (symbol, group, usd) = [("ETH", "ETH", "2000"), ("BTC", "BTC", "40000"), ("USDC", "USD", "1")][asset];
        more[market].positions.push(debt(symbol, group, units(extra) / Decimal::ONE_HUNDRED, d(usd)));
        let (h0, i0) = health(base, &s);
        let (h1, i1) = health(more, &s);
        prop_assert!(h1 <= h0, "health rose from {h0:?} to {h1:?}");
        prop_assert!(i1 <= i0, "initial health rose from {i0:?} to {i1:?}");
    }

    /// A perfect hedge across protocols (ETH collateral on aave, the same ETH short on drift)
    /// lowers the portfolio requirement below the sum of the isolated ones (each market margined
    /// alone by the same grid: aave loses its ETH fall, drift its ETH rise). Sizes keep both legs
    /// alive on the grid: aave's debt is 10–30 % of its liquidation-weighted collateral (it
    /// survives −70 %), drift holds 100–150 % of the perp notional in USDC (it survives +70 %).
    /// What the hedge leaves is the USDC the perp is margined with, which the depeg scenario
    /// charges (10 %); an aave account without debt requires nothing of its own, so with no debt
    /// at all the depeg charge can exceed drift's 5 % — the grid is then rightly stricter than
    /// the two protocols together.
    #[test]
    fn a_perfect_hedge_lowers_the_requirement_below_isolated(eth in 1u32..50_000, debt_share in 10u32..=30, cover in 100u32..=150) {
        let s = model();
        let amount = units(eth);
        let notional = amount * d("2000");
        let debt_usd = (notional * d("0.825") * Decimal::from(debt_share) / Decimal::ONE_HUNDRED).floor();
        let mut aave = vec![supply("ETH", "ETH", amount, d("2000"), "0.8", "0.825")];
        if debt_usd > Decimal::ZERO {
            aave.push(debt("USDC", "USD", debt_usd, d("1")));
        }
        let drift = vec![
            supply("USDC", "USD", notional * Decimal::from(cover) / Decimal::ONE_HUNDRED, d("1"), "1", "1"),
            perp(Side::Short, "ETH", "ETH", amount, d("2000"), "0.1", "0.05"),
        ];
        let p = compute_profile(input(vec![snapshot("aave-v3", aave), snapshot("drift", drift)]), &s);
        let m = &p.risk.margin;
        prop_assert!(m.maintenance_requirement_usd < m.isolated_requirement_usd, "{m:?}");
        prop_assert!(m.cross_margin_benefit_usd > Decimal::ZERO);
        let standalone: Decimal = p.protocols.iter().map(|x| x.risk.standalone_requirement_usd).sum();
        prop_assert_eq!(m.isolated_requirement_usd, standalone);
    }

    /// A missing price never raises health: the market is excluded, the profile is incomplete,
    /// it has no health and no credit.
    #[test]
    fn a_missing_price_never_raises_health(b in books(), pick in any::<prop::sample::Index>()) {
        let s = model();
        let base = snapshots(&b);
        let mut broken = base.clone();
        let all: Vec<(usize, usize)> = broken.iter().enumerate().flat_map(|(m, x)| (0..x.positions.len()).map(move |i| (m, i))).collect();
        let (m, i) = all[pick.index(all.len())];
        broken[m].positions[i].price.usd = Decimal::ZERO;
        let before = compute_profile(input(base), &s);
        let after = compute_profile(input(broken), &s);
        prop_assert!(after.risk.margin.health.is_none() && after.health.is_none());
        prop_assert!(after.risk.margin.health <= before.risk.margin.health);
        prop_assert_eq!(after.risk.margin.credit_capacity_usd, Decimal::ZERO);
        prop_assert_eq!(after.credit_capacity_usd, Decimal::ZERO);
    }

    /// The portfolio requirement is never below the largest single-protocol requirement, nor
    /// below their sum (the venues liquidate independently), at maintenance and initial level;
    /// each market's standalone requirement is never below its own.
    #[test]
    fn the_requirement_is_never_below_the_protocol_requirements(b in books()) {
        let p = compute_profile(input(snapshots(&b)), &model());
        let m = &p.risk.margin;
        let own = |x: &ProtocolProfile| x.risk.maintenance_requirement_usd;
        let own_initial = |x: &ProtocolProfile| x.risk.initial_requirement_usd;
        let largest = p.protocols.iter().map(own).max().unwrap_or_default();
        prop_assert!(m.maintenance_requirement_usd >= largest);
        let sum: Decimal = p.protocols.iter().map(own).sum();
        prop_assert!(m.maintenance_requirement_usd >= sum, "{m:?}");
        prop_assert_eq!(m.protocol_requirements_usd, sum);
        let largest_initial = p.protocols.iter().map(own_initial).max().unwrap_or_default();
        prop_assert!(m.initial_requirement_usd >= largest_initial);
        let sum_initial: Decimal = p.protocols.iter().map(own_initial).sum();
        prop_assert!(m.initial_requirement_usd >= sum_initial, "{m:?}");
        for x in &p.protocols {
            prop_assert!(x.risk.standalone_requirement_usd >= own(x));
            prop_assert!(x.risk.standalone_initial_requirement_usd >= own_initial(x));
            prop_assert!(x.risk.standalone_initial_requirement_usd >= x.risk.standalone_requirement_usd);
        }
    }

    /// The credit a venue reads never exceeds what either method allows: the protocols'
    /// initial margins (free collateral) or the stress grid.
    #[test]
    fn the_served_credit_is_the_smaller_of_both_methods(b in books()) {
        let p = compute_profile(input(snapshots(&b)), &model());
        prop_assert!(p.coverage.complete);
        let linear = p.totals.free_collateral_usd.max(Decimal::ZERO);
        let stress = p.risk.margin.credit_capacity_usd;
        prop_assert_eq!(p.credit_capacity_usd, linear.min(stress));
    }

    /// A market's own stress loss is what the same grid gives that market margined alone: its
    /// figures in the portfolio equal those of a profile holding only that market.
    #[test]
    fn a_markets_own_stress_loss_is_its_stress_loss_alone(b in books()) {
        let s = model();
        let all = snapshots(&b);
        let p = compute_profile(input(all.clone()), &s);
        for (i, snapshot) in all.into_iter().enumerate() {
            if snapshot.positions.is_empty() {
                continue;
            }
            let alone = compute_profile(input(vec![snapshot]), &s);
            let x = p.protocols.iter().find(|x| x.protocol == alone.protocols[0].protocol).unwrap();
            prop_assert_eq!(x.risk.stress_loss_usd, alone.risk.margin.stress_loss_usd, "market {}", i);
            prop_assert_eq!(x.risk.standalone_requirement_usd, alone.risk.margin.isolated_requirement_usd);
        }
    }

    /// The linear cross-margin benefit the engine sums while building its book is the public
    /// netting function's, over the profile's own markets.
    #[test]
    fn the_linear_benefit_is_the_netting_functions(b in books()) {
        let p = compute_profile(input(snapshots(&b)), &model());
        let netted = unimargin_engine::netting::cross_margin_benefit_of_profiles(&p.protocols);
        prop_assert_eq!(p.cross_margin_benefit_usd, netted.min(p.isolated_requirement_usd));
    }

    /// The same input in any order gives the same profile.
    #[test]
    fn input_order_does_not_matter(b in books()) {
        let s = model();
        let forward = snapshots(&b);
        let mut backward = forward.clone();
        backward.reverse();
        for x in &mut backward {
            x.positions.reverse();
        }
        let p1 = compute_profile(input(forward), &s);
        let mut p2 = compute_profile(input(backward), &s);
        // Positions keep the adapters' order inside a market; everything computed is identical.
        for (a, b) in p2.protocols.iter_mut().zip(&p1.protocols) {
            a.positions = b.positions.clone();
        }
        prop_assert_eq!(serde_json::to_string(&p1).unwrap(), serde_json::to_string(&p2).unwrap());
    }
}
