//! The `POST /info` requests this adapter makes and the replies as Hyperliquid documents them
//! (field names in the venue's camelCase). Amounts arrive as decimal strings and are decoded
//! straight into `Decimal`, never through a float.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

/// Path of the info endpoint under the base URL.
pub const INFO: &str = "/info";

/// Rate-limit weights from Hyperliquid's documentation ("Rate limits"): `clearinghouseState`,
/// `spotClearinghouseState` (and `l2Book`, `allMids`, …) weigh 2; every other documented info
/// request weighs 20; the budget is 1200 per minute per IP.
pub mod weight {
    /// `clearinghouseState`, `spotClearinghouseState`.
    pub const LIGHT: u32 = 2;
    /// `meta`, `metaAndAssetCtxs`, `spotMetaAndAssetCtxs`, `perpDexs`, `userAbstraction`.
    pub const DEFAULT: u32 = 20;
}

/// `{"type": "clearinghouseState", "user": …, "dex": …}`; the default dex is named by omitting
/// `dex` (the venue also accepts `""`).
pub fn clearinghouse_state(user: &str, dex: &str) -> Value {
    if dex.is_empty() {
        json!({"type": "clearinghouseState", "user": user})
    } else {
        json!({"type": "clearinghouseState", "user": user, "dex": dex})
    }
}

/// `{"type": "spotClearinghouseState", "user": …}`.
pub fn spot_clearinghouse_state(user: &str) -> Value {
    json!({"type": "spotClearinghouseState", "user": user})
}

/// `{"type": "metaAndAssetCtxs", "dex": …}`.
pub fn meta_and_asset_ctxs(dex: &str) -> Value {
    if dex.is_empty() {
        json!({"type": "metaAndAssetCtxs"})
    } else {
        json!({"type": "metaAndAssetCtxs", "dex": dex})
    }
}

/// `{"type": "spotMetaAndAssetCtxs"}`.
pub fn spot_meta_and_asset_ctxs() -> Value {
    json!({"type": "spotMetaAndAssetCtxs"})
}

/// `{"type": "perpDexs"}`.
pub fn perp_dexs() -> Value {
    json!({"type": "perpDexs"})
}

/// `{"type": "userAbstraction", "user": …}`.
pub fn user_abstraction(user: &str) -> Value {
    json!({"type": "userAbstraction", "user": user})
}

/// A user's perpetuals account on one dex.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClearinghouseState {
    /// Cross and isolated together.
    pub margin_summary: MarginSummary,
    /// Cross only.
    pub cross_margin_summary: MarginSummary,
    /// Maintenance margin of the cross positions (USD of the dex's collateral token).
    pub cross_maintenance_margin_used: Decimal,
    /// What could be withdrawn now.
    pub withdrawable: Decimal,
    /// Open positions.
    pub asset_positions: Vec<AssetPosition>,
    /// Server time of the state, in milliseconds.
    pub time: u64,
}

/// `marginSummary` / `crossMarginSummary`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginSummary {
    /// Equity: raw USD plus the positions at mark.
    pub account_value: Decimal,
    /// Gross notional of the positions.
    pub total_ntl_pos: Decimal,
    /// Cash, including the proceeds of shorts and the cost of longs.
    pub total_raw_usd: Decimal,
    /// Initial margin in use.
    pub total_margin_used: Decimal,
}

/// One entry of `assetPositions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AssetPosition {
    /// `oneWay` (the only mode the venue has).
    #[serde(rename = "type")]
    pub kind: String,
    /// The position.
    pub position: PerpPosition,
}

/// A perpetual position as the clearinghouse reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerpPosition {
    /// Coin (`BTC`; `dex:COIN` on a HIP-3 dex).
    pub coin: String,
    /// Signed size in coins (negative: short).
    pub szi: Decimal,
    /// Cross or isolated, with the chosen leverage.
    pub leverage: Leverage,
    /// Average entry price.
    pub entry_px: Decimal,
    /// `|szi| × mark`.
    pub position_value: Decimal,
    /// `szi × (mark − entry)`.
    pub unrealized_pnl: Decimal,
    /// The venue's liquidation price; `null` when the position cannot be liquidated.
    #[serde(default)]
    pub liquidation_px: Option<Decimal>,
    /// Initial margin of the position (for isolated: its isolated margin).
    pub margin_used: Decimal,
    /// The asset's maximum leverage.
    pub max_leverage: u32,
    /// Funding paid (positive) or received (negative).
    pub cum_funding: CumFunding,
}

