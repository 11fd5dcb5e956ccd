//! Idempotency keys: a retried request is answered from the first answer, never applied twice.
//!
//! A request with an `Idempotency-Key` header is looked up by (method, path, key). The first one
//! to be processed stores its answer (status, headers, body) when that answer is 2xx or 4xx; a
//! later request with the same key and the same body gets that answer replayed (marked
//! `Idempotent-Replayed: true`) without touching the data, and one with a different body gets 422.
//! 5xx answers and injected faults are not stored, so their retries are processed afresh. Keyed
//! requests are processed one at a time, so a retry racing its original still sees it.

use std::collections::HashMap;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::reply::Surface;
use super::{Shared, BODY_LIMIT};

/// The request header carrying the key.
pub(super) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The response header marking a replayed answer.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// Where a key applies: keys are scoped per method and path.
type Scope = (Method, String, String);

/// A stored first answer and the fingerprint of the body it answered.
#[derive(Debug, Clone)]
struct Stored {
    body_sha256: [u8; 32],
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Answers stored under their keys.
#[derive(Debug, Default)]
pub(super) struct Store {
    answers: HashMap<Scope, Stored>,
}

/// What the store knows about a keyed request.
enum Lookup {
    /// Not seen: process it.
    New,
    /// Seen with the same body: replay.
    Replay(Box<Stored>),
    /// Seen with a different body.
    Conflict,
}

impl Store {
    fn lookup(&self, scope: &Scope, body_sha256: &[u8; 32]) -> Lookup {
        match self.answers.get(scope) {
            None => Lookup::New,
            Some(stored) if stored.body_sha256 == *body_sha256 => {
                Lookup::Replay(Box::new(stored.clone()))
            }
            Some(_) => Lookup::Conflict,
        }
    }
}

/// Runs `next` for `request`, honouring its idempotency key if it has one.
pub(super) async fn process(
    shared: &Shared,
    surface: Surface,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    let Some(key) = valid_key(key) else {
        return surface
            .error(
                StatusCode::BAD_REQUEST,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response();
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return surface
            .error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body unreadable or too large",
            )
            .into_response();
    };
    let body_sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let scope = (parts.method.clone(), parts.uri.path().to_string(), key);
    let _one_at_a_time = shared.keyed.lock().await;
    let lookup = shared.lock().idempotency.lookup(&scope, &body_sha256);
    match lookup {
        Lookup::New => {}
        Lookup::Replay(stored) => return replay(*stored),
        Lookup::Conflict => {
            return surface
                .error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency key reused with a different body",
                )
                .into_response()
        }
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().is_server_error() {
        return response;
    }
    let (answer, answer_body) = response.into_parts();
    let Ok(answer_bytes) = to_bytes(answer_body, usize::MAX).await else {
        return surface
            .error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "answer could not be buffered",
            )
            .into_response();
    };
    let stored = Stored {
        body_sha256,
        status: answer.status,
        headers: answer.headers.clone(),
        body: answer_bytes.clone(),
    };
    shared.lock().idempotency.answers.insert(scope, stored);
    Response::from_parts(answer, Body::from(answer_bytes))
}

fn valid_key(value: &HeaderValue) -> Option<String> {
    let bytes = value.as_bytes();
    let visible = bytes.iter().all(|b| b.is_ascii_graphic());
    (visible && !bytes.is_empty() && bytes.len() <= MAX_KEY_LEN)
        .then(|| String::from_utf8_lossy(bytes).into_owned())
}

