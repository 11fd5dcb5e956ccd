//! Job notifications: `[[notify]] type = "webhook"` POSTs a JSON summary of each finished job,
//! signed with HMAC-SHA256, so an HR operations channel or a ticketing system hears about
//! failures without anyone watching the logs.
//!
//! The summary carries names, counts, statuses and output targets — never cell values. Each
//! notification has an id (`X-Hrbridge-Delivery`, also `delivery` in the body; the same on
//! every attempt) and each attempt a time (`X-Hrbridge-Timestamp`, Unix seconds); the
//! signature covers all three: `X-Hrbridge-Signature: v1=<hex HMAC-SHA256 of
//! "{timestamp}.{delivery}.{body}">`, as Stripe and Slack sign theirs. A receiver that checks
//! the signature, refuses a timestamp more than a few minutes old and remembers the ids it
//! took cannot be fed a captured call again. A notification that cannot be delivered (after a
//! few attempts) is logged and audited; it never changes the job's outcome.
//!
//! The engine hands the finished job in as plain data ([`JobSummary`]), so this module needs
//! nothing from the engine.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use crate::kernel::secret::SecretError;
use crate::kernel::url_policy::{url_allowed, UrlError};
use crate::profile::{KeyPath, NotifySpec, Problem, Profile, WebhookSpec};
use crate::settings::Settings;

/// Attempts per notification.
const ATTEMPTS: u32 = 3;
/// Used when a webhook gives no `timeout`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Statuses a webhook may ask for.
const STATUSES: &[&str] = &["succeeded", "partial", "failed", "duplicate", "held"];

/// Semantic checks of a profile's `[[notify]]` entries.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, n) in profile.notify.iter().enumerate() {
        let NotifySpec::Webhook(hook) = n;
        let at = KeyPath::root().key("notify").index(i);
        if let Err(e) = url_allowed(&hook.url, hook.allow_plain_http) {
            problems.push(Problem::new(at.clone().key("url"), e.to_string()));
        }
        for (j, status) in hook.on.iter().enumerate() {
            if !STATUSES.contains(&status.as_str()) {
                problems.push(Problem::new(
                    at.clone().key("on").index(j),
                    format!(
                        "unknown job status {status:?} (known: {})",
                        STATUSES.join(", ")
                    ),
                ));
            }
        }
    }
    problems
}

/// A finished job as its webhooks hear of it: plain data the engine fills in from its report.
/// `C` is the job's row counts (the store's `Counts`), sent as they serialize.
pub struct JobSummary<'a, C: Serialize> {
    pub job_id: i64,
    pub profile: &'a str,
    pub file: &'a str,
    /// The job's status name (`succeeded`, `partial`, `failed`, `duplicate`, ...).
    pub status: &'a str,
    pub counts: &'a C,
    /// Published outputs: local paths or `sftp://` targets.
    pub outputs: &'a [String],
    pub error: Option<&'a str>,
}

/// The JSON summary of a finished job, sent as notification `delivery`.
pub fn summary<C: Serialize>(job: &JobSummary<'_, C>, delivery: &str) -> serde_json::Value {
    json!({
        "event": "job.finished",
        "delivery": delivery,
        "profile": job.profile,
        "job_id": job.job_id,
        "file": job.file,
        "status": job.status,
        "counts": job.counts,
        "outputs": job.outputs,
        "error": job.error,
    })
}

/// `v1=<hex>`: HMAC-SHA256 under `key` of `{timestamp}.{delivery}.{body}`.
pub fn signature(key: &[u8], timestamp: u64, delivery: &str, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{delivery}.").as_bytes());
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new notification id: 128 random bits, as hex.
fn delivery_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// Now, in Unix seconds.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Sends the summary of `job` to every webhook of `profile` that wants its status.
/// Returns one message per webhook that could not be reached (no secrets in them).
pub fn send<C: Serialize>(
    runtime: &tokio::runtime::Handle,
    settings: &Settings,
    profile: &Profile,
    job: &JobSummary<'_, C>,
) -> Vec<String> {
    let wanted: Vec<&WebhookSpec> = profile
        .notify
        .iter()
        .map(|NotifySpec::Webhook(h)| h)
        .filter(|h| h.on.iter().any(|s| s == job.status))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut failures = Vec::new();
    for hook in wanted {
        let delivery = delivery_id();
        let body = summary(job, &delivery).to_string();
        if let Err(e) = runtime.block_on(deliver(settings, hook, &delivery, &body)) {
            failures.push(format!("webhook {}: {e}", redact(&hook.url)));
        }
    }
    failures
}

/// Why a webhook did not take a notification (no URL, no secret in it).
#[derive(Debug, thiserror::Error)]
enum WebhookError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(reqwest::Error),
    #[error("answered {0}")]
    Answered(reqwest::StatusCode),
    /// The request failed (its URL taken out).
    #[error(transparent)]
    Request(reqwest::Error),
}

async fn deliver(
    settings: &Settings,
    hook: &WebhookSpec,
    delivery: &str,
    body: &str,
) -> Result<(), WebhookError> {
    let url = url_allowed(&hook.url, hook.allow_plain_http)?;
    let key = hook.secret.resolve(&settings.state_dir)?;
    let client = reqwest::Client::builder()
        .timeout(hook.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(WebhookError::Client)?;
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        // Signed afresh at each attempt: a receiver's freshness window counts from the send.
        let timestamp = unix_now();
        let signature = signature(
            key.expose().as_bytes(),
            timestamp,
            delivery,
            body.as_bytes(),
        );
        let sent = client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("x-hrbridge-event", "job.finished")
            .header("x-hrbridge-delivery", delivery)
            .header("x-hrbridge-timestamp", timestamp.to_string())
            .header("x-hrbridge-signature", &signature)
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().is_client_error() => {
                return Err(WebhookError::Answered(r.status()))
            }
            Ok(r) => last = Some(WebhookError::Answered(r.status())),
            Err(e) => last = Some(WebhookError::Request(e.without_url())),
        }
    }
    Err(last.expect("ATTEMPTS is not 0"))
}

/// The URL without its query (which may hold a token) for messages.
fn redact(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_time_the_delivery_and_the_body() {
        // RFC 4231 test case 2, with the material a signature covers as its data.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let rfc = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            rfc,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let signed = signature(b"Jefe", 1_700_000_000, "d1", b"{}");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.d1.{}");
        assert_eq!(
            signed,
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
        );
        // Another time or another delivery is another signature: a captured call replayed
        // later, or under another id, does not verify.
        assert_ne!(signature(b"Jefe", 1_700_000_001, "d1", b"{}"), signed);
        assert_ne!(signature(b"Jefe", 1_700_000_000, "d2", b"{}"), signed);
        assert_ne!(delivery_id(), delivery_id());
        assert_eq!(delivery_id().len(), 32);
    }

    #[test]
    fn messages_do_not_carry_query_tokens() {
        assert_eq!(redact("https://h/x?token=abc"), "https://h/x");
    }
}
