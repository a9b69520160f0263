//! Pure normalization of [`KaminoRaw`] into a [`ProtocolSnapshot`]: every reserve brought to the
//! read slot and priced (Scope chain, or the reserve's own refreshed price when it has no Scope
//! chain), every obligation refreshed as `refresh_obligation` would at that slot, and the
//! recomputed limits compared with what the obligation stores from its last refresh.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use unimargin_schema::{
    AccountId, Asset, AssetId, ChainId, FailureScope, Health, MarketId, NativeHealth, Position,
    PositionKind, Price, PriceSource, ProtocolId, ProtocolSnapshot, Provenance, ReadPoint,
    RiskWeights, Side, Warning, WarningKind,
};
use unimargin_sdk::{
    AdapterError,
    solana::{Pubkey, fixed::fraction_to_decimal},
    units::Rounding,
};

use crate::{
    config::KaminoConfig,
    decode,
    fetch::KaminoRaw,
    fraction::{Fraction, sf},
    obligation::{PricedReserve, Refreshed, refresh},
    pod::Key,
    reserve::accrue,
    scope,
};

/// The context of one normalization.
#[derive(Debug, Clone)]
pub struct NormalizeContext<'a> {
    /// Chain.
    pub chain: &'a ChainId,
    /// The pinned read point.
    pub read_point: ReadPoint,
    /// Protocol id.
    pub protocol: &'a ProtocolId,
    /// Market id.
    pub market: &'a MarketId,
    /// The owner whose obligations these are.
    pub account: &'a AccountId,
    /// Deployment.
    pub config: &'a KaminoConfig,
    /// When the reads completed.
    pub fetched_at: DateTime<Utc>,
}

impl NormalizeContext<'_> {
    fn caip10(&self, key: &Pubkey) -> String {
        format!("{}:{key}", self.chain)
    }

    fn scope(&self) -> FailureScope {
        FailureScope {
            chain: Some(self.chain.clone()),
            protocol: Some(self.protocol.clone()),
            market: Some(self.market.clone()),
            account: Some(self.account.clone()),
        }
    }
}

fn dec(f: Fraction, rounding: Rounding) -> Result<Decimal, AdapterError> {
    Ok(fraction_to_decimal(f.to_bits(), rounding)?.value)
}

fn fx(e: impl std::fmt::Display, what: &str) -> AdapterError {
    AdapterError::OutOfRange {
        what: what.to_owned(),
        value: e.to_string(),
    }
}

/// A reserve's price at the read point and where it came from.
struct ReservePrice {
    price: Fraction,
    updated_at: u64,
    oracle: &'static str,
    feed: Pubkey,
}

fn reserve_price(
    raw: &KaminoRaw,
    ctx: &NormalizeContext<'_>,
    address: &Pubkey,
    reserve: &crate::layout::Reserve,
    symbol: &str,
) -> Result<ReservePrice, AdapterError> {
    let info = &reserve.config.token_info;
    let chain = &info.scope_configuration.price_chain;
    let p = if scope::is_configured(chain) {
        let feed = Pubkey::new_from_array(info.scope_configuration.price_feed.0);
        let prices = raw
            .scope_prices
            .get(&feed)
            .ok_or_else(|| AdapterError::MissingPrice {
                asset: symbol.to_owned(),
                detail: format!("Scope prices {} were not read", ctx.caip10(&feed)),
            })?;
        let q = scope::chain_price(prices, chain).map_err(|e| AdapterError::MissingPrice {
            asset: symbol.to_owned(),
            detail: format!("Scope prices {}: {e}", ctx.caip10(&feed)),
        })?;
        ReservePrice {
            price: q.price,
            updated_at: q.unix_timestamp,
            oracle: "scope",
            feed,
        }
    } else {
        // No Scope chain: the price the reserve holds from its last refresh, judged by its age.
        ReservePrice {
            price: sf(reserve.liquidity.market_price_sf.get()),
            updated_at: reserve.liquidity.market_price_last_updated_ts.get(),
            oracle: "kamino-reserve",
            feed: *address,
        }
    };
    if p.price == Fraction::ZERO {
        return Err(AdapterError::MissingPrice {
            asset: symbol.to_owned(),
            detail: format!("{} price is zero", p.oracle),
        });
    }
    // Kamino refuses a price older than the reserve's own `max_age_price_seconds`; so do we.
    let age = u64::try_from(raw.unix_timestamp)
        .unwrap_or(0)
        .saturating_sub(p.updated_at);
    let max = info.max_age_price_seconds.get();
    if age > max {
        return Err(AdapterError::StalePrice {
            asset: symbol.to_owned(),
            feed: ctx.caip10(&p.feed),
            age_secs: age,
            max_age_secs: max,
        });
    }
    Ok(p)
}

