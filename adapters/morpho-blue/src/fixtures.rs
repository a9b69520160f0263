//! Deploys the Solidity fixtures of `fixtures/` (Morpho Blue v1.0.0 ABIs) on a test chain and
//! seeds markets and accounts, for this crate's tests and demos.
//!
//! Everything is deployed from the chain's first dev account through a provider with nonce and
//! gas fillers; dev accounts act for themselves in the real flows (`supply`, `borrow`, …).

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, I256, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use unimargin_sdk::testkit::TestChain;

use crate::{Discovery, MorphoDeployment, bindings::morpho::IMorpho, fetch::market_id};

// One module per artifact: each declares its own copy of Morpho's structs.
#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod contracts {
    pub(crate) mod morpho {
        alloy::sol!(
            #[sol(rpc)]
            MorphoFixture,
            "fixtures/out/MorphoFixture.json"
        );
    }
    pub(crate) mod irm {
        alloy::sol!(
            #[sol(rpc)]
            IrmFixture,
            "fixtures/out/IrmFixture.json"
        );
    }
    pub(crate) mod oracle {
        alloy::sol!(
            #[sol(rpc)]
            OracleFixture,
            "fixtures/out/OracleFixture.json"
        );
    }
    pub(crate) mod feed {
        alloy::sol!(
            #[sol(rpc)]
            UsdFeedFixture,
            "fixtures/out/UsdFeedFixture.json"
        );
    }
    pub(crate) mod token {
        alloy::sol!(
            #[sol(rpc)]
            TokenFixture,
            "fixtures/out/TokenFixture.json"
        );
    }
    pub(crate) use feed::UsdFeedFixture;
    pub(crate) use irm::IrmFixture;
    pub(crate) use morpho::MorphoFixture;
    pub(crate) use oracle::OracleFixture;
    pub(crate) use token::TokenFixture;
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
    /// A token or market label that was not deployed.
    #[error("`{0}` is not deployed in this fixture")]
    Unknown(String),
}

fn tx_err(what: &str) -> impl Fn(alloy::contract::Error) -> FixtureError + '_ {
    move |e| FixtureError::Tx {
        what: what.to_owned(),
        detail: e.to_string(),
    }
}

/// A token to deploy.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Ticker.
    pub symbol: &'static str,
    /// Decimals.
    pub decimals: u8,
    /// USD price with 8 decimals for a USD feed (loan tokens need one), `None` for no feed.
    pub usd_e8: Option<i64>,
}

/// A market to create.
#[derive(Debug, Clone)]
pub struct MarketSpec {
    /// Label used by the tests (`"WBTC/USDC"`).
    pub label: &'static str,
    /// Loan token symbol.
    pub loan: &'static str,
    /// Collateral token symbol.
    pub collateral: &'static str,
    /// LLTV (WAD).
    pub lltv: U256,
    /// Initial oracle price (1e36 × loan units per collateral unit).
    pub price: U256,
}

/// A created market.
#[derive(Debug, Clone)]
pub struct FixtureMarketInfo {
    /// Market id.
    pub id: B256,
    /// Its params.
    pub params: IMorpho::MarketParams,
}

/// A deployed Morpho fixture with its tokens, feeds, IRM and markets.
#[derive(Debug, Clone)]
pub struct FixtureMorpho {
    provider: DynProvider,
    from: Address,
    /// The Morpho singleton.
    pub morpho: Address,
    /// The interest rate model of every market.
    pub irm: Address,
    /// Token address per symbol.
    pub tokens: BTreeMap<String, Address>,
    /// USD feed per symbol (tokens deployed with a USD price).
    pub usd_feeds: BTreeMap<String, Address>,
    /// Markets per label.
    pub markets: BTreeMap<String, FixtureMarketInfo>,
}

