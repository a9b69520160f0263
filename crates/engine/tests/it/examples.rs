//! Worked examples, computed by hand: liquidation surface, credit capacity, rebalance plan, and
//! the grid's basic behaviour. The models are `plain_model` (no carry, no haircuts, penalties
//! 5 %, moves ±3…±35 %, extremes ±70 % at 35 %) unless said otherwise.

use rust_decimal::Decimal;
use unimargin_engine::compute_profile;
use unimargin_schema::*;

use crate::support::*;

/// Three markets:
/// * aave-v3: 10 ETH at 2000 (LT 0.825), 12 000 USDC debt;
/// * spark: 5 wstETH at 2300 (LT 0.79), 3 ETH debt at 2000;
/// * drift: 5 000 USDC (weight 1), short 4 ETH perp at 2000 (maintenance ratio 5 %).
fn surface_portfolio() -> Vec<ProtocolSnapshot> {
    vec![
        snapshot(
            "aave-v3",
            vec![
                supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825"),
                debt("USDC", "USD", d("12000"), d("1")),
            ],
        ),
        snapshot(
            "spark",
            vec![
                supply("WSTETH", "ETH", d("5"), d("2300"), "0.7", "0.79"),
                debt("ETH", "ETH", d("3"), d("2000")),
            ],
        ),
        snapshot(
            "drift",
            vec![
                supply("USDC", "USD", d("5000"), d("1"), "1", "1"),
                perp(Side::Short, "ETH", "ETH", d("4"), d("2000"), "0.1", "0.05"),
            ],
        ),
    ]
}

#[test]
fn liquidation_surface_worked_example() {
    let p = compute_profile(input(surface_portfolio()), &settings(pegged_model()));
    let surface = &p.risk.liquidation_surface;
    let eth = surface
        .iter()
        .find(|s| s.underlying == "ETH" && s.axis == SurfaceAxis::Group)
        .unwrap();
    assert_eq!(eth.price_usd, Some(d("2000")));

    // aave-v3: excess(r) = 16 500 (1 + r) − 12 000 → r* = −4 500 ÷ 16 500 = −0.272727…
    let down = eth.down.as_ref().unwrap();
    assert_eq!(down.market, label("aave-v3"));
    assert_eq!(down.change, d("-0.272727"));
    assert_eq!(down.price_usd, Some(d("1454.546"))); // 2000 × (1 − 0.272727)

    // drift: excess(r) = 8 000 + 5 000 − 8 000 (1 + r) − 400 (1 + r) = 4 600 − 8 400 r
    // → r* = 4 600 ÷ 8 400 = 0.547619…
    let up = eth.up.as_ref().unwrap();
    assert_eq!(up.market, label("drift"));
    assert_eq!(up.change, d("0.547619"));
    assert_eq!(up.price_usd, Some(d("3095.238"))); // 2000 × 1.547619

    // spark does not liquidate on an ETH move: 5 × 2300 × 0.79 = 9 085 of wstETH collateral
    // against 6 000 of ETH debt move together, excess(r) = 3 085 (1 + r), zero only at −100 %.
    // It liquidates when wstETH depegs: 3 085 − 9 085 d < 0 → d* = −3 085 ÷ 9 085 = −0.339571…
    let steth = surface.iter().find(|s| s.underlying == "stETH").unwrap();
    assert_eq!(steth.axis, SurfaceAxis::Depeg);
    let depeg = steth.down.as_ref().unwrap();
    assert_eq!(
        (depeg.market.as_str(), depeg.change),
        (label("spark").as_str(), d("-0.339571"))
    );
    assert_eq!(steth.up, None);
}

#[test]
fn a_pegged_pair_does_not_liquidate_on_its_group_move() {
    let spark = surface_portfolio().remove(1);
    let p = compute_profile(input(vec![spark]), &settings(pegged_model()));
    let eth = p
        .risk
        .liquidation_surface
        .iter()
        .find(|s| s.underlying == "ETH")
        .unwrap();
    assert_eq!((eth.down.as_ref(), eth.up.as_ref()), (None, None));
    // The grid agrees: no ETH price scenario liquidates spark, the depeg does not either (−10 %
    // leaves 3 085 − 908.5 = 2 176.5 of excess).
    assert!(
        p.risk.scenarios.iter().all(|s| s.liquidated.is_empty()),
        "{:?}",
        p.risk.scenarios
    );
}

