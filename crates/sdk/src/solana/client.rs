//! The Solana client and its slot-pinned reader.

use std::{
    fmt,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::{Value, json};
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding};
use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
use solana_pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::{
    client_error::{Error as ClientError, ErrorKind},
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig},
    filter::{Memcmp, MemcmpEncodedBytes, RpcFilterType},
    request::{RpcError, RpcRequest},
    response::{OptionalContext, Response, RpcKeyedAccount},
};
use unimargin_schema::{ChainId, ReadPoint};

use crate::{AdapterError, Result};

/// Most keys one `getMultipleAccounts` may carry (the RPC's own limit).
pub const MAX_KEYS_PER_CALL: usize = 100;

/// The `Clock` sysvar: its `unix_timestamp` at the pinned slot is the time every staleness check
/// of the profile is judged against, as the programs themselves judge it.
pub const CLOCK_SYSVAR: Pubkey =
    solana_pubkey::pubkey!("SysvarC1ock11111111111111111111111111111111");

/// Per-cluster settings of the Solana client.
#[derive(Debug, Clone)]
pub struct SolanaSettings {
    /// The one commitment level every read of the cluster uses (`confirmed` by default: final
    /// enough not to be rolled back in practice, recent enough for margin).
    pub commitment: CommitmentLevel,
    /// Upper bound of one JSON-RPC request; beyond it the read fails as a timeout.
    pub request_timeout: Duration,
    /// Keys per `getMultipleAccounts` call (at most [`MAX_KEYS_PER_CALL`]); more keys are split
    /// into chunks sent concurrently.
    pub max_keys_per_call: usize,
}

impl Default for SolanaSettings {
    fn default() -> Self {
        Self {
            commitment: CommitmentLevel::Confirmed,
            request_timeout: Duration::from_secs(10),
            max_keys_per_call: MAX_KEYS_PER_CALL,
        }
    }
}

/// A JSON-RPC client of one Solana cluster.
pub struct SolanaClient {
    chain: ChainId,
    rpc: Arc<RpcClient>,
    settings: SolanaSettings,
    requests: Arc<AtomicUsize>,
}

impl fmt::Debug for SolanaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The RPC client holds the URL, which may embed an API key: never print it.
        f.debug_struct("SolanaClient")
            .field("chain", &self.chain)
            .field("settings", &self.settings)
            .finish()
    }
}

impl SolanaClient {
    /// A client over HTTP(S). Nothing is sent here, so a client can be built while the node is
    /// down; the first read reports the outage.
    pub fn http(chain: ChainId, url: &str, settings: SolanaSettings) -> Result<Self> {
        // Validated here so a typo fails at start-up (the client itself only parses on send).
        let _: alloy::transports::http::reqwest::Url = url
            .parse()
            .map_err(|e| AdapterError::Config(format!("invalid RPC URL for {chain}: {e}")))?;
        let rpc = RpcClient::new_with_timeout_and_commitment(
            url.to_owned(),
            settings.request_timeout,
            CommitmentConfig {
                commitment: settings.commitment,
            },
        );
        Ok(Self {
            chain,
            rpc: Arc::new(rpc),
            settings,
            requests: Arc::default(),
        })
    }

    /// The chain.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The settings.
    pub fn settings(&self) -> &SolanaSettings {
        &self.settings
    }

