//! The portfolio-margin section of a profile: Unimargin's own requirement from scenario stress,
//! next to the protocols' own (isolated) requirements.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    AssetPrice, Health, LiquidationSurface, OptionValuation, PortfolioGreeks, RebalancePlan,
    RiskScore, ScenarioOutcome, SegmentRisk, UnderlyingGreeks,
};

/// Which haircut schedule and volatilities are in force. Configured, not inferred: a stressed
/// regime is declared by the operator (or a monitoring job) when markets turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VolatilityRegime {
    /// Normal markets.
    #[default]
    Calm,
    /// Turbulent markets: wider haircuts and higher volatilities.
    Stressed,
}

/// Risk charges added to the worst scenario loss, in USD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddOns {
    /// Minimum charge for written options (a fraction of the underlying notional per short
    /// contract), because a deep out-of-the-money short option loses almost nothing on the grid
    /// yet can lose without bound.
    #[schemars(with = "crate::export::DecimalString")]
    pub short_option_minimum_usd: Decimal,
    /// Liquidation cost of the net exposure per asset from the haircut schedule: a tier by
    /// volatility plus a size premium growing with the square root of size over liquidity.
    #[schemars(with = "crate::export::DecimalString")]
    pub concentration_usd: Decimal,
    /// Equity lost by valuing every asset whose protocols' oracles disagree beyond the band at
    /// the worse quote (the lower for what is held, the higher for what is owed).
    #[schemars(with = "crate::export::DecimalString")]
    pub oracle_divergence_usd: Decimal,
    /// The sum of the above.
    #[schemars(with = "crate::export::DecimalString")]
    pub total_usd: Decimal,
}

/// The portfolio margin of a set of positions, in equity terms (USD).
///
/// `maintenance_requirement_usd = max(stress_loss_usd + maintenance_add_ons.total_usd,
/// protocol_requirements_usd)`: the equity that survives the worst scenario, never below the sum
/// of what every protocol requires on its own, because venues liquidate independently (with less
/// equity than that sum, at least one of them is below its own requirement).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortfolioMargin {
    /// Assets − liabilities at the profile's reference prices (perp PnL included).
    #[schemars(with = "crate::export::DecimalString")]
    pub equity_usd: Decimal,
    /// Gross liabilities at reference prices: debts, written options at mark, perp notionals.
    /// The denominator of `health` (like the debt in a lending health factor).
    #[schemars(with = "crate::export::DecimalString")]
    pub liabilities_usd: Decimal,
    /// The largest weighted scenario loss, liquidation penalties and carry included (≥ 0).
    #[schemars(with = "crate::export::DecimalString")]
    pub stress_loss_usd: Decimal,
    /// The scenario that produced `stress_loss_usd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_scenario: Option<String>,
    /// Add-ons at maintenance level.
    pub maintenance_add_ons: AddOns,
    /// Add-ons at initial level.
    pub initial_add_ons: AddOns,
    /// Portfolio maintenance requirement.
    #[schemars(with = "crate::export::DecimalString")]
    pub maintenance_requirement_usd: Decimal,
    /// Portfolio initial requirement: the stress loss times the initial multiplier plus the
    /// initial add-ons, never below the sum of the protocols' own initial requirements nor below
    /// the maintenance requirement.
    #[schemars(with = "crate::export::DecimalString")]
    pub initial_requirement_usd: Decimal,
    /// The largest maintenance requirement of one protocol market on its own.
    #[schemars(with = "crate::export::DecimalString")]
    pub largest_protocol_requirement_usd: Decimal,
    /// Sum of every protocol market's own maintenance requirement (equity terms): the floor of
    /// `maintenance_requirement_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub protocol_requirements_usd: Decimal,
    /// Sum of every market's requirement when margined alone by this same method
    /// (`ProtocolRisk.standalone_requirement_usd`).
    #[schemars(with = "crate::export::DecimalString")]
    pub isolated_requirement_usd: Decimal,
    /// The same at initial level (`ProtocolRisk.standalone_initial_requirement_usd`).
    #[schemars(with = "crate::export::DecimalString")]
    pub isolated_initial_requirement_usd: Decimal,
    /// `isolated_requirement_usd − maintenance_requirement_usd`: what margining the markets
    /// together frees. Negative when the portfolio's add-ons exceed the markets' own (the size
    /// premium grows faster than the size).
    #[schemars(with = "crate::export::DecimalString")]
    pub cross_margin_benefit_usd: Decimal,
    /// `equity_usd − maintenance_requirement_usd` (negative: below the portfolio requirement).
    #[schemars(with = "crate::export::DecimalString")]
    pub margin_excess_usd: Decimal,
    /// `equity_usd − initial_requirement_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub free_margin_usd: Decimal,
    /// `1 + margin_excess ÷ liabilities` while the requirement is met, `equity ÷ requirement`
    /// below it (both are 1 at the threshold); infinite without liabilities. Absent when
    /// coverage is incomplete.
    #[serde(default)]
    pub health: Option<Health>,
    /// The same at the initial requirement; absent when coverage is incomplete.
    #[serde(default)]
    pub initial_health: Option<Health>,
    /// The largest extra USD debt a venue could extend so that the worst scenario still leaves
    /// non-negative equity after every protocol's liquidation penalties and the add-ons:
    /// `max(0, equity − stress_loss − maintenance add-ons)`; zero whenever coverage is
    /// incomplete.
    #[schemars(with = "crate::export::DecimalString")]
    pub credit_capacity_usd: Decimal,
}

