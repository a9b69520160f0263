//! Protocol and market identifiers.

use std::{fmt, str::FromStr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a protocol id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protocol id `{0}` must be 1-48 chars of lowercase ascii letters, digits and `-`")]
pub struct ProtocolIdError(pub String);

/// A protocol as configured, e.g. `aave-v3` or `spark`. Two deployments of one code base (Aave and
/// its fork Spark) are two protocol ids served by one adapter implementation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProtocolId(String);

impl JsonSchema for ProtocolId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ProtocolId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Protocol id as configured, e.g. `aave-v3`, `spark`.",
            "pattern": "^[a-z0-9][a-z0-9-]{0,47}$"
        })
    }
}

impl ProtocolId {
    /// Validates a protocol id.
    pub fn new(id: &str) -> Result<Self, ProtocolIdError> {
        let ok = !id.is_empty()
            && id.len() <= 48
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !id.starts_with('-');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(ProtocolIdError(id.to_owned()))
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProtocolId {
    type Err = ProtocolIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ProtocolId {
    type Error = ProtocolIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<ProtocolId> for String {
    fn from(p: ProtocolId) -> Self {
        p.0
    }
}

impl fmt::Display for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One market of a protocol on one chain (Aave's "core" pool, a Compound III base asset, a
/// Morpho market id): free-form, chosen by the adapter, stable across reads.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct MarketId(pub String);

impl fmt::Display for MarketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_protocol_ids() {
        assert!(ProtocolId::new("aave-v3").is_ok());
        for bad in ["", "Aave", "aave v3", "-x", "a_b"] {
            assert!(ProtocolId::new(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<ProtocolId>("\"BAD\"").is_err());
    }
}