/// aave-v3: 10 ETH at 2000 (LTV 0.8, LT 0.825), 8 000 USDC debt; drift: 3 000 USDC and a short
/// 5 ETH perp at 2000 (ratios 10 % / 5 %).
#[test]
fn credit_capacity_worked_example() {
    let aave = snapshot("aave-v3", aave_eth_loan());
    let drift = snapshot("drift", drift_eth_short());

    // Aave alone. Equity 20 000 − 8 000 = 12 000. Worst scenario ETH −35 %: P&L −7 000, and
    // 13 000 × 0.825 = 10 725 ≥ 8 000, no liquidation. The extreme −70 % liquidates
    // (6 000 × 0.825 = 4 950 < 8 000) but counts 0.35 × (14 000 + 5 % × 8 000) = 5 040 < 7 000.
    let alone = compute_profile(input(vec![aave.clone()]), &settings(plain_model()));
    let m = &alone.risk.margin;
    assert_eq!(m.equity_usd, d("12000"));
    assert_eq!(m.stress_loss_usd, d("7000"));
    assert_eq!(m.worst_scenario.as_deref(), Some("ETH-35%"));
    assert_eq!(m.credit_capacity_usd, d("5000")); // 12 000 − 7 000
    let extreme = alone
        .risk
        .scenarios
        .iter()
        .find(|s| s.id == "ETH-70%x")
        .unwrap();
    assert_eq!(extreme.liquidated, [label("aave-v3")]);
    assert_eq!(extreme.liquidation_loss_usd, d("400")); // 5 % × 8 000
    assert_eq!(extreme.loss_usd, d("5040")); // 0.35 × (14 000 + 400)

    // With the perp hedge. Equity 12 000 + 3 000 = 15 000; net ETH 10 − 5 = 5 ETH, so ETH −35 %
    // loses 0.35 × 10 000 = 3 500. Drift liquidates on rises (from +25 %: 3 000 − 2 500 = 500 <
    // 12 500 × 5 % = 625), but rises are gains for the portfolio: +25 % gains 2 500 and costs a
    // 625 penalty.
    let hedged = compute_profile(input(vec![aave, drift]), &settings(plain_model()));
    let m = &hedged.risk.margin;
    assert_eq!(m.equity_usd, d("15000"));
    assert_eq!(m.stress_loss_usd, d("3500"));
    assert_eq!(m.credit_capacity_usd, d("11500")); // 15 000 − 3 500
    let up25 = hedged
        .risk
        .scenarios
        .iter()
        .find(|s| s.id == "ETH+25%")
        .unwrap();
    assert_eq!(
        (
            up25.liquidated.as_slice(),
            up25.liquidation_loss_usd,
            up25.loss_usd
        ),
        ([label("drift")].as_slice(), d("625"), d("-1875"))
    );

    // Requirements: aave needs 20 000 × (1 − 0.825) = 3 500 on its own, drift 10 000 × 5 % = 500;
    // the floor is their sum, above the grid's 3 500 + 0 add-ons.
    assert_eq!(m.largest_protocol_requirement_usd, d("3500"));
    assert_eq!(m.protocol_requirements_usd, d("4000"));
    assert_eq!(m.maintenance_requirement_usd, d("4000")); // max(3 500 + 0, 3 500 + 500)
    // Initial: max(3 500 × 1.1, aave's 20 000 × 0.2 + drift's 10 000 × 10 % = 5 000).
    assert_eq!(m.initial_requirement_usd, d("5000"));
    // Health = 1 + (15 000 − 4 000) ÷ (8 000 debt + 10 000 perp notional).
    assert_eq!(
        m.health,
        Some(Health::Finite(Decimal::ONE + d("11000") / d("18000")))
    );
    assert_eq!(
        hedged.protocols[0].risk.maintenance_requirement_usd,
        d("3500")
    );
}

