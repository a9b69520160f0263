//! What one deployment remembers between profiles, so the steady state costs one batch.
//!
//! * Market params per id. They never change: a Morpho market is immutable and its id is the
//!   hash of its params, which is checked when they are first read, so this memo cannot go stale.
//! * The last stored `Market` seen per id, the input `borrowRateView` needs. A market's stored
//!   state changes only when someone interacts with it; as long as it has not, the rate asked in
//!   the same batch with the remembered state is the exact rate. When it has, one more round trip
//!   asks for the rate of the state actually read.
//! * Per owner, the markets found in event logs and the last block scanned, so discovery only
//!   scans new blocks.
//!
//! Locks are `std` locks held for map operations only, never across an `.await`.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Mutex, PoisonError, RwLock},
};

use alloy::primitives::{Address, B256};

use crate::bindings::morpho::IMorpho;

/// Owners whose discovery state is kept; beyond this the oldest entry is dropped (and would be
/// rescanned from the start on its next profile).
const MAX_DISCOVERY_OWNERS: usize = 10_000;

/// Markets an owner was seen in, up to a block.
#[derive(Debug, Clone, Default)]
pub(crate) struct Discovered {
    /// Last block scanned (inclusive).
    pub(crate) scanned_to: u64,
    /// Market ids found so far.
    pub(crate) markets: BTreeSet<B256>,
}

/// Memoized state of one deployment, shared by all its adapters.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    params: RwLock<BTreeMap<B256, IMorpho::MarketParams>>,
    rate_inputs: Mutex<BTreeMap<B256, IMorpho::Market>>,
    discovery: Mutex<BTreeMap<Address, (u64, Discovered)>>,
    discovery_clock: Mutex<u64>,
}

impl Memo {
    pub(crate) fn params(&self, id: &B256) -> Option<IMorpho::MarketParams> {
        self.params
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub(crate) fn remember_params(&self, id: B256, params: IMorpho::MarketParams) {
        self.params
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, params);
    }

    pub(crate) fn rate_input(&self, id: &B256) -> Option<IMorpho::Market> {
        self.rate_inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub(crate) fn remember_rate_input(&self, id: B256, market: IMorpho::Market) {
        self.rate_inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, market);
    }

    pub(crate) fn discovered(&self, owner: &Address) -> Option<Discovered> {
        self.discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(owner)
            .map(|(_, d)| d.clone())
    }

    /// Merges a scan into the owner's record. A scan that ends before what is already known only
    /// adds markets, so concurrent profiles pinned at different blocks never lose one.
    pub(crate) fn remember_discovered(
        &self,
        owner: Address,
        scanned_to: u64,
        markets: BTreeSet<B256>,
    ) {
        let stamp = {
            let mut clock = self
                .discovery_clock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *clock += 1;
            *clock
        };
        let mut map = self
            .discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = map.entry(owner).or_default();
        entry.0 = stamp;
        entry.1.scanned_to = entry.1.scanned_to.max(scanned_to);
        entry.1.markets.extend(markets);
        if map.len() > MAX_DISCOVERY_OWNERS {
            // Drop the least recently updated owner.
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (stamp, _))| *stamp)
                .map(|(owner, _)| *owner)
            {
                map.remove(&oldest);
            }
        }
    }
}
