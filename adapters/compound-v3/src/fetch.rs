//! I/O: every read of one account at the pinned block, in one Multicall3 batch once the market's
//! layout is known.
//!
//! * [`fetch_layout`] (first profile, or after an upgrade): `numAssets`, `baseToken`,
//!   `baseTokenPriceFeed`, `decimals`, `baseScale` and `getAssetInfo(i)` for every possible
//!   offset (`0..24`; offsets past `numAssets` revert and are ignored), in one batch.
//! * [`fetch_account`] (every profile): one batch with the layout re-validation, the market
//!   (`totalsBasic`, the rate model, `getUtilization`), every price (`getPrice` of the base and
//!   collateral feeds, each feed's `latestRoundData` for the age, the USD conversion feed), the
//!   account (`userBasic`, `collateralBalanceOf` per asset, `balanceOf`, `borrowBalanceOf`) and
//!   Comet's own verdicts (`isLiquidatable`, `isBorrowCollateralized`), plus `symbol()` of tokens
//!   not yet labelled.

use std::collections::BTreeMap;

use alloy::primitives::{Address, I256, U256};
use unimargin_sdk::{
    AdapterError, Result,
    evm::{BatchResults, CallHandle, PinnedEvm},
};

use crate::{
    CometDeployment,
    bindings::{
        aggregator::AggregatorV3Interface,
        comet::{CometCore::AssetInfo, CometStorage::TotalsBasic, IComet},
        erc20::{IERC20Metadata, IERC20SymbolBytes32},
    },
    layout::{AssetSlot, Layout},
    math::RateCurve,
};

/// Comet's largest asset list (`CometWithExtendedAssetList.MAX_ASSETS_FOR_ASSET_LIST`).
pub const MAX_ASSETS: u8 = 24;

/// Reads the market's layout at the pinned block (one round trip).
pub async fn fetch_layout(evm: &PinnedEvm, deployment: &CometDeployment) -> Result<Layout> {
    let comet = deployment.comet;
    let mut batch = evm.batch();
    let num_h = batch.add(comet, &IComet::numAssetsCall {});
    let base_h = batch.add(comet, &IComet::baseTokenCall {});
    let feed_h = batch.add(comet, &IComet::baseTokenPriceFeedCall {});
    let decimals_h = batch.add(comet, &IComet::decimalsCall {});
    let scale_h = batch.add(comet, &IComet::baseScaleCall {});
    let info_h: Vec<_> = (0..MAX_ASSETS)
        .map(|i| batch.add(comet, &IComet::getAssetInfoCall { i }))
        .collect();
    let results = batch.execute().await?;

    let num_assets = results.get(num_h)?;
    if num_assets > MAX_ASSETS {
        return Err(AdapterError::malformed(
            format!("numAssets at {comet}"),
            format!("{num_assets} exceeds Comet's maximum of {MAX_ASSETS}"),
        ));
    }
    let base_decimals = results.get(decimals_h)?;
    let base_scale = results.get(scale_h)?;
    if base_decimals > 18 || base_scale != U256::from(10u8).pow(U256::from(base_decimals)) {
        return Err(AdapterError::malformed(
            format!("baseScale at {comet}"),
            format!("{base_scale} is not 10^decimals() = 10^{base_decimals}"),
        ));
    }
    let mut assets = Vec::with_capacity(usize::from(num_assets));
    for (i, handle) in info_h.into_iter().take(usize::from(num_assets)).enumerate() {
        let info = results.get(handle)?;
        check_asset_info(comet, i, &info)?;
        assets.push(AssetSlot {
            asset: info.asset,
            price_feed: info.priceFeed,
            scale: info.scale,
        });
    }
    Ok(Layout {
        base_token: results.get(base_h)?,
        base_price_feed: results.get(feed_h)?,
        base_decimals,
        base_scale,
        assets,
        read_at_block: evm.block_number(),
    })
}