/// The isolated requirement is each market margined alone by the same method, on the same grid.
/// aave-v3: 10 ETH at 2000 (LT 0.825), 8 000 USDC debt; drift: 3 000 USDC, short 5 ETH perp at
/// 2000 (ratios 10 % / 5 %). Plain model: no add-ons, penalties 5 %.
#[test]
fn isolated_requirement_worked_example() {
    let aave = snapshot("aave-v3", aave_eth_loan());
    let drift = snapshot("drift", drift_eth_short());
    let p = compute_profile(input(vec![aave, drift]), &settings(plain_model()));
    let [a, b] = [&p.protocols[0].risk, &p.protocols[1].risk];
    assert_eq!(p.protocols[0].protocol.as_str(), "aave-v3");

    // aave alone: worst is ETH −35 %, 7 000 lost, no liquidation (13 000 × 0.825 = 10 725 ≥
    // 8 000); the extreme −70 % counts 0.35 × (14 000 + 5 % × 8 000) = 5 040 < 7 000.
    assert_eq!(a.stress_loss_usd, d("7000"));
    // max(7 000 + 0 add-ons, R = 20 000 × 0.175 = 3 500).
    assert_eq!(a.standalone_requirement_usd, d("7000"));
    // max(7 000 × 1.1, R_initial = 20 000 × 0.2 = 4 000, 7 000).
    assert_eq!(a.standalone_initial_requirement_usd, d("7700"));

    // drift alone: ETH +35 % loses 3 500 on the short and liquidates (3 000 + 10 000 − 13 500 =
    // −500 < 13 500 × 5 % = 675), penalty 5 % × 13 500 = 675: loss 4 175. (+25 %: 2 500 + 625 =
    // 3 125; the extreme +70 %: 0.35 × (7 000 + 850) = 2 747.5.)
    assert_eq!(b.stress_loss_usd, d("4175"));
    assert_eq!(b.standalone_requirement_usd, d("4175")); // max(4 175 + 0, R = 500)
    assert_eq!(b.standalone_initial_requirement_usd, d("4592.5")); // 4 175 × 1.1

    // Together the ETH legs net: 5 ETH long, ETH −35 % loses 3 500; the floor Σ R_p = 4 000.
    let m = &p.risk.margin;
    assert_eq!(m.stress_loss_usd, d("3500"));
    assert_eq!(m.isolated_requirement_usd, d("11175")); // 7 000 + 4 175
    assert_eq!(m.isolated_initial_requirement_usd, d("12292.5")); // 7 700 + 4 592.5
    assert_eq!(m.maintenance_requirement_usd, d("4000"));
    assert_eq!(m.cross_margin_benefit_usd, d("7175")); // 11 175 − 4 000
}

#[test]
fn credit_capacity_is_zero_when_coverage_is_incomplete() {
    let aave = snapshot(
        "aave-v3",
        vec![supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825")],
    );
    let mut inp = input(vec![aave]);
    inp.expected
        .get_mut(&ChainId::evm(1))
        .unwrap()
        .push("spark/core".into());
    let p = compute_profile(inp, &settings(plain_model()));
    assert!(!p.coverage.complete);
    assert_eq!(p.risk.margin.credit_capacity_usd, Decimal::ZERO);
    assert_eq!(p.risk.margin.health, None);
    assert_eq!(p.risk.score.score, 0);
    assert_eq!(p.risk.rebalance, None);
}

/// aave-v3 at health 16 500 ÷ 15 000 = 1.1; spark holds 30 000 USDC and owes nothing. To reach
/// 1.25, repay x USDC on aave: 16 500 ÷ (15 000 − x) = 1.25 → x = 15 000 − 13 200 = 1 800
/// (moving USDC as collateral is impossible: aave holds no USDC collateral to take its weight
/// from).
#[test]
fn rebalance_plan_worked_example_repay() {
    let aave = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825"),
            debt("USDC", "USD", d("15000"), d("1")),
        ],
    );
    let spark = snapshot(
        "spark",
        vec![supply("USDC", "USD", d("30000"), d("1"), "0.75", "0.78")],
    );
    let p = compute_profile(input(vec![aave, spark]), &settings(plain_model()));
    // The portfolio is healthy: equity 35 000, worst loss ETH −35 %: 7 000 + a 750 penalty.
    assert_eq!(p.risk.margin.stress_loss_usd, d("7750"));
    let plan = p.risk.rebalance.unwrap();
    assert!(plan.feasible);
    assert_eq!(plan.target_health, d("1.25"));
    assert_eq!(
        plan.moves,
        [RebalanceMove {
            action: RebalanceAction::Repay,
            from: label("spark"),
            to: label("aave-v3"),
            asset: "USDC".into(),
            amount: d("1800"),
            value_usd: d("1800"),
        }]
    );
    assert_eq!(plan.total_moved_usd, d("1800"));
    let aave = plan
        .markets
        .iter()
        .find(|m| m.market == label("aave-v3"))
        .unwrap();
    assert_eq!(
        (aave.before, aave.after),
        (Health::Finite(d("1.1")), Health::Finite(d("1.25")))
    );
}

