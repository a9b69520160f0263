//! Zero-copy views of Drift accounts after the SDK's checks (owner program, exact size, Anchor
//! discriminator). A failed check is a [`DecodeError`] naming the account.

use unimargin_sdk::solana::{
    DecodeError, Pubkey, RawAccount,
    decode::{AccountSpec, DISCRIMINATOR_LEN},
};

use crate::layout::AnchorAccount;

/// The spec of a Drift account type owned by `program`.
pub fn spec<T: AnchorAccount>(program: &Pubkey) -> AccountSpec {
    AccountSpec::anchor(T::NAME, *program, T::SIZE)
}

/// Checks `account` (owner `program`, size, discriminator) and views it as `T` without copying.
pub fn view<'a, T: AnchorAccount>(
    program: &Pubkey,
    key: &Pubkey,
    account: &'a RawAccount,
) -> Result<&'a T, DecodeError> {
    let data = spec::<T>(program).check(key, account)?;
    cast(key, data)
}

/// Checks size and discriminator of `data` whose owner is known from elsewhere (test vectors,
/// benchmarks) and views it as `T`.
pub fn view_data<'a, T: AnchorAccount>(key: &Pubkey, data: &'a [u8]) -> Result<&'a T, DecodeError> {
    spec::<T>(&Pubkey::default()).check_data(key, data)?;
    cast(key, data)
}

fn cast<'a, T: AnchorAccount>(key: &Pubkey, data: &'a [u8]) -> Result<&'a T, DecodeError> {
    // The layouts have an alignment of one and the size was checked, so this cannot fail; the
    // error path exists so that a future layout mistake is an error, not a panic.
    bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..]).map_err(|e| DecodeError::InvalidField {
        account: key.to_string(),
        type_name: T::NAME,
        detail: format!("layout cast failed: {e:?}"),
    })
}

/// A market or oracle name stored as 32 space- or zero-padded bytes.
pub fn name(bytes: &[u8; 32]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\0', ' '])
        .to_owned()
}
