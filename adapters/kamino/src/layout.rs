//! Kamino Lend's account layouts, zero-copy, exactly as the program stores them.
//!
//! Field order and types follow the program's Anchor IDL (klend v1.13); every integer is a
//! little-endian byte array ([`crate::pod`]) so the structs have no implicit padding and an
//! alignment of one. `tests/it/idl.rs` recomputes every size and offset from the IDL JSON and
//! compares them with these structs. Scope's `OraclePrices` (not in the klend IDL) is declared
//! from Scope's source layout and checked against a real account's size.

// The field names are the program's own (see the IDL); documenting each again here would only
// copy the IDL, so the generated-style structs carry one doc comment per struct.
#![allow(missing_docs)]

use bytemuck::{Pod, Zeroable};

use crate::pod::{I64, Key, U16, U32, U64, U128};

/// `LastUpdate` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct LastUpdate {
    pub slot: U64,
    pub stale: u8,
    pub price_status: u8,
    pub placeholder: [u8; 6],
}

/// `ObligationCollateral` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ObligationCollateral {
    pub deposit_reserve: Key,
    pub deposited_amount: U64,
    pub market_value_sf: U128,
    pub borrowed_amount_against_this_collateral_in_elevation_group: U64,
    pub padding: [U64; 9],
}

/// `BigFractionBytes` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct BigFractionBytes {
    pub value: [U64; 4],
    pub padding: [U64; 2],
}

/// `ObligationLiquidity` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ObligationLiquidity {
    pub borrow_reserve: Key,
    pub cumulative_borrow_rate_bsf: BigFractionBytes,
    pub first_borrowed_at_timestamp: U64,
    pub borrowed_amount_sf: U128,
    pub market_value_sf: U128,
    pub borrow_factor_adjusted_market_value_sf: U128,
    pub borrowed_amount_outside_elevation_groups: U64,
    pub padding2: [U64; 7],
}

/// `ObligationOrder` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ObligationOrder {
    pub condition_threshold_sf: U128,
    pub opportunity_parameter_sf: U128,
    pub min_execution_bonus_bps: U16,
    pub max_execution_bonus_bps: U16,
    pub condition_type: u8,
    pub opportunity_type: u8,
    pub padding1: [u8; 10],
    pub padding2: [U128; 5],
}

/// `BorrowOrder` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct BorrowOrder {
    pub debt_liquidity_mint: Key,
    pub remaining_debt_amount: U64,
    pub filled_debt_destination: Key,
    pub min_debt_term_seconds: U64,
    pub fillable_until_timestamp: U64,
    pub placed_at_timestamp: U64,
    pub last_updated_at_timestamp: U64,
    pub requested_debt_amount: U64,
    pub max_borrow_rate_bps: U32,
    pub padding1: [u8; 4],
    pub end_padding: [U64; 5],
}

/// `Obligation` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct Obligation {
    pub tag: U64,
    pub last_update: LastUpdate,
    pub lending_market: Key,
    pub owner: Key,
    pub deposits: [ObligationCollateral; 8],
    pub lowest_reserve_deposit_liquidation_ltv: U64,
    pub deposited_value_sf: U128,
    pub borrows: [ObligationLiquidity; 5],
    pub borrow_factor_adjusted_debt_value_sf: U128,
    pub borrowed_assets_market_value_sf: U128,
    pub allowed_borrow_value_sf: U128,
    pub unhealthy_borrow_value_sf: U128,
    pub padding_deprecated_asset_tiers: [u8; 13],
    pub elevation_group: u8,
    pub num_of_obsolete_deposit_reserves: u8,
    pub has_debt: u8,
    pub referrer: Key,
    pub borrowing_disabled: u8,
    pub autodeleverage_target_ltv_pct: u8,
    pub lowest_reserve_deposit_max_ltv_pct: u8,
    pub num_of_obsolete_borrow_reserves: u8,
    pub reserved: [u8; 4],
    pub highest_borrow_factor_pct: U64,
    pub autodeleverage_margin_call_started_timestamp: U64,
    pub obligation_orders: [ObligationOrder; 2],
    pub borrow_order: BorrowOrder,
    pub padding3: [U64; 73],
}