    /// JSON-RPC requests sent by this client and every reader pinned from it so far.
    pub fn requests_sent(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// Pins a slot: `getSlot` at the configured commitment, then the `Clock` sysvar at that slot.
    /// Two requests, shared by every adapter of the profile on this cluster.
    pub async fn pin(&self) -> Result<PinnedSolana> {
        let commitment = CommitmentConfig {
            commitment: self.settings.commitment,
        };
        let slot: u64 = self
            .send(RpcRequest::GetSlot, json!([commitment]), "getSlot")
            .await?;
        let mut inner = Inner {
            chain: self.chain.clone(),
            rpc: self.rpc.clone(),
            settings: self.settings.clone(),
            requests: self.requests.clone(),
            slot,
            unix_timestamp: 0,
            latest_served: AtomicU64::new(slot),
        };
        let clock = get_multiple_accounts(&inner, &[CLOCK_SYSVAR]).await?;
        let data = clock
            .value
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| {
                AdapterError::malformed(
                    format!("Clock sysvar on {}", self.chain),
                    "account missing",
                )
            })?
            .data;
        // Clock: slot u64, epoch_start_timestamp i64, epoch u64, leader_schedule_epoch u64,
        // unix_timestamp i64 — 40 bytes, little endian.
        let ts = data
            .get(32..40)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(i64::from_le_bytes)
            .filter(|_| data.len() == 40)
            .ok_or_else(|| {
                AdapterError::malformed(
                    format!("Clock sysvar on {}", self.chain),
                    format!("{} bytes, expected 40", data.len()),
                )
            })?;
        inner.unix_timestamp = ts;
        Ok(PinnedSolana {
            inner: Arc::new(inner),
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: RpcRequest,
        params: Value,
        what: &'static str,
    ) -> Result<T> {
        send(
            &self.chain,
            &self.rpc,
            &self.requests,
            self.settings.request_timeout,
            req,
            params,
            what,
        )
        .await
    }
}

/// An account as the cluster returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAccount {
    /// Balance in lamports.
    pub lamports: u64,
    /// The program that owns the account (checked before decoding).
    pub owner: Pubkey,
    /// Whether the account is a program.
    pub executable: bool,
    /// The account data.
    pub data: Vec<u8>,
}

/// An account with its address, as `getProgramAccounts` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedAccount {
    /// The account's address.
    pub pubkey: Pubkey,
    /// The account.
    pub account: RawAccount,
}

/// A value and the slot the cluster served it at (never older than the pinned slot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served<T> {
    /// The context slot of the reply; for a read split into chunks, the newest chunk's.
    pub slot: u64,
    /// The value.
    pub value: T,
}

/// A `getProgramAccounts` filter, applied by the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountFilter {
    /// Data length equals this many bytes.
    DataSize(u64),
    /// Data at `offset` equals `bytes` (sent base64-encoded).
    Memcmp {
        /// Byte offset into the account data.
        offset: usize,
        /// The bytes to compare.
        bytes: Vec<u8>,
    },
}

impl AccountFilter {
    /// `memcmp` on a 32-byte key field (an authority, a market): the usual way to find an
    /// owner's accounts.
    pub fn key_at(offset: usize, key: &Pubkey) -> Self {
        Self::Memcmp {
            offset,
            bytes: key.to_bytes().to_vec(),
        }
    }

    fn to_rpc(&self) -> RpcFilterType {
        match self {
            Self::DataSize(n) => RpcFilterType::DataSize(*n),
            Self::Memcmp { offset, bytes } => RpcFilterType::Memcmp(Memcmp::new(
                *offset,
                MemcmpEncodedBytes::Base64(BASE64.encode(bytes)),
            )),
        }
    }
}

struct Inner {
    chain: ChainId,
    rpc: Arc<RpcClient>,
    settings: SolanaSettings,
    requests: Arc<AtomicUsize>,
    slot: u64,
    unix_timestamp: i64,
    latest_served: AtomicU64,
}

/// A Solana reader pinned to one slot. Cheap to clone; clones share one record of the newest
/// slot served.
#[derive(Clone)]
pub struct PinnedSolana {
    inner: Arc<Inner>,
}

impl fmt::Debug for PinnedSolana {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedSolana")
            .field("chain", &self.inner.chain)
            .field("slot", &self.inner.slot)
            .field("unix_timestamp", &self.inner.unix_timestamp)
            .finish()
    }
}

impl PinnedSolana {
    /// The chain.
    pub fn chain(&self) -> &ChainId {
        &self.inner.chain
    }

    /// The pinned slot: every read is served at this slot or a newer one.
    pub fn slot(&self) -> u64 {
        self.inner.slot
    }

    /// The cluster clock (`Clock::unix_timestamp`) at the pinned slot, seconds since the epoch.
    pub fn unix_timestamp(&self) -> i64 {
        self.inner.unix_timestamp
    }

    /// The newest context slot any read of this reader was served at so far.
    pub fn latest_served_slot(&self) -> u64 {
        self.inner.latest_served.load(Ordering::Relaxed)
    }

