//! marginfi v2 account layouts, zero-copy as the program stores them (`#[repr(C)]`, every pad
//! explicit), for program version 0.1.7.
//!
//! Regions the adapter does not interpret (interest-rate curve, bank cache, reserved space) are
//! kept as opaque byte arrays of the exact size, so every interpreted field sits at the offset
//! the published IDL gives; the integration tests derive those offsets from the IDL JSON
//! independently and compare. `WrappedI80F48` is a byte array here, so no field relies on host
//! alignment.

use unimargin_sdk::solana::{Pubkey, decode::AccountSpec, fixed::WrappedI80F48};

/// A 32-byte address as stored.
pub type Key = [u8; 32];

/// Size of a `MarginfiAccount`, discriminator included.
pub const MARGINFI_ACCOUNT_LEN: usize = 8 + size_of::<MarginfiAccount>();
/// Size of a `Bank`, discriminator included.
pub const BANK_LEN: usize = 8 + size_of::<Bank>();
/// Offset of `MarginfiAccount.group` in the account data (after the discriminator).
pub const ACCOUNT_GROUP_OFFSET: usize = 8;
/// Offset of `MarginfiAccount.authority` in the account data: the `memcmp` that finds an owner's
/// accounts.
pub const ACCOUNT_AUTHORITY_OFFSET: usize = 8 + 32;
/// Balances per lending account.
pub const MAX_BALANCES: usize = 16;

/// What a `MarginfiAccount` must be.
pub fn account_spec(program: Pubkey) -> AccountSpec {
    AccountSpec::anchor("MarginfiAccount", program, MARGINFI_ACCOUNT_LEN)
}

/// What a `Bank` must be.
pub fn bank_spec(program: Pubkey) -> AccountSpec {
    AccountSpec::anchor("Bank", program, BANK_LEN)
}

/// One position of a lending account.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Balance {
    /// Non-zero when the slot is in use.
    pub active: u8,
    /// The bank.
    pub bank_pk: Key,
    /// The bank's asset tag when the position was opened.
    pub bank_asset_tag: u8,
    /// Padding.
    pub pad0: [u8; 6],
    /// Deposit shares (`I80F48`).
    pub asset_shares: WrappedI80F48,
    /// Borrow shares (`I80F48`).
    pub liability_shares: WrappedI80F48,
    /// Unclaimed emissions (`I80F48`).
    pub emissions_outstanding: WrappedI80F48,
    /// Last update (unix seconds).
    pub last_update: u64,
    /// Padding.
    pub padding: [u64; 1],
}

/// The account's positions.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LendingAccount {
    /// Up to 16 positions.
    pub balances: [Balance; MAX_BALANCES],
    /// Padding.
    pub padding: [u64; 8],
}

/// The risk engine's last result, written by the program at each health pulse.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct HealthCache {
    /// Initial-weighted assets (USD, `I80F48`).
    pub asset_value: WrappedI80F48,
    /// Initial-weighted liabilities.
    pub liability_value: WrappedI80F48,
    /// Maintenance-weighted assets.
    pub asset_value_maint: WrappedI80F48,
    /// Maintenance-weighted liabilities.
    pub liability_value_maint: WrappedI80F48,
    /// Unweighted assets.
    pub asset_value_equity: WrappedI80F48,
    /// Unweighted liabilities.
    pub liability_value_equity: WrappedI80F48,
    /// When the cache was written (unix seconds).
    pub timestamp: i64,
    /// HEALTHY = 1, ENGINE_OK = 2, ORACLE_OK = 4.
    pub flags: u32,
    /// Error code of the last pulse.
    pub mrgn_err: u32,
    /// Prices per position (`f64` bytes; informational only).
    pub prices: [[u8; 8]; 16],
    /// Internal error.
    pub internal_err: u32,
    /// Index of the erroring position.
    pub err_index: u8,
    /// Program version that wrote the cache.
    pub program_version: u8,
    /// Padding.
    pub pad0: [u8; 2],
    /// Liquidation error.
    pub internal_liq_err: u32,
    /// Bankruptcy error.
    pub internal_bankruptcy_err: u32,
    /// Reserved.
    pub reserved0: [u8; 32],
    /// Reserved.
    pub reserved1: [u8; 16],
}

