//! Deploys the Solidity fixtures of `fixtures/` (Comet's real ABI) on a test chain and seeds
//! accounts. Used by this crate's tests and by anyone who wants a local Comet market.

use std::collections::BTreeMap;

use alloy::primitives::{
    Address, I256, U256,
    aliases::{I104, U40, U104},
};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use unimargin_sdk::testkit::TestChain;

use crate::CometDeployment;

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod contracts {
    pub(crate) mod comet {
        alloy::sol!(
            #[sol(rpc)]
            CometFixture,
            "fixtures/out/CometFixture.json"
        );
    }
    pub(crate) mod token {
        alloy::sol!(
            #[sol(rpc)]
            ERC20Fixture,
            "fixtures/out/ERC20Fixture.json"
        );
    }
    pub(crate) mod feed {
        alloy::sol!(
            #[sol(rpc)]
            ChainlinkAggregatorFixture,
            "fixtures/out/ChainlinkAggregatorFixture.json"
        );
    }
    pub(crate) use comet::CometFixture;
    pub(crate) use feed::ChainlinkAggregatorFixture;
    pub(crate) use token::ERC20Fixture;
}
use contracts::*;

/// Fixture set-up failures.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A deployment or seeding transaction failed.
    #[error("fixture transaction `{what}` failed: {detail}")]
    Tx {
        /// Which step.
        what: String,
        /// Why.
        detail: String,
    },
    /// A symbol that was not listed.
    #[error("{0} is not listed in this fixture market")]
    UnknownAsset(String),
    /// A value out of the range of Comet's storage types.
    #[error("{0} does not fit Comet's storage type")]
    OutOfRange(String),
}

fn tx_err(what: &str) -> impl Fn(alloy::contract::Error) -> FixtureError + '_ {
    move |e| FixtureError::Tx {
        what: what.to_owned(),
        detail: e.to_string(),
    }
}

/// One unit of an 8-decimal price (`PRICE_SCALE`).
pub const E8: i64 = 100_000_000;

/// `bps` basis points as a 1e18-scaled Comet factor (8250 → 0.825e18).
pub const fn factor_bps(bps: u64) -> u64 {
    bps * 100_000_000_000_000
}

/// `amount` whole tokens in base units.
pub fn units(amount: u64, decimals: u8) -> U256 {
    U256::from(amount) * U256::from(10u8).pow(U256::from(decimals))
}

/// A token with an 8-decimal feed.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Ticker.
    pub symbol: &'static str,
    /// Token decimals.
    pub decimals: u8,
    /// Price in Comet's unit with 8 decimals.
    pub price_e8: i64,
}

/// A collateral to list, with Comet's configuration.
#[derive(Debug, Clone)]
pub struct CollateralSpec {
    /// The token and its feed.
    pub token: TokenSpec,
    /// `borrowCollateralFactor`, 1e18-scaled.
    pub borrow_cf: u64,
    /// `liquidateCollateralFactor`, 1e18-scaled.
    pub liquidate_cf: u64,
    /// `liquidationFactor`, 1e18-scaled.
    pub liquidation_factor: u64,
    /// Supply cap in whole tokens.
    pub supply_cap: u64,
}

impl CollateralSpec {
    /// A collateral with factors in basis points.
    pub const fn new(
        symbol: &'static str,
        decimals: u8,
        price_e8: i64,
        borrow_bps: u64,
        liquidate_bps: u64,
    ) -> Self {
        Self {
            token: TokenSpec {
                symbol,
                decimals,
                price_e8,
            },
            borrow_cf: factor_bps(borrow_bps),
            liquidate_cf: factor_bps(liquidate_bps),
            liquidation_factor: factor_bps(9_500),
            supply_cap: 1_000_000_000,
        }
    }
}

