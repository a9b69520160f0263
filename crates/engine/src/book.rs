//! The exposure book: one traversal of every counted position, aggregated into what the stress
//! grid, the liquidation surface and the add-ons need.
//!
//! Spot, debt and perp positions revalue linearly in their asset's price, so per protocol market
//! and asset they are summed once ([`Bucket`]) and every scenario then costs a few multiplications
//! per bucket instead of per position. This is still full revaluation: a bucket's value in a
//! scenario is exactly the sum of its positions' values at the scenario's prices, and each market's
//! own rule (`adjusted collateral < requirement` liquidates) is applied to those sums. Options are
//! not linear and are repriced one by one ([`OptionLeg`]).

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use rustc_hash::FxHashMap;
use unimargin_schema::{
    AssetPrice, OptionKind, Position, PositionKind, ProtocolSnapshot, Side, Totals,
    VolatilityRegime,
};

use crate::{
    exact::{Exact, Sum},
    fixed,
    model::RiskModel,
    options,
    prices::{self, Chosen, Quote},
    pricing::Valuation,
};

/// Decimal places kept by the aggregates the grid multiplies (1e-8 USD), rounded against the
/// account so that dropping digits can only make it look worse.
const DP: u32 = 8;

pub(crate) fn floor(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(DP, RoundingStrategy::ToNegativeInfinity)
}

pub(crate) fn ceil(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(DP, RoundingStrategy::ToPositiveInfinity)
}

/// One asset (`GROUP:SYMBOL`).
#[derive(Debug, Clone)]
pub(crate) struct KeyState {
    pub(crate) key: String,
    pub(crate) symbol: String,
    pub(crate) group: usize,
    pub(crate) peg: Option<usize>,
    quotes: Vec<Quote>,
    last_quote: Option<usize>,
    pub(crate) price: Chosen,
    spot_long: Decimal,
    spot_short: Decimal,
    perp_long: Decimal,
    perp_short: Decimal,
    /// Equity change per unit of relative move (USD, at the stress prices).
    pub(crate) pnl_slope: Decimal,
    /// `pnl_slope` at 1e-8.
    pub(crate) pnl_slope_fixed: i128,
    /// Net exposure at the reference price, option deltas included (USD).
    pub(crate) net_usd: Decimal,
    /// Gross value at the reference price (for the oracle-quality factor).
    pub(crate) gross_usd: Decimal,
}

/// One risk group.
#[derive(Debug, Clone)]
pub(crate) struct GroupState {
    pub(crate) name: String,
    pub(crate) numeraire: bool,
    pub(crate) volatility: Decimal,
    /// Grid scale: `max(1, volatility ÷ reference volatility)`.
    pub(crate) scale: Decimal,
    pub(crate) has_options: bool,
    pub(crate) present: bool,
    pub(crate) reference_key: Option<usize>,
    pub(crate) long_usd: Decimal,
    pub(crate) short_usd: Decimal,
    /// The group's sums for the linear cross-margin benefit ([`crate::netting`]).
    pub(crate) netting: crate::netting::Group,
}

/// One peg (configured, or the default depeg of a numeraire group's other members).
#[derive(Debug, Clone)]
pub(crate) struct PegState {
    pub(crate) name: String,
    pub(crate) depeg: Decimal,
    pub(crate) present: bool,
}

/// An asset's units over the whole book, summed exactly while the positions are traversed.
#[derive(Debug, Clone, Copy, Default)]
struct KeySums {
    spot_long: Sum,
    spot_short: Sum,
    perp_long: Sum,
    perp_short: Sum,
}

/// A bucket's terms, summed exactly while its market's positions are traversed.
#[derive(Debug, Clone, Copy, Default)]
struct BucketSums {
    key: usize,
    a_long: Sum,
    a_short: Sum,
    q: Sum,
    q_now: Sum,
    liab: Sum,
    long_units: Sum,
    short_units: Sum,
}

/// One protocol market × asset: the linear terms of the market's own rule.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub(crate) key: usize,
    /// Collateral × maintenance weight + long perp notional − short perp notional: the part of
    /// adjusted collateral that scales with the price.
    pub(crate) a_net: Decimal,
    /// Requirement without carry (for the liquidation surface, which is instantaneous): debt ×
    /// liability weight + perp notional × margin ratio. (The parts the grid reads, with carry,
    /// are in `fixed`.)
    pub(crate) q_now: Decimal,
    /// Units held (supplies, long perps) and owed (debts, short perps): the market's own
    /// exposure, for its P&L in the grid and its own add-ons.
    pub(crate) long_units: Decimal,
    pub(crate) short_units: Decimal,
    /// The terms above as exact integers at 1e-8 ([`crate::fixed`]), for the grid.
    pub(crate) fixed: BucketFixed,
}

