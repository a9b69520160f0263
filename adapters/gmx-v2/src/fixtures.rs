//! Deploys the Solidity fixtures of `fixtures/` (GMX v2's Reader and DataStore ABIs, Chainlink
//! feeds, token metadata) on a test chain and seeds markets, prices and positions. Used by this
//! crate's tests and available to demos.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, I256, U256, keccak256},
    providers::{DynProvider, Provider},
};
use unimargin_sdk::testkit::{self, TestChain, TestkitError};

use crate::math::pow10;

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod contracts {
    pub(crate) mod data_store {
        alloy::sol!(
            #[sol(rpc)]
            DataStoreFixture,
            "fixtures/out/DataStoreFixture.json"
        );
    }
    pub(crate) mod reader {
        alloy::sol!(
            #[sol(rpc)]
            ReaderFixture,
            "fixtures/out/ReaderFixture.json"
        );
    }
    pub(crate) mod token {
        alloy::sol!(
            #[sol(rpc)]
            TokenFixture,
            "fixtures/out/TokenFixture.json"
        );
    }
    pub(crate) mod feed {
        alloy::sol!(
            #[sol(rpc)]
            ChainlinkAggregatorFixture,
            "fixtures/out/ChainlinkAggregatorFixture.json"
        );
    }
    pub(crate) use data_store::DataStoreFixture;
    pub(crate) use feed::ChainlinkAggregatorFixture;
    pub(crate) use reader::ReaderFixture;
    pub(crate) use token::TokenFixture;
}
use contracts::*;

/// Fixture set-up failures.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A deployment or seeding transaction failed.
    #[error(transparent)]
    Testkit(#[from] TestkitError),
    /// A token or market that was not added.
    #[error("{0} is not part of this fixture deployment")]
    Unknown(String),
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

fn tx_err(what: &str) -> impl Fn(alloy::contract::Error) -> FixtureError + '_ {
    move |e| FixtureError::Testkit(testkit::deploy_error(what)(e))
}

/// One USD in a feed answer (8 decimals).
pub const E8: i64 = 100_000_000;

/// Decimals of every fixture feed (Chainlink's USD feeds).
pub const FEED_DECIMALS: u8 = 8;
/// Heartbeat of every fixture feed unless changed (seconds).
pub const HEARTBEAT_SECS: u64 = 86_400;

/// A token to list.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Ticker.
    pub symbol: &'static str,
    /// Decimals.
    pub decimals: u8,
    /// Feed answer: USD with 8 decimals.
    pub price_e8: i64,
    /// A synthetic index token: an address without code (GMX's BTC, DOGE, ... index tokens).
    pub synthetic: bool,
    /// `STABLE_PRICE` in USD with 8 decimals (0 = none).
    pub stable_price_e8: i64,
}

/// A listed token.
#[derive(Debug, Clone, Copy)]
pub struct FixtureToken {
    /// Token address.
    pub address: Address,
    /// Its reference feed.
    pub feed: Address,
    /// Decimals.
    pub decimals: u8,
}

/// A listed market.
#[derive(Debug, Clone, Copy)]
pub struct FixtureMarket {
    /// Market (GM) token: the market's address.
    pub market: Address,
    /// Index token.
    pub index: Address,
    /// Long token.
    pub long: Address,
    /// Short token.
    pub short: Address,
}

/// `whole` USD with 30 decimals.
pub fn usd(whole: u64) -> U256 {
    U256::from(whole) * pow10(30)
}

/// A factor in basis points as a 30-decimal fraction (100 bps = 1e28).
pub fn bps(v: u64) -> U256 {
    U256::from(v) * pow10(26)
}

/// `amount` whole units in base units.
pub fn units(amount: u64, decimals: u8) -> U256 {
    U256::from(amount) * pow10(u32::from(decimals))
}

/// A deterministic address per label (markets and synthetic tokens need addresses, not code).
pub fn label_address(label: &str) -> Address {
    Address::from_slice(&keccak256(format!("unimargin-gmx-fixture:{label}"))[12..])
}

