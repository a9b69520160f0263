//! Typed configuration of one Kamino Lend market (`params` of a `[[deployments]]` entry of kind
//! `kamino`). Addresses live here, never in code.

use std::collections::BTreeMap;

use serde::Deserialize;
use unimargin_sdk::{AdapterError, solana::Pubkey};

/// The `params` as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KaminoParams {
    /// The klend program (`KLend2g3cP87fffoy8q1mQqGKjrxjC8boSyAYavgmjD` on mainnet-beta).
    pub program_id: String,
    /// The lending market (the main market is `7u3HeHxYDLhnCoErrtycNokbQYbWGzLs6JSDqGAv5PfF`).
    pub lending_market: String,
    /// The Scope program that owns `OraclePrices` accounts.
    pub scope_program: String,
    /// `OraclePrices` accounts the market's reserves price from, read together with the lending
    /// market so that prices cost no extra round trip. A reserve naming another one is read in
    /// an extra round trip.
    #[serde(default)]
    pub scope_prices: Vec<String>,
    /// Risk group per reserve symbol (`JitoSOL = "SOL"`); unlisted symbols use their own
    /// upper-cased symbol.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct KaminoConfig {
    /// klend program.
    pub program_id: Pubkey,
    /// Lending market.
    pub lending_market: Pubkey,
    /// Scope program.
    pub scope_program: Pubkey,
    /// Prefetched `OraclePrices` accounts.
    pub scope_prices: Vec<Pubkey>,
    /// Risk groups.
    pub risk_keys: BTreeMap<String, String>,
}

impl KaminoConfig {
    /// Parses and validates `params`.
    pub fn from_params(p: KaminoParams) -> Result<Self, AdapterError> {
        let key = |name: &str, v: &str| -> Result<Pubkey, AdapterError> {
            v.parse().map_err(|e| {
                AdapterError::Config(format!(
                    "kamino params: `{name}` = `{v}` is not a pubkey: {e}"
                ))
            })
        };
        Ok(Self {
            program_id: key("program_id", &p.program_id)?,
            lending_market: key("lending_market", &p.lending_market)?,
            scope_program: key("scope_program", &p.scope_program)?,
            scope_prices: p
                .scope_prices
                .iter()
                .map(|s| key("scope_prices", s))
                .collect::<Result<_, _>>()?,
            risk_keys: p.risk_keys,
        })
    }

    /// The risk group of a reserve symbol.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}
