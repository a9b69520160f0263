//! Account bytes written at the offsets the marginfi 0.1.7 IDL and the Pyth receiver IDL give
//! (field names in the comments; `idl.rs` re-derives these offsets from the IDL JSON when the
//! test vectors are present). Nothing here uses the adapter's own structs.

use unimargin_sdk::solana::{Pubkey, RawAccount};

pub(crate) fn pk(s: &str) -> Pubkey {
    s.parse().expect("base58 literal")
}

pub(crate) fn program() -> Pubkey {
    pk("MFv2hWf31Z9kbCa1snEPYctwafyhdvnV7FZnsebVacA")
}

pub(crate) fn group() -> Pubkey {
    pk("4qp6Fx6tnZkY5Wropq9wUYgtFxXKwE6viZxFHg3rdAG8")
}

pub(crate) fn pyth_receiver() -> Pubkey {
    pk("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ")
}

/// Discriminators as published in the IDLs (marginfi 0.1.7 `accounts[].discriminator`; the
/// Pyth receiver's `PriceUpdateV2` = sha256("account:PriceUpdateV2")[..8]).
pub(crate) const BANK_DISC: [u8; 8] = [142, 49, 166, 242, 50, 66, 97, 188];
pub(crate) const ACCOUNT_DISC: [u8; 8] = [67, 178, 130, 109, 126, 114, 28, 42];
pub(crate) const PRICE_UPDATE_DISC: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

/// An I80F48 from a numerator over a power-of-two denominator (exact in binary).
pub(crate) const fn i80(num: i128, den_log2: u32) -> i128 {
    (num << 48) >> den_log2
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A bank's parameters.
#[derive(Clone, Copy)]
pub(crate) struct BankSpec {
    pub(crate) mint: Pubkey,
    pub(crate) decimals: u8,
    pub(crate) asset_share_value: i128,
    pub(crate) liability_share_value: i128,
    pub(crate) asset_weight_init: i128,
    pub(crate) asset_weight_maint: i128,
    pub(crate) liability_weight_init: i128,
    pub(crate) liability_weight_maint: i128,
    pub(crate) oracle: Pubkey,
    pub(crate) oracle_max_age: u16,
    pub(crate) risk_tier: u8,
    pub(crate) total_asset_shares: i128,
    pub(crate) total_asset_value_init_limit: u64,
}

/// `Bank` (1864 bytes): offsets are discriminator (8) + the IDL's field offsets.
pub(crate) fn bank(spec: &BankSpec) -> Vec<u8> {
    let mut b = vec![0u8; 1864];
    put(&mut b, 0, &BANK_DISC);
    put(&mut b, 8, &spec.mint.to_bytes()); // mint
    b[40] = spec.decimals; // mint_decimals
    put(&mut b, 41, &group().to_bytes()); // group
    put(&mut b, 80, &spec.asset_share_value.to_le_bytes()); // asset_share_value
    put(&mut b, 96, &spec.liability_share_value.to_le_bytes()); // liability_share_value
    put(&mut b, 272, &spec.total_asset_shares.to_le_bytes()); // total_asset_shares
    let config = 8 + 288; // config
    put(&mut b, config, &spec.asset_weight_init.to_le_bytes());
    put(&mut b, config + 16, &spec.asset_weight_maint.to_le_bytes());
    put(
        &mut b,
        config + 32,
        &spec.liability_weight_init.to_le_bytes(),
    );
    put(
        &mut b,
        config + 48,
        &spec.liability_weight_maint.to_le_bytes(),
    );
    b[config + 312] = 1; // operational_state = Operational
    b[config + 313] = 3; // oracle_setup = PythPushOracle
    put(&mut b, config + 314, &spec.oracle.to_bytes()); // oracle_keys[0]
    b[config + 488] = spec.risk_tier; // risk_tier
    b[config + 490] = 1; // config_flags: Pyth push migrated
    put(
        &mut b,
        config + 496,
        &spec.total_asset_value_init_limit.to_le_bytes(),
    ); // total_asset_value_init_limit
    put(&mut b, config + 504, &spec.oracle_max_age.to_le_bytes()); // oracle_max_age
    b
}

/// `MarginfiAccount` (2312 bytes) with `(bank, asset_shares, liability_shares)` balances.
pub(crate) fn marginfi_account(
    authority: &Pubkey,
    group: &Pubkey,
    balances: &[(Pubkey, i128, i128)],
) -> Vec<u8> {
    let mut a = vec![0u8; 2312];
    put(&mut a, 0, &ACCOUNT_DISC);
    put(&mut a, 8, &group.to_bytes()); // group
    put(&mut a, 40, &authority.to_bytes()); // authority
    for (i, (bank, assets, liabilities)) in balances.iter().enumerate() {
        let at = 72 + 104 * i; // lending_account.balances[i], 104 bytes each
        a[at] = 1; // active
        put(&mut a, at + 1, &bank.to_bytes()); // bank_pk
        put(&mut a, at + 40, &assets.to_le_bytes()); // asset_shares
        put(&mut a, at + 56, &liabilities.to_le_bytes()); // liability_shares
    }
    a
}

/// A Pyth pull price.
#[derive(Clone, Copy)]
pub(crate) struct PythSpec {
    pub(crate) feed_id: [u8; 32],
    pub(crate) price: i64,
    pub(crate) conf: u64,
    pub(crate) exponent: i32,
    pub(crate) publish_time: i64,
    pub(crate) ema_price: i64,
    pub(crate) ema_conf: u64,
    pub(crate) posted_slot: u64,
}

/// `PriceUpdateV2` (134 bytes, `Full` verification: one byte of enum, one unused byte at the end).
pub(crate) fn price_update(p: &PythSpec) -> Vec<u8> {
    let mut v = Vec::with_capacity(134);
    v.extend_from_slice(&PRICE_UPDATE_DISC);
    v.extend_from_slice(&[7u8; 32]); // write_authority
    v.push(1); // verification_level = Full
    v.extend_from_slice(&p.feed_id); // price_message.feed_id
    v.extend_from_slice(&p.price.to_le_bytes());
    v.extend_from_slice(&p.conf.to_le_bytes());
    v.extend_from_slice(&p.exponent.to_le_bytes());
    v.extend_from_slice(&p.publish_time.to_le_bytes());
    v.extend_from_slice(&(p.publish_time - 1).to_le_bytes()); // prev_publish_time
    v.extend_from_slice(&p.ema_price.to_le_bytes());
    v.extend_from_slice(&p.ema_conf.to_le_bytes());
    v.extend_from_slice(&p.posted_slot.to_le_bytes());
    v.push(0);
    assert_eq!(v.len(), 134);
    v
}

pub(crate) fn owned(owner: Pubkey, data: Vec<u8>) -> RawAccount {
    RawAccount {
        lamports: 10_000_000,
        owner,
        executable: false,
        data,
    }
}
