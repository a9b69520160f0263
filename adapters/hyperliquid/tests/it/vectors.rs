//! Recorded venue replies (outside the repository, at `$UNIMARGIN_TEST_VECTORS/hyperliquid`):
//! decoded with the adapter's reply types and the venue's figures reproduced with its formulas.
//! Without the variable the tests say that they did not run.

use std::path::{Path, PathBuf};

use unimargin_hyperliquid::{
    api::{ClearinghouseState, Leverage, SpotClearinghouseState},
    margin::{Tiers, liquidation_price, price_agrees, usd_agrees},
};
use unimargin_schema::Decimal;
use unimargin_sdk::venue::decode;

use super::d;

fn vectors(test: &str) -> Option<PathBuf> {
    unimargin_sdk::testkit::vectors(test).map(|root| root.join("hyperliquid"))
}

/// The JSON body of a recorded sample: method, path and auth flag lines, then the body.
fn sample_body(dir: &Path, file: &str) -> String {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines().skip(3).collect::<Vec<_>>().join("\n")
}

#[test]
fn recorded_isolated_position_reproduces_margin_and_liquidation_price() {
    let Some(dir) = vectors("recorded_isolated_position_reproduces_margin_and_liquidation_price")
    else {
        return;
    };
    let body = sample_body(
        &dir.join("JKorf_HyperLiquid.Net"),
        "Futures_Account_GetAccountInfo.txt",
    );
    let state: ClearinghouseState = decode("clearinghouseState", body.as_bytes()).unwrap();
    let p = &state.asset_positions[0].position;
    let Leverage::Isolated { raw_usd, .. } = p.leverage else {
        panic!("an isolated position")
    };
    // The clearinghouse's mark: positionValue / |szi| (the recording has no metaAndAssetCtxs).
    let mark = p.position_value / p.szi.abs();
    // Isolated margin = rawUsd + szi × mark.
    assert!(usd_agrees(raw_usd + p.szi * mark, p.margin_used, 1));
    // Account value = totalRawUsd + Σ szi × mark.
    assert!(usd_agrees(
        state.margin_summary.total_raw_usd + p.szi * mark,
        state.margin_summary.account_value,
        2
    ));
    // Maintenance at the position's max leverage (one tier): value / (2 × max leverage).
    let tiers = Tiers::from_bounds(&p.coin, &[(Decimal::ZERO, p.max_leverage)]).unwrap();
    let mm = tiers.maintenance_margin(p.position_value);
    let liq = liquidation_price(
        mark,
        p.szi,
        p.margin_used - mm,
        tiers.tier(p.position_value).maintenance_rate,
    )
    .unwrap();
    let venue = p.liquidation_px.unwrap();
    assert!(
        price_agrees(liq, venue),
        "reproduced {liq} vs recorded {venue}"
    );
}

#[test]
fn recorded_cross_account_reproduces_value_and_margin_used() {
    let Some(dir) = vectors("recorded_cross_account_reproduces_value_and_margin_used") else {
        return;
    };
    let cassette = std::fs::read_to_string(
        dir.join("hyperliquid-python-sdk/cassettes/test_get_user_state.yaml"),
    )
    .unwrap();
    let line = cassette
        .lines()
        .find(|l| l.trim_start().starts_with("string: '"))
        .unwrap();
    let body = line
        .trim_start()
        .trim_start_matches("string: '")
        .trim_end_matches('\'')
        .replace("''", "'");
    // A 2023 recording: older than `time` and `crossMaintenanceMarginUsed`, so it is read loosely.
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let summary = &v["marginSummary"];
    let num = |x: &serde_json::Value| d(x.as_str().unwrap());
    let (mut value, mut margin_used, mut n) = (num(&summary["totalRawUsd"]), Decimal::ZERO, 0usize);
    for ap in v["assetPositions"].as_array().unwrap() {
        let p = &ap["position"];
        let (szi, position_value) = (num(&p["szi"]), num(&p["positionValue"]));
        // szi × mark = ± positionValue; cross margin used = positionValue / leverage.
        value += if szi.is_sign_negative() {
            -position_value
        } else {
            position_value
        };
        margin_used += position_value / Decimal::from(p["leverage"]["value"].as_u64().unwrap());
        n += 1;
    }
    assert!(
        usd_agrees(value, num(&summary["accountValue"]), n + 1),
        "{value}"
    );
    assert!(
        usd_agrees(margin_used, num(&summary["totalMarginUsed"]), n),
        "{margin_used}"
    );
}

#[test]
fn recorded_spot_and_portfolio_margin_views_hold_each_dollar_once() {
    let Some(dir) = vectors("recorded_spot_and_portfolio_margin_views_hold_each_dollar_once")
    else {
        return;
    };
    let dir = dir.join("JKorf_HyperLiquid.Net");
    let spot: SpotClearinghouseState = decode(
        "spotClearinghouseState",
        sample_body(&dir, "Spot_Account_GetBalances.txt").as_bytes(),
    )
    .unwrap();
    assert_eq!(
        spot.balances
            .iter()
            .map(|b| b.coin.as_str())
            .collect::<Vec<_>>(),
        ["USDC", "HYPE"]
    );

    // A portfolio-margin sub-account: the spot USDC balance holds the perp account value, and its
    // hold is the perp margin in use.
    let v: serde_json::Value =
        serde_json::from_str(&sample_body(&dir, "Spot_Account_GetSubAccounts2.txt")).unwrap();
    let sub = &v[0];
    let perp = &sub["dexToClearinghouseState"][0][1]["marginSummary"];
    let spot: SpotClearinghouseState = serde_json::from_value(sub["spotState"].clone()).unwrap();
    assert_eq!(spot.portfolio_margin_enabled, Some(true));
    let usdc = &spot.balances[0];
    let num = |x: &serde_json::Value| d(x.as_str().unwrap());
    assert!(usd_agrees(usdc.hold, num(&perp["totalMarginUsed"]), 1));
    // total = perp account value + supplied: counting both the perp account and the balance
    // would count the account value twice.
    let supplied = num(&sub["spotState"]["balances"][0]["supplied"]);
    assert!(usd_agrees(
        usdc.total - num(&perp["accountValue"]),
        supplied,
        2
    ));
}