fn fixture_params(p: &IMorpho::MarketParams) -> MorphoFixture::MarketParams {
    MorphoFixture::MarketParams {
        loanToken: p.loanToken,
        collateralToken: p.collateralToken,
        oracle: p.oracle,
        irm: p.irm,
        lltv: p.lltv,
    }
}

/// `amount × 10^decimals` as U256.
pub fn units(amount: u64, decimals: u8) -> U256 {
    U256::from(amount) * U256::from(10u8).pow(U256::from(decimals))
}

impl FixtureMorpho {
    /// Deploys Morpho (owned by the first dev account), the linear IRM (`base_rate` and `slope`
    /// per second, WAD) and the tokens with their USD feeds.
    pub async fn deploy(
        chain: &TestChain,
        tokens: &[TokenSpec],
        base_rate: U256,
        slope: U256,
    ) -> Result<Self, FixtureError> {
        let url = chain.url().parse().map_err(|e| FixtureError::Tx {
            what: "url".into(),
            detail: format!("{e}"),
        })?;
        let provider = ProviderBuilder::new()
            .with_simple_nonce_management()
            .connect_http(url)
            .erased();
        let from = chain.accounts()[0];
        let morpho = MorphoFixture::deploy_builder(provider.clone(), from)
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy MorphoFixture"))?;
        let irm = IrmFixture::deploy_builder(provider.clone(), base_rate, slope)
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy IrmFixture"))?;
        let mut fixture = Self {
            provider,
            from,
            morpho,
            irm,
            tokens: BTreeMap::new(),
            usd_feeds: BTreeMap::new(),
            markets: BTreeMap::new(),
        };
        let m = MorphoFixture::new(morpho, fixture.provider.clone());
        send(m.enableIrm(irm).from(from), "enableIrm").await?;
        for t in tokens {
            let token = TokenFixture::deploy_builder(
                fixture.provider.clone(),
                format!("Fixture {}", t.symbol),
                t.symbol.to_owned(),
                t.decimals,
            )
            .from(from)
            .deploy()
            .await
            .map_err(tx_err("deploy TokenFixture"))?;
            fixture.tokens.insert(t.symbol.to_owned(), token);
            if let Some(usd) = t.usd_e8 {
                let feed = UsdFeedFixture::deploy_builder(
                    fixture.provider.clone(),
                    8,
                    format!("{} / USD", t.symbol),
                    I256::try_from(usd).unwrap_or_default(),
                )
                .from(from)
                .deploy()
                .await
                .map_err(tx_err("deploy UsdFeedFixture"))?;
                fixture.usd_feeds.insert(t.symbol.to_owned(), feed);
            }
        }
        Ok(fixture)
    }

    /// Deploys the market's oracle, enables its LLTV if needed and creates it.
    pub async fn create_market(
        &mut self,
        spec: &MarketSpec,
    ) -> Result<FixtureMarketInfo, FixtureError> {
        let oracle = OracleFixture::deploy_builder(self.provider.clone(), spec.price)
            .from(self.from)
            .deploy()
            .await
            .map_err(tx_err("deploy OracleFixture"))?;
        let params = IMorpho::MarketParams {
            loanToken: self.token(spec.loan)?,
            collateralToken: self.token(spec.collateral)?,
            oracle,
            irm: self.irm,
            lltv: spec.lltv,
        };
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        let enabled = m
            .isLltvEnabled(spec.lltv)
            .call()
            .await
            .map_err(tx_err("isLltvEnabled"))?;
        if !enabled {
            send(m.enableLltv(spec.lltv).from(self.from), "enableLltv").await?;
        }
        send(
            m.createMarket(fixture_params(&params)).from(self.from),
            "createMarket",
        )
        .await?;
        let info = FixtureMarketInfo {
            id: market_id(&params),
            params,
        };
        self.markets.insert(spec.label.to_owned(), info.clone());
        Ok(info)
    }

