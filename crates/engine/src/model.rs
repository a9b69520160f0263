//! The risk model: haircut schedules, correlation, scenario grid and bands, as configured in
//! `config/risk.toml` (the binary loads it into [`EngineSettings::model`](crate::EngineSettings)).
//!
//! Every fraction is a [`Decimal`]; only the correlation maths converts to `f64`. [`RiskModel::default`]
//! is a conservative generic model (every risk group volatile, no correlations, no pegs), so a
//! deployment without `risk.toml` still gets a stress grid.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use unimargin_schema::VolatilityRegime;

use crate::correlation::Correlation;

/// Why a risk model was rejected. Each variant names the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A value is outside its allowed range.
    #[error("{key}: {value} is outside {range}")]
    OutOfRange {
        /// Configuration key.
        key: String,
        /// The value given.
        value: String,
        /// The allowed range.
        range: &'static str,
    },
    /// The correlation matrix is malformed or not positive definite.
    #[error("correlation: {0}")]
    Correlation(String),
    /// The haircut tiers are empty or not in increasing volatility order.
    #[error("haircuts.tiers: {0}")]
    Tiers(&'static str),
    /// A peg names a group that is not configured.
    #[error("pegs.{peg}.group: `{group}` is not a configured group")]
    UnknownGroup {
        /// Peg name.
        peg: String,
        /// The group it names.
        group: String,
    },
}

/// A pair of values for the two regimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByRegime<T> {
    /// Normal markets.
    pub calm: T,
    /// Turbulent markets.
    pub stressed: T,
}

impl<T: Copy> ByRegime<T> {
    /// The value in force.
    pub fn get(&self, regime: VolatilityRegime) -> T {
        match regime {
            VolatilityRegime::Calm => self.calm,
            VolatilityRegime::Stressed => self.stressed,
        }
    }
}

/// `[prices]`: how the price vector is formed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriceRules {
    /// Two quotes of one asset further apart than this fraction flag the asset as diverged.
    pub divergence_band: Decimal,
    /// Symbols that denote the same asset (`WETH = "ETH"`), upper-cased on use.
    pub aliases: BTreeMap<String, String>,
}

impl Default for PriceRules {
    fn default() -> Self {
        Self {
            divergence_band: Decimal::new(2, 2),
            aliases: BTreeMap::new(),
        }
    }
}

/// `[grid]`: the scenario grid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridConfig {
    /// Price moves applied up and down to every volatile group (fractions).
    pub moves: Vec<Decimal>,
    /// The extreme move, up and down.
    pub extreme_move: Decimal,
    /// The fraction of an extreme move's loss that counts.
    pub extreme_weight: Decimal,
    /// Relative volatility change of the vol-up / vol-down variants (options only).
    pub vol_shift: Decimal,
    /// Volatility at which the moves apply as listed; a group with a higher volatility gets its
    /// moves scaled up in proportion (never down).
    pub reference_volatility: Decimal,
    /// Largest fall applied to any price (a price cannot fall by 100 % or more).
    pub max_down_move: Decimal,
    /// Stress horizon, days.
    pub horizon_days: u32,
    /// Initial requirement = stress loss × this + initial add-ons.
    pub initial_multiplier: Decimal,
    /// Adverse deviation of every protocol's oracle from the market in the oracle scenario.
    pub oracle_deviation: Decimal,
    /// Whether to add the joint two-group scenarios on the correlation ellipsoid.
    pub joint: bool,
}

impl Default for GridConfig {
    fn default() -> Self {
        Self {
            moves: [3, 6, 10, 15, 25, 35]
                .iter()
                .map(|p| Decimal::new(*p, 2))
                .collect(),
            extreme_move: Decimal::new(70, 2),
            extreme_weight: Decimal::new(35, 2),
            vol_shift: Decimal::new(30, 2),
            reference_volatility: Decimal::new(80, 2),
            max_down_move: Decimal::new(95, 2),
            horizon_days: 1,
            initial_multiplier: Decimal::new(110, 2),
            oracle_deviation: Decimal::new(2, 2),
            joint: true,
        }
    }
}

