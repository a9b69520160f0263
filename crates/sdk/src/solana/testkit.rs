//! A loopback Solana JSON-RPC server for tests: no validator exists on the test machines, so this
//! serves account files over the real JSON-RPC protocol and the real `RpcClient` code path runs
//! against it.
//!
//! Accounts are loaded from files in the solana-test-validator `--account` JSON format:
//!
//! ```json
//! {"pubkey": "…", "account": {"lamports": 1, "data": ["<base64>", "base64"], "owner": "…",
//!  "executable": false, "rentEpoch": 0, "space": 165}}
//! ```
//!
//! The server answers `getSlot`, `getVersion`, `getLatestBlockhash`, `getBlockTime`,
//! `getAccountInfo`, `getMultipleAccounts` and `getProgramAccounts` (with `dataSize` and `memcmp`
//! filters, base58 or base64 `memcmp` bytes, and `withContext`). Account data is always answered
//! as plain base64 (the client asks for base64+zstd and accepts base64), a missing account is
//! `null`. The context slot is configurable, `minContextSlot` beyond it is the node's real error
//! (-32016), and [`SolanaTestServer::serve_stale_by`] makes account reads answer at an older slot
//! than asked, to test that the reader refuses them. The `Clock` sysvar is synthesized from the
//! configured slot and unix time unless a file provides it. Every request's method is recorded,
//! so tests can count RPC requests per profile.

pub mod idl;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::Path,
    sync::{Arc, RwLock},
};

use axum::{Json, Router, extract::State, routing::post};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::{Value, json};
use solana_pubkey::Pubkey;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use unimargin_schema::ChainId;

use super::{CLOCK_SYSVAR, RawAccount, SolanaClient, SolanaSettings};
use crate::Result as AdapterResult;

/// The sysvar program, owner of the `Clock` account.
const SYSVAR_PROGRAM: Pubkey =
    solana_pubkey::pubkey!("Sysvar1111111111111111111111111111111111111");

/// Why an account file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountFileError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not in the `--account` JSON format.
    #[error("{path} is not a solana-test-validator account file: {detail}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

/// Parses one `--account` JSON document.
pub fn parse_account_json(
    text: &str,
    path: &str,
) -> Result<(Pubkey, RawAccount), AccountFileError> {
    let bad = |detail: String| AccountFileError::Format {
        path: path.to_owned(),
        detail,
    };
    let v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let pubkey: Pubkey = v["pubkey"]
        .as_str()
        .ok_or_else(|| bad("no pubkey".into()))?
        .parse()
        .map_err(|e| bad(format!("pubkey: {e}")))?;
    let a = &v["account"];
    let owner: Pubkey = a["owner"]
        .as_str()
        .ok_or_else(|| bad("no owner".into()))?
        .parse()
        .map_err(|e| bad(format!("owner: {e}")))?;
    let data = match (&a["data"][0], &a["data"][1]) {
        (Value::String(blob), Value::String(enc)) if enc == "base64" => {
            BASE64.decode(blob).map_err(|e| bad(format!("data: {e}")))?
        }
        _ => return Err(bad("data must be [\"<base64>\", \"base64\"]".into())),
    };
    let lamports = a["lamports"]
        .as_u64()
        .ok_or_else(|| bad("no lamports".into()))?;
    let executable = a["executable"].as_bool().unwrap_or(false);
    Ok((
        pubkey,
        RawAccount {
            lamports,
            owner,
            executable,
            data,
        },
    ))
}

/// Reads one `--account` JSON file.
pub fn load_account_file(path: &Path) -> Result<(Pubkey, RawAccount), AccountFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AccountFileError::Io {
        path: shown.clone(),
        source,
    })?;
    parse_account_json(&text, &shown)
}

/// Renders an account in the `--account` JSON format (for writing fixture files).
pub fn account_json(pubkey: &Pubkey, account: &RawAccount) -> Value {
    json!({
        "pubkey": pubkey.to_string(),
        "account": {
            "lamports": account.lamports,
            "data": [BASE64.encode(&account.data), "base64"],
            "owner": account.owner.to_string(),
            "executable": account.executable,
            "rentEpoch": u64::MAX,
            "space": account.data.len(),
        }
    })
}

#[derive(Default)]
struct Node {
    accounts: BTreeMap<Pubkey, RawAccount>,
    slot: u64,
    lag: u64,
    unix_timestamp: i64,
    requests: Vec<String>,
}

type Shared = Arc<RwLock<Node>>;