/// Rejects an asset info that cannot be Comet's: wrong offset, or a scale that is not a power of
/// ten (the normalization derives decimals from it).
fn check_asset_info(comet: Address, i: usize, info: &AssetInfo) -> Result<()> {
    if usize::from(info.offset) != i {
        return Err(AdapterError::malformed(
            format!("getAssetInfo({i}) at {comet}"),
            format!("offset {}", info.offset),
        ));
    }
    if decimals_of_scale(info.scale).is_none() {
        return Err(AdapterError::malformed(
            format!("getAssetInfo({i}) at {comet}"),
            format!("scale {} is not a power of ten", info.scale),
        ));
    }
    Ok(())
}

/// `log10(scale)` when `scale` is a power of ten.
pub fn decimals_of_scale(scale: u64) -> Option<u8> {
    let mut n = 0u8;
    let mut v = scale;
    while v > 1 {
        if !v.is_multiple_of(10) {
            return None;
        }
        v /= 10;
        n += 1;
    }
    (v == 1).then_some(n)
}

/// The base asset as read.
#[derive(Debug, Clone)]
pub struct RawBase {
    /// Token.
    pub token: Address,
    /// `symbol()` of the token (or its address when it has no readable symbol).
    pub symbol: String,
    /// Token decimals.
    pub decimals: u8,
    /// `baseScale()`.
    pub scale: U256,
    /// `baseTokenPriceFeed()`.
    pub price_feed: Address,
    /// `getPrice(baseTokenPriceFeed)`, 8 decimals; `None` when Comet's `getPrice` reverted.
    pub comet_price: Option<U256>,
    /// The feed's `latestRoundData().updatedAt`, when it answers one.
    pub feed_updated_at: Option<u64>,
}

/// One listed collateral as read.
#[derive(Debug, Clone)]
pub struct RawAsset {
    /// `getAssetInfo(offset)` at the pinned block (factors are always fresh).
    pub info: AssetInfo,
    /// `symbol()` of the token (or its address).
    pub symbol: String,
    /// `collateralBalanceOf(account, asset)`, in the token's base units.
    pub balance: u128,
    /// `getPrice(priceFeed)`, 8 decimals; `None` when Comet's `getPrice` reverted.
    pub comet_price: Option<U256>,
    /// The feed's `latestRoundData().updatedAt`, when it answers one.
    pub feed_updated_at: Option<u64>,
}

/// The feed converting Comet's unit into USD, as read.
#[derive(Debug, Clone)]
pub struct RawUsdConversion {
    /// The feed.
    pub feed: Address,
    /// `latestRoundData().answer`.
    pub answer: I256,
    /// `decimals()`.
    pub decimals: u8,
    /// `latestRoundData().updatedAt` (0 = unknown).
    pub updated_at: Option<u64>,
}

/// The interest rate model (per second, 1e18-scaled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateModel {
    /// `supplyKink`, `supplyPerSecondInterestRate*`.
    pub supply: RateCurve,
    /// `borrowKink`, `borrowPerSecondInterestRate*`.
    pub borrow: RateCurve,
}

/// `userBasic(account)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawUserBasic {
    /// Signed principal: positive supplies base, negative borrows it.
    pub principal: i128,
    /// Collateral bits of offsets 0-15.
    pub assets_in: u16,
    /// Collateral bits of offsets 16-23.
    pub reserved: u8,
}

