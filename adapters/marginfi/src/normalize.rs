//! Pure normalization: raw marginfi accounts, banks and oracles → a snapshot, with marginfi's
//! maintenance and initial health components reproduced by [`crate::risk`].

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use fixed::types::I80F48;
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Health, MarketId, NativeHealth, Position,
    PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance, ReadPoint,
    RiskWeights, Side as PositionSide, Warning, WarningKind,
};
use unimargin_sdk::{
    AdapterError, Result,
    solana::{
        Pubkey,
        fixed::{i80f48_to_decimal, i80f48_to_decimal_scaled},
        oracle::{OracleKind, PriceQuote},
    },
    units::Rounding,
};

use crate::{
    MarginfiDeployment,
    fetch::RawMarginfi,
    layout::{Bank, MarginfiAccount, OracleSetup, RiskTier},
    risk::{
        Components, Constants, OracleReading, Requirement, RiskError, Side, key, reconcile_emode,
        side, value_balance,
    },
};

/// Metric name of the reproduced health: maintenance-weighted assets ÷ liabilities of the
/// owner's weakest account (below 1 ⇔ marginfi's `assets − liabilities` < 0).
pub const METRIC: &str = "marginfi.maintenance_assets_over_liabilities";

/// Program default oracle ages when a bank sets none (`MAX_PYTH_ORACLE_AGE`, `MAX_SWB_ORACLE_AGE`).
const DEFAULT_PYTH_MAX_AGE: u64 = 60;
const DEFAULT_SWB_MAX_AGE: u64 = 30;

/// Everything that is not in the raw data.
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// Pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id.
    pub protocol: &'a ProtocolId,
    /// Market id.
    pub market: &'a MarketId,
    /// The owner.
    pub account: &'a AccountId,
    /// Deployment configuration.
    pub deployment: &'a MarginfiDeployment,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

/// One account's reproduced figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountHealth {
    /// The account.
    pub address: Pubkey,
    /// Initial-requirement components (EMA prices, initial weights).
    pub initial: Components,
    /// Maintenance components (spot prices, maintenance weights).
    pub maintenance: Components,
}

fn risk_err(bank: &Pubkey, e: RiskError) -> AdapterError {
    match e {
        RiskError::ConfidenceExceeded { .. } => AdapterError::MissingPrice {
            asset: bank.to_string(),
            detail: e.to_string(),
        },
        RiskError::MissingBank(_) | RiskError::MissingOracle(_) => {
            AdapterError::malformed(bank.to_string(), e)
        }
        RiskError::Overflow(_) => AdapterError::OutOfRange {
            what: format!("marginfi value of bank {bank}"),
            value: e.to_string(),
        },
    }
}

fn dec(bits: I80F48, rounding: Rounding) -> Result<Decimal> {
    Ok(i80f48_to_decimal(bits.to_bits(), rounding)?
        .value
        .normalize())
}

/// The spot quote of a reading.
pub fn quote_of(feed: Pubkey, reading: &OracleReading) -> PriceQuote {
    match reading {
        OracleReading::Pyth(p) => p.quote(feed),
        OracleReading::Switchboard(f) => f.quote(feed),
    }
}

/// Applies the bank's own oracle rules (max age, Pyth verification) and the deployment's guard.
pub fn check_oracle(
    bank_key: &Pubkey,
    bank: &Bank,
    feed: &Pubkey,
    reading: &OracleReading,
    now: i64,
    d: &MarginfiDeployment,
    feed_name: &str,
) -> Result<()> {
    let quote = quote_of(*feed, reading);
    let bank_max = match (
        bank.config.oracle_max_age,
        OracleSetup::from_tag(bank.config.oracle_setup),
    ) {
        (0, Some(OracleSetup::SwitchboardPull)) => DEFAULT_SWB_MAX_AGE,
        (0, _) => DEFAULT_PYTH_MAX_AGE,
        (n, _) => u64::from(n),
    };
    let max_age = bank_max.min(d.max_price_age_secs);
    let age = quote.age_secs(now);
    if age > max_age {
        return Err(AdapterError::StalePrice {
            asset: bank_key.to_string(),
            feed: feed_name.to_owned(),
            age_secs: age,
            max_age_secs: max_age,
        });
    }
    if let OracleReading::Pyth(p) = reading
        && !p.is_fully_verified()
    {
        return Err(AdapterError::MissingPrice {
            asset: bank_key.to_string(),
            detail: format!(
                "feed {feed_name} is only partially verified ({:?})",
                p.verification_level
            ),
        });
    }
    d.guard()
        .check(&quote, now, &bank_key.to_string(), feed_name)
}

