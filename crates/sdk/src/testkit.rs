//! The test kit: the recorded test vectors ([`vectors`]), and for EVM adapters a real `anvil`
//! node on a free loopback port, with Multicall3 at its canonical address, for their tests and
//! the demo.
//!
//! `anvil` is found in this order: `$UNIMARGIN_ANVIL`, `anvil` on `PATH`, the npm package installed
//! by `crates/sdk/testkit/package.json`, the tool cache (`~/.cache/unimargin/tools`). When none
//! exists it is installed into the tool cache with `npm` (the package
//! `@foundry-rs/anvil-linux-amd64`), so a fresh machine needs nothing but Node.js.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use alloy::{
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use unimargin_schema::ChainId;

use crate::evm::{EvmClient, EvmSettings, MULTICALL3};

/// The root of the recorded test vectors (`$UNIMARGIN_TEST_VECTORS`, which `.ci/run` sets; they are
/// not part of the repository). `None`, after saying that `test` did not run, when it is not set:
/// a fresh clone runs every other test.
pub fn vectors(test: &str) -> Option<PathBuf> {
    match std::env::var_os("UNIMARGIN_TEST_VECTORS") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("{test}: did not run: UNIMARGIN_TEST_VECTORS is not set");
            None
        }
    }
}

/// The anvil release the project is tested with.
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil-linux-amd64@1.7.1";

/// Test kit failures (these are set-up problems, reported with what to do about them).
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// anvil could not be found or installed.
    #[error(
        "anvil not found and could not be installed ({0}); install Node.js/npm or set UNIMARGIN_ANVIL"
    )]
    AnvilMissing(String),
    /// anvil did not start.
    #[error("anvil failed to start: {0}")]
    AnvilStart(String),
    /// A JSON-RPC set-up call failed.
    #[error("anvil set-up call failed: {0}")]
    Rpc(String),
    /// A fixture deployment or seeding transaction failed or reverted.
    #[error("fixture transaction `{what}` failed: {detail}")]
    Tx {
        /// Which step.
        what: String,
        /// Why.
        detail: String,
    },
}

/// Sends a contract call from an unlocked dev account and waits for a successful receipt.
pub async fn send<P, D>(
    call: alloy::contract::CallBuilder<P, D>,
    what: &str,
) -> Result<(), TestkitError>
where
    P: Provider,
    D: alloy::contract::CallDecoder,
{
    let err = |detail: String| TestkitError::Tx {
        what: what.to_owned(),
        detail,
    };
    let receipt = call
        .send()
        .await
        .map_err(|e| err(e.to_string()))?
        .get_receipt()
        .await
        .map_err(|e| err(e.to_string()))?;
    if receipt.status() {
        Ok(())
    } else {
        Err(err("reverted".into()))
    }
}

/// Maps a failed deployment into a [`TestkitError`] naming the step.
pub fn deploy_error(what: &str) -> impl Fn(alloy::contract::Error) -> TestkitError + '_ {
    move |e| TestkitError::Tx {
        what: what.to_owned(),
        detail: e.to_string(),
    }
}

/// Compares the functions of a compiled artifact (`{"abi": …}` or a bare ABI array) with a
/// reference ABI: every function of ours must exist in the reference with the same inputs and the
/// same output layout (tuple components, their names and order, recursively). Functions named
/// `fixture…` are seeders and are skipped, as are the names in `extra`. Returns how many functions
/// were compared, or the first difference.
pub fn compare_abi(ours: &Path, reference: &Path, extra: &[&str]) -> Result<usize, String> {
    fn load(path: &Path) -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(if v.get("abi").is_some() {
            v["abi"].clone()
        } else {
            v
        })
    }
    fn shape(param: &serde_json::Value) -> String {
        let ty = param["type"].as_str().unwrap_or_default();
        match param["components"].as_array() {
            Some(components) => {
                let inner: Vec<String> = components
                    .iter()
                    .map(|c| format!("{} {}", shape(c), c["name"].as_str().unwrap_or_default()))
                    .collect();
                format!("({}){}", inner.join(","), ty.trim_start_matches("tuple"))
            }
            None => ty.to_owned(),
        }
    }
    fn functions(abi: &serde_json::Value) -> Vec<(String, String, String)> {
        abi.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"] == "function")
            .map(|f| {
                let list = |k: &str| {
                    f[k].as_array()
                        .into_iter()
                        .flatten()
                        .map(shape)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                (
                    f["name"].as_str().unwrap_or_default().to_owned(),
                    list("inputs"),
                    list("outputs"),
                )
            })
            .collect()
    }
    let theirs = functions(&load(reference)?);
    let mut compared = 0;
    for (name, inputs, outputs) in functions(&load(ours)?) {
        if name.starts_with("fixture") || extra.contains(&name.as_str()) {
            continue;
        }
        let (_, _, their_outputs) = theirs
            .iter()
            .find(|(n, i, _)| *n == name && *i == inputs)
            .ok_or_else(|| {
                format!(
                    "{}: {name}({inputs}) is not in {}",
                    ours.display(),
                    reference.display()
                )
            })?;
        if outputs != *their_outputs {
            return Err(format!(
                "{}: {name} returns {outputs}, the reference {their_outputs}",
                ours.display()
            ));
        }
        compared += 1;
    }
    Ok(compared)
}

fn tool_cache() -> PathBuf {
    std::env::var_os("UNIMARGIN_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/unimargin/tools")
        })
}