/// `leverage`: `{"type": "cross", "value": 20}` or `{"type": "isolated", "value": 10, "rawUsd": "…"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Leverage {
    /// Margined by the whole cross account.
    Cross {
        /// Chosen leverage.
        value: u32,
    },
    /// Margined by its own isolated margin.
    Isolated {
        /// Chosen leverage.
        value: u32,
        /// The isolated cash (negative for a long: it paid for the position).
        #[serde(rename = "rawUsd")]
        raw_usd: Decimal,
    },
}

impl Leverage {
    /// The chosen leverage.
    pub fn value(&self) -> u32 {
        match self {
            Self::Cross { value } | Self::Isolated { value, .. } => *value,
        }
    }

    /// `cross` or `isolated`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Cross { .. } => "cross",
            Self::Isolated { .. } => "isolated",
        }
    }
}

/// `cumFunding`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CumFunding {
    /// Since the account first held the coin.
    pub all_time: Decimal,
    /// Since the position was opened.
    pub since_open: Decimal,
    /// Since the position last changed size.
    pub since_change: Decimal,
}

/// A user's spot balances.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotClearinghouseState {
    /// Token balances.
    pub balances: Vec<SpotBalance>,
    /// Present (true) on portfolio-margin accounts.
    #[serde(default)]
    pub portfolio_margin_enabled: Option<bool>,
}

/// One spot balance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotBalance {
    /// Token name (`USDC`, `HYPE`).
    pub coin: String,
    /// Token index.
    pub token: u32,
    /// Balance.
    pub total: Decimal,
    /// Held by open orders (and, on unified accounts, by perp margin).
    pub hold: Decimal,
    /// Cost basis.
    #[serde(default)]
    pub entry_ntl: Option<Decimal>,
    /// Loan-to-value of the token as portfolio-margin collateral.
    #[serde(default)]
    pub ltv: Option<Decimal>,
}

/// One HIP-3 dex of `perpDexs` (the first entry, the default dex, is `null`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerpDex {
    /// Short name used as `dex` in requests and as the coin prefix.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub full_name: Option<String>,
}

/// `metaAndAssetCtxs`: the universe and, index for index, each asset's live context.
pub type MetaAndAssetCtxs = (PerpMeta, Vec<PerpAssetCtx>);

/// `meta`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerpMeta {
    /// Assets, in asset-index order.
    pub universe: Vec<PerpAsset>,
    /// Margin tables by id.
    #[serde(default)]
    pub margin_tables: Vec<(u32, MarginTable)>,
    /// Spot token index of the dex's collateral (0 = USDC), absent on the default dex.
    #[serde(default)]
    pub collateral_token: Option<u32>,
}

/// One asset of the perp universe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerpAsset {
    /// Coin.
    pub name: String,
    /// Size decimals.
    pub sz_decimals: u32,
    /// Maximum leverage.
    pub max_leverage: u32,
    /// Margin table; ids below 50 mean one tier at that leverage.
    #[serde(default)]
    pub margin_table_id: Option<u32>,
    /// Isolated margin only.
    #[serde(default)]
    pub only_isolated: bool,
    /// Delisted.
    #[serde(default)]
    pub is_delisted: bool,
}

/// A margin table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginTable {
    /// Label.
    #[serde(default)]
    pub description: String,
    /// Tiers by ascending notional.
    pub margin_tiers: Vec<MarginTier>,
}

/// A margin tier: from `lower_bound` of notional up, at most `max_leverage`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginTier {
    /// Notional where the tier starts (USD).
    pub lower_bound: Decimal,
    /// Maximum leverage within the tier.
    pub max_leverage: u32,
}

/// A perp asset's live context.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerpAssetCtx {
    /// Mark price (absent for assets without one).
    #[serde(default)]
    pub mark_px: Option<Decimal>,
    /// Oracle price.
    #[serde(default)]
    pub oracle_px: Option<Decimal>,
}

/// `spotMetaAndAssetCtxs`.
pub type SpotMetaAndAssetCtxs = (SpotMeta, Vec<SpotAssetCtx>);

/// `spotMeta`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpotMeta {
    /// Trading pairs.
    pub universe: Vec<SpotPair>,
    /// Tokens.
    pub tokens: Vec<SpotToken>,
}

/// A spot pair.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpotPair {
    /// `PURR/USDC`, or `@<index>` for non-canonical pairs.
    pub name: String,
    /// Base and quote token indexes.
    pub tokens: [u32; 2],
    /// Pair index.
    pub index: u32,
}

/// A spot token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotToken {
    /// Name.
    pub name: String,
    /// Token index.
    pub index: u32,
    /// Size decimals.
    pub sz_decimals: u32,
    /// On-chain decimals.
    pub wei_decimals: u32,
}

/// A spot pair's live context.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotAssetCtx {
    /// The pair's name, as in [`SpotPair::name`].
    pub coin: String,
    /// Mark price in the quote token.
    #[serde(default)]
    pub mark_px: Option<Decimal>,
}
