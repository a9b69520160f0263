//! The EVM client and its pinned reader.

use std::{fmt, sync::Arc, time::Duration};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    network::TransactionBuilder,
    primitives::{Address, Bytes},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::client::ClientBuilder,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
    transports::{RpcError, TransportErrorKind},
};
use unimargin_schema::{ChainId, ReadPoint};

use super::{Batch, CountingLayer, IMulticall3, MULTICALL3, RequestCounter, coalesce::Coalescer};
use crate::{AdapterError, Result};

/// Per-chain settings of the EVM client.
#[derive(Debug, Clone)]
pub struct EvmSettings {
    /// Upper bound of one JSON-RPC request; beyond it the read fails as a timeout.
    pub request_timeout: Duration,
    /// Blocks behind the head to pin to (0 = head). A few blocks avoid reading state that a
    /// reorg is about to undo.
    pub confirmations: u64,
    /// Multicall3 address on this chain.
    pub multicall: Address,
    /// Most calls per `aggregate3`; bigger batches are split.
    pub max_calls_per_batch: usize,
    /// How long the first batch of a pinned reader waits for other adapters' batches to join it
    /// (zero: no merging). A couple of milliseconds against an RPC round trip of tens.
    pub coalesce_window: Duration,
}

impl Default for EvmSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            confirmations: 0,
            multicall: MULTICALL3,
            max_calls_per_batch: 300,
            coalesce_window: Duration::from_millis(2),
        }
    }
}

/// A JSON-RPC client of one EVM chain.
pub struct EvmClient {
    chain: ChainId,
    provider: DynProvider,
    settings: EvmSettings,
    requests: RequestCounter,
}

impl fmt::Debug for EvmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The provider holds the RPC URL, which may embed an API key: never print it.
        f.debug_struct("EvmClient")
            .field("chain", &self.chain)
            .field("settings", &self.settings)
            .finish()
    }
}

impl EvmClient {
    /// A client over HTTP(S). The chain id is not queried here, so a client can be built while
    /// the node is down; the first read reports the outage.
    pub fn http(chain: ChainId, url: &str, settings: EvmSettings) -> Result<Self> {
        let url: alloy::transports::http::reqwest::Url = url
            .parse()
            .map_err(|e| AdapterError::Config(format!("invalid RPC URL for {chain}: {e}")))?;
        let requests = RequestCounter::default();
        let client = ClientBuilder::default()
            .layer(CountingLayer(requests.clone()))
            .http(url);
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(client)
            .erased();
        Ok(Self {
            chain,
            provider,
            settings,
            requests,
        })
    }

    /// A client over an existing provider (its requests are not counted).
    pub fn with_provider(chain: ChainId, provider: DynProvider, settings: EvmSettings) -> Self {
        Self {
            chain,
            provider,
            settings,
            requests: RequestCounter::default(),
        }
    }

    /// JSON-RPC HTTP requests sent by a client built with [`http`](Self::http).
    pub fn request_count(&self) -> u64 {
        self.requests.get()
    }

    /// The chain.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The settings.
    pub fn settings(&self) -> &EvmSettings {
        &self.settings
    }

    /// Pins the head (minus the configured confirmations) and returns a reader bound to it.
    pub async fn pin_latest(&self) -> Result<PinnedEvm> {
        let tag = if self.settings.confirmations == 0 {
            BlockNumberOrTag::Latest
        } else {
            let head = self.timed(self.provider.get_block_number()).await?;
            BlockNumberOrTag::Number(head.saturating_sub(self.settings.confirmations))
        };
        let block = self
            .timed(self.provider.get_block_by_number(tag).into_future())
            .await?
            .ok_or_else(|| {
                AdapterError::malformed(
                    format!("block {tag} on {}", self.chain),
                    "node returned null",
                )
            })?;
        Ok(PinnedEvm {
            chain: self.chain.clone(),
            provider: self.provider.clone(),
            settings: self.settings.clone(),
            number: block.header.number,
            hash: format!("{:#x}", block.header.hash),
            timestamp: block.header.timestamp,
            coalescer: Arc::default(),
        })
    }

    async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
    ) -> Result<T> {
        timed(&self.chain, self.settings.request_timeout, fut).await
    }
}

/// An EVM reader pinned to one block. Cheap to clone.
#[derive(Clone)]
pub struct PinnedEvm {
    chain: ChainId,
    provider: DynProvider,
    settings: EvmSettings,
    number: u64,
    hash: String,
    timestamp: u64,
    coalescer: Arc<Coalescer>,
}

impl fmt::Debug for PinnedEvm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedEvm")
            .field("chain", &self.chain)
            .field("number", &self.number)
            .field("hash", &self.hash)
            .finish()
    }
}

impl PinnedEvm {
    /// The chain.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// Block number every call runs at.
    pub fn block_number(&self) -> u64 {
        self.number
    }

    /// Timestamp of the pinned block (what `block.timestamp` is inside the calls).
    pub fn block_timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The read point for provenance.
    pub fn read_point(&self) -> ReadPoint {
        ReadPoint::Block {
            number: self.number,
            hash: self.hash.clone(),
            timestamp: self.timestamp,
        }
    }

