//! The gate every REST and SCIM request passes before and after its handler.
//!
//! In order: the arrival counts toward the sliding window (rate limit 429), the bearer token is
//! checked (401), the fault dice are rolled (slow, injected 500, injected 429), the request is
//! processed under its idempotency key, and a `drop_after_processing` fault then cuts the
//! connection so the client never sees the answer.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::conn::ConnCut;
use super::idempotency;
use super::record::{Authorized, Undelivered};
use super::reply::Surface;
use super::Shared;

/// Middleware in front of the REST and SCIM routes.
pub(super) async fn gate(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnCut>,
    request: Request,
    next: Next,
) -> Response {
    let surface = Surface::of(request.uri().path());
    let (allowed, bearer, roll) = {
        let mut state = shared.lock();
        let now = Instant::now();
        let allowed = state.window.arrive(now, shared.config.rate_limit);
        let bearer = state.tokens.check(request.headers(), now);
        (allowed, bearer, state.dice.roll())
    };
    if !allowed {
        return retry_after(
            surface
                .error(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded")
                .into_response(),
            1,
        );
    }
    if let Err(problem) = bearer {
        let mut response = surface
            .error(StatusCode::UNAUTHORIZED, problem.detail())
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(problem.challenge()),
        );
        return response;
    }
    let faults = &shared.config.faults;
    if roll.slow {
        tokio::time::sleep(faults.slow_for).await;
    }
    let mut response = if roll.error_500 {
        surface
            .error(StatusCode::INTERNAL_SERVER_ERROR, "injected fault")
            .into_response()
    } else if roll.throttle_429 {
        retry_after(
            surface
                .error(StatusCode::TOO_MANY_REQUESTS, "injected throttle")
                .into_response(),
            faults.retry_after_secs,
        )
    } else {
        let processed = idempotency::process(&shared, surface, request, next).await;
        if roll.drop_after_processing {
            conn.cut();
            let mut undelivered = processed;
            undelivered.extensions_mut().insert(Undelivered);
            undelivered
        } else {
            processed
        }
    };
    response.extensions_mut().insert(Authorized);
    response
}

fn retry_after(mut response: Response, secs: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

#[cfg(test)]
mod tests {
    use super::super::testkit::TestApi;
    use super::super::{Config, Faults};
    use super::*;

    #[tokio::test]
    async fn rate_limit_refuses_and_counts() {
        let api = TestApi::start(Config {
            rate_limit: Some(5),
            ..Config::default()
        });
        let token = api.token().await;
        let mut statuses = Vec::new();
        for n in 0..8 {
            let body = format!(r#"{{"employee_id": "{n}"}}"#);
            let response = api.post_employee(&token, None, &body).await;
            if response.status() == 429 {
                assert_eq!(response.headers()[header::RETRY_AFTER], "1");
            }
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
        let record = api.record();
        assert_eq!(record.throttled_by_limit, 3);
        assert_eq!(record.max_in_any_second, 8);
        assert_eq!(record.employees.len(), 5);
        assert_eq!(record.requests.len(), 9);
    }

    #[tokio::test]
    async fn injected_throttle_and_slowness() {
        let api = TestApi::start(Config {
            faults: Faults {
                throttle_429: 1.0,
                retry_after_secs: 7,
                slow: 1.0,
                slow_for: std::time::Duration::from_millis(150),
                ..Faults::default()
            },
            ..Config::default()
        });
        let token = api.token().await;
        let started = Instant::now();
        let response = api
            .post_employee(&token, None, r#"{"employee_id": "1"}"#)
            .await;
        assert!(started.elapsed() >= std::time::Duration::from_millis(150));
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let record = api.record();
        assert_eq!(record.throttled_by_limit, 0);
        assert!(record.employees.is_empty());
        assert!(record.requests[1].authorization_ok);
    }
}
