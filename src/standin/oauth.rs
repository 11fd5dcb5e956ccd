//! OAuth2 client credentials (RFC 6749 §4.4) and the bearer check (RFC 6750) of the stand-in.
//!
//! `POST /oauth/token` issues random bearer tokens to the one configured client, authenticated by
//! HTTP Basic (id and secret form-urlencoded before base64, RFC 6749 §2.3.1) or by form fields;
//! every REST/SCIM request must then carry a live token.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use data_encoding::BASE64;
use rand::Rng;
use serde_json::json;

use super::record::Authorized;
use super::reply;
use super::Shared;

/// Issued tokens and when each expires.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    expiry: HashMap<String, Instant>,
    issued: u32,
}

/// Why a bearer check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BearerProblem {
    /// No `Authorization: Bearer` header at all.
    Missing,
    /// A token this server never issued.
    Unknown,
    /// An issued token past its lifetime.
    Expired,
}

impl BearerProblem {
    /// The `WWW-Authenticate` challenge (RFC 6750 §3: no error code when credentials are absent).
    pub(super) fn challenge(self) -> &'static str {
        match self {
            BearerProblem::Missing => "Bearer realm=\"hrbridge-standin\"",
            BearerProblem::Unknown => {
                "Bearer realm=\"hrbridge-standin\", error=\"invalid_token\", error_description=\"unknown token\""
            }
            BearerProblem::Expired => {
                "Bearer realm=\"hrbridge-standin\", error=\"invalid_token\", error_description=\"token expired\""
            }
        }
    }

    /// A short explanation for the error body.
    pub(super) fn detail(self) -> &'static str {
        match self {
            BearerProblem::Missing => "missing bearer token",
            BearerProblem::Unknown => "invalid_token: unknown token",
            BearerProblem::Expired => "invalid_token: token expired",
        }
    }
}

impl Tokens {
    /// Tokens issued so far.
    pub(super) fn issued(&self) -> u32 {
        self.issued
    }

    /// Every token issued so far (for tests that check no token leaks anywhere).
    pub(super) fn all(&self) -> Vec<String> {
        let mut all: Vec<String> = self.expiry.keys().cloned().collect();
        all.sort();
        all
    }

    /// Whether `headers` carry a bearer token that is issued and unexpired at `now`.
    pub(super) fn check(&self, headers: &HeaderMap, now: Instant) -> Result<(), BearerProblem> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| credentials(v, "Bearer"))
            .ok_or(BearerProblem::Missing)?;
        match self.expiry.get(token.trim()) {
            None => Err(BearerProblem::Unknown),
            Some(expires) if now >= *expires => Err(BearerProblem::Expired),
            Some(_) => Ok(()),
        }
    }

    fn issue(&mut self, now: Instant, ttl: std::time::Duration) -> String {
        let token = hex::encode(rand::rng().random::<[u8; 16]>());
        self.expiry.insert(token.clone(), now + ttl);
        self.issued = self.issued.saturating_add(1);
        token
    }
}

/// The credentials after `scheme ` in an `Authorization` value (scheme case-insensitive).
fn credentials<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// `POST /oauth/token`.
pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(params)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected an application/x-www-form-urlencoded body",
        );
    };
    let mut names = HashSet::new();
    if let Some((name, _)) = params.iter().find(|(n, _)| !names.insert(n.as_str())) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("parameter {name} repeated"),
        );
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(basic_credentials) {
            Some(pair) => Some(pair),
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "malformed Basic authorization",
                )
            }
        },
    };
    let form_creds = param("client_id").zip(param("client_secret"));
    let (client_id, client_secret) = match (&basic, form_creds) {
        (Some(_), Some(_)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client authenticated by more than one method",
            )
        }
        (Some((id, secret)), None) => (id.as_str(), secret.as_str()),
        (None, Some(pair)) => pair,
        (None, None) => return invalid_client(false),
    };
    let config = &shared.config;
    if client_id != config.client_id || client_secret != config.client_secret {
        return invalid_client(basic.is_some());
    }
    match param("grant_type") {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "missing grant_type",
            )
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            )
        }
    }
    let access_token = shared.lock().tokens.issue(Instant::now(), config.token_ttl);
    let mut response = reply::json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": config.token_ttl.as_secs(),
        }),
    );
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response.extensions_mut().insert(Authorized);
    response
}

/// Client id and secret from a `Basic` authorization value (RFC 6749 §2.3.1).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let encoded = credentials(value, "Basic")?.trim();
    let decoded = BASE64.decode(encoded.as_bytes()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex_pair = rest.get(..2)?;
                let digits = std::str::from_utf8(hex_pair).ok()?;
                bytes.push(u8::from_str_radix(digits, 16).ok()?);
                rest = rest.get(2..)?;
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).ok()
}

fn invalid_client(via_basic: bool) -> Response {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if via_basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hrbridge-standin\""),
        );
    }
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    reply::json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{form, form_token, TestApi};
    use super::*;
    use std::time::Duration;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", BASE64.encode(b"my+client:s%3Acret%25x"));
        assert_eq!(
            basic_credentials(&header),
            Some(("my client".to_string(), "s:cret%x".to_string()))
        );
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%zz"), None);
    }

    #[tokio::test]
    async fn token_issued_then_expires() {
        let api = TestApi::start(super::super::Config {
            token_ttl: Duration::from_millis(300),
            ..Default::default()
        });
        let token = api.token().await;
        assert_eq!(token.len(), 32);
        let ok = api
            .post_employee(&token, None, r#"{"employee_id":"1"}"#)
            .await;
        assert_eq!(ok.status(), 201);
        tokio::time::sleep(Duration::from_millis(350)).await;
        let late = api
            .post_employee(&token, None, r#"{"employee_id":"2"}"#)
            .await;
        assert_eq!(late.status(), 401);
        let challenge = late.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let record = api.record();
        assert_eq!(record.tokens_issued, 1);
        assert_eq!(record.unauthorized, 1);
        assert_eq!(record.employees.len(), 1);
        let statuses: Vec<(u16, bool)> = record
            .requests
            .iter()
            .map(|r| (r.status, r.authorization_ok))
            .collect();
        assert_eq!(statuses, [(200, true), (201, true), (401, false)]);
    }

    #[tokio::test]
    async fn client_authentication_methods() {
        let api = TestApi::start(Default::default());
        let url = format!("{}/oauth/token", api.base_url());
        let basic = api
            .http
            .post(&url)
            .basic_auth("hrbridge-demo", Some("demo-secret"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("scope", "hr"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 200);
        assert_eq!(basic.headers()[header::CACHE_CONTROL], "no-store");
        let wrong = form_token(&api, "hrbridge-demo", "nope", "client_credentials").await;
        assert_eq!(wrong.status(), 401);
        assert_eq!(
            wrong.json::<serde_json::Value>().await.unwrap()["error"],
            "invalid_client"
        );
        let grant = form_token(&api, "hrbridge-demo", "demo-secret", "password").await;
        assert_eq!(grant.status(), 400);
        assert_eq!(
            grant.json::<serde_json::Value>().await.unwrap()["error"],
            "unsupported_grant_type"
        );
        let none = api.post_employee("", None, "{}").await;
        assert_eq!(none.status(), 401);
        let record = api.record();
        assert_eq!(record.tokens_issued, 1);
        assert_eq!(record.unauthorized, 2);
    }
}