/// The account and market as the contracts returned them, before any interpretation.
#[derive(Debug, Clone)]
pub struct RawAccount {
    /// The Comet read.
    pub comet: Address,
    /// Pinned block timestamp (interest accrues to it).
    pub block_timestamp: u64,
    /// The base asset.
    pub base: RawBase,
    /// Every listed collateral, in offset order.
    pub assets: Vec<RawAsset>,
    /// `totalsBasic()`: stored indices, total principals, last accrual time.
    pub totals: TotalsBasic,
    /// The rate model.
    pub rates: RateModel,
    /// `getUtilization()` (at the stored indices).
    pub reported_utilization: U256,
    /// `userBasic(account)`.
    pub user: RawUserBasic,
    /// `balanceOf(account)`: Comet's present supply balance, accrued to the block.
    pub reported_balance: U256,
    /// `borrowBalanceOf(account)`: Comet's present borrow balance, accrued to the block.
    pub reported_borrow_balance: U256,
    /// `isLiquidatable(account)`.
    pub reported_is_liquidatable: bool,
    /// `isBorrowCollateralized(account)`.
    pub reported_is_borrow_collateralized: bool,
    /// The conversion into USD, for markets that price in another unit.
    pub usd_conversion: Option<RawUsdConversion>,
    /// Symbols read by this batch, for the adapter to remember.
    pub learned_symbols: BTreeMap<Address, String>,
}

/// What one account read produced.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// Everything was read against a layout that still holds at the pinned block.
    Read(Box<RawAccount>),
    /// The memoized layout does not hold at the pinned block (an upgrade listed an asset or
    /// moved a feed); nothing of this read may be used.
    LayoutChanged(String),
}

struct SymbolHandles {
    string: CallHandle<IERC20Metadata::symbolCall>,
    bytes32: CallHandle<IERC20SymbolBytes32::symbolCall>,
}

