//! Solidity bindings, generated from the interface files in `fixtures/src/interfaces/` (compiled
//! to ABI JSON in `fixtures/out/`). Those interfaces reproduce Aave v3.6's deployed ABI exactly —
//! the fixture contracts implement them and mainnet contracts expose them — so these bindings
//! work unchanged against both.
//!
//! One module per ABI: every Aave ABI declares its own `DataTypes`, and two in one module collide.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// `UiPoolDataProviderV3` (v3.6 struct layout).
pub mod ui_pool_data_provider {
    alloy::sol!(
        #[derive(Debug)]
        IUiPoolDataProviderV3,
        "fixtures/out/IUiPoolDataProviderV3.json"
    );
}

/// `UiPoolDataProviderV3` in the v3.0 periphery layout (Aave v3.0 forks such as SparkLend).
pub mod ui_pool_data_provider_v3_0 {
    alloy::sol!(
        #[derive(Debug)]
        IUiPoolDataProviderV3,
        "fixtures/out-v3.0/IUiPoolDataProviderV3.json"
    );
}

/// `IPool` (the subset the adapter reads).
pub mod pool {
    alloy::sol!(
        #[derive(Debug)]
        IPool,
        "fixtures/out/IPool.json"
    );
}

/// `IAaveOracle`.
pub mod oracle {
    alloy::sol!(
        #[derive(Debug)]
        IAaveOracle,
        "fixtures/out/IAaveOracle.json"
    );
}

/// Chainlink `AggregatorV3Interface` (the feeds behind Aave's oracle).
pub mod aggregator {
    alloy::sol!(
        #[derive(Debug)]
        AggregatorV3Interface,
        "fixtures/out/AggregatorV3Interface.json"
    );
}

/// `IPoolAddressesProvider` (the subset the adapter reads).
pub mod addresses_provider {
    alloy::sol!(
        #[derive(Debug)]
        IPoolAddressesProvider,
        "fixtures/out/IPoolAddressesProvider.json"
    );
}
