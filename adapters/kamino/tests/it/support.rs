//! The SDK's Solana test aids (recorded vectors, account bytes, the IDL layout calculator), under
//! the names these tests use, and account files read as (address, owner, data).

pub(crate) use unimargin_sdk::solana::testkit::idl::{Idl, load, vectors};

/// A solana-test-validator `--account` JSON file: address, owner and data.
pub(crate) fn load_json(path: &std::path::Path) -> (String, String, Vec<u8>) {
    let (pubkey, account) = unimargin_sdk::solana::testkit::load_account_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (pubkey.to_string(), account.owner.to_string(), account.data)
}
