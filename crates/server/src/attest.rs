//! Signed, portable profiles: EIP-712 attestations over a compact summary of a profile.
//!
//! A venue that grants credit on our answer must be able to show a third party, after the fact,
//! what we answered. `?signed=true` on the profile routes adds an [`Attestation`]: an EIP-712
//! typed-data signature by the deployment's secp256k1 key over a [`ProfileAttestation`] message.
//! The message is small enough to verify on chain (see `crates/server/contracts/` and the README
//! section "Verifying an attestation on chain"):
//!
//! | field | meaning |
//! |---|---|
//! | `ownerSetHash` | keccak256 of the owner set's id; zero for a list of accounts |
//! | `accountsHash` | keccak256 of the sorted canonical CAIP-10 ids joined by `\n` |
//! | `readPointsHash` | keccak256 of one line per chain, sorted, joined by `\n` (see [`read_points_preimage`]) |
//! | `health` | unified health × 1e18, rounded down; `type(uint256).max` for infinite; 0 if unknown |
//! | `netValueUsd` | net value in USD × 1e18, rounded down (may be negative) |
//! | `maintenanceRequirementUsd` / `initialRequirementUsd` | USD × 1e18, rounded **up** |
//! | `creditCapacityUsd` | USD × 1e18, rounded down |
//! | `coverageComplete` | every covered market was read |
//! | `methodology` | keccak256 of the profile's methodology string |
//! | `issuedAt` / `expiresAt` | seconds since the epoch; the TTL is short and configurable |
//! | `nonce` | 32 random bytes; [`Attestor::verify`] accepts each nonce once, across replicas |
//!
//! Every rounding makes the account look worse, never better, so a verifier comparing the
//! attested numbers with its own thresholds fails closed.
//!
//! The domain is `EIP712Domain(string name,string version)` with `name = "Unimargin"` and
//! `version = "1"`: the attestation is about off-chain reads of several chains, so it is not bound
//! to one chain id or verifying contract; replay protection is the nonce and the expiry.

use std::{collections::BTreeMap, str::FromStr, time::Duration};

use alloy::{
    primitives::{Address, B256, I256, Signature, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct},
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unimargin_schema::{Health, MarginProfile, ReadPoint};

use crate::auth::{StoreError, TenantStore};

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod sol {
    alloy::sol! {
        /// The signed message. Field order and types are the EIP-712 type string; the verifier
        /// contract declares the same struct.
        #[derive(Debug, PartialEq, Eq)]
        struct ProfileAttestation {
            bytes32 ownerSetHash;
            bytes32 accountsHash;
            bytes32 readPointsHash;
            uint256 health;
            int256 netValueUsd;
            uint256 maintenanceRequirementUsd;
            uint256 initialRequirementUsd;
            uint256 creditCapacityUsd;
            bool coverageComplete;
            bytes32 methodology;
            uint64 issuedAt;
            uint64 expiresAt;
            bytes32 nonce;
        }
    }
}
pub use sol::ProfileAttestation;

/// EIP-712 domain name.
pub const DOMAIN_NAME: &str = "Unimargin";
/// EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";
/// EIP-712 primary type.
pub const PRIMARY_TYPE: &str = "ProfileAttestation";

/// The EIP-712 domain every attestation is signed under.
pub fn domain() -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        None,
        None,
        None,
    )
}

/// Why an attestation could not be produced or the signer not built.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// The configured key is not a 32-byte hex secp256k1 secret key.
    #[error("attestation signing key is not a valid 32-byte hex secp256k1 key")]
    InvalidKey,
    /// A monetary value does not fit the message's integer type (or is negative where the type
    /// is unsigned): signing a clamped number would misstate the account, so nothing is signed.
    #[error("`{field}` = {value} cannot be represented in the attestation")]
    OutOfRange {
        /// Message field.
        field: &'static str,
        /// The value.
        value: Decimal,
    },
    /// The signer failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Settings of the attestation signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationSettings {
    /// How long an attestation stays valid after it is issued. Short: it attests to a read at
    /// one block, and markets move.
    pub ttl: Duration,
}