/// `[carry]`: funding and interest charged over the horizon in every scenario.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarryConfig {
    /// Stressed borrow rate on every debt (APR, fraction).
    pub borrow_apr: Decimal,
    /// Adverse funding rate on every perp notional (APR, fraction).
    pub funding_apr: Decimal,
}

impl Default for CarryConfig {
    fn default() -> Self {
        Self {
            borrow_apr: Decimal::new(30, 2),
            funding_apr: Decimal::ONE,
        }
    }
}

/// `[options]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptionsConfig {
    /// Risk-free rate of the Black-76 model (continuous, annual).
    pub rate: Decimal,
    /// Short option minimum: this fraction of the underlying notional per written contract.
    pub short_option_minimum: Decimal,
}

impl Default for OptionsConfig {
    fn default() -> Self {
        Self {
            rate: Decimal::ZERO,
            short_option_minimum: Decimal::new(2, 2),
        }
    }
}

/// `[groups.<risk_key>]`: one risk group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The numeraire (dollar stablecoins): no price grid, only depegs.
    #[serde(default)]
    pub numeraire: bool,
    /// Annualized volatility per regime: selects the haircut tier, scales the grid and prices
    /// options without an implied volatility.
    pub volatility: ByRegime<Decimal>,
    /// Depeg applied together to members of a numeraire group that no `[pegs]` entry covers.
    #[serde(default)]
    pub default_depeg: Decimal,
    /// The symbol whose price is the group's reference price (default: the group name).
    #[serde(default)]
    pub reference: Option<String>,
}

impl GroupConfig {
    fn unknown() -> Self {
        Self {
            numeraire: false,
            volatility: ByRegime {
                calm: Decimal::new(120, 2),
                stressed: Decimal::new(180, 2),
            },
            default_depeg: Decimal::ZERO,
            reference: None,
        }
    }
}

/// `[pegs.<name>]`: assets pegged to their group, shocked against it together.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PegConfig {
    /// The risk group they are pegged to.
    pub group: String,
    /// Their symbols (case-insensitive).
    pub symbols: Vec<String>,
    /// How far they fall against the group in the depeg scenario.
    pub depeg: Decimal,
}

/// `[correlation]`: correlation of the volatile groups' moves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationConfig {
    /// Groups, in matrix order.
    pub groups: Vec<String>,
    /// Symmetric, unit diagonal, positive definite. Pairs not listed are uncorrelated.
    pub matrix: Vec<Vec<Decimal>>,
}

/// One haircut level pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaircutLevels {
    /// Maintenance haircut (fraction of value).
    pub maintenance: Decimal,
    /// Initial haircut (≥ maintenance).
    pub initial: Decimal,
}

/// One volatility tier of the haircut schedule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaircutTier {
    /// Upper bound of the tier (annualized volatility); the first tier at or above the asset's
    /// volatility applies.
    pub max_volatility: Decimal,
    /// Levels per regime.
    pub levels: ByRegime<HaircutLevels>,
}

/// Size premium parameters of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeParams {
    /// USD that can be liquidated over the horizon without moving the market much.
    pub liquidity_usd: Decimal,
    /// Premium factor: the haircut grows by `imf × √(size ÷ liquidity)` (Drift's IMF idea).
    pub imf: Decimal,
}

/// `[haircuts]`: per asset, tiered by volatility and by size relative to liquidity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HaircutSchedule {
    /// Tiers in increasing `max_volatility`; the last one catches everything above.
    pub tiers: Vec<HaircutTier>,
    /// Size parameters of assets not listed in `assets`.
    pub default_size: SizeParams,
    /// Size parameters per asset symbol (after aliasing, upper case).
    pub assets: BTreeMap<String, SizeParams>,
}

