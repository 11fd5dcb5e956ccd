//! One API request, done properly: rate limit, authentication, timeouts, and retries of
//! transient failures with backoff. The answer is handed back whatever its status; whether it
//! counts as success is up to the output (`rest.rs`, `scim.rs`).
//!
//! Messages never contain the URL (it may carry field values), a header or a request body.
//! Redirects are not followed: an `Authorization` header must not travel to another host.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, Url};

use super::auth::{Auth, AuthError};
use super::ratelimit::RateLimiter;
use super::retry::{retry_after, RetryPolicy};
use crate::kernel::http_status::is_transient;
use crate::kernel::secret::SecretError;
use crate::kernel::stop::StopFlag;
use crate::profile::{ApiConnectionSpec, HeaderValueSpec};
use crate::settings::Settings;

/// The most of an answer's body that is kept (enough for ids and error messages).
const BODY_CAP: usize = 1 << 20;

/// One request to make.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub url: Url,
    /// Body and its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
    /// Sent as `Idempotency-Key`, the same on every attempt.
    pub idempotency_key: Option<String>,
}

/// An answer that is final (not transient), with the attempts it took.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// At most [`BODY_CAP`] bytes.
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// The request could not get a final answer within its attempts.
#[derive(Debug, Clone)]
pub struct GaveUp {
    /// The last status, when the last attempt got an answer.
    pub status: Option<u16>,
    pub body: Vec<u8>,
    pub reason: String,
    pub attempts: u32,
    /// hrbridge is stopping: the request was abandoned between attempts, not refused. The
    /// item stays unsettled and is sent again on the next start.
    pub interrupted: bool,
}

/// Why an output's client cannot be made; it names a missing secret or a bad header, never a
/// value.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot start the HTTP client: {reason}")]
    Start { reason: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{name:?} is not a valid header name")]
    HeaderName { name: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("the value of header {name:?} is not valid in HTTP")]
    HeaderValue { name: String },
}

/// The HTTP client of one API output.
#[derive(Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    auth: Auth,
    limiter: Option<RateLimiter>,
    retry: RetryPolicy,
    headers: Vec<(HeaderName, HeaderValue)>,
    stop: StopFlag,
}

/// How often a wait between attempts looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

