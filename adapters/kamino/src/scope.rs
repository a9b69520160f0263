//! Prices from Scope's `OraclePrices`, the oracle Kamino's reserves name in their token info: a
//! reserve's price is the product of the prices along its `price_chain` (indexes into the 512
//! slots; `u16::MAX` ends the chain), each `value × 10^-exp`.

use crate::{
    fraction::{Fraction, FractionError, div, mul},
    layout::OraclePrices,
    pod::U16,
};

/// A chained Scope price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeQuote {
    /// USD per whole token.
    pub price: Fraction,
    /// The oldest update along the chain (unix seconds).
    pub unix_timestamp: u64,
    /// The oldest update along the chain (slot).
    pub slot: u64,
}

/// Why a chain could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The chain is empty or points outside the price table.
    #[error("scope price chain {0:?} is empty or out of range")]
    BadChain([u16; 4]),
    /// A link has no price.
    #[error("scope price {0} is zero")]
    ZeroPrice(u16),
    /// Fixed-point overflow.
    #[error(transparent)]
    Fraction(#[from] FractionError),
}

/// Whether a reserve's Scope chain is configured (its first index is not `u16::MAX`).
pub fn is_configured(chain: &[U16; 4]) -> bool {
    chain[0].get() != u16::MAX
}

/// The price along `chain`.
pub fn chain_price(prices: &OraclePrices, chain: &[U16; 4]) -> Result<ScopeQuote, ScopeError> {
    let raw = chain.map(|c| c.get());
    let mut price = Fraction::ONE;
    let mut ts = u64::MAX;
    let mut slot = u64::MAX;
    let mut links = 0;
    for index in raw.iter().copied().take_while(|&i| i != u16::MAX) {
        let dated = prices
            .prices
            .get(usize::from(index))
            .ok_or(ScopeError::BadChain(raw))?;
        let value = dated.price.value.get();
        if value == 0 {
            return Err(ScopeError::ZeroPrice(index));
        }
        let exp = u32::try_from(dated.price.exp.get()).map_err(|_| ScopeError::BadChain(raw))?;
        let scale = 10u128.checked_pow(exp).ok_or(ScopeError::BadChain(raw))?;
        let link = div(
            Fraction::from_num(value),
            Fraction::checked_from_num(scale).ok_or(ScopeError::BadChain(raw))?,
        )?;
        price = mul(price, link)?;
        ts = ts.min(dated.unix_timestamp.get());
        slot = slot.min(dated.last_updated_slot.get());
        links += 1;
    }
    if links == 0 {
        return Err(ScopeError::BadChain(raw));
    }
    Ok(ScopeQuote {
        price,
        unix_timestamp: ts,
        slot,
    })
}