impl Default for HaircutSchedule {
    fn default() -> Self {
        let levels = |cm: i64, ci: i64, sm: i64, si: i64| ByRegime {
            calm: HaircutLevels {
                maintenance: Decimal::new(cm, 3),
                initial: Decimal::new(ci, 3),
            },
            stressed: HaircutLevels {
                maintenance: Decimal::new(sm, 3),
                initial: Decimal::new(si, 3),
            },
        };
        Self {
            tiers: vec![
                HaircutTier {
                    max_volatility: Decimal::new(10, 2),
                    levels: levels(5, 10, 10, 20),
                },
                HaircutTier {
                    max_volatility: Decimal::new(60, 2),
                    levels: levels(10, 20, 20, 40),
                },
                HaircutTier {
                    max_volatility: Decimal::ONE,
                    levels: levels(20, 40, 40, 80),
                },
                HaircutTier {
                    max_volatility: Decimal::new(1000, 0),
                    levels: levels(50, 100, 100, 200),
                },
            ],
            default_size: SizeParams {
                liquidity_usd: Decimal::new(1_000_000, 0),
                imf: Decimal::new(5, 2),
            },
            assets: BTreeMap::new(),
        }
    }
}

/// `[liquidation]`: what a liquidation costs the owner.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiquidationConfig {
    /// Penalty of protocols not listed (fraction of the liabilities liquidated).
    pub default_penalty: Decimal,
    /// Penalty per protocol id.
    pub penalties: BTreeMap<String, Decimal>,
}

impl Default for LiquidationConfig {
    fn default() -> Self {
        Self {
            default_penalty: Decimal::new(10, 2),
            penalties: BTreeMap::new(),
        }
    }
}

impl LiquidationConfig {
    /// The penalty of `protocol`.
    pub fn penalty(&self, protocol: &str) -> Decimal {
        self.penalties
            .get(protocol)
            .copied()
            .unwrap_or(self.default_penalty)
    }
}

/// `[rebalance]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RebalanceConfig {
    /// Health every protocol market should be lifted to.
    pub target_health: Decimal,
}

impl Default for RebalanceConfig {
    fn default() -> Self {
        Self {
            target_health: Decimal::new(125, 2),
        }
    }
}

/// Weights of the score's factors (they sum to 1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreWeights {
    /// Stress loss ÷ equity.
    pub stress: Decimal,
    /// Distance to the nearest liquidation.
    pub distance: Decimal,
    /// Concentration charge ÷ equity.
    pub concentration: Decimal,
    /// Oracle quality.
    pub oracle: Decimal,
    /// Coverage.
    pub coverage: Decimal,
}

/// `[score]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreConfig {
    /// Factor weights.
    pub weights: ScoreWeights,
    /// A nearest liquidation this far away (fraction) or farther scores full marks.
    pub full_distance: Decimal,
    /// A concentration charge of this fraction of equity scores zero.
    pub concentration_reference: Decimal,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            weights: ScoreWeights {
                stress: Decimal::new(35, 2),
                distance: Decimal::new(25, 2),
                concentration: Decimal::new(15, 2),
                oracle: Decimal::new(15, 2),
                coverage: Decimal::new(10, 2),
            },
            full_distance: Decimal::new(50, 2),
            concentration_reference: Decimal::new(10, 2),
        }
    }
}

/// The whole risk model (`config/risk.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskModel {
    /// Regime in force.
    pub regime: VolatilityRegime,
    /// Price vector rules.
    pub prices: PriceRules,
    /// Scenario grid.
    pub grid: GridConfig,
    /// Carry over the horizon.
    pub carry: CarryConfig,
    /// Option model.
    pub options: OptionsConfig,
    /// Risk groups by `Asset.risk_key`.
    pub groups: BTreeMap<String, GroupConfig>,
    /// The group used for risk keys not listed in `groups`.
    pub unknown_group: GroupConfig,
    /// Pegged assets.
    pub pegs: BTreeMap<String, PegConfig>,
    /// Correlation of volatile groups.
    pub correlation: CorrelationConfig,
    /// Haircut schedule.
    pub haircuts: HaircutSchedule,
    /// Liquidation penalties.
    pub liquidation: LiquidationConfig,
    /// Rebalancing target.
    pub rebalance: RebalanceConfig,
    /// Score.
    pub score: ScoreConfig,
}

