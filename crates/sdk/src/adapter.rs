//! The adapter trait.

use async_trait::async_trait;
use auto_impl::auto_impl;
use unimargin_schema::{AccountId, ChainId, MarketId, ProtocolId, ProtocolSnapshot};

use crate::{ChainReader, Result};

/// Identity of one adapter instance: one protocol market on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AdapterDescriptor {
    /// Protocol id as configured (`aave-v3`, `spark`).
    pub protocol: ProtocolId,
    /// Implementation kind (`aave-v3` serves both `aave-v3` and `spark`).
    pub kind: String,
    /// Market within the protocol.
    pub market: MarketId,
    /// Chain the market lives on.
    pub chain: ChainId,
}

/// Reads one account's state on one protocol market.
///
/// Implementations do I/O only through the given [`ChainReader`], which is pinned to one read
/// point: every call an adapter makes sees the same chain state as every other adapter of the
/// same profile. Inside, adapters are split the same way: a `fetch` step that returns the
/// protocol's raw structs and a pure `normalize` step, so that normalization is testable without a
/// chain.
///
/// An adapter must fail rather than guess: a missing price, an undecodable reply or a value out of
/// range is an [`AdapterError`], never a zero.
#[async_trait]
#[auto_impl(Arc, Box)]
pub trait ProtocolAdapter: Send + Sync + 'static {
    /// Which protocol market this instance reads.
    fn descriptor(&self) -> &AdapterDescriptor;

    /// Reads and normalizes `account`'s positions at the reader's read point.
    async fn snapshot(&self, chain: &ChainReader, account: &AccountId) -> Result<ProtocolSnapshot>;

    /// Reads every market this adapter covers for `account`, one snapshot per market, at the
    /// reader's read point.
    ///
    /// Most adapters read one market, hence the default. A protocol of isolated markets whose set
    /// depends on the account (Morpho Blue markets found from an owner's event logs) returns one
    /// snapshot per market, each carrying its own market id in its provenance, so that every
    /// isolated market keeps its own native health.
    async fn snapshots(
        &self,
        chain: &ChainReader,
        account: &AccountId,
    ) -> Result<Vec<ProtocolSnapshot>> {
        Ok(vec![self.snapshot(chain, account).await?])
    }

    /// Whether the markets this adapter reports depend on the account (found at read time), so
    /// that its snapshots carry their own market ids rather than the descriptor's, and an account
    /// with no market is no snapshot at all rather than a missing one.
    fn discovers_markets(&self) -> bool {
        false
    }
}