/// `MarginfiAccount` after its discriminator.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MarginfiAccount {
    /// The group (market).
    pub group: Key,
    /// The owner.
    pub authority: Key,
    /// Positions.
    pub lending_account: LendingAccount,
    /// DISABLED = 1, IN_FLASHLOAN = 2, …, IN_RECEIVERSHIP = 16, FROZEN = 64.
    pub account_flags: u64,
    /// Emissions destination.
    pub emissions_destination_account: Key,
    /// Last risk-engine result.
    pub health_cache: HealthCache,
    /// Migration source.
    pub migrated_from: Key,
    /// Migration destination.
    pub migrated_to: Key,
    /// Last update.
    pub last_update: u64,
    /// PDA seed.
    pub account_index: u16,
    /// PDA seed.
    pub third_party_index: u16,
    /// PDA bump.
    pub bump: u8,
    /// Padding.
    pub pad0: [u8; 3],
    /// Liquidation record.
    pub liquidation_record: Key,
    /// Padding.
    pub padding0: [u64; 7],
}

/// One e-mode entry: better asset weights for collateral of `collateral_bank_emode_tag` when
/// borrowing from the bank that holds the entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EmodeEntry {
    /// Collateral tag (0 = empty entry).
    pub collateral_bank_emode_tag: u16,
    /// Flags.
    pub flags: u8,
    /// Padding.
    pub pad0: [u8; 5],
    /// Initial asset weight (`I80F48`).
    pub asset_weight_init: WrappedI80F48,
    /// Maintenance asset weight (`I80F48`).
    pub asset_weight_maint: WrappedI80F48,
}

/// A bank's e-mode settings.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EmodeSettings {
    /// This bank's tag as collateral (0 = none).
    pub emode_tag: u16,
    /// Padding.
    pub pad0: [u8; 6],
    /// Last change.
    pub timestamp: i64,
    /// EMODE_ON = 1.
    pub flags: u64,
    /// Entries offered to collateral when borrowing from this bank.
    pub entries: [EmodeEntry; 10],
}

/// A bank's risk configuration.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BankConfig {
    /// Initial asset weight (`I80F48`).
    pub asset_weight_init: WrappedI80F48,
    /// Maintenance asset weight.
    pub asset_weight_maint: WrappedI80F48,
    /// Initial liability weight.
    pub liability_weight_init: WrappedI80F48,
    /// Maintenance liability weight.
    pub liability_weight_maint: WrappedI80F48,
    /// Deposit limit (native units).
    pub deposit_limit: u64,
    /// Interest-rate curve (not interpreted).
    pub interest_rate_config: [u8; 240],
    /// `BankOperationalState` tag.
    pub operational_state: u8,
    /// `OracleSetup` tag.
    pub oracle_setup: u8,
    /// Oracle accounts (or, before the 0.1.4 migration, a Pyth feed id in slot 0).
    pub oracle_keys: [Key; 5],
    /// Padding.
    pub pad0: [u8; 6],
    /// Borrow limit.
    pub borrow_limit: u64,
    /// `RiskTier` tag.
    pub risk_tier: u8,
    /// Asset tag (0 default, 1 SOL, 2 staked, …).
    pub asset_tag: u8,
    /// Bit 1: Pyth push oracle migrated (oracle key is the price account).
    pub config_flags: u8,
    /// Padding.
    pub pad1: [u8; 5],
    /// USD limit on initial-weighted asset value (0 = inactive).
    pub total_asset_value_init_limit: u64,
    /// Oracle max age in seconds (0 = program default).
    pub oracle_max_age: u16,
    /// Padding.
    pub padding0: [u8; 2],
    /// Max confidence as a fraction of `u32::MAX` (0 = 10 %).
    pub oracle_max_confidence: u32,
    /// Price of `Fixed` oracle banks (`I80F48`).
    pub fixed_price: WrappedI80F48,
    /// Padding.
    pub padding1: [u8; 16],
}

