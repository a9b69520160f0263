//! Every layout against klend's published Anchor IDL (v1.13): field order, offsets and sizes
//! recomputed from the IDL JSON; the account sizes also against the older v1.11 IDL.

use sha2::{Digest, Sha256};
use unimargin_kamino::layout::*;

use unimargin_sdk::check_idl_layout;

use crate::support;

#[test]
fn layouts_match_the_published_idl() {
    let Some(dir) = support::vectors("layouts_match_the_published_idl") else {
        return;
    };
    let idl = support::Idl::load(&dir.join("solana/kamino/idl/klend.json"));
    check_idl_layout!(
        idl,
        "LastUpdate",
        LastUpdate,
        [slot, stale, price_status, placeholder]
    );
    check_idl_layout!(
        idl,
        "ObligationCollateral",
        ObligationCollateral,
        [
            deposit_reserve,
            deposited_amount,
            market_value_sf,
            borrowed_amount_against_this_collateral_in_elevation_group,
            padding
        ]
    );
    check_idl_layout!(idl, "BigFractionBytes", BigFractionBytes, [value, padding]);
    check_idl_layout!(
        idl,
        "ObligationLiquidity",
        ObligationLiquidity,
        [
            borrow_reserve,
            cumulative_borrow_rate_bsf,
            first_borrowed_at_timestamp,
            borrowed_amount_sf,
            market_value_sf,
            borrow_factor_adjusted_market_value_sf,
            borrowed_amount_outside_elevation_groups,
            padding2
        ]
    );
    check_idl_layout!(
        idl,
        "ObligationOrder",
        ObligationOrder,
        [
            condition_threshold_sf,
            opportunity_parameter_sf,
            min_execution_bonus_bps,
            max_execution_bonus_bps,
            condition_type,
            opportunity_type,
            padding1,
            padding2
        ]
    );
    check_idl_layout!(
        idl,
        "BorrowOrder",
        BorrowOrder,
        [
            debt_liquidity_mint,
            remaining_debt_amount,
            filled_debt_destination,
            min_debt_term_seconds,
            fillable_until_timestamp,
            placed_at_timestamp,
            last_updated_at_timestamp,
            requested_debt_amount,
            max_borrow_rate_bps,
            padding1,
            end_padding
        ]
    );
    check_idl_layout!(
        idl,
        "Obligation",
        Obligation,
        [
            tag,
            last_update,
            lending_market,
            owner,
            deposits,
            lowest_reserve_deposit_liquidation_ltv,
            deposited_value_sf,
            borrows,
            borrow_factor_adjusted_debt_value_sf,
            borrowed_assets_market_value_sf,
            allowed_borrow_value_sf,
            unhealthy_borrow_value_sf,
            padding_deprecated_asset_tiers,
            elevation_group,
            num_of_obsolete_deposit_reserves,
            has_debt,
            referrer,
            borrowing_disabled,
            autodeleverage_target_ltv_pct,
            lowest_reserve_deposit_max_ltv_pct,
            num_of_obsolete_borrow_reserves,
            reserved,
            highest_borrow_factor_pct,
            autodeleverage_margin_call_started_timestamp,
            obligation_orders,
            borrow_order,
            padding3
        ]
    );
    check_idl_layout!(
        idl,
        "ReserveLiquidity",
        ReserveLiquidity,
        [
            mint_pubkey,
            supply_vault,
            fee_vault,
            available_amount,
            borrowed_amount_sf,
            market_price_sf,
            market_price_last_updated_ts,
            mint_decimals,
            deposit_limit_crossed_timestamp,
            borrow_limit_crossed_timestamp,
            cumulative_borrow_rate_bsf,
            accumulated_protocol_fees_sf,
            accumulated_referrer_fees_sf,
            pending_referrer_fees_sf,
            absolute_referral_rate_sf,
            token_program,
            padding2,
            padding3
        ]
    );
    check_idl_layout!(
        idl,
        "ReserveCollateral",
        ReserveCollateral,
        [
            mint_pubkey,
            mint_total_supply,
            supply_vault,
            padding1,
            padding2
        ]
    );
    check_idl_layout!(
        idl,
        "ReserveFees",
        ReserveFees,
        [origination_fee_sf, flash_loan_fee_sf, padding]
    );
    check_idl_layout!(
        idl,
        "CurvePoint",
        CurvePoint,
        [utilization_rate_bps, borrow_rate_bps]
    );
    check_idl_layout!(idl, "BorrowRateCurve", BorrowRateCurve, [points]);
    check_idl_layout!(idl, "PriceHeuristic", PriceHeuristic, [lower, upper, exp]);
    check_idl_layout!(
        idl,
        "ScopeConfiguration",
        ScopeConfiguration,
        [price_feed, price_chain, twap_chain]
    );
    check_idl_layout!(
        idl,
        "SwitchboardConfiguration",
        SwitchboardConfiguration,
        [price_aggregator, twap_aggregator]
    );
    check_idl_layout!(idl, "PythConfiguration", PythConfiguration, [price]);
    check_idl_layout!(
        idl,
        "TokenInfo",
        TokenInfo,
        [
            name,
            heuristic,
            max_twap_divergence_bps,
            max_age_price_seconds,
            max_age_twap_seconds,
            scope_configuration,
            switchboard_configuration,
            pyth_configuration,
            block_price_usage,
            reserved,
            padding
        ]
    );
    check_idl_layout!(
        idl,
        "WithdrawalCaps",
        WithdrawalCaps,
        [
            config_capacity,
            current_total,
            last_interval_start_timestamp,
            config_interval_length_seconds
        ]
    );
    check_idl_layout!(
        idl,
        "ReserveConfig",
        ReserveConfig,
        [
            status,
            padding_deprecated_asset_tier,
            host_fixed_interest_rate_bps,
            min_deleveraging_bonus_bps,
            block_ctoken_usage,
            reserved1,
            protocol_order_execution_fee_pct,
            protocol_take_rate_pct,
            protocol_liquidation_fee_pct,
            loan_to_value_pct,
            liquidation_threshold_pct,
            min_liquidation_bonus_bps,
            max_liquidation_bonus_bps,
            bad_debt_liquidation_bonus_bps,
            deleveraging_margin_call_period_secs,
            deleveraging_threshold_decrease_bps_per_day,
            fees,
            borrow_rate_curve,
            borrow_factor_pct,
            deposit_limit,
            borrow_limit,
            token_info,
            deposit_withdrawal_cap,
            debt_withdrawal_cap,
            elevation_groups,
            disable_usage_as_coll_outside_emode,
            utilization_limit_block_borrowing_above_pct,
            autodeleverage_enabled,
            proposer_authority_locked,
            borrow_limit_outside_elevation_group,
            borrow_limit_against_this_collateral_in_elevation_group,
            deleveraging_bonus_increase_bps_per_day,
            debt_maturity_timestamp,
            debt_term_seconds
        ]
    );
    check_idl_layout!(
        idl,
        "Reserve",
        Reserve,
        [
            version,
            last_update,
            lending_market,
            farm_collateral,
            farm_debt,
            liquidity,
            reserve_liquidity_padding,
            collateral,
            reserve_collateral_padding,
            config,
            config_padding,
            borrowed_amount_outside_elevation_group,
            borrowed_amounts_against_this_reserve_in_elevation_groups,
            padding
        ]
    );
    check_idl_layout!(
        idl,
        "ElevationGroup",
        ElevationGroup,
        [
            max_liquidation_bonus_bps,
            id,
            ltv_pct,
            liquidation_threshold_pct,
            allow_new_loans,
            max_reserves_as_collateral,
            padding0,
            debt_reserve,
            padding1
        ]
    );
    check_idl_layout!(
        idl,
        "LendingMarket",
        LendingMarket,
        [
            version,
            bump_seed,
            lending_market_owner,
            lending_market_owner_cached,
            quote_currency,
            referral_fee_bps,
            emergency_mode,
            autodeleverage_enabled,
            borrow_disabled,
            price_refresh_trigger_to_max_age_pct,
            liquidation_max_debt_close_factor_pct,
            insolvency_risk_unhealthy_ltv_pct,
            min_full_liquidation_value_threshold,
            max_liquidatable_debt_market_value_at_once,
            reserved0,
            global_allowed_borrow_value,
            risk_council,
            reserved1,
            elevation_groups,
            elevation_group_padding,
            min_net_value_in_obligation_sf,
            min_value_skip_liquidation_ltv_checks,
            name,
            min_value_skip_liquidation_bf_checks,
            individual_autodeleverage_margin_call_period_secs,
            min_initial_deposit_amount,
            obligation_order_execution_enabled,
            immutable,
            obligation_order_creation_enabled,
            price_triggered_liquidation_disabled,
            mature_reserve_debt_liquidation_enabled,
            obligation_borrow_debt_term_liquidation_enabled,
            borrow_order_creation_enabled,
            borrow_order_execution_enabled,
            proposer_authority,
            padding1
        ]
    ); // The v1.11 IDL (new format) names some fields differently but has the same sizes.
    let v11 =
        support::Idl::load(&dir.join("solana/kamino/idl/from_marginfi-v2/kamino_lending.json"));
    for (name, size) in [
        ("Obligation", std::mem::size_of::<Obligation>()),
        ("Reserve", std::mem::size_of::<Reserve>()),
        ("LendingMarket", std::mem::size_of::<LendingMarket>()),
    ] {
        assert_eq!(v11.size(name), size, "{name} in v1.11");
    }
}

#[test]
fn scope_oracle_prices_match_a_real_account() {
    let Some(dir) = support::vectors("scope_oracle_prices_match_a_real_account") else {
        return;
    };
    let path = dir.join("solana/kamino/from_keel-fi_svm-alm-controller/kamino_usdc_reserve_scope_config_price_feed@88765f29.json");
    let (_, owner, data) = support::load_json(&path);
    assert_eq!(data.len(), OraclePrices::SIZE);
    assert_eq!(owner, "HFn8GnPADiny6XqUoWE8uRPPxb29ikn4yTuPa9MF2fWJ");
    assert_eq!(data[..8], disc("OraclePrices"));
}

fn disc(name: &str) -> [u8; 8] {
    let d = Sha256::digest(format!("account:{name}").as_bytes());
    let mut out = [0; 8];
    out.copy_from_slice(&d[..8]);
    out
}

#[test]
fn account_sizes_are_the_programs() {
    assert_eq!(Obligation::SIZE, 3344);
    assert_eq!(Reserve::SIZE, 8624);
    assert_eq!(LendingMarket::SIZE, 4664);
    assert_eq!(OraclePrices::SIZE, 28712);
}
