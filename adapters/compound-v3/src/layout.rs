//! The market's static layout and its memo.
//!
//! A profile must cost one Multicall3 round trip per chain. Comet's per-account reads
//! (`collateralBalanceOf(account, asset)`, `getPrice(feed)`) need the asset and feed addresses,
//! which live in `getAssetInfo(i)`: reading them first would cost a second round trip on every
//! profile. The addresses are immutables of Comet's implementation and change only when
//! governance upgrades it, so they are read once and kept here. Every profile's batch reads
//! `numAssets()`, `baseToken()`, `baseTokenPriceFeed()` and every `getAssetInfo(i)` again at the
//! pinned block and compares them with this memo (see `fetch::fetch_account`); on any difference
//! the layout is read again at that block and the batch is retried once. Values that may change
//! (collateral factors, prices, balances) always come from the profile's own batch, never from
//! here.

use std::{collections::BTreeMap, sync::Arc};

use alloy::primitives::{Address, U256};
use tokio::sync::{Mutex, MutexGuard, RwLock};

/// One listed collateral: what the per-account reads need before they can be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetSlot {
    /// The collateral token.
    pub asset: Address,
    /// Its feed, passed to `getPrice`.
    pub price_feed: Address,
    /// `10^decimals` of the token.
    pub scale: u64,
}

/// The addresses and scales of one Comet, as read at `read_at_block`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `baseToken()`.
    pub base_token: Address,
    /// `baseTokenPriceFeed()`.
    pub base_price_feed: Address,
    /// `decimals()` of the base token.
    pub base_decimals: u8,
    /// `baseScale()` (`10^base_decimals`).
    pub base_scale: U256,
    /// `getAssetInfo(i)` for `i` in `0..numAssets()`, in offset order.
    pub assets: Vec<AssetSlot>,
    /// Block the layout was read at (for logs).
    pub read_at_block: u64,
}

/// What one adapter remembers between profiles.
#[derive(Debug, Default)]
struct Memo {
    layout: Option<Arc<Layout>>,
    /// Token symbols by address. Labels only: a symbol never decides an amount or a weight.
    symbols: BTreeMap<Address, String>,
}

/// The memo of one deployment, shared by concurrent profiles.
#[derive(Debug, Default)]
pub struct LayoutCache {
    memo: RwLock<Memo>,
    /// Held while the layout is being read, so concurrent profiles read it once.
    refreshing: Mutex<()>,
}

impl LayoutCache {
    /// An empty cache (the first profile reads the layout).
    pub fn new() -> Self {
        Self::default()
    }

    /// The remembered layout, if any.
    pub async fn layout(&self) -> Option<Arc<Layout>> {
        self.memo.read().await.layout.clone()
    }

    /// Waits for the right to read the layout. Returns the guard and the layout someone else
    /// stored while we waited, if it is not `stale` (then there is nothing to read).
    pub async fn begin_refresh(
        &self,
        stale: Option<&Arc<Layout>>,
    ) -> (MutexGuard<'_, ()>, Option<Arc<Layout>>) {
        let guard = self.refreshing.lock().await;
        let current = self.layout().await;
        let fresh = match (current, stale) {
            (Some(current), Some(stale)) if !Arc::ptr_eq(&current, stale) => Some(current),
            (Some(current), None) => Some(current),
            _ => None,
        };
        (guard, fresh)
    }

    /// Replaces the layout.
    pub async fn set_layout(&self, layout: Arc<Layout>) {
        self.memo.write().await.layout = Some(layout);
    }

    /// Symbols learned so far.
    pub async fn symbols(&self) -> BTreeMap<Address, String> {
        self.memo.read().await.symbols.clone()
    }

    /// Remembers symbols learned by a read.
    pub async fn add_symbols(&self, learned: &BTreeMap<Address, String>) {
        if learned.is_empty() {
            return;
        }
        let mut memo = self.memo.write().await;
        for (address, symbol) in learned {
            memo.symbols.insert(*address, symbol.clone());
        }
    }
}