/// Reads one account against `layout` in one batch; `symbols` are the labels already known.
pub async fn fetch_account(
    evm: &PinnedEvm,
    deployment: &CometDeployment,
    layout: &Layout,
    symbols: &BTreeMap<Address, String>,
    user: Address,
) -> Result<Fetched> {
    let comet = deployment.comet;
    let mut b = evm.batch();

    // Re-validation of the memoized layout.
    let num_h = b.add(comet, &IComet::numAssetsCall {});
    let base_h = b.add(comet, &IComet::baseTokenCall {});
    let base_feed_h = b.add(comet, &IComet::baseTokenPriceFeedCall {});
    let info_h: Vec<_> = (0..layout.assets.len())
        .map(|i| {
            b.add(
                comet,
                &IComet::getAssetInfoCall {
                    i: u8::try_from(i).unwrap_or(u8::MAX),
                },
            )
        })
        .collect();

    // Market.
    let totals_h = b.add(comet, &IComet::totalsBasicCall {});
    let util_h = b.add(comet, &IComet::getUtilizationCall {});
    let supply_rate_h = (
        b.add(comet, &IComet::supplyKinkCall {}),
        b.add(comet, &IComet::supplyPerSecondInterestRateSlopeLowCall {}),
        b.add(comet, &IComet::supplyPerSecondInterestRateSlopeHighCall {}),
        b.add(comet, &IComet::supplyPerSecondInterestRateBaseCall {}),
    );
    let borrow_rate_h = (
        b.add(comet, &IComet::borrowKinkCall {}),
        b.add(comet, &IComet::borrowPerSecondInterestRateSlopeLowCall {}),
        b.add(comet, &IComet::borrowPerSecondInterestRateSlopeHighCall {}),
        b.add(comet, &IComet::borrowPerSecondInterestRateBaseCall {}),
    );

    // Prices, through Comet's own getPrice, and the feeds' update times.
    let base_price_h = b.add(
        comet,
        &IComet::getPriceCall {
            priceFeed: layout.base_price_feed,
        },
    );
    let base_round_h = b.add(
        layout.base_price_feed,
        &AggregatorV3Interface::latestRoundDataCall {},
    );
    let asset_price_h: Vec<_> = layout
        .assets
        .iter()
        .map(|a| {
            b.add(
                comet,
                &IComet::getPriceCall {
                    priceFeed: a.price_feed,
                },
            )
        })
        .collect();
    let asset_round_h: Vec<_> = layout
        .assets
        .iter()
        .map(|a| b.add(a.price_feed, &AggregatorV3Interface::latestRoundDataCall {}))
        .collect();
    let usd_h = deployment.usd_feed.map(|feed| {
        (
            feed,
            b.add(feed, &AggregatorV3Interface::latestRoundDataCall {}),
            b.add(feed, &AggregatorV3Interface::decimalsCall {}),
        )
    });

    // The account.
    let user_h = b.add(comet, &IComet::userBasicCall(user));
    let collateral_h: Vec<_> = layout
        .assets
        .iter()
        .map(|a| {
            b.add(
                comet,
                &IComet::collateralBalanceOfCall {
                    account: user,
                    asset: a.asset,
                },
            )
        })
        .collect();
    let balance_h = b.add(comet, &IComet::balanceOfCall { owner: user });
    let borrow_h = b.add(comet, &IComet::borrowBalanceOfCall { account: user });
    let liquidatable_h = b.add(comet, &IComet::isLiquidatableCall { account: user });
    let collateralized_h = b.add(comet, &IComet::isBorrowCollateralizedCall { account: user });

    // Labels not known yet (first profile only).
    let mut tokens = vec![layout.base_token];
    tokens.extend(layout.assets.iter().map(|a| a.asset));
    let symbol_h: Vec<(Address, SymbolHandles)> = tokens
        .iter()
        .filter(|t| !symbols.contains_key(*t))
        .map(|t| {
            let h = SymbolHandles {
                string: b.add(*t, &IERC20Metadata::symbolCall {}),
                bytes32: b.add(*t, &IERC20SymbolBytes32::symbolCall {}),
            };
            (*t, h)
        })
        .collect();

    let r = b.execute().await?;

    // Validate before using anything that depends on the layout.
    let num_assets = r.get(num_h)?;
    if usize::from(num_assets) != layout.assets.len() {
        return Ok(Fetched::LayoutChanged(format!(
            "numAssets is {num_assets}, was {}",
            layout.assets.len()
        )));
    }
    let base_token = r.get(base_h)?;
    let base_feed = r.get(base_feed_h)?;
    if base_token != layout.base_token || base_feed != layout.base_price_feed {
        return Ok(Fetched::LayoutChanged(format!(
            "base token/feed is {base_token}/{base_feed}"
        )));
    }
    let mut infos = Vec::with_capacity(info_h.len());
    for (i, (h, slot)) in info_h.into_iter().zip(&layout.assets).enumerate() {
        let info = r.get(h)?;
        if info.asset != slot.asset || info.priceFeed != slot.price_feed || info.scale != slot.scale
        {
            return Ok(Fetched::LayoutChanged(format!("getAssetInfo({i}) changed")));
        }
        check_asset_info(comet, i, &info)?;
        infos.push(info);
    }

    let mut learned = BTreeMap::new();
    for (token, h) in &symbol_h {
        if let Some(s) = read_symbol(&r, h) {
            learned.insert(*token, s);
        }
    }
    let symbol_of = |token: Address| {
        symbols
            .get(&token)
            .or_else(|| learned.get(&token))
            .cloned()
            .unwrap_or_else(|| token.to_checksum(None))
    };

    let mut assets = Vec::with_capacity(infos.len());
    for (((info, price_h), round_h), balance_h) in infos
        .into_iter()
        .zip(asset_price_h)
        .zip(asset_round_h)
        .zip(collateral_h)
    {
        assets.push(RawAsset {
            symbol: symbol_of(info.asset),
            balance: r.get(balance_h)?,
            comet_price: r.get_optional(price_h)?,
            feed_updated_at: updated_at(&r, round_h),
            info,
        });
    }

    let usd_conversion = match usd_h {
        None => None,
        Some((feed, round_h, decimals_h)) => {
            let round = r.get(round_h)?;
            Some(RawUsdConversion {
                feed,
                answer: round.answer,
                decimals: r.get(decimals_h)?,
                updated_at: seconds(round.updatedAt),
            })
        }
    };

    let u = r.get(user_h)?;
    let principal = i128::try_from(u.principal).map_err(|e| {
        AdapterError::malformed(format!("userBasic at {comet}"), format!("principal: {e}"))
    })?;
    let rates = RateModel {
        supply: RateCurve {
            kink: r.get(supply_rate_h.0)?,
            slope_low: r.get(supply_rate_h.1)?,
            slope_high: r.get(supply_rate_h.2)?,
            base: r.get(supply_rate_h.3)?,
        },
        borrow: RateCurve {
            kink: r.get(borrow_rate_h.0)?,
            slope_low: r.get(borrow_rate_h.1)?,
            slope_high: r.get(borrow_rate_h.2)?,
            base: r.get(borrow_rate_h.3)?,
        },
    };

    Ok(Fetched::Read(Box::new(RawAccount {
        comet,
        block_timestamp: evm.block_timestamp(),
        base: RawBase {
            token: layout.base_token,
            symbol: symbol_of(layout.base_token),
            decimals: layout.base_decimals,
            scale: layout.base_scale,
            price_feed: layout.base_price_feed,
            comet_price: r.get_optional(base_price_h)?,
            feed_updated_at: updated_at(&r, base_round_h),
        },
        assets,
        totals: r.get(totals_h)?,
        rates,
        reported_utilization: r.get(util_h)?,
        user: RawUserBasic {
            principal,
            assets_in: u.assetsIn,
            reserved: u._reserved,
        },
        reported_balance: r.get(balance_h)?,
        reported_borrow_balance: r.get(borrow_h)?,
        reported_is_liquidatable: r.get(liquidatable_h)?,
        reported_is_borrow_collateralized: r.get(collateralized_h)?,
        usd_conversion,
        learned_symbols: learned,
    })))
}

