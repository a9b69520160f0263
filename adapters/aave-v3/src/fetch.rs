//! I/O: every read of one account at the pinned block — one Multicall3 batch in the steady state.
//!
//! The batch holds the market and account state (`getReservesData`, `getUserReservesData` and,
//! from v3.2 on, `getEModes` of the UI data provider; `getUserAccountData` of the Pool, Aave's own
//! verdict to check ours against; the provider's oracle), `latestRoundData` of every price feed,
//! whose `updatedAt` is the price's age (Aave's oracle does not expose it), and, for v3.0 markets,
//! the price of each e-mode category's price source.
//!
//! A few facts are needed before that batch can be written and change only by governance: each
//! reserve's id (it indexes v3.2+ e-mode bitmaps), its feed, the e-mode price sources and the
//! oracle. They are kept in a [`MarketLayout`], read once (one extra round trip on the first
//! profile) and re-validated by every batch against what it returns; when governance changed the
//! market the layout is read again in the same profile, so a stale layout can cost a round trip but
//! never a wrong answer.
//!
//! Both layouts are converted here into one version-neutral raw form ([`RawAccount`]), so
//! normalization is written once.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, I256, U256};
use unimargin_sdk::{Result, evm::PinnedEvm};

use crate::{
    AaveDeployment, UiLayout,
    bindings::{
        addresses_provider::IPoolAddressesProvider, aggregator::AggregatorV3Interface,
        oracle::IAaveOracle, pool::IPool, ui_pool_data_provider::IUiPoolDataProviderV3 as Ui36,
        ui_pool_data_provider_v3_0::IUiPoolDataProviderV3 as Ui30,
    },
};

/// What a market looks like, as far as the batch needs to know in advance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketLayout {
    /// Reserve id per asset (v3.2+ only; v3.0 matches e-mode by category id).
    pub reserve_ids: BTreeMap<Address, u16>,
    /// Price feed per asset (`priceOracle` of the UI data provider).
    pub feeds: BTreeMap<Address, Address>,
    /// Price sources of e-mode categories (v3.0).
    pub emode_price_sources: BTreeSet<Address>,
    /// The Aave oracle.
    pub oracle: Address,
}

impl MarketLayout {
    fn distinct_feeds(&self) -> BTreeSet<Address> {
        self.feeds
            .values()
            .copied()
            .filter(|f| *f != Address::ZERO)
            .collect()
    }
}

/// One reserve, version-neutral.
#[derive(Debug, Clone)]
pub struct ReserveState {
    /// Underlying token.
    pub asset: Address,
    /// Ticker.
    pub symbol: String,
    /// Decimals as reported.
    pub decimals: U256,
    /// Base LTV (bps).
    pub ltv_bps: U256,
    /// Base liquidation threshold (bps).
    pub lt_bps: U256,
    /// Oracle price in the market's base currency.
    pub price_base: U256,
    /// The feed behind the price.
    pub price_feed: Address,
    /// Stored liquidity index (ray).
    pub liquidity_index: u128,
    /// Stored variable borrow index (ray).
    pub variable_borrow_index: u128,
    /// Liquidity rate (ray per year).
    pub liquidity_rate: u128,
    /// Variable borrow rate (ray per year).
    pub variable_borrow_rate: u128,
    /// Last index update.
    pub last_update: u64,
    /// v3.0: the reserve's e-mode category (0 = none).
    pub emode_category: u8,
}

/// One user reserve, version-neutral.
#[derive(Debug, Clone)]
pub struct UserReserveState {
    /// Underlying token.
    pub asset: Address,
    /// aToken scaled balance.
    pub scaled_supply: U256,
    /// Collateral flag.
    pub collateral: bool,
    /// Variable debt scaled balance.
    pub scaled_variable_debt: U256,
    /// v3.0: stable debt principal.
    pub principal_stable_debt: U256,
    /// v3.0: the user's stable rate (ray per year).
    pub stable_rate: U256,
    /// v3.0: last stable debt update.
    pub stable_last_update: u64,
}

/// An e-mode category, version-neutral.
#[derive(Debug, Clone, Default)]
pub struct EModeCategory {
    /// Category id.
    pub id: u8,
    /// LTV (bps).
    pub ltv: u16,
    /// Liquidation threshold (bps).
    pub liquidation_threshold: u16,
    /// v3.2+: reserves (by id) whose collateral uses the category.
    pub collateral_bitmap: u128,
    /// v3.6: collateral counting with LTV 0 in the category.
    pub ltvzero_bitmap: u128,
    /// v3.0: price source overriding the asset's price for members (zero = none).
    pub price_source: Address,
}

