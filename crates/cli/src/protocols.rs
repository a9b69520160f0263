//! The protocols this binary can serve. Adding a protocol is one line here (plus its crate and
//! its configuration); nothing else in the service changes.

use unimargin_sdk::AdapterRegistry;

/// Every adapter factory compiled into the binary.
pub(crate) fn registry() -> AdapterRegistry {
    let mut registry = AdapterRegistry::new();
    registry.register(unimargin_aave_v3::AaveV3Factory);
    registry.register(unimargin_compound_v3::CompoundV3Factory);
    registry.register(unimargin_marginfi::MarginfiFactory);
    registry.register(unimargin_morpho_blue::MorphoBlueFactory);
    registry.register(unimargin_hyperliquid::HyperliquidFactory);
    registry.register(unimargin_derive::DeriveFactory);
    registry.register(unimargin_drift::DriftFactory);
    registry.register(unimargin_kamino::KaminoFactory);
    registry.register(unimargin_gmx_v2::GmxV2Factory);
    registry
}