/// Net exposure of one risk group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupExposure {
    /// Risk group (`Asset.risk_key`).
    pub group: String,
    /// Whether the group is the numeraire (dollar stablecoins): it moves only by depegs.
    pub numeraire: bool,
    /// Value of everything that gains when the group rises (USD, at reference prices; options
    /// at delta).
    #[schemars(with = "crate::export::DecimalString")]
    pub long_usd: Decimal,
    /// Value of everything that loses when the group rises.
    #[schemars(with = "crate::export::DecimalString")]
    pub short_usd: Decimal,
    /// `long_usd − short_usd`.
    #[schemars(with = "crate::export::DecimalString")]
    pub net_usd: Decimal,
}

/// One protocol market's own margin in equity terms, and how it fares on the grid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolRisk {
    /// Assets − liabilities on this market at its own prices.
    #[schemars(with = "crate::export::DecimalString")]
    pub equity_usd: Decimal,
    /// The equity this market needs on its own before it liquidates:
    /// `equity − (adjusted collateral − maintenance margin)`, zero without liabilities.
    #[schemars(with = "crate::export::DecimalString")]
    pub maintenance_requirement_usd: Decimal,
    /// The same at initial weights.
    #[schemars(with = "crate::export::DecimalString")]
    pub initial_requirement_usd: Decimal,
    /// This market's own worst weighted scenario loss on the profile's grid: its P&L (options and
    /// carry included) and its own liquidation penalty when it liquidates in that scenario (≥ 0).
    #[schemars(with = "crate::export::DecimalString")]
    pub stress_loss_usd: Decimal,
    /// The requirement of this market margined alone by the portfolio method:
    /// `max(stress_loss_usd + its own maintenance add-ons, maintenance_requirement_usd)`.
    #[schemars(with = "crate::export::DecimalString")]
    pub standalone_requirement_usd: Decimal,
    /// The same at initial level: `max(stress_loss_usd × initial multiplier + its own initial
    /// add-ons, initial_requirement_usd, standalone_requirement_usd)`.
    #[schemars(with = "crate::export::DecimalString")]
    pub standalone_initial_requirement_usd: Decimal,
    /// The liquidation penalty assumed for this protocol (fraction of liabilities).
    #[schemars(with = "crate::export::DecimalString")]
    pub liquidation_penalty: Decimal,
    /// In how many scenarios this market liquidates.
    pub liquidated_in_scenarios: u32,
    /// The scenario leaving this market the least margin excess.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_scenario: Option<String>,
    /// This market's health in that scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_scenario_health: Option<Health>,
}

/// Unimargin's portfolio-margin view of a profile: price vector, scenario stress, greeks,
/// liquidation surface, score, segments and rebalancing advice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RiskProfile {
    /// The regime whose haircuts and volatilities were used.
    pub regime: VolatilityRegime,
    /// Stress horizon in days (carry and option time decay are charged over it).
    pub horizon_days: u32,
    /// One price per asset with its provenance and every protocol's quote.
    pub prices: Vec<AssetPrice>,
    /// Net exposure per risk group.
    pub exposures: Vec<GroupExposure>,
    /// Requirements, health, margin excess, cross-margin benefit and credit capacity.
    pub margin: PortfolioMargin,
    /// Every scenario of the grid, fully revalued.
    pub scenarios: Vec<ScenarioOutcome>,
    /// Model valuation and greeks per option position.
    pub options: Vec<OptionValuation>,
    /// Option greeks per underlying.
    pub greeks: Vec<UnderlyingGreeks>,
    /// Option greeks of the whole portfolio.
    pub portfolio_greeks: PortfolioGreeks,
    /// The price moves at which a protocol of the owner first liquidates.
    pub liquidation_surface: Vec<LiquidationSurface>,
    /// The 0–1000 score and what drove it.
    pub score: RiskScore,
    /// Named groups of accounts, each margined on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentRisk>,
    /// Advice when the portfolio is healthy but a protocol market is below the target health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebalance: Option<RebalancePlan>,
    /// Caveats of the model for this profile (an option priced without a known underlying, a
    /// correlation matrix that was not positive definite…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
