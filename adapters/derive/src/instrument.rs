//! Derive instrument names: `ETH-PERP`, `ETH-20260130-3000-C` (currency, expiry date, strike,
//! call or put).

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use unimargin_schema::OptionKind;
use unimargin_sdk::{AdapterError, Result};

/// An option instrument as its name describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionName {
    /// Underlying currency (`ETH`).
    pub currency: String,
    /// Expiry date as written (`20260130`), the `expiry_date` of `get_tickers`.
    pub expiry_date: String,
    /// Expiry, seconds since the epoch, at `expiry_hour_utc` on the expiry date.
    pub expiry: u64,
    /// Strike (USD).
    pub strike: Decimal,
    /// Call or put.
    pub kind: OptionKind,
}

/// Parses `CURRENCY-YYYYMMDD-STRIKE-C|P`.
pub fn parse_option(name: &str, expiry_hour_utc: u32) -> Result<OptionName> {
    let bad = |why: &str| AdapterError::malformed(format!("instrument `{name}`"), why);
    let parts: Vec<&str> = name.split('-').collect();
    let [currency, date, strike, kind] = parts.as_slice() else {
        return Err(bad("not CURRENCY-YYYYMMDD-STRIKE-C|P"));
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expiry is not YYYYMMDD"));
    }
    let day =
        NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad("expiry is not YYYYMMDD"))?;
    let at = day
        .and_hms_opt(expiry_hour_utc, 0, 0)
        .ok_or_else(|| bad("expiry hour out of range"))?;
    let expiry = u64::try_from(Utc.from_utc_datetime(&at).timestamp())
        .map_err(|_| bad("expiry before 1970"))?;
    let strike: Decimal = strike.parse().map_err(|_| bad("strike is not a number"))?;
    if strike <= Decimal::ZERO {
        return Err(bad("strike is not positive"));
    }
    let kind = match *kind {
        "C" => OptionKind::Call,
        "P" => OptionKind::Put,
        _ => return Err(bad("kind is neither C nor P")),
    };
    Ok(OptionName {
        currency: (*currency).to_owned(),
        expiry_date: (*date).to_owned(),
        expiry,
        strike,
        kind,
    })
}

/// The underlying currency of any instrument (`ETH` of `ETH-PERP`).
pub fn currency(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test reports failure by panicking")]
    use super::*;

    #[test]
    fn parses_option_names() {
        let o = parse_option("ETH-20260130-3000-C", 8).unwrap();
        // 2026-01-30 08:00:00 UTC = 1769760000.
        assert_eq!(o.expiry, 1_769_760_000);
        assert_eq!(o.strike, Decimal::from(3000));
        assert_eq!(o.kind, OptionKind::Call);
        assert_eq!(o.expiry_date, "20260130");
        assert_eq!(
            parse_option("BTC-20260327-0.5-P", 8).unwrap().strike,
            Decimal::new(5, 1)
        );
        for bad in [
            "ETH-PERP",
            "ETH-2026013-3000-C",
            "ETH-20260130-x-C",
            "ETH-20260130-3000-X",
            "ETH-20260130--1-C",
        ] {
            assert!(parse_option(bad, 8).is_err(), "{bad}");
        }
        assert_eq!(currency("BTC-PERP"), "BTC");
    }
}
