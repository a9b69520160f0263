//! Merging of concurrent batches: every adapter reading the same pinned block contributes its
//! calls to one `aggregate3`, so a profile costs one round trip per chain however many protocols it
//! covers.
//!
//! The first batch submitted opens a short window (`EvmSettings::coalesce_window`); every batch
//! submitted on the same pinned reader before it closes joins the same request. The request runs in
//! its own task, so a caller that gives up cannot strand the others.

use std::{sync::Arc, time::Duration};

use tokio::sync::oneshot;

use super::{IMulticall3, PinnedEvm};
use crate::{AdapterError, Result};

type Reply = oneshot::Sender<Result<Vec<IMulticall3::Result>>>;

struct Waiting {
    calls: Vec<IMulticall3::Call3>,
    reply: Reply,
}

/// Shared by all clones of one [`PinnedEvm`].
#[derive(Default)]
pub(crate) struct Coalescer {
    queue: std::sync::Mutex<Option<Vec<Waiting>>>,
}

impl Coalescer {
    /// Queues `calls` and resolves with their results, in order.
    pub(crate) async fn submit(
        self: &Arc<Self>,
        evm: &PinnedEvm,
        calls: Vec<IMulticall3::Call3>,
        window: Duration,
    ) -> Result<Vec<IMulticall3::Result>> {
        if window.is_zero() {
            return send(evm, calls).await;
        }
        let (reply, rx) = oneshot::channel();
        let opens_window = {
            let mut queue = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let opens = queue.is_none();
            queue
                .get_or_insert_with(Vec::new)
                .push(Waiting { calls, reply });
            opens
        };
        if opens_window {
            let me = Arc::clone(self);
            let evm = evm.clone();
            tokio::spawn(async move {
                tokio::time::sleep(window).await;
                let waiting = me
                    .queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                    .unwrap_or_default();
                flush(&evm, waiting).await;
            });
        }
        rx.await.map_err(|_| AdapterError::RpcUnavailable {
            chain: evm.chain().to_string(),
            message: "batch task ended without a reply".into(),
        })?
    }
}

async fn flush(evm: &PinnedEvm, waiting: Vec<Waiting>) {
    let lengths: Vec<usize> = waiting.iter().map(|w| w.calls.len()).collect();
    let (calls, replies): (Vec<_>, Vec<_>) =
        waiting.into_iter().map(|w| (w.calls, w.reply)).unzip();
    match send(evm, calls.into_iter().flatten().collect()).await {
        Ok(results) => {
            let mut results = results.into_iter();
            for (reply, n) in replies.into_iter().zip(lengths) {
                let _ = reply.send(Ok(results.by_ref().take(n).collect()));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

/// One `aggregate3` per `max_calls_per_batch` calls, sent concurrently, results in order.
pub(crate) async fn send(
    evm: &PinnedEvm,
    calls: Vec<IMulticall3::Call3>,
) -> Result<Vec<IMulticall3::Result>> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let chunk = evm.settings().max_calls_per_batch.max(1);
    let multicall = evm.settings().multicall;
    let futures = calls.chunks(chunk).map(|calls| {
        let expected = calls.len();
        let call = IMulticall3::aggregate3Call {
            calls: calls.to_vec(),
        };
        async move {
            let out = evm.call(multicall, &call).await?;
            if out.len() != expected {
                return Err(AdapterError::malformed(
                    "Multicall3.aggregate3",
                    format!("{} results for {expected} calls", out.len()),
                ));
            }
            Ok(out)
        }
    });
    Ok(futures::future::try_join_all(futures)
        .await?
        .into_iter()
        .flatten()
        .collect())
}
