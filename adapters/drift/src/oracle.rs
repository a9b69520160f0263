//! Oracle prices as Drift reads them (`state/oracle.rs`, `math/oracle.rs` of the program): every
//! source scaled to `PRICE_PRECISION` with its multiplier, and the validity rules that decide
//! whether a price may be used for a margin calculation.
//!
//! Pyth pull (`PriceUpdateV2`) and Switchboard On-Demand accounts are decoded by the SDK into a
//! [`PriceQuote`]; Drift's own `PythLazerOracle` and `PrelaunchOracle` accounts are decoded here.

use unimargin_sdk::solana::oracle::PriceQuote;

use crate::{
    constants::{PERCENTAGE_PRECISION, PRICE_PRECISION},
    layout::{PrelaunchOracle, PythLazerOracle, ValidityGuardRails},
    types::OracleSource,
};

/// Drift's `OraclePriceData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OraclePriceData {
    /// Price (`PRICE_PRECISION`), multiplier applied.
    pub price: i64,
    /// Confidence (`PRICE_PRECISION`).
    pub confidence: u64,
    /// Slots between the price's publication and the read slot.
    pub delay: i64,
    /// Unix time of publication, when the source records it.
    pub publish_time: Option<i64>,
}

/// Why an oracle account could not be turned into a price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    /// The source is one Drift no longer reads (push Pyth, Switchboard v2).
    #[error("oracle source {0:?} is not supported")]
    Unsupported(OracleSource),
    /// The exponent cannot express the multiplier (Drift's `InvalidOracle`).
    #[error("oracle exponent {exponent} cannot carry a multiplier of {multiple}")]
    BadExponent {
        /// Exponent of the feed.
        exponent: i32,
        /// Multiplier of the source.
        multiple: u128,
    },
    /// The scaled price does not fit the program's types.
    #[error("oracle value out of range")]
    OutOfRange,
}

/// `OracleSource`'s multiplier: a `1K` market prices 1000 units, a `1M` market a million.
pub fn multiple(source: OracleSource) -> u128 {
    match source {
        OracleSource::Pyth1K | OracleSource::Pyth1KPull | OracleSource::PythLazer1K => 1_000,
        OracleSource::Pyth1M | OracleSource::Pyth1MPull | OracleSource::PythLazer1M => 1_000_000,
        _ => 1,
    }
}

fn is_stable_coin(source: OracleSource) -> bool {
    matches!(
        source,
        OracleSource::PythStableCoin
            | OracleSource::PythStableCoinPull
            | OracleSource::PythLazerStableCoin
    )
}

/// `get_pyth_price` scaling: `price × 10^exponent × multiple` to `PRICE_PRECISION`, truncated.
fn scale(
    price: i128,
    conf: u128,
    exponent: i32,
    source: OracleSource,
) -> Result<(i64, u64), OracleError> {
    let multiple = multiple(source);
    let precision = 10u128
        .checked_pow(exponent.unsigned_abs())
        .ok_or(OracleError::OutOfRange)?;
    if precision <= multiple && multiple > 1 {
        return Err(OracleError::BadExponent { exponent, multiple });
    }
    let precision = precision / multiple;
    let pp = PRICE_PRECISION as u128;
    let (mul, div) = if precision > pp {
        (1u128, precision / pp)
    } else {
        (pp / precision.max(1), 1u128)
    };
    let p = price
        .checked_mul(i128::try_from(mul).map_err(|_| OracleError::OutOfRange)?)
        .and_then(|v| v.checked_div(i128::try_from(div).ok()?))
        .ok_or(OracleError::OutOfRange)?;
    let c = conf
        .checked_mul(mul)
        .and_then(|v| v.checked_div(div))
        .ok_or(OracleError::OutOfRange)?;
    Ok((
        i64::try_from(p).map_err(|_| OracleError::OutOfRange)?,
        u64::try_from(c).map_err(|_| OracleError::OutOfRange)?,
    ))
}

/// Stable coins within `min(5 bps, confidence)` of $1 are priced at exactly $1.
fn pin_stable(source: OracleSource, mut data: OraclePriceData) -> OraclePriceData {
    let five_bps = (PRICE_PRECISION / 2000) as i64;
    if is_stable_coin(source) {
        let band = five_bps.min(i64::try_from(data.confidence).unwrap_or(i64::MAX));
        if (data.price - PRICE_PRECISION as i64).abs() <= band {
            data.price = PRICE_PRECISION as i64;
        }
    }
    data
}

