//! Assets.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::chain::ChainId;

/// Where an asset lives: a token contract or mint on a chain, or a venue's own symbol for
/// off-chain venues. Rendered like CAIP-19 (`eip155:1/erc20:0xA0b8…`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct AssetId {
    /// Chain the token lives on.
    pub chain: ChainId,
    /// Token standard namespace: `erc20`, `spl`, `venue` (off-chain symbol).
    pub namespace: String,
    /// Contract address, mint, or venue symbol in canonical spelling.
    pub reference: String,
}

impl std::fmt::Display for AssetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.chain, self.namespace, self.reference)
    }
}

/// An asset as a position refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Asset {
    /// Where the token lives.
    pub id: AssetId,
    /// Ticker as the protocol reports it (`USDC`, `WETH`).
    pub symbol: String,
    /// Base-unit decimals of the token.
    pub decimals: u8,
    /// The risk group the engine nets and stresses together (`ETH` for WETH on any chain, `USD`
    /// for dollar stablecoins). Assigned by the adapter from configuration; defaults to the
    /// upper-cased symbol.
    pub risk_key: String,
}
