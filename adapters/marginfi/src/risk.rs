//! marginfi's risk engine reproduced in the program's own `I80F48` arithmetic (the `fixed` crate
//! the program itself uses), so every intermediate rounds as on chain.
//!
//! For each active balance (program 0.1.7, `get_health_components`):
//!
//! * side: liabilities when `liability_shares ≥ 1`, else assets when `asset_shares ≥ 1`;
//! * amount = shares × share value (token base units);
//! * price: Pyth spot (maintenance) or EMA (initial), Switchboard `result.value / 10^18`; with
//!   the confidence interval `conf × 2.12` (Pyth) or `std_dev / 10^18 × 1.96` (Switchboard),
//!   rejected above `price × oracle_max_confidence / u32::MAX` (10 % when 0) and capped at 5 % of
//!   the price; assets use `price − conf`, liabilities `price + conf` (the price bias);
//! * asset weight: the bank's, raised to the e-mode weight when every bank the account borrows
//!   from offers an entry for this bank's tag (the lowest of those entries); for the initial
//!   requirement multiplied by `limit / bank total value` when the bank's USD init limit is
//!   exceeded, and zero for a reduce-only bank; isolated-tier deposits are worth zero;
//! * value = amount × weight × price / 10^decimals;
//!
//! and health = Σ weighted assets − Σ weighted liabilities, liquidatable when the maintenance
//! health is ≤ 0. Where the program would skip a position with a bad oracle (an initial-margin
//! asset) this module fails instead: a profile never counts a price the guard rejected.

use std::collections::BTreeMap;

use fixed::types::I80F48;
use unimargin_sdk::solana::{
    Pubkey,
    oracle::{pyth::PriceUpdateV2, switchboard::PullFeedAccountData},
};

use crate::layout::{Bank, EmodeEntry, OperationalState, RiskTier};

/// A balance below one base unit of shares is empty (`EMPTY_BALANCE_THRESHOLD`).
pub fn empty_balance_threshold() -> I80F48 {
    I80F48::ONE
}

/// The program's constants, parsed as the program's `I80F48!` literals are (rounded to nearest).
#[derive(Debug, Clone, Copy)]
pub struct Constants {
    /// `CONF_INTERVAL_MULTIPLE` = 2.12 (Pyth: ~95 % band).
    pub conf_interval_multiple: I80F48,
    /// `STD_DEV_MULTIPLE` = 1.96 (Switchboard).
    pub std_dev_multiple: I80F48,
    /// `MAX_CONF_INTERVAL` = 0.05: the confidence adjustment is capped at 5 % of the price.
    pub max_conf_interval: I80F48,
    /// `U32_MAX`.
    pub u32_max: I80F48,
    /// `U32_MAX_DIV_10`: the default max confidence (10 %).
    pub u32_max_div_10: I80F48,
}

impl Default for Constants {
    fn default() -> Self {
        let lit = |s: &str| I80F48::from_str(s).unwrap_or(I80F48::ZERO);
        Self {
            conf_interval_multiple: lit("2.12"),
            std_dev_multiple: lit("1.96"),
            max_conf_interval: lit("0.05"),
            u32_max: I80F48::from_num(u32::MAX),
            u32_max_div_10: I80F48::from_num(429_496_730u32),
        }
    }
}

/// Which requirement is being computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// Initial (borrowing) requirement: EMA prices, initial weights.
    Initial,
    /// Maintenance (liquidation) requirement: spot prices, maintenance weights.
    Maintenance,
}

/// Why the engine could not value a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskError {
    /// An `I80F48` operation overflowed, where the program would abort.
    #[error("I80F48 overflow in {0}")]
    Overflow(&'static str),
    /// The oracle's confidence interval exceeds the bank's allowance
    /// (`OracleMaxConfidenceExceeded` on chain).
    #[error("confidence {conf} exceeds the maximum {max} for price {price}")]
    ConfidenceExceeded {
        /// Confidence interval (USD).
        conf: String,
        /// Allowed maximum (USD).
        max: String,
        /// Price (USD).
        price: String,
    },
    /// The balance's bank was not read.
    #[error("bank {0} missing")]
    MissingBank(String),
    /// The bank's oracle was not read.
    #[error("no oracle price for bank {0}")]
    MissingOracle(String),
}