    /// CAIP-10 spelling of a contract on this chain, for provenance and messages.
    pub fn caip10(&self, address: Address) -> String {
        format!("{}:{}", self.chain, address.to_checksum(None))
    }

    /// A new Multicall3 batch at this block.
    pub fn batch(&self) -> Batch<'_> {
        Batch::new(self)
    }

    /// One `eth_call` at the pinned block, decoded as `C`'s return type.
    pub async fn call<C: SolCall>(&self, target: Address, call: &C) -> Result<C::Return> {
        let raw = self
            .raw_call(target, call.abi_encode().into())
            .await
            .map_err(|e| match e {
                AdapterError::RpcError { message, .. } if message.contains("revert") => {
                    AdapterError::CallReverted {
                        target: target.to_checksum(None),
                        function: C::SIGNATURE,
                        reason: Some(message),
                    }
                }
                other => other,
            })?;
        C::abi_decode_returns(&raw)
            .map_err(|e| AdapterError::malformed(format!("{} at {target}", C::SIGNATURE), e))
    }

    /// `eth_getLogs` of `filter` over blocks `from_block..=to_block`, in one request. The range is
    /// cut at the pinned block, so logs never describe state newer than the calls of the same
    /// profile (event-based discovery, e.g. the Morpho markets of an owner).
    pub async fn logs(
        &self,
        filter: alloy::rpc::types::Filter,
        from_block: u64,
        to_block: u64,
    ) -> Result<Vec<alloy::rpc::types::Log>> {
        let to_block = to_block.min(self.number);
        let filter = filter
            .from_block(from_block.min(to_block))
            .to_block(to_block);
        timed(
            &self.chain,
            self.settings.request_timeout,
            self.provider.get_logs(&filter),
        )
        .await
    }

    /// A raw `eth_call` at the pinned block.
    pub(crate) async fn raw_call(&self, target: Address, input: Bytes) -> Result<Bytes> {
        let tx = TransactionRequest::default()
            .with_to(target)
            .with_input(input);
        let fut = self
            .provider
            .call(tx)
            .block(BlockId::number(self.number))
            .into_future();
        timed(&self.chain, self.settings.request_timeout, fut).await
    }

    pub(crate) fn settings(&self) -> &EvmSettings {
        &self.settings
    }

    /// Sends calls through the coalescer of this read point.
    pub(crate) async fn submit(
        &self,
        calls: Vec<IMulticall3::Call3>,
    ) -> Result<Vec<IMulticall3::Result>> {
        self.coalescer
            .submit(self, calls, self.settings.coalesce_window)
            .await
    }
}

/// Runs one RPC future under the request timeout and classifies its error.
async fn timed<T>(
    chain: &ChainId,
    timeout: Duration,
    fut: impl std::future::Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(AdapterError::RpcTimeout {
            chain: chain.to_string(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(chain, e)),
    }
}

/// Replaces every URL in a transport message by `<url>`: RPC URLs often embed API keys, and
/// messages reach logs and API clients.
pub(crate) fn redact_urls(message: &str) -> String {
    message
        .split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_start_matches(['(', '"', '\'']);
            if trimmed.starts_with("http://")
                || trimmed.starts_with("https://")
                || trimmed.starts_with("ws://")
                || trimmed.starts_with("wss://")
            {
                let body = trimmed.trim_end();
                let tail = &trimmed[body.len()..];
                let punctuation =
                    body.len() - body.trim_end_matches([')', ':', ',', '"', '\'', '.']).len();
                format!(
                    "{}<url>{}{tail}",
                    &word[..word.len() - trimmed.len()],
                    &body[body.len() - punctuation..]
                )
            } else {
                word.to_owned()
            }
        })
        .collect()
}

/// Maps alloy's transport errors onto adapter errors by variant, not by message text.
fn classify(chain: &ChainId, e: RpcError<TransportErrorKind>) -> AdapterError {
    let chain = chain.to_string();
    match e {
        RpcError::ErrorResp(payload) => AdapterError::RpcError {
            chain,
            message: format!("{} (code {})", payload.message, payload.code),
        },
        RpcError::NullResp => AdapterError::malformed(format!("rpc on {chain}"), "null response"),
        RpcError::DeserError { err, .. } => AdapterError::malformed(format!("rpc on {chain}"), err),
        RpcError::Transport(TransportErrorKind::HttpError(http)) => AdapterError::RpcError {
            chain,
            message: format!("HTTP {}", http.status),
        },
        RpcError::Transport(kind) => AdapterError::RpcUnavailable {
            chain,
            message: redact_urls(&kind.to_string()),
        },
        other => AdapterError::RpcError {
            chain,
            message: redact_urls(&other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::redact_urls;

    #[test]
    fn urls_never_survive_into_messages() {
        let m =
            "error sending request for url (https://eth.example/v2/SECRETKEY): connection refused";
        let r = redact_urls(m);
        assert_eq!(
            r,
            "error sending request for url (<url>): connection refused"
        );
        assert_eq!(redact_urls("no url here"), "no url here");
    }
}
