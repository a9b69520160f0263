//! A loopback HTTP server that replays recorded venue responses, for tests.
//!
//! Each [`Rule`] matches a path and a subset of the JSON request body (`{"type":
//! "clearinghouseState", "dex": "xyz"}`); the most specific matching rule answers. A rule holds a
//! sequence of [`Reply`]s served in order, the last one repeating, so "429, then success" is two
//! replies. Every request is recorded, so a test can count what one profile cost. A request no
//! rule matches gets a `404` naming it, which the client reports as an error: nothing is made up.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderName, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use tokio::task::JoinHandle;

/// One answer: status, headers, body and an optional delay before answering.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    /// `200` with a JSON body.
    pub fn json(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Any status with a plain body.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Adds a header (`Retry-After`, …).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Waits this long before answering (to provoke client timeouts).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// Answers requests to `path` whose JSON body contains every key of `when` with an equal value.
#[derive(Debug)]
pub struct Rule {
    path: String,
    when: serde_json::Map<String, serde_json::Value>,
    replies: Vec<Reply>,
    served: AtomicUsize,
}

impl Rule {
    /// A rule for `path` matching bodies that contain `when` (a JSON object; `{}` matches all).
    pub fn new(path: &str, when: serde_json::Value, replies: Vec<Reply>) -> Self {
        let when = match when {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        Self {
            path: format!("/{}", path.trim_start_matches('/')),
            when,
            replies,
            served: AtomicUsize::new(0),
        }
    }

    /// A rule that always answers `body` with `200`.
    pub fn json(path: &str, when: serde_json::Value, body: impl Into<String>) -> Self {
        Self::new(path, when, vec![Reply::json(body)])
    }

    fn matches(&self, path: &str, body: &serde_json::Value) -> Option<usize> {
        if path != self.path {
            return None;
        }
        let all = self.when.iter().all(|(k, v)| body.get(k) == Some(v));
        all.then_some(self.when.len())
    }

    fn next(&self) -> Option<Reply> {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        self.replies.get(n).or_else(|| self.replies.last()).cloned()
    }
}

/// A request as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Path, e.g. `/info`.
    pub path: String,
    /// The JSON body (`null` when the body was not JSON).
    pub body: serde_json::Value,
}

#[derive(Debug)]
struct Inner {
    rules: Vec<Rule>,
    log: Mutex<Vec<RecordedRequest>>,
}

/// The running server. Dropping it stops it.
#[derive(Debug)]
pub struct ReplayServer {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl ReplayServer {
    /// Binds `127.0.0.1:0` and serves `rules`.
    pub async fn start(rules: Vec<Rule>) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            rules,
            log: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, inner, task })
    }

    /// `http://127.0.0.1:<port>`, the base URL to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.inner
            .log
            .lock()
            .map(|log| log.len())
            .unwrap_or_default()
    }

    /// Forgets the recorded requests (rule sequences keep their position).
    pub fn clear_requests(&self) {
        if let Ok(mut log) = self.inner.log.lock() {
            log.clear();
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(inner): State<Arc<Inner>>, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if let Ok(mut log) = inner.log.lock() {
        log.push(RecordedRequest {
            path: path.clone(),
            body: json.clone(),
        });
    }
    // The most specific rule wins; among equals, the first.
    let rule = inner
        .rules
        .iter()
        .filter_map(|r| r.matches(&path, &json).map(|n| (n, r)))
        .fold(None::<(usize, &Rule)>, |best, (n, r)| match best {
            Some((m, _)) if m >= n => best,
            _ => Some((n, r)),
        })
        .map(|(_, r)| r);
    let Some(reply) = rule.and_then(Rule::next) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no recorded reply for {path} {json}"),
        )
            .into_response();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body).into_response();
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