/// `ReserveLiquidity` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ReserveLiquidity {
    pub mint_pubkey: Key,
    pub supply_vault: Key,
    pub fee_vault: Key,
    pub available_amount: U64,
    pub borrowed_amount_sf: U128,
    pub market_price_sf: U128,
    pub market_price_last_updated_ts: U64,
    pub mint_decimals: U64,
    pub deposit_limit_crossed_timestamp: U64,
    pub borrow_limit_crossed_timestamp: U64,
    pub cumulative_borrow_rate_bsf: BigFractionBytes,
    pub accumulated_protocol_fees_sf: U128,
    pub accumulated_referrer_fees_sf: U128,
    pub pending_referrer_fees_sf: U128,
    pub absolute_referral_rate_sf: U128,
    pub token_program: Key,
    pub padding2: [U64; 51],
    pub padding3: [U128; 32],
}

/// `ReserveCollateral` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ReserveCollateral {
    pub mint_pubkey: Key,
    pub mint_total_supply: U64,
    pub supply_vault: Key,
    pub padding1: [U128; 32],
    pub padding2: [U128; 32],
}

/// `ReserveFees` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ReserveFees {
    pub origination_fee_sf: U64,
    pub flash_loan_fee_sf: U64,
    pub padding: [u8; 8],
}

/// `CurvePoint` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct CurvePoint {
    pub utilization_rate_bps: U32,
    pub borrow_rate_bps: U32,
}

/// `BorrowRateCurve` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct BorrowRateCurve {
    pub points: [CurvePoint; 11],
}

/// `PriceHeuristic` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PriceHeuristic {
    pub lower: U64,
    pub upper: U64,
    pub exp: U64,
}

/// `ScopeConfiguration` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ScopeConfiguration {
    pub price_feed: Key,
    pub price_chain: [U16; 4],
    pub twap_chain: [U16; 4],
}

/// `SwitchboardConfiguration` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct SwitchboardConfiguration {
    pub price_aggregator: Key,
    pub twap_aggregator: Key,
}

/// `PythConfiguration` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct PythConfiguration {
    pub price: Key,
}

/// `TokenInfo` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct TokenInfo {
    pub name: [u8; 32],
    pub heuristic: PriceHeuristic,
    pub max_twap_divergence_bps: U64,
    pub max_age_price_seconds: U64,
    pub max_age_twap_seconds: U64,
    pub scope_configuration: ScopeConfiguration,
    pub switchboard_configuration: SwitchboardConfiguration,
    pub pyth_configuration: PythConfiguration,
    pub block_price_usage: u8,
    pub reserved: [u8; 7],
    pub padding: [U64; 19],
}

/// `WithdrawalCaps` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct WithdrawalCaps {
    pub config_capacity: I64,
    pub current_total: I64,
    pub last_interval_start_timestamp: U64,
    pub config_interval_length_seconds: U64,
}

/// `ReserveConfig` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ReserveConfig {
    pub status: u8,
    pub padding_deprecated_asset_tier: u8,
    pub host_fixed_interest_rate_bps: U16,
    pub min_deleveraging_bonus_bps: U16,
    pub block_ctoken_usage: u8,
    pub reserved1: [u8; 6],
    pub protocol_order_execution_fee_pct: u8,
    pub protocol_take_rate_pct: u8,
    pub protocol_liquidation_fee_pct: u8,
    pub loan_to_value_pct: u8,
    pub liquidation_threshold_pct: u8,
    pub min_liquidation_bonus_bps: U16,
    pub max_liquidation_bonus_bps: U16,
    pub bad_debt_liquidation_bonus_bps: U16,
    pub deleveraging_margin_call_period_secs: U64,
    pub deleveraging_threshold_decrease_bps_per_day: U64,
    pub fees: ReserveFees,
    pub borrow_rate_curve: BorrowRateCurve,
    pub borrow_factor_pct: U64,
    pub deposit_limit: U64,
    pub borrow_limit: U64,
    pub token_info: TokenInfo,
    pub deposit_withdrawal_cap: WithdrawalCaps,
    pub debt_withdrawal_cap: WithdrawalCaps,
    pub elevation_groups: [u8; 20],
    pub disable_usage_as_coll_outside_emode: u8,
    pub utilization_limit_block_borrowing_above_pct: u8,
    pub autodeleverage_enabled: u8,
    pub proposer_authority_locked: u8,
    pub borrow_limit_outside_elevation_group: U64,
    pub borrow_limit_against_this_collateral_in_elevation_group: [U64; 32],
    pub deleveraging_bonus_increase_bps_per_day: U64,
    pub debt_maturity_timestamp: U64,
    pub debt_term_seconds: U64,
}