/// A Pyth pull or Switchboard On-Demand quote, decoded by the SDK, as Drift reads it.
pub fn from_quote(
    quote: &PriceQuote,
    source: OracleSource,
    clock_slot: u64,
) -> Result<OraclePriceData, OracleError> {
    let (price, confidence) = scale(quote.price, quote.conf, quote.exponent, source)?;
    let delay = (clock_slot as i64).saturating_sub(quote.slot as i64);
    Ok(pin_stable(
        source,
        OraclePriceData {
            price,
            confidence,
            delay,
            publish_time: Some(quote.publish_time),
        },
    ))
}

/// Drift's `PythLazerOracle` account.
pub fn from_lazer(
    oracle: &PythLazerOracle,
    source: OracleSource,
    clock_slot: u64,
) -> Result<OraclePriceData, OracleError> {
    let (price, confidence) = scale(
        i128::from(oracle.price.get()),
        u128::from(oracle.conf.get()),
        oracle.exponent.get(),
        source,
    )?;
    let delay = (clock_slot as i64).saturating_sub(oracle.posted_slot.get() as i64);
    // Lazer publish times are in microseconds.
    let publish_time = i64::try_from(oracle.publish_time.get() / 1_000_000).ok();
    Ok(pin_stable(
        source,
        OraclePriceData {
            price,
            confidence,
            delay,
            publish_time,
        },
    ))
}

/// Drift's `PrelaunchOracle`, already in `PRICE_PRECISION`.
pub fn from_prelaunch(oracle: &PrelaunchOracle, clock_slot: u64) -> OraclePriceData {
    OraclePriceData {
        price: oracle.price.get(),
        confidence: oracle.confidence.get(),
        delay: (clock_slot as i64).saturating_sub(oracle.amm_last_update_slot.get() as i64),
        publish_time: None,
    }
}

/// `OracleSource::QuoteAsset`: one dollar, always fresh.
pub fn quote_asset() -> OraclePriceData {
    OraclePriceData {
        price: PRICE_PRECISION as i64,
        confidence: 1,
        delay: 0,
        publish_time: None,
    }
}

/// `OracleValidity`, reduced to what decides a margin calculation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// Usable.
    Valid,
    /// Zero or negative.
    NonPositive,
    /// Too far from its TWAP (`too_volatile_ratio`).
    TooVolatile,
    /// Confidence wider than `confidence_interval_max_size × multiplier` of the price.
    TooUncertain,
    /// Older than `slots_before_stale_for_margin`.
    StaleForMargin,
}

/// `oracle_validity` in the order the program checks, for `DriftAction::MarginCalc`.
pub fn validity(
    data: &OraclePriceData,
    last_twap: i64,
    rails: &ValidityGuardRails,
    conf_multiplier: u64,
) -> Validity {
    if data.price <= 0 {
        return Validity::NonPositive;
    }
    let hi = data.price.max(last_twap);
    let lo = data.price.min(last_twap).max(1);
    if hi / lo > rails.too_volatile_ratio.get() {
        return Validity::TooVolatile;
    }
    let conf_pct = u128::from(data.confidence.max(1)) * PERCENTAGE_PRECISION
        / u128::from(data.price.unsigned_abs());
    if conf_pct > u128::from(rails.confidence_interval_max_size.get()) * u128::from(conf_multiplier)
    {
        return Validity::TooUncertain;
    }
    if data.delay > rails.slots_before_stale_for_margin.get() {
        return Validity::StaleForMargin;
    }
    Validity::Valid
}

/// `SpotMarket::get_max_confidence_interval_multiplier` by asset tier.
pub fn spot_conf_multiplier(asset_tier: u8) -> u64 {
    match asset_tier {
        0 | 1 => 1, // Collateral, Protected
        2 => 5,     // Cross
        _ => 50,    // Isolated, Unlisted
    }
}

/// `PerpMarket::get_max_confidence_interval_multiplier` by contract tier.
pub fn perp_conf_multiplier(contract_tier: u8) -> u64 {
    match contract_tier {
        0 | 1 => 1, // A, B
        2 => 2,     // C
        3 => 10,    // Speculative
        _ => 50,    // HighlySpeculative, Isolated
    }
}