/// Same aave market; spark holds 5 ETH (LT 0.80) and owes 1 000 USDC (health 8). Aave needs
/// 1.25 × 15 000 − 16 500 = 2 250 of adjusted collateral: 2 250 ÷ 0.825 = 2 727.27… USD of ETH,
/// 1.36363637 ETH rounded up. Spark can give up to (8 000 − 1.25 × 1 000) ÷ 0.8 = 8 437.5.
#[test]
fn rebalance_plan_worked_example_collateral_move() {
    let aave = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825"),
            debt("USDC", "USD", d("15000"), d("1")),
        ],
    );
    let spark = snapshot(
        "spark",
        vec![
            supply("ETH", "ETH", d("5"), d("2000"), "0.75", "0.80"),
            debt("USDC", "USD", d("1000"), d("1")),
        ],
    );
    let p = compute_profile(input(vec![aave, spark]), &settings(plain_model()));
    let plan = p.risk.rebalance.unwrap();
    let [mv] = plan.moves.as_slice() else {
        panic!("one move: {:?}", plan.moves)
    };
    assert_eq!(mv.action, RebalanceAction::MoveCollateral);
    assert_eq!(
        (mv.from.as_str(), mv.to.as_str(), mv.asset.as_str()),
        (label("spark").as_str(), label("aave-v3").as_str(), "ETH")
    );
    assert_eq!(mv.amount, d("1.36363637"));
    assert_eq!(mv.value_usd, d("2727.27274")); // 1.36363637 × 2000
    let health = |m: &str| {
        plan.markets
            .iter()
            .find(|x| x.market == label(m))
            .unwrap()
            .after
    };
    // (16 500 + 2 727.27274 × 0.825) ÷ 15 000 and (8 000 − 2 727.27274 × 0.8) ÷ 1 000.
    assert_eq!(
        health("aave-v3"),
        Health::Finite(d("18750.0000105") / d("15000"))
    );
    assert_eq!(health("spark"), Health::Finite(d("5.818181808")));
}

#[test]
fn no_plan_when_every_market_is_above_target() {
    let aave = snapshot(
        "aave-v3",
        vec![
            supply("ETH", "ETH", d("10"), d("2000"), "0.8", "0.825"),
            debt("USDC", "USD", d("1000"), d("1")),
        ],
    );
    let p = compute_profile(input(vec![aave]), &settings(plain_model()));
    assert_eq!(p.risk.rebalance, None);
}

