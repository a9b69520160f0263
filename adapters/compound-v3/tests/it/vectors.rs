//! Recorded mainnet replies decoded with our bindings.
//!
//! The vectors are snapshots of the MetaMask Institutional DeFi adapters
//! (consensys-vertical-apps/mmi-defi-adapters, `compound-v3` products) at Ethereum block
//! 21189685: the recorded JSON-RPC results of their reads of cUSDCv3 and cUSDTv3, and the
//! positions they derived. The requests themselves were not recorded (keys are hashes), so each
//! recorded Comet balance is found by value: it must decode with our `borrowBalanceOf` /
//! `balanceOf` return layout to the raw balance of the position, and our normalization of that
//! balance must give the decimal amount the snapshot shows. The Chainlink round recorded beside
//! them must decode with our `AggregatorV3Interface` layout into a consistent round whose answer,
//! through our USD conversion, is the snapshot's ETH/USD price.
//!
//! They are not part of the repository; `.ci/run` points `UNIMARGIN_TEST_VECTORS` at them.
//! Without it the test says that it did not run.

use alloy::{
    primitives::{Address, Bytes, U256},
    sol_types::SolCall,
};
use serde_json::Value;
use unimargin_compound_v3::{
    bindings::{aggregator::AggregatorV3Interface, comet::IComet},
    normalize::{token_amount, usd_per_unit},
};
use unimargin_schema::Side;

use super::*;

fn results(vector: &Value) -> Vec<Bytes> {
    vector["rpcResponses"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["result"].as_str())
        .filter(|r| r.len() > 2 + 16) // skip eth_blockNumber's quantity
        .map(|r| r.parse::<Bytes>().unwrap())
        .collect()
}

/// (protocol token, underlying raw balance, decimals, decimal balance) of every position.
fn positions(vector: &Value) -> Vec<(String, U256, u8, Decimal)> {
    let mut out = Vec::new();
    for product in vector["snapshot"].as_array().unwrap() {
        for comet in product["tokens"].as_array().unwrap() {
            for t in comet["tokens"].as_array().unwrap() {
                if t["type"] != "underlying" {
                    continue;
                }
                let raw = t["balanceRaw"].as_str().unwrap().trim_end_matches('n');
                out.push((
                    comet["symbol"].as_str().unwrap().to_owned(),
                    U256::from_str(raw).unwrap(),
                    u8::try_from(t["decimals"].as_u64().unwrap()).unwrap(),
                    Decimal::from_str(&t["balance"].to_string()).unwrap(),
                ));
            }
        }
    }
    out
}

#[test]
fn recorded_comet_replies_decode_and_normalize() {
    let Some(root) = unimargin_sdk::testkit::vectors("recorded_comet_replies_decode_and_normalize")
    else {
        return;
    };
    let dir = root.join("evm/metamask_mmi-defi-adapters");
    let read = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };

    // borrowBalanceOf of a cUSDCv3 borrower (the debt side of our normalization).
    let borrow = read("compound-v3__borrow__ethereum.positions.json");
    assert_eq!(borrow["blockNumber"], 21_189_685);
    let replies = results(&borrow);
    let recorded = positions(&borrow);
    assert_eq!(recorded.len(), 1);
    for (comet, raw, decimals, balance) in &recorded {
        let found = replies
            .iter()
            .filter_map(|r| IComet::borrowBalanceOfCall::abi_decode_returns(r).ok())
            .any(|v| v == *raw);
        assert!(
            found,
            "{comet}: no recorded reply decodes to borrowBalanceOf = {raw}"
        );
        let (amount, rounded) = token_amount(*raw, *decimals, Side::Short).unwrap();
        assert_eq!((amount, rounded), (*balance, false), "{comet}");
    }
    // 0x3e3c332615 = 267_297_957_397 USDC base units = 267,297.957397 USDC.
    assert_eq!(recorded[0].1, U256::from(267_297_957_397u64));

    // balanceOf of a supplier on cUSDCv3 and cUSDTv3 (the base supply side).
    let lending = read("compound-v3__lending__ethereum.positions.json");
    let replies = results(&lending);
    let recorded = positions(&lending);
    assert_eq!(recorded.len(), 2);
    for (comet, raw, decimals, balance) in &recorded {
        let found = replies
            .iter()
            .filter_map(|r| IComet::balanceOfCall::abi_decode_returns(r).ok())
            .any(|v| v == *raw);
        assert!(
            found,
            "{comet}: no recorded reply decodes to balanceOf = {raw}"
        );
        assert_eq!(
            token_amount(*raw, *decimals, Side::Long).unwrap(),
            (*balance, false),
            "{comet}"
        );
    }

    // The ETH/USD round recorded with both: a full latestRoundData reply (5 words).
    let round = replies
        .iter()
        .filter(|r| r.len() == 5 * 32)
        .find_map(|r| AggregatorV3Interface::latestRoundDataCall::abi_decode_returns(r).ok())
        .expect("a latestRoundData reply");
    assert_eq!(round.roundId, round.answeredInRound);
    assert!(round.startedAt <= round.updatedAt);
    // 0x473d2c6e40 with 8 decimals: 3,059.69 USD per ETH, updated at 1731632579 (2024-11-15).
    let usd = usd_per_unit("ETH", Address::ZERO, round.answer, 8).unwrap();
    assert_eq!(usd, d("3059.69"));
    assert_eq!(round.updatedAt, U256::from(1_731_632_579u64));
}