impl Default for RiskModel {
    fn default() -> Self {
        Self {
            regime: VolatilityRegime::Calm,
            prices: PriceRules::default(),
            grid: GridConfig::default(),
            carry: CarryConfig::default(),
            options: OptionsConfig::default(),
            groups: BTreeMap::new(),
            unknown_group: GroupConfig::unknown(),
            pegs: BTreeMap::new(),
            correlation: CorrelationConfig::default(),
            haircuts: HaircutSchedule::default(),
            liquidation: LiquidationConfig::default(),
            rebalance: RebalanceConfig::default(),
            score: ScoreConfig::default(),
        }
    }
}

fn check(
    key: impl Into<String>,
    v: Decimal,
    lo: Decimal,
    hi: Decimal,
    range: &'static str,
) -> Result<(), ModelError> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(ModelError::OutOfRange {
            key: key.into(),
            value: v.to_string(),
            range,
        })
    }
}

impl RiskModel {
    /// The group configuration of `risk_key` (the unknown group when not configured).
    pub fn group(&self, risk_key: &str) -> &GroupConfig {
        self.groups.get(risk_key).unwrap_or(&self.unknown_group)
    }

    /// Checks ranges, the tiers, the pegs and the correlation matrix.
    pub fn validate(&self) -> Result<(), ModelError> {
        let (zero, one) = (Decimal::ZERO, Decimal::ONE);
        check(
            "prices.divergence_band",
            self.prices.divergence_band,
            zero,
            one,
            "[0, 1]",
        )?;
        let g = &self.grid;
        for (i, m) in g.moves.iter().enumerate() {
            check(format!("grid.moves[{i}]"), *m, zero, one, "[0, 1]")?;
        }
        check(
            "grid.extreme_move",
            g.extreme_move,
            zero,
            Decimal::new(10, 0),
            "[0, 10]",
        )?;
        check("grid.extreme_weight", g.extreme_weight, zero, one, "[0, 1]")?;
        check(
            "grid.vol_shift",
            g.vol_shift,
            zero,
            Decimal::new(95, 2),
            "[0, 0.95]",
        )?;
        check(
            "grid.reference_volatility",
            g.reference_volatility,
            Decimal::new(1, 4),
            Decimal::new(100, 0),
            "(0, 100]",
        )?;
        check(
            "grid.max_down_move",
            g.max_down_move,
            zero,
            Decimal::new(99, 2),
            "[0, 0.99]",
        )?;
        check(
            "grid.initial_multiplier",
            g.initial_multiplier,
            one,
            Decimal::new(10, 0),
            "[1, 10]",
        )?;
        check(
            "grid.oracle_deviation",
            g.oracle_deviation,
            zero,
            Decimal::new(5, 1),
            "[0, 0.5]",
        )?;
        if g.horizon_days > 365 {
            return Err(ModelError::OutOfRange {
                key: "grid.horizon_days".into(),
                value: g.horizon_days.to_string(),
                range: "[0, 365]",
            });
        }
        check(
            "carry.borrow_apr",
            self.carry.borrow_apr,
            zero,
            Decimal::new(100, 0),
            "[0, 100]",
        )?;
        check(
            "carry.funding_apr",
            self.carry.funding_apr,
            zero,
            Decimal::new(100, 0),
            "[0, 100]",
        )?;
        check(
            "options.rate",
            self.options.rate,
            Decimal::new(-1, 0),
            one,
            "[-1, 1]",
        )?;
        check(
            "options.short_option_minimum",
            self.options.short_option_minimum,
            zero,
            one,
            "[0, 1]",
        )?;
        let groups = self
            .groups
            .iter()
            .map(|(k, v)| (format!("groups.{k}"), v))
            .chain([("unknown_group".to_owned(), &self.unknown_group)]);
        for (key, group) in groups {
            for (regime, v) in [
                ("calm", group.volatility.calm),
                ("stressed", group.volatility.stressed),
            ] {
                check(
                    format!("{key}.volatility.{regime}"),
                    v,
                    Decimal::new(1, 4),
                    Decimal::new(100, 0),
                    "(0, 100]",
                )?;
            }
            check(
                format!("{key}.default_depeg"),
                group.default_depeg,
                zero,
                Decimal::new(99, 2),
                "[0, 0.99]",
            )?;
        }
        for (name, peg) in &self.pegs {
            if !self.groups.contains_key(&peg.group) {
                return Err(ModelError::UnknownGroup {
                    peg: name.clone(),
                    group: peg.group.clone(),
                });
            }
            check(
                format!("pegs.{name}.depeg"),
                peg.depeg,
                zero,
                Decimal::new(99, 2),
                "[0, 0.99]",
            )?;
        }
        let h = &self.haircuts;
        if h.tiers.is_empty() {
            return Err(ModelError::Tiers("at least one tier is needed"));
        }
        if h.tiers
            .windows(2)
            .any(|w| w[0].max_volatility >= w[1].max_volatility)
        {
            return Err(ModelError::Tiers(
                "tiers must be in strictly increasing max_volatility",
            ));
        }
        for (i, tier) in h.tiers.iter().enumerate() {
            for (regime, l) in [
                ("calm", tier.levels.calm),
                ("stressed", tier.levels.stressed),
            ] {
                let key = format!("haircuts.tiers[{i}].levels.{regime}");
                check(
                    format!("{key}.maintenance"),
                    l.maintenance,
                    zero,
                    one,
                    "[0, 1]",
                )?;
                check(
                    format!("{key}.initial"),
                    l.initial,
                    l.maintenance,
                    one,
                    "[maintenance, 1]",
                )?;
            }
        }
        for (key, s) in h
            .assets
            .iter()
            .map(|(k, s)| (format!("haircuts.assets.{k}"), s))
            .chain([("haircuts.default_size".to_owned(), &h.default_size)])
        {
            check(
                format!("{key}.liquidity_usd"),
                s.liquidity_usd,
                Decimal::ONE,
                Decimal::MAX,
                "[1, ∞)",
            )?;
            check(format!("{key}.imf"), s.imf, zero, one, "[0, 1]")?;
        }
        check(
            "liquidation.default_penalty",
            self.liquidation.default_penalty,
            zero,
            Decimal::new(5, 1),
            "[0, 0.5]",
        )?;
        for (p, v) in &self.liquidation.penalties {
            check(
                format!("liquidation.penalties.{p}"),
                *v,
                zero,
                Decimal::new(5, 1),
                "[0, 0.5]",
            )?;
        }
        check(
            "rebalance.target_health",
            self.rebalance.target_health,
            one,
            Decimal::new(100, 0),
            "[1, 100]",
        )?;
        let w = &self.score.weights;
        for (k, v) in [
            ("stress", w.stress),
            ("distance", w.distance),
            ("concentration", w.concentration),
            ("oracle", w.oracle),
            ("coverage", w.coverage),
        ] {
            check(format!("score.weights.{k}"), v, zero, one, "[0, 1]")?;
        }
        let sum = w.stress + w.distance + w.concentration + w.oracle + w.coverage;
        check("score.weights (sum)", sum, one, one, "exactly 1")?;
        check(
            "score.full_distance",
            self.score.full_distance,
            Decimal::new(1, 4),
            Decimal::new(10, 0),
            "(0, 10]",
        )?;
        check(
            "score.concentration_reference",
            self.score.concentration_reference,
            Decimal::new(1, 4),
            one,
            "(0, 1]",
        )?;
        Correlation::new(&self.correlation).map(|_| ())
    }
}