/// A deployed DataStore and Reader with tokens and markets.
#[derive(Debug, Clone)]
pub struct FixtureGmx {
    provider: DynProvider,
    from: Address,
    /// `DataStoreFixture`.
    pub data_store: Address,
    /// `ReaderFixture`.
    pub reader: Address,
    /// The address passed as ReferralStorage (the fixture Reader gives no referral discounts).
    pub referral_storage: Address,
    /// Tokens by symbol.
    pub tokens: BTreeMap<String, FixtureToken>,
    /// Markets by name.
    pub markets: BTreeMap<String, FixtureMarket>,
}

impl FixtureGmx {
    /// Deploys a DataStore and a Reader from the chain's first dev account, with
    /// `MIN_COLLATERAL_USD` = 1 USD.
    pub async fn deploy(chain: &TestChain) -> Result<Self, FixtureError> {
        let (provider, from) = chain.deployer()?;
        let data_store = DataStoreFixture::deploy_builder(provider.clone())
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy DataStore"))?;
        let reader = ReaderFixture::deploy_builder(provider.clone())
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy Reader"))?;
        let gmx = Self {
            provider,
            from,
            data_store,
            reader,
            referral_storage: label_address("ReferralStorage"),
            tokens: BTreeMap::new(),
            markets: BTreeMap::new(),
        };
        gmx.set_min_collateral_usd(usd(1)).await?;
        Ok(gmx)
    }

    fn ds(&self) -> DataStoreFixture::DataStoreFixtureInstance<DynProvider> {
        DataStoreFixture::new(self.data_store, self.provider.clone())
    }

