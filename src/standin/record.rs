//! The server's own record of what it saw, by which tests judge the client.
//!
//! Every request (token, REST, SCIM, unknown paths; faulted and refused ones too) gets an entry
//! the moment it arrives, so the list is in arrival order; the entry is completed with the status
//! once the answer is decided. Method, path, idempotency key and status are kept; bodies and
//! other headers are not (they carry PII and secrets).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::idempotency::IDEMPOTENCY_KEY;
use super::rest::Employee;
use super::scim::ScimUser;
use super::Shared;

/// A snapshot of what the stand-in saw and holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Every request to the token, REST and SCIM endpoints, in arrival order.
    pub requests: Vec<Request>,
    /// REST employees by their key (the value of [`Config::key_field`](super::Config::key_field)).
    pub employees: BTreeMap<String, Employee>,
    /// SCIM users in creation order, inactive and deleted ones included.
    pub users: Vec<ScimUser>,
    /// Access tokens the token endpoint issued.
    pub tokens_issued: u32,
    /// The access tokens issued, sorted.
    pub tokens: Vec<String>,
    /// Most REST+SCIM requests (token requests excluded) that arrived within any sliding
    /// one-second window `[t, t + 1s)` starting at an arrival `t`.
    pub max_in_any_second: u32,
    /// 429 answers caused by [`Config::rate_limit`](super::Config::rate_limit) (injected 429s
    /// are not counted).
    pub throttled_by_limit: u32,
    /// 401 answers sent, by the token endpoint (bad client credentials) or the bearer check.
    pub unauthorized: u32,
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path and query, e.g. `/scim/v2/Users?filter=...`.
    pub path: String,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    /// Status answered; 0 when no answer was sent (connection cut by a fault, or the client gave
    /// up before the answer was ready).
    pub status: u16,
    /// Arrival time since the server started.
    pub at: Duration,
    /// Whether the credentials were accepted: the bearer token for REST/SCIM, the client
    /// credentials for the token endpoint; false when the request was refused before they were
    /// checked (rate limit) or the client left before its answer was ready.
    pub authorization_ok: bool,
}

/// Marks a response whose connection was cut: it is never delivered.
#[derive(Debug, Clone, Copy)]
pub(super) struct Undelivered;

/// Marks a response to a request whose credentials were accepted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Authorized;

/// The request log inside the server state.
#[derive(Debug, Default)]
pub(super) struct Log {
    requests: Vec<Request>,
}

impl Log {
    pub(super) fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// 401 answers sent so far.
    pub(super) fn unauthorized(&self) -> u32 {
        let count = self
            .requests
            .iter()
            .filter(|r| r.status == StatusCode::UNAUTHORIZED.as_u16())
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    fn arrive(&mut self, request: Request) -> usize {
        self.requests.push(request);
        self.requests.len() - 1
    }

    fn complete(&mut self, index: usize, status: u16, authorization_ok: bool) {
        if let Some(entry) = self.requests.get_mut(index) {
            entry.status = status;
            entry.authorization_ok = authorization_ok;
        }
    }
}

/// Middleware around every route: logs the arrival, then the outcome.
pub(super) async fn record(
    State(shared): State<Arc<Shared>>,
    request: HttpRequest,
    next: Next,
) -> Response {
    let entry = Request {
        method: request.method().to_string(),
        path: request.uri().path_and_query().map_or_else(
            || request.uri().path().to_string(),
            |p| p.as_str().to_string(),
        ),
        idempotency_key: request
            .headers()
            .get(IDEMPOTENCY_KEY)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        status: 0,
        at: shared.started.elapsed(),
        authorization_ok: false,
    };
    let index = shared.lock().log.arrive(entry);
    let response = next.run(request).await;
    let delivered = response.extensions().get::<Undelivered>().is_none();
    let status = if delivered {
        response.status().as_u16()
    } else {
        0
    };
    let authorized = response.extensions().get::<Authorized>().is_some();
    shared.lock().log.complete(index, status, authorized);
    response
}
