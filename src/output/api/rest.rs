//! `[[output]] type = "http"`: each record (or batch) becomes one REST request; the answer is
//! judged by the output's `success` rules and may give an id for the id map. In a lifecycle
//! profile, `[output.on.<kind>]` gives each kind of change its own method, URL and body.

use std::collections::BTreeSet;

use reqwest::Method;

use super::client::{ApiClient, Call};
use super::template::{BodyPlan, RenderError, TemplateError, UrlTemplate};
use super::{failure_reason, Deliverer, Item, Outcome};
use crate::kernel::change::CHANGE_FIELD;
use crate::kernel::mapped::FieldInfo;
use crate::profile::{HttpKeys, HttpMethod, SuccessSpec};

/// Why an item makes no request.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error("an empty batch")]
    EmptyBatch,
    #[error(transparent)]
    Url(#[from] RenderError),
}

/// The success rule an answer broke, said after its status (`HTTP 200 without /id in the
/// answer`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuccessRuleError {
    /// The status is not a successful one: the status says it all.
    #[error("")]
    Status,
    #[error(" without {pointer} in the answer")]
    Missing { pointer: String },
    #[error(" with {pointer} in the answer")]
    Present { pointer: String },
}

/// How a record is sent: its method, URL and body.
#[derive(Debug)]
struct Route {
    method: HttpMethod,
    url: UrlTemplate,
    body: BodyPlan,
}

impl Route {
    /// The route of `method`, `url` and `body`, compiled against `fields`.
    fn compile(
        method: HttpMethod,
        url: &str,
        body: Option<&serde_json::Value>,
        fields: &[FieldInfo],
    ) -> Result<Route, TemplateError> {
        Ok(Route {
            method,
            url: UrlTemplate::compile(url, fields)?,
            body: BodyPlan::compile(body, fields)?,
        })
    }
}

/// The output's own route (kind `None`), then those of `[output.on.<kind>]`; a key a kind
/// leaves out is the output's own.
fn routes(
    keys: &HttpKeys,
    fields: &[FieldInfo],
) -> Result<Vec<(Option<String>, Route)>, TemplateError> {
    let own = Route::compile(keys.method, &keys.url, keys.body.as_ref(), fields)?;
    let mut routes = vec![(None, own)];
    for (kind, r) in &keys.on {
        let url = r.url.as_deref().unwrap_or(&keys.url);
        let body = r.body.as_ref().or(keys.body.as_ref());
        let method = r.method.unwrap_or(keys.method);
        routes.push((
            Some(kind.clone()),
            Route::compile(method, url, body, fields)?,
        ));
    }
    Ok(routes)
}

/// The fields (places in `fields`) whose values an `http` output's requests carry, in its
/// URLs or bodies, by any route; every field when its templates do not compile (`check`
/// says why).
pub fn fields_sent(keys: &HttpKeys, fields: &[FieldInfo]) -> Vec<usize> {
    let Ok(routes) = routes(keys, fields) else {
        return (0..fields.len()).collect();
    };
    let mut used = BTreeSet::new();
    for (_, route) in &routes {
        route.url.fields(&mut used);
        route.body.fields(&mut used);
    }
    used.into_iter().collect()
}

/// Sends the items of one `http` output.
#[derive(Debug)]
pub struct RestDeliverer {
    client: ApiClient,
    keys: HttpKeys,
    /// The output's own route (kind `None`), then those of `[output.on.<kind>]`, chosen by
    /// the `change` field.
    routes: Vec<(Option<String>, Route)>,
    change: Option<usize>,
    fields: Vec<FieldInfo>,
}

impl RestDeliverer {
    /// A deliverer for `client` and the output's own keys.
    pub fn new(
        client: ApiClient,
        keys: &HttpKeys,
        fields: &[FieldInfo],
    ) -> Result<RestDeliverer, TemplateError> {
        Ok(RestDeliverer {
            client,
            keys: keys.clone(),
            routes: routes(keys, fields)?,
            change: fields.iter().position(|f| f.name == CHANGE_FIELD),
            fields: fields.to_vec(),
        })
    }

