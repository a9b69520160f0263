//! Account identifiers: CAIP-10 (`chain:address`), with EIP-55 checksums enforced for EVM.

use std::{fmt, str::FromStr};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Keccak256};

use crate::chain::{ChainAliases, ChainId, ChainIdError, ChainNamespace};

/// Why an account identifier was rejected. Each variant maps to a precise 4xx in the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountIdError {
    /// Not `chain:address`.
    #[error("account `{0}` is not a CAIP-10 id (`eip155:1:0x…`) or `alias:address`")]
    Malformed(String),
    /// The chain part is invalid or unknown.
    #[error(transparent)]
    Chain(#[from] ChainIdError),
    /// An EVM address that is not 20 hex bytes.
    #[error("`{0}` is not an EVM address (0x followed by 40 hex digits)")]
    InvalidEvmAddress(String),
    /// A mixed-case EVM address whose EIP-55 checksum does not match: a typo, not an address.
    #[error("`{given}` fails its EIP-55 checksum (expected `{expected}`)")]
    BadChecksum {
        /// The address as given.
        given: String,
        /// The correctly checksummed spelling.
        expected: String,
    },
    /// A Solana address that is not 32 bytes of base58.
    #[error("`{0}` is not a Solana address (32 bytes, base58)")]
    InvalidSolanaAddress(String),
}

/// A CAIP-10 account: a chain plus an address in its canonical spelling (EIP-55 for EVM, base58
/// for Solana), e.g. `eip155:1:0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId {
    chain: ChainId,
    address: String,
}

impl AccountId {
    /// Builds an account from parts, validating and canonicalizing the address.
    pub fn new(chain: ChainId, address: &str) -> Result<Self, AccountIdError> {
        let address = match chain.namespace() {
            ChainNamespace::Eip155 => canonical_evm_address(address)?,
            ChainNamespace::Solana => canonical_solana_address(address)?,
        };
        Ok(Self { chain, address })
    }

    /// Parses a CAIP-10 id, or `alias:address` where the alias comes from configuration.
    pub fn parse_with_aliases(s: &str, aliases: &ChainAliases) -> Result<Self, AccountIdError> {
        let (chain_part, address) = s
            .rsplit_once(':')
            .ok_or_else(|| AccountIdError::Malformed(s.to_owned()))?;
        if chain_part.is_empty() || address.is_empty() {
            return Err(AccountIdError::Malformed(s.to_owned()));
        }
        let chain = ChainId::parse_with_aliases(chain_part, aliases)?;
        Self::new(chain, address)
    }

    /// The chain.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The canonical address (EIP-55 or base58).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The 20 address bytes of an EVM account, `None` for other families.
    pub fn evm_address_bytes(&self) -> Option<[u8; 20]> {
        if self.chain.namespace() != ChainNamespace::Eip155 {
            return None;
        }
        let mut out = [0u8; 20];
        decode_hex(&self.address[2..], &mut out).then_some(out)
    }
}

impl FromStr for AccountId {
    type Err = AccountIdError;

    /// Parses a strict CAIP-10 id (no aliases).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_with_aliases(s, &ChainAliases::new())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.chain, self.address)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for AccountId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccountId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "CAIP-10 account id: `eip155:<chain id>:<EIP-55 address>` or `solana:<genesis prefix>:<base58 address>`.",
            "pattern": "^(eip155:[1-9][0-9]*:0x[0-9a-fA-F]{40}|solana:[1-9A-HJ-NP-Za-km-z]{32}:[1-9A-HJ-NP-Za-km-z]{32,44})$"
        })
    }
}

/// Validates an EVM address and returns its EIP-55 spelling.
///
/// All-lowercase and all-uppercase addresses carry no checksum and are accepted; a mixed-case
/// address must match its checksum exactly, because a mismatch means a mistyped address.
pub(crate) fn canonical_evm_address(input: &str) -> Result<String, AccountIdError> {
    let hex = input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
        .ok_or_else(|| AccountIdError::InvalidEvmAddress(input.to_owned()))?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AccountIdError::InvalidEvmAddress(input.to_owned()));
    }
    let checksummed = eip55(&hex.to_ascii_lowercase());
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && hex != &checksummed[2..] {
        return Err(AccountIdError::BadChecksum {
            given: input.to_owned(),
            expected: checksummed,
        });
    }
    Ok(checksummed)
}

fn eip55(lower_hex: &str) -> String {
    let hash = Keccak256::digest(lower_hex.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower_hex.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn canonical_solana_address(input: &str) -> Result<String, AccountIdError> {
    match bs58::decode(input).into_vec() {
        Ok(bytes) if bytes.len() == 32 => Ok(bs58::encode(bytes).into_string()),
        _ => Err(AccountIdError::InvalidSolanaAddress(input.to_owned())),
    }
}

fn decode_hex(hex: &str, out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        match u8::from_str_radix(&hex[2 * i..2 * i + 2], 16) {
            Ok(b) => *byte = b,
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from EIP-55 itself.
    const EIP55: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn eip55_vectors_round_trip() {
        for addr in EIP55 {
            assert_eq!(canonical_evm_address(addr).unwrap(), addr);
            assert_eq!(canonical_evm_address(&addr.to_lowercase()).unwrap(), addr);
            assert_eq!(
                canonical_evm_address(&format!("0x{}", addr[2..].to_uppercase())).unwrap(),
                addr
            );
        }
    }

    #[test]
    fn bad_checksum_is_rejected_with_the_right_spelling() {
        let wrong = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        assert_eq!(
            canonical_evm_address(wrong),
            Err(AccountIdError::BadChecksum {
                given: wrong.into(),
                expected: EIP55[0].into()
            })
        );
    }

    #[test]
    fn parses_caip10_and_aliases() {
        let id: AccountId = format!("eip155:1:{}", EIP55[0].to_lowercase())
            .parse()
            .unwrap();
        assert_eq!(id.to_string(), format!("eip155:1:{}", EIP55[0]));
        assert_eq!(id.evm_address_bytes().unwrap()[0], 0x5a);

        let mut aliases = ChainAliases::new();
        aliases.insert("ethereum", ChainId::evm(1));
        let aliased =
            AccountId::parse_with_aliases(&format!("ethereum:{}", EIP55[0]), &aliases).unwrap();
        assert_eq!(aliased, id);

        let sol =
            "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T";
        assert_eq!(sol.parse::<AccountId>().unwrap().to_string(), sol);
    }

    #[test]
    fn rejects_malformed_accounts() {
        let cases = [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "eip155:1:0x123",
            "eip155:1:5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "eip155:1:0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:notbase58!",
            "eip155:1:",
        ];
        for c in cases {
            assert!(c.parse::<AccountId>().is_err(), "{c} should be rejected");
        }
    }
}
