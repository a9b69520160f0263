//! Little-endian integers with an alignment of one, for zero-copy account layouts.
//!
//! The programs store their accounts as `#[repr(C)]` structs compiled for SBF, where `u128` is
//! 8-byte aligned; on the host it is 16-byte aligned. Building the layouts from byte arrays makes
//! the Rust struct exactly the packed sequence of fields the IDL describes on every target, so a
//! view can be cast from any slice without copying and without an alignment requirement.

use bytemuck::{Pod, Zeroable};

macro_rules! le_int {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $n:literal) => {
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Pod, Zeroable, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// The value.
            #[inline]
            pub const fn get(self) -> $ty {
                <$ty>::from_le_bytes(self.0)
            }

            /// Stores a value (fixtures and tests).
            #[inline]
            pub const fn new(v: $ty) -> Self {
                Self(v.to_le_bytes())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.get())
            }
        }
    };
}

le_int!(/// `u16`, little-endian.
    U16, u16, 2);
le_int!(/// `i16`, little-endian.
    I16, i16, 2);
le_int!(/// `u32`, little-endian.
    U32, u32, 4);
le_int!(/// `i32`, little-endian.
    I32, i32, 4);
le_int!(/// `u64`, little-endian.
    U64, u64, 8);
le_int!(/// `i64`, little-endian.
    I64, i64, 8);
le_int!(/// `u128`, little-endian.
    U128, u128, 16);
le_int!(/// `i128`, little-endian.
    I128, i128, 16);

/// A 32-byte public key as stored in an account.
#[repr(transparent)]
#[derive(Clone, Copy, Pod, Zeroable, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// The all-zero key the programs use for "none".
    pub const DEFAULT: Self = Self([0; 32]);

    /// Whether this is the all-zero key.
    pub fn is_default(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The canonical base58 spelling.
    pub fn to_base58(&self) -> String {
        bs58::encode(self.0).into_string()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base58())
    }
}