/// Reproduces one account's health components. Pure.
pub fn account_health(
    address: Pubkey,
    account: &MarginfiAccount,
    raw: &RawMarginfi,
    k: &Constants,
) -> Result<AccountHealth> {
    let active: Vec<_> = account
        .lending_account
        .balances
        .iter()
        .filter(|b| b.active != 0)
        .collect();
    let mut liability_banks = Vec::new();
    for b in &active {
        let shares = I80F48::from_bits(b.liability_shares.to_bits());
        if side(I80F48::from_bits(b.asset_shares.to_bits()), shares) == Some(Side::Liabilities) {
            let bk = key(&b.bank_pk);
            liability_banks.push(
                raw.banks
                    .get(&bk)
                    .ok_or_else(|| risk_err(&bk, RiskError::MissingBank(bk.to_string())))?,
            );
        }
    }
    let emode = reconcile_emode(liability_banks);
    let mut initial = Components::default();
    let mut maintenance = Components::default();
    for b in active {
        let bk = key(&b.bank_pk);
        let asset_shares = I80F48::from_bits(b.asset_shares.to_bits());
        let liability_shares = I80F48::from_bits(b.liability_shares.to_bits());
        let Some(s) = side(asset_shares, liability_shares) else {
            continue;
        };
        let bank = raw
            .banks
            .get(&bk)
            .ok_or_else(|| risk_err(&bk, RiskError::MissingBank(bk.to_string())))?;
        let (_, reading) = raw
            .oracles
            .get(&bk)
            .ok_or_else(|| risk_err(&bk, RiskError::MissingOracle(bk.to_string())))?;
        let shares = if s == Side::Assets {
            asset_shares
        } else {
            liability_shares
        };
        for (req, comp) in [
            (Requirement::Initial, &mut initial),
            (Requirement::Maintenance, &mut maintenance),
        ] {
            let v = value_balance(bank, s, shares, reading, req, &emode, k)
                .map_err(|e| risk_err(&bk, e))?;
            comp.add(s, v.value).map_err(|e| risk_err(&bk, e))?;
        }
    }
    Ok(AccountHealth {
        address,
        initial,
        maintenance,
    })
}

