//! The unified margin profile the engine computes and the API serves.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    AccountId, ChainId, Failure, Health, MarketId, NativeHealth, Position, ProtocolId,
    ProtocolRisk, ReadPoint, RiskProfile, Warning,
};

/// Version of the margin methodology. Part of every profile so that a stored or signed profile
/// can be interpreted later; bumped whenever a formula changes.
pub const METHODOLOGY_VERSION: &str = "unimargin-portfolio/2";

/// Aggregates in USD. All values are exact decimals serialized as strings.
///
/// Two levels are kept, as lending and perp venues do: *maintenance* (when liquidation starts) and
/// *initial* (what may be opened or borrowed). Each level pairs an adjusted collateral figure with
/// a requirement figure: `health = adjusted_collateral_usd ÷ maintenance_margin_usd`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Assets − liabilities at the protocols' prices (perp PnL included).
    #[schemars(with = "crate::export::DecimalString")]
    pub net_value_usd: Decimal,
    /// Gross value of everything on the asset side that counts as collateral.
    #[schemars(with = "crate::export::DecimalString")]
    pub collateral_usd: Decimal,
    /// Collateral × maintenance weights (liquidation thresholds), plus perp PnL.
    #[schemars(with = "crate::export::DecimalString")]
    pub adjusted_collateral_usd: Decimal,
    /// Collateral × initial weights (loan-to-value), plus perp PnL.
    #[schemars(with = "crate::export::DecimalString")]
    pub initial_collateral_usd: Decimal,
    /// Gross value of all debts.
    #[schemars(with = "crate::export::DecimalString")]
    pub debt_usd: Decimal,
    /// Debts × maintenance liability weights + perp/option notional × maintenance ratios.
    #[schemars(with = "crate::export::DecimalString")]
    pub maintenance_margin_usd: Decimal,
    /// The same at initial weights.
    #[schemars(with = "crate::export::DecimalString")]
    pub initial_margin_usd: Decimal,
    /// `adjusted_collateral_usd − maintenance_margin_usd` (negative: liquidatable).
    #[schemars(with = "crate::export::DecimalString")]
    pub margin_excess_usd: Decimal,
    /// `initial_collateral_usd − initial_margin_usd` (negative: cannot open or borrow more).
    #[schemars(with = "crate::export::DecimalString")]
    pub free_collateral_usd: Decimal,
}

/// One protocol market of one account inside a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolProfile {
    /// Protocol id.
    pub protocol: ProtocolId,
    /// Market within the protocol.
    pub market: MarketId,
    /// Chain.
    pub chain: ChainId,
    /// Account.
    pub account: AccountId,
    /// Block or slot the reads were pinned to.
    pub block: ReadPoint,
    /// The protocol's own health, reproduced exactly.
    pub native_health: NativeHealth,
    /// Unimargin's health of this market alone.
    pub health: Health,
    /// Aggregates of this market alone.
    pub totals: Totals,
    /// This market's own requirement in equity terms and how it fares on the stress grid.
    #[serde(default)]
    pub risk: ProtocolRisk,
    /// Positions.
    pub positions: Vec<Position>,
}

/// What a chain contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChainCoverage {
    /// Chain.
    pub chain: ChainId,
    /// The block or slot every read of this chain was pinned to; `None` if the chain could not
    /// be read at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_point: Option<ReadPoint>,
    /// Protocol markets read successfully on this chain, as `protocol/market`.
    pub protocols: Vec<String>,
}

/// Exactly what a profile covers and what failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Coverage {
    /// True only when every configured protocol market of every requested account was read and
    /// every price was present and fresh. When false, `health` is absent and the credit
    /// capacity is zero: a partial view must never look healthier than the whole.
    pub complete: bool,
    /// Chains and the read points used.
    pub chains: Vec<ChainCoverage>,
    /// Protocol markets read successfully.
    pub protocols_read: u32,
    /// Protocol markets that failed.
    pub protocols_failed: u32,
    /// Every failure.
    pub failures: Vec<Failure>,
    /// Notes that do not make the profile incomplete.
    pub warnings: Vec<Warning>,
}

/// The unified margin profile of a set of accounts across protocols and chains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MarginProfile {
    /// Methodology version ([`METHODOLOGY_VERSION`]).
    pub methodology: String,
    /// When the profile was computed.
    pub as_of: DateTime<Utc>,
    /// The accounts requested, canonical CAIP-10.
    pub accounts: Vec<AccountId>,
    /// What is covered and what failed.
    pub coverage: Coverage,
    /// Aggregates over everything covered.
    pub totals: Totals,
    /// `totals.adjusted_collateral_usd ÷ totals.maintenance_margin_usd`; absent when coverage
    /// is incomplete.
    #[serde(default)]
    pub health: Option<Health>,
    /// `totals.initial_collateral_usd ÷ totals.initial_margin_usd`; absent when incomplete.
    #[serde(default)]
    pub initial_health: Option<Health>,
    /// The lowest native health of any protocol market (the weakest link: venues liquidate
    /// independently); absent when incomplete.
    #[serde(default)]
    pub weakest_native_health: Option<Health>,
    /// What a venue could lend against this portfolio: the smaller of what the protocols' own
    /// initial margins leave (`max(0, free_collateral_usd)`) and what the stress grid leaves
    /// (`risk.margin.credit_capacity_usd`: equity after the worst scenario, its liquidation
    /// penalties and the add-ons), so neither method can grant more than the other allows; zero
    /// whenever coverage is incomplete. This is the figure attestations sign.
    #[schemars(with = "crate::export::DecimalString")]
    pub credit_capacity_usd: Decimal,
    /// Sum of every protocol market's own maintenance requirement.
    #[schemars(with = "crate::export::DecimalString")]
    pub isolated_requirement_usd: Decimal,
    /// The maintenance requirement when liabilities are netted against the same risk group's
    /// collateral held on other protocols.
    #[schemars(with = "crate::export::DecimalString")]
    pub cross_requirement_usd: Decimal,
    /// `isolated_requirement_usd − cross_requirement_usd`: what cross margining frees.
    #[schemars(with = "crate::export::DecimalString")]
    pub cross_margin_benefit_usd: Decimal,
    /// Per protocol market, with positions.
    pub protocols: Vec<ProtocolProfile>,
    /// Portfolio margin from full-revaluation scenario stress (the fields above are the linear
    /// view at the protocols' own weights), with the price vector, greeks, liquidation surface,
    /// score, segments and rebalancing advice.
    #[serde(default)]
    pub risk: RiskProfile,
}

impl MarginProfile {
    /// The market ids present, for display.
    pub fn markets(&self) -> impl Iterator<Item = (&ProtocolId, &MarketId)> {
        self.protocols.iter().map(|p| (&p.protocol, &p.market))
    }
}
