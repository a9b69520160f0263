//! Deploys the Solidity fixtures of `fixtures/` (Aave v3.6 ABIs) on a test chain and seeds
//! accounts. Used by this crate's tests, the server's end-to-end tests and `unimargin demo`.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, I256, U256, keccak256},
    providers::{DynProvider, Provider},
};
use unimargin_sdk::testkit::{self, TestChain, TestkitError, deploy_error};

use crate::{AaveDeployment, UiLayout};

// One module per artifact: each Aave ABI carries its own `DataTypes`.
#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod contracts {
    pub(crate) mod ap {
        alloy::sol!(
            #[sol(rpc)]
            PoolAddressesProviderFixture,
            "fixtures/out/PoolAddressesProviderFixture.json"
        );
    }
    pub(crate) mod oracle {
        alloy::sol!(
            #[sol(rpc)]
            AaveOracleFixture,
            "fixtures/out/AaveOracleFixture.json"
        );
    }
    pub(crate) mod pool {
        alloy::sol!(
            #[sol(rpc)]
            PoolFixture,
            "fixtures/out/PoolFixture.json"
        );
    }
    pub(crate) mod ui {
        alloy::sol!(
            #[sol(rpc)]
            UiPoolDataProviderV3Fixture,
            "fixtures/out/UiPoolDataProviderV3Fixture.json"
        );
    }
    pub(crate) mod feed {
        alloy::sol!(
            #[sol(rpc)]
            ChainlinkAggregatorFixture,
            "fixtures/out/ChainlinkAggregatorFixture.json"
        );
    }
    pub(crate) mod pool30 {
        alloy::sol!(
            #[sol(rpc)]
            PoolV30Fixture,
            "fixtures/out-v3.0/PoolV30Fixture.json"
        );
    }
    pub(crate) mod ui30 {
        alloy::sol!(
            #[sol(rpc)]
            UiPoolDataProviderV30Fixture,
            "fixtures/out-v3.0/UiPoolDataProviderV30Fixture.json"
        );
    }
    pub(crate) use ap::PoolAddressesProviderFixture;
    pub(crate) use feed::ChainlinkAggregatorFixture;
    pub(crate) use oracle::AaveOracleFixture;
    pub(crate) use pool::PoolFixture;
    pub(crate) use pool30::PoolV30Fixture;
    pub(crate) use ui::UiPoolDataProviderV3Fixture;
    pub(crate) use ui30::UiPoolDataProviderV30Fixture;
}
use contracts::*;

/// Fixture set-up failures.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A deployment or seeding transaction failed.
    #[error(transparent)]
    Testkit(#[from] TestkitError),
    /// A symbol that was not listed.
    #[error("reserve {0} is not listed in this fixture market")]
    UnknownReserve(String),
}

fn tx_err(what: &str) -> impl Fn(alloy::contract::Error) -> FixtureError + '_ {
    let inner = deploy_error(what);
    move |e| FixtureError::Testkit(inner(e))
}

async fn send<P, D>(
    call: alloy::contract::CallBuilder<P, D>,
    what: &str,
) -> Result<(), FixtureError>
where
    P: Provider,
    D: alloy::contract::CallDecoder,
{
    Ok(testkit::send(call, what).await?)
}

/// The contracts every fixture market shares: addresses provider and oracle (USD base, 8
/// decimals), deployed from the test chain's deployer.
#[derive(Debug, Clone)]
struct MarketBase {
    provider: DynProvider,
    from: Address,
    addresses_provider: Address,
    oracle: Address,
}

impl MarketBase {
    async fn deploy(chain: &TestChain, market_id: &str) -> Result<Self, FixtureError> {
        let (provider, from) = chain.deployer()?;
        let addresses_provider =
            PoolAddressesProviderFixture::deploy_builder(provider.clone(), market_id.to_owned())
                .from(from)
                .deploy()
                .await
                .map_err(tx_err("deploy PoolAddressesProvider"))?;
        let oracle = AaveOracleFixture::deploy_builder(
            provider.clone(),
            addresses_provider,
            Address::ZERO,
            U256::from(100_000_000u64),
        )
        .from(from)
        .deploy()
        .await
        .map_err(tx_err("deploy AaveOracle"))?;
        let ap = PoolAddressesProviderFixture::new(addresses_provider, provider.clone());
        send(
            ap.fixtureSetPriceOracle(oracle).from(from),
            "setPriceOracle",
        )
        .await?;
        Ok(Self {
            provider,
            from,
            addresses_provider,
            oracle,
        })
    }