/// An oracle reading as the risk engine consumes it.
#[derive(Debug, Clone)]
pub enum OracleReading {
    /// Pyth pull.
    Pyth(PriceUpdateV2),
    /// Switchboard On-Demand (boxed: the feed account is 3 kB).
    Switchboard(Box<PullFeedAccountData>),
}

fn ovf(what: &'static str) -> RiskError {
    RiskError::Overflow(what)
}

/// `EXP_10_I80F48[n]`.
fn exp10(n: u32) -> Result<I80F48, RiskError> {
    10i128
        .checked_pow(n)
        .and_then(I80F48::checked_from_num)
        .ok_or(ovf("10^n"))
}

/// `pyth_price_components_to_i80f48`.
fn pyth_components(mantissa: i128, exponent: i32) -> Result<I80F48, RiskError> {
    let m = I80F48::checked_from_num(mantissa).ok_or(ovf("pyth mantissa"))?;
    let scale = exp10(exponent.unsigned_abs())?;
    match exponent.cmp(&0) {
        std::cmp::Ordering::Equal => Ok(m),
        std::cmp::Ordering::Less => m.checked_div(scale).ok_or(ovf("pyth price / 10^e")),
        std::cmp::Ordering::Greater => m.checked_mul(scale).ok_or(ovf("pyth price × 10^e")),
    }
}

/// A price and the confidence interval the program would subtract or add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceWithConf {
    /// Unbiased price (USD per whole token).
    pub price: I80F48,
    /// Confidence interval after the multiple, checked and capped.
    pub conf: I80F48,
}

impl PriceWithConf {
    /// `price − conf` (assets).
    pub fn low(&self) -> Result<I80F48, RiskError> {
        self.price.checked_sub(self.conf).ok_or(ovf("price − conf"))
    }

    /// `price + conf` (liabilities).
    pub fn high(&self) -> Result<I80F48, RiskError> {
        self.price.checked_add(self.conf).ok_or(ovf("price + conf"))
    }
}

/// The program's `get_price_of_type` without the bias: the price and the checked, capped
/// confidence interval.
pub fn price_with_conf(
    reading: &OracleReading,
    requirement: Requirement,
    oracle_max_confidence: u32,
    k: &Constants,
) -> Result<PriceWithConf, RiskError> {
    let (price, conf_interval) = match reading {
        OracleReading::Pyth(p) => {
            let (price, conf) = match requirement {
                Requirement::Initial => (p.ema_price, p.ema_conf),
                Requirement::Maintenance => (p.price, p.conf),
            };
            let conf = pyth_components(i128::from(conf), p.exponent)?
                .checked_mul(k.conf_interval_multiple)
                .ok_or(ovf("conf × 2.12"))?;
            (pyth_components(i128::from(price), p.exponent)?, conf)
        }
        OracleReading::Switchboard(f) => {
            let scale = exp10(unimargin_sdk::solana::oracle::switchboard::PRECISION)?;
            let price = I80F48::checked_from_num(f.result.value())
                .ok_or(ovf("switchboard value"))?
                .checked_div(scale)
                .ok_or(ovf("value / 10^18"))?;
            let conf = I80F48::checked_from_num(f.result.std_dev())
                .ok_or(ovf("switchboard std_dev"))?
                .checked_div(scale)
                .ok_or(ovf("std_dev / 10^18"))?
                .checked_mul(k.std_dev_multiple)
                .ok_or(ovf("std_dev × 1.96"))?;
            (price, conf)
        }
    };
    let max_conf_fraction = if oracle_max_confidence > 0 {
        I80F48::from_num(oracle_max_confidence)
    } else {
        k.u32_max_div_10
    };
    let max_conf = price
        .checked_mul(max_conf_fraction)
        .ok_or(ovf("price × max confidence"))?
        .checked_div(k.u32_max)
        .ok_or(ovf("/ u32::MAX"))?;
    if conf_interval > max_conf {
        return Err(RiskError::ConfidenceExceeded {
            conf: conf_interval.to_string(),
            max: max_conf.to_string(),
            price: price.to_string(),
        });
    }
    let capped = price
        .checked_mul(k.max_conf_interval)
        .ok_or(ovf("price × 0.05"))?;
    Ok(PriceWithConf {
        price,
        conf: conf_interval.min(capped),
    })
}

