//! The normalized risk schema of Unimargin.
//!
//! Every adapter, whatever chain or venue it reads, produces the types in this crate, and every
//! consumer (the engine, the API, third parties reading `schemas/`) reads only these types. The
//! schema therefore owns the vocabulary of the whole project:
//!
//! * identifiers: [`ChainId`] (CAIP-2), [`AccountId`] (CAIP-10), [`AssetId`], [`ProtocolId`];
//! * what an adapter reports: [`ProtocolSnapshot`] made of [`Position`]s with a [`Price`] and
//!   [`RiskWeights`] each, the protocol's own [`NativeHealth`] and the [`Provenance`] of the read;
//! * what the engine answers: [`MarginProfile`] with [`Totals`] and [`Coverage`], and its
//!   portfolio-margin section [`RiskProfile`] (price vector, scenarios, greeks, liquidation
//!   surface, score, segments, rebalancing advice);
//! * what-if requests and answers: [`WhatIfChange`], [`Simulation`].
//!
//! Money is exact: every amount, price and value is a [`rust_decimal::Decimal`] and is serialized as
//! a JSON string. Chain SDK types (alloy, solana) never appear here, so the schema builds without
//! them and its JSON Schema ([`export`]) is the contract with clients.
//!
//! Depends on nothing of Unimargin. Test with `cargo test -p unimargin-schema`.

mod account;
mod asset;
mod chain;
pub mod export;
mod failure;
mod greeks;
mod health;
mod position;
mod price;
mod price_vector;
mod profile;
mod protocol;
mod provenance;
mod rebalance;
mod risk;
mod scenario;
mod score;
mod segment;
mod snapshot;
mod surface;
mod whatif;

pub use account::{AccountId, AccountIdError};
pub use asset::{Asset, AssetId};
pub use chain::{ChainAliases, ChainId, ChainIdError, ChainNamespace};
pub use failure::{Failure, FailureKind, FailureScope, Warning, WarningKind};
pub use greeks::{OptionValuation, PortfolioGreeks, UnderlyingGreeks};
pub use health::Health;
pub use position::{
    Greeks, OptionDetails, OptionKind, PerpDetails, Position, PositionKind, RiskWeights, Side,
};
pub use price::{Price, PriceSource};
pub use price_vector::{AssetPrice, PriceQuote};
pub use profile::{
    ChainCoverage, Coverage, METHODOLOGY_VERSION, MarginProfile, ProtocolProfile, Totals,
};
pub use protocol::{MarketId, ProtocolId, ProtocolIdError};
pub use provenance::{Provenance, ReadPoint};
pub use rebalance::{MarketHealthChange, RebalanceAction, RebalanceMove, RebalancePlan};
pub use risk::{
    AddOns, GroupExposure, PortfolioMargin, ProtocolRisk, RiskProfile, VolatilityRegime,
};
pub use scenario::{GroupMove, ScenarioKind, ScenarioOutcome};
pub use score::{RiskScore, ScoreFactor};
pub use segment::{Segment, SegmentRisk};
pub use snapshot::{NativeHealth, ProtocolSnapshot};
pub use surface::{LiquidationPoint, LiquidationSurface, SurfaceAxis};
pub use whatif::{
    DecimalChange, HealthChange, MarketDiff, MarketRef, ProfileDiff, Simulation, WhatIfChange,
};

/// Re-exported so that users of the schema agree on one decimal type.
pub use rust_decimal::Decimal;