impl Default for AttestationSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
        }
    }
}

/// One field of an EIP-712 type, as `eth_signTypedData_v4` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TypedField {
    /// Field name.
    pub name: String,
    /// Solidity type.
    #[serde(rename = "type")]
    pub ty: String,
}

/// The EIP-712 domain as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TypedDomain {
    /// `Unimargin`.
    pub name: String,
    /// `1`.
    pub version: String,
}

/// The message as JSON. 256-bit integers are decimal strings, bytes32 are 0x-hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttestationMessage {
    /// keccak256 of the owner set id; zero for a list of accounts.
    pub owner_set_hash: String,
    /// keccak256 of the sorted canonical CAIP-10 ids joined by `\n`.
    pub accounts_hash: String,
    /// keccak256 of the per-chain read point lines.
    pub read_points_hash: String,
    /// Health × 1e18 (rounded down); `2^256 − 1` for infinite.
    pub health: String,
    /// Net value USD × 1e18 (rounded down).
    pub net_value_usd: String,
    /// Maintenance requirement USD × 1e18 (rounded up).
    pub maintenance_requirement_usd: String,
    /// Initial requirement USD × 1e18 (rounded up).
    pub initial_requirement_usd: String,
    /// Credit capacity USD × 1e18 (rounded down).
    pub credit_capacity_usd: String,
    /// Whether every covered market was read.
    pub coverage_complete: bool,
    /// keccak256 of the methodology string.
    pub methodology: String,
    /// Seconds since the epoch.
    pub issued_at: u64,
    /// Seconds since the epoch; invalid from this second on.
    pub expires_at: u64,
    /// 32 random bytes, accepted once by the verifier.
    pub nonce: String,
}

/// EIP-712 typed data in the shape of `eth_signTypedData_v4`, so any wallet library can
/// recompute the digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypedData {
    /// `EIP712Domain` and `ProfileAttestation`.
    pub types: BTreeMap<String, Vec<TypedField>>,
    /// `ProfileAttestation`.
    pub primary_type: String,
    /// The domain.
    pub domain: TypedDomain,
    /// The signed values.
    pub message: AttestationMessage,
}

/// A signed attestation of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attestation {
    /// What was signed.
    pub typed_data: TypedData,
    /// 65 bytes `r ‖ s ‖ v` (v = 27 or 28), 0x-hex.
    pub signature: String,
    /// The signer's address (EIP-55), also published at `GET /v1/attestations/signer`.
    pub signer: String,
}

/// A profile with its attestation: the profile's fields, plus `attestation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SignedProfile {
    /// The profile, unchanged.
    #[serde(flatten)]
    pub profile: MarginProfile,
    /// The signature over its summary.
    pub attestation: Attestation,
}

/// Why [`Attestor::verify`] rejected an attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// A field is not of its type (bad hex, number out of range), or the domain or primary type
    /// is not ours.
    Malformed,
    /// The signature does not recover to this deployment's signer: the message was altered or
    /// signed by someone else.
    BadSignature,
    /// `expires_at` has passed.
    Expired,
    /// The attestation says coverage was incomplete: it must not be relied on.
    IncompleteCoverage,
    /// This nonce was already verified once.
    Replayed,
}

/// Answer of `POST /v1/attestations/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// True only if every check passed.
    pub valid: bool,
    /// The first check that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Rejection>,
    /// This deployment's signer (EIP-55).
    pub signer: String,
}

/// Answer of `GET /v1/attestations/signer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SignerResponse {
    /// The address attestations are signed by (EIP-55).
    pub address: String,
    /// EIP-712 domain name.
    pub domain_name: String,
    /// EIP-712 domain version.
    pub domain_version: String,
    /// The EIP-712 type string of the message.
    pub type_string: String,
    /// Seconds an attestation stays valid.
    pub ttl_secs: u64,
}

/// Signs and verifies attestations with one key. Spent nonces are kept by the caller's ledger
/// (see [`Attestor::verify`]).
pub struct Attestor {
    signer: PrivateKeySigner,
    settings: AttestationSettings,
}

impl std::fmt::Debug for Attestor {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attestor")
            .field("address", &self.signer.address())
            .field("settings", &self.settings)
            .finish()
    }
}