    async fn set_pool(&self, pool: Address) -> Result<(), FixtureError> {
        let ap = PoolAddressesProviderFixture::new(self.addresses_provider, self.provider.clone());
        send(ap.fixtureSetPool(pool).from(self.from), "setPool").await
    }

    /// Deploys a USD feed for `symbol` and registers it as the asset's oracle source.
    async fn list_feed(
        &self,
        symbol: &str,
        price_usd_e8: i64,
    ) -> Result<(Address, Address), FixtureError> {
        let asset = asset_address(symbol);
        let feed = ChainlinkAggregatorFixture::deploy_builder(
            self.provider.clone(),
            8,
            format!("{symbol} / USD"),
            I256::try_from(price_usd_e8).unwrap_or_default(),
        )
        .from(self.from)
        .deploy()
        .await
        .map_err(tx_err("deploy feed"))?;
        let oracle = AaveOracleFixture::new(self.oracle, self.provider.clone());
        send(
            oracle.fixtureSetAssetSource(asset, feed).from(self.from),
            "setAssetSource",
        )
        .await?;
        Ok((asset, feed))
    }
}

/// One reserve to list.
#[derive(Debug, Clone)]
pub struct ReserveSpec {
    /// Ticker.
    pub symbol: &'static str,
    /// Token decimals.
    pub decimals: u8,
    /// LTV in bps (ignored when `collateral` is false).
    pub ltv_bps: u16,
    /// Liquidation threshold in bps.
    pub liquidation_threshold_bps: u16,
    /// Liquidation bonus in bps (10500 = 5 %).
    pub liquidation_bonus_bps: u16,
    /// Whether Aave accepts the reserve as collateral.
    pub collateral: bool,
    /// USD price with 8 decimals (the Chainlink USD feed convention).
    pub price_usd_e8: i64,
}

/// A deterministic token address per symbol (the fixtures need addresses, not ERC-20 code).
pub fn asset_address(symbol: &str) -> Address {
    Address::from_slice(&keccak256(format!("unimargin-fixture-token:{symbol}"))[12..])
}

/// A deployed fixture market.
#[derive(Debug, Clone)]
pub struct FixtureMarket {
    provider: DynProvider,
    from: Address,
    /// `PoolAddressesProvider`.
    pub addresses_provider: Address,
    /// `Pool`.
    pub pool: Address,
    /// `AaveOracle`.
    pub oracle: Address,
    /// `UiPoolDataProviderV3`.
    pub ui_pool_data_provider: Address,
    /// Token address per symbol.
    pub assets: BTreeMap<String, Address>,
    /// Chainlink feed per symbol.
    pub feeds: BTreeMap<String, Address>,
    /// Symbols in listing order (reserve id = position).
    pub listing_order: Vec<String>,
    base: MarketBase,
}

impl FixtureMarket {
    /// Deploys a full market (provider, oracle with one feed per reserve, pool, UI data provider)
    /// from the chain's first dev account and lists `reserves` in order (reserve id = index).
    pub async fn deploy(
        chain: &TestChain,
        market_id: &str,
        reserves: &[ReserveSpec],
    ) -> Result<Self, FixtureError> {
        let base = MarketBase::deploy(chain, market_id).await?;
        let (provider, from) = (base.provider.clone(), base.from);
        let pool = PoolFixture::deploy_builder(provider.clone(), base.addresses_provider)
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy Pool"))?;
        let ui = UiPoolDataProviderV3Fixture::deploy_builder(provider.clone(), Address::ZERO)
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy UiPoolDataProviderV3"))?;
        base.set_pool(pool).await?;
        let ap = PoolAddressesProviderFixture::new(base.addresses_provider, provider.clone());
        send(
            ap.fixtureSetPoolDataProvider(ui).from(from),
            "setPoolDataProvider",
        )
        .await?;
        let mut market = Self {
            provider,
            from,
            addresses_provider: base.addresses_provider,
            pool,
            oracle: base.oracle,
            ui_pool_data_provider: ui,
            assets: BTreeMap::new(),
            feeds: BTreeMap::new(),
            listing_order: Vec::new(),
            base,
        };
        for r in reserves {
            market.list(r).await?;
        }
        Ok(market)
    }

