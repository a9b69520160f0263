//! Engine settings.

use crate::{grids::GridCache, model::RiskModel};

/// Knobs of the engine, from `config/` (`[risk]`, and the risk model from `config/risk.toml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// A price older than this (seconds before the read point) fails the profile closed. Most
    /// Chainlink feeds heartbeat within 24 h, so a day is the loosest sensible default.
    #[serde(default = "default_max_price_age")]
    pub max_price_age_secs: u64,
    /// When true, a price whose age cannot be determined fails the profile instead of warning.
    #[serde(default)]
    pub require_price_age: bool,
    /// The portfolio-margin model: haircuts, correlation, scenario grid, bands. The binary fills it
    /// from `config/risk.toml`; the default is a conservative generic model.
    #[serde(default)]
    pub model: RiskModel,
    /// Scenario grids compiled for this model, shared by every profile computed with these
    /// settings (and their clones). Not configuration: it never changes a result.
    #[serde(skip)]
    pub grids: GridCache,
}

fn default_max_price_age() -> u64 {
    86_400
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            max_price_age_secs: default_max_price_age(),
            require_price_age: false,
            model: RiskModel::default(),
            grids: GridCache::default(),
        }
    }
}
