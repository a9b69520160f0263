//! Recorded mainnet replies decoded with our bindings.
//!
//! The GMX v2 vectors are snapshots of the MetaMask Institutional DeFi adapters
//! (consensys-vertical-apps/mmi-defi-adapters, `gmx-v2` product `gm-pool`) at Arbitrum block
//! 276402599: GM (liquidity) token holdings, with the recorded `eth_call` results of their reads
//! (the requests themselves were not recorded). They hold no perpetual position, so they cannot
//! check the position reads; what they can check is the price path this adapter uses: the
//! recorded Chainlink ETH/USD round must decode with our `AggregatorV3Interface` layout, and GMX's
//! reference-feed conversion (`answer × PRICE_FEED_MULTIPLIER / 1e30` with WETH's multiplier
//! `10^(60 − 8 − 18)`, then per whole token) must give the WETH price the snapshot shows.
//!
//! They are not part of the repository; `.ci/run` points `UNIMARGIN_TEST_VECTORS` at them.
//! Without it the test says that it did not run.

use alloy::{primitives::Bytes, sol_types::SolCall};
use serde_json::Value;
use unimargin_gmx_v2::{
    bindings::aggregator::AggregatorV3Interface, math, normalize::usd_per_token,
};

use super::*;

#[test]
fn the_recorded_eth_usd_round_prices_weth_like_the_snapshot() {
    let Some(root) =
        unimargin_sdk::testkit::vectors("the_recorded_eth_usd_round_prices_weth_like_the_snapshot")
    else {
        return;
    };
    let path = root.join("evm/metamask_mmi-defi-adapters/gmx-v2__gm-pool__arb.positions.weth.json");
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // The snapshot's WETH price.
    let expected = vector["snapshot"][0]["tokens"][0]["tokens"][0]["price"].to_string();
    assert_eq!(expected, "3125.56");
    // The one recorded result with latestRoundData's layout: five words, a round id with
    // Chainlink's phase in the top bits, answeredInRound equal to roundId.
    let rounds: Vec<AggregatorV3Interface::latestRoundDataReturn> = vector["rpcResponses"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|r| r["result"].as_str())
        .map(|r| r.parse::<Bytes>().unwrap())
        .filter(|b| b.len() == 5 * 32)
        .filter_map(|b| AggregatorV3Interface::latestRoundDataCall::abi_decode_returns(&b).ok())
        .filter(|r| r.roundId == r.answeredInRound && r.startedAt == r.updatedAt)
        .collect();
    assert_eq!(
        rounds.len(),
        1,
        "one Chainlink round among the recorded results"
    );
    let round = &rounds[0];
    assert_eq!(round.roundId.to::<u128>() >> 64, 1, "phase 1");
    // ETH/USD, 8 decimals: 312_556_000_000 = 3,125.56.
    assert_eq!(round.answer, I256::try_from(312_556_000_000i64).unwrap());
    let price = math::feed_price(round.answer, e(60 - 8 - 18), U256::ZERO).unwrap();
    assert_eq!(usd_per_token(price.min, 18).unwrap(), d(&expected));
    // The same conversion of the snapshot's USDC price would need USDC's own feed, which the
    // vector did not record; the block of the round (2024-11-20) is before the block's time.
    assert!(round.updatedAt > U256::ZERO);
}