/// The account data as the contracts returned it, before any interpretation.
#[derive(Debug, Clone)]
pub struct RawAccount {
    /// Which Aave arithmetic applies.
    pub version: UiLayout,
    /// Every reserve of the market.
    pub reserves: Vec<ReserveState>,
    /// Base currency unit (`marketReferenceCurrencyUnit`).
    pub base_unit: U256,
    /// USD price of the base currency, 8 decimals.
    pub base_price_usd: I256,
    /// The user's balances, one entry per reserve.
    pub user_reserves: Vec<UserReserveState>,
    /// The user's e-mode category (0 = none).
    pub user_emode: u8,
    /// Configured e-mode categories.
    pub emodes: Vec<EModeCategory>,
    /// `Pool.getUserAccountData(user)`.
    pub reported: IPool::getUserAccountDataReturn,
    /// The Aave oracle.
    pub oracle: Address,
    /// Reserve id per asset (v3.2+).
    pub reserve_ids: BTreeMap<Address, u16>,
    /// `updatedAt` of each feed, `None` when the feed does not implement `latestRoundData`.
    pub feed_updated_at: BTreeMap<Address, Option<u64>>,
    /// Oracle price of each e-mode price source (v3.0).
    pub source_prices: BTreeMap<Address, U256>,
    /// Pinned block timestamp (interest accrues to it).
    pub block_timestamp: u64,
}