    /// A token by symbol.
    pub fn token(&self, symbol: &str) -> Result<FixtureToken, FixtureError> {
        self.tokens
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::Unknown(format!("token {symbol}")))
    }

    /// A market by name.
    pub fn market(&self, name: &str) -> Result<FixtureMarket, FixtureError> {
        self.markets
            .get(name)
            .copied()
            .ok_or_else(|| FixtureError::Unknown(format!("market {name}")))
    }

    /// Lists a token: its metadata contract (none for a synthetic token), an 8-decimal USD feed
    /// and GMX's feed configuration (multiplier `10^(60 − 8 − decimals)`, 24 h heartbeat).
    pub async fn add_token(&mut self, spec: &TokenSpec) -> Result<FixtureToken, FixtureError> {
        let address = if spec.synthetic {
            label_address(&format!("synthetic:{}", spec.symbol))
        } else {
            TokenFixture::deploy_builder(
                self.provider.clone(),
                spec.symbol.to_owned(),
                spec.decimals,
            )
            .from(self.from)
            .deploy()
            .await
            .map_err(tx_err("deploy token"))?
        };
        let feed = ChainlinkAggregatorFixture::deploy_builder(
            self.provider.clone(),
            FEED_DECIMALS,
            format!("{} / USD", spec.symbol),
            I256::try_from(spec.price_e8).unwrap_or_default(),
        )
        .from(self.from)
        .deploy()
        .await
        .map_err(tx_err("deploy feed"))?;
        let multiplier = pow10(60 - u32::from(FEED_DECIMALS) - u32::from(spec.decimals));
        // STABLE_PRICE is per base unit with 30 decimals: e8 × 10^22 / 10^decimals.
        let stable = U256::from(spec.stable_price_e8.max(0) as u64) * pow10(22)
            / pow10(u32::from(spec.decimals));
        send(
            self.ds()
                .fixtureSetPriceFeed(
                    address,
                    feed,
                    multiplier,
                    U256::from(HEARTBEAT_SECS),
                    stable,
                )
                .from(self.from),
            "setPriceFeed",
        )
        .await?;
        let token = FixtureToken {
            address,
            feed,
            decimals: spec.decimals,
        };
        self.tokens.insert(spec.symbol.to_owned(), token);
        Ok(token)
    }

    /// Lists a market `name` (e.g. `ETH/USD`) over three listed tokens, with defaults: opening
    /// collateral factor 1 % (100× leverage), liquidation factor 0.5 %, position fee 0.05 % /
    /// 0.07 %, 20 % max trader PnL, no price impact.
    pub async fn add_market(
        &mut self,
        name: &str,
        index: &str,
        long: &str,
        short: &str,
    ) -> Result<FixtureMarket, FixtureError> {
        let m = FixtureMarket {
            market: label_address(&format!("market:{name}")),
            index: self.token(index)?.address,
            long: self.token(long)?.address,
            short: self.token(short)?.address,
        };
        send(
            self.ds()
                .fixtureAddMarket(m.market, m.index, m.long, m.short)
                .from(self.from),
            "addMarket",
        )
        .await?;
        self.markets.insert(name.to_owned(), m);
        self.set_collateral_factors(name, bps(100), bps(50), U256::ZERO, U256::ZERO)
            .await?;
        self.set_position_fee_factors(name, bps(5), bps(7)).await?;
        self.set_max_pnl_factor(name, true, bps(2_000)).await?;
        self.set_max_pnl_factor(name, false, bps(2_000)).await?;
        Ok(m)
    }

    /// `MIN_COLLATERAL_USD`.
    pub async fn set_min_collateral_usd(&self, v: U256) -> Result<(), FixtureError> {
        send(
            self.ds().fixtureSetMinCollateralUsd(v).from(self.from),
            "setMinCollateralUsd",
        )
        .await
    }

    /// Collateral factors of a market (30-decimal fractions; see [`bps`]).
    pub async fn set_collateral_factors(
        &self,
        market: &str,
        min_collateral_factor: U256,
        for_liquidation: U256,
        open_interest_multiplier_long: U256,
        open_interest_multiplier_short: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        send(
            self.ds()
                .fixtureSetCollateralFactors(
                    m,
                    min_collateral_factor,
                    for_liquidation,
                    open_interest_multiplier_long,
                    open_interest_multiplier_short,
                )
                .from(self.from),
            "setCollateralFactors",
        )
        .await
    }

    /// Position fee factors (balance improved / worsened).
    pub async fn set_position_fee_factors(
        &self,
        market: &str,
        improved: U256,
        worsened: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        send(
            self.ds()
                .fixtureSetPositionFeeFactors(m, improved, worsened)
                .from(self.from),
            "setPositionFeeFactors",
        )
        .await
    }

    /// Price impact parameters (exponent 1e30 or 2e30).
    #[allow(clippy::too_many_arguments)]
    pub async fn set_impact_factors(
        &self,
        market: &str,
        positive: U256,
        negative: U256,
        exponent: U256,
        max_positive: U256,
        max_negative: U256,
        max_for_liquidations: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        send(
            self.ds()
                .fixtureSetImpactFactors(
                    m,
                    positive,
                    negative,
                    exponent,
                    max_positive,
                    max_negative,
                    max_for_liquidations,
                )
                .from(self.from),
            "setImpactFactors",
        )
        .await
    }

    /// Open interest of a side held with one collateral token (USD 30 decimals, index base units).
    pub async fn set_open_interest(
        &self,
        market: &str,
        collateral: &str,
        is_long: bool,
        usd_value: U256,
        tokens: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        let c = self.token(collateral)?.address;
        send(
            self.ds()
                .fixtureSetOpenInterest(m, c, is_long, usd_value, tokens)
                .from(self.from),
            "setOpenInterest",
        )
        .await
    }

    /// Pool amount of one of the market's tokens (base units).
    pub async fn set_pool_amount(
        &self,
        market: &str,
        token: &str,
        amount: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        let t = self.token(token)?.address;
        send(
            self.ds().fixtureSetPoolAmount(m, t, amount).from(self.from),
            "setPoolAmount",
        )
        .await
    }

    /// `MAX_PNL_FACTOR_FOR_TRADERS` of a side.
    pub async fn set_max_pnl_factor(
        &self,
        market: &str,
        is_long: bool,
        factor: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        send(
            self.ds()
                .fixtureSetMaxPnlFactorForTraders(m, is_long, factor)
                .from(self.from),
            "setMaxPnlFactor",
        )
        .await
    }

    /// Borrowing state of a side: cumulative factor, its update time, `BORROWING_FACTOR` and
    /// exponent (1e30 or 2e30).
    pub async fn set_borrowing(
        &self,
        market: &str,
        is_long: bool,
        cumulative: U256,
        updated_at: u64,
        factor: U256,
        exponent: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        send(
            self.ds()
                .fixtureSetBorrowing(
                    m,
                    is_long,
                    cumulative,
                    U256::from(updated_at),
                    factor,
                    exponent,
                )
                .from(self.from),
            "setBorrowing",
        )
        .await
    }

    /// Funding of (market, collateral, side): stored amount per size and accrual per second.
    pub async fn set_funding(
        &self,
        market: &str,
        collateral: &str,
        is_long: bool,
        per_size: U256,
        rate_per_second: U256,
    ) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        let c = self.token(collateral)?.address;
        send(
            self.ds()
                .fixtureSetFunding(m, c, is_long, per_size, rate_per_second)
                .from(self.from),
            "setFunding",
        )
        .await
    }

    /// `FUNDING_UPDATED_AT` of a market.
    pub async fn set_funding_updated_at(&self, market: &str, at: u64) -> Result<(), FixtureError> {
        let m = self.market(market)?.market;
        send(
            self.ds()
                .fixtureSetFundingUpdatedAt(m, U256::from(at))
                .from(self.from),
            "setFundingUpdatedAt",
        )
        .await
    }

    /// The mismatch switch: USD (30 decimals) added to the remaining collateral the Reader reports.
    pub async fn set_liquidation_skew(&self, usd_value: I256) -> Result<(), FixtureError> {
        send(
            self.ds()
                .fixtureSetLiquidationSkew(usd_value)
                .from(self.from),
            "setLiquidationSkew",
        )
        .await
    }

    /// Publishes a new feed answer (8 decimals) updated at `updated_at`.
    pub async fn set_price(
        &self,
        symbol: &str,
        price_e8: i64,
        updated_at: u64,
    ) -> Result<(), FixtureError> {
        let feed = ChainlinkAggregatorFixture::new(self.token(symbol)?.feed, self.provider.clone());
        send(
            feed.fixtureSetAnswer(
                I256::try_from(price_e8).unwrap_or_default(),
                U256::from(updated_at),
            )
            .from(self.from),
            "setAnswer",
        )
        .await
    }

    /// Points a token at a new feed (same decimals) answering `price_e8`: a governance change of
    /// the layout.
    pub async fn replace_feed(
        &mut self,
        symbol: &str,
        price_e8: i64,
    ) -> Result<Address, FixtureError> {
        let token = self.token(symbol)?;
        let feed = ChainlinkAggregatorFixture::deploy_builder(
            self.provider.clone(),
            FEED_DECIMALS,
            format!("{symbol} / USD v2"),
            I256::try_from(price_e8).unwrap_or_default(),
        )
        .from(self.from)
        .deploy()
        .await
        .map_err(tx_err("deploy feed"))?;
        let multiplier = pow10(60 - u32::from(FEED_DECIMALS) - u32::from(token.decimals));
        send(
            self.ds()
                .fixtureSetPriceFeed(
                    token.address,
                    feed,
                    multiplier,
                    U256::from(HEARTBEAT_SECS),
                    U256::ZERO,
                )
                .from(self.from),
            "setPriceFeed",
        )
        .await?;
        self.tokens
            .insert(symbol.to_owned(), FixtureToken { feed, ..token });
        Ok(feed)
    }

    /// Opens (or overwrites) a position; returns its key.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_position(
        &self,
        account: Address,
        market: &str,
        collateral: &str,
        is_long: bool,
        size_in_usd: U256,
        size_in_tokens: U256,
        collateral_amount: U256,
    ) -> Result<B256, FixtureError> {
        let m = self.market(market)?.market;
        let c = self.token(collateral)?.address;
        send(
            self.ds()
                .fixtureSetPosition(
                    account,
                    m,
                    c,
                    is_long,
                    size_in_usd,
                    size_in_tokens,
                    collateral_amount,
                )
                .from(self.from),
            "setPosition",
        )
        .await?;
        Ok(crate::keys::position_key(account, m, c, is_long))
    }

    /// Sets a position's pending impact and the cumulative values it last settled at.
    pub async fn set_position_state(
        &self,
        key: B256,
        pending_impact_amount: I256,
        borrowing_factor: U256,
        funding_fee_amount_per_size: U256,
    ) -> Result<(), FixtureError> {
        send(
            self.ds()
                .fixtureSetPositionState(
                    key,
                    pending_impact_amount,
                    borrowing_factor,
                    funding_fee_amount_per_size,
                )
                .from(self.from),
            "setPositionState",
        )
        .await
    }

    /// Closes a position.
    pub async fn remove_position(&self, key: B256) -> Result<(), FixtureError> {
        send(
            self.ds().fixtureRemovePosition(key).from(self.from),
            "removePosition",
        )
        .await
    }

    /// The `params` JSON of a `[[deployments]]` entry for this deployment.
    pub fn deployment_params(
        &self,
        token_symbols: &BTreeMap<String, String>,
        risk_keys: &BTreeMap<String, String>,
    ) -> serde_json::Value {
        serde_json::json!({
            "reader": self.reader.to_checksum(None),
            "reader_abi": "2025-11",
            "data_store": self.data_store.to_checksum(None),
            "referral_storage": self.referral_storage.to_checksum(None),
            "token_symbols": token_symbols,
            "risk_keys": risk_keys,
        })
    }

    /// Symbols of the synthetic tokens, keyed by address, for `token_symbols`.
    pub fn synthetic_symbols(&self, specs: &[TokenSpec]) -> BTreeMap<String, String> {
        specs
            .iter()
            .filter(|s| s.synthetic)
            .filter_map(|s| {
                self.tokens
                    .get(s.symbol)
                    .map(|t| (t.address.to_checksum(None), s.symbol.to_owned()))
            })
            .collect()
    }
}

