//! API outputs: records delivered as HTTP requests — `http` (REST) and `scim` (SCIM 2.0).
//!
//! During a job, an API output's records are spooled to a temp file (`spool.rs`) like any
//! other output; publishing it at commit means sending them. This module holds how one item
//! (a record, or a batch for bulk APIs) is delivered: the request mechanics shared by both
//! kinds — auth (`auth.rs`), rate limit (`ratelimit.rs`), retries (`retry.rs`, `client.rs`) —
//! and how records become requests (`template.rs`, `rest.rs`, `scim.rs`). The engine's
//! `api_delivery` runs the workers and keeps the per-row ledger that makes delivery
//! effectively once.

pub mod auth;
pub mod check;
pub mod client;
pub mod ratelimit;
pub mod rest;
pub mod retry;
pub mod scim;
pub mod spool;
pub mod template;

use std::future::Future;

use crate::kernel::mapped::FieldInfo;
use crate::kernel::mask::PiiValues;
use crate::profile::{
    ApiConnectionSpec, HttpKeys, HttpOutputSpec, KeyPath, Problem, ScimKeys, ScimOutputSpec,
};
use spool::SpoolRecord;

/// The most of an answer's body kept in a failure reason.
const REASON_BODY_CHARS: usize = 300;

/// One unit of delivery: a record, or the records of one batch.
#[derive(Debug, Clone)]
pub struct Item {
    pub records: Vec<SpoolRecord>,
    /// Stable for the same records of the same file: sent as `Idempotency-Key`.
    pub idempotency_key: String,
    /// The id the id map holds for the (first) record's key, if any.
    pub known_id: Option<String>,
}

/// How an item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        status: u16,
        attempts: u32,
        /// An id to keep in the id map for the record's key.
        captured_id: Option<String>,
        /// What was done, when it was not the plain request (e.g. "already inactive").
        note: Option<String>,
    },
    Failed {
        status: Option<u16>,
        attempts: u32,
        /// Why, with the answer's body truncated and PII values masked.
        reason: String,
    },
    /// hrbridge stopped between attempts: nothing is settled; sent again on the next start.
    Interrupted,
}

/// The outcome of an item whose request gave up after `attempts` attempts in all.
pub fn gave_up(g: &client::GaveUp, attempts: u32, item: &Item, fields: &[FieldInfo]) -> Outcome {
    if g.interrupted {
        return Outcome::Interrupted;
    }
    Outcome::Failed {
        status: g.status,
        attempts,
        reason: failure_reason(&g.reason, &g.body, item, fields),
    }
}

/// Delivers items of one output; shared by the workers.
pub trait Deliverer: Send + Sync + 'static {
    /// Sends `item` (with its retries) and says how it ended.
    fn deliver(&self, item: &Item) -> impl Future<Output = Outcome> + Send;
}

