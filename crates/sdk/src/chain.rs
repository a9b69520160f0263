//! Chain clients and pinned readers, one variant per chain family.

use std::{collections::BTreeMap, sync::Arc};

use unimargin_schema::{ChainId, ReadPoint};

use crate::{AdapterError, Result, evm};

/// A configured client for one chain, able to pin a read point.
///
/// An enum rather than a trait object: adding a chain family (Solana) must make the compiler list
/// every place that has to learn about it.
#[derive(Debug, Clone)]
pub enum ChainClient {
    /// An EVM chain reached over JSON-RPC.
    Evm(Arc<evm::EvmClient>),
}

impl ChainClient {
    /// The chain.
    pub fn chain(&self) -> &ChainId {
        match self {
            Self::Evm(c) => c.chain(),
        }
    }

    /// Pins the read point every read of this profile on this chain will use.
    pub async fn pin(&self) -> Result<ChainReader> {
        match self {
            Self::Evm(c) => Ok(ChainReader::Evm(c.pin_latest().await?)),
        }
    }
}

/// A chain client pinned to one read point, handed to adapters.
#[derive(Debug, Clone)]
pub enum ChainReader {
    /// EVM: every `eth_call` runs at one block.
    Evm(evm::PinnedEvm),
}

impl ChainReader {
    /// The chain.
    pub fn chain(&self) -> &ChainId {
        match self {
            Self::Evm(r) => r.chain(),
        }
    }

    /// The pinned read point.
    pub fn read_point(&self) -> ReadPoint {
        match self {
            Self::Evm(r) => r.read_point(),
        }
    }

    /// The EVM reader, or an error naming the mismatch.
    pub fn evm(&self) -> Result<&evm::PinnedEvm> {
        match self {
            Self::Evm(r) => Ok(r),
        }
    }

    /// Family name for messages.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Evm(_) => "evm",
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
        self.get(chain).ok_or_else(|| AdapterError::Config(format!("no client for chain {chain}")))
    }
}
