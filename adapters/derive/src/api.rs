//! The public JSON-RPC methods this adapter calls (`POST <base>/<method>` with the params as the
//! body) and the reply shapes as Derive documents them. Amounts are decimal strings, decoded
//! straight into `Decimal`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use unimargin_sdk::{AdapterError, Result, venue::PinnedVenue};

/// Derive counts every non-matching request as one unit of its per-IP budget (5 per second with
/// a 5x burst for a standard account).
pub const WEIGHT: u32 = 1;

/// `public/get_subaccounts`: the subaccount ids a wallet owns.
pub const GET_SUBACCOUNTS: &str = "/public/get_subaccounts";
/// `public/margin_watch`: a subaccount's positions, collaterals and margin, valued now.
pub const MARGIN_WATCH: &str = "/public/margin_watch";
/// `public/get_tickers`: every ticker of one currency and expiry.
pub const GET_TICKERS: &str = "/public/get_tickers";

/// Params of `public/get_subaccounts`.
pub fn get_subaccounts(wallet: &str) -> Value {
    json!({"wallet": wallet})
}

/// Params of `public/margin_watch`.
pub fn margin_watch(subaccount_id: u64) -> Value {
    json!({"subaccount_id": subaccount_id})
}

/// Params of `public/get_tickers` for the options of one currency and expiry (`YYYYMMDD`).
pub fn option_tickers(currency: &str, expiry_date: &str) -> Value {
    json!({"instrument_type": "option", "currency": currency, "expiry_date": expiry_date})
}

/// The JSON-RPC 2.0 envelope: `result` or `error`.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    /// The answer.
    pub result: Option<T>,
    /// Or why there is none.
    #[serde(default)]
    pub error: Option<RpcError>,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, Deserialize)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Message.
    pub message: String,
    /// Detail, when given.
    #[serde(default)]
    pub data: Option<Value>,
}

/// Calls `method` and unwraps the envelope: a JSON-RPC error is an
/// [`AdapterError::RpcError`] carrying its code, never data.
pub async fn call<T: DeserializeOwned>(
    venue: &PinnedVenue,
    method: &str,
    params: Value,
) -> Result<T> {
    let envelope: Envelope<T> = venue.post(method, params, WEIGHT).await?;
    match (envelope.result, envelope.error) {
        (_, Some(e)) => Err(AdapterError::RpcError {
            chain: venue.chain().to_string(),
            message: format!(
                "{method}: {} (code {}){}",
                e.message,
                e.code,
                e.data.map(|d| format!(": {d}")).unwrap_or_default()
            ),
        }),
        (Some(result), None) => Ok(result),
        (None, None) => Err(AdapterError::malformed(
            format!("{} {method}", venue.chain()),
            "neither `result` nor `error`",
        )),
    }
}

/// Result of `public/get_subaccounts`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Subaccounts {
    /// The wallet asked about.
    pub wallet: String,
    /// Subaccount ids it owns, ascending.
    pub subaccount_ids: Vec<u64>,
}

/// Result of `public/margin_watch`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarginWatch {
    /// The subaccount.
    pub subaccount_id: u64,
    /// `SM` (standard), `PM` or `PM2` (portfolio).
    pub margin_type: String,
    /// Quote currency of the subaccount.
    pub currency: String,
    /// Mark-to-market value of everything.
    pub subaccount_value: Decimal,
    /// Net initial margin: value less the initial requirement.
    pub initial_margin: Decimal,
    /// Net maintenance margin: below zero the subaccount is flagged for liquidation.
    pub maintenance_margin: Decimal,
    /// Unix seconds at which margins and marks were computed.
    pub valuation_timestamp: u64,
    /// Balances that count towards margin.
    pub collaterals: Vec<Collateral>,
    /// Open positions.
    pub positions: Vec<MarginPosition>,
    /// A temporarily lowered requirement is in force.
    #[serde(default)]
    pub is_delayed_liquidation: Option<bool>,
}

/// One collateral of `margin_watch`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Collateral {
    /// Asset (`USDC`, `ETH`, `wstETH`).
    pub asset_name: String,
    /// `erc20`.
    pub asset_type: String,
    /// Amount (negative: borrowed).
    pub amount: Decimal,
    /// Mark price.
    pub mark_price: Decimal,
    /// `amount × mark_price`.
    pub mark_value: Decimal,
    /// USD it contributes to the initial margin.
    pub initial_margin: Decimal,
    /// USD it contributes to the maintenance margin.
    pub maintenance_margin: Decimal,
}

/// One position of `margin_watch`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarginPosition {
    /// `ETH-PERP`, `ETH-20260130-3000-C`.
    pub instrument_name: String,
    /// `option`, `perp` or `erc20`.
    pub instrument_type: String,
    /// Signed amount (negative: short).
    pub amount: Decimal,
    /// Mark price of the instrument.
    pub mark_price: Decimal,
    /// What closing the position at mark would bring (negative for a short option).
    pub mark_value: Decimal,
    /// Index (oracle) price of the underlying.
    pub index_price: Decimal,
    /// Per-unit delta (w.r.t. the forward for options, 1 for perps).
    pub delta: Decimal,
    /// Per-unit gamma.
    pub gamma: Decimal,
    /// Per-unit vega.
    pub vega: Decimal,
    /// Per-unit theta.
    pub theta: Decimal,
    /// Net initial margin contribution (value less requirement).
    pub initial_margin: Decimal,
    /// Net maintenance margin contribution (value less requirement).
    pub maintenance_margin: Decimal,
    /// Index price at which the position would be liquidated.
    #[serde(default)]
    pub liquidation_price: Option<Decimal>,
}

/// Result of `public/get_tickers`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Tickers {
    /// By instrument name.
    pub tickers: BTreeMap<String, Ticker>,
}

/// A ticker in the venue's abbreviated form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ticker {
    /// Time of the snapshot, in milliseconds.
    #[serde(rename = "t", default)]
    pub timestamp: Option<u64>,
    /// Mark price.
    #[serde(rename = "M", default)]
    pub mark_price: Option<Decimal>,
    /// Index price.
    #[serde(rename = "I", default)]
    pub index_price: Option<Decimal>,
    /// Option pricing, for options.
    #[serde(default)]
    pub option_pricing: Option<OptionPricing>,
}

/// `option_pricing` in the abbreviated form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OptionPricing {
    /// Delta.
    #[serde(rename = "d")]
    pub delta: Decimal,
    /// Gamma.
    #[serde(rename = "g")]
    pub gamma: Decimal,
    /// Theta.
    #[serde(rename = "t")]
    pub theta: Decimal,
    /// Vega.
    #[serde(rename = "v")]
    pub vega: Decimal,
    /// Mark implied volatility (a fraction).
    #[serde(rename = "i")]
    pub iv: Decimal,
    /// Forward price of the expiry.
    #[serde(rename = "f")]
    pub forward_price: Decimal,
    /// Mark price.
    #[serde(rename = "m")]
    pub mark_price: Decimal,
}
