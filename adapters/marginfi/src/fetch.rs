//! All reads of one owner's marginfi state at the pinned slot: three requests after the pin.
//!
//! 1. `getProgramAccounts` of the program, `dataSize` = 2312, `memcmp` group at 8 and authority
//!    at 40: the owner's `MarginfiAccount`s (an owner may have several; they are margined
//!    separately).
//! 2. `getMultipleAccounts` of every bank an active balance references.
//! 3. `getMultipleAccounts` of those banks' oracles.
//!
//! Every account is checked (owner program, exact size, Anchor discriminator) before it is
//! decoded, and banks of another group are rejected.

use std::collections::BTreeMap;

use unimargin_sdk::{
    AdapterError, Result,
    solana::{
        AccountFilter, PinnedSolana, Pubkey, RawAccount,
        decode::{DecodeError, require},
        oracle::{pyth::decode_price_update_v2, switchboard::decode_pull_feed},
    },
};

use crate::{
    MarginfiDeployment,
    layout::{
        ACCOUNT_AUTHORITY_OFFSET, ACCOUNT_GROUP_OFFSET, Bank, CONFIG_FLAG_PYTH_PUSH_MIGRATED,
        MARGINFI_ACCOUNT_LEN, MarginfiAccount, OracleSetup, account_spec, bank_spec,
    },
    risk::{OracleReading, key},
};

/// Everything normalization needs, as read.
#[derive(Debug, Clone)]
pub struct RawMarginfi {
    /// The owner's accounts in this group, by address (sorted).
    pub accounts: Vec<(Pubkey, MarginfiAccount)>,
    /// Every referenced bank.
    pub banks: BTreeMap<Pubkey, Bank>,
    /// Each bank's oracle account and reading.
    pub oracles: BTreeMap<Pubkey, (Pubkey, OracleReading)>,
    /// The cluster clock at the pinned slot (unix seconds).
    pub unix_timestamp: i64,
    /// The newest slot any of these reads was served at.
    pub served_slot: u64,
}

/// Decodes and checks a `MarginfiAccount`.
pub fn decode_account(
    key: &Pubkey,
    account: &RawAccount,
    d: &MarginfiDeployment,
) -> Result<MarginfiAccount, DecodeError> {
    let a: MarginfiAccount = account_spec(d.program_id.0).decode_pod(key, account)?;
    if a.group != d.group.0.to_bytes() {
        return Err(DecodeError::InvalidField {
            account: key.to_string(),
            type_name: "MarginfiAccount",
            detail: format!(
                "belongs to group {}, expected {}",
                Pubkey::new_from_array(a.group),
                d.group.0
            ),
        });
    }
    Ok(a)
}

/// Decodes and checks a `Bank` of the deployment's group.
pub fn decode_bank(
    key: &Pubkey,
    account: &RawAccount,
    d: &MarginfiDeployment,
) -> Result<Bank, DecodeError> {
    let b: Bank = bank_spec(d.program_id.0).decode_pod(key, account)?;
    if b.group != d.group.0.to_bytes() {
        return Err(DecodeError::InvalidField {
            account: key.to_string(),
            type_name: "Bank",
            detail: format!(
                "belongs to group {}, expected {}",
                Pubkey::new_from_array(b.group),
                d.group.0
            ),
        });
    }
    Ok(b)
}

/// The oracle account a bank prices with, or why it cannot be priced here.
pub fn oracle_key(bank_key: &Pubkey, bank: &Bank) -> Result<Pubkey> {
    let setup = OracleSetup::from_tag(bank.config.oracle_setup).ok_or_else(|| {
        AdapterError::from(DecodeError::InvalidField {
            account: bank_key.to_string(),
            type_name: "Bank",
            detail: format!("unknown oracle setup tag {}", bank.config.oracle_setup),
        })
    })?;
    match setup {
        OracleSetup::PythPushOracle
            if bank.config.config_flags & CONFIG_FLAG_PYTH_PUSH_MIGRATED == 0 =>
        {
            // Before the 0.1.4 migration the slot held a feed id, and the program cannot price
            // such a bank either until it is migrated.
            Err(AdapterError::MissingPrice {
                asset: bank_key.to_string(),
                detail: "bank's Pyth push oracle is not migrated (oracle key is a feed id)".into(),
            })
        }
        OracleSetup::PythPushOracle | OracleSetup::SwitchboardPull => {
            Ok(key(&bank.config.oracle_keys[0]))
        }
        other => Err(AdapterError::MissingPrice {
            asset: bank_key.to_string(),
            detail: format!("oracle setup {other:?} is not supported by this adapter"),
        }),
    }
}