/// A bucket's terms as integers at 1e-8 USD.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BucketFixed {
    pub(crate) key: usize,
    pub(crate) a_net: i128,
    pub(crate) a_long: i128,
    pub(crate) a_short: i128,
    pub(crate) q: i128,
    pub(crate) q_now: i128,
    pub(crate) liab: i128,
    /// The market's P&L per unit of relative move of the asset (at the stress prices, rounded
    /// against the account), like [`KeyState::pnl_slope`] for the portfolio.
    pub(crate) pnl_slope: i128,
}

/// The terms the grid multiplies in every scenario (`a_net − q`, `pnl_slope`; `q` when a market's
/// requirement is needed on its own), narrowed to
/// `i64` at 1e-8 USD (±9.2e10 USD per bucket). With factors in `i64` too, each product is a single
/// widening multiplication instead of a full `i128` one. A market with a bucket beyond the range
/// keeps the `i128` terms ([`MarketBook::narrow`] is then `None`): same integers, same results.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NarrowTerms {
    pub(crate) key: usize,
    /// `a_net − q`: the bucket's margin excess per unit of factor, all the grid needs in most
    /// scenarios.
    pub(crate) excess: i64,
    pub(crate) q: i64,
    pub(crate) pnl_slope: i64,
}

impl NarrowTerms {
    fn of(b: &BucketFixed) -> Option<Self> {
        Some(Self {
            key: b.key,
            excess: i64::try_from(b.a_net.checked_sub(b.q)?).ok()?,
            q: i64::try_from(b.q).ok()?,
            pnl_slope: i64::try_from(b.pnl_slope).ok()?,
        })
    }
}

/// One protocol market.
#[derive(Debug, Clone)]
pub(crate) struct MarketBook {
    pub(crate) label: String,
    pub(crate) penalty: Decimal,
    /// Adjusted collateral that does not move with prices: perp PnL now minus the perps' notional
    /// slope (instantaneous, for the liquidation surface).
    pub(crate) constant_now: Decimal,
    /// The same less funding over the horizon, at 1e-17 (a product's scale), for the grid.
    pub(crate) constant_fixed: i128,
    /// `constant_now` at 1e-8.
    pub(crate) constant_now_fixed: i128,
    /// The market's own carry over the horizon (borrow on its debts, funding on its perps), at
    /// 1e-17, rounded up.
    pub(crate) carry_fixed: i128,
    pub(crate) buckets: Vec<Bucket>,
    /// The buckets' integer terms, contiguous for the grid.
    pub(crate) fixed: Vec<BucketFixed>,
    /// The grid's terms of `fixed` in `i64`, when they all fit.
    pub(crate) narrow: Option<Vec<NarrowTerms>>,
    pub(crate) options: Vec<usize>,
    pub(crate) equity: Decimal,
    pub(crate) maintenance_requirement: Decimal,
    pub(crate) initial_requirement: Decimal,
}

/// One option position, with its base valuation.
#[derive(Debug, Clone)]
pub(crate) struct OptionLeg {
    pub(crate) market: usize,
    pub(crate) key: usize,
    pub(crate) group: usize,
    pub(crate) instrument: String,
    pub(crate) kind: OptionKind,
    pub(crate) side: Side,
    pub(crate) amount: Decimal,
    pub(crate) value: Decimal,
    /// Maintenance weight if the venue counts it (long: collateral weight; short: margin ratio).
    pub(crate) weight: Option<Decimal>,
    /// `weight` at 1e-9 (rounded down for collateral, up for requirements).
    pub(crate) weight_fixed: Option<i128>,
    /// The venue's mark value at 1e-8 (rounded against the account).
    pub(crate) value_fixed: i128,
    pub(crate) amount_f64: f64,
    pub(crate) input: crate::pricing::ModelInput,
    pub(crate) base: Valuation,
    pub(crate) underlying_usd: Decimal,
    /// Signed delta exposure at the reference price (USD), for the concentration add-on.
    pub(crate) delta_usd: Decimal,
}

