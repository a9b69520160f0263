//! SDK integration tests against a real anvil node.

mod solana;

use alloy::{primitives::address, sol_types::SolCall};
use unimargin_sdk::{
    AdapterError,
    evm::{EvmSettings, IMulticall3},
    testkit::TestChain,
};

alloy::sol! {
    function getBlockNumber() external view returns (uint256 blockNumber);
    function getChainId() external view returns (uint256 chainid);
}

#[tokio::test]
async fn multicall_batch_runs_at_the_pinned_block() {
    let chain = TestChain::start().await.expect("anvil");
    chain.mine().await.unwrap();
    let client = chain.client(EvmSettings::default());
    let pinned = client.pin_latest().await.unwrap();
    let pinned_number = pinned.block_number();
    // Later blocks must not be visible to the pinned reader.
    chain.mine().await.unwrap();
    chain.mine().await.unwrap();

    let multicall = unimargin_sdk::evm::MULTICALL3;
    let mut batch = pinned.batch();
    let n = batch.add(multicall, &getBlockNumberCall {});
    let id = batch.add(multicall, &getChainIdCall {});
    let ts = batch.add(multicall, &IMulticall3::getCurrentBlockTimestampCall {});
    // A call to an address without code returns empty data: the decode must fail for that call only.
    let missing = batch.add(
        address!("0x000000000000000000000000000000000000dEaD"),
        &getChainIdCall {},
    );
    let results = batch.execute().await.unwrap();
    assert_eq!(results.get(n).unwrap().to::<u64>(), pinned_number);
    assert_eq!(results.get(id).unwrap().to::<u64>(), 31337);
    assert_eq!(
        results.get(ts).unwrap().to::<u64>(),
        pinned.block_timestamp()
    );
    assert!(matches!(
        results.get(missing),
        Err(AdapterError::Malformed { .. })
    ));
}

#[tokio::test]
async fn big_batches_are_split_and_reassembled_in_order() {
    let chain = TestChain::start().await.expect("anvil");
    let client = chain.client(EvmSettings {
        max_calls_per_batch: 7,
        ..EvmSettings::default()
    });
    let pinned = client.pin_latest().await.unwrap();
    let mut batch = pinned.batch();
    let handles: Vec<_> = (0..30)
        .map(|_| batch.add(unimargin_sdk::evm::MULTICALL3, &getChainIdCall {}))
        .collect();
    let results = batch.execute().await.unwrap();
    for h in handles {
        assert_eq!(results.get(h).unwrap().to::<u64>(), 31337);
    }
}

#[tokio::test]
async fn a_dead_node_is_an_rpc_failure_not_a_panic() {
    let mut chain = TestChain::start().await.expect("anvil");
    let client = chain.client(EvmSettings::default());
    chain.stop();
    let err = client.pin_latest().await.unwrap_err();
    assert!(
        matches!(err, AdapterError::RpcUnavailable { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.failure_kind(),
        unimargin_schema::FailureKind::RpcUnavailable
    );
}

#[tokio::test]
async fn direct_call_decodes_at_the_pinned_block() {
    let chain = TestChain::start().await.expect("anvil");
    let pinned = chain
        .client(EvmSettings::default())
        .pin_latest()
        .await
        .unwrap();
    let n = pinned
        .call(unimargin_sdk::evm::MULTICALL3, &getBlockNumberCall {})
        .await
        .unwrap();
    assert_eq!(n.to::<u64>(), pinned.block_number());
    let _ = getBlockNumberCall::SELECTOR;
}
