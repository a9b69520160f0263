//! Recorded Derive replies (outside the repository, at `$UNIMARGIN_TEST_VECTORS/derive_deribit`):
//! a standard-margin subaccount's collateral and a perp position, decoded with the adapter's reply
//! types and normalized. Without the variable the test says that it did not run.

use std::path::PathBuf;

use unimargin_derive::{
    DeriveParams,
    api::{Collateral, MarginPosition, MarginWatch},
    fetch::RawAccount,
    normalize::{NormalizeContext, normalize},
};
use unimargin_schema::{AccountId, MarketId, PositionKind, ProtocolId, ReadPoint};

use super::d;

fn vectors(test: &str) -> Option<PathBuf> {
    unimargin_sdk::testkit::vectors(test).map(|root| root.join("derive_deribit/ccxt_static"))
}

#[test]
fn recorded_collateral_and_perp_normalize_with_the_venue_rates() {
    let Some(dir) = vectors("recorded_collateral_and_perp_normalize_with_the_venue_rates") else {
        return;
    };
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let balance = read("derive.fetchBalance.httpResponse.json");
    let positions = read("derive.fetchPositions.httpResponse.json");
    let sub = &balance["result"][0];
    // The recordings carry more fields than margin_watch and digits beyond 28; both decode.
    let collaterals: Vec<Collateral> = serde_json::from_value(sub["collaterals"].clone()).unwrap();
    let recorded: Vec<MarginPosition> =
        serde_json::from_value(positions["result"]["positions"].clone()).unwrap();
    let num = |v: &serde_json::Value| d(v.as_str().unwrap());
    let watch = MarginWatch {
        subaccount_id: sub["subaccount_id"].as_u64().unwrap(),
        margin_type: sub["margin_type"].as_str().unwrap().into(),
        currency: "USDC".into(),
        subaccount_value: num(&sub["subaccount_value"]),
        initial_margin: num(&sub["initial_margin"]),
        maintenance_margin: num(&sub["maintenance_margin"]),
        valuation_timestamp: 1_738_065_303,
        collaterals,
        positions: Vec::new(),
        is_delayed_liquidation: None,
    };
    let chain = unimargin_schema::ChainId::evm(957);
    let account =
        AccountId::new(chain.clone(), "0x000000000000000000000000000000000000d371").unwrap();
    let (protocol, market, params) = (
        ProtocolId::new("derive").unwrap(),
        MarketId("options".into()),
        DeriveParams::default(),
    );
    let ctx = NormalizeContext {
        chain: &chain,
        read_point: ReadPoint::Venue {
            timestamp: 1_738_065_303,
        },
        protocol: &protocol,
        market: &market,
        account: &account,
        params: &params,
        fetched_at: chrono::Utc::now(),
    };
    let raw = RawAccount {
        subaccount_ids: vec![watch.subaccount_id],
        subaccounts: vec![watch.clone()],
        tickers: Default::default(),
        requests: Default::default(),
    };
    let s = normalize(&raw, &ctx).unwrap();
    // 0.1 ETH at 3 180.76: the standard manager's haircuts, 0.6 initial and 0.75 maintenance (the
    // venue computes in binary floats, so its figures carry noise far below a cent).
    let eth = &s.positions[0];
    assert_eq!(eth.kind, PositionKind::Supply);
    assert!(
        (eth.weights.initial - d("0.6")).abs() < d("0.000000000000001"),
        "{}",
        eth.weights.initial
    );
    assert!((eth.weights.maintenance - d("0.75")).abs() < d("0.000000000000001"));
    assert_eq!(s.native_health.agrees, Some(true), "{:?}", s.warnings);

    // The recorded BTC perp (short 0.02): maintenance contribution = mark value − 5 % of the
    // notional, initial = mark value − 6.5 %.
    let mut with_perp = watch;
    with_perp.positions = recorded;
    let perp = &with_perp.positions[0];
    let notional = perp.amount.abs() * perp.mark_price;
    let mm_rate = (perp.mark_value - perp.maintenance_margin) / notional;
    let im_rate = (perp.mark_value - perp.initial_margin) / notional;
    assert!((mm_rate - d("0.05")).abs() < d("0.000000001"), "{mm_rate}");
    assert!((im_rate - d("0.065")).abs() < d("0.000000001"), "{im_rate}");
    let raw = RawAccount {
        subaccount_ids: vec![130_837],
        subaccounts: vec![with_perp],
        tickers: Default::default(),
        requests: Default::default(),
    };
    let s = normalize(&raw, &ctx).unwrap();
    let p = s
        .positions
        .iter()
        .find(|p| p.kind == PositionKind::Perp)
        .unwrap();
    assert!((p.weights.maintenance - d("0.05")).abs() < d("0.000000001"));
    assert_eq!(
        p.perp.as_ref().unwrap().liquidation_price,
        raw.subaccounts[0].positions[0].liquidation_price
    );
}
