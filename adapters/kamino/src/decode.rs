//! Zero-copy views of klend and Scope accounts after the SDK's checks (owner program, exact
//! size, Anchor discriminator).

use unimargin_sdk::solana::{
    DecodeError, Pubkey, RawAccount,
    decode::{AccountSpec, DISCRIMINATOR_LEN},
};

use crate::layout::AnchorAccount;

/// The spec of an account type owned by `program`.
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
    // Alignment one and a checked size: this cannot fail, but a layout mistake must not panic.
    bytemuck::try_from_bytes(&data[DISCRIMINATOR_LEN..]).map_err(|e| DecodeError::InvalidField {
        account: key.to_string(),
        type_name: T::NAME,
        detail: format!("layout cast failed: {e:?}"),
    })
}

/// A name stored as 32 zero-padded bytes.
pub fn name(bytes: &[u8; 32]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\0', ' '])
        .to_owned()
}
