//! The SDK's Solana test aids (recorded vectors, account bytes, the IDL layout calculator), under
//! the names these tests use.

pub(crate) use unimargin_sdk::solana::testkit::idl::{Idl, load, vectors};
