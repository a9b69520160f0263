//! Interest accrued to the pinned block, as Comet's `accruedInterestIndices` computes it for
//! `balanceOf`, `borrowBalanceOf` and every transaction (which accrue first).

use std::collections::BTreeMap;

use alloy::primitives::U256;
use unimargin_sdk::{AdapterError, Result};

use crate::{bindings::comet::CometStorage::TotalsBasic, fetch::RateModel, math};

/// The market's indices, stored and accrued to the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accrual {
    /// `totalsBasic().lastAccrualTime`.
    pub(crate) last_accrual: u64,
    /// Seconds from the last accrual to the block.
    pub(crate) elapsed: u64,
    /// `getUtilization()` reproduced (at the stored indices, as Comet takes it).
    pub(crate) utilization: U256,
    /// Supply index as stored (what Comet's views use).
    pub(crate) stored_supply_index: U256,
    /// Borrow index as stored (what `isLiquidatable` uses).
    pub(crate) stored_borrow_index: U256,
    /// Supply index accrued to the block.
    pub(crate) supply_index: U256,
    /// Borrow index accrued to the block.
    pub(crate) borrow_index: U256,
}

/// Accrues the stored indices to `now` with the rates at the stored utilization.
pub(crate) fn accrue(totals: &TotalsBasic, rates: &RateModel, now: u64) -> Result<Accrual> {
    let last_accrual = totals.lastAccrualTime.to::<u64>();
    // Comet's `now - lastAccrualTime` would underflow and revert.
    let elapsed = now.checked_sub(last_accrual).ok_or_else(|| {
        AdapterError::malformed(
            "totalsBasic",
            format!("lastAccrualTime {last_accrual} is after the block time {now}"),
        )
    })?;
    let stored_supply_index = U256::from(totals.baseSupplyIndex);
    let stored_borrow_index = U256::from(totals.baseBorrowIndex);
    let utilization = math::utilization(
        stored_supply_index,
        stored_borrow_index,
        U256::from(totals.totalSupplyBase),
        U256::from(totals.totalBorrowBase),
    )?;
    let supply_rate = rates.supply.rate(utilization)?;
    let borrow_rate = rates.borrow.rate(utilization)?;
    Ok(Accrual {
        last_accrual,
        elapsed,
        utilization,
        stored_supply_index,
        stored_borrow_index,
        supply_index: math::accrued_index(stored_supply_index, supply_rate, elapsed)?,
        borrow_index: math::accrued_index(stored_borrow_index, borrow_rate, elapsed)?,
    })
}

impl Accrual {
    /// The figures an auditor needs to redo the accrual.
    pub(crate) fn figures(&self, into: &mut BTreeMap<String, String>) {
        for (k, v) in [
            ("last_accrual_time", self.last_accrual.to_string()),
            ("seconds_accrued", self.elapsed.to_string()),
            ("reproduced.utilization", self.utilization.to_string()),
            (
                "stored.base_supply_index",
                self.stored_supply_index.to_string(),
            ),
            (
                "stored.base_borrow_index",
                self.stored_borrow_index.to_string(),
            ),
            (
                "reproduced.base_supply_index",
                self.supply_index.to_string(),
            ),
            (
                "reproduced.base_borrow_index",
                self.borrow_index.to_string(),
            ),
        ] {
            into.insert(k.to_owned(), v);
        }
    }
}
