//! Chain identifiers: CAIP-2 (`namespace:reference`) plus configurable friendly aliases.

use std::{collections::BTreeMap, fmt, str::FromStr};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Chain families Unimargin knows how to read. A new family is a deliberate, reviewed change: every
/// `match` on this enum is exhaustive so the compiler lists what must learn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChainNamespace {
    /// EVM chains, reference = decimal chain id (`eip155:1`).
    Eip155,
    /// Solana clusters, reference = first 32 chars of the genesis hash (`solana:5eykt4Us…`).
    Solana,
}

impl ChainNamespace {
    /// The CAIP-2 namespace string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Eip155 => "eip155",
            Self::Solana => "solana",
        }
    }
}

/// Why a chain identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainIdError {
    /// Not of the form `namespace:reference`.
    #[error("chain id `{0}` is not a CAIP-2 identifier (`namespace:reference`, e.g. `eip155:1`)")]
    Malformed(String),
    /// A namespace other than `eip155` or `solana`.
    #[error("unsupported chain namespace `{0}` (supported: eip155, solana)")]
    UnsupportedNamespace(String),
    /// The reference does not fit the namespace's rules.
    #[error("invalid {namespace} chain reference `{reference}`: {reason}")]
    InvalidReference {
        /// The namespace that was parsed.
        namespace: &'static str,
        /// The offending reference.
        reference: String,
        /// What rule it broke.
        reason: &'static str,
    },
    /// A friendly alias (`ethereum`) that the configuration does not define.
    #[error("unknown chain `{0}`: not a CAIP-2 id and not a configured alias")]
    UnknownAlias(String),
}

/// A CAIP-2 chain identifier, e.g. `eip155:1` or `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`.
///
/// Stored in canonical form: EVM references are decimal chain ids without leading zeros, so two
/// spellings of one chain can never become two cache keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId {
    namespace: ChainNamespace,
    reference: String,
}

impl ChainId {
    /// An EVM chain by its numeric chain id.
    pub fn evm(chain_id: u64) -> Self {
        Self {
            namespace: ChainNamespace::Eip155,
            reference: chain_id.to_string(),
        }
    }

    /// A Solana cluster by its CAIP-2 reference (genesis hash prefix).
    pub fn solana(reference: &str) -> Result<Self, ChainIdError> {
        format!("solana:{reference}").parse()
    }

    /// The chain family.
    pub fn namespace(&self) -> ChainNamespace {
        self.namespace
    }

    /// The namespace-specific reference.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The numeric chain id of an EVM chain, `None` for other families.
    pub fn evm_chain_id(&self) -> Option<u64> {
        match self.namespace {
            ChainNamespace::Eip155 => self.reference.parse().ok(),
            ChainNamespace::Solana => None,
        }
    }

    /// Parses a CAIP-2 id or, failing that, a friendly alias from `aliases`.
    pub fn parse_with_aliases(s: &str, aliases: &ChainAliases) -> Result<Self, ChainIdError> {
        if s.contains(':') {
            return s.parse();
        }
        aliases
            .resolve(s)
            .cloned()
            .ok_or_else(|| ChainIdError::UnknownAlias(s.to_owned()))
    }
}

impl FromStr for ChainId {
    type Err = ChainIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ns, reference) = s
            .split_once(':')
            .ok_or_else(|| ChainIdError::Malformed(s.to_owned()))?;
        match ns {
            "eip155" => {
                let invalid = |reason| ChainIdError::InvalidReference {
                    namespace: "eip155",
                    reference: reference.to_owned(),
                    reason,
                };
                if reference.is_empty() || !reference.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("must be a decimal chain id"));
                }
                let id: u64 = reference
                    .parse()
                    .map_err(|_| invalid("chain id out of range"))?;
                if id == 0 {
                    return Err(invalid("chain id 0 is not a chain"));
                }
                Ok(Self::evm(id))
            }
            "solana" => {
                // CAIP-30: the first 32 base58 characters of the genesis hash.
                let ok = reference.len() == 32
                    && reference.bytes().all(|b| b.is_ascii_alphanumeric())
                    && bs58::decode(reference).into_vec().is_ok();
                if !ok {
                    return Err(ChainIdError::InvalidReference {
                        namespace: "solana",
                        reference: reference.to_owned(),
                        reason: "must be the 32-character base58 genesis hash prefix",
                    });
                }
                Ok(Self {
                    namespace: ChainNamespace::Solana,
                    reference: reference.to_owned(),
                })
            }
            "" => Err(ChainIdError::Malformed(s.to_owned())),
            other => Err(ChainIdError::UnsupportedNamespace(other.to_owned())),
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace.as_str(), self.reference)
    }
}

impl Serialize for ChainId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ChainId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ChainId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "CAIP-2 chain id, e.g. `eip155:1` or `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`.",
            "pattern": "^(eip155:[1-9][0-9]*|solana:[1-9A-HJ-NP-Za-km-z]{32})$"
        })
    }
}

/// Friendly chain names (`ethereum`, `arbitrum`, `anvil`) mapped to CAIP-2 ids. Defined in
/// configuration, not in code, so a deployment can add a chain without a release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainAliases {
    by_name: BTreeMap<String, ChainId>,
}

impl ChainAliases {
    /// An empty alias table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an alias. Names are case-insensitive.
    pub fn insert(&mut self, name: &str, chain: ChainId) {
        self.by_name.insert(name.to_ascii_lowercase(), chain);
    }

    /// Looks an alias up.
    pub fn resolve(&self, name: &str) -> Option<&ChainId> {
        self.by_name.get(&name.to_ascii_lowercase())
    }

    /// The alias for a chain, for display (first in name order).
    pub fn name_of(&self, chain: &ChainId) -> Option<&str> {
        self.by_name
            .iter()
            .find(|(_, c)| *c == chain)
            .map(|(n, _)| n.as_str())
    }

    /// All aliases in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ChainId)> {
        self.by_name.iter().map(|(n, c)| (n.as_str(), c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_ids() {
        assert_eq!("eip155:1".parse::<ChainId>().unwrap(), ChainId::evm(1));
        assert_eq!(
            "eip155:42161".parse::<ChainId>().unwrap().evm_chain_id(),
            Some(42161)
        );
        let sol: ChainId = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp".parse().unwrap();
        assert_eq!(sol.namespace(), ChainNamespace::Solana);
        assert_eq!(sol.to_string(), "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp");
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "",
            "eip155",
            "eip155:",
            "eip155:0",
            "eip155:01x",
            "eip155:-1",
            ":1",
            "solana:short",
        ] {
            assert!(bad.parse::<ChainId>().is_err(), "{bad} should be rejected");
        }
        assert!(matches!(
            "cosmos:hub".parse::<ChainId>(),
            Err(ChainIdError::UnsupportedNamespace(ns)) if ns == "cosmos"
        ));
    }

    #[test]
    fn leading_zeros_are_canonicalized() {
        assert_eq!(
            "eip155:0010".parse::<ChainId>().unwrap().to_string(),
            "eip155:10"
        );
    }

    #[test]
    fn aliases_resolve_case_insensitively() {
        let mut aliases = ChainAliases::new();
        aliases.insert("Ethereum", ChainId::evm(1));
        assert_eq!(
            ChainId::parse_with_aliases("ETHEREUM", &aliases).unwrap(),
            ChainId::evm(1)
        );
        assert_eq!(
            ChainId::parse_with_aliases("mars", &aliases),
            Err(ChainIdError::UnknownAlias("mars".into()))
        );
        assert_eq!(aliases.name_of(&ChainId::evm(1)), Some("ethereum"));
    }
}
