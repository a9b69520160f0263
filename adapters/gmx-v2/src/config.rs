//! Typed configuration of one GMX v2 deployment (`params` of a `[[deployments]]` entry of kind
//! `gmx-v2`).

use std::collections::BTreeMap;

use alloy::primitives::Address;
use serde::Deserialize;
use unimargin_sdk::AdapterError;

/// The Reader ABI a deployment's `reader` address speaks. GMX redeploys its Reader on most
/// releases and changes struct layouts with it (selectors may stay the same), so the address and
/// its ABI are configured together and a Reader of another release is refused at start-up rather
/// than decoded into wrong numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ReaderAbi {
    /// The Reader deployed on Arbitrum on 2025-11-17 (gmx-synthetics
    /// `deployments/arbitrum/Reader.json`, 18th deployment): `Position.Numbers` with
    /// `pendingImpactAmount`, `PositionInfo` with pro fees and `ExecutionPriceResult`,
    /// `isPositionLiquidatable(..., forLiquidation)`.
    #[serde(rename = "2025-11")]
    V2025_11,
}

/// Addresses and options of one deployment, as written in configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GmxParams {
    /// `Reader` (stateless; redeployed on most releases).
    pub reader: Address,
    /// The ABI of that Reader.
    pub reader_abi: ReaderAbi,
    /// `DataStore` (permanent; every market parameter and position lives here).
    pub data_store: Address,
    /// `ReferralStorage` (passed to the Reader for referral discounts).
    pub referral_storage: Address,
    /// Symbols of tokens that have no ERC-20 contract (GMX's synthetic index tokens), by address.
    #[serde(default)]
    pub token_symbols: BTreeMap<String, String>,
    /// Risk group per token symbol (`WETH = "ETH"`); unlisted symbols use their own upper-cased
    /// symbol.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
    /// Most positions read per account; an account with more fails rather than being read in part.
    #[serde(default = "default_max_positions")]
    pub max_positions: u32,
}

fn default_max_positions() -> u32 {
    64
}

/// A validated deployment.
#[derive(Debug, Clone)]
pub struct GmxDeployment {
    /// `Reader`.
    pub reader: Address,
    /// Its ABI.
    pub reader_abi: ReaderAbi,
    /// `DataStore`.
    pub data_store: Address,
    /// `ReferralStorage`.
    pub referral_storage: Address,
    /// Configured symbols by token address.
    pub token_symbols: BTreeMap<Address, String>,
    /// Risk group per symbol.
    pub risk_keys: BTreeMap<String, String>,
    /// Most positions per account.
    pub max_positions: u32,
}

impl GmxDeployment {
    /// Validates parameters; errors name the offending key.
    pub fn from_params(p: GmxParams) -> Result<Self, AdapterError> {
        let mut token_symbols = BTreeMap::new();
        for (address, symbol) in p.token_symbols {
            let parsed: Address = address.parse().map_err(|e| {
                AdapterError::Config(format!("gmx-v2 params: token_symbols key `{address}`: {e}"))
            })?;
            token_symbols.insert(parsed, symbol);
        }
        if p.max_positions == 0 {
            return Err(AdapterError::Config(
                "gmx-v2 params: max_positions must be at least 1".into(),
            ));
        }
        for (name, a) in [("reader", p.reader), ("data_store", p.data_store)] {
            if a == Address::ZERO {
                return Err(AdapterError::Config(format!(
                    "gmx-v2 params: {name} is the zero address"
                )));
            }
        }
        Ok(Self {
            reader: p.reader,
            reader_abi: p.reader_abi,
            data_store: p.data_store,
            referral_storage: p.referral_storage,
            token_symbols,
            risk_keys: p.risk_keys,
            max_positions: p.max_positions,
        })
    }

    /// The risk group of a token symbol.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}