/// `calc_value`: `amount × weight × price / 10^decimals`, in the program's order of operations.
pub fn calc_value(
    amount: I80F48,
    price: I80F48,
    decimals: u8,
    weight: Option<I80F48>,
) -> Result<I80F48, RiskError> {
    if amount == I80F48::ZERO {
        return Ok(I80F48::ZERO);
    }
    let weighted = match weight {
        Some(w) => amount.checked_mul(w).ok_or(ovf("amount × weight"))?,
        None => amount,
    };
    weighted
        .checked_mul(price)
        .ok_or(ovf("amount × price"))?
        .checked_div(exp10(u32::from(decimals))?)
        .ok_or(ovf("value / 10^decimals"))
}

/// Which side of the book a balance is on (`Balance::get_side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A deposit.
    Assets,
    /// A borrow.
    Liabilities,
}

/// `Balance::get_side`: liabilities win when both are non-empty (the program asserts that
/// never happens).
pub fn side(asset_shares: I80F48, liability_shares: I80F48) -> Option<Side> {
    if liability_shares >= empty_balance_threshold() {
        Some(Side::Liabilities)
    } else if asset_shares >= empty_balance_threshold() {
        Some(Side::Assets)
    } else {
        None
    }
}

/// E-mode weights by collateral tag after reconciling every liability bank's entries
/// (`reconcile_emode_configs`): a tag survives only if every liability bank offers it, with the
/// lowest initial and maintenance weights among them.
pub fn reconcile_emode<'a>(
    liability_banks: impl IntoIterator<Item = &'a Bank>,
) -> BTreeMap<u16, (I80F48, I80F48)> {
    let mut merged: BTreeMap<u16, (I80F48, I80F48, usize)> = BTreeMap::new();
    let mut configs = 0usize;
    for bank in liability_banks {
        configs += 1;
        let mut seen = std::collections::BTreeSet::new();
        for e in bank
            .emode
            .entries
            .iter()
            .filter(|e: &&EmodeEntry| e.collateral_bank_emode_tag != 0)
        {
            if !seen.insert(e.collateral_bank_emode_tag) {
                continue;
            }
            let init = I80F48::from_bits(e.asset_weight_init.to_bits());
            let maint = I80F48::from_bits(e.asset_weight_maint.to_bits());
            merged
                .entry(e.collateral_bank_emode_tag)
                .and_modify(|(i, m, n)| {
                    *i = (*i).min(init);
                    *m = (*m).min(maint);
                    *n += 1;
                })
                .or_insert((init, maint, 1));
        }
    }
    merged
        .into_iter()
        .filter(|(_, (_, _, n))| *n == configs)
        .map(|(tag, (i, m, _))| (tag, (i, m)))
        .collect()
}

/// One position valued for one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valued {
    /// The weight applied (after e-mode and the init-limit discount).
    pub weight: I80F48,
    /// The biased price used.
    pub price: I80F48,
    /// The weighted USD value.
    pub value: I80F48,
}