fn npm_anvil(prefix: &Path) -> PathBuf {
    prefix.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// Finds `anvil`, installing it into the tool cache if needed.
pub fn anvil_binary() -> Result<PathBuf, TestkitError> {
    if let Some(p) = std::env::var_os("UNIMARGIN_ANVIL") {
        return Ok(PathBuf::from(p));
    }
    if Command::new("anvil")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("anvil"));
    }
    let in_repo = npm_anvil(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testkit"));
    if in_repo.exists() {
        return Ok(in_repo);
    }
    let cache = tool_cache();
    let cached = npm_anvil(&cache);
    if cached.exists() {
        return Ok(cached);
    }
    std::fs::create_dir_all(&cache).map_err(|e| TestkitError::AnvilMissing(e.to_string()))?;
    let status = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&cache)
        .arg(ANVIL_PACKAGE)
        .status()
        .map_err(|e| TestkitError::AnvilMissing(format!("npm: {e}")))?;
    if !status.success() || !cached.exists() {
        return Err(TestkitError::AnvilMissing(format!(
            "npm install {ANVIL_PACKAGE} exited with {status}"
        )));
    }
    Ok(cached)
}

/// Runtime code of the project's Multicall3 (compiled from `fixtures/src/Multicall3.sol`).
pub fn multicall3_runtime_code() -> Bytes {
    let artifact: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/out/Multicall3.json")).unwrap_or_default();
    let hex = artifact["deployedBytecode"]["object"]
        .as_str()
        .unwrap_or("0x");
    hex.parse().unwrap_or_default()
}

/// A running anvil node. Dropping it (or [`stop`](Self::stop)) kills the process.
pub struct TestChain {
    anvil: Option<AnvilInstance>,
    provider: DynProvider,
    url: String,
    chain_id: u64,
    accounts: Vec<Address>,
}

impl std::fmt::Debug for TestChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestChain")
            .field("url", &self.url)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl TestChain {
    /// Starts anvil (chain id 31337) on a free loopback port and installs Multicall3.
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_with(|a| a).await
    }

    /// Starts anvil with extra builder settings (port, chain id, block time).
    pub async fn start_with(
        configure: impl FnOnce(Anvil) -> Anvil + Send + 'static,
    ) -> Result<Self, TestkitError> {
        let bin = anvil_binary()?;
        // try_spawn blocks while it waits for anvil's "Listening on" line.
        let anvil = tokio::task::spawn_blocking(move || configure(Anvil::at(bin)).try_spawn())
            .await
            .map_err(|e| TestkitError::AnvilStart(e.to_string()))?
            .map_err(|e| TestkitError::AnvilStart(e.to_string()))?;
        let url = anvil.endpoint();
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(anvil.endpoint_url())
            .erased();
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| TestkitError::Rpc(e.to_string()))?;
        let accounts = anvil.addresses().to_vec();
        let chain = Self {
            anvil: Some(anvil),
            provider,
            url,
            chain_id,
            accounts,
        };
        chain.install_multicall3().await?;
        Ok(chain)
    }

    /// Places Multicall3's runtime code at its canonical address (anvil has none by default).
    pub async fn install_multicall3(&self) -> Result<(), TestkitError> {
        self.set_code(MULTICALL3, multicall3_runtime_code()).await
    }

    /// `anvil_setCode`.
    pub async fn set_code(&self, address: Address, code: Bytes) -> Result<(), TestkitError> {
        self.provider
            .raw_request::<_, serde_json::Value>("anvil_setCode".into(), (address, code))
            .await
            .map(|_| ())
            .map_err(|e| TestkitError::Rpc(e.to_string()))
    }

    /// Mines one block (so a new read point exists).
    pub async fn mine(&self) -> Result<(), TestkitError> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .map(|_| ())
            .map_err(|e| TestkitError::Rpc(e.to_string()))
    }

    /// Moves the next block's timestamp forward by `seconds` and mines it.
    pub async fn advance_time(&self, seconds: u64) -> Result<(), TestkitError> {
        self.provider
            .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,))
            .await
            .map_err(|e| TestkitError::Rpc(e.to_string()))?;
        self.mine().await
    }

    /// A provider for deployments and seeding.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The node's HTTP URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The node's chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// CAIP-2 id of the node's chain.
    pub fn chain(&self) -> ChainId {
        ChainId::evm(self.chain_id)
    }

    /// A provider that fills nonce and gas for transactions from the unlocked deployer (account 0),
    /// asking the node for the nonce each time so several fixture sets can share the deployer.
    pub fn deployer(&self) -> Result<(DynProvider, Address), TestkitError> {
        let url = self
            .url
            .parse()
            .map_err(|e| TestkitError::Rpc(format!("{e}")))?;
        let provider = ProviderBuilder::new()
            .with_simple_nonce_management()
            .connect_http(url)
            .erased();
        Ok((provider, self.accounts[0]))
    }

    /// Unlocked dev accounts (the first is the deployer).
    pub fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    /// An [`EvmClient`] of this node, as the service would build it from configuration.
    pub fn client(&self, settings: EvmSettings) -> EvmClient {
        EvmClient::with_provider(self.chain(), self.provider.clone(), settings)
    }

    /// The anvil process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.anvil.as_ref().map(|a| a.child().id())
    }

    /// Kills the node (to test outages). Clients keep pointing at the now dead port.
    pub fn stop(&mut self) {
        self.anvil = None;
    }
}
