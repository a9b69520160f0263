//! Pyth pull oracle: `PriceUpdateV2`, as the Pyth receiver program stores it (borsh).
//!
//! ```text
//! discriminator        [u8; 8]   sha256("account:PriceUpdateV2")[..8]
//! write_authority      Pubkey
//! verification_level   enum { Partial { num_signatures: u8 } = 0, Full = 1 }   1 or 2 bytes
//! price_message        { feed_id [u8;32], price i64, conf u64, exponent i32, publish_time i64,
//!                        prev_publish_time i64, ema_price i64, ema_conf u64 }
//! posted_slot          u64
//! ```
//!
//! The account is allocated for the longest encoding (134 bytes); a `Full` update leaves the last
//! byte unused. Because the enum is borsh, every later offset depends on the variant, so this is
//! decoded field by field rather than as a zero-copy struct.

use solana_pubkey::Pubkey;

use super::{OracleKind, PriceQuote};
use crate::solana::{
    RawAccount,
    decode::{AccountSpec, DecodeError},
};

/// The Pyth receiver program that owns sponsored and permissionless `PriceUpdateV2` accounts.
pub const PYTH_RECEIVER_PROGRAM: Pubkey =
    solana_pubkey::pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");
/// The Pyth push-oracle program whose PDAs (shard, feed id) hold the sponsored feeds.
pub const PYTH_PUSH_ORACLE_PROGRAM: Pubkey =
    solana_pubkey::pubkey!("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT");
/// Allocated size of a `PriceUpdateV2`, discriminator included.
pub const PRICE_UPDATE_V2_LEN: usize = 134;

/// How many Wormhole guardian signatures were verified for the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationLevel {
    /// At least the receiver's configured minimum, but not a quorum.
    Partial {
        /// Signatures checked.
        num_signatures: u8,
    },
    /// A guardian quorum: the only level lenders accept.
    Full,
}

/// A decoded `PriceUpdateV2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceUpdateV2 {
    /// Who may overwrite the account.
    pub write_authority: Pubkey,
    /// Signature verification of the update.
    pub verification_level: VerificationLevel,
    /// Pyth feed id (e.g. SOL/USD `ef0d8b6f…`).
    pub feed_id: [u8; 32],
    /// Price mantissa.
    pub price: i64,
    /// Confidence mantissa.
    pub conf: u64,
    /// Decimal exponent of `price` and `conf`.
    pub exponent: i32,
    /// Publication time (unix seconds).
    pub publish_time: i64,
    /// Previous publication time.
    pub prev_publish_time: i64,
    /// EMA price mantissa.
    pub ema_price: i64,
    /// EMA confidence mantissa.
    pub ema_conf: u64,
    /// Slot the update was posted at.
    pub posted_slot: u64,
}

impl PriceUpdateV2 {
    /// The spot price as a [`PriceQuote`] of account `feed`.
    pub fn quote(&self, feed: Pubkey) -> PriceQuote {
        PriceQuote {
            feed,
            kind: OracleKind::PythPull,
            price: i128::from(self.price),
            conf: u128::from(self.conf),
            exponent: self.exponent,
            publish_time: self.publish_time,
            slot: self.posted_slot,
        }
    }

    /// The EMA price as a [`PriceQuote`] of account `feed` (same publication time and slot).
    pub fn ema_quote(&self, feed: Pubkey) -> PriceQuote {
        PriceQuote {
            price: i128::from(self.ema_price),
            conf: u128::from(self.ema_conf),
            ..self.quote(feed)
        }
    }

    /// Whether a guardian quorum verified the update.
    pub fn is_fully_verified(&self) -> bool {
        self.verification_level == VerificationLevel::Full
    }
}

/// Checks owner (`owner`: the receiver program the protocol trusts), size and discriminator, then
/// decodes.
pub fn decode_price_update_v2(
    key: &Pubkey,
    account: &RawAccount,
    owner: &Pubkey,
) -> Result<PriceUpdateV2, DecodeError> {
    let spec = AccountSpec::anchor("PriceUpdateV2", *owner, PRICE_UPDATE_V2_LEN);
    let data = spec.check(key, account)?;
    parse(key, data)
}

/// Decodes data whose owner is checked elsewhere (or unknown, as for raw test vectors).
pub fn decode_price_update_v2_data(
    key: &Pubkey,
    data: &[u8],
) -> Result<PriceUpdateV2, DecodeError> {
    AccountSpec::anchor("PriceUpdateV2", Pubkey::default(), PRICE_UPDATE_V2_LEN)
        .check_data(key, data)?;
    parse(key, data)
}

fn parse(key: &Pubkey, data: &[u8]) -> Result<PriceUpdateV2, DecodeError> {
    let invalid = |detail: String| DecodeError::InvalidField {
        account: key.to_string(),
        type_name: "PriceUpdateV2",
        detail,
    };
    let mut r = Reader { data, pos: 8 };
    let write_authority =
        Pubkey::new_from_array(r.array().ok_or_else(|| invalid("truncated".into()))?);
    let verification_level = match r.u8() {
        Some(0) => VerificationLevel::Partial {
            num_signatures: r.u8().ok_or_else(|| invalid("truncated".into()))?,
        },
        Some(1) => VerificationLevel::Full,
        Some(tag) => return Err(invalid(format!("unknown verification level tag {tag}"))),
        None => return Err(invalid("truncated".into())),
    };
    let mut next = || r.take8().ok_or_else(|| invalid("truncated".into()));
    let feed_id_parts = [next()?, next()?, next()?, next()?];
    let mut feed_id = [0u8; 32];
    for (i, part) in feed_id_parts.iter().enumerate() {
        feed_id[i * 8..i * 8 + 8].copy_from_slice(part);
    }
    let price = i64::from_le_bytes(next()?);
    let conf = u64::from_le_bytes(next()?);
    let exponent = {
        let b = r.take::<4>().ok_or_else(|| invalid("truncated".into()))?;
        i32::from_le_bytes(b)
    };
    let mut next = || r.take8().ok_or_else(|| invalid("truncated".into()));
    Ok(PriceUpdateV2 {
        write_authority,
        verification_level,
        feed_id,
        price,
        conf,
        exponent,
        publish_time: i64::from_le_bytes(next()?),
        prev_publish_time: i64::from_le_bytes(next()?),
        ema_price: i64::from_le_bytes(next()?),
        ema_conf: u64::from_le_bytes(next()?),
        posted_slot: u64::from_le_bytes(next()?),
    })
}

/// A cursor over borsh little-endian fields.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.data.get(self.pos..self.pos + N)?;
        self.pos += N;
        <[u8; N]>::try_from(bytes).ok()
    }

    fn take8(&mut self) -> Option<[u8; 8]> {
        self.take::<8>()
    }

    fn array(&mut self) -> Option<[u8; 32]> {
        self.take::<32>()
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
}