/// A market to deploy.
#[derive(Debug, Clone)]
pub struct MarketSpec {
    /// Comet's `name()`.
    pub name: &'static str,
    /// Comet's `symbol()`.
    pub symbol: &'static str,
    /// The base token and its feed (a constant 1e8 for markets that price in the base asset).
    pub base: TokenSpec,
    /// Collaterals in offset order.
    pub collaterals: Vec<CollateralSpec>,
    /// For markets that do not price in USD: the unit and its USD price (8 decimals).
    pub usd_conversion: Option<(&'static str, i64)>,
}

/// A deployed fixture market.
#[derive(Debug, Clone)]
pub struct FixtureMarket {
    provider: DynProvider,
    from: Address,
    /// The Comet fixture.
    pub comet: Address,
    /// The base token.
    pub base_token: Address,
    /// The base token's symbol.
    pub base_symbol: String,
    /// Token address per symbol (base included).
    pub tokens: BTreeMap<String, Address>,
    /// Feed per symbol (base included).
    pub feeds: BTreeMap<String, Address>,
    /// Collateral symbols in offset order.
    pub listing_order: Vec<String>,
    /// Unit of the market's prices.
    pub price_unit: String,
    /// The `<unit>/USD` feed, for markets that do not price in USD.
    pub usd_feed: Option<Address>,
}

impl FixtureMarket {
    /// Deploys tokens, feeds and a Comet from the chain's first dev account, and lists the
    /// collaterals in order (offset = index).
    pub async fn deploy(chain: &TestChain, spec: &MarketSpec) -> Result<Self, FixtureError> {
        // Transactions need nonce and gas filled; the reading provider deliberately has no fillers.
        // The nonce is asked from the node for every transaction (not cached), so several
        // fixture markets can be seeded from the same dev account in any order.
        let url = chain.url().parse().map_err(|e| FixtureError::Tx {
            what: "url".into(),
            detail: format!("{e}"),
        })?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .connect_http(url)
            .erased();
        let from = chain.accounts()[0];
        let (base_token, base_feed) = deploy_token(&provider, from, &spec.base).await?;
        let comet = CometFixture::deploy_builder(
            provider.clone(),
            base_token,
            base_feed,
            spec.name.to_owned(),
            spec.symbol.to_owned(),
        )
        .from(from)
        .deploy()
        .await
        .map_err(tx_err("deploy CometFixture"))?;
        let (price_unit, usd_feed) = match spec.usd_conversion {
            None => (crate::USD.to_owned(), None),
            Some((unit, price_e8)) => {
                let feed = deploy_feed(&provider, from, &format!("{unit} / USD"), price_e8).await?;
                (unit.to_owned(), Some(feed))
            }
        };
        let mut market = Self {
            provider,
            from,
            comet,
            base_token,
            base_symbol: spec.base.symbol.to_owned(),
            tokens: BTreeMap::from([(spec.base.symbol.to_owned(), base_token)]),
            feeds: BTreeMap::from([(spec.base.symbol.to_owned(), base_feed)]),
            listing_order: Vec::new(),
            price_unit,
            usd_feed,
        };
        for c in &spec.collaterals {
            market.list(c).await?;
        }
        Ok(market)
    }

    /// Lists one more collateral at the next offset (what a governance upgrade does).
    pub async fn list(&mut self, c: &CollateralSpec) -> Result<(), FixtureError> {
        let (token, feed) = deploy_token(&self.provider, self.from, &c.token).await?;
        let cap = u128::from(c.supply_cap)
            .checked_mul(10u128.pow(u32::from(c.token.decimals)))
            .ok_or_else(|| FixtureError::OutOfRange(format!("supply cap of {}", c.token.symbol)))?;
        send(
            self.comet()
                .fixtureAddAsset(
                    token,
                    feed,
                    c.borrow_cf,
                    c.liquidate_cf,
                    c.liquidation_factor,
                    cap,
                )
                .from(self.from),
            "fixtureAddAsset",
        )
        .await?;
        self.tokens.insert(c.token.symbol.to_owned(), token);
        self.feeds.insert(c.token.symbol.to_owned(), feed);
        self.listing_order.push(c.token.symbol.to_owned());
        Ok(())
    }

