//! The protocols this binary can serve. Adding a protocol is one line here (plus its crate and
//! its configuration); nothing else in the service changes.

use unimargin_sdk::AdapterRegistry;

/// Every adapter factory compiled into the binary.
pub(crate) fn registry() -> AdapterRegistry {
    let mut registry = AdapterRegistry::new();
    registry.register(unimargin_aave_v3::AaveV3Factory);
    registry
}
