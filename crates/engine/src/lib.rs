//! The margin engine: from normalized protocol snapshots to one unified [`MarginProfile`].
//!
//! Pure, synchronous and deterministic: no I/O, no clock (the caller passes `as_of`), no floats in
//! money (`f64` only inside the option models and the correlation maths, converted at the
//! boundary). The same input always yields the same profile, whatever order snapshots arrive in.
//!
//! What it owns:
//! * [`totals`]: one traversal of the positions feeding every linear aggregate (net value, gross
//!   and haircut-adjusted collateral, debt, initial and maintenance requirements);
//! * [`checks`]: the fail-closed rules — missing or stale prices and failed reads make the profile
//!   incomplete, and an incomplete profile has no health and zero credit capacity;
//! * [`netting`]: what linear cross margining frees compared with isolated margin;
//! * the portfolio margin ([`model`] configures it): a price vector with provenance and oracle
//!   divergence (`prices`), an exposure book built in one traversal (`book`), a scenario grid per
//!   risk group with correlated and joint moves, depegs, oracle divergence and carry
//!   (`scenarios`, [`correlation`]; compiled once per model and book shape, [`GridCache`]), full revaluation with each protocol's own liquidation rule
//!   (`stress`), option pricing and greeks ([`pricing`]), add-ons and requirements (`margin`,
//!   `haircut`), the liquidation surface (`surface`), the risk score ([`score`]), segments
//!   (`segments`), rebalancing advice ([`rebalance`]) and what-if simulation ([`simulate`](mod@simulate));
//! * `exact`: `Decimal` arithmetic on machine integers with `Decimal`'s very results, for the sums
//!   over positions (and `fixed`, the grid's scaled integers);
//! * [`compute_profile`] / [`compute_segmented_profile`]: putting it together.
//!
//! The formulas are documented in `crates/engine/docs/methodology.md`.
//!
//! Depends only on `unimargin-schema` (and `libm` for the normal distribution). Test with
//! `cargo test -p unimargin-engine`; benchmark with `cargo bench -p unimargin-engine`.

mod book;
pub mod checks;
pub mod correlation;
mod exact;
mod fixed;
mod grids;
mod haircut;
mod margin;
pub mod model;
pub mod netting;
mod options;
mod prices;
pub mod pricing;
mod profile;
pub mod rebalance;
mod risk;
mod scenarios;
pub mod score;
mod segments;
mod settings;
pub mod simulate;
mod stress;
mod surface;
pub mod totals;

pub use grids::{GridCache, GridCacheStats};
pub use model::{ModelError, RiskModel};
pub use profile::{ProfileInput, compute_profile, compute_segmented_profile};
pub use settings::EngineSettings;
pub use simulate::{SimulateError, simulate};
pub use unimargin_schema::MarginProfile;

#[cfg(test)]
mod tests;
