//! Drift's integer precisions (`math/constants.rs` of the program), with their exponents.

/// Prices: `expo = -6`.
pub const PRICE_PRECISION: i128 = 1_000_000;
/// Quote amounts (USDC): `expo = -6`.
pub const QUOTE_PRECISION: i128 = 1_000_000;
/// Perp base amounts: `expo = -9`.
pub const BASE_PRECISION: i128 = 1_000_000_000;
/// AMM reserves, the unit of size for size premiums: `expo = -9`.
pub const AMM_RESERVE_PRECISION: u128 = 1_000_000_000;
/// `BASE_PRECISION × PRICE_PRECISION / QUOTE_PRECISION`: base × price → quote.
pub const PRICE_TIMES_AMM_TO_QUOTE_PRECISION_RATIO: i128 = 1_000_000_000;
/// `AMM_RESERVE_PRECISION / QUOTE_PRECISION`.
pub const AMM_TO_QUOTE_PRECISION_RATIO: u128 = 1_000;
/// Spot scaled balances: `expo = -9`.
pub const SPOT_BALANCE_PRECISION: u128 = 1_000_000_000;
/// Spot cumulative interest indexes: `expo = -10`.
pub const SPOT_CUMULATIVE_INTEREST_PRECISION: u128 = 10_000_000_000;
/// Margin ratios: `expo = -4`.
pub const MARGIN_PRECISION: u128 = 10_000;
/// Spot asset / liability weights: `expo = -4`.
pub const SPOT_WEIGHT_PRECISION: u128 = 10_000;
/// `imf_factor`: `expo = -6`.
pub const SPOT_IMF_PRECISION: u128 = 1_000_000;
/// Funding rates: `expo = -9`.
pub const FUNDING_RATE_PRECISION: i128 = 1_000_000_000;
/// `FUNDING_RATE_PRECISION / QUOTE_PRECISION`.
pub const FUNDING_RATE_TO_QUOTE_PRECISION_RATIO: u128 = 1_000;
/// Percentages (oracle guard rails): `expo = -6`.
pub const PERCENTAGE_PRECISION: u128 = 1_000_000;
/// Margin charged for every open order: $0.01 (`QUOTE_PRECISION / 100`).
pub const OPEN_ORDER_MARGIN_REQUIREMENT: u128 = 10_000;
/// Positive unrealized PnL counted towards initial margin is capped at $100.
pub const MAX_POSITIVE_UPNL_FOR_INITIAL_MARGIN: i128 = 100 * QUOTE_PRECISION;
/// The quote spot market (USDC).
pub const QUOTE_SPOT_MARKET_INDEX: u16 = 0;
