//! Drift v2's account layouts, zero-copy, exactly as the program stores them.
//!
//! Field order and types follow the program's Anchor IDL (v2.162); every integer is a
//! little-endian byte array ([`crate::pod`]) so the structs have no implicit padding and an
//! alignment of one, which is what the IDL's packed layout means. `tests/it/idl.rs` recomputes
//! every size and offset from the IDL JSON and compares them with these structs. Enums are kept as
//! their `u8` discriminants and interpreted in [`crate::types`].
//!
//! Only the fields the margin calculation reads are used, but every field is declared so that an
//! offset can never drift silently.

// The field names are the program's own (see the IDL); documenting each again here would only
// copy the IDL, so the generated-style structs carry one doc comment per struct.
#![allow(missing_docs)]

use bytemuck::{Pod, Zeroable};

use crate::pod::{I16, I32, I64, I128, Key, U16, U32, U64, U128};

/// `SpotPosition` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct SpotPosition {
    pub scaled_balance: U64,
    pub open_bids: I64,
    pub open_asks: I64,
    pub cumulative_deposits: I64,
    pub market_index: U16,
    pub balance_type: u8,
    pub open_orders: u8,
    pub padding: [u8; 4],
}

/// `PerpPosition` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PerpPosition {
    pub last_cumulative_funding_rate: I64,
    pub base_asset_amount: I64,
    pub quote_asset_amount: I64,
    pub quote_break_even_amount: I64,
    pub quote_entry_amount: I64,
    pub open_bids: I64,
    pub open_asks: I64,
    pub settled_pnl: I64,
    pub lp_shares: U64,
    pub isolated_position_scaled_balance: U64,
    pub last_quote_asset_amount_per_lp: I64,
    pub padding: [u8; 2],
    pub max_margin_ratio: U16,
    pub market_index: U16,
    pub open_orders: u8,
    pub position_flag: u8,
}

/// `Order` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct Order {
    pub slot: U64,
    pub price: U64,
    pub base_asset_amount: U64,
    pub base_asset_amount_filled: U64,
    pub quote_asset_amount_filled: U64,
    pub trigger_price: U64,
    pub auction_start_price: I64,
    pub auction_end_price: I64,
    pub max_ts: I64,
    pub oracle_price_offset: I32,
    pub order_id: U32,
    pub market_index: U16,
    pub status: u8,
    pub order_type: u8,
    pub market_type: u8,
    pub user_order_id: u8,
    pub existing_position_direction: u8,
    pub direction: u8,
    pub reduce_only: u8,
    pub post_only: u8,
    pub immediate_or_cancel: u8,
    pub trigger_condition: u8,
    pub auction_duration: u8,
    pub posted_slot_tail: u8,
    pub bit_flags: u8,
    pub padding: [u8; 1],
}

/// `User` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct User {
    pub authority: Key,
    pub delegate: Key,
    pub name: [u8; 32],
    pub spot_positions: [SpotPosition; 8],
    pub perp_positions: [PerpPosition; 8],
    pub orders: [Order; 32],
    pub last_add_perp_lp_shares_ts: I64,
    pub total_deposits: U64,
    pub total_withdraws: U64,
    pub total_social_loss: U64,
    pub settled_perp_pnl: I64,
    pub cumulative_spot_fees: I64,
    pub cumulative_perp_funding: I64,
    pub liquidation_margin_freed: U64,
    pub last_active_slot: U64,
    pub next_order_id: U32,
    pub max_margin_ratio: U32,
    pub next_liquidation_id: U16,
    pub sub_account_id: U16,
    pub status: u8,
    pub is_margin_trading_enabled: u8,
    pub idle: u8,
    pub open_orders: u8,
    pub has_open_order: u8,
    pub open_auctions: u8,
    pub has_open_auction: u8,
    pub margin_mode: u8,
    pub pool_id: u8,
    pub padding1: [u8; 3],
    pub last_fuel_bonus_update_ts: U32,
    pub padding: [u8; 12],
}

/// `HistoricalOracleData` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct HistoricalOracleData {
    pub last_oracle_price: I64,
    pub last_oracle_conf: U64,
    pub last_oracle_delay: I64,
    pub last_oracle_price_twap: I64,
    pub last_oracle_price_twap_5min: I64,
    pub last_oracle_price_twap_ts: I64,
}

/// `HistoricalIndexData` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct HistoricalIndexData {
    pub last_index_bid_price: U64,
    pub last_index_ask_price: U64,
    pub last_index_price_twap: U64,
    pub last_index_price_twap_5min: U64,
    pub last_index_price_twap_ts: I64,
}

/// `PoolBalance` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PoolBalance {
    pub scaled_balance: U128,
    pub market_index: U16,
    pub padding: [u8; 6],
}

