//! The margin engine: from normalized protocol snapshots to one unified [`MarginProfile`].
//!
//! Pure, synchronous and deterministic: no I/O, no clock (the caller passes `as_of`), no floats in
//! money. The same input always yields the same profile, whatever order snapshots arrive in.
//!
//! What it owns:
//! * [`totals`]: one traversal of the positions feeding every aggregate (net value, gross and
//!   haircut-adjusted collateral, debt, initial and maintenance requirements);
//! * [`checks`]: the fail-closed rules — missing or stale prices and failed reads make the profile
//!   incomplete, and an incomplete profile has no health and zero credit capacity;
//! * [`netting`]: what cross margining frees compared with isolated margin;
//! * [`compute_profile`]: putting it together.
//!
//! Depends only on `unimargin-schema`. Test with `cargo test -p unimargin-engine`.

pub mod checks;
pub mod netting;
mod profile;
mod settings;
pub mod totals;

pub use profile::{ProfileInput, compute_profile};
pub use settings::EngineSettings;
pub use unimargin_schema::MarginProfile;

#[cfg(test)]
mod tests;
