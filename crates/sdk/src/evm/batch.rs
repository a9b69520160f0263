//! Multicall3 batches: many independent `eth_call`s in one round trip, at the pinned block.

use std::marker::PhantomData;

use alloy::{primitives::Address, sol_types::SolCall};

use super::{IMulticall3, PinnedEvm};
use crate::{AdapterError, Result};

/// A typed ticket for one call of a batch.
#[derive(Debug)]
pub struct CallHandle<C> {
    index: usize,
    _call: PhantomData<fn() -> C>,
}

impl<C> Clone for CallHandle<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for CallHandle<C> {}

/// Calls collected for one `aggregate3`.
///
/// Every call is sent with `allowFailure = true`, so one reverting call cannot hide the others and
/// the failure is attributed to exactly the call that reverted.
pub struct Batch<'a> {
    evm: &'a PinnedEvm,
    calls: Vec<IMulticall3::Call3>,
    labels: Vec<(Address, &'static str)>,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(evm: &'a PinnedEvm) -> Self {
        Self {
            evm,
            calls: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Adds a call; decode its result later with the returned handle.
    pub fn add<C: SolCall>(&mut self, target: Address, call: &C) -> CallHandle<C> {
        self.calls.push(IMulticall3::Call3 {
            target,
            allowFailure: true,
            callData: call.abi_encode().into(),
        });
        self.labels.push((target, C::SIGNATURE));
        CallHandle {
            index: self.calls.len() - 1,
            _call: PhantomData,
        }
    }

    /// Number of calls queued.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Sends the batch at the pinned block. Batches submitted concurrently on the same pinned
    /// reader (by other adapters of the same profile) travel in the same `aggregate3` request.
    pub async fn execute(self) -> Result<BatchResults> {
        let results = self.evm.submit(self.calls).await?;
        Ok(BatchResults {
            results,
            labels: self.labels,
        })
    }
}

/// The results of an executed batch.
pub struct BatchResults {
    results: Vec<IMulticall3::Result>,
    labels: Vec<(Address, &'static str)>,
}

impl BatchResults {
    /// Decodes one call's result; a revert or an undecodable reply is an error naming the call.
    pub fn get<C: SolCall>(&self, handle: CallHandle<C>) -> Result<C::Return> {
        let (target, function) = self.labels[handle.index];
        let r = &self.results[handle.index];
        if !r.success {
            return Err(AdapterError::CallReverted {
                target: target.to_checksum(None),
                function,
                reason: revert_reason(&r.returnData),
            });
        }
        C::abi_decode_returns(&r.returnData)
            .map_err(|e| AdapterError::malformed(format!("{function} at {target}"), e))
    }

    /// Like [`get`](Self::get) but a revert is `Ok(None)`, for optional calls (e.g. a feed that
    /// may not implement `latestRoundData`).
    pub fn get_optional<C: SolCall>(&self, handle: CallHandle<C>) -> Result<Option<C::Return>> {
        if !self.results[handle.index].success {
            return Ok(None);
        }
        self.get(handle).map(Some)
    }
}

/// Decodes a standard `Error(string)` revert payload.
fn revert_reason(data: &[u8]) -> Option<String> {
    use alloy::sol_types::{Revert, SolError};
    if data.is_empty() {
        return None;
    }
    Revert::abi_decode(data).ok().map(|r| r.reason)
}
