//! Checks made before any byte of an account is interpreted, and zero-copy views.
//!
//! A wrong owner program, size or Anchor discriminator means the bytes are not the account the
//! adapter thinks they are; decoding them anyway would produce plausible garbage numbers. Each
//! check is therefore a typed [`DecodeError`] naming the account.

use sha2::{Digest, Sha256};
use solana_pubkey::Pubkey;

use crate::AdapterError;

use super::RawAccount;

/// Length of an Anchor account discriminator.
pub const DISCRIMINATOR_LEN: usize = 8;

/// Why an account could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The account does not exist at the read slot.
    #[error("{type_name} account {account} does not exist")]
    Missing {
        /// The account.
        account: String,
        /// What it was expected to be.
        type_name: &'static str,
    },
    /// Owned by another program: not an account of the program being read.
    #[error("{type_name} account {account} is owned by {actual}, expected {expected}")]
    WrongOwner {
        /// The account.
        account: String,
        /// What it was expected to be.
        type_name: &'static str,
        /// The program that should own it.
        expected: String,
        /// The program that owns it.
        actual: String,
    },
    /// The data length differs from the layout's (truncated, or another version of the layout).
    #[error("{type_name} account {account} has {actual} bytes, expected {expected}")]
    WrongSize {
        /// The account.
        account: String,
        /// What it was expected to be.
        type_name: &'static str,
        /// The layout's size, discriminator included.
        expected: usize,
        /// The data length.
        actual: usize,
    },
    /// The first eight bytes are not `sha256("account:<Name>")[..8]`.
    #[error("account {account} is not a {type_name}: discriminator {actual}, expected {expected}")]
    WrongDiscriminator {
        /// The account.
        account: String,
        /// What it was expected to be.
        type_name: &'static str,
        /// Expected discriminator (hex).
        expected: String,
        /// Found discriminator (hex).
        actual: String,
    },
    /// A field holds a value the layout does not allow (an unknown enum tag, a bad flag).
    #[error("{type_name} account {account}: {detail}")]
    InvalidField {
        /// The account.
        account: String,
        /// What it was expected to be.
        type_name: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl From<DecodeError> for AdapterError {
    fn from(e: DecodeError) -> Self {
        let what = match &e {
            DecodeError::Missing { account, .. }
            | DecodeError::WrongOwner { account, .. }
            | DecodeError::WrongSize { account, .. }
            | DecodeError::WrongDiscriminator { account, .. }
            | DecodeError::InvalidField { account, .. } => account.clone(),
        };
        AdapterError::Malformed {
            what,
            detail: e.to_string(),
        }
    }
}

/// The Anchor discriminator of an account type: `sha256("account:<Name>")[..8]`.
pub fn anchor_discriminator(type_name: &str) -> [u8; DISCRIMINATOR_LEN] {
    let digest = Sha256::digest(format!("account:{type_name}").as_bytes());
    let mut out = [0u8; DISCRIMINATOR_LEN];
    out.copy_from_slice(&digest[..DISCRIMINATOR_LEN]);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What an account must be: its program, its exact size and, for Anchor accounts, its type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSpec {
    /// The type name as the program declares it (`Bank`, `PriceUpdateV2`).
    pub type_name: &'static str,
    /// The owning program.
    pub owner: Pubkey,
    /// Exact data length, discriminator included.
    pub size: usize,
    /// Whether the first eight bytes are an Anchor discriminator to check.
    pub anchor: bool,
}

impl AccountSpec {
    /// An Anchor account of `type_name`, owned by `owner`, of exactly `size` bytes.
    pub const fn anchor(type_name: &'static str, owner: Pubkey, size: usize) -> Self {
        Self {
            type_name,
            owner,
            size,
            anchor: true,
        }
    }

    /// Checks owner, size and discriminator, in that order (a wrong owner explains a wrong size
    /// better than the other way round), and returns the data.
    pub fn check<'a>(
        &self,
        key: &Pubkey,
        account: &'a RawAccount,
    ) -> Result<&'a [u8], DecodeError> {
        if account.owner != self.owner {
            return Err(DecodeError::WrongOwner {
                account: key.to_string(),
                type_name: self.type_name,
                expected: self.owner.to_string(),
                actual: account.owner.to_string(),
            });
        }
        self.check_data(key, &account.data)?;
        Ok(&account.data)
    }

    /// Checks size and discriminator of data whose owner was checked elsewhere (or is unknown,
    /// as for raw test vectors).
    pub fn check_data(&self, key: &Pubkey, data: &[u8]) -> Result<(), DecodeError> {
        if data.len() != self.size {
            return Err(DecodeError::WrongSize {
                account: key.to_string(),
                type_name: self.type_name,
                expected: self.size,
                actual: data.len(),
            });
        }
        if self.anchor {
            let expected = anchor_discriminator(self.type_name);
            let actual = &data[..DISCRIMINATOR_LEN.min(data.len())];
            if actual != expected {
                return Err(DecodeError::WrongDiscriminator {
                    account: key.to_string(),
                    type_name: self.type_name,
                    expected: hex(&expected),
                    actual: hex(actual),
                });
            }
        }
        Ok(())
    }

    /// Checks the account and views it (after the discriminator) as `T`, copied out so the
    /// data's alignment does not matter. `T`'s size must be `size - 8` for Anchor accounts.
    pub fn decode_pod<T: bytemuck::Pod>(
        &self,
        key: &Pubkey,
        account: &RawAccount,
    ) -> Result<T, DecodeError> {
        let data = self.check(key, account)?;
        self.pod_from_checked(key, data)
    }

    /// Like [`decode_pod`](Self::decode_pod) for data whose owner is checked elsewhere.
    pub fn decode_pod_data<T: bytemuck::Pod>(
        &self,
        key: &Pubkey,
        data: &[u8],
    ) -> Result<T, DecodeError> {
        self.check_data(key, data)?;
        self.pod_from_checked(key, data)
    }

    fn pod_from_checked<T: bytemuck::Pod>(
        &self,
        key: &Pubkey,
        data: &[u8],
    ) -> Result<T, DecodeError> {
        let body = if self.anchor {
            &data[DISCRIMINATOR_LEN..]
        } else {
            data
        };
        bytemuck::try_pod_read_unaligned(body).map_err(|e| DecodeError::InvalidField {
            account: key.to_string(),
            type_name: self.type_name,
            detail: format!(
                "layout of {} bytes does not fit {} bytes of data: {e:?}",
                size_of::<T>(),
                body.len()
            ),
        })
    }
}

/// The account for `key` from a batch read, or [`DecodeError::Missing`].
pub fn require<'a>(
    key: &Pubkey,
    account: Option<&'a RawAccount>,
    type_name: &'static str,
) -> Result<&'a RawAccount, DecodeError> {
    account.ok_or_else(|| DecodeError::Missing {
        account: key.to_string(),
        type_name,
    })
}

#[cfg(test)]
mod tests;
