//! Typed configuration of one Drift v2 deployment (`params` of a `[[deployments]]` entry of kind
//! `drift`). Addresses live here, never in code.

use std::collections::BTreeMap;

use serde::Deserialize;
use unimargin_sdk::{
    AdapterError,
    solana::{Pubkey, oracle::OracleGuard},
};

/// The `params` as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftParams {
    /// The Drift program (`dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH` on mainnet-beta).
    pub program_id: String,
    /// The program's `State` account (oracle guard rails).
    pub state: String,
    /// The program that owns Drift's Pyth pull `PriceUpdateV2` accounts.
    pub pyth_receiver_program: String,
    /// The Switchboard On-Demand program.
    pub switchboard_program: String,
    /// Sub-account ids 0..N are derived and read; a missing one does not exist. Drift users
    /// rarely go past a handful.
    #[serde(default = "default_sub_accounts")]
    pub max_sub_accounts: u16,
    /// Oldest acceptable oracle publication, in seconds before the read slot's clock, on top of
    /// Drift's own slot-based staleness rule.
    #[serde(default = "default_max_age")]
    pub max_oracle_age_secs: u64,
    /// Risk group per market symbol (`JitoSOL = "SOL"`); unlisted symbols use their own
    /// upper-cased symbol.
    #[serde(default)]
    pub risk_keys: BTreeMap<String, String>,
}

fn default_sub_accounts() -> u16 {
    8
}

fn default_max_age() -> u64 {
    OracleGuard::default().max_age_secs
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct DriftConfig {
    /// Drift program.
    pub program_id: Pubkey,
    /// `State` account.
    pub state: Pubkey,
    /// Owner of Drift's `PriceUpdateV2` accounts.
    pub pyth_receiver_program: Pubkey,
    /// Switchboard On-Demand program.
    pub switchboard_program: Pubkey,
    /// Sub-account ids scanned: `0..max_sub_accounts`.
    pub max_sub_accounts: u16,
    /// Seconds-based oracle guard (confidence is judged by Drift's own rule).
    pub guard: OracleGuard,
    /// Risk groups.
    pub risk_keys: BTreeMap<String, String>,
}

impl DriftConfig {
    /// Parses and validates `params`.
    pub fn from_params(p: DriftParams) -> Result<Self, AdapterError> {
        let key = |name: &str, v: &str| -> Result<Pubkey, AdapterError> {
            v.parse().map_err(|e| {
                AdapterError::Config(format!(
                    "drift params: `{name}` = `{v}` is not a pubkey: {e}"
                ))
            })
        };
        if p.max_sub_accounts == 0 {
            return Err(AdapterError::Config(
                "drift params: `max_sub_accounts` must be at least 1".into(),
            ));
        }
        Ok(Self {
            program_id: key("program_id", &p.program_id)?,
            state: key("state", &p.state)?,
            pyth_receiver_program: key("pyth_receiver_program", &p.pyth_receiver_program)?,
            switchboard_program: key("switchboard_program", &p.switchboard_program)?,
            max_sub_accounts: p.max_sub_accounts,
            guard: OracleGuard {
                max_age_secs: p.max_oracle_age_secs,
                ..OracleGuard::default()
            },
            risk_keys: p.risk_keys,
        })
    }

    /// The risk group of a market symbol.
    pub fn risk_key(&self, symbol: &str) -> String {
        self.risk_keys
            .get(symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_ascii_uppercase())
    }
}