    async fn list(&mut self, r: &ReserveSpec) -> Result<(), FixtureError> {
        let (asset, feed) = self.base.list_feed(r.symbol, r.price_usd_e8).await?;
        let pool = PoolFixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureInitReserve(
                asset,
                format!("Fixture {}", r.symbol),
                r.symbol.to_owned(),
                r.decimals,
                r.ltv_bps,
                r.liquidation_threshold_bps,
                r.liquidation_bonus_bps,
                r.collateral,
            )
            .from(self.from),
            "initReserve",
        )
        .await?;
        self.assets.insert(r.symbol.to_owned(), asset);
        self.feeds.insert(r.symbol.to_owned(), feed);
        self.listing_order.push(r.symbol.to_owned());
        Ok(())
    }

    fn asset(&self, symbol: &str) -> Result<Address, FixtureError> {
        self.assets
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::UnknownReserve(symbol.to_owned()))
    }

    /// The adapter configuration of this market.
    pub fn deployment(&self, risk_keys: BTreeMap<String, String>) -> AaveDeployment {
        AaveDeployment {
            pool_addresses_provider: self.addresses_provider,
            pool: self.pool,
            ui_pool_data_provider: self.ui_pool_data_provider,
            ui_layout: UiLayout::V3_6,
            risk_keys,
        }
    }

    /// The same as the `params` JSON of a `[[deployments]]` entry.
    pub fn deployment_params(&self, risk_keys: &BTreeMap<String, String>) -> serde_json::Value {
        serde_json::json!({
            "pool_addresses_provider": self.addresses_provider.to_checksum(None),
            "pool": self.pool.to_checksum(None),
            "ui_pool_data_provider": self.ui_pool_data_provider.to_checksum(None),
            "ui_layout": "v3.6",
            "risk_keys": risk_keys,
        })
    }

    /// Sets a user's scaled balances in one reserve.
    pub async fn set_user_reserve(
        &self,
        user: Address,
        symbol: &str,
        scaled_supply: U256,
        use_as_collateral: bool,
        scaled_debt: U256,
    ) -> Result<(), FixtureError> {
        let pool = PoolFixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetUserReserve(
                user,
                self.asset(symbol)?,
                scaled_supply,
                use_as_collateral,
                scaled_debt,
            )
            .from(self.from),
            "setUserReserve",
        )
        .await
    }

    /// Sets a reserve's indexes (ray), rates (ray per year) and last update time.
    pub async fn set_indexes(
        &self,
        symbol: &str,
        liquidity_index: u128,
        borrow_index: u128,
        liquidity_rate: u128,
        borrow_rate: u128,
        last_update: u64,
    ) -> Result<(), FixtureError> {
        let pool = PoolFixture::new(self.pool, self.provider.clone());
        let last = alloy::primitives::aliases::U40::from(last_update);
        send(
            pool.fixtureSetReserveIndexes(
                self.asset(symbol)?,
                liquidity_index,
                borrow_index,
                liquidity_rate,
                borrow_rate,
                last,
            )
            .from(self.from),
            "setReserveIndexes",
        )
        .await
    }

    /// Configures an e-mode category whose collateral and borrowable sets are the given symbols.
    pub async fn set_emode_category(
        &self,
        id: u8,
        ltv_bps: u16,
        liquidation_threshold_bps: u16,
        symbols: &[&str],
        label: &str,
    ) -> Result<(), FixtureError> {
        let ids = symbols
            .iter()
            .map(|s| {
                self.reserve_index(s)
                    .ok_or_else(|| FixtureError::UnknownReserve((*s).to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bitmap: u128 = ids.iter().fold(0, |acc, i| acc | (1u128 << i));
        let pool = PoolFixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetEModeCategory(
                id,
                ltv_bps,
                liquidation_threshold_bps,
                10_100,
                bitmap,
                bitmap,
                label.to_owned(),
            )
            .from(self.from),
            "setEModeCategory",
        )
        .await
    }

    /// Reserve id of a symbol.
    pub fn reserve_index(&self, symbol: &str) -> Option<usize> {
        self.listing_order.iter().position(|s| s == symbol)
    }

    /// Puts a user in an e-mode category.
    pub async fn set_user_emode(&self, user: Address, id: u8) -> Result<(), FixtureError> {
        let pool = PoolFixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetUserEMode(user, id).from(self.from),
            "setUserEMode",
        )
        .await
    }

    /// Publishes a new feed answer (8 decimals) with the given update time.
    pub async fn set_price(
        &self,
        symbol: &str,
        price_usd_e8: i64,
        updated_at: u64,
    ) -> Result<(), FixtureError> {
        let feed = self
            .feeds
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::UnknownReserve(symbol.to_owned()))?;
        let feed = ChainlinkAggregatorFixture::new(feed, self.provider.clone());
        send(
            feed.fixtureSetAnswer(
                I256::try_from(price_usd_e8).unwrap_or_default(),
                U256::from(updated_at),
            )
            .from(self.from),
            "setAnswer",
        )
        .await
    }
}

