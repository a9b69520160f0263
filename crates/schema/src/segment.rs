//! Segments: named groups of accounts margined on their own (sub-account isolation).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{AccountId, PortfolioMargin, RiskScore};

/// A named group of accounts. A venue that can seize only these accounts sees this segment; one
/// that can seize all of them sees the whole profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Name chosen by the owner.
    pub name: String,
    /// Accounts in the segment (CAIP-10).
    pub accounts: Vec<AccountId>,
}

/// One segment margined on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SegmentRisk {
    /// Name.
    pub name: String,
    /// Accounts in it.
    pub accounts: Vec<AccountId>,
    /// Protocol markets in it (`protocol/market@account`).
    pub markets: Vec<String>,
    /// Whether every market of its accounts was read (its health and credit follow the same
    /// fail-closed rule as the whole).
    pub complete: bool,
    /// Its portfolio margin.
    pub margin: PortfolioMargin,
    /// The market that liquidates first in its worst scenario, if any does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_liquidation: Option<String>,
    /// Its score.
    pub score: RiskScore,
}