/// Reads everything the normalization needs. `layout` is the memoized market layout, if any;
/// the returned layout is the one valid at this block (to memoize for next time).
pub async fn fetch(
    evm: &PinnedEvm,
    deployment: &AaveDeployment,
    user: Address,
    layout: Option<&MarketLayout>,
) -> Result<(RawAccount, MarketLayout)> {
    let provider = deployment.pool_addresses_provider;
    let ui = deployment.ui_pool_data_provider;
    let mut batch = evm.batch();
    let account_h = batch.add(deployment.pool, &IPool::getUserAccountDataCall { user });
    let oracle_h = batch.add(provider, &IPoolAddressesProvider::getPriceOracleCall {});
    enum Handles {
        V30(
            unimargin_sdk::evm::CallHandle<Ui30::getReservesDataCall>,
            unimargin_sdk::evm::CallHandle<Ui30::getUserReservesDataCall>,
        ),
        V36(
            unimargin_sdk::evm::CallHandle<Ui36::getReservesDataCall>,
            unimargin_sdk::evm::CallHandle<Ui36::getUserReservesDataCall>,
            unimargin_sdk::evm::CallHandle<Ui36::getEModesCall>,
        ),
    }
    let handles = match deployment.ui_layout {
        UiLayout::V3_0 => Handles::V30(
            batch.add(ui, &Ui30::getReservesDataCall { provider }),
            batch.add(ui, &Ui30::getUserReservesDataCall { provider, user }),
        ),
        UiLayout::V3_6 => Handles::V36(
            batch.add(ui, &Ui36::getReservesDataCall { provider }),
            batch.add(ui, &Ui36::getUserReservesDataCall { provider, user }),
            batch.add(ui, &Ui36::getEModesCall { provider }),
        ),
    };
    let feed_handles: Vec<_> = layout
        .map(MarketLayout::distinct_feeds)
        .unwrap_or_default()
        .into_iter()
        .map(|feed| {
            (
                feed,
                batch.add(feed, &AggregatorV3Interface::latestRoundDataCall {}),
            )
        })
        .collect();
    let source_handles: Vec<_> = layout
        .map(|l| {
            l.emode_price_sources
                .iter()
                .map(|s| {
                    (
                        *s,
                        batch.add(l.oracle, &IAaveOracle::getAssetPriceCall { asset: *s }),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let results = batch.execute().await?;

    let reported = results.get(account_h)?;
    let oracle = results.get(oracle_h)?;
    let mut raw = match handles {
        Handles::V30(reserves_h, user_h) => {
            from_v3_0(results.get(reserves_h)?, results.get(user_h)?)
        }
        Handles::V36(reserves_h, user_h, emodes_h) => from_v3_6(
            results.get(reserves_h)?,
            results.get(user_h)?,
            results.get(emodes_h)?,
        ),
    };
    raw.reported = reported;
    raw.oracle = oracle;
    raw.block_timestamp = evm.block_timestamp();
    for (feed, h) in feed_handles {
        raw.feed_updated_at
            .insert(feed, updated_at(results.get_optional(h)));
    }
    for (source, h) in source_handles {
        raw.source_prices.insert(source, results.get(h)?);
    }

    // Validate (or build) the layout against what this very batch returned.
    let expected_feeds: BTreeMap<Address, Address> = raw
        .reserves
        .iter()
        .map(|r| (r.asset, r.price_feed))
        .collect();
    let expected_sources: BTreeSet<Address> = raw
        .emodes
        .iter()
        .map(|e| e.price_source)
        .filter(|s| *s != Address::ZERO)
        .collect();
    let still_valid = layout.is_some_and(|l| {
        l.feeds == expected_feeds
            && l.emode_price_sources == expected_sources
            && l.oracle == oracle
            && (deployment.ui_layout == UiLayout::V3_0
                || l.reserve_ids.len() == expected_feeds.len())
    });
    let layout = if still_valid {
        layout.cloned().unwrap_or_default()
    } else {
        // First profile of this market, or governance changed it: one more round trip.
        let mut fresh = MarketLayout {
            feeds: expected_feeds,
            emode_price_sources: expected_sources,
            oracle,
            ..Default::default()
        };
        let mut batch = evm.batch();
        let id_handles: Vec<_> = match deployment.ui_layout {
            UiLayout::V3_0 => Vec::new(),
            UiLayout::V3_6 => raw
                .reserves
                .iter()
                .map(|r| {
                    (
                        r.asset,
                        batch.add(
                            deployment.pool,
                            &IPool::getReserveDataCall { asset: r.asset },
                        ),
                    )
                })
                .collect(),
        };
        let feed_handles: Vec<_> = fresh
            .distinct_feeds()
            .into_iter()
            .filter(|f| !raw.feed_updated_at.contains_key(f))
            .map(|feed| {
                (
                    feed,
                    batch.add(feed, &AggregatorV3Interface::latestRoundDataCall {}),
                )
            })
            .collect();
        let source_handles: Vec<_> = fresh
            .emode_price_sources
            .iter()
            .filter(|s| !raw.source_prices.contains_key(*s))
            .map(|s| {
                (
                    *s,
                    batch.add(oracle, &IAaveOracle::getAssetPriceCall { asset: *s }),
                )
            })
            .collect();
        if !batch.is_empty() {
            let results = batch.execute().await?;
            for (asset, h) in id_handles {
                fresh.reserve_ids.insert(asset, results.get(h)?.id);
            }
            for (feed, h) in feed_handles {
                raw.feed_updated_at
                    .insert(feed, updated_at(results.get_optional(h)));
            }
            for (source, h) in source_handles {
                raw.source_prices.insert(source, results.get(h)?);
            }
        }
        fresh
    };
    raw.reserve_ids = layout.reserve_ids.clone();
    Ok((raw, layout))
}

fn empty(version: UiLayout, base_unit: U256, base_price_usd: I256) -> RawAccount {
    RawAccount {
        version,
        reserves: Vec::new(),
        base_unit,
        base_price_usd,
        user_reserves: Vec::new(),
        user_emode: 0,
        emodes: Vec::new(),
        reported: IPool::getUserAccountDataReturn {
            totalCollateralBase: U256::ZERO,
            totalDebtBase: U256::ZERO,
            availableBorrowsBase: U256::ZERO,
            currentLiquidationThreshold: U256::ZERO,
            ltv: U256::ZERO,
            healthFactor: U256::ZERO,
        },
        oracle: Address::ZERO,
        reserve_ids: BTreeMap::new(),
        feed_updated_at: BTreeMap::new(),
        source_prices: BTreeMap::new(),
        block_timestamp: 0,
    }
}

fn from_v3_6(
    reserves: Ui36::getReservesDataReturn,
    user: Ui36::getUserReservesDataReturn,
    emodes: Vec<Ui36::Emode>,
) -> RawAccount {
    let mut raw = empty(
        UiLayout::V3_6,
        reserves._1.marketReferenceCurrencyUnit,
        reserves._1.marketReferenceCurrencyPriceInUsd,
    );
    raw.reserves = reserves
        ._0
        .into_iter()
        .map(|r| ReserveState {
            asset: r.underlyingAsset,
            symbol: r.symbol,
            decimals: r.decimals,
            ltv_bps: r.baseLTVasCollateral,
            lt_bps: r.reserveLiquidationThreshold,
            price_base: r.priceInMarketReferenceCurrency,
            price_feed: r.priceOracle,
            liquidity_index: r.liquidityIndex,
            variable_borrow_index: r.variableBorrowIndex,
            liquidity_rate: r.liquidityRate,
            variable_borrow_rate: r.variableBorrowRate,
            last_update: r.lastUpdateTimestamp.to::<u64>(),
            emode_category: 0,
        })
        .collect();
    raw.user_reserves = user
        ._0
        .into_iter()
        .map(|u| UserReserveState {
            asset: u.underlyingAsset,
            scaled_supply: u.scaledATokenBalance,
            collateral: u.usageAsCollateralEnabledOnUser,
            scaled_variable_debt: u.scaledVariableDebt,
            principal_stable_debt: U256::ZERO,
            stable_rate: U256::ZERO,
            stable_last_update: 0,
        })
        .collect();
    raw.user_emode = user._1;
    raw.emodes = emodes
        .into_iter()
        .map(|e| EModeCategory {
            id: e.id,
            ltv: e.eMode.ltv,
            liquidation_threshold: e.eMode.liquidationThreshold,
            collateral_bitmap: e.eMode.collateralBitmap,
            ltvzero_bitmap: e.eMode.ltvzeroBitmap,
            price_source: Address::ZERO,
        })
        .collect();
    raw
}

fn from_v3_0(
    reserves: Ui30::getReservesDataReturn,
    user: Ui30::getUserReservesDataReturn,
) -> RawAccount {
    let mut raw = empty(
        UiLayout::V3_0,
        reserves._1.marketReferenceCurrencyUnit,
        reserves._1.marketReferenceCurrencyPriceInUsd,
    );
    // v3.0 has no category list: categories are described on each member reserve.
    let mut emodes: BTreeMap<u8, EModeCategory> = BTreeMap::new();
    for r in &reserves._0 {
        if r.eModeCategoryId != 0 {
            emodes.entry(r.eModeCategoryId).or_insert(EModeCategory {
                id: r.eModeCategoryId,
                ltv: r.eModeLtv,
                liquidation_threshold: r.eModeLiquidationThreshold,
                price_source: r.eModePriceSource,
                ..Default::default()
            });
        }
    }
    raw.emodes = emodes.into_values().collect();
    raw.reserves = reserves
        ._0
        .into_iter()
        .map(|r| ReserveState {
            asset: r.underlyingAsset,
            symbol: r.symbol,
            decimals: r.decimals,
            ltv_bps: r.baseLTVasCollateral,
            lt_bps: r.reserveLiquidationThreshold,
            price_base: r.priceInMarketReferenceCurrency,
            price_feed: r.priceOracle,
            liquidity_index: r.liquidityIndex,
            variable_borrow_index: r.variableBorrowIndex,
            liquidity_rate: r.liquidityRate,
            variable_borrow_rate: r.variableBorrowRate,
            last_update: r.lastUpdateTimestamp.to::<u64>(),
            emode_category: r.eModeCategoryId,
        })
        .collect();
    raw.user_reserves = user
        ._0
        .into_iter()
        .map(|u| UserReserveState {
            asset: u.underlyingAsset,
            scaled_supply: u.scaledATokenBalance,
            collateral: u.usageAsCollateralEnabledOnUser,
            scaled_variable_debt: u.scaledVariableDebt,
            principal_stable_debt: u.principalStableDebt,
            stable_rate: u.stableBorrowRate,
            stable_last_update: u64::try_from(u.stableBorrowLastUpdateTimestamp)
                .unwrap_or(u64::MAX),
        })
        .collect();
    raw.user_emode = user._1;
    raw
}

/// A feed's update time; some price adapters (e.g. rate-capped ones) do not implement
/// `latestRoundData` or report no time: the age is then unknown, which the engine reports.
fn updated_at(round: Result<Option<AggregatorV3Interface::latestRoundDataReturn>>) -> Option<u64> {
    round
        .ok()
        .flatten()
        .map(|r| r.updatedAt)
        .filter(|t| !t.is_zero() && *t <= U256::from(u64::MAX))
        .map(|t| t.to::<u64>())
}