/// `Bank` after its discriminator.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Bank {
    /// Token mint.
    pub mint: Key,
    /// Token decimals.
    pub mint_decimals: u8,
    /// The group.
    pub group: Key,
    /// Padding.
    pub pad0: [u8; 7],
    /// Token per deposit share (`I80F48`).
    pub asset_share_value: WrappedI80F48,
    /// Token per borrow share (`I80F48`).
    pub liability_share_value: WrappedI80F48,
    /// Liquidity vault.
    pub liquidity_vault: Key,
    /// Bump.
    pub liquidity_vault_bump: u8,
    /// Bump.
    pub liquidity_vault_authority_bump: u8,
    /// Insurance vault.
    pub insurance_vault: Key,
    /// Bump.
    pub insurance_vault_bump: u8,
    /// Bump.
    pub insurance_vault_authority_bump: u8,
    /// Padding.
    pub pad1: [u8; 4],
    /// Fees.
    pub collected_insurance_fees_outstanding: WrappedI80F48,
    /// Fee vault.
    pub fee_vault: Key,
    /// Bump.
    pub fee_vault_bump: u8,
    /// Bump.
    pub fee_vault_authority_bump: u8,
    /// Padding.
    pub pad2: [u8; 6],
    /// Fees.
    pub collected_group_fees_outstanding: WrappedI80F48,
    /// All borrow shares.
    pub total_liability_shares: WrappedI80F48,
    /// All deposit shares.
    pub total_asset_shares: WrappedI80F48,
    /// Last interest accrual (unix seconds).
    pub last_update: i64,
    /// Risk configuration.
    pub config: BankConfig,
    /// Flags.
    pub flags: u64,
    /// Emissions rate.
    pub emissions_rate: u64,
    /// Emissions left.
    pub emissions_remaining: WrappedI80F48,
    /// Emissions mint.
    pub emissions_mint: Key,
    /// Fees.
    pub collected_program_fees_outstanding: WrappedI80F48,
    /// E-mode.
    pub emode: EmodeSettings,
    /// Fee destination.
    pub fees_destination_account: Key,
    /// Bank cache (not interpreted).
    pub cache: [u8; 160],
    /// Open lending positions.
    pub lending_position_count: i32,
    /// Open borrowing positions.
    pub borrowing_position_count: i32,
    /// Padding.
    pub padding_0: [u8; 16],
    /// Integration account (Kamino reserve, Drift market, …).
    pub integration_acc_1: Key,
    /// Integration account.
    pub integration_acc_2: Key,
    /// Integration account.
    pub integration_acc_3: Key,
    /// Padding.
    pub padding_1: [[u64; 2]; 13],
}

/// How a bank prices its token (`OracleSetup`, tag order of the IDL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OracleSetup {
    /// No oracle.
    None,
    /// Pyth legacy (deprecated).
    PythLegacy,
    /// Switchboard v2 (deprecated).
    SwitchboardV2,
    /// Pyth pull `PriceUpdateV2`.
    PythPushOracle,
    /// Switchboard On-Demand.
    SwitchboardPull,
    /// Staked SOL priced with Pyth and the stake pool.
    StakedWithPythPush,
    /// Kamino collateral priced with Pyth.
    KaminoPythPush,
    /// Kamino collateral priced with Switchboard.
    KaminoSwitchboardPull,
    /// A fixed price.
    Fixed,
    /// Drift deposit priced with Pyth.
    DriftPythPull,
    /// Drift deposit priced with Switchboard.
    DriftSwitchboardPull,
    /// Solend deposit priced with Pyth.
    SolendPythPull,
    /// Solend deposit priced with Switchboard.
    SolendSwitchboardPull,
}

impl OracleSetup {
    /// From the stored tag; `None` for a tag the IDL does not define.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::None,
            1 => Self::PythLegacy,
            2 => Self::SwitchboardV2,
            3 => Self::PythPushOracle,
            4 => Self::SwitchboardPull,
            5 => Self::StakedWithPythPush,
            6 => Self::KaminoPythPush,
            7 => Self::KaminoSwitchboardPull,
            8 => Self::Fixed,
            9 => Self::DriftPythPull,
            10 => Self::DriftSwitchboardPull,
            11 => Self::SolendPythPull,
            12 => Self::SolendSwitchboardPull,
            _ => return None,
        })
    }
}

/// `BankOperationalState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationalState {
    /// No operations.
    Paused,
    /// Normal.
    Operational,
    /// Only repay / withdraw; assets count zero for initial margin.
    ReduceOnly,
    /// Written off.
    KilledByBankruptcy,
}

impl OperationalState {
    /// From the stored tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::Paused,
            1 => Self::Operational,
            2 => Self::ReduceOnly,
            3 => Self::KilledByBankruptcy,
            _ => return None,
        })
    }
}

/// `RiskTier`: isolated banks' deposits are worth nothing as collateral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskTier {
    /// Counts as collateral.
    Collateral,
    /// Borrow-only; deposits carry no collateral value.
    Isolated,
}

impl RiskTier {
    /// From the stored tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::Collateral,
            1 => Self::Isolated,
            _ => return None,
        })
    }
}

/// Pyth push oracle migrated (0.1.4+): `oracle_keys[0]` is the `PriceUpdateV2` account itself.
pub const CONFIG_FLAG_PYTH_PUSH_MIGRATED: u8 = 1;
