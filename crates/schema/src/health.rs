//! Health: a ratio that may be infinite.

use std::{cmp::Ordering, fmt, str::FromStr};

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A health ratio (collateral-side ÷ requirement-side; below 1 means liquidatable).
///
/// An account without liabilities has infinite health. That is represented explicitly as the JSON
/// string `"infinity"` rather than a large number or `null`, so no client mistakes it for a
/// missing value or an overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// A finite, non-negative ratio.
    Finite(Decimal),
    /// No requirement at all.
    Infinite,
}

impl Health {
    /// `numerator ÷ denominator`, infinite when the denominator is zero or negative-free empty.
    pub fn ratio(numerator: Decimal, denominator: Decimal) -> Self {
        if denominator <= Decimal::ZERO {
            Self::Infinite
        } else {
            // Decimal division keeps 28 significant digits; health needs far fewer.
            Self::Finite((numerator / denominator).max(Decimal::ZERO).normalize())
        }
    }

    /// Whether the ratio is below 1 (the protocol may liquidate).
    pub fn is_liquidatable(self) -> bool {
        matches!(self, Self::Finite(v) if v < Decimal::ONE)
    }

    /// The finite value, if any.
    pub fn finite(self) -> Option<Decimal> {
        match self {
            Self::Finite(v) => Some(v),
            Self::Infinite => None,
        }
    }

    /// Rounds a finite value to `dp` decimal places (towards zero, so rounding never improves
    /// health).
    pub fn round_down(self, dp: u32) -> Self {
        match self {
            Self::Finite(v) => Self::Finite(
                v.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::ToZero)
                    .normalize(),
            ),
            Self::Infinite => Self::Infinite,
        }
    }
}

impl PartialOrd for Health {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Health {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Infinite, Self::Infinite) => Ordering::Equal,
            (Self::Infinite, _) => Ordering::Greater,
            (_, Self::Infinite) => Ordering::Less,
            (Self::Finite(a), Self::Finite(b)) => a.cmp(b),
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Finite(v) => write!(f, "{v}"),
            Self::Infinite => f.write_str("infinity"),
        }
    }
}

impl FromStr for Health {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "infinity" {
            Ok(Self::Infinite)
        } else {
            Decimal::from_str_exact(s).map(Self::Finite)
        }
    }
}

impl Serialize for Health {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Health {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Health {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Health".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Health ratio as an exact decimal string, or `infinity` when there is nothing to cover. Below 1 is liquidatable.",
            "pattern": "^(infinity|[0-9]+(\\.[0-9]+)?)$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn infinite_when_no_requirement() {
        assert_eq!(Health::ratio(d("5"), Decimal::ZERO), Health::Infinite);
        assert_eq!(
            serde_json::to_string(&Health::Infinite).unwrap(),
            "\"infinity\""
        );
        assert_eq!(
            serde_json::from_str::<Health>("\"infinity\"").unwrap(),
            Health::Infinite
        );
    }

    #[test]
    fn finite_round_trip_and_order() {
        let h = Health::ratio(d("3"), d("2"));
        assert_eq!(h, Health::Finite(d("1.5")));
        assert_eq!(serde_json::to_string(&h).unwrap(), "\"1.5\"");
        assert!(Health::Finite(d("0.99")).is_liquidatable());
        assert!(!Health::Finite(d("1")).is_liquidatable());
        assert!(Health::Infinite > Health::Finite(d("1000000")));
        assert_eq!(
            Health::Finite(d("1.23456")).round_down(2),
            Health::Finite(d("1.23"))
        );
    }
}
