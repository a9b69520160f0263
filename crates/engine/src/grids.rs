//! Compiled scenario grids, reused across profiles.
//!
//! A grid (its scenarios, their moves, ids and reported moves: [`crate::scenarios`]) depends on
//! the risk model and on the shape of the book — which risk groups and pegs it holds, which
//! groups carry options — but not on the positions' sizes or prices. A server computes every
//! profile with one model, and owners' books come in few shapes, so the grid is built once per
//! shape and shared, much as a clearing house publishes its risk arrays once a day instead of
//! recomputing them per portfolio. Building one costs about as much as evaluating it.
//!
//! A cached grid is found by comparing everything [`crate::scenarios::build`] reads — the grid
//! and correlation configuration, each book group's name, kind, scale and options flag, each
//! peg's name, depeg and presence — so a model changed after a grid was cached (the settings'
//! fields are public) finds no stale grid: it builds its own.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use rust_decimal::Decimal;

use crate::{
    book::Book,
    correlation::Correlation,
    model::{CorrelationConfig, GridConfig, RiskModel},
    scenarios::{self, Scenarios},
};

/// How many grids a cache keeps (the oldest goes first): owners' books come in few shapes.
const CAPACITY: usize = 32;

/// A shared cache of compiled scenario grids: a grid depends on the model and on the shape of the
/// book (its groups, pegs and options), not on sizes or prices, so each shape is built once.
/// Cloning shares it; it takes no part in comparing settings.
#[derive(Clone, Default)]
pub struct GridCache(Arc<Shared>);

/// The cache's grids and counters.
#[derive(Default)]
struct Shared {
    grids: Mutex<Vec<Arc<Compiled>>>,
    found: AtomicU64,
    built: AtomicU64,
}

/// What a [`GridCache`] holds and has done, for monitoring: a server whose owners' books come
/// in more shapes than the cache keeps rebuilds grids (`built` grows with the profiles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridCacheStats {
    /// Grids held now.
    pub grids: usize,
    /// Profiles (and segments) that found their grid compiled, since the cache was made.
    pub found: u64,
    /// Grids built, since the cache was made.
    pub built: u64,
}

impl std::fmt::Debug for GridCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grids = self.0.grids.lock().map_or(0, |grids| grids.len());
        f.debug_struct("GridCache").field("grids", &grids).finish()
    }
}

impl PartialEq for GridCache {
    /// Always equal: a cache holds nothing that changes results.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for GridCache {}

/// One compiled grid and what it was compiled from.
struct Compiled {
    key: Key,
    scenarios: Arc<Scenarios>,
}

/// Everything a grid is built from.
struct Key {
    grid: GridConfig,
    correlation: CorrelationConfig,
    /// Per book group: name, numeraire, scale, holds options.
    groups: Vec<(String, bool, Decimal, bool)>,
    /// Per book peg: name, depeg, present.
    pegs: Vec<(String, Decimal, bool)>,
    /// Whether the book holds any option (volatility factors are then computed).
    options: bool,
}

impl Key {
    fn of(book: &Book, model: &RiskModel) -> Self {
        Self {
            grid: model.grid.clone(),
            correlation: model.correlation.clone(),
            groups: book
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.numeraire, g.scale, g.has_options))
                .collect(),
            pegs: book
                .pegs
                .iter()
                .map(|p| (p.name.clone(), p.depeg, p.present))
                .collect(),
            options: !book.options.is_empty(),
        }
    }

    /// Whether `book` under `model` would build the grid this key was built from, compared
    /// without allocating.
    fn matches(&self, book: &Book, model: &RiskModel) -> bool {
        self.options != book.options.is_empty()
            && self.groups.len() == book.groups.len()
            && self.pegs.len() == book.pegs.len()
            && self.groups.iter().zip(&book.groups).all(|(k, g)| {
                k.1 == g.numeraire && k.3 == g.has_options && k.2 == g.scale && k.0 == g.name
            })
            && self
                .pegs
                .iter()
                .zip(&book.pegs)
                .all(|(k, p)| k.2 == p.present && k.1 == p.depeg && k.0 == p.name)
            && self.grid == model.grid
            && self.correlation == model.correlation
    }
}

impl GridCache {
    /// The cache's size and counters.
    pub fn stats(&self) -> GridCacheStats {
        GridCacheStats {
            grids: self.0.grids.lock().map_or(0, |grids| grids.len()),
            found: self.0.found.load(Ordering::Relaxed),
            built: self.0.built.load(Ordering::Relaxed),
        }
    }

    /// The grid of `book` under `model` (whose correlation is `correlation`): the cached one when
    /// a grid of the same shape was built before, else a new one, cached. A cache that cannot be
    /// locked (a panic elsewhere poisoned it) is bypassed, never trusted half-written.
    pub(crate) fn grid(
        &self,
        book: &Book,
        model: &RiskModel,
        correlation: &Correlation,
    ) -> Arc<Scenarios> {
        if let Ok(grids) = self.0.grids.lock()
            && let Some(found) = grids.iter().find(|c| c.key.matches(book, model))
        {
            self.0.found.fetch_add(1, Ordering::Relaxed);
            return found.scenarios.clone();
        }
        // Built outside the lock, so profiles of known shapes never wait for a build.
        let scenarios = Arc::new(scenarios::build(book, model, correlation));
        self.0.built.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut grids) = self.0.grids.lock() {
            // Another profile of the same shape may have built it meanwhile: keep one copy.
            if let Some(found) = grids.iter().find(|c| c.key.matches(book, model)) {
                return found.scenarios.clone();
            }
            if grids.len() >= CAPACITY {
                grids.remove(0);
            }
            grids.push(Arc::new(Compiled {
                key: Key::of(book, model),
                scenarios: scenarios.clone(),
            }));
        }
        scenarios
    }
}