impl Attestor {
    /// An attestor with the 32-byte hex secret key `key` (with or without `0x`).
    pub fn from_hex_key(key: &str, settings: AttestationSettings) -> Result<Self, AttestError> {
        let signer = PrivateKeySigner::from_str(key.trim()).map_err(|_| AttestError::InvalidKey)?;
        Ok(Self::new(signer, settings))
    }

    /// An attestor with a fresh random key (the demo; tests).
    pub fn random(settings: AttestationSettings) -> Self {
        Self::new(PrivateKeySigner::random(), settings)
    }

    fn new(signer: PrivateKeySigner, settings: AttestationSettings) -> Self {
        Self { signer, settings }
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// What `GET /v1/attestations/signer` answers.
    pub fn describe(&self) -> SignerResponse {
        SignerResponse {
            address: self.address().to_checksum(None),
            domain_name: DOMAIN_NAME.to_owned(),
            domain_version: DOMAIN_VERSION.to_owned(),
            type_string: ProfileAttestation::eip712_encode_type().into_owned(),
            ttl_secs: self.settings.ttl.as_secs(),
        }
    }

    /// Signs a summary of `profile`, issued at `now`, with a fresh nonce.
    pub fn attest(
        &self,
        profile: &MarginProfile,
        now: DateTime<Utc>,
    ) -> Result<Attestation, AttestError> {
        self.attest_owner_set(profile, None, now)
    }

    /// [`Attestor::attest`] for the profile of an owner set: `ownerSetHash` is the keccak256 of
    /// its id, so the attestation names the set as well as its accounts.
    pub fn attest_owner_set(
        &self,
        profile: &MarginProfile,
        owner_set: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Attestation, AttestError> {
        let issued_at = u64::try_from(now.timestamp()).unwrap_or(0);
        let expires_at = issued_at.saturating_add(self.settings.ttl.as_secs());
        let message = summarize(profile, owner_set, issued_at, expires_at, fresh_nonce())?;
        let signature = self
            .signer
            .sign_typed_data_sync(&message, &domain())
            .map_err(|e| AttestError::Sign(e.to_string()))?;
        Ok(Attestation {
            typed_data: typed_data(&message),
            signature: format!("0x{}", alloy::primitives::hex::encode(signature.as_bytes())),
            signer: self.address().to_checksum(None),
        })
    }

    /// Checks, in order: shape, signature, expiry, coverage, and that the nonce was never
    /// verified before — which then spends it in `ledger` (the tenant store: Redis when
    /// replicated, so a nonce spent on one replica is spent on all). Only the last check has a
    /// side effect, so a rejected attestation does not burn its nonce. A ledger that does not
    /// answer is an error, never a verdict: without it a replay cannot be ruled out.
    pub async fn verify(
        &self,
        attestation: &Attestation,
        now: DateTime<Utc>,
        ledger: &dyn TenantStore,
    ) -> Result<Verdict, StoreError> {
        let verdict = |reason: Option<Rejection>| Verdict {
            valid: reason.is_none(),
            reason,
            signer: self.address().to_checksum(None),
        };
        let message = match self.check(attestation, now) {
            Ok(message) => message,
            Err(reason) => return Ok(verdict(Some(reason))),
        };
        let expires_at = i64::try_from(message.expiresAt)
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if ledger
            .claim_nonce(&message.nonce.to_string(), expires_at)
            .await?
        {
            Ok(verdict(None))
        } else {
            Ok(verdict(Some(Rejection::Replayed)))
        }
    }

    /// Every check but the nonce's: shape, signature, expiry, coverage.
    fn check(
        &self,
        attestation: &Attestation,
        now: DateTime<Utc>,
    ) -> Result<ProfileAttestation, Rejection> {
        let td = &attestation.typed_data;
        if td.primary_type != PRIMARY_TYPE
            || td.domain.name != DOMAIN_NAME
            || td.domain.version != DOMAIN_VERSION
        {
            return Err(Rejection::Malformed);
        }
        let message = parse_message(&td.message).ok_or(Rejection::Malformed)?;
        let signature = parse_signature(&attestation.signature).ok_or(Rejection::Malformed)?;
        let digest = message.eip712_signing_hash(&domain());
        match signature.recover_address_from_prehash(&digest) {
            Ok(address) if address == self.address() => {}
            _ => return Err(Rejection::BadSignature),
        }
        let now = u64::try_from(now.timestamp()).unwrap_or(0);
        if now >= message.expiresAt {
            return Err(Rejection::Expired);
        }
        if !message.coverageComplete {
            return Err(Rejection::IncompleteCoverage);
        }
        Ok(message)
    }
}

/// 32 bytes from the operating system's CSPRNG. A fresh signing key is exactly that, and
/// `PrivateKeySigner::random` is the CSPRNG entry point alloy exposes with our features.
fn fresh_nonce() -> B256 {
    PrivateKeySigner::random().to_bytes()
}

/// The message summarizing `profile`. Pure: the same inputs give the same message.
pub fn summarize(
    profile: &MarginProfile,
    owner_set: Option<&str>,
    issued_at: u64,
    expires_at: u64,
    nonce: B256,
) -> Result<ProfileAttestation, AttestError> {
    let mut accounts: Vec<String> = profile.accounts.iter().map(ToString::to_string).collect();
    accounts.sort();
    accounts.dedup();
    let health = match profile.health {
        Some(Health::Infinite) => U256::MAX,
        Some(Health::Finite(h)) => unsigned("health", h, Round::Down)?,
        // An unknown health attests as zero: the worst possible.
        None => U256::ZERO,
    };
    let t = &profile.totals;
    Ok(ProfileAttestation {
        ownerSetHash: owner_set
            .map(|id| keccak256(id.as_bytes()))
            .unwrap_or_default(),
        accountsHash: keccak256(accounts.join("\n").as_bytes()),
        readPointsHash: keccak256(read_points_preimage(profile).as_bytes()),
        health,
        netValueUsd: signed("netValueUsd", t.net_value_usd)?,
        maintenanceRequirementUsd: unsigned(
            "maintenanceRequirementUsd",
            t.maintenance_margin_usd,
            Round::Up,
        )?,
        initialRequirementUsd: unsigned("initialRequirementUsd", t.initial_margin_usd, Round::Up)?,
        creditCapacityUsd: unsigned(
            "creditCapacityUsd",
            profile.credit_capacity_usd,
            Round::Down,
        )?,
        coverageComplete: profile.coverage.complete,
        methodology: keccak256(profile.methodology.as_bytes()),
        issuedAt: issued_at,
        expiresAt: expires_at,
        nonce,
    })
}

/// One line per covered chain, sorted, joined by `\n`:
/// `eip155:1 block 19000000 0xabc…`, `solana:… slot 250000000`, `<chain> venue 1700000000`, or
/// `<chain> none` for a chain that could not be pinned.
pub fn read_points_preimage(profile: &MarginProfile) -> String {
    let mut lines: Vec<String> = profile
        .coverage
        .chains
        .iter()
        .map(|c| match &c.read_point {
            Some(ReadPoint::Block { number, hash, .. }) => {
                format!("{} block {number} {}", c.chain, hash.to_lowercase())
            }
            Some(ReadPoint::Slot { slot, .. }) => format!("{} slot {slot}", c.chain),
            Some(ReadPoint::Venue { timestamp }) => format!("{} venue {timestamp}", c.chain),
            None => format!("{} none", c.chain),
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[derive(Clone, Copy)]
enum Round {
    Down,
    Up,
}

/// `value × 1e18` as an integer, rounded toward −∞ (`Down`) or +∞ (`Up`).
fn scaled(value: Decimal, round: Round) -> I256 {
    let mantissa = value.mantissa();
    let scale = value.scale();
    if scale <= 18 {
        // |mantissa| < 2^96 and 10^18 < 2^60: the product fits easily in 256 bits.
        I256::try_from(mantissa).unwrap_or_default() * I256::exp10((18 - scale) as usize)
    } else {
        // scale ≤ 28, so the divisor is at most 10^10.
        let divisor = 10i128.pow(scale - 18);
        let (q, r) = (mantissa.div_euclid(divisor), mantissa.rem_euclid(divisor));
        let q = if matches!(round, Round::Up) && r != 0 {
            q + 1
        } else {
            q
        };
        I256::try_from(q).unwrap_or_default()
    }
}

fn unsigned(field: &'static str, value: Decimal, round: Round) -> Result<U256, AttestError> {
    let s = scaled(value, round);
    if s.is_negative() {
        Err(AttestError::OutOfRange { field, value })
    } else {
        Ok(s.into_raw())
    }
}

fn signed(_field: &'static str, value: Decimal) -> Result<I256, AttestError> {
    Ok(scaled(value, Round::Down))
}

fn typed_data(m: &ProfileAttestation) -> TypedData {
    let field = |name: &str, ty: &str| TypedField {
        name: name.to_owned(),
        ty: ty.to_owned(),
    };
    let mut types = BTreeMap::new();
    types.insert(
        "EIP712Domain".to_owned(),
        vec![field("name", "string"), field("version", "string")],
    );
    types.insert(
        PRIMARY_TYPE.to_owned(),
        vec![
            field("ownerSetHash", "bytes32"),
            field("accountsHash", "bytes32"),
            field("readPointsHash", "bytes32"),
            field("health", "uint256"),
            field("netValueUsd", "int256"),
            field("maintenanceRequirementUsd", "uint256"),
            field("initialRequirementUsd", "uint256"),
            field("creditCapacityUsd", "uint256"),
            field("coverageComplete", "bool"),
            field("methodology", "bytes32"),
            field("issuedAt", "uint64"),
            field("expiresAt", "uint64"),
            field("nonce", "bytes32"),
        ],
    );
    TypedData {
        types,
        primary_type: PRIMARY_TYPE.to_owned(),
        domain: TypedDomain {
            name: DOMAIN_NAME.to_owned(),
            version: DOMAIN_VERSION.to_owned(),
        },
        message: AttestationMessage {
            owner_set_hash: m.ownerSetHash.to_string(),
            accounts_hash: m.accountsHash.to_string(),
            read_points_hash: m.readPointsHash.to_string(),
            health: m.health.to_string(),
            net_value_usd: m.netValueUsd.to_string(),
            maintenance_requirement_usd: m.maintenanceRequirementUsd.to_string(),
            initial_requirement_usd: m.initialRequirementUsd.to_string(),
            credit_capacity_usd: m.creditCapacityUsd.to_string(),
            coverage_complete: m.coverageComplete,
            methodology: m.methodology.to_string(),
            issued_at: m.issuedAt,
            expires_at: m.expiresAt,
            nonce: m.nonce.to_string(),
        },
    }
}

/// The signed struct back from JSON; `None` if any field is not of its type.
pub fn parse_message(m: &AttestationMessage) -> Option<ProfileAttestation> {
    let b = |s: &str| B256::from_str(s).ok();
    let u = |s: &str| U256::from_str_radix(s, 10).ok();
    Some(ProfileAttestation {
        ownerSetHash: b(&m.owner_set_hash)?,
        accountsHash: b(&m.accounts_hash)?,
        readPointsHash: b(&m.read_points_hash)?,
        health: u(&m.health)?,
        netValueUsd: I256::from_dec_str(&m.net_value_usd).ok()?,
        maintenanceRequirementUsd: u(&m.maintenance_requirement_usd)?,
        initialRequirementUsd: u(&m.initial_requirement_usd)?,
        creditCapacityUsd: u(&m.credit_capacity_usd)?,
        coverageComplete: m.coverage_complete,
        methodology: b(&m.methodology)?,
        issuedAt: m.issued_at,
        expiresAt: m.expires_at,
        nonce: b(&m.nonce)?,
    })
}

/// A 65-byte `r ‖ s ‖ v` signature from 0x-hex; `None` if malformed.
pub fn parse_signature(hex: &str) -> Option<Signature> {
    let bytes = alloy::primitives::hex::decode(hex).ok()?;
    Signature::from_raw(&bytes).ok()
}

#[cfg(test)]
mod tests;
