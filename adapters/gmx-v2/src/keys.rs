//! GMX v2's DataStore keys (gmx-synthetics `contracts/data/Keys.sol`).
//!
//! A name is `keccak256(abi.encode("NAME"))`; a parameterized key is
//! `keccak256(abi.encode(NAME, arg, ...))` with every argument ABI-encoded as a 32-byte word. The
//! fixtures derive the same keys independently in Solidity (`fixtures/src/libraries/Keys.sol`), so
//! every anvil test checks these functions against them.

use alloy::{
    primitives::{Address, B256, keccak256},
    sol_types::SolValue,
};

/// `keccak256(abi.encode(name))`.
pub fn name(name: &str) -> B256 {
    keccak256(name.to_owned().abi_encode())
}

fn with_address(base: &str, a: Address) -> B256 {
    keccak256((name(base), a).abi_encode())
}

fn with_address_bool(base: &str, a: Address, flag: bool) -> B256 {
    keccak256((name(base), a, flag).abi_encode())
}

fn with_two_addresses_bool(base: &str, a: Address, b: Address, flag: bool) -> B256 {
    keccak256((name(base), a, b, flag).abi_encode())
}

/// `MIN_COLLATERAL_USD` (global, USD with 30 decimals).
pub fn min_collateral_usd() -> B256 {
    name("MIN_COLLATERAL_USD")
}

/// `MIN_COLLATERAL_FACTOR` of a market: the leverage limit for opening and increasing.
pub fn min_collateral_factor(market: Address) -> B256 {
    with_address("MIN_COLLATERAL_FACTOR", market)
}

/// `MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION` of a market: the leverage limit liquidations enforce.
pub fn min_collateral_factor_for_liquidation(market: Address) -> B256 {
    with_address("MIN_COLLATERAL_FACTOR_FOR_LIQUIDATION", market)
}

/// `MIN_COLLATERAL_FACTOR_FOR_OPEN_INTEREST_MULTIPLIER` of a market side.
pub fn min_collateral_factor_for_open_interest_multiplier(market: Address, is_long: bool) -> B256 {
    with_address_bool(
        "MIN_COLLATERAL_FACTOR_FOR_OPEN_INTEREST_MULTIPLIER",
        market,
        is_long,
    )
}

/// `MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS` of a market.
pub fn max_position_impact_factor_for_liquidations(market: Address) -> B256 {
    with_address("MAX_POSITION_IMPACT_FACTOR_FOR_LIQUIDATIONS", market)
}

/// `POSITION_FEE_FACTOR` of a market for orders that improve (or worsen) the long/short balance.
pub fn position_fee_factor(market: Address, balance_was_improved: bool) -> B256 {
    with_address_bool("POSITION_FEE_FACTOR", market, balance_was_improved)
}

/// `CUMULATIVE_BORROWING_FACTOR` of a market side, as last stored.
pub fn cumulative_borrowing_factor(market: Address, is_long: bool) -> B256 {
    with_address_bool("CUMULATIVE_BORROWING_FACTOR", market, is_long)
}

/// `FUNDING_FEE_AMOUNT_PER_SIZE` of (market, collateral token, side), as last stored.
pub fn funding_fee_amount_per_size(market: Address, collateral: Address, is_long: bool) -> B256 {
    with_two_addresses_bool("FUNDING_FEE_AMOUNT_PER_SIZE", market, collateral, is_long)
}

/// `OPEN_INTEREST` (USD) of (market, collateral token, side).
pub fn open_interest(market: Address, collateral: Address, is_long: bool) -> B256 {
    with_two_addresses_bool("OPEN_INTEREST", market, collateral, is_long)
}

/// `OPEN_INTEREST_IN_TOKENS` of (market, collateral token, side).
pub fn open_interest_in_tokens(market: Address, collateral: Address, is_long: bool) -> B256 {
    with_two_addresses_bool("OPEN_INTEREST_IN_TOKENS", market, collateral, is_long)
}

/// `POOL_AMOUNT` of one token of a market.
pub fn pool_amount(market: Address, token: Address) -> B256 {
    keccak256((name("POOL_AMOUNT"), market, token).abi_encode())
}

/// `MAX_PNL_FACTOR` for `MAX_PNL_FACTOR_FOR_TRADERS` of a market side.
pub fn max_pnl_factor_for_traders(market: Address, is_long: bool) -> B256 {
    keccak256(
        (
            name("MAX_PNL_FACTOR"),
            name("MAX_PNL_FACTOR_FOR_TRADERS"),
            market,
            is_long,
        )
            .abi_encode(),
    )
}

/// `PRICE_FEED` of a token: GMX's reference Chainlink feed.
pub fn price_feed(token: Address) -> B256 {
    with_address("PRICE_FEED", token)
}

/// `PRICE_FEED_MULTIPLIER` of a token (`10^(60 - feed decimals - token decimals)`).
pub fn price_feed_multiplier(token: Address) -> B256 {
    with_address("PRICE_FEED_MULTIPLIER", token)
}

/// `PRICE_FEED_HEARTBEAT_DURATION` of a token (seconds).
pub fn price_feed_heartbeat_duration(token: Address) -> B256 {
    with_address("PRICE_FEED_HEARTBEAT_DURATION", token)
}

/// `STABLE_PRICE` of a token (30 decimals per base unit; 0 = none).
pub fn stable_price(token: Address) -> B256 {
    with_address("STABLE_PRICE", token)
}

/// GMX's position key: `keccak256(abi.encode(account, market, collateralToken, isLong))`.
pub fn position_key(account: Address, market: Address, collateral: Address, is_long: bool) -> B256 {
    keccak256((account, market, collateral, is_long).abi_encode())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_the_hash_of_its_abi_encoding() {
        // abi.encode("AB") = offset 0x20 ‖ length 2 ‖ "AB" right-padded: three 32-byte words.
        let mut encoded = vec![0u8; 96];
        encoded[31] = 0x20;
        encoded[63] = 2;
        encoded[64] = b'A';
        encoded[65] = b'B';
        assert_eq!(name("AB"), keccak256(&encoded));
    }

    #[test]
    fn names_match_published_gmx_constants() {
        // keccak256(abi.encode("MAX_PNL_FACTOR_FOR_TRADERS")) as hard-coded by integrators of GMX.
        let expected: B256 = "0xab15365d3aa743e766355e2557c230d8f943e195dc84d9b2b05928a07b635ee1"
            .parse()
            .unwrap();
        assert_eq!(name("MAX_PNL_FACTOR_FOR_TRADERS"), expected);
    }

    #[test]
    fn parameterized_keys_hash_words_not_packed_bytes() {
        let market = Address::repeat_byte(0x11);
        let mut encoded = name("MIN_COLLATERAL_FACTOR").to_vec();
        encoded.extend_from_slice(&[0u8; 12]);
        encoded.extend_from_slice(market.as_slice());
        assert_eq!(min_collateral_factor(market), keccak256(&encoded));
        let mut with_flag = name("POSITION_FEE_FACTOR").to_vec();
        with_flag.extend_from_slice(&[0u8; 12]);
        with_flag.extend_from_slice(market.as_slice());
        let mut word = [0u8; 32];
        word[31] = 1;
        with_flag.extend_from_slice(&word);
        assert_eq!(position_fee_factor(market, true), keccak256(&with_flag));
    }
}
