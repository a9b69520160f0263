//! Chain clients and pinned readers, one variant per chain family.

use std::{collections::BTreeMap, sync::Arc};

use unimargin_schema::{ChainId, ReadPoint};

use crate::{AdapterError, Result, evm, solana, venue};

/// A configured client for one chain, able to pin a read point.
///
/// An enum rather than a trait object: adding a chain family (Solana) must make the compiler list
/// every place that has to learn about it.
#[derive(Debug, Clone)]
pub enum ChainClient {
    /// An EVM chain reached over JSON-RPC.
    Evm(Arc<evm::EvmClient>),
    /// An off-chain venue reached over its HTTP API.
    Venue(Arc<venue::VenueClient>),
    /// A Solana cluster reached over JSON-RPC.
    Solana(Arc<solana::SolanaClient>),
}

impl ChainClient {
    /// The chain.
    pub fn chain(&self) -> &ChainId {
        match self {
            Self::Evm(c) => c.chain(),
            Self::Venue(c) => c.chain(),
            Self::Solana(c) => c.chain(),
        }
    }

    /// Pins the read point every read of this profile on this chain will use.
    pub async fn pin(&self) -> Result<ChainReader> {
        match self {
            Self::Evm(c) => Ok(ChainReader::Evm(c.pin_latest().await?)),
            Self::Venue(c) => Ok(ChainReader::Venue(c.pin().await?)),
            Self::Solana(c) => Ok(ChainReader::Solana(c.pin().await?)),
        }
    }
}

/// A chain client pinned to one read point, handed to adapters.
#[derive(Debug, Clone)]
pub enum ChainReader {
    /// EVM: every `eth_call` runs at one block.
    Evm(evm::PinnedEvm),
    /// A venue: every request of the profile is attributed to one pinned time.
    Venue(venue::PinnedVenue),
    /// Solana: every account is served at the pinned slot or later (`minContextSlot`).
    Solana(solana::PinnedSolana),
}

impl ChainReader {
    /// The chain.
    pub fn chain(&self) -> &ChainId {
        match self {
            Self::Evm(r) => r.chain(),
            Self::Venue(r) => r.chain(),
            Self::Solana(r) => r.chain(),
        }
    }

    /// The pinned read point.
    pub fn read_point(&self) -> ReadPoint {
        match self {
            Self::Evm(r) => r.read_point(),
            Self::Venue(r) => r.read_point(),
            Self::Solana(r) => r.read_point(),
        }
    }

    /// The EVM reader, or an error naming the mismatch.
    pub fn evm(&self) -> Result<&evm::PinnedEvm> {
        match self {
            Self::Evm(r) => Ok(r),
            other => Err(AdapterError::WrongChainFamily {
                expected: "evm",
                actual: other.family(),
            }),
        }
    }

    /// The venue reader, or an error naming the mismatch.
    pub fn venue(&self) -> Result<&venue::PinnedVenue> {
        match self {
            Self::Venue(r) => Ok(r),
            other => Err(AdapterError::WrongChainFamily {
                expected: "venue",
                actual: other.family(),
            }),
        }
    }

    /// The Solana reader, or an error naming the mismatch.
    pub fn solana(&self) -> Result<&solana::PinnedSolana> {
        match self {
            Self::Solana(r) => Ok(r),
            other => Err(AdapterError::WrongChainFamily {
                expected: "solana",
                actual: other.family(),
            }),
        }
    }

    /// Family name for messages.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Evm(_) => "evm",
            Self::Venue(_) => "venue",
            Self::Solana(_) => "solana",
        }
    }
}

/// All configured chain clients, by chain.
#[derive(Debug, Clone, Default)]
pub struct ChainClients {
    by_chain: BTreeMap<ChainId, ChainClient>,
}

impl ChainClients {
    /// No clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a client, replacing any previous one for the chain.
    pub fn insert(&mut self, client: ChainClient) {
        self.by_chain.insert(client.chain().clone(), client);
    }

    /// The client of a chain.
    pub fn get(&self, chain: &ChainId) -> Option<&ChainClient> {
        self.by_chain.get(chain)
    }

    /// Chains with a client.
    pub fn chains(&self) -> impl Iterator<Item = &ChainId> {
        self.by_chain.keys()
    }

    /// The client of a chain, or a configuration error naming it.
    pub fn require(&self, chain: &ChainId) -> Result<&ChainClient> {
        self.get(chain)
            .ok_or_else(|| AdapterError::Config(format!("no client for chain {chain}")))
    }
}