    fn comet(&self) -> CometFixture::CometFixtureInstance<DynProvider> {
        CometFixture::new(self.comet, self.provider.clone())
    }

    /// Token address of a symbol.
    pub fn token(&self, symbol: &str) -> Result<Address, FixtureError> {
        self.tokens
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::UnknownAsset(symbol.to_owned()))
    }

    /// Offset of a collateral.
    pub fn offset(&self, symbol: &str) -> Result<u8, FixtureError> {
        self.listing_order
            .iter()
            .position(|s| s == symbol)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or_else(|| FixtureError::UnknownAsset(symbol.to_owned()))
    }

    /// The adapter configuration of this market.
    pub fn deployment(&self, risk_keys: BTreeMap<String, String>) -> CometDeployment {
        CometDeployment {
            comet: self.comet,
            price_unit: self.price_unit.clone(),
            usd_feed: self.usd_feed,
            risk_keys,
        }
    }

    /// The same as the `params` JSON of a `[[deployments]]` entry.
    pub fn deployment_params(&self, risk_keys: &BTreeMap<String, String>) -> serde_json::Value {
        let mut params = serde_json::json!({
            "comet": self.comet.to_checksum(None),
            "risk_keys": risk_keys,
        });
        if let Some(feed) = self.usd_feed {
            params["price_unit"] = serde_json::json!(self.price_unit);
            params["usd_feed"] = serde_json::json!(feed.to_checksum(None));
        }
        params
    }

    /// Sets an account's signed base principal (negative: borrowed), in base units at the
    /// stored index.
    pub async fn set_principal(
        &self,
        account: Address,
        principal: i128,
    ) -> Result<(), FixtureError> {
        let p = I104::try_from(principal)
            .map_err(|_| FixtureError::OutOfRange(format!("principal {principal}")))?;
        send(
            self.comet().fixtureSetPrincipal(account, p).from(self.from),
            "fixtureSetPrincipal",
        )
        .await
    }

    /// Sets an account's collateral balance, in the token's base units.
    pub async fn set_collateral(
        &self,
        account: Address,
        symbol: &str,
        balance: U256,
    ) -> Result<(), FixtureError> {
        let b = u128::try_from(balance)
            .map_err(|_| FixtureError::OutOfRange(format!("balance {balance}")))?;
        send(
            self.comet()
                .fixtureSetCollateral(account, self.token(symbol)?, b)
                .from(self.from),
            "fixtureSetCollateral",
        )
        .await
    }

    /// Sets the indices (1e15-scaled), total principals and last accrual time.
    pub async fn set_totals(
        &self,
        supply_index: u64,
        borrow_index: u64,
        total_supply_base: u128,
        total_borrow_base: u128,
        last_accrual_time: u64,
    ) -> Result<(), FixtureError> {
        let big =
            |v: u128| U104::try_from(v).map_err(|_| FixtureError::OutOfRange(format!("total {v}")));
        let t = U40::try_from(last_accrual_time)
            .map_err(|_| FixtureError::OutOfRange(format!("time {last_accrual_time}")))?;
        send(
            self.comet()
                .fixtureSetTotals(
                    supply_index,
                    borrow_index,
                    big(total_supply_base)?,
                    big(total_borrow_base)?,
                    t,
                )
                .from(self.from),
            "fixtureSetTotals",
        )
        .await
    }

    /// Sets the rate model from per-year values (1e18-scaled), which Comet divides into
    /// per-second rates: `[kink, slope_low, slope_high, base]` for supply, then for borrow.
    pub async fn set_rate_model(
        &self,
        supply: [u64; 4],
        borrow: [u64; 4],
    ) -> Result<(), FixtureError> {
        send(
            self.comet()
                .fixtureSetRateModel(
                    supply[0], supply[1], supply[2], supply[3], borrow[0], borrow[1], borrow[2],
                    borrow[3],
                )
                .from(self.from),
            "fixtureSetRateModel",
        )
        .await
    }