    /// A token's address.
    pub fn token(&self, symbol: &str) -> Result<Address, FixtureError> {
        self.tokens
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::Unknown(symbol.to_owned()))
    }

    /// A market by label.
    pub fn market(&self, label: &str) -> Result<&FixtureMarketInfo, FixtureError> {
        self.markets
            .get(label)
            .ok_or_else(|| FixtureError::Unknown(label.to_owned()))
    }

    /// The adapter configuration reading `markets` (labels), with every deployed USD feed.
    pub fn deployment(
        &self,
        markets: &[&str],
        risk_keys: BTreeMap<String, String>,
        discovery: Option<Discovery>,
    ) -> Result<MorphoDeployment, FixtureError> {
        Ok(MorphoDeployment {
            morpho: self.morpho,
            markets: markets
                .iter()
                .map(|l| self.market(l).map(|m| m.id))
                .collect::<Result<_, _>>()?,
            usd_feeds: self
                .usd_feeds
                .iter()
                .map(|(symbol, feed)| Ok((self.token(symbol)?, *feed)))
                .collect::<Result<_, FixtureError>>()?,
            risk_keys,
            discovery,
        })
    }

    /// The same as the `params` JSON of a `[[deployments]]` entry.
    pub fn deployment_params(
        &self,
        markets: &[&str],
        risk_keys: &BTreeMap<String, String>,
        discovery: Option<Discovery>,
    ) -> Result<serde_json::Value, FixtureError> {
        let d = self.deployment(markets, risk_keys.clone(), discovery)?;
        let mut params = serde_json::json!({
            "morpho": d.morpho.to_checksum(None),
            "markets": d.markets.iter().map(|id| format!("{id:#x}")).collect::<Vec<_>>(),
            "usd_feeds": d.usd_feeds.iter().map(|(t, f)| (t.to_checksum(None), f.to_checksum(None))).collect::<BTreeMap<_, _>>(),
            "risk_keys": risk_keys,
        });
        if let Some(disc) = discovery {
            params["discovery"] = serde_json::json!({
                "from_block": disc.from_block,
                "max_block_range": disc.max_block_range,
            });
        }
        Ok(params)
    }

    /// Overwrites a market's stored totals, `lastUpdate` (seconds) and fee (WAD).
    pub async fn set_market(
        &self,
        label: &str,
        market: IMorpho::Market,
    ) -> Result<(), FixtureError> {
        let id = self.market(label)?.id;
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        let market = MorphoFixture::Market {
            totalSupplyAssets: market.totalSupplyAssets,
            totalSupplyShares: market.totalSupplyShares,
            totalBorrowAssets: market.totalBorrowAssets,
            totalBorrowShares: market.totalBorrowShares,
            lastUpdate: market.lastUpdate,
            fee: market.fee,
        };
        send(
            m.fixtureSetMarket(id, market).from(self.from),
            "fixtureSetMarket",
        )
        .await
    }

    /// Overwrites `user`'s position in a market, and mints the collateral to Morpho so that it
    /// holds what it accounts for.
    pub async fn set_position(
        &self,
        label: &str,
        user: Address,
        supply_shares: U256,
        borrow_shares: u128,
        collateral: u128,
    ) -> Result<(), FixtureError> {
        let info = self.market(label)?;
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        let p = MorphoFixture::Position {
            supplyShares: supply_shares,
            borrowShares: borrow_shares,
            collateral,
        };
        send(
            m.fixtureSetPosition(info.id, user, p).from(self.from),
            "fixtureSetPosition",
        )
        .await?;
        if collateral > 0 {
            let t = TokenFixture::new(info.params.collateralToken, self.provider.clone());
            send(
                t.fixtureMint(self.morpho, U256::from(collateral))
                    .from(self.from),
                "fixtureMint",
            )
            .await?;
        }
        Ok(())
    }

    /// Makes `position()` under-report `user`'s borrow shares by `hidden` (0 = honest view).
    pub async fn set_position_view_skew(
        &self,
        label: &str,
        user: Address,
        hidden: u128,
    ) -> Result<(), FixtureError> {
        let id = self.market(label)?.id;
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        send(
            m.fixtureSetPositionViewSkew(id, user, hidden)
                .from(self.from),
            "fixtureSetPositionViewSkew",
        )
        .await
    }

    /// Sets a market's oracle price (1e36 scale).
    pub async fn set_price(&self, label: &str, price: U256) -> Result<(), FixtureError> {
        let oracle = OracleFixture::new(self.market(label)?.params.oracle, self.provider.clone());
        send(
            oracle.fixtureSetPrice(price).from(self.from),
            "fixtureSetPrice",
        )
        .await
    }

    /// Publishes a new USD answer (8 decimals) for a token's feed, updated at `updated_at`.
    pub async fn set_usd_price(
        &self,
        symbol: &str,
        usd_e8: i64,
        updated_at: u64,
    ) -> Result<(), FixtureError> {
        let feed = self
            .usd_feeds
            .get(symbol)
            .copied()
            .ok_or_else(|| FixtureError::Unknown(symbol.to_owned()))?;
        let feed = UsdFeedFixture::new(feed, self.provider.clone());
        send(
            feed.fixtureSetAnswer(
                I256::try_from(usd_e8).unwrap_or_default(),
                U256::from(updated_at),
            )
            .from(self.from),
            "fixtureSetAnswer",
        )
        .await
    }

    /// Changes the IRM (per-second WAD rates).
    pub async fn set_rates(&self, base_rate: U256, slope: U256) -> Result<(), FixtureError> {
        let irm = IrmFixture::new(self.irm, self.provider.clone());
        send(
            irm.fixtureSetRates(base_rate, slope).from(self.from),
            "fixtureSetRates",
        )
        .await
    }

    /// Sets Morpho's fee recipient (owner only: the deployer).
    pub async fn set_fee_recipient(&self, recipient: Address) -> Result<(), FixtureError> {
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        send(
            m.setFeeRecipient(recipient).from(self.from),
            "setFeeRecipient",
        )
        .await
    }

    /// Mints `amount` base units of a token to `to` and lets Morpho pull them.
    pub async fn fund(&self, symbol: &str, to: Address, amount: U256) -> Result<(), FixtureError> {
        let t = TokenFixture::new(self.token(symbol)?, self.provider.clone());
        send(t.fixtureMint(to, amount).from(self.from), "fixtureMint").await?;
        send(t.approve(self.morpho, U256::MAX).from(to), "approve").await
    }

    /// `supply(params, assets, 0, on_behalf, "")` sent by `sender` (a dev account).
    pub async fn supply(
        &self,
        label: &str,
        sender: Address,
        assets: U256,
        on_behalf: Address,
    ) -> Result<(), FixtureError> {
        let params = fixture_params(&self.market(label)?.params);
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        send(
            m.supply(params, assets, U256::ZERO, on_behalf, Default::default())
                .from(sender),
            "supply",
        )
        .await
    }

    /// `supplyCollateral(params, assets, on_behalf, "")` sent by `sender`.
    pub async fn supply_collateral(
        &self,
        label: &str,
        sender: Address,
        assets: U256,
        on_behalf: Address,
    ) -> Result<(), FixtureError> {
        let params = fixture_params(&self.market(label)?.params);
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        send(
            m.supplyCollateral(params, assets, on_behalf, Default::default())
                .from(sender),
            "supplyCollateral",
        )
        .await
    }

    /// `borrow(params, assets, 0, borrower, borrower)` sent by the borrower.
    pub async fn borrow(
        &self,
        label: &str,
        borrower: Address,
        assets: U256,
    ) -> Result<(), FixtureError> {
        let params = fixture_params(&self.market(label)?.params);
        let m = MorphoFixture::new(self.morpho, self.provider.clone());
        send(
            m.borrow(params, assets, U256::ZERO, borrower, borrower)
                .from(borrower),
            "borrow",
        )
        .await
    }
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