    /// The route of `record`: its kind of change's, if the output names one, else the
    /// output's own.
    fn route(&self, record: &super::spool::SpoolRecord) -> &Route {
        let kind = self
            .change
            .and_then(|i| record.values.get(i))
            .map(super::template::text_of);
        let on = kind.and_then(|kind| {
            self.routes
                .iter()
                .find(|(k, _)| k.as_deref() == Some(&kind))
        });
        &on.unwrap_or(&self.routes[0]).1
    }

    fn request(&self, item: &Item) -> Result<Call, RequestError> {
        let first = item.records.first().ok_or(RequestError::EmptyBatch)?;
        let route = self.route(first);
        let url = route.url.render(first, item.known_id.as_deref())?;
        let body = if route.method == HttpMethod::Delete {
            None
        } else {
            let value = if self.keys.batch_size > 1 {
                let array = serde_json::Value::Array(
                    item.records.iter().map(|r| route.body.render(r)).collect(),
                );
                match &self.keys.batch_wrapper {
                    Some(key) => serde_json::json!({ key.as_str(): array }),
                    None => array,
                }
            } else {
                route.body.render(first)
            };
            Some((value.to_string().into_bytes(), "application/json"))
        };
        let method = match route.method {
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Patch => Method::PATCH,
            HttpMethod::Delete => Method::DELETE,
        };
        Ok(Call {
            method,
            url,
            body,
            idempotency_key: Some(item.idempotency_key.clone()),
        })
    }
}

impl Deliverer for RestDeliverer {
    async fn deliver(&self, item: &Item) -> Outcome {
        let call = match self.request(item) {
            Ok(c) => c,
            Err(e) => {
                return Outcome::Failed {
                    status: None,
                    attempts: 0,
                    reason: e.to_string(),
                }
            }
        };
        let answer = match self.client.call(&call).await {
            Ok(a) => a,
            Err(g) => return super::gave_up(&g, g.attempts, item, &self.fields),
        };
        let prefix = format!("HTTP {}", answer.status);
        match judge(&self.keys.success, answer.status, &answer.body) {
            Ok(json) => Outcome::Delivered {
                status: answer.status,
                attempts: answer.attempts,
                captured_id: self
                    .keys
                    .capture_id
                    .as_deref()
                    .and_then(|p| json.as_ref()?.pointer(p))
                    .map(super::template::text_of)
                    .filter(|id| !id.is_empty()),
                note: None,
            },
            Err(rule) => Outcome::Failed {
                status: Some(answer.status),
                attempts: answer.attempts,
                reason: failure_reason(
                    &format!("{prefix}{rule}"),
                    &answer.body,
                    item,
                    &self.fields,
                ),
            },
        }
    }
}

/// Applies the success rules to an answer: the parsed JSON body (if it is JSON) on success,
/// or what the answer broke (empty when only the status is wrong).
pub fn judge(
    rules: &SuccessSpec,
    status: u16,
    body: &[u8],
) -> Result<Option<serde_json::Value>, SuccessRuleError> {
    let status_ok = if rules.status.is_empty() {
        (200..300).contains(&status)
    } else {
        rules.status.contains(&status)
    };
    if !status_ok {
        return Err(SuccessRuleError::Status);
    }
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let at = |p: &str| json.as_ref().and_then(|j| j.pointer(p)).is_some();
    if let Some(p) = &rules.present {
        if !at(p) {
            return Err(SuccessRuleError::Missing { pointer: p.clone() });
        }
    }
    if let Some(p) = &rules.absent {
        if at(p) {
            return Err(SuccessRuleError::Present { pointer: p.clone() });
        }
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rules_check_status_and_pointers() {
        let default = SuccessSpec::default();
        assert!(judge(&default, 201, b"{}").is_ok());
        assert!(judge(&default, 302, b"").is_err());
        let strict = SuccessSpec {
            status: vec![200],
            present: Some("/id".into()),
            absent: Some("/error".into()),
        };
        assert_eq!(
            judge(&strict, 200, br#"{"id": 7}"#).unwrap(),
            Some(serde_json::json!({"id": 7}))
        );
        assert_eq!(
            judge(&strict, 200, br#"{"id": 7, "error": "dup"}"#)
                .unwrap_err()
                .to_string(),
            " with /error in the answer"
        );
        assert_eq!(
            judge(&strict, 200, b"not json").unwrap_err().to_string(),
            " without /id in the answer"
        );
        assert!(judge(&strict, 201, br#"{"id": 7}"#).is_err());
    }
}