    /// Publishes a new answer (8 decimals) of a symbol's feed (the base's included).
    pub async fn set_price(
        &self,
        symbol: &str,
        price_e8: i64,
        updated_at: u64,
    ) -> Result<(), FixtureError> {
        let feed = self
            .feeds
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::UnknownAsset(symbol.to_owned()))?;
        set_feed_answer(&self.provider, self.from, feed, price_e8, updated_at).await
    }

    /// Publishes a new answer of the `<unit>/USD` conversion feed.
    pub async fn set_usd_conversion(
        &self,
        price_e8: i64,
        updated_at: u64,
    ) -> Result<(), FixtureError> {
        let feed = self
            .usd_feed
            .ok_or_else(|| FixtureError::UnknownAsset("usd conversion feed".into()))?;
        set_feed_answer(&self.provider, self.from, feed, price_e8, updated_at).await
    }

    /// Changes a collateral's factors (1e18-scaled), as a governance upgrade does.
    pub async fn set_factors(
        &self,
        symbol: &str,
        borrow_cf: u64,
        liquidate_cf: u64,
        liquidation_factor: u64,
    ) -> Result<(), FixtureError> {
        send(
            self.comet()
                .fixtureSetAssetFactors(
                    self.offset(symbol)?,
                    borrow_cf,
                    liquidate_cf,
                    liquidation_factor,
                )
                .from(self.from),
            "fixtureSetAssetFactors",
        )
        .await
    }

    /// Moves a collateral to a freshly deployed feed answering `price_e8`, as a governance
    /// upgrade does; returns the new feed.
    pub async fn replace_feed(
        &mut self,
        symbol: &str,
        price_e8: i64,
    ) -> Result<Address, FixtureError> {
        let offset = self.offset(symbol)?;
        let feed = deploy_feed(
            &self.provider,
            self.from,
            &format!("{symbol} (new)"),
            price_e8,
        )
        .await?;
        send(
            self.comet()
                .fixtureSetAssetPriceFeed(offset, feed)
                .from(self.from),
            "fixtureSetAssetPriceFeed",
        )
        .await?;
        self.feeds.insert(symbol.to_owned(), feed);
        Ok(feed)
    }

    /// Makes Comet's two health views answer the opposite of its formula (or stop doing so).
    pub async fn skew_health_views(&self, skew: bool) -> Result<(), FixtureError> {
        send(
            self.comet().fixtureSkewHealthViews(skew).from(self.from),
            "fixtureSkewHealthViews",
        )
        .await
    }

    /// `accrueAccount`: writes the indices accrued to the block time.
    pub async fn accrue(&self) -> Result<(), FixtureError> {
        send(
            self.comet().accrueAccount(self.from).from(self.from),
            "accrueAccount",
        )
        .await
    }
}

async fn deploy_feed(
    provider: &DynProvider,
    from: Address,
    description: &str,
    price_e8: i64,
) -> Result<Address, FixtureError> {
    ChainlinkAggregatorFixture::deploy_builder(
        provider.clone(),
        8,
        description.to_owned(),
        I256::try_from(price_e8).unwrap_or_default(),
    )
    .from(from)
    .deploy()
    .await
    .map_err(tx_err("deploy feed"))
}

async fn deploy_token(
    provider: &DynProvider,
    from: Address,
    t: &TokenSpec,
) -> Result<(Address, Address), FixtureError> {
    let token = ERC20Fixture::deploy_builder(
        provider.clone(),
        format!("Fixture {}", t.symbol),
        t.symbol.to_owned(),
        t.decimals,
    )
    .from(from)
    .deploy()
    .await
    .map_err(tx_err("deploy token"))?;
    let feed = deploy_feed(
        provider,
        from,
        &format!("{} / price unit", t.symbol),
        t.price_e8,
    )
    .await?;
    Ok((token, feed))
}