/// The demo market: five reserves with 18, 8 and 6 decimals, one of them not accepted as
/// collateral (GHO-like), with realistic parameters.
pub fn demo_reserves() -> Vec<ReserveSpec> {
    vec![
        ReserveSpec {
            symbol: "WETH",
            decimals: 18,
            ltv_bps: 8050,
            liquidation_threshold_bps: 8300,
            liquidation_bonus_bps: 10500,
            collateral: true,
            price_usd_e8: 3_000 * 100_000_000,
        },
        ReserveSpec {
            symbol: "WBTC",
            decimals: 8,
            ltv_bps: 7300,
            liquidation_threshold_bps: 7800,
            liquidation_bonus_bps: 10500,
            collateral: true,
            price_usd_e8: 60_000 * 100_000_000,
        },
        ReserveSpec {
            symbol: "USDC",
            decimals: 6,
            ltv_bps: 7500,
            liquidation_threshold_bps: 7800,
            liquidation_bonus_bps: 10450,
            collateral: true,
            price_usd_e8: 100_000_000,
        },
        ReserveSpec {
            symbol: "DAI",
            decimals: 18,
            ltv_bps: 6300,
            liquidation_threshold_bps: 7700,
            liquidation_bonus_bps: 10500,
            collateral: true,
            price_usd_e8: 99_980000,
        },
        ReserveSpec {
            symbol: "GHO",
            decimals: 18,
            ltv_bps: 0,
            liquidation_threshold_bps: 0,
            liquidation_bonus_bps: 0,
            collateral: false,
            price_usd_e8: 100_000_000,
        },
    ]
}

/// Risk groups of the demo reserves.
pub fn demo_risk_keys() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("WETH".to_owned(), "ETH".to_owned()),
        ("WBTC".to_owned(), "BTC".to_owned()),
        ("USDC".to_owned(), "USD".to_owned()),
        ("DAI".to_owned(), "USD".to_owned()),
        ("GHO".to_owned(), "USD".to_owned()),
    ])
}

/// 10^n as U256.
pub fn units(amount: u64, decimals: u8) -> U256 {
    U256::from(amount) * U256::from(10u8).pow(U256::from(decimals))
}

/// Seeds the demo owner: 10 WETH and 0.5 WBTC as collateral, 5,000 USDC supplied but not used
/// as collateral, 12,000 USDC and 3,000 DAI borrowed. Indexes are 1 ray, so scaled = actual.
pub async fn seed_demo_owner(market: &FixtureMarket, owner: Address) -> Result<(), FixtureError> {
    market
        .set_user_reserve(owner, "WETH", units(10, 18), true, U256::ZERO)
        .await?;
    market
        .set_user_reserve(
            owner,
            "WBTC",
            units(1, 8) / U256::from(2u8),
            true,
            U256::ZERO,
        )
        .await?;
    market
        .set_user_reserve(owner, "USDC", units(5_000, 6), false, units(12_000, 6))
        .await?;
    market
        .set_user_reserve(owner, "DAI", U256::ZERO, false, units(3_000, 18))
        .await
}

/// One reserve of a v3.0 market.
#[derive(Debug, Clone)]
pub struct ReserveSpecV30 {
    /// Ticker.
    pub symbol: &'static str,
    /// Token decimals.
    pub decimals: u8,
    /// LTV (bps).
    pub ltv_bps: u16,
    /// Liquidation threshold (bps); 0 = not accepted as collateral.
    pub liquidation_threshold_bps: u16,
    /// E-mode category of the reserve (0 = none).
    pub emode_category: u8,
    /// USD price with 8 decimals.
    pub price_usd_e8: i64,
}

/// A deployed Aave v3.0-style market (the layout and arithmetic SparkLend runs).
#[derive(Debug, Clone)]
pub struct FixtureMarketV30 {
    provider: DynProvider,
    from: Address,
    /// `PoolAddressesProvider`.
    pub addresses_provider: Address,
    /// `Pool` (v3.0 arithmetic).
    pub pool: Address,
    /// `AaveOracle`.
    pub oracle: Address,
    /// `UiPoolDataProviderV3` (v3.0 layout).
    pub ui_pool_data_provider: Address,
    /// Token address per symbol.
    pub assets: BTreeMap<String, Address>,
    /// Chainlink feed per symbol.
    pub feeds: BTreeMap<String, Address>,
}