fn replay(stored: Stored) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = stored.status;
    *response.headers_mut() = stored.headers;
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{seed_where, TestApi};
    use super::super::{Config, Faults};
    use reqwest::Method;

    #[tokio::test]
    async fn replay_does_not_apply_again() {
        let api = TestApi::start(Config::default());
        let token = api.token().await;
        let body = r#"{"employee_id":"100","name":"A"}"#;
        let first = api.post_employee(&token, Some("k-1"), body).await;
        assert_eq!(first.status(), 201);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first_body = first.text().await.unwrap();
        let again = api.post_employee(&token, Some("k-1"), body).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.text().await.unwrap(), first_body);
        let changed = api
            .post_employee(&token, Some("k-1"), r#"{"employee_id":"100","name":"B"}"#)
            .await;
        assert_eq!(changed.status(), 422);
        // The same key on another path is another key.
        let other = api
            .call(
                Method::PUT,
                "/api/v1/employees/E1",
                &token,
                Some("k-1"),
                Some(body),
            )
            .await
            .unwrap();
        assert_eq!(other.status(), 200);
        let record = api.record();
        assert_eq!(record.employees["100"].applied, 2);
        assert_eq!(record.employees["100"].body["name"], "A");
    }

    #[tokio::test]
    async fn dropped_answer_is_applied_once_and_replayed() {
        // A seed whose first request is cut and whose second is answered.
        let faults = Faults {
            drop_after_processing: 0.5,
            ..Faults::default()
        };
        let faults = seed_where(&faults, |rolls| {
            rolls[0].drop_after_processing && !rolls[1].drop_after_processing
        });
        let api = TestApi::start(Config {
            faults,
            ..Config::default()
        });
        let token = api.token().await;
        let body = r#"{"employee_id":"7"}"#;
        let send = || {
            api.call(
                Method::POST,
                "/api/v1/employees",
                &token,
                Some("row-7"),
                Some(body),
            )
        };
        let error = send().await.expect_err("the answer must never arrive");
        assert!(error.status().is_none(), "{error}");
        assert_eq!(api.record().employees["7"].applied, 1);
        let retried = send().await.unwrap();
        assert_eq!(retried.status(), 201);
        assert_eq!(retried.headers()["idempotent-replayed"], "true");
        let record = api.record();
        assert_eq!(record.employees["7"].applied, 1);
        let keyed: Vec<(u16, Option<&str>)> = record
            .requests
            .iter()
            .filter(|r| r.path == "/api/v1/employees")
            .map(|r| (r.status, r.idempotency_key.as_deref()))
            .collect();
        assert_eq!(keyed, [(0, Some("row-7")), (201, Some("row-7"))]);
    }

    #[tokio::test]
    async fn a_retry_racing_its_slow_original_applies_once() {
        let faults = Faults {
            slow: 0.5,
            slow_for: std::time::Duration::from_millis(300),
            ..Faults::default()
        };
        let faults = seed_where(&faults, |rolls| rolls[0].slow && !rolls[1].slow);
        let api = TestApi::start(Config {
            faults,
            ..Config::default()
        });
        let token = api.token().await;
        let body = r#"{"employee_id":"9"}"#;
        let original = api.post_employee(&token, Some("row-9"), body);
        let retry = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            api.post_employee(&token, Some("row-9"), body).await
        };
        let (original, retry) = tokio::join!(original, retry);
        assert_eq!(
            (original.status().as_u16(), retry.status().as_u16()),
            (201, 201)
        );
        assert!(retry.headers().get("idempotent-replayed").is_none());
        assert_eq!(original.headers()["idempotent-replayed"], "true");
        assert_eq!(api.record().employees["9"].applied, 1);
    }

    #[tokio::test]
    async fn injected_errors_are_not_stored() {
        let api = TestApi::start(Config {
            faults: Faults {
                error_500: 1.0,
                ..Faults::default()
            },
            ..Config::default()
        });
        let token = api.token().await;
        for _ in 0..2 {
            let failed = api
                .post_employee(&token, Some("k"), r#"{"employee_id":"1"}"#)
                .await;
            assert_eq!(failed.status(), 500);
            assert!(failed.headers().get("idempotent-replayed").is_none());
        }
        assert!(api.record().employees.is_empty());
    }
}
