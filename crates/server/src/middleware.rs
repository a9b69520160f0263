//! Request-scoped plumbing: the request id every error body quotes, the request time limit, and
//! the trace span.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    http::HeaderName,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::{MakeSpan, TraceLayer},
};

use crate::error::ApiError;

/// The header carrying the request id, set by `SetRequestIdLayer` when the client sent none.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The current request's id. A task-local rather than an extractor because errors are also
    /// rendered where no extractor runs (axum's rejections, the fallbacks, the timeout).
    static CURRENT_REQUEST_ID: Option<String>;
}

/// The id of the request being handled, if any (`None` outside a request, e.g. in the CLI).
pub(crate) fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok().flatten()
}

fn header_request_id(req: &Request) -> Option<String> {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Makes the request id available to [`ApiError`]'s rendering for the rest of the request.
pub(crate) async fn scope_request_id(req: Request, next: Next) -> Response {
    let id = header_request_id(&req);
    CURRENT_REQUEST_ID.scope(id, next.run(req)).await
}

/// Bounds the whole request; on expiry the handler is dropped (cancelling its RPC reads) and
/// the client gets a 504 `request_timeout` in the usual JSON shape.
pub(crate) async fn time_limit(
    State(limit): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout(limit).into_response(),
    }
}

/// Spans named `request` with method, path (never the query) and request id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &axum::http::Request<B>) -> tracing::Span {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    }
}

/// The HTTP trace layer.
pub(crate) fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http().make_span_with(RequestSpan)
}