impl ApiClient {
    /// A client for `spec`; the error names a missing secret or a bad header, never a value.
    /// Waits between attempts end early once `stop` is set.
    pub fn new(
        spec: &ApiConnectionSpec,
        settings: &Settings,
        stop: StopFlag,
    ) -> Result<ApiClient, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(spec.connect_timeout())
            .timeout(spec.timeout())
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(spec.concurrency().max(1))
            .build()
            .map_err(|e| ClientError::Start {
                reason: transport_reason(&e),
            })?;
        let retry = RetryPolicy::of(spec);
        let auth = Auth::new(spec.auth.as_ref(), &http, retry, settings)?;
        let mut headers = vec![(
            USER_AGENT,
            HeaderValue::from_static(concat!("hrbridge/", env!("CARGO_PKG_VERSION"))),
        )];
        for (name, value) in &spec.headers {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| ClientError::HeaderName { name: name.clone() })?;
            let (text, secret) = match value {
                HeaderValueSpec::Plain(text) => (text.clone(), false),
                HeaderValueSpec::Secret(r) => {
                    (r.resolve(&settings.state_dir)?.expose().to_string(), true)
                }
            };
            let mut value = HeaderValue::try_from(text)
                .map_err(|_| ClientError::HeaderValue { name: name.clone() })?;
            value.set_sensitive(secret);
            headers.push((header, value));
        }
        let limiter = spec
            .rate_limit
            .map(|limit| RateLimiter::new(limit, spec.burst.unwrap_or(1)));
        Ok(ApiClient {
            http,
            auth,
            limiter,
            retry,
            headers,
            stop,
        })
    }

    /// Makes `call` until it gets a final answer or runs out of attempts.
    pub async fn call(&self, call: &Call) -> Result<Answer, GaveUp> {
        let mut attempts = 0;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let (last_status, last_body, reason, wait) = match self.attempt(call).await {
                Attempt::Final(answer) => {
                    return Ok(Answer {
                        status: answer.0,
                        body: answer.1,
                        attempts,
                    })
                }
                Attempt::Unauthorized(used, status, body) => {
                    if refreshed || !self.auth.refreshable() {
                        return Ok(Answer {
                            status,
                            body,
                            attempts,
                        });
                    }
                    // One new token per request: an expired token is not the request's fault.
                    self.auth.invalidate(&used).await;
                    refreshed = true;
                    attempts -= 1;
                    continue;
                }
                Attempt::AuthFailed(failure) => {
                    if !failure.transient || attempts >= self.retry.max_attempts {
                        return Err(GaveUp {
                            status: None,
                            body: Vec::new(),
                            reason: failure.message,
                            attempts: attempts.max(failure.attempts),
                            interrupted: false,
                        });
                    }
                    (None, Vec::new(), failure.message, None)
                }
                Attempt::Transient {
                    status,
                    body,
                    reason,
                    retry_after,
                } => (status, body, reason, retry_after),
            };
            let out_of_attempts = attempts >= self.retry.max_attempts;
            if out_of_attempts || !self.pause(self.retry.delay(attempts, wait)).await {
                return Err(GaveUp {
                    status: last_status,
                    body: last_body,
                    reason: if out_of_attempts {
                        format!("{reason}; gave up after {attempts} attempts")
                    } else {
                        format!("{reason}; stopped before the next attempt")
                    },
                    attempts,
                    interrupted: !out_of_attempts,
                });
            }
        }
    }

    /// Waits `wait`, or less if hrbridge is stopping; false when it stopped.
    async fn pause(&self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        while !self.stop.is_stopped() {
            let now = tokio::time::Instant::now();
            if now >= until {
                return true;
            }
            tokio::time::sleep((until - now).min(STOP_POLL)).await;
        }
        false
    }

    async fn attempt(&self, call: &Call) -> Attempt {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let credential = match self.auth.credential().await {
            Ok(c) => c,
            Err(failure) => return Attempt::AuthFailed(failure),
        };
        let mut request = self.http.request(call.method.clone(), call.url.clone());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(c) = &credential {
            request = request.header(&c.name, &c.value);
        }
        if let Some(key) = &call.idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some((body, content_type)) = &call.body {
            request = request
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }
        let transient = |status, body, reason: String, retry_after| Attempt::Transient {
            status,
            body,
            reason,
            retry_after,
        };
        let mut answer = match request.send().await {
            Ok(a) => a,
            Err(e) => return transient(None, Vec::new(), transport_reason(&e), None),
        };
        let status = answer.status().as_u16();
        let wait = retry_after(answer.headers());
        let mut body = Vec::new();
        loop {
            match answer.chunk().await {
                Ok(Some(chunk)) => {
                    let room = BODY_CAP.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => {
                    let reason = format!("HTTP {status}, then {}", transport_reason(&e));
                    return transient(Some(status), body, reason, wait);
                }
            }
        }
        match (status, credential) {
            (401, Some(used)) => Attempt::Unauthorized(used, status, body),
            _ if is_transient(status) => {
                transient(Some(status), body, format!("HTTP {status}"), wait)
            }
            _ => Attempt::Final((status, body)),
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Final((u16, Vec<u8>)),
    Unauthorized(super::auth::Credential, u16, Vec<u8>),
    AuthFailed(super::auth::AuthFailure),
    Transient {
        status: Option<u16>,
        body: Vec<u8>,
        reason: String,
        retry_after: Option<Duration>,
    },
}

/// What went wrong with a request, without its URL: the error kind and its causes.
pub fn transport_reason(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) && !text.contains("://") {
            causes.push(text);
        }
        source = s.source();
    }
    if causes.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}
