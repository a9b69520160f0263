//! I/O: every read of one account, at the pinned block, in two Multicall3 round trips.
//!
//! 1. Market and account state: `getReservesData`, `getUserReservesData`, `getEModes` (UI data
//!    provider), `getUserAccountData` (Pool, Aave's own verdict to check ours against), and the
//!    provider's oracle address.
//! 2. Only for the reserves the account uses: `Pool.getReserveData` (the reserve id, which indexes
//!    e-mode bitmaps and user configuration bits) and `latestRoundData` of each price feed (the
//!    price's age, which Aave's oracle does not expose).

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use unimargin_sdk::{Result, evm::PinnedEvm};

use crate::{
    AaveDeployment,
    bindings::{addresses_provider::IPoolAddressesProvider, aggregator::AggregatorV3Interface, pool::IPool, ui_pool_data_provider::IUiPoolDataProviderV3 as Ui},
};

/// The account data as the contracts returned it, before any interpretation.
#[derive(Debug, Clone)]
pub struct RawAccount {
    /// Every reserve of the market.
    pub reserves: Vec<Ui::AggregatedReserveData>,
    /// The market's base currency.
    pub base_currency: Ui::BaseCurrencyInfo,
    /// The user's scaled balances, one entry per reserve.
    pub user_reserves: Vec<Ui::UserReserveData>,
    /// The user's e-mode category (0 = none).
    pub user_emode: u8,
    /// Configured e-mode categories.
    pub emodes: Vec<Ui::Emode>,
    /// `Pool.getUserAccountData(user)`.
    pub reported: IPool::getUserAccountDataReturn,
    /// The Aave oracle.
    pub oracle: Address,
    /// Reserve id per asset (only for reserves the user uses).
    pub reserve_ids: BTreeMap<Address, u16>,
    /// `updatedAt` of each used feed, `None` when the feed does not implement `latestRoundData`.
    pub feed_updated_at: BTreeMap<Address, Option<u64>>,
    /// Pinned block timestamp (interest accrues to it).
    pub block_timestamp: u64,
}

/// Reads everything the normalization needs.
pub async fn fetch(evm: &PinnedEvm, deployment: &AaveDeployment, user: Address) -> Result<RawAccount> {
    let provider = deployment.pool_addresses_provider;
    let mut first = evm.batch();
    let reserves_h = first.add(deployment.ui_pool_data_provider, &Ui::getReservesDataCall { provider });
    let user_h = first.add(deployment.ui_pool_data_provider, &Ui::getUserReservesDataCall { provider, user });
    let emodes_h = first.add(deployment.ui_pool_data_provider, &Ui::getEModesCall { provider });
    let account_h = first.add(deployment.pool, &IPool::getUserAccountDataCall { user });
    let oracle_h = first.add(provider, &IPoolAddressesProvider::getPriceOracleCall {});
    let results = first.execute().await?;

    let reserves = results.get(reserves_h)?;
    let user_data = results.get(user_h)?;
    let emodes = results.get(emodes_h)?;
    let reported = results.get(account_h)?;
    let oracle = results.get(oracle_h)?;

    let used: Vec<Address> = user_data
        ._0
        .iter()
        .filter(|u| !u.scaledATokenBalance.is_zero() || !u.scaledVariableDebt.is_zero())
        .map(|u| u.underlyingAsset)
        .collect();

    let mut reserve_ids = BTreeMap::new();
    let mut feed_updated_at = BTreeMap::new();
    if !used.is_empty() {
        let mut second = evm.batch();
        let id_handles: Vec<_> = used
            .iter()
            .map(|asset| (*asset, second.add(deployment.pool, &IPool::getReserveDataCall { asset: *asset })))
            .collect();
        let mut feeds: Vec<Address> = reserves
            ._0
            .iter()
            .filter(|r| used.contains(&r.underlyingAsset) && r.priceOracle != Address::ZERO)
            .map(|r| r.priceOracle)
            .collect();
        feeds.sort();
        feeds.dedup();
        let feed_handles: Vec<_> = feeds
            .iter()
            .map(|feed| (*feed, second.add(*feed, &AggregatorV3Interface::latestRoundDataCall {})))
            .collect();
        let results = second.execute().await?;
        for (asset, h) in id_handles {
            reserve_ids.insert(asset, results.get(h)?.id);
        }
        for (feed, h) in feed_handles {
            // Some price adapters (e.g. rate-capped ones) do not implement latestRoundData or
            // report no time: the age is then unknown, which the engine reports.
            let updated = results
                .get_optional(h)
                .ok()
                .flatten()
                .map(|r| r.updatedAt)
                .filter(|t| !t.is_zero() && *t <= U256::from(u64::MAX))
                .map(|t| t.to::<u64>());
            feed_updated_at.insert(feed, updated);
        }
    }

    Ok(RawAccount {
        reserves: reserves._0,
        base_currency: reserves._1,
        user_reserves: user_data._0,
        user_emode: user_data._1,
        emodes,
        reported,
        oracle,
        reserve_ids,
        feed_updated_at,
        block_timestamp: evm.block_timestamp(),
    })
}
