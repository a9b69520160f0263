//! Typed configuration of one marginfi group (`params` of a `[[deployments]]` entry of kind
//! `marginfi`).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use unimargin_sdk::solana::{
    Pubkey,
    oracle::{
        OracleGuard, pyth::PYTH_RECEIVER_PROGRAM, switchboard::SWITCHBOARD_ON_DEMAND_PROGRAM,
    },
};

/// A base58 address in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address(pub Pubkey);

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Address)
            .map_err(|e| serde::de::Error::custom(format!("`{s}` is not a base58 address: {e}")))
    }
}

fn default_pyth_receiver() -> Address {
    Address(PYTH_RECEIVER_PROGRAM)
}

fn default_switchboard() -> Address {
    Address(SWITCHBOARD_ON_DEMAND_PROGRAM)
}

fn default_max_age() -> u64 {
    OracleGuard::default().max_age_secs
}

fn default_max_conf() -> Decimal {
    OracleGuard::default().max_conf_ratio
}

/// One marginfi group on one cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginfiDeployment {
    /// The marginfi v2 program (`MFv2hWf31Z9kbCa1snEPYctwafyhdvnV7FZnsebVacA` on mainnet-beta).
    pub program_id: Address,
    /// The group (the market): accounts and banks of other groups are ignored or rejected.
    pub group: Address,
    /// The program that must own Pyth `PriceUpdateV2` accounts.
    #[serde(default = "default_pyth_receiver")]
    pub pyth_receiver: Address,
    /// The program that must own Switchboard On-Demand feeds.
    #[serde(default = "default_switchboard")]
    pub switchboard_program: Address,
    /// Our own staleness limit, on top of each bank's `oracle_max_age` (the stricter wins).
    #[serde(default = "default_max_age")]
    pub max_price_age_secs: u64,
    /// Our own confidence limit (`conf / price`), on top of each bank's `oracle_max_confidence`.
    #[serde(default = "default_max_conf")]
    pub max_conf_ratio: Decimal,
    /// Symbol per mint (`"So111…" = "SOL"`); an unlisted mint is named by its address.
    #[serde(default)]
    pub symbols: BTreeMap<String, String>,
    /// Risk group per symbol (`JitoSOL = "SOL"`); unlisted symbols use their upper-cased symbol.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
}

impl MarginfiDeployment {
    /// The oracle guard this deployment applies.
    pub fn guard(&self) -> OracleGuard {
        OracleGuard {
            max_age_secs: self.max_price_age_secs,
            max_conf_ratio: self.max_conf_ratio,
        }
    }

    /// The symbol of a mint.
    pub fn symbol(&self, mint: &Pubkey) -> String {
        let m = mint.to_string();
        self.symbols.get(&m).cloned().unwrap_or(m)
    }

    /// The risk group of a symbol.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}