impl OptionLeg {
    /// Position value (integer, 1e-8 USD) when the underlying moves by `factor`, volatility by
    /// `vol_factor`, and `years_passed` elapse: the venue's mark plus the model's change, never
    /// negative.
    pub(crate) fn value_fixed_at(&self, factor: f64, vol_factor: f64, years_passed: f64) -> i128 {
        let input = crate::pricing::ModelInput {
            underlying: self.input.underlying * factor,
            vol: self.input.vol * vol_factor,
            years: (self.input.years - years_passed).max(0.0),
            ..self.input
        };
        let change =
            (crate::pricing::black76_price(input) - self.base.price) * self.amount_f64 * 1e8;
        let change = if change.is_finite() {
            fixed::from_f64(change.round())
        } else {
            0
        };
        (self.value_fixed + change).max(0)
    }

    /// +1 for bought options, −1 for written ones.
    pub(crate) fn sign(&self) -> Decimal {
        if self.side == Side::Long {
            Decimal::ONE
        } else {
            Decimal::NEGATIVE_ONE
        }
    }
}

/// Everything the risk assessment reads.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    pub(crate) keys: Vec<KeyState>,
    pub(crate) groups: Vec<GroupState>,
    pub(crate) pegs: Vec<PegState>,
    pub(crate) markets: Vec<MarketBook>,
    pub(crate) options: Vec<OptionLeg>,
    pub(crate) prices: Vec<AssetPrice>,
    /// Portfolio equity at reference prices.
    pub(crate) equity: Decimal,
    /// Gross liabilities at reference prices.
    pub(crate) liabilities: Decimal,
    /// Carry over the horizon (a cost, ≥ 0).
    pub(crate) carry: Decimal,
    /// Oracle-divergence add-on.
    pub(crate) oracle_addon: Decimal,
    /// Each market's totals ([`crate::totals`]), summed in the book's traversal.
    pub(crate) totals: Vec<Totals>,
    /// Options whose underlying price is unknown: `(market, instrument)`.
    pub(crate) unpriced_options: Vec<(String, String)>,
    pub(crate) notes: Vec<String>,
}

/// `protocol/market@account`, the label the risk section uses for a market.
pub(crate) fn market_label(s: &ProtocolSnapshot) -> String {
    let account = &s.provenance.account;
    let mut label = label_prefix(s, account.address().len() + 24);
    push_chain(&mut label, account.chain());
    label.push(':');
    label.push_str(account.address());
    label
}

/// `protocol/market@chain`, the label of a market's price quotes.
fn quote_label(s: &ProtocolSnapshot) -> String {
    let mut label = label_prefix(s, 24);
    push_chain(&mut label, &s.provenance.chain);
    label
}

/// `protocol/market@`, with room for `extra` more bytes. Written out rather than formatted: the
/// book labels every market twice.
fn label_prefix(s: &ProtocolSnapshot, extra: usize) -> String {
    let (protocol, market) = (s.provenance.protocol.as_str(), &s.provenance.market.0);
    let mut label = String::with_capacity(protocol.len() + market.len() + 2 + extra);
    label.push_str(protocol);
    label.push('/');
    label.push_str(market);
    label.push('@');
    label
}

/// Appends `chain` as its `Display` writes it (`namespace:reference`).
fn push_chain(out: &mut String, chain: &unimargin_schema::ChainId) {
    out.push_str(chain.namespace().as_str());
    out.push(':');
    out.push_str(chain.reference());
}

/// `⌊long × long_price⌋ − ⌈short × short_price⌉` at 1e-8, as an integer count of 1e-8 USD: what
/// `to_fixed(floor(…) − ceil(…))` gives, in machine integers ([`Exact`]); `None` where `Decimal`
/// would round a product (the caller then computes it in `Decimal`).
fn slope_fixed(
    long: Decimal,
    long_price: Decimal,
    short: Decimal,
    short_price: Decimal,
) -> Option<i128> {
    let rounded = |units: Decimal, price: Decimal, strategy| {
        Exact::of(units)?
            .mul(Exact::of(price)?)?
            .round_dp(DP, strategy)?
            .to_scaled(fixed::MONEY)
    };
    let held = rounded(long, long_price, RoundingStrategy::ToNegativeInfinity)?;
    let owed = rounded(short, short_price, RoundingStrategy::ToPositiveInfinity)?;
    held.checked_sub(owed)
}