#[test]
fn grid_has_every_move_both_ways_and_extremes_at_a_fraction() {
    let aave = snapshot(
        "aave-v3",
        vec![supply("ETH", "ETH", d("1"), d("2000"), "0.8", "0.825")],
    );
    let p = compute_profile(input(vec![aave]), &settings(plain_model()));
    let ids: Vec<&str> = p.risk.scenarios.iter().map(|s| s.id.as_str()).collect();
    for id in [
        "base", "ETH-3%", "ETH+3%", "ETH-6%", "ETH+6%", "ETH-10%", "ETH+10%", "ETH-15%", "ETH+15%",
        "ETH-25%", "ETH+25%", "ETH-35%", "ETH+35%", "ETH-70%x", "ETH+70%x",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let x = p
        .risk
        .scenarios
        .iter()
        .find(|s| s.id == "ETH-70%x")
        .unwrap();
    assert_eq!((x.kind, x.weight), (ScenarioKind::Extreme, d("0.35")));
    // A long-only account cannot be liquidated: health infinite, requirement = worst loss.
    assert_eq!(p.risk.margin.health, Some(Health::Infinite));
    assert_eq!(p.risk.margin.maintenance_requirement_usd, d("700")); // 35 % of 2 000
}

/// Correlation nets a hedge between correlated groups and does not net uncorrelated ones.
#[test]
fn correlated_groups_net_and_uncorrelated_groups_do_not() {
    use unimargin_engine::model::CorrelationConfig;
    // Long 10 000 of ETH on one market, short 10 000 of BTC (perp) on another.
    let book = || {
        vec![
            snapshot(
                "aave-v3",
                vec![supply("ETH", "ETH", d("5"), d("2000"), "0.8", "0.825")],
            ),
            snapshot(
                "drift",
                vec![
                    supply("USDC", "USD", d("20000"), d("1"), "1", "1"),
                    perp(
                        Side::Short,
                        "BTC",
                        "BTC",
                        d("0.25"),
                        d("40000"),
                        "0.1",
                        "0.05",
                    ),
                ],
            ),
        ]
    };
    let loss = |rho: &str, joint: bool| {
        let mut m = plain_model();
        m.grid.joint = joint;
        m.correlation = CorrelationConfig {
            groups: vec!["BTC".into(), "ETH".into()],
            matrix: vec![vec![d("1"), d(rho)], vec![d(rho), d("1")]],
        };
        m.validate().unwrap();
        compute_profile(input(book()), &settings(m))
            .risk
            .margin
            .stress_loss_usd
    };
    // Uncorrelated, one group at a time: the worse leg alone, 35 % × 10 000.
    assert_eq!(loss("0", false), d("3500"));
    // Uncorrelated, joint: both legs lose together on the ellipsoid, 2 × 0.7071… × 3 500.
    let joint = loss("0", true);
    assert!(joint > d("4949") && joint < d("4950"), "{joint}"); // 7 000 ÷ √2 = 4 949.747…
    // Correlation 0.9: ETH −35 % drags BTC −31.5 %: 3 500 − 3 150 = 350; the joint opposite
    // move is only √(0.1 ÷ 2) = 22.4 % of the maximum each way: 2 × 0.2236 × 3 500 = 1 565.2.
    let correlated = loss("0.9", true);
    assert!(
        correlated > d("1565") && correlated < d("1566"),
        "{correlated}"
    );
}

#[test]
fn depeg_and_oracle_scenarios_reach_only_what_they_shock() {
    let mut m = pegged_model();
    m.grid.oracle_deviation = d("0.02");
    m.validate().unwrap();
    // wstETH collateral, ETH debt: health 9 085 ÷ 8 900 ≈ 1.0208.
    let spark = snapshot(
        "spark",
        vec![
            supply("WSTETH", "ETH", d("5"), d("2300"), "0.7", "0.79"),
            debt("ETH", "ETH", d("4.45"), d("2000")),
        ],
    );
    let p = compute_profile(input(vec![spark]), &settings(m));
    let depeg = p
        .risk
        .scenarios
        .iter()
        .find(|s| s.id == "depeg:stETH")
        .unwrap();
    // −10 % on wstETH: P&L −1 150, and 8 176.5 < 8 900 liquidates: penalty 5 % × 8 900 = 445.
    assert_eq!(depeg.pnl_usd, d("-1150"));
    assert_eq!(depeg.liquidation_loss_usd, d("445"));
    // Oracle: 9 085 × 0.98 = 8 903.3 vs 8 900 × 1.02 = 9 078 liquidates; the market did not move,
    // so only the penalty (on liabilities read 2 % high: 445 × 1.02 = 453.9) is lost.
    let oracle = p.risk.scenarios.iter().find(|s| s.id == "oracle").unwrap();
    assert_eq!(
        (oracle.pnl_usd, oracle.liquidation_loss_usd),
        (Decimal::ZERO, d("453.9"))
    );
}

#[test]
fn diverging_oracles_are_flagged_and_stressed_with_the_worse_quote() {
    // Two markets quote ETH 2000 and 2100 (5 % apart, band 2 %).
    let a = snapshot(
        "aave-v3",
        vec![supply("ETH", "ETH", d("1"), d("2000"), "0.8", "0.825")],
    );
    let b = snapshot(
        "spark",
        vec![
            supply("WETH", "ETH", d("1"), d("2100"), "0.8", "0.825"),
            debt("ETH", "ETH", d("0.5"), d("2100")),
        ],
    );
    let p = compute_profile(input(vec![a, b]), &settings(plain_model()));
    let eth = p.risk.prices.iter().find(|x| x.key == "ETH:ETH").unwrap();
    assert!(eth.diverged);
    assert_eq!(
        (eth.low_usd, eth.high_usd, eth.usd),
        (d("2000"), d("2100"), d("2000"))
    ); // lower middle of two
    assert_eq!(eth.divergence, d("0.05"));
    assert_eq!(eth.quotes.len(), 2);
    // Held 2 ETH valued at the lowest quote (no gap from the reference 2 000); owed 0.5 ETH at
    // the highest: (2 100 − 2 000) × 0.5 = 50.
    assert_eq!(
        p.risk.margin.maintenance_add_ons.oracle_divergence_usd,
        d("50")
    );
}
