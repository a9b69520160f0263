//! Typed configuration of one Morpho Blue deployment (`params` of a `[[deployments]]` entry of
//! kind `morpho-blue`).

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use serde::Deserialize;

/// Addresses and options of one Morpho Blue singleton on one chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MorphoDeployment {
    /// The Morpho Blue singleton (immutable, no proxy).
    pub morpho: Address,
    /// Market ids read for every owner (`keccak256(abi.encode(marketParams))`). The registry
    /// builds one adapter per id, so each isolated market is its own snapshot with its own native
    /// health.
    #[serde(default)]
    pub markets: Vec<B256>,
    /// USD feed (Chainlink `AggregatorV3Interface`) per loan-token address. Morpho's oracles price
    /// collateral in loan-token units only; this feed turns loan units into USD. A position in a
    /// market whose loan token has no feed fails with a missing price rather than a guess.
    #[serde(default)]
    pub usd_feeds: BTreeMap<Address, Address>,
    /// Risk group per token symbol (`wstETH = "ETH"`); unlisted symbols use their own upper-cased
    /// symbol, so netting across protocols only happens where configuration says two assets move
    /// together.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
    /// Discovery of an owner's other markets from Morpho's event logs (used by
    /// [`MorphoBlueAdapter::snapshots`](crate::MorphoBlueAdapter)); absent: configured markets only.
    #[serde(default)]
    pub discovery: Option<Discovery>,
}

/// Where to look for an owner's markets.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    /// First block scanned: Morpho's deployment block for a complete history.
    pub from_block: u64,
    /// Most blocks per `eth_getLogs` request for endpoints that cap the range; a first scan of a
    /// longer range is split into concurrent requests. Absent: one request.
    #[serde(default)]
    pub max_block_range: Option<u64>,
}

impl MorphoDeployment {
    /// The risk group of a token.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}
