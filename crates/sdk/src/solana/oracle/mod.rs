//! Oracle accounts the Solana programs read, decoded as the oracle programs store them, and the
//! guards that keep a stale or uncertain price out of a profile.
//!
//! * [`pyth`]: Pyth pull oracle `PriceUpdateV2` (owned by the Pyth receiver program or a
//!   protocol's own receiver), borsh-encoded.
//! * [`switchboard`]: Switchboard On-Demand `PullFeedAccountData`, zero-copy.
//! * [`OracleGuard`]: maximum age against the pinned slot's clock and maximum confidence / price;
//!   a violation is an [`AdapterError`] naming the feed (stale → `stale_price`, too uncertain →
//!   `missing_price`), so the profile is incomplete rather than wrong.
//!
//! Both decoders produce a [`PriceQuote`], the oracle-independent view adapters work with.

pub mod pyth;
pub mod switchboard;

use rust_decimal::Decimal;
use solana_pubkey::Pubkey;

use crate::{
    AdapterError,
    units::{Rounding, Scaled},
};

use super::fixed::decimal_from_mantissa;

/// Which oracle program produced a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OracleKind {
    /// Pyth pull oracle (`PriceUpdateV2`).
    PythPull,
    /// Switchboard On-Demand (`PullFeedAccountData`).
    SwitchboardOnDemand,
}

impl OracleKind {
    /// The name used in price sources (`pyth`, `switchboard`).
    pub fn source_name(self) -> &'static str {
        match self {
            Self::PythPull => "pyth",
            Self::SwitchboardOnDemand => "switchboard",
        }
    }
}

/// A price as an oracle account states it: `price × 10^exponent` with a confidence (standard
/// deviation for Switchboard) in the same units, the time it was published and the slot it was
/// posted or signed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceQuote {
    /// The oracle account.
    pub feed: Pubkey,
    /// Which oracle program.
    pub kind: OracleKind,
    /// Price mantissa.
    pub price: i128,
    /// Confidence mantissa (Pyth `conf`, Switchboard `std_dev`), same exponent as `price`.
    pub conf: u128,
    /// Decimal exponent of `price` and `conf`.
    pub exponent: i32,
    /// Unix time of publication (Pyth `publish_time`, Switchboard `last_update_timestamp`).
    pub publish_time: i64,
    /// Slot the update was posted (Pyth `posted_slot`) or signed at (Switchboard `result.slot`).
    pub slot: u64,
}

impl PriceQuote {
    /// The price in USD per whole unit, exact when it fits.
    pub fn price_decimal(&self, rounding: Rounding) -> Result<Scaled, AdapterError> {
        decimal_from_mantissa(self.price, self.exponent, rounding)
    }

    /// The confidence in the price's units, exact when it fits.
    pub fn conf_decimal(&self, rounding: Rounding) -> Result<Scaled, AdapterError> {
        let conf = i128::try_from(self.conf).map_err(|_| AdapterError::OutOfRange {
            what: "oracle confidence".into(),
            value: self.conf.to_string(),
        })?;
        decimal_from_mantissa(conf, self.exponent, rounding)
    }

    /// Seconds between publication and `now` (0 when published "after" now: clocks of the
    /// oracle network and the cluster drift by a second or two).
    pub fn age_secs(&self, now_unix: i64) -> u64 {
        u64::try_from(now_unix.saturating_sub(self.publish_time)).unwrap_or(0)
    }
}

/// Fail-closed limits on the prices a profile may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleGuard {
    /// Oldest acceptable price, in seconds before the pinned slot's clock.
    pub max_age_secs: u64,
    /// Largest acceptable `conf / price` (e.g. 0.05 = a 5 % band).
    pub max_conf_ratio: Decimal,
}

impl Default for OracleGuard {
    /// Two minutes and a 5 % band: looser than the programs' own limits for liquid assets, so a
    /// rejection here means the price is genuinely unusable.
    fn default() -> Self {
        Self {
            max_age_secs: 120,
            max_conf_ratio: Decimal::new(5, 2),
        }
    }
}

impl OracleGuard {
    /// Checks a quote against the guard at the pinned clock `now_unix`. `asset` names what the
    /// price is for in the error; `feed` names the oracle account (CAIP-10 preferred).
    pub fn check(
        &self,
        quote: &PriceQuote,
        now_unix: i64,
        asset: &str,
        feed: &str,
    ) -> Result<(), AdapterError> {
        let age = quote.age_secs(now_unix);
        if age > self.max_age_secs {
            return Err(AdapterError::StalePrice {
                asset: asset.to_owned(),
                feed: feed.to_owned(),
                age_secs: age,
                max_age_secs: self.max_age_secs,
            });
        }
        if quote.price <= 0 {
            return Err(AdapterError::MissingPrice {
                asset: asset.to_owned(),
                detail: format!(
                    "feed {feed} reports a non-positive price {}e{}",
                    quote.price, quote.exponent
                ),
            });
        }
        // conf / price ≤ max  ⇔  conf ≤ price × max; both sides in the quote's units, price rounded
        // down so a borderline quote is rejected rather than accepted.
        let price = quote.price_decimal(Rounding::Down)?.value;
        let conf = quote.conf_decimal(Rounding::Up)?.value;
        let limit =
            price
                .checked_mul(self.max_conf_ratio)
                .ok_or_else(|| AdapterError::OutOfRange {
                    what: "confidence limit".into(),
                    value: format!("{price} × {}", self.max_conf_ratio),
                })?;
        if conf > limit {
            return Err(AdapterError::MissingPrice {
                asset: asset.to_owned(),
                detail: format!(
                    "feed {feed} is too uncertain: confidence {conf} on price {price} exceeds {} of the price",
                    self.max_conf_ratio
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