/// Why an API output's deliverer cannot be made: a key its requests cannot be made from.
#[derive(Debug, thiserror::Error)]
pub enum DelivererError {
    #[error(transparent)]
    Rest(#[from] template::TemplateError),
    #[error(transparent)]
    Scim(#[from] scim::ScimError),
}

/// An API output, opened (see `output::open`): what the engine's delivery ledger needs to send
/// its spool.
pub struct ApiOutput<'a> {
    pub connection: &'a ApiConnectionSpec,
    /// How it is named in the store, the audit trail and reports:
    /// `POST https://host/path/{field}` or `SCIM https://host/scim/v2` (templates unrendered,
    /// so no field value appears).
    pub label: String,
    /// Records per request.
    pub batch_size: usize,
    id_map: Option<&'a str>,
    keys: Keys<'a>,
}

/// The keys an API output's requests are made from.
enum Keys<'a> {
    Rest(&'a HttpKeys),
    Scim(&'a ScimKeys),
}

impl<'a> ApiOutput<'a> {
    /// An `http` output.
    pub fn rest(spec: &'a HttpOutputSpec) -> ApiOutput<'a> {
        ApiOutput {
            connection: &spec.connection,
            label: format!("{} {}", spec.http.method.as_str(), spec.http.url),
            batch_size: spec.http.batch_size.max(1),
            id_map: spec.http.id_map.as_deref(),
            keys: Keys::Rest(&spec.http),
        }
    }

    /// The fields (places in `fields`) its requests carry: an `http` output's templates
    /// name them; a SCIM user is made of every field.
    pub fn sends(&self, fields: &[FieldInfo]) -> Vec<usize> {
        match self.keys {
            Keys::Rest(keys) => rest::fields_sent(keys, fields),
            Keys::Scim(_) => (0..fields.len()).collect(),
        }
    }

    /// A `scim` output.
    pub fn scim(spec: &'a ScimOutputSpec) -> ApiOutput<'a> {
        ApiOutput {
            connection: &spec.connection,
            label: format!("SCIM {}", spec.scim.base_url),
            batch_size: 1,
            id_map: spec.scim.id_map.as_deref(),
            keys: Keys::Scim(&spec.scim),
        }
    }

    /// The id map it reads and writes: its `id_map`, else the profile's name.
    pub fn id_map(&self, profile: &'a str) -> &'a str {
        self.id_map.unwrap_or(profile)
    }

    /// Every problem of its keys, at `at` (see [`check`]).
    pub fn check(&self, at: &KeyPath, fields: &[FieldInfo]) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem::new(at.clone().key(key), message));
        };
        check::connection(self.connection, &mut problem);
        match self.keys {
            Keys::Rest(keys) => check::rest(self.connection, keys, fields, &mut problem),
            Keys::Scim(keys) => check::scim(self.connection, keys, fields, &mut problem),
        }
        problems
    }

    /// The deliverer that sends its items through `client`; the error names a key the
    /// requests cannot be made from.
    pub fn deliverer(
        &self,
        client: client::ApiClient,
        fields: &[FieldInfo],
    ) -> Result<ApiDeliverer, DelivererError> {
        Ok(match self.keys {
            Keys::Rest(keys) => ApiDeliverer::Rest(rest::RestDeliverer::new(client, keys, fields)?),
            Keys::Scim(keys) => ApiDeliverer::Scim(scim::ScimDeliverer::new(client, keys, fields)?),
        })
    }
}

/// The deliverer of an API output, whichever its kind.
pub enum ApiDeliverer {
    Rest(rest::RestDeliverer),
    Scim(scim::ScimDeliverer),
}

impl Deliverer for ApiDeliverer {
    async fn deliver(&self, item: &Item) -> Outcome {
        match self {
            ApiDeliverer::Rest(d) => d.deliver(item).await,
            ApiDeliverer::Scim(d) => d.deliver(item).await,
        }
    }
}

impl Item {
    /// The PII values of the item's records, to hide from anything said about it.
    pub fn pii(&self, fields: &[FieldInfo]) -> PiiValues {
        PiiValues::new(
            self.records
                .iter()
                .flat_map(|rec| rec.values.iter().zip(fields))
                .filter(|(_, f)| f.pii)
                .map(|(v, _)| template::text_of(v)),
        )
    }
}

/// A failure reason for an answer: its status and body, cut to a few hundred characters,
/// with the PII values of the item's records masked (APIs like to echo what they refuse), in
/// any of the forms [`PiiValues`] knows, before the cut so that no part of a value survives it.
pub fn failure_reason(prefix: &str, body: &[u8], item: &Item, fields: &[FieldInfo]) -> String {
    let pii = item.pii(fields);
    let hide = |text: String| pii.hide(&text);
    // A JSON answer is masked in its decoded strings too, so an echo written with escapes
    // (`\u00e9`, `\/`) is caught; it is then shown in its compact form.
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut json) => {
            mask_strings(&mut json, &hide);
            json.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text: String = hide(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return prefix.to_string();
    }
    let mut cut: String = text.chars().take(REASON_BODY_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{prefix}: {cut}")
}

/// Applies `hide` to every string (and object key) inside `json`.
fn mask_strings(json: &mut serde_json::Value, hide: &impl Fn(String) -> String) {
    match json {
        serde_json::Value::String(s) => *s = hide(std::mem::take(s)),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_strings(v, hide)),
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut v) in entries {
                mask_strings(&mut v, hide);
                map.insert(hide(k), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_mask_pii_values_and_are_cut_short() {
        let fields = vec![
            FieldInfo {
                name: "ssn".into(),
                pii: true,
                key: false,
            },
            FieldInfo {
                name: "id".into(),
                pii: false,
                key: true,
            },
        ];
        let item = Item {
            records: vec![SpoolRecord {
                line: 0,
                row: 2,
                sheet: None,
                values: vec!["123-45-6789".into(), "E1".into()],
            }],
            idempotency_key: "k".into(),
            known_id: None,
        };
        let body = br#"{"error":"ssn 123-45-6789 of E1 is taken"}"#;
        let reason = failure_reason("HTTP 422", body, &item, &fields);
        assert!(!reason.contains("6789"), "{reason}");
        assert!(reason.starts_with("HTTP 422: "), "{reason}");
        assert!(reason.contains("E1"), "{reason}");
        let escaped = br#"{"error":"ssn 123\u002d45\u002d6789 refused"}"#;
        let reason = failure_reason("HTTP 422", escaped, &item, &fields);
        assert!(!reason.contains("6789"), "{reason}");
        let long = "x".repeat(5000);
        assert!(
            failure_reason("HTTP 500", long.as_bytes(), &item, &fields)
                .chars()
                .count()
                < 320
        );
        assert_eq!(failure_reason("HTTP 500", b"", &item, &fields), "HTTP 500");
    }
}