/// `InsuranceFund` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct InsuranceFund {
    pub vault: Key,
    pub total_shares: U128,
    pub user_shares: U128,
    pub shares_base: U128,
    pub unstaking_period: I64,
    pub last_revenue_settle_ts: I64,
    pub revenue_settle_period: I64,
    pub total_factor: U32,
    pub user_factor: U32,
}

/// `SpotMarket` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct SpotMarket {
    pub pubkey: Key,
    pub oracle: Key,
    pub mint: Key,
    pub vault: Key,
    pub name: [u8; 32],
    pub historical_oracle_data: HistoricalOracleData,
    pub historical_index_data: HistoricalIndexData,
    pub revenue_pool: PoolBalance,
    pub spot_fee_pool: PoolBalance,
    pub insurance_fund: InsuranceFund,
    pub total_spot_fee: U128,
    pub deposit_balance: U128,
    pub borrow_balance: U128,
    pub cumulative_deposit_interest: U128,
    pub cumulative_borrow_interest: U128,
    pub total_social_loss: U128,
    pub total_quote_social_loss: U128,
    pub withdraw_guard_threshold: U64,
    pub max_token_deposits: U64,
    pub deposit_token_twap: U64,
    pub borrow_token_twap: U64,
    pub utilization_twap: U64,
    pub last_interest_ts: U64,
    pub last_twap_ts: U64,
    pub expiry_ts: I64,
    pub order_step_size: U64,
    pub order_tick_size: U64,
    pub min_order_size: U64,
    pub max_position_size: U64,
    pub next_fill_record_id: U64,
    pub next_deposit_record_id: U64,
    pub initial_asset_weight: U32,
    pub maintenance_asset_weight: U32,
    pub initial_liability_weight: U32,
    pub maintenance_liability_weight: U32,
    pub imf_factor: U32,
    pub liquidator_fee: U32,
    pub if_liquidation_fee: U32,
    pub optimal_utilization: U32,
    pub optimal_borrow_rate: U32,
    pub max_borrow_rate: U32,
    pub decimals: U32,
    pub market_index: U16,
    pub orders_enabled: u8,
    pub oracle_source: u8,
    pub status: u8,
    pub asset_tier: u8,
    pub paused_operations: u8,
    pub if_paused_operations: u8,
    pub fee_adjustment: I16,
    pub max_token_borrows_fraction: U16,
    pub flash_loan_amount: U64,
    pub flash_loan_initial_token_amount: U64,
    pub total_swap_fee: U64,
    pub scale_initial_asset_weight_start: U64,
    pub min_borrow_rate: u8,
    pub fuel_boost_deposits: u8,
    pub fuel_boost_borrows: u8,
    pub fuel_boost_taker: u8,
    pub fuel_boost_maker: u8,
    pub fuel_boost_insurance: u8,
    pub token_program_flag: u8,
    pub pool_id: u8,
    pub padding: [u8; 40],
}