impl FixtureMarketV30 {
    /// Deploys provider, oracle, v3.0 pool and UI data provider, and lists `reserves`.
    pub async fn deploy(
        chain: &TestChain,
        market_id: &str,
        reserves: &[ReserveSpecV30],
    ) -> Result<Self, FixtureError> {
        let base = MarketBase::deploy(chain, market_id).await?;
        let (provider, from) = (base.provider.clone(), base.from);
        let pool = PoolV30Fixture::deploy_builder(provider.clone(), base.addresses_provider)
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy Pool v3.0"))?;
        let ui = UiPoolDataProviderV30Fixture::deploy_builder(provider.clone())
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy UiPoolDataProviderV3 v3.0"))?;
        base.set_pool(pool).await?;
        let mut assets = BTreeMap::new();
        let mut feeds = BTreeMap::new();
        for r in reserves {
            let (asset, feed) = base.list_feed(r.symbol, r.price_usd_e8).await?;
            let pool_c = PoolV30Fixture::new(pool, provider.clone());
            send(
                pool_c
                    .fixtureInitReserve(
                        asset,
                        r.symbol.to_owned(),
                        r.decimals,
                        r.ltv_bps,
                        r.liquidation_threshold_bps,
                        10_500,
                        r.emode_category,
                    )
                    .from(from),
                "initReserve",
            )
            .await?;
            assets.insert(r.symbol.to_owned(), asset);
            feeds.insert(r.symbol.to_owned(), feed);
        }
        Ok(Self {
            provider,
            from,
            addresses_provider: base.addresses_provider,
            pool,
            oracle: base.oracle,
            ui_pool_data_provider: ui,
            assets,
            feeds,
        })
    }

    fn asset(&self, symbol: &str) -> Result<Address, FixtureError> {
        self.assets
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::UnknownReserve(symbol.to_owned()))
    }

    /// The `params` JSON of a `[[deployments]]` entry for this market.
    pub fn deployment_params(&self, risk_keys: &BTreeMap<String, String>) -> serde_json::Value {
        serde_json::json!({
            "pool_addresses_provider": self.addresses_provider.to_checksum(None),
            "pool": self.pool.to_checksum(None),
            "ui_pool_data_provider": self.ui_pool_data_provider.to_checksum(None),
            "ui_layout": "v3.0",
            "risk_keys": risk_keys,
        })
    }

    /// Sets a user's balances in one reserve (stable debt accrues at `stable_rate` ray/year from
    /// `stable_last_update`).
    #[allow(clippy::too_many_arguments)]
    pub async fn set_user_reserve(
        &self,
        user: Address,
        symbol: &str,
        scaled_supply: U256,
        use_as_collateral: bool,
        scaled_variable_debt: U256,
        principal_stable_debt: U256,
        stable_rate: U256,
        stable_last_update: u64,
    ) -> Result<(), FixtureError> {
        let pool = PoolV30Fixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetUserReserve(
                user,
                self.asset(symbol)?,
                scaled_supply,
                use_as_collateral,
                scaled_variable_debt,
                principal_stable_debt,
                stable_rate,
                alloy::primitives::aliases::U40::from(stable_last_update),
            )
            .from(self.from),
            "setUserReserve",
        )
        .await
    }

    /// Sets a reserve's indexes, rates and last update.
    pub async fn set_indexes(
        &self,
        symbol: &str,
        liquidity_index: u128,
        borrow_index: u128,
        liquidity_rate: u128,
        borrow_rate: u128,
        last_update: u64,
    ) -> Result<(), FixtureError> {
        let pool = PoolV30Fixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetReserveIndexes(
                self.asset(symbol)?,
                liquidity_index,
                borrow_index,
                liquidity_rate,
                borrow_rate,
                alloy::primitives::aliases::U40::from(last_update),
            )
            .from(self.from),
            "setReserveIndexes",
        )
        .await
    }

    /// Configures e-mode category `id`; `price_source` (an asset listed in the oracle, or zero)
    /// overrides member prices.
    pub async fn set_emode_category(
        &self,
        id: u8,
        ltv_bps: u16,
        liquidation_threshold_bps: u16,
        price_source: Address,
        label: &str,
    ) -> Result<(), FixtureError> {
        let pool = PoolV30Fixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetEModeCategory(
                id,
                ltv_bps,
                liquidation_threshold_bps,
                10_100,
                price_source,
                label.to_owned(),
            )
            .from(self.from),
            "setEModeCategory",
        )
        .await
    }

    /// Puts a user in an e-mode category.
    pub async fn set_user_emode(&self, user: Address, id: u8) -> Result<(), FixtureError> {
        let pool = PoolV30Fixture::new(self.pool, self.provider.clone());
        send(
            pool.fixtureSetUserEMode(user, id).from(self.from),
            "setUserEMode",
        )
        .await
    }
}