/// The demo tokens: WETH (18), WBTC (8), USDC (6, stable price 1), a synthetic BTC index (8).
pub fn demo_tokens() -> Vec<TokenSpec> {
    vec![
        TokenSpec {
            symbol: "WETH",
            decimals: 18,
            price_e8: 3_000 * E8,
            synthetic: false,
            stable_price_e8: 0,
        },
        TokenSpec {
            symbol: "WBTC",
            decimals: 8,
            price_e8: 60_000 * E8,
            synthetic: false,
            stable_price_e8: 0,
        },
        TokenSpec {
            symbol: "USDC",
            decimals: 6,
            price_e8: E8,
            synthetic: false,
            stable_price_e8: 0,
        },
        TokenSpec {
            symbol: "BTC",
            decimals: 8,
            price_e8: 60_000 * E8,
            synthetic: true,
            stable_price_e8: 0,
        },
    ]
}

/// Risk groups of the demo tokens.
pub fn demo_risk_keys() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("WETH".to_owned(), "ETH".to_owned()),
        ("WBTC".to_owned(), "BTC".to_owned()),
        ("BTC".to_owned(), "BTC".to_owned()),
        ("USDC".to_owned(), "USD".to_owned()),
    ])
}

/// Deploys the demo: the tokens of [`demo_tokens`], `ETH/USD [WETH-USDC]` and
/// `BTC/USD [WBTC-USDC]` (synthetic BTC index), with pools of 1,000 WETH / 3,000,000 USDC and
/// 50 WBTC / 3,000,000 USDC.
pub async fn deploy_demo(chain: &TestChain) -> Result<FixtureGmx, FixtureError> {
    let mut gmx = FixtureGmx::deploy(chain).await?;
    for t in demo_tokens() {
        gmx.add_token(&t).await?;
    }
    gmx.add_market("ETH/USD", "WETH", "WETH", "USDC").await?;
    gmx.add_market("BTC/USD", "BTC", "WBTC", "USDC").await?;
    gmx.set_pool_amount("ETH/USD", "WETH", units(1_000, 18))
        .await?;
    gmx.set_pool_amount("ETH/USD", "USDC", units(3_000_000, 6))
        .await?;
    gmx.set_pool_amount("BTC/USD", "WBTC", units(50, 8)).await?;
    gmx.set_pool_amount("BTC/USD", "USDC", units(3_000_000, 6))
        .await?;
    Ok(gmx)
}