/// `AMM` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct AMM {
    pub oracle: Key,
    pub historical_oracle_data: HistoricalOracleData,
    pub base_asset_amount_per_lp: I128,
    pub quote_asset_amount_per_lp: I128,
    pub fee_pool: PoolBalance,
    pub base_asset_reserve: U128,
    pub quote_asset_reserve: U128,
    pub concentration_coef: U128,
    pub min_base_asset_reserve: U128,
    pub max_base_asset_reserve: U128,
    pub sqrt_k: U128,
    pub peg_multiplier: U128,
    pub terminal_quote_asset_reserve: U128,
    pub base_asset_amount_long: I128,
    pub base_asset_amount_short: I128,
    pub base_asset_amount_with_amm: I128,
    pub base_asset_amount_with_unsettled_lp: I128,
    pub max_open_interest: U128,
    pub quote_asset_amount: I128,
    pub quote_entry_amount_long: I128,
    pub quote_entry_amount_short: I128,
    pub quote_break_even_amount_long: I128,
    pub quote_break_even_amount_short: I128,
    pub user_lp_shares: U128,
    pub last_funding_rate: I64,
    pub last_funding_rate_long: I64,
    pub last_funding_rate_short: I64,
    pub last_24h_avg_funding_rate: I64,
    pub total_fee: I128,
    pub total_mm_fee: I128,
    pub total_exchange_fee: U128,
    pub total_fee_minus_distributions: I128,
    pub total_fee_withdrawn: U128,
    pub total_liquidation_fee: U128,
    pub cumulative_funding_rate_long: I128,
    pub cumulative_funding_rate_short: I128,
    pub total_social_loss: U128,
    pub ask_base_asset_reserve: U128,
    pub ask_quote_asset_reserve: U128,
    pub bid_base_asset_reserve: U128,
    pub bid_quote_asset_reserve: U128,
    pub last_oracle_normalised_price: I64,
    pub last_oracle_reserve_price_spread_pct: I64,
    pub last_bid_price_twap: U64,
    pub last_ask_price_twap: U64,
    pub last_mark_price_twap: U64,
    pub last_mark_price_twap_5min: U64,
    pub last_update_slot: U64,
    pub last_oracle_conf_pct: U64,
    pub net_revenue_since_last_funding: I64,
    pub last_funding_rate_ts: I64,
    pub funding_period: I64,
    pub order_step_size: U64,
    pub order_tick_size: U64,
    pub min_order_size: U64,
    pub mm_oracle_slot: U64,
    pub volume_24h: U64,
    pub long_intensity_volume: U64,
    pub short_intensity_volume: U64,
    pub last_trade_ts: I64,
    pub mark_std: U64,
    pub oracle_std: U64,
    pub last_mark_price_twap_ts: I64,
    pub base_spread: U32,
    pub max_spread: U32,
    pub long_spread: U32,
    pub short_spread: U32,
    pub mm_oracle_price: I64,
    pub max_fill_reserve_fraction: U16,
    pub max_slippage_ratio: U16,
    pub curve_update_intensity: u8,
    pub amm_jit_intensity: u8,
    pub oracle_source: u8,
    pub last_oracle_valid: u8,
    pub target_base_asset_amount_per_lp: I32,
    pub per_lp_base: i8,
    pub oracle_low_risk_slot_delay_override: i8,
    pub amm_spread_adjustment: i8,
    pub oracle_slot_delay_override: i8,
    pub mm_oracle_sequence_id: U64,
    pub net_unsettled_funding_pnl: I64,
    pub quote_asset_amount_with_unsettled_lp: I64,
    pub reference_price_offset: I32,
    pub amm_inventory_spread_adjustment: i8,
    pub reference_price_offset_deadband_pct: u8,
    pub padding: [u8; 2],
    pub last_funding_oracle_twap: I64,
}

/// `InsuranceClaim` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct InsuranceClaim {
    pub revenue_withdraw_since_last_settle: I64,
    pub max_revenue_withdraw_per_period: U64,
    pub quote_max_insurance: U64,
    pub quote_settled_insurance: U64,
    pub last_revenue_withdraw_ts: I64,
}

/// `PerpMarket` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PerpMarket {
    pub pubkey: Key,
    pub amm: AMM,
    pub pnl_pool: PoolBalance,
    pub name: [u8; 32],
    pub insurance_claim: InsuranceClaim,
    pub unrealized_pnl_max_imbalance: U64,
    pub expiry_ts: I64,
    pub expiry_price: I64,
    pub next_fill_record_id: U64,
    pub next_funding_rate_record_id: U64,
    pub next_curve_record_id: U64,
    pub imf_factor: U32,
    pub unrealized_pnl_imf_factor: U32,
    pub liquidator_fee: U32,
    pub if_liquidation_fee: U32,
    pub margin_ratio_initial: U32,
    pub margin_ratio_maintenance: U32,
    pub unrealized_pnl_initial_asset_weight: U32,
    pub unrealized_pnl_maintenance_asset_weight: U32,
    pub number_of_users_with_base: U32,
    pub number_of_users: U32,
    pub market_index: U16,
    pub status: u8,
    pub contract_type: u8,
    pub contract_tier: u8,
    pub paused_operations: u8,
    pub quote_spot_market_index: U16,
    pub fee_adjustment: I16,
    pub fuel_boost_position: u8,
    pub fuel_boost_taker: u8,
    pub fuel_boost_maker: u8,
    pub pool_id: u8,
    pub high_leverage_margin_ratio_initial: U16,
    pub high_leverage_margin_ratio_maintenance: U16,
    pub protected_maker_limit_price_divisor: u8,
    pub protected_maker_dynamic_divisor: u8,
    pub lp_fee_transfer_scalar: u8,
    pub lp_status: u8,
    pub lp_paused_operations: u8,
    pub lp_exchange_fee_excluscion_scalar: u8,
    pub last_fill_price: U64,
    pub lp_pool_id: u8,
    pub market_config: u8,
    pub padding: [u8; 22],
}

/// `FeeTier` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct FeeTier {
    pub fee_numerator: U32,
    pub fee_denominator: U32,
    pub maker_rebate_numerator: U32,
    pub maker_rebate_denominator: U32,
    pub referrer_reward_numerator: U32,
    pub referrer_reward_denominator: U32,
    pub referee_fee_numerator: U32,
    pub referee_fee_denominator: U32,
}

/// `OrderFillerRewardStructure` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct OrderFillerRewardStructure {
    pub reward_numerator: U32,
    pub reward_denominator: U32,
    pub time_based_reward_lower_bound: U128,
}