async fn set_feed_answer(
    provider: &DynProvider,
    from: Address,
    feed: Address,
    price_e8: i64,
    updated_at: u64,
) -> Result<(), FixtureError> {
    let feed = ChainlinkAggregatorFixture::new(feed, provider.clone());
    send(
        feed.fixtureSetAnswer(
            I256::try_from(price_e8).unwrap_or_default(),
            U256::from(updated_at),
        )
        .from(from),
        "fixtureSetAnswer",
    )
    .await
}

async fn send<P, D>(
    call: alloy::contract::CallBuilder<P, D>,
    what: &str,
) -> Result<(), FixtureError>
where
    P: Provider,
    D: alloy::contract::CallDecoder,
{
    let receipt = call
        .send()
        .await
        .map_err(tx_err(what))?
        .get_receipt()
        .await
        .map_err(|e| FixtureError::Tx {
            what: what.to_owned(),
            detail: e.to_string(),
        })?;
    if receipt.status() {
        Ok(())
    } else {
        Err(FixtureError::Tx {
            what: what.to_owned(),
            detail: "reverted".into(),
        })
    }
}

/// A USDC market like Ethereum's cUSDCv3: a 6-decimal base at 0.9999 USD, and WETH (18
/// decimals), WBTC (8) and COMP (18) as collaterals with realistic factors.
pub fn demo_usdc_market() -> MarketSpec {
    MarketSpec {
        name: "Compound USDC",
        symbol: "cUSDCv3",
        base: TokenSpec {
            symbol: "USDC",
            decimals: 6,
            price_e8: 99_990_000,
        },
        collaterals: vec![
            CollateralSpec::new("WETH", 18, 3_000 * E8, 8_300, 9_000),
            CollateralSpec::new("WBTC", 8, 60_000 * E8, 7_000, 7_700),
            CollateralSpec::new("COMP", 18, 50 * E8, 6_500, 7_000),
        ],
        usd_conversion: None,
    }
}

/// A WETH market like Ethereum's cWETHv3: prices in ETH (the base feed is a constant 1), with
/// wstETH (18 decimals) and cbBTC (8) as collaterals, converted to USD at 3,000 USD per ETH.
pub fn demo_weth_market() -> MarketSpec {
    MarketSpec {
        name: "Compound WETH",
        symbol: "cWETHv3",
        base: TokenSpec {
            symbol: "WETH",
            decimals: 18,
            price_e8: E8,
        },
        collaterals: vec![
            CollateralSpec::new("wstETH", 18, 118 * E8 / 100, 9_000, 9_300),
            CollateralSpec::new("cbBTC", 8, 20 * E8, 8_000, 8_500),
        ],
        usd_conversion: Some(("ETH", 3_000 * E8)),
    }
}

/// Risk groups of the demo tokens.
pub fn demo_risk_keys() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("USDC".to_owned(), "USD".to_owned()),
        ("WETH".to_owned(), "ETH".to_owned()),
        ("wstETH".to_owned(), "ETH".to_owned()),
        ("WBTC".to_owned(), "BTC".to_owned()),
        ("cbBTC".to_owned(), "BTC".to_owned()),
    ])
}

/// Seeds a borrower on the demo USDC market: 10 WETH and 0.5 WBTC as collateral, 20,000 USDC
/// borrowed (principal at the stored index).
pub async fn seed_demo_borrower(
    market: &FixtureMarket,
    owner: Address,
) -> Result<(), FixtureError> {
    market.set_collateral(owner, "WETH", units(10, 18)).await?;
    market
        .set_collateral(owner, "WBTC", units(1, 8) / U256::from(2u8))
        .await?;
    market.set_principal(owner, -20_000_000_000).await
}
