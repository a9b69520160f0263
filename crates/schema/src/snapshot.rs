//! What one adapter returns for one account on one protocol market.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Health, Position, Provenance, Warning};

/// The protocol's own health, reproduced by us and, where the protocol exposes it, as it reports
/// it. Both are shown so a reader can see that the normalization is faithful.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NativeHealth {
    /// The protocol's metric, e.g. `aave-v3.health_factor` (below 1 liquidatable).
    pub metric: String,
    /// Recomputed from the normalized positions with the protocol's own integer arithmetic.
    pub reproduced: Health,
    /// As the protocol's contract reports it (`getUserAccountData` for Aave), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Health>,
    /// Whether `reproduced` and `reported` are identical. `None` when nothing is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agrees: Option<bool>,
    /// The value to rely on: the worse of `reproduced` and `reported` when they differ.
    pub value: Health,
    /// Whether the protocol may liquidate the account now.
    pub liquidatable: bool,
    /// The protocol's raw aggregate figures (in its own units), for audit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, String>,
}

impl NativeHealth {
    /// Builds the record from a reproduction and an optional protocol-reported value, taking
    /// the worse of the two as the value to rely on (fail closed).
    pub fn new(metric: &str, reproduced: Health, reported: Option<Health>) -> Self {
        let value = reported.map_or(reproduced, |r| r.min(reproduced));
        Self {
            metric: metric.to_owned(),
            reproduced,
            reported,
            agrees: reported.map(|r| r == reproduced),
            value,
            liquidatable: value.is_liquidatable(),
            figures: BTreeMap::new(),
        }
    }
}

/// One account's state on one protocol market at one read point: the adapter's whole output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolSnapshot {
    /// Where, when and from what it was read.
    pub provenance: Provenance,
    /// Every non-zero position.
    pub positions: Vec<Position>,
    /// The protocol's own health.
    pub native_health: NativeHealth,
    /// Notes from the adapter (rounding, unknown price ages, disagreements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}