/// `FeeStructure` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct FeeStructure {
    pub fee_tiers: [FeeTier; 10],
    pub filler_reward_structure: OrderFillerRewardStructure,
    pub referrer_reward_epoch_upper_bound: U64,
    pub flat_filler_fee: U64,
}

/// `PriceDivergenceGuardRails` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PriceDivergenceGuardRails {
    pub mark_oracle_percent_divergence: U64,
    pub oracle_twap_5min_percent_divergence: U64,
}

/// `ValidityGuardRails` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ValidityGuardRails {
    pub slots_before_stale_for_amm: I64,
    pub slots_before_stale_for_margin: I64,
    pub confidence_interval_max_size: U64,
    pub too_volatile_ratio: I64,
}

/// `OracleGuardRails` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct OracleGuardRails {
    pub price_divergence: PriceDivergenceGuardRails,
    pub validity: ValidityGuardRails,
}

/// `State` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct State {
    pub admin: Key,
    pub whitelist_mint: Key,
    pub discount_mint: Key,
    pub signer: Key,
    pub srm_vault: Key,
    pub perp_fee_structure: FeeStructure,
    pub spot_fee_structure: FeeStructure,
    pub oracle_guard_rails: OracleGuardRails,
    pub number_of_authorities: U64,
    pub number_of_sub_accounts: U64,
    pub lp_cooldown_time: U64,
    pub liquidation_margin_buffer_ratio: U32,
    pub settlement_duration: U16,
    pub number_of_markets: U16,
    pub number_of_spot_markets: U16,
    pub signer_nonce: u8,
    pub min_perp_auction_duration: u8,
    pub default_market_order_time_in_force: u8,
    pub default_spot_auction_duration: u8,
    pub exchange_status: u8,
    pub liquidation_duration: u8,
    pub initial_pct_to_liquidate: U16,
    pub max_number_of_sub_accounts: U16,
    pub max_initialize_user_fee: U16,
    pub feature_bit_flags: u8,
    pub lp_pool_feature_bit_flags: u8,
    pub padding: [u8; 8],
}

/// `PythLazerOracle` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PythLazerOracle {
    pub price: I64,
    pub publish_time: U64,
    pub posted_slot: U64,
    pub exponent: I32,
    pub padding: [u8; 4],
    pub conf: U64,
}

/// `PrelaunchOracle` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PrelaunchOracle {
    pub price: I64,
    pub max_price: I64,
    pub confidence: U64,
    pub last_update_slot: U64,
    pub amm_last_update_slot: U64,
    pub perp_market_index: U16,
    pub padding: [u8; 70],
}

/// An Anchor account type: its name (for the discriminator) and its 8-byte discriminator,
/// `sha256("account:<Name>")[..8]`.
pub trait AnchorAccount: Pod {
    /// The account's name in the IDL.
    const NAME: &'static str;
    /// `sha256("account:<NAME>")[..8]`, written out so that a test can recompute it.
    const DISCRIMINATOR: [u8; 8];
    /// Size of the account data: discriminator plus the struct.
    const SIZE: usize = 8 + std::mem::size_of::<Self>();
}

impl AnchorAccount for User {
    const NAME: &'static str = "User";
    const DISCRIMINATOR: [u8; 8] = [159, 117, 95, 227, 239, 151, 58, 236];
}
impl AnchorAccount for SpotMarket {
    const NAME: &'static str = "SpotMarket";
    const DISCRIMINATOR: [u8; 8] = [100, 177, 8, 107, 168, 65, 65, 39];
}
impl AnchorAccount for PerpMarket {
    const NAME: &'static str = "PerpMarket";
    const DISCRIMINATOR: [u8; 8] = [10, 223, 12, 44, 107, 245, 55, 247];
}
impl AnchorAccount for State {
    const NAME: &'static str = "State";
    const DISCRIMINATOR: [u8; 8] = [216, 146, 107, 94, 104, 75, 182, 177];
}
impl AnchorAccount for PythLazerOracle {
    const NAME: &'static str = "PythLazerOracle";
    const DISCRIMINATOR: [u8; 8] = [159, 7, 161, 249, 34, 81, 121, 133];
}
impl AnchorAccount for PrelaunchOracle {
    const NAME: &'static str = "PrelaunchOracle";
    const DISCRIMINATOR: [u8; 8] = [92, 14, 139, 234, 72, 244, 68, 26];
}

// The sizes the program asserts for its accounts (`impl Size for User { SIZE = 4376 }` …).
const _: () = assert!(User::SIZE == 4376);
const _: () = assert!(SpotMarket::SIZE == 776);
const _: () = assert!(PerpMarket::SIZE == 1216);
const _: () = assert!(State::SIZE == 992);
const _: () = assert!(PythLazerOracle::SIZE == 48);
const _: () = assert!(PrelaunchOracle::SIZE == 120);