/// `max(0, equity − excess)` when there is something to liquidate, else 0: the equity a market
/// needs on its own (for a lending market, `Σ collateral × (1 − liquidation threshold)`).
pub(crate) fn own_requirement(t: &Totals) -> (Decimal, Decimal) {
    let m = if t.maintenance_margin_usd > Decimal::ZERO {
        (t.net_value_usd - t.margin_excess_usd).max(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    let i = if t.initial_margin_usd > Decimal::ZERO {
        (t.net_value_usd - t.free_collateral_usd).max(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    (m, i)
}

struct Builder<'m> {
    model: &'m RiskModel,
    regime: VolatilityRegime,
    keys: Vec<KeyState>,
    key_index: FxHashMap<String, usize>,
    groups: Vec<GroupState>,
    group_index: FxHashMap<String, usize>,
    pegs: Vec<PegState>,
    peg_index: FxHashMap<String, usize>,
}

impl<'m> Builder<'m> {
    fn group(&mut self, name: &str) -> usize {
        if let Some(i) = self.group_index.get(name) {
            return *i;
        }
        let config = self.model.group(name);
        let volatility = config.volatility.get(self.regime);
        let reference_volatility = self.model.grid.reference_volatility.max(Decimal::new(1, 4));
        let scale = (volatility / reference_volatility)
            .max(Decimal::ONE)
            .round_dp(6);
        self.groups.push(GroupState {
            name: name.to_owned(),
            numeraire: config.numeraire,
            volatility,
            scale,
            has_options: false,
            present: false,
            reference_key: None,
            long_usd: Decimal::ZERO,
            short_usd: Decimal::ZERO,
            netting: crate::netting::Group::default(),
        });
        self.group_index
            .insert(name.to_owned(), self.groups.len() - 1);
        self.groups.len() - 1
    }

    fn peg(&mut self, name: &str, depeg: Decimal) -> usize {
        if let Some(i) = self.peg_index.get(name) {
            return *i;
        }
        self.pegs.push(PegState {
            name: name.to_owned(),
            depeg,
            present: false,
        });
        self.peg_index.insert(name.to_owned(), self.pegs.len() - 1);
        self.pegs.len() - 1
    }

    fn key(&mut self, risk_key: &str, symbol: &str) -> usize {
        let (key, symbol) = prices::asset_key(self.model, risk_key, symbol);
        if let Some(i) = self.key_index.get(&key) {
            return *i;
        }
        let group = self.group(risk_key);
        self.groups[group].present = true;
        let config = self.model.group(risk_key);
        let configured = self.model.pegs.iter().find(|(_, p)| {
            p.group == risk_key && p.symbols.iter().any(|s| s.eq_ignore_ascii_case(&symbol))
        });
        let reference = config
            .reference
            .clone()
            .unwrap_or_else(|| risk_key.to_owned());
        let peg = match configured {
            Some((name, p)) => Some(self.peg(name, p.depeg)),
            None if config.numeraire
                && config.default_depeg > Decimal::ZERO
                && !symbol.eq_ignore_ascii_case(&reference) =>
            {
                Some(self.peg(&format!("{risk_key}:other"), config.default_depeg))
            }
            None => None,
        };
        if let Some(p) = peg {
            self.pegs[p].present = true;
        }
        let index = self.keys.len();
        if symbol.eq_ignore_ascii_case(&reference) {
            self.groups[group].reference_key = Some(index);
        }
        self.keys.push(KeyState {
            key: key.clone(),
            symbol,
            group,
            peg,
            quotes: Vec::new(),
            last_quote: None,
            price: Chosen {
                reference: Decimal::ZERO,
                long: Decimal::ZERO,
                short: Decimal::ZERO,
                diverged: false,
                age: None,
            },
            spot_long: Decimal::ZERO,
            spot_short: Decimal::ZERO,
            perp_long: Decimal::ZERO,
            perp_short: Decimal::ZERO,
            pnl_slope: Decimal::ZERO,
            pnl_slope_fixed: 0,
            net_usd: Decimal::ZERO,
            gross_usd: Decimal::ZERO,
        });
        self.key_index.insert(key, index);
        index
    }
}

/// Builds the book from the counted snapshots, with each market's totals: one pass over the
/// positions (they are the bulk of a large profile's memory) feeds both.
pub(crate) fn build(
    markets: &[&ProtocolSnapshot],
    model: &RiskModel,
    as_of: DateTime<Utc>,
) -> Book {
    let mut b = Builder {
        model,
        regime: model.regime,
        keys: Vec::new(),
        key_index: FxHashMap::default(),
        groups: Vec::new(),
        group_index: FxHashMap::default(),
        pegs: Vec::new(),
        peg_index: FxHashMap::default(),
    };
    // Configured volatile groups always take part in the grid (their moves drive correlated
    // groups), so that the scenario set does not depend on which groups happen to be held.
    for (name, g) in &model.groups {
        if !g.numeraire {
            b.group(name);
        }
    }
    for name in &model.correlation.groups {
        b.group(name);
    }

    let horizon = Decimal::from(model.grid.horizon_days) / Decimal::from(365);
    let borrow_carry = model.carry.borrow_apr * horizon;
    let borrow_growth = Decimal::ONE + borrow_carry;
    let funding_carry = model.carry.funding_apr * horizon;
    let mut carry = Sum::default();
    // Every perp's PnL, the first part of the equity at reference prices.
    let mut equity = Sum::default();
    let mut out_markets = Vec::with_capacity(markets.len());
    let mut legs: Vec<(usize, usize, &Position)> = Vec::new();
    // The groups a market's positions are in, for closing their netting sums; reused.
    let mut netting_groups: Vec<usize> = Vec::new();
    // (risk_key, symbol) → key, so each distinct spelling is normalized once.
    let mut seen: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    // Each key's units, summed exactly.
    let mut key_sums: Vec<KeySums> = Vec::new();
    // A market's buckets while its positions are summed, reused across markets.
    let mut sums: Vec<BucketSums> = Vec::new();

    // Quote labels and their rank in label order (quotes are sorted by label).
    let quote_labels: Vec<String> = markets.iter().map(|s| quote_label(s)).collect();
    let mut quote_ranks = vec![0usize; markets.len()];
    {
        let mut order: Vec<usize> = (0..markets.len()).collect();
        order.sort_by(|a, b| quote_labels[*a].cmp(&quote_labels[*b]));
        let mut rank = 0;
        for (i, &m) in order.iter().enumerate() {
            // Equal labels share a rank, as equal strings compare equal.
            if i > 0 && quote_labels[m] != quote_labels[order[i - 1]] {
                rank = i;
            }
            quote_ranks[m] = rank;
        }
    }

    let mut market_totals: Vec<Totals> = Vec::with_capacity(markets.len());
    for (m, snapshot) in markets.iter().enumerate() {
        let mut totals_sums = crate::totals::Sums::default();
        let label = market_label(snapshot);
        let quoted_by = &quote_labels[m];
        sums.clear();
        let mut constant = Sum::default();
        let mut funding = Sum::default();
        let mut market_carry = Sum::default();
        netting_groups.clear();
        for p in &snapshot.positions {
            totals_sums.accumulate(p);
            let k = match seen.get(&(p.asset.risk_key.as_str(), p.asset.symbol.as_str())) {
                Some(k) => *k,
                None => {
                    let k = b.key(&p.asset.risk_key, &p.asset.symbol);
                    seen.insert((p.asset.risk_key.as_str(), p.asset.symbol.as_str()), k);
                    if key_sums.len() <= k {
                        key_sums.resize(k + 1, KeySums::default());
                    }
                    k
                }
            };
            // The netting sums, in the same traversal (positions are large; one pass over them).
            let g = b.keys[k].group;
            if !netting_groups.contains(&g) {
                netting_groups.push(g);
            }
            b.groups[g].netting.add(p);
            // One quote per market and asset (markets are visited once each, in order).
            if prices::quotes_asset(p) && b.keys[k].last_quote != Some(m) {
                b.keys[k].last_quote = Some(m);
                b.keys[k].quotes.push(Quote {
                    market: quoted_by.clone(),
                    rank: quote_ranks[m],
                    usd: p.price.usd,
                    source: p.price.source.clone(),
                    age: p.price.age_seconds,
                });
            }
            if p.kind == PositionKind::Option {
                legs.push((m, k, p));
                continue;
            }
            let bucket = match sums.iter().position(|x| x.key == k) {
                Some(i) => i,
                None => {
                    sums.push(BucketSums {
                        key: k,
                        ..BucketSums::default()
                    });
                    sums.len() - 1
                }
            };
            let v = p.value_usd;
            let w = p.weights.maintenance;
            let key = &mut key_sums[k];
            let x = &mut sums[bucket];
            match (p.kind, p.side) {
                (PositionKind::Supply, _) => {
                    key.spot_long.add(p.amount);
                    x.long_units.add(p.amount);
                    if p.counts_as_collateral {
                        x.a_long.add_product(v, w);
                    }
                }
                (PositionKind::Debt, _) => {
                    key.spot_short.add(p.amount);
                    x.short_units.add(p.amount);
                    let weighted = v * w;
                    let borrow = v * borrow_carry;
                    market_carry.add(borrow);
                    x.q.add(weighted * borrow_growth);
                    x.q_now.add(weighted);
                    x.liab.add(v);
                    carry.add(borrow);
                }
                (PositionKind::Perp, side) => {
                    // PnL moves with the mark: pnl(f) = pnl₀ ± notional × (f − 1).
                    let pnl = p
                        .perp
                        .as_ref()
                        .map_or(Decimal::ZERO, |d| d.unrealized_pnl_usd);
                    equity.add(pnl);
                    if side == Side::Long {
                        key.perp_long.add(p.amount);
                        x.long_units.add(p.amount);
                        x.a_long.add(v);
                        constant.add(pnl - v);
                    } else {
                        key.perp_short.add(p.amount);
                        x.short_units.add(p.amount);
                        x.a_short.add(v);
                        constant.add(pnl + v);
                    }
                    let weighted = v * w;
                    x.q.add(weighted);
                    x.q_now.add(weighted);
                    x.liab.add(v);
                    funding.add(v * funding_carry);
                }
                (PositionKind::Option, _) => {}
            }
        }
        let buckets: Vec<Bucket> = sums
            .iter()
            .map(|x| {
                let up = RoundingStrategy::ToPositiveInfinity;
                let a_long = x.a_long.round_dp(DP, RoundingStrategy::ToNegativeInfinity);
                let a_short = x.a_short.round_dp(DP, up);
                let a_net = a_long - a_short;
                let q = x.q.round_dp(DP, up);
                let q_now = x.q_now.round_dp(DP, up);
                let liab = x.liab.round_dp(DP, up);
                Bucket {
                    key: x.key,
                    a_net,
                    q_now,
                    long_units: x.long_units.value(),
                    short_units: x.short_units.value(),
                    fixed: BucketFixed {
                        key: x.key,
                        a_net: fixed::to_fixed(a_net, fixed::MONEY, up),
                        a_long: fixed::to_fixed(a_long, fixed::MONEY, up),
                        a_short: fixed::to_fixed(a_short, fixed::MONEY, up),
                        q: fixed::to_fixed(q, fixed::MONEY, up),
                        q_now: fixed::to_fixed(q_now, fixed::MONEY, up),
                        liab: fixed::to_fixed(liab, fixed::MONEY, up),
                        // Filled once prices are chosen.
                        pnl_slope: 0,
                    },
                }
            })
            .collect();
        for g in &netting_groups {
            b.groups[*g].netting.end_market();
        }
        let funding = funding.value();
        carry.add(funding);
        market_carry.add(funding);
        let constant = constant.value();
        let totals = totals_sums.totals();
        let (maintenance_requirement, initial_requirement) = own_requirement(&totals);
        out_markets.push(MarketBook {
            label,
            penalty: model
                .liquidation
                .penalty(snapshot.provenance.protocol.as_str()),
            constant_now: floor(constant),
            constant_now_fixed: fixed::to_fixed(
                floor(constant),
                fixed::MONEY,
                RoundingStrategy::ToNegativeInfinity,
            ),
            constant_fixed: fixed::to_fixed(
                floor(constant - funding),
                fixed::MONEY,
                RoundingStrategy::ToNegativeInfinity,
            )
            .saturating_mul(fixed::ONE),
            carry_fixed: fixed::to_fixed(
                ceil(market_carry.value()),
                fixed::MONEY,
                RoundingStrategy::ToPositiveInfinity,
            )
            .saturating_mul(fixed::ONE),
            fixed: Vec::new(),
            narrow: None,
            buckets,
            options: Vec::new(),
            equity: totals.net_value_usd,
            maintenance_requirement,
            initial_requirement,
        });
        market_totals.push(totals);
    }
    for (key, sums) in b.keys.iter_mut().zip(&key_sums) {
        key.spot_long = sums.spot_long.value();
        key.spot_short = sums.spot_short.value();
        key.perp_long = sums.perp_long.value();
        key.perp_short = sums.perp_short.value();
    }
    let carry = carry.value();

    // Prices.
    let band = model.prices.divergence_band;
    let mut price_records = Vec::with_capacity(b.keys.len());
    for key in &mut b.keys {
        let group = &b.groups[key.group].name;
        let (chosen, record) = prices::choose(
            &key.key,
            group,
            &key.symbol,
            std::mem::take(&mut key.quotes),
            band,
        );
        key.price = chosen;
        if !record.quotes.is_empty() {
            price_records.push(record);
        }
    }
    price_records.sort_by(|a, b| a.key.cmp(&b.key));

    // Each market's own P&L slope per asset, now that prices are known.
    for market in &mut out_markets {
        for x in &mut market.buckets {
            let price = &b.keys[x.key].price;
            x.fixed.pnl_slope = slope_fixed(x.long_units, price.long, x.short_units, price.short)
                .unwrap_or_else(|| {
                    let slope =
                        floor(x.long_units * price.long) - ceil(x.short_units * price.short);
                    fixed::to_fixed(slope, fixed::MONEY, RoundingStrategy::ToNegativeInfinity)
                });
        }
        market.fixed = market.buckets.iter().map(|x| x.fixed).collect();
        market.narrow = market.fixed.iter().map(NarrowTerms::of).collect();
    }

    // Options, now that underlying prices are known.
    let mut unpriced = Vec::new();
    let mut option_legs = Vec::with_capacity(legs.len());
    for (m, k, p) in legs {
        let group = b.keys[k].group;
        let underlying = options::underlying_price(
            p,
            &b.keys[k],
            b.groups[group].reference_key.map(|r| &b.keys[r]),
        );
        let volatility = b.groups[group].volatility;
        match underlying.and_then(|u| options::leg(p, m, k, group, u, volatility, model, as_of)) {
            Some(leg) => {
                b.groups[group].has_options = true;
                out_markets[m].options.push(option_legs.len());
                option_legs.push(leg);
            }
            None => unpriced.push((
                out_markets[m].label.clone(),
                p.option
                    .as_ref()
                    .map_or_else(|| p.asset.symbol.clone(), |o| o.instrument.clone()),
            )),
        }
    }

    // Portfolio aggregates at reference prices (the equity already holds the perps' PnL).
    let mut liabilities = Sum::default();
    let mut oracle_addon = Decimal::ZERO;
    for key in &mut b.keys {
        let price = &key.price;
        let long = key.spot_long + key.perp_long;
        let short = key.spot_short + key.perp_short;
        equity.add((key.spot_long - key.spot_short) * price.reference);
        liabilities.add((key.spot_short + key.perp_long + key.perp_short) * price.reference);
        key.pnl_slope = floor(long * price.long) - ceil(short * price.short);
        key.pnl_slope_fixed = fixed::to_fixed(
            key.pnl_slope,
            fixed::MONEY,
            RoundingStrategy::ToNegativeInfinity,
        );
        key.net_usd = (long - short) * price.reference;
        key.gross_usd = (long + short) * price.reference;
        if price.diverged {
            oracle_addon +=
                long * (price.reference - price.long) + short * (price.short - price.reference);
        }
        let g = &mut b.groups[key.group];
        g.long_usd += long * price.reference;
        g.short_usd += short * price.reference;
    }
    for leg in &mut option_legs {
        let delta_usd = options::to_decimal(leg.base.delta * leg.input.underlying)
            .unwrap_or(Decimal::ZERO)
            * leg.amount
            * leg.sign();
        leg.delta_usd = delta_usd;
        let key = &mut b.keys[leg.key];
        key.net_usd += delta_usd;
        key.gross_usd += leg.value;
        let g = &mut b.groups[leg.group];
        if delta_usd >= Decimal::ZERO {
            g.long_usd += delta_usd;
        } else {
            g.short_usd -= delta_usd;
        }
        equity.add(leg.sign() * leg.value);
        if leg.side == Side::Short {
            liabilities.add(leg.value);
        }
    }

    Book {
        keys: b.keys,
        groups: b.groups,
        pegs: b.pegs,
        markets: out_markets,
        options: option_legs,
        prices: price_records,
        equity: equity.value(),
        liabilities: liabilities.value(),
        carry: ceil(carry),
        oracle_addon: ceil(oracle_addon),
        totals: market_totals,
        unpriced_options: unpriced,
        notes: Vec::new(),
    }
}