/// Normalizes everything read for one owner in one market.
pub fn normalize(
    raw: &KaminoRaw,
    ctx: &NormalizeContext<'_>,
) -> Result<ProtocolSnapshot, AdapterError> {
    let market = &*raw.market;
    let referral = market.referral_fee_bps.get();
    let mut prices: BTreeMap<Key, (ReservePrice, String)> = BTreeMap::new();
    let mut priced: BTreeMap<Key, PricedReserve<'_>> = BTreeMap::new();
    for (address, reserve) in &raw.reserves {
        let symbol = decode::name(&reserve.config.token_info.name);
        let at = accrue(reserve, raw.slot, referral).map_err(|e| fx(e, "reserve interest"))?;
        let p = reserve_price(raw, ctx, address, reserve, &symbol)?;
        let k = Key(address.to_bytes());
        priced.insert(
            k,
            PricedReserve {
                reserve,
                at,
                price: p.price,
            },
        );
        prices.insert(k, (p, symbol));
    }

    let mut positions = Vec::new();
    let mut figures = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut reproduced = Health::Infinite;
    let mut reported = Health::Infinite;
    let mut liquidatable = false;
    let mut sources = vec![
        ctx.caip10(&ctx.config.program_id),
        ctx.caip10(&ctx.config.lending_market),
    ];
    for o in &raw.obligations {
        sources.push(ctx.caip10(&o.address));
        let ob = &*o.obligation;
        let r = refresh(ob, market, &priced)
            .map_err(|e| AdapterError::malformed(format!("kamino obligation {}", o.address), e))?;
        let h = Health::ratio(
            dec(r.unhealthy_borrow_value, Rounding::Down)?,
            dec(r.borrow_factor_adjusted_debt_value, Rounding::Up)?,
        );
        let stored_unhealthy = sf(ob.unhealthy_borrow_value_sf.get());
        let stored_debt = sf(ob.borrow_factor_adjusted_debt_value_sf.get());
        let h_stored = Health::ratio(
            dec(stored_unhealthy, Rounding::Down)?,
            dec(stored_debt, Rounding::Up)?,
        );
        reproduced = reproduced.min(h);
        reported = reported.min(h_stored);
        liquidatable |= r.is_liquidatable();
        obligation_figures(&mut figures, &o.address, ob, &r)?;
        let stored = [
            ob.deposited_value_sf.get(),
            ob.allowed_borrow_value_sf.get(),
            ob.unhealthy_borrow_value_sf.get(),
            ob.borrow_factor_adjusted_debt_value_sf.get(),
        ];
        let ours = [
            r.deposited_value.to_bits(),
            r.allowed_borrow_value.to_bits(),
            r.unhealthy_borrow_value.to_bits(),
            r.borrow_factor_adjusted_debt_value.to_bits(),
        ];
        if stored != ours {
            warnings.push(Warning {
                scope: ctx.scope(),
                kind: WarningKind::NativeHealthMismatch,
                message: format!(
                    "obligation {} stores values from its last refresh at slot {}{}: borrow limit {}, liquidation limit {}, \
                     adjusted debt {}; recomputed at slot {}: {}, {}, {}",
                    o.address,
                    ob.last_update.slot.get(),
                    if ob.last_update.stale != 0 { " (marked stale)" } else { "" },
                    dec(sf(stored[1]), Rounding::Down)?,
                    dec(sf(stored[2]), Rounding::Down)?,
                    dec(sf(stored[3]), Rounding::Up)?,
                    raw.slot,
                    dec(r.allowed_borrow_value, Rounding::Down)?,
                    dec(r.unhealthy_borrow_value, Rounding::Down)?,
                    dec(r.borrow_factor_adjusted_debt_value, Rounding::Up)?,
                ),
            });
        }
        obligation_positions(raw, ctx, &o.address, &r, &priced, &prices, &mut positions)?;
    }
    let has_obligations = !raw.obligations.is_empty();
    let mut native = NativeHealth::new(
        "kamino.health",
        reproduced,
        has_obligations.then_some(reported),
    );
    native.liquidatable = native.liquidatable || liquidatable;
    native.figures = figures;
    if positions.is_empty() {
        warnings.push(Warning {
            scope: ctx.scope(),
            kind: WarningKind::NoPositions,
            message: format!(
                "{} obligations in market {}, none with a position",
                raw.obligations.len(),
                ctx.config.lending_market
            ),
        });
    }
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
        native_health: native,
        warnings,
    })
}