/// Normalizes a raw read into a snapshot. Pure and deterministic.
pub fn normalize(raw: &RawMarginfi, ctx: &NormalizeContext<'_>) -> Result<ProtocolSnapshot> {
    let d = ctx.deployment;
    let k = Constants::default();
    let now = raw.unix_timestamp;
    let caip = |p: &Pubkey| format!("{}:{p}", ctx.chain);
    let mut notes = Vec::new();

    // Every price used must pass the bank's own rules and our guard, before any value is formed.
    for (bk, (feed, reading)) in &raw.oracles {
        let bank = raw
            .banks
            .get(bk)
            .ok_or_else(|| risk_err(bk, RiskError::MissingBank(bk.to_string())))?;
        check_oracle(bk, bank, feed, reading, now, d, &caip(feed))?;
    }

    let mut positions = Vec::new();
    let mut healths = Vec::new();
    for (address, account) in &raw.accounts {
        let h = account_health(*address, account, raw, &k)?;
        healths.push(h);
        let active: Vec<_> = account
            .lending_account
            .balances
            .iter()
            .filter(|b| b.active != 0)
            .collect();
        let mut liability_banks = Vec::new();
        for b in &active {
            if side(
                I80F48::from_bits(b.asset_shares.to_bits()),
                I80F48::from_bits(b.liability_shares.to_bits()),
            ) == Some(Side::Liabilities)
            {
                let bk = key(&b.bank_pk);
                liability_banks.push(
                    raw.banks
                        .get(&bk)
                        .ok_or_else(|| risk_err(&bk, RiskError::MissingBank(bk.to_string())))?,
                );
            }
        }
        let emode = reconcile_emode(liability_banks);
        for b in active {
            let bk = key(&b.bank_pk);
            let asset_shares = I80F48::from_bits(b.asset_shares.to_bits());
            let liability_shares = I80F48::from_bits(b.liability_shares.to_bits());
            let Some(s) = side(asset_shares, liability_shares) else {
                continue;
            };
            let bank = raw
                .banks
                .get(&bk)
                .ok_or_else(|| risk_err(&bk, RiskError::MissingBank(bk.to_string())))?;
            let (feed, reading) = raw
                .oracles
                .get(&bk)
                .ok_or_else(|| risk_err(&bk, RiskError::MissingOracle(bk.to_string())))?;
            let (shares, share_value, rounding) = match s {
                Side::Assets => (asset_shares, bank.asset_share_value, Rounding::Down),
                Side::Liabilities => (liability_shares, bank.liability_share_value, Rounding::Up),
            };
            let native_amount = shares
                .checked_mul(I80F48::from_bits(share_value.to_bits()))
                .ok_or_else(|| risk_err(&bk, RiskError::Overflow("shares × share value")))?;
            let amount =
                i80f48_to_decimal_scaled(native_amount.to_bits(), bank.mint_decimals, rounding)?;
            let mint = key(&bank.mint);
            let symbol = d.symbol(&mint);
            if amount.rounded {
                notes.push(format!(
                    "{symbol} amount of account {address} rounded to fit 28 significant digits"
                ));
            }
            let quote = quote_of(*feed, reading);
            let price_usd = quote.price_decimal(Rounding::Down)?.value.normalize();
            let init = value_balance(bank, s, shares, reading, Requirement::Initial, &emode, &k)
                .map_err(|e| risk_err(&bk, e))?;
            let maint = value_balance(
                bank,
                s,
                shares,
                reading,
                Requirement::Maintenance,
                &emode,
                &k,
            )
            .map_err(|e| risk_err(&bk, e))?;
            let weights = RiskWeights {
                initial: dec(init.weight, Rounding::Down)?,
                maintenance: dec(maint.weight, Rounding::Down)?,
            };
            let weights = if s == Side::Liabilities {
                RiskWeights {
                    initial: dec(init.weight, Rounding::Up)?,
                    maintenance: dec(maint.weight, Rounding::Up)?,
                }
            } else {
                weights
            };
            let amount = amount.value.normalize();
            let publish = Utc.timestamp_opt(quote.publish_time, 0).single();
            let native = BTreeMap::from([
                ("marginfi_account".to_owned(), address.to_string()),
                ("bank".to_owned(), bk.to_string()),
                (
                    "shares_i80f48_bits".to_owned(),
                    shares.to_bits().to_string(),
                ),
                (
                    "share_value_i80f48_bits".to_owned(),
                    share_value.to_bits().to_string(),
                ),
                (
                    "init_value_usd".to_owned(),
                    dec(init.value, rounding)?.to_string(),
                ),
                (
                    "maint_value_usd".to_owned(),
                    dec(maint.value, rounding)?.to_string(),
                ),
                (
                    "init_price_biased".to_owned(),
                    dec(init.price, rounding)?.to_string(),
                ),
                (
                    "maint_price_biased".to_owned(),
                    dec(maint.price, rounding)?.to_string(),
                ),
                ("oracle_slot".to_owned(), quote.slot.to_string()),
            ]);
            positions.push(Position {
                kind: if s == Side::Assets {
                    PositionKind::Supply
                } else {
                    PositionKind::Debt
                },
                side: if s == Side::Assets {
                    PositionSide::Long
                } else {
                    PositionSide::Short
                },
                asset: Asset {
                    id: AssetId {
                        chain: ctx.chain.clone(),
                        namespace: "spl".into(),
                        reference: mint.to_string(),
                    },
                    risk_key: d.risk_key(&symbol),
                    symbol,
                    decimals: bank.mint_decimals,
                },
                amount,
                price: Price {
                    usd: price_usd,
                    source: PriceSource {
                        oracle: match quote.kind {
                            OracleKind::PythPull => "pyth".into(),
                            OracleKind::SwitchboardOnDemand => "switchboard".into(),
                        },
                        address: Some(caip(feed)),
                        feed: match reading {
                            OracleReading::Pyth(p) => {
                                Some(p.feed_id.iter().map(|b| format!("{b:02x}")).collect())
                            }
                            OracleReading::Switchboard(_) => None,
                        },
                    },
                    updated_at: publish,
                    age_seconds: Some(quote.age_secs(now)),
                },
                value_usd: (amount * price_usd).normalize(),
                counts_as_collateral: s == Side::Assets
                    && RiskTier::from_tag(bank.config.risk_tier) == Some(RiskTier::Collateral)
                    && maint.weight > I80F48::ZERO,
                weights,
                perp: None,
                option: None,
                greeks: None,
                native,
            });
        }
    }

    let mut figures = BTreeMap::new();
    let mut weakest: Option<Health> = None;
    let mut liquidatable = false;
    for (h, (_, account)) in healths.iter().zip(&raw.accounts) {
        let a = h.address;
        for (name, c) in [("init", h.initial), ("maint", h.maintenance)] {
            figures.insert(
                format!("{a}.{name}.assets_usd"),
                dec(c.assets, Rounding::Down)?.to_string(),
            );
            figures.insert(
                format!("{a}.{name}.liabilities_usd"),
                dec(c.liabilities, Rounding::Up)?.to_string(),
            );
            let health = c.health().map_err(|e| risk_err(&a, e))?;
            figures.insert(
                format!("{a}.{name}.health_usd"),
                dec(health, Rounding::Down)?.to_string(),
            );
            figures.insert(
                format!("{a}.{name}.health_i80f48_bits"),
                health.to_bits().to_string(),
            );
        }
        let hc = &account.health_cache;
        figures.insert(
            format!("{a}.health_cache.timestamp"),
            hc.timestamp.to_string(),
        );
        figures.insert(
            format!("{a}.health_cache.asset_value_maint_usd"),
            i80f48_to_decimal(hc.asset_value_maint.to_bits(), Rounding::Down)?
                .value
                .normalize()
                .to_string(),
        );
        figures.insert(
            format!("{a}.health_cache.liability_value_maint_usd"),
            i80f48_to_decimal(hc.liability_value_maint.to_bits(), Rounding::Up)?
                .value
                .normalize()
                .to_string(),
        );
        let m = h.maintenance;
        let ratio = Health::ratio(
            dec(m.assets, Rounding::Down)?,
            dec(m.liabilities, Rounding::Up)?,
        );
        weakest = Some(weakest.map_or(ratio, |w| w.min(ratio)));
        liquidatable |= m.liabilities > I80F48::ZERO
            && m.health().map_err(|e| risk_err(&a, e))? <= I80F48::ZERO;
    }
    figures.insert("clock.unix_timestamp".into(), now.to_string());
    figures.insert("served_slot".into(), raw.served_slot.to_string());
    let mut native_health = NativeHealth::new(METRIC, weakest.unwrap_or(Health::Infinite), None);
    native_health.liquidatable = liquidatable;
    native_health.figures = figures;

    let scope = FailureScope {
        chain: Some(ctx.chain.clone()),
        protocol: Some(ctx.protocol.clone()),
        market: Some(ctx.market.clone()),
        account: Some(ctx.account.clone()),
    };
    let mut warnings: Vec<Warning> = notes
        .into_iter()
        .map(|message| Warning {
            scope: scope.clone(),
            kind: WarningKind::AmountRounded,
            message,
        })
        .collect();
    if positions.is_empty() {
        warnings.push(Warning {
            scope,
            kind: WarningKind::NoPositions,
            message: format!(
                "{} marginfi account(s) in group {} with no open balance",
                raw.accounts.len(),
                d.group.0
            ),
        });
    }

    let mut sources = vec![caip(&d.program_id.0), caip(&d.group.0)];
    sources.extend(raw.accounts.iter().map(|(a, _)| caip(a)));
    sources.extend(raw.banks.keys().map(caip));
    sources.extend(raw.oracles.values().map(|(f, _)| caip(f)));
    sources.sort();
    sources.dedup();

    Ok(ProtocolSnapshot {
        provenance: Provenance {
            chain: ctx.chain.clone(),
            read_point: ctx.read_point.clone(),
            protocol: ctx.protocol.clone(),
            market: ctx.market.clone(),
            account: ctx.account.clone(),
            sources,
            fetched_at: ctx.fetched_at,
        },
        positions,
        native_health,
        warnings,
    })
}