/// The loopback server. Dropping it stops it.
pub struct SolanaTestServer {
    addr: SocketAddr,
    node: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SolanaTestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolanaTestServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SolanaTestServer {
    /// Starts on `127.0.0.1:0` at slot 1000, clock 1 700 000 000, with no accounts.
    pub async fn start() -> std::io::Result<Self> {
        let node: Shared = Arc::new(RwLock::new(Node {
            slot: 1000,
            unix_timestamp: 1_700_000_000,
            ..Node::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/", post(handle))
            .with_state(node.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            node,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client of this server for `chain`.
    pub fn client(&self, chain: ChainId, settings: SolanaSettings) -> AdapterResult<SolanaClient> {
        SolanaClient::http(chain, &self.url(), settings)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Node) -> T) -> T {
        let mut node = self
            .node
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut node)
    }

    /// Adds or replaces an account.
    pub fn insert(&self, pubkey: Pubkey, account: RawAccount) {
        self.with(|n| n.accounts.insert(pubkey, account));
    }

    /// Removes an account (it is then served as `null`).
    pub fn remove(&self, pubkey: &Pubkey) {
        self.with(|n| n.accounts.remove(pubkey));
    }

    /// Loads one `--account` JSON file and returns its address.
    pub fn load_file(&self, path: &Path) -> Result<Pubkey, AccountFileError> {
        let (key, account) = load_account_file(path)?;
        self.insert(key, account);
        Ok(key)
    }

    /// The slot `getSlot` answers and accounts are served at.
    pub fn set_slot(&self, slot: u64) {
        self.with(|n| n.slot = slot);
    }

    /// The cluster clock (`Clock::unix_timestamp`) of the synthesized `Clock` sysvar.
    pub fn set_unix_timestamp(&self, ts: i64) {
        self.with(|n| n.unix_timestamp = ts);
    }

    /// Makes account reads answer with a context slot `lag` slots older than the current slot
    /// while `getSlot` still answers the current one: a lagging node behind a load balancer.
    pub fn serve_stale_by(&self, lag: u64) {
        self.with(|n| n.lag = lag);
    }

    /// The methods of every request received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.with(|n| n.requests.clone())
    }

    /// Forgets the recorded requests.
    pub fn reset_requests(&self) {
        self.with(|n| n.requests.clear());
    }
}

impl Drop for SolanaTestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn handle(State(node): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    match body {
        Value::Array(batch) => Json(Value::Array(
            batch.into_iter().map(|r| answer(&node, r)).collect(),
        )),
        single => Json(answer(&node, single)),
    }
}

struct RpcFailure {
    code: i64,
    message: String,
}

fn failure(code: i64, message: impl Into<String>) -> RpcFailure {
    RpcFailure {
        code,
        message: message.into(),
    }
}

fn answer(node: &Shared, request: Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let mut node = node
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    node.requests.push(method.clone());
    match dispatch(&node, &method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err(e) => {
            json!({"jsonrpc": "2.0", "error": {"code": e.code, "message": e.message}, "id": id})
        }
    }
}

fn dispatch(node: &Node, method: &str, params: &Value) -> Result<Value, RpcFailure> {
    let served = node.slot.saturating_sub(node.lag);
    let context = json!({"slot": served, "apiVersion": "4.2.2"});
    match method {
        "getSlot" => Ok(json!(node.slot)),
        "getVersion" => Ok(json!({"solana-core": "4.2.2", "feature-set": 0})),
        "getLatestBlockhash" => Ok(json!({
            "context": context,
            "value": {"blockhash": "11111111111111111111111111111111", "lastValidBlockHeight": node.slot + 150}
        })),
        "getBlockTime" => Ok(json!(node.unix_timestamp)),
        "getAccountInfo" => {
            let key = key_param(&params[0])?;
            let cfg = AccountConfig::parse(&params[1], node)?;
            Ok(json!({"context": context, "value": lookup(node, &key).map(|a| cfg.render(&a))}))
        }
        "getMultipleAccounts" => {
            let keys = params[0]
                .as_array()
                .ok_or_else(|| failure(-32602, "Invalid params: expected an array of keys"))?;
            if keys.len() > 100 {
                return Err(failure(
                    -32602,
                    format!("Too many inputs provided; max 100, got {}", keys.len()),
                ));
            }
            let cfg = AccountConfig::parse(&params[1], node)?;
            let value = keys
                .iter()
                .map(|k| key_param(k).map(|key| lookup(node, &key).map(|a| cfg.render(&a))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({"context": context, "value": value}))
        }
        "getProgramAccounts" => {
            let program = key_param(&params[0])?;
            let cfg = AccountConfig::parse(&params[1], node)?;
            let filters = params[1]["filters"].as_array().cloned().unwrap_or_default();
            let mut out = Vec::new();
            for (key, account) in &node.accounts {
                if account.owner == program
                    && filters
                        .iter()
                        .map(|f| matches(f, &account.data))
                        .collect::<Result<Vec<_>, _>>()?
                        .iter()
                        .all(|m| *m)
                {
                    out.push(json!({"pubkey": key.to_string(), "account": cfg.render(account)}));
                }
            }
            if params[1]["withContext"].as_bool() == Some(true) {
                Ok(json!({"context": context, "value": out}))
            } else {
                Ok(Value::Array(out))
            }
        }
        other => Err(failure(-32601, format!("Method not found: {other}"))),
    }
}

fn key_param(v: &Value) -> Result<Pubkey, RpcFailure> {
    v.as_str()
        .ok_or_else(|| failure(-32602, "Invalid params: expected a base58 pubkey"))?
        .parse()
        .map_err(|e| failure(-32602, format!("Invalid param: {e}")))
}

/// The account at `key`, with the `Clock` sysvar synthesized when no file provides it.
fn lookup(node: &Node, key: &Pubkey) -> Option<RawAccount> {
    if let Some(a) = node.accounts.get(key) {
        return Some(a.clone());
    }
    (*key == CLOCK_SYSVAR).then(|| {
        let mut data = Vec::with_capacity(40);
        data.extend_from_slice(&node.slot.to_le_bytes()); // slot
        data.extend_from_slice(&node.unix_timestamp.to_le_bytes()); // epoch_start_timestamp
        data.extend_from_slice(&(node.slot / 432_000).to_le_bytes()); // epoch
        data.extend_from_slice(&(node.slot / 432_000 + 1).to_le_bytes()); // leader_schedule_epoch
        data.extend_from_slice(&node.unix_timestamp.to_le_bytes()); // unix_timestamp
        RawAccount {
            lamports: 1_169_280,
            owner: SYSVAR_PROGRAM,
            executable: false,
            data,
        }
    })
}

struct AccountConfig {
    slice: Option<(usize, usize)>,
}

impl AccountConfig {
    fn parse(cfg: &Value, node: &Node) -> Result<Self, RpcFailure> {
        if let Some(enc) = cfg["encoding"].as_str()
            && !matches!(enc, "base64" | "base64+zstd")
        {
            return Err(failure(
                -32602,
                format!("Invalid params: this test node serves base64 only, not {enc}"),
            ));
        }
        if let Some(min) = cfg["minContextSlot"].as_u64()
            && min > node.slot
        {
            return Err(failure(
                -32016,
                format!(
                    "Minimum context slot has not been reached (context slot {})",
                    node.slot
                ),
            ));
        }
        let slice = cfg["dataSlice"].as_object().map(|s| {
            let n = |k: &str| {
                s.get(k)
                    .and_then(Value::as_u64)
                    .and_then(|v| usize::try_from(v).ok())
                    .unwrap_or(0)
            };
            (n("offset"), n("length"))
        });
        Ok(Self { slice })
    }

    fn render(&self, a: &RawAccount) -> Value {
        let data = match self.slice {
            Some((offset, length)) => a
                .data
                .get(offset..)
                .map(|d| &d[..length.min(d.len())])
                .unwrap_or_default(),
            None => &a.data[..],
        };
        json!({
            "lamports": a.lamports,
            "data": [BASE64.encode(data), "base64"],
            "owner": a.owner.to_string(),
            "executable": a.executable,
            "rentEpoch": u64::MAX,
            "space": a.data.len(),
        })
    }
}

/// Whether `data` passes one `getProgramAccounts` filter.
fn matches(filter: &Value, data: &[u8]) -> Result<bool, RpcFailure> {
    if let Some(size) = filter.get("dataSize") {
        let size = size
            .as_u64()
            .ok_or_else(|| failure(-32602, "Invalid params: dataSize"))?;
        return Ok(u64::try_from(data.len()).is_ok_and(|len| len == size));
    }
    if let Some(m) = filter.get("memcmp") {
        let offset = m["offset"]
            .as_u64()
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| failure(-32602, "Invalid params: memcmp offset"))?;
        let encoded = m["bytes"]
            .as_str()
            .ok_or_else(|| failure(-32602, "Invalid params: memcmp bytes"))?;
        let bytes = match m["encoding"].as_str().unwrap_or("base58") {
            "base64" => BASE64
                .decode(encoded)
                .map_err(|e| failure(-32602, format!("Invalid params: memcmp base64: {e}")))?,
            "base58" => bs58::decode(encoded)
                .into_vec()
                .map_err(|e| failure(-32602, format!("Invalid params: memcmp base58: {e}")))?,
            other => {
                return Err(failure(
                    -32602,
                    format!("Invalid params: memcmp encoding {other}"),
                ));
            }
        };
        return Ok(data
            .get(offset..offset + bytes.len())
            .is_some_and(|window| window == bytes));
    }
    Err(failure(
        -32602,
        format!("Invalid params: unsupported filter {filter}"),
    ))
}