/// Values one balance of `bank` on `side` for `requirement`.
#[allow(clippy::too_many_arguments)]
pub fn value_balance(
    bank: &Bank,
    side: Side,
    shares: I80F48,
    reading: &OracleReading,
    requirement: Requirement,
    emode: &BTreeMap<u16, (I80F48, I80F48)>,
    k: &Constants,
) -> Result<Valued, RiskError> {
    let c = &bank.config;
    let decimals = bank.mint_decimals;
    let bits = |w: unimargin_sdk::solana::fixed::WrappedI80F48| I80F48::from_bits(w.to_bits());
    match side {
        Side::Assets => {
            let tier = RiskTier::from_tag(c.risk_tier);
            let reduce_only = OperationalState::from_tag(c.operational_state)
                == Some(OperationalState::ReduceOnly);
            if tier != Some(RiskTier::Collateral)
                || (reduce_only && requirement == Requirement::Initial)
            {
                return Ok(Valued {
                    weight: I80F48::ZERO,
                    price: I80F48::ZERO,
                    value: I80F48::ZERO,
                });
            }
            let bank_weight = match requirement {
                Requirement::Initial => bits(c.asset_weight_init),
                Requirement::Maintenance => bits(c.asset_weight_maint),
            };
            let mut weight = match emode
                .get(&bank.emode.emode_tag)
                .filter(|_| bank.emode.emode_tag != 0)
            {
                Some((init, maint)) => bank_weight.max(if requirement == Requirement::Initial {
                    *init
                } else {
                    *maint
                }),
                None => bank_weight,
            };
            let price = price_with_conf(reading, requirement, c.oracle_max_confidence, k)?.low()?;
            if requirement == Requirement::Initial && c.total_asset_value_init_limit != 0 {
                // `maybe_get_asset_weight_init_discount`.
                let total_amount = bits(bank.total_asset_shares)
                    .checked_mul(bits(bank.asset_share_value))
                    .ok_or(ovf("total shares × share value"))?;
                let total_value = calc_value(total_amount, price, decimals, None)?;
                let limit = I80F48::from_num(c.total_asset_value_init_limit);
                if total_value > limit {
                    let discount = limit
                        .checked_div(total_value)
                        .ok_or(ovf("limit / total value"))?;
                    weight = weight
                        .checked_mul(discount)
                        .ok_or(ovf("weight × discount"))?;
                }
            }
            let amount = shares
                .checked_mul(bits(bank.asset_share_value))
                .ok_or(ovf("shares × share value"))?;
            Ok(Valued {
                weight,
                price,
                value: calc_value(amount, price, decimals, Some(weight))?,
            })
        }
        Side::Liabilities => {
            let weight = match requirement {
                Requirement::Initial => bits(c.liability_weight_init),
                Requirement::Maintenance => bits(c.liability_weight_maint),
            };
            let price =
                price_with_conf(reading, requirement, c.oracle_max_confidence, k)?.high()?;
            let amount = shares
                .checked_mul(bits(bank.liability_share_value))
                .ok_or(ovf("shares × share value"))?;
            Ok(Valued {
                weight,
                price,
                value: calc_value(amount, price, decimals, Some(weight))?,
            })
        }
    }
}

/// Weighted assets and liabilities for one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Components {
    /// Σ weighted assets (USD).
    pub assets: I80F48,
    /// Σ weighted liabilities (USD).
    pub liabilities: I80F48,
}

impl Components {
    /// `assets − liabilities`: marginfi's health.
    pub fn health(&self) -> Result<I80F48, RiskError> {
        self.assets
            .checked_sub(self.liabilities)
            .ok_or(ovf("assets − liabilities"))
    }

    /// Adds one valued position.
    pub fn add(&mut self, side: Side, value: I80F48) -> Result<(), RiskError> {
        match side {
            Side::Assets => self.assets = self.assets.checked_add(value).ok_or(ovf("Σ assets"))?,
            Side::Liabilities => {
                self.liabilities = self
                    .liabilities
                    .checked_add(value)
                    .ok_or(ovf("Σ liabilities"))?;
            }
        }
        Ok(())
    }
}

/// A bank key as a `Pubkey`.
pub fn key(bytes: &[u8; 32]) -> Pubkey {
    Pubkey::new_from_array(*bytes)
}
