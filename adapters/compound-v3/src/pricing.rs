//! Comet's prices as USD prices with source and age.
//!
//! Comet values everything with `getPrice(feed)`: 8 decimals in the unit of its base token's feed.
//! USDC and USDT markets price in USD. WETH markets price in ETH (their base feed is a constant
//! 1): a configured `<unit>/USD` feed converts, and the price source says so.

use alloy::primitives::{Address, I256, U256};
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{ChainId, Price, PriceSource};
use unimargin_sdk::{
    AdapterError, Result,
    units::{Rounding, scale},
};

use crate::{CometDeployment, fetch::RawUsdConversion, math::PRICE_DECIMALS};

/// USD per unit of Comet's price unit from a `<unit>/USD` feed's answer; a non-positive answer is
/// a missing price, never a zero.
pub fn usd_per_unit(unit: &str, feed: Address, answer: I256, decimals: u8) -> Result<Decimal> {
    if answer <= I256::ZERO {
        return Err(AdapterError::MissingPrice {
            asset: format!("{unit} (USD conversion)"),
            detail: format!("feed {feed} answered {answer}"),
        });
    }
    let usd = scale(answer.into_raw(), u32::from(decimals), Rounding::Down)?;
    Ok(usd.value.normalize())
}

/// The USD conversion of Comet's price unit, resolved.
#[derive(Debug, Clone, Copy)]
struct Conversion {
    usd_per_unit: Decimal,
    updated_at: Option<u64>,
    feed: Address,
}

/// Turns Comet prices into schema prices for one read.
#[derive(Debug, Clone)]
pub(crate) struct Pricer {
    chain: ChainId,
    comet: Address,
    oracle: String,
    conversion: Option<Conversion>,
    now: u64,
}

impl Pricer {
    /// A pricer for `comet`'s prices at block time `now`.
    pub(crate) fn new(
        deployment: &CometDeployment,
        conversion: Option<&RawUsdConversion>,
        chain: &ChainId,
        comet: Address,
        now: u64,
    ) -> Result<Self> {
        let (oracle, conversion) = match (conversion, deployment.prices_in_usd()) {
            (None, true) => ("compound-v3".to_owned(), None),
            (Some(c), false) => (
                format!(
                    "compound-v3 ({unit}) × {unit}/USD feed",
                    unit = deployment.price_unit
                ),
                Some(Conversion {
                    usd_per_unit: usd_per_unit(
                        &deployment.price_unit,
                        c.feed,
                        c.answer,
                        c.decimals,
                    )?,
                    updated_at: c.updated_at,
                    feed: c.feed,
                }),
            ),
            _ => {
                return Err(AdapterError::Config(format!(
                    "price_unit {} does not match usd_feed",
                    deployment.price_unit
                )));
            }
        };
        Ok(Self {
            chain: chain.clone(),
            comet,
            oracle,
            conversion,
            now,
        })
    }

    /// The conversion feed, if prices are converted.
    pub(crate) fn conversion_feed(&self) -> Option<Address> {
        self.conversion.map(|c| c.feed)
    }

    /// The USD price of one whole token that Comet prices at `comet_price` through `feed`.
    pub(crate) fn price(
        &self,
        comet_price: U256,
        feed: Address,
        feed_updated_at: Option<u64>,
    ) -> Result<Price> {
        let in_unit = scale(comet_price, PRICE_DECIMALS, Rounding::Down)?.value;
        let (usd, updated) = match &self.conversion {
            None => (in_unit, feed_updated_at),
            // A converted price is as old as the older of its two feeds, and of unknown age when
            // either age is unknown.
            Some(c) => (
                in_unit
                    .checked_mul(c.usd_per_unit)
                    .ok_or_else(|| AdapterError::OutOfRange {
                        what: "price × USD conversion".into(),
                        value: format!("{in_unit} × {}", c.usd_per_unit),
                    })?,
                feed_updated_at.zip(c.updated_at).map(|(a, b)| a.min(b)),
            ),
        };
        let caip10 = |a: Address| format!("{}:{}", self.chain, a.to_checksum(None));
        Ok(Price {
            usd: usd.normalize(),
            source: PriceSource {
                oracle: self.oracle.clone(),
                address: Some(caip10(self.comet)),
                feed: Some(caip10(feed)),
            },
            updated_at: updated.and_then(|t| Utc.timestamp_opt(i64::try_from(t).ok()?, 0).single()),
            age_seconds: updated.map(|t| self.now.saturating_sub(t)),
        })
    }
}