/// `updatedAt` of a feed's latest round, when the feed answers one. Some feeds Comet uses are
/// wrappers without a meaningful time: the age is then unknown, which the engine reports.
fn updated_at(
    r: &BatchResults,
    h: CallHandle<AggregatorV3Interface::latestRoundDataCall>,
) -> Option<u64> {
    r.get_optional(h)
        .ok()
        .flatten()
        .and_then(|round| seconds(round.updatedAt))
}

fn seconds(t: U256) -> Option<u64> {
    (!t.is_zero() && t <= U256::from(u64::MAX)).then(|| t.to::<u64>())
}

/// A token's symbol, as a `string` or, for older tokens, a `bytes32`.
fn read_symbol(r: &BatchResults, h: &SymbolHandles) -> Option<String> {
    if let Ok(Some(s)) = r.get_optional(h.string) {
        let s = s.trim().to_owned();
        if !s.is_empty() {
            return Some(s);
        }
    }
    let raw = r.get_optional(h.bytes32).ok().flatten()?;
    symbol_from_bytes32(raw.as_slice())
}

/// A `bytes32` symbol: UTF-8 up to the first zero byte.
pub fn symbol_from_bytes32(raw: &[u8]) -> Option<String> {
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    let s = std::str::from_utf8(&raw[..end]).ok()?.trim();
    (!s.is_empty() && s.chars().all(|c| !c.is_control())).then(|| s.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decimals_come_from_power_of_ten_scales_only() {
        assert_eq!(decimals_of_scale(1), Some(0));
        assert_eq!(decimals_of_scale(1_000_000), Some(6));
        assert_eq!(decimals_of_scale(1_000_000_000_000_000_000), Some(18));
        assert_eq!(decimals_of_scale(0), None);
        assert_eq!(decimals_of_scale(1_500), None);
    }

    #[test]
    fn bytes32_symbols_are_cut_at_the_first_zero() {
        let mut mkr = [0u8; 32];
        mkr[..3].copy_from_slice(b"MKR");
        assert_eq!(symbol_from_bytes32(&mkr).as_deref(), Some("MKR"));
        assert_eq!(symbol_from_bytes32(&[0u8; 32]), None);
        assert_eq!(symbol_from_bytes32(&[0xff; 32]), None);
    }
}