/// `Reserve` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct Reserve {
    pub version: U64,
    pub last_update: LastUpdate,
    pub lending_market: Key,
    pub farm_collateral: Key,
    pub farm_debt: Key,
    pub liquidity: ReserveLiquidity,
    pub reserve_liquidity_padding: [U64; 150],
    pub collateral: ReserveCollateral,
    pub reserve_collateral_padding: [U64; 150],
    pub config: ReserveConfig,
    pub config_padding: [U64; 114],
    pub borrowed_amount_outside_elevation_group: U64,
    pub borrowed_amounts_against_this_reserve_in_elevation_groups: [U64; 32],
    pub padding: [U64; 207],
}

/// `ElevationGroup` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ElevationGroup {
    pub max_liquidation_bonus_bps: U16,
    pub id: u8,
    pub ltv_pct: u8,
    pub liquidation_threshold_pct: u8,
    pub allow_new_loans: u8,
    pub max_reserves_as_collateral: u8,
    pub padding0: u8,
    pub debt_reserve: Key,
    pub padding1: [U64; 4],
}

/// `LendingMarket` as the program stores it (IDL field order, no implicit padding).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct LendingMarket {
    pub version: U64,
    pub bump_seed: U64,
    pub lending_market_owner: Key,
    pub lending_market_owner_cached: Key,
    pub quote_currency: [u8; 32],
    pub referral_fee_bps: U16,
    pub emergency_mode: u8,
    pub autodeleverage_enabled: u8,
    pub borrow_disabled: u8,
    pub price_refresh_trigger_to_max_age_pct: u8,
    pub liquidation_max_debt_close_factor_pct: u8,
    pub insolvency_risk_unhealthy_ltv_pct: u8,
    pub min_full_liquidation_value_threshold: U64,
    pub max_liquidatable_debt_market_value_at_once: U64,
    pub reserved0: [u8; 8],
    pub global_allowed_borrow_value: U64,
    pub risk_council: Key,
    pub reserved1: [u8; 8],
    pub elevation_groups: [ElevationGroup; 32],
    pub elevation_group_padding: [U64; 90],
    pub min_net_value_in_obligation_sf: U128,
    pub min_value_skip_liquidation_ltv_checks: U64,
    pub name: [u8; 32],
    pub min_value_skip_liquidation_bf_checks: U64,
    pub individual_autodeleverage_margin_call_period_secs: U64,
    pub min_initial_deposit_amount: U64,
    pub obligation_order_execution_enabled: u8,
    pub immutable: u8,
    pub obligation_order_creation_enabled: u8,
    pub price_triggered_liquidation_disabled: u8,
    pub mature_reserve_debt_liquidation_enabled: u8,
    pub obligation_borrow_debt_term_liquidation_enabled: u8,
    pub borrow_order_creation_enabled: u8,
    pub borrow_order_execution_enabled: u8,
    pub proposer_authority: Key,
    pub padding1: [U64; 165],
}

/// Scope's `Price`: `value × 10^-exp`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct ScopePrice {
    pub value: U64,
    pub exp: U64,
}

/// Scope's `DatedPrice`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct DatedPrice {
    pub price: ScopePrice,
    pub last_updated_slot: U64,
    pub unix_timestamp: U64,
    pub generic_data: [u8; 24],
}

/// Scope's `OraclePrices`: 512 dated prices indexed by the reserves' price chains.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub struct OraclePrices {
    pub oracle_mappings: Key,
    pub prices: [DatedPrice; 512],
}

/// An Anchor account type: its name (for the discriminator) and size.
pub trait AnchorAccount: Pod {
    /// The account's name in the IDL.
    const NAME: &'static str;
    /// Size of the account data: discriminator plus the struct.
    const SIZE: usize = 8 + std::mem::size_of::<Self>();
}

impl AnchorAccount for Obligation {
    const NAME: &'static str = "Obligation";
}
impl AnchorAccount for Reserve {
    const NAME: &'static str = "Reserve";
}
impl AnchorAccount for LendingMarket {
    const NAME: &'static str = "LendingMarket";
}
impl AnchorAccount for OraclePrices {
    const NAME: &'static str = "OraclePrices";
}

const _: () = assert!(Obligation::SIZE == 3344);
const _: () = assert!(Reserve::SIZE == 8624);
const _: () = assert!(LendingMarket::SIZE == 4664);
const _: () = assert!(OraclePrices::SIZE == 28712);