    /// JSON-RPC requests sent by the client this reader was pinned from, so far.
    pub fn requests_sent(&self) -> usize {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The read point for provenance: the pinned slot and the cluster clock at it.
    pub fn read_point(&self) -> ReadPoint {
        ReadPoint::Slot {
            slot: self.inner.slot,
            timestamp: u64::try_from(self.inner.unix_timestamp).ok(),
        }
    }

    /// CAIP-10 spelling of an account on this cluster, for provenance and messages.
    pub fn caip10(&self, key: &Pubkey) -> String {
        format!("{}:{key}", self.inner.chain)
    }

    /// `getMultipleAccounts` for `keys`, in order; `None` where an account does not exist. Split
    /// into chunks of at most `max_keys_per_call` keys, sent concurrently, each with
    /// `minContextSlot` = the pinned slot.
    pub async fn get_multiple_accounts(
        &self,
        keys: &[Pubkey],
    ) -> Result<Served<Vec<Option<RawAccount>>>> {
        get_multiple_accounts(&self.inner, keys).await
    }

    /// `getProgramAccounts` of `program` matching every filter, with its context slot.
    pub async fn get_program_accounts(
        &self,
        program: &Pubkey,
        filters: &[AccountFilter],
    ) -> Result<Served<Vec<KeyedAccount>>> {
        let config = RpcProgramAccountsConfig {
            filters: Some(filters.iter().map(AccountFilter::to_rpc).collect()),
            account_config: self.inner.account_config(),
            with_context: Some(true),
            sort_results: Some(true),
        };
        let reply: OptionalContext<Vec<RpcKeyedAccount>> = self
            .send(
                RpcRequest::GetProgramAccounts,
                json!([program.to_string(), config]),
                "getProgramAccounts",
            )
            .await?;
        let Response { context, value } = match reply {
            OptionalContext::Context(r) => r,
            // A reply without context cannot prove its slot: fail closed.
            OptionalContext::NoContext(_) => {
                return Err(AdapterError::malformed(
                    format!("getProgramAccounts on {}", self.inner.chain),
                    "reply has no context slot although withContext was requested",
                ));
            }
        };
        self.inner.check_slot(context.slot, "getProgramAccounts")?;
        let value = value
            .into_iter()
            .map(|keyed| {
                let pubkey: Pubkey = keyed.pubkey.parse().map_err(|e| {
                    AdapterError::malformed(
                        format!("getProgramAccounts on {}", self.inner.chain),
                        format!("pubkey {}: {e}", keyed.pubkey),
                    )
                })?;
                Ok(KeyedAccount {
                    account: self.inner.raw_account(&pubkey, keyed.account)?,
                    pubkey,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Served {
            slot: context.slot,
            value,
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: RpcRequest,
        params: Value,
        what: &'static str,
    ) -> Result<T> {
        self.inner.send(req, params, what).await
    }
}

impl Inner {
    fn account_config(&self) -> RpcAccountInfoConfig {
        RpcAccountInfoConfig {
            // zstd-compressed when the node supports it; plain base64 replies are accepted.
            encoding: Some(UiAccountEncoding::Base64Zstd),
            data_slice: None,
            commitment: Some(CommitmentConfig {
                commitment: self.settings.commitment,
            }),
            min_context_slot: Some(self.slot),
        }
    }

    /// A reply served at an older slot than pinned would mix two states in one profile.
    fn check_slot(&self, served: u64, what: &str) -> Result<()> {
        if served < self.slot {
            return Err(AdapterError::RpcError {
                chain: self.chain.to_string(),
                message: format!(
                    "{what} served at slot {served}, older than the pinned slot {}",
                    self.slot
                ),
            });
        }
        self.latest_served.fetch_max(served, Ordering::Relaxed);
        Ok(())
    }

    fn raw_account(&self, key: &Pubkey, ui: UiAccount) -> Result<RawAccount> {
        let what = || format!("account {key} on {}", self.chain);
        let data = ui
            .data
            .decode()
            .ok_or_else(|| AdapterError::malformed(what(), "data is not base64 / base64+zstd"))?;
        let owner = ui
            .owner
            .parse()
            .map_err(|e| AdapterError::malformed(what(), format!("owner {}: {e}", ui.owner)))?;
        Ok(RawAccount {
            lamports: ui.lamports,
            owner,
            executable: ui.executable,
            data,
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: RpcRequest,
        params: Value,
        what: &'static str,
    ) -> Result<T> {
        send(
            &self.chain,
            &self.rpc,
            &self.requests,
            self.settings.request_timeout,
            req,
            params,
            what,
        )
        .await
    }
}

async fn get_multiple_accounts(
    inner: &Inner,
    keys: &[Pubkey],
) -> Result<Served<Vec<Option<RawAccount>>>> {
    let chunk = inner.settings.max_keys_per_call.clamp(1, MAX_KEYS_PER_CALL);
    let config = inner.account_config();
    let calls = keys.chunks(chunk).map(|keys| {
        let params = json!([
            keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
            config
        ]);
        async move {
            let reply: Response<Vec<Option<UiAccount>>> = inner
                .send(
                    RpcRequest::GetMultipleAccounts,
                    params,
                    "getMultipleAccounts",
                )
                .await?;
            inner.check_slot(reply.context.slot, "getMultipleAccounts")?;
            if reply.value.len() != keys.len() {
                return Err(AdapterError::malformed(
                    format!("getMultipleAccounts on {}", inner.chain),
                    format!("{} accounts for {} keys", reply.value.len(), keys.len()),
                ));
            }
            let accounts = reply
                .value
                .into_iter()
                .zip(keys)
                .map(|(ui, key)| ui.map(|ui| inner.raw_account(key, ui)).transpose())
                .collect::<Result<Vec<_>>>()?;
            Ok((reply.context.slot, accounts))
        }
    });
    let mut slot = inner.slot;
    let mut value = Vec::with_capacity(keys.len());
    for (served, accounts) in futures::future::try_join_all(calls).await? {
        slot = slot.max(served);
        value.extend(accounts);
    }
    Ok(Served { slot, value })
}

/// Sends one request under the timeout and classifies its error.
async fn send<T: serde::de::DeserializeOwned>(
    chain: &ChainId,
    rpc: &RpcClient,
    requests: &AtomicUsize,
    timeout: Duration,
    req: RpcRequest,
    params: Value,
    what: &'static str,
) -> Result<T> {
    requests.fetch_add(1, Ordering::Relaxed);
    timed(chain, timeout, rpc.send::<T>(req, params), what).await
}

async fn timed<T>(
    chain: &ChainId,
    timeout: Duration,
    fut: impl Future<Output = std::result::Result<T, ClientError>>,
    what: &'static str,
) -> Result<T> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(timeout_error(chain, timeout)),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(chain, timeout, e, what)),
    }
}

fn timeout_error(chain: &ChainId, timeout: Duration) -> AdapterError {
    AdapterError::RpcTimeout {
        chain: chain.to_string(),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    }
}

/// Maps the client's errors onto adapter errors by kind, never by message text. Transport
/// messages are printed without their URL (it may carry an API key).
fn classify(
    chain: &ChainId,
    timeout: Duration,
    e: ClientError,
    what: &'static str,
) -> AdapterError {
    let chain_s = chain.to_string();
    match *e.kind {
        ErrorKind::Reqwest(err) => {
            if err.is_timeout() {
                timeout_error(chain, timeout)
            } else if let Some(status) = err.status() {
                AdapterError::RpcError {
                    chain: chain_s,
                    message: format!("{what}: HTTP {status}"),
                }
            } else {
                AdapterError::RpcUnavailable {
                    chain: chain_s,
                    message: format!("{what}: {}", err.without_url()),
                }
            }
        }
        ErrorKind::Io(err) => AdapterError::RpcUnavailable {
            chain: chain_s,
            message: format!("{what}: {err}"),
        },
        ErrorKind::RpcError(RpcError::RpcResponseError { code, message, .. }) => {
            AdapterError::RpcError {
                chain: chain_s,
                message: format!("{what}: {message} (code {code})"),
            }
        }
        ErrorKind::RpcError(RpcError::ParseError(expected)) => AdapterError::malformed(
            format!("{what} on {chain_s}"),
            format!("expected {expected}"),
        ),
        ErrorKind::RpcError(RpcError::RpcRequestError(message) | RpcError::ForUser(message)) => {
            AdapterError::RpcError {
                chain: chain_s,
                message: format!("{what}: {message}"),
            }
        }
        ErrorKind::SerdeJson(err) => AdapterError::malformed(format!("{what} on {chain_s}"), err),
        other => AdapterError::RpcError {
            chain: chain_s,
            message: format!("{what}: {other}"),
        },
    }
}
