//! Counting of JSON-RPC HTTP requests, as a transport layer: the numbers behind "one round trip
//! per chain" (tests assert them; the service reports them).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use alloy::{
    rpc::json_rpc::{RequestPacket, ResponsePacket},
    transports::{TransportError, TransportFut},
};
use tower::{Layer, Service};

/// A shared request counter.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<AtomicU64>);

impl RequestCounter {
    /// Requests sent so far (a JSON-RPC batch counts once: it is one HTTP request).
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Tower layer counting every request packet sent through the transport.
#[derive(Debug, Clone, Default)]
pub struct CountingLayer(pub RequestCounter);

impl<S> Layer<S> for CountingLayer {
    type Service = CountingService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountingService {
            inner,
            counter: self.0.clone(),
        }
    }
}

/// The service of [`CountingLayer`].
#[derive(Debug, Clone)]
pub struct CountingService<S> {
    inner: S,
    counter: RequestCounter,
}

impl<S> Service<RequestPacket> for CountingService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        self.counter.0.fetch_add(1, Ordering::Relaxed);
        self.inner.call(request)
    }
}