fn obligation_figures(
    figures: &mut BTreeMap<String, String>,
    address: &Pubkey,
    ob: &crate::layout::Obligation,
    r: &Refreshed,
) -> Result<(), AdapterError> {
    let mut put = |k: &str, v: String| {
        figures.insert(format!("{address}.{k}"), v);
    };
    put(
        "deposited_value",
        dec(r.deposited_value, Rounding::Down)?.to_string(),
    );
    put(
        "allowed_borrow_value",
        dec(r.allowed_borrow_value, Rounding::Down)?.to_string(),
    );
    put(
        "unhealthy_borrow_value",
        dec(r.unhealthy_borrow_value, Rounding::Down)?.to_string(),
    );
    put(
        "borrowed_assets_market_value",
        dec(r.borrowed_assets_market_value, Rounding::Up)?.to_string(),
    );
    put(
        "borrow_factor_adjusted_debt_value",
        dec(r.borrow_factor_adjusted_debt_value, Rounding::Up)?.to_string(),
    );
    put(
        "stored_deposited_value_sf",
        ob.deposited_value_sf.get().to_string(),
    );
    put(
        "stored_allowed_borrow_value_sf",
        ob.allowed_borrow_value_sf.get().to_string(),
    );
    put(
        "stored_unhealthy_borrow_value_sf",
        ob.unhealthy_borrow_value_sf.get().to_string(),
    );
    put(
        "stored_borrow_factor_adjusted_debt_value_sf",
        ob.borrow_factor_adjusted_debt_value_sf.get().to_string(),
    );
    put("last_update_slot", ob.last_update.slot.get().to_string());
    put("elevation_group", ob.elevation_group.to_string());
    Ok(())
}

fn pct(p: u8) -> Decimal {
    Decimal::new(i64::from(p), 2).normalize()
}

#[allow(clippy::too_many_arguments)]
fn obligation_positions(
    raw: &KaminoRaw,
    ctx: &NormalizeContext<'_>,
    address: &Pubkey,
    r: &Refreshed,
    priced: &BTreeMap<Key, PricedReserve<'_>>,
    prices: &BTreeMap<Key, (ReservePrice, String)>,
    out: &mut Vec<Position>,
) -> Result<(), AdapterError> {
    let price_of = |k: &Key| -> Result<(Asset, Price, u32), AdapterError> {
        let (p, symbol) = &prices[k];
        let reserve = priced[k].reserve;
        let decimals =
            u32::try_from(reserve.liquidity.mint_decimals.get()).map_err(|e| fx(e, "decimals"))?;
        let asset = Asset {
            id: AssetId {
                chain: ctx.chain.clone(),
                namespace: "spl".into(),
                reference: reserve.liquidity.mint_pubkey.to_base58(),
            },
            symbol: symbol.clone(),
            decimals: u8::try_from(decimals).unwrap_or(u8::MAX),
            risk_key: ctx.config.risk_key(symbol),
        };
        let price = Price {
            usd: dec(p.price, Rounding::Down)?,
            source: PriceSource {
                oracle: p.oracle.to_owned(),
                address: Some(ctx.caip10(&p.feed)),
                feed: Some(ctx.caip10(&Pubkey::new_from_array(k.0))),
            },
            updated_at: DateTime::from_timestamp(i64::try_from(p.updated_at).unwrap_or(0), 0),
            age_seconds: Some(
                u64::try_from(raw.unix_timestamp)
                    .unwrap_or(0)
                    .saturating_sub(p.updated_at),
            ),
        };
        Ok((asset, price, decimals))
    };
    let scale = |d: u32| Decimal::from_i128_with_scale(1, d);
    for d in &r.deposits {
        let (asset, price, decimals) = price_of(&d.reserve)?;
        let mut native = BTreeMap::new();
        native.insert("obligation".into(), address.to_string());
        native.insert("reserve".into(), d.reserve.to_base58());
        native.insert("deposited_ctokens".into(), d.ctokens.to_string());
        native.insert(
            "collateral_exchange_rate_sf".into(),
            priced[&d.reserve]
                .at
                .exchange_rate()
                .map_err(|e| fx(e, "exchange rate"))?
                .to_bits()
                .to_string(),
        );
        out.push(Position {
            kind: PositionKind::Supply,
            side: Side::Long,
            asset,
            amount: dec(d.liquidity, Rounding::Down)? * scale(decimals),
            price,
            value_usd: dec(d.market_value, Rounding::Down)?,
            counts_as_collateral: d.ltv_pct > 0 || d.liquidation_threshold_pct > 0,
            weights: RiskWeights {
                initial: pct(d.ltv_pct),
                maintenance: pct(d.liquidation_threshold_pct),
            },
            perp: None,
            option: None,
            greeks: None,
            native,
        });
    }
    for b in &r.borrows {
        let (asset, price, decimals) = price_of(&b.reserve)?;
        let bf = dec(b.borrow_factor, Rounding::Up)?;
        let mut native = BTreeMap::new();
        native.insert("obligation".into(), address.to_string());
        native.insert("reserve".into(), b.reserve.to_base58());
        native.insert(
            "borrowed_amount_sf".into(),
            b.borrowed.to_bits().to_string(),
        );
        native.insert(
            "cumulative_borrow_rate_sf".into(),
            priced[&b.reserve].at.cumulative_borrow_rate.to_string(),
        );
        out.push(Position {
            kind: PositionKind::Debt,
            side: Side::Short,
            asset,
            amount: dec(b.borrowed, Rounding::Up)? * scale(decimals),
            price,
            value_usd: dec(b.market_value, Rounding::Up)?,
            counts_as_collateral: false,
            weights: RiskWeights {
                initial: bf,
                maintenance: bf,
            },
            perp: None,
            option: None,
            greeks: None,
            native,
        });
    }
    Ok(())
}