/// Decodes an oracle account of a bank's setup.
pub fn decode_oracle(
    key: &Pubkey,
    account: &RawAccount,
    bank: &Bank,
    d: &MarginfiDeployment,
) -> Result<OracleReading, DecodeError> {
    match OracleSetup::from_tag(bank.config.oracle_setup) {
        Some(OracleSetup::SwitchboardPull) => {
            decode_pull_feed(key, account, &d.switchboard_program.0)
                .map(|f| OracleReading::Switchboard(Box::new(f)))
        }
        _ => decode_price_update_v2(key, account, &d.pyth_receiver.0).map(OracleReading::Pyth),
    }
}

/// Reads `owner`'s marginfi state in the deployment's group at the reader's slot.
pub async fn fetch(
    reader: &PinnedSolana,
    d: &MarginfiDeployment,
    owner: &Pubkey,
) -> Result<RawMarginfi> {
    let found = reader
        .get_program_accounts(
            &d.program_id.0,
            &[
                AccountFilter::DataSize(MARGINFI_ACCOUNT_LEN as u64),
                AccountFilter::key_at(ACCOUNT_GROUP_OFFSET, &d.group.0),
                AccountFilter::key_at(ACCOUNT_AUTHORITY_OFFSET, owner),
            ],
        )
        .await?;
    let mut accounts = Vec::with_capacity(found.value.len());
    for keyed in &found.value {
        let a = decode_account(&keyed.pubkey, &keyed.account, d)?;
        if a.authority != owner.to_bytes() {
            // The node's filter said otherwise: never attribute someone else's positions.
            return Err(AdapterError::malformed(
                keyed.pubkey.to_string(),
                "getProgramAccounts returned an account of another authority",
            ));
        }
        accounts.push((keyed.pubkey, a));
    }
    accounts.sort_by_key(|(k, _)| *k);

    let mut bank_keys: Vec<Pubkey> = accounts
        .iter()
        .flat_map(|(_, a)| {
            a.lending_account
                .balances
                .iter()
                .filter(|b| b.active != 0)
                .map(|b| key(&b.bank_pk))
        })
        .collect();
    bank_keys.sort();
    bank_keys.dedup();
    let mut served_slot = found.slot;
    let mut banks = BTreeMap::new();
    if !bank_keys.is_empty() {
        let read = reader.get_multiple_accounts(&bank_keys).await?;
        served_slot = served_slot.max(read.slot);
        for (k, acc) in bank_keys.iter().zip(&read.value) {
            banks.insert(*k, decode_bank(k, require(k, acc.as_ref(), "Bank")?, d)?);
        }
    }

    let oracle_keys: Vec<(Pubkey, Pubkey)> = banks
        .iter()
        .map(|(bk, b)| oracle_key(bk, b).map(|ok| (*bk, ok)))
        .collect::<Result<_>>()?;
    let mut oracles = BTreeMap::new();
    if !oracle_keys.is_empty() {
        let mut unique: Vec<Pubkey> = oracle_keys.iter().map(|(_, o)| *o).collect();
        unique.sort();
        unique.dedup();
        let read = reader.get_multiple_accounts(&unique).await?;
        served_slot = served_slot.max(read.slot);
        let by_key: BTreeMap<Pubkey, Option<&RawAccount>> = unique
            .iter()
            .copied()
            .zip(read.value.iter().map(Option::as_ref))
            .collect();
        for (bank_key, oracle) in oracle_keys {
            let acc = by_key.get(&oracle).copied().flatten();
            let acc = require(&oracle, acc, "oracle")?;
            let bank = &banks[&bank_key];
            oracles.insert(bank_key, (oracle, decode_oracle(&oracle, acc, bank, d)?));
        }
    }
    Ok(RawMarginfi {
        accounts,
        banks,
        oracles,
        unix_timestamp: reader.unix_timestamp(),
        served_slot,
    })
}
