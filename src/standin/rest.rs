//! The REST employee API of the stand-in: create-or-apply by key, replace, merge-patch, bulk.
//!
//! An employee is identified by the value of [`Config::key_field`](super::Config::key_field) in
//! its body; the server gives it an id `E1`, `E2`, … on first sight. Posting a known key applies
//! the new body to the same record, so every application shows in [`Employee::applied`]. A string
//! value `REJECT-ME` anywhere in a body makes the request fail validation (422), which lets tests
//! produce a permanent row failure.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::reply::{self, Refusal, Surface};
use super::Shared;

/// The value that makes a body fail validation.
const REJECT_ME: &str = "REJECT-ME";

/// A REST employee as the server holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Employee {
    /// Server-assigned id, `E` and a sequence number.
    pub id: String,
    /// How many creates/updates were applied to this record (replays do not count).
    pub applied: u32,
    /// The body as last applied.
    pub body: Value,
}

/// Employees by key, with an index from id to key.
#[derive(Debug, Default)]
pub(super) struct Employees {
    by_key: BTreeMap<String, Employee>,
    key_of_id: HashMap<String, String>,
}

impl Employees {
    /// All employees by key.
    pub(super) fn by_key(&self) -> &BTreeMap<String, Employee> {
        &self.by_key
    }

    /// Creates the record for `key` or applies `body` to it; returns its id.
    fn apply(&mut self, key: String, body: Value) -> String {
        if let Some(existing) = self.by_key.get_mut(&key) {
            existing.applied = existing.applied.saturating_add(1);
            existing.body = body;
            return existing.id.clone();
        }
        let id = format!("E{}", self.by_key.len() + 1);
        self.key_of_id.insert(id.clone(), key.clone());
        self.by_key.insert(
            key,
            Employee {
                id: id.clone(),
                applied: 1,
                body,
            },
        );
        id
    }

    fn by_id(&mut self, id: &str) -> Option<(&String, &mut Employee)> {
        let key = self.key_of_id.get(id)?;
        let employee = self.by_key.get_mut(key)?;
        Some((key, employee))
    }
}

/// `POST /api/v1/employees`.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let value = Surface::Rest.body(&headers, &body)?;
    let key_field = &shared.config.key_field;
    let key = keyed(&value, key_field)?;
    let id = shared.lock().employees.apply(key.clone(), value);
    Ok(reply::json(
        StatusCode::CREATED,
        &json!({ "id": id, key_field: key }),
    ))
}

/// `POST /api/v1/employees/bulk`: a JSON array or `{"employees": [...]}`; all or nothing.
pub(super) async fn bulk(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let not_a_batch = || {
        refusal(
            StatusCode::BAD_REQUEST,
            "expected a JSON array or {\"employees\": [...]}",
        )
    };
    let elements = match Surface::Rest.body(&headers, &body)? {
        Value::Array(elements) => elements,
        Value::Object(mut object) => match object.remove("employees") {
            Some(Value::Array(elements)) => elements,
            _ => return Err(not_a_batch()),
        },
        _ => return Err(not_a_batch()),
    };
    let key_field = &shared.config.key_field;
    let keys = elements
        .iter()
        .enumerate()
        .map(|(index, element)| {
            keyed(element, key_field).map_err(|mut refused| {
                if let Some(object) = refused.body.as_object_mut() {
                    object.insert("index".to_string(), Value::from(index));
                }
                refused
            })
        })
        .collect::<Result<Vec<String>, Refusal>>()?;
    let results: Vec<Value> = {
        let mut state = shared.lock();
        keys.into_iter()
            .zip(elements)
            .map(|(key, element)| {
                let id = state.employees.apply(key.clone(), element);
                json!({ "id": id, key_field: key })
            })
            .collect()
    };
    Ok(reply::json(StatusCode::OK, &json!({ "results": results })))
}

/// `PUT /api/v1/employees/{id}`: the body replaces the record.
pub(super) async fn replace(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    update(&shared, &id, &headers, &body, |_, new| new)
}

/// `PATCH /api/v1/employees/{id}`: the body is a JSON merge patch (RFC 7396) of the record.
pub(super) async fn patch(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    update(&shared, &id, &headers, &body, |old, patch| {
        let mut merged = old.clone();
        merge_patch(&mut merged, patch);
        merged
    })
}

/// Applies `combine(old body, request body)` to the employee `id`.
fn update(
    shared: &Shared,
    id: &str,
    headers: &HeaderMap,
    bytes: &[u8],
    combine: impl FnOnce(&Value, Value) -> Value,
) -> Result<Response, Refusal> {
    let value = Surface::Rest.body(headers, bytes)?;
    valid_object(&value)?;
    let key_field = &shared.config.key_field;
    let mut state = shared.lock();
    let (key, employee) = state
        .employees
        .by_id(id)
        .ok_or_else(|| refusal(StatusCode::NOT_FOUND, &format!("no employee {id}")))?;
    let new_body = combine(&employee.body, value);
    if key_of(&new_body, key_field)?.is_some_and(|k| k != *key) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            &format!("{key_field} does not match employee {id}"),
        ));
    }
    employee.body = new_body;
    employee.applied = employee.applied.saturating_add(1);
    Ok(reply::json(StatusCode::OK, &json!({ "id": id })))
}

/// A REST error `{"error": message}`.
fn refusal(status: StatusCode, message: &str) -> Refusal {
    Surface::Rest.error(status, message)
}

/// The key of a body that may be created: a valid object with its key field.
fn keyed(value: &Value, key_field: &str) -> Result<String, Refusal> {
    valid_object(value)?;
    key_of(value, key_field)?
        .ok_or_else(|| refusal(StatusCode::BAD_REQUEST, &format!("missing {key_field}")))
}

/// The key field as a string: a non-empty string or a number; `None` when absent or empty.
fn key_of(value: &Value, key_field: &str) -> Result<Option<String>, Refusal> {
    match value.get(key_field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(refusal(
            StatusCode::BAD_REQUEST,
            &format!("{key_field} must be a string or a number"),
        )),
    }
}

/// A JSON object without any `REJECT-ME` value.
fn valid_object(value: &Value) -> Result<(), Refusal> {
    if !value.is_object() {
        return Err(refusal(StatusCode::BAD_REQUEST, "expected a JSON object"));
    }
    match rejected_field(value, "") {
        Some(field) => Err(Refusal::rest(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": "validation failed", "detail": format!("field {field} rejected") }),
        )),
        None => Ok(()),
    }
}

/// Where the first `REJECT-ME` string sits: `name`, `address.city` or `phones[1]`.
fn rejected_field(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::String(s) if s == REJECT_ME => Some(at.to_string()),
        Value::Object(object) => object.iter().find_map(|(k, v)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            rejected_field(v, &path)
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| rejected_field(v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(&key);
            } else {
                merge_patch(target.entry(key).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::TestApi;
    use super::super::Config;
    use super::*;
    use reqwest::Method;

    #[test]
    fn rejected_field_names_its_path() {
        let body = json!({"a": 1, "addr": {"city": "x", "zip": "REJECT-ME"}});
        assert_eq!(rejected_field(&body, ""), Some("addr.zip".to_string()));
        let list = json!({"phones": ["1", "REJECT-ME"]});
        assert_eq!(rejected_field(&list, ""), Some("phones[1]".to_string()));
        assert_eq!(rejected_field(&json!({"a": "ok"}), ""), None);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[tokio::test]
    async fn create_apply_update_and_errors() {
        let api = TestApi::start(Config::default());
        let token = api.token().await;
        let first = api
            .post_employee(&token, None, r#"{"employee_id": 42, "name": "A"}"#)
            .await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        assert_eq!(first, json!({"id": "E1", "employee_id": "42"}));
        let again = api
            .post_employee(&token, None, r#"{"employee_id": "42", "name": "B"}"#)
            .await;
        assert_eq!(again.json::<Value>().await.unwrap()["id"], "E1");
        let patched = api
            .call(
                Method::PATCH,
                "/api/v1/employees/E1",
                &token,
                None,
                Some(r#"{"dept": "HR"}"#),
            )
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
        let unknown = api
            .call(
                Method::PUT,
                "/api/v1/employees/E9",
                &token,
                None,
                Some("{}"),
            )
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
        let missing = api.post_employee(&token, None, r#"{"name": "C"}"#).await;
        assert_eq!(missing.status(), 400);
        assert_eq!(
            missing.json::<Value>().await.unwrap(),
            json!({"error": "missing employee_id"})
        );
        let broken = api.post_employee(&token, None, "{not json").await;
        assert_eq!(broken.status(), 400);
        let message = broken.json::<Value>().await.unwrap()["error"].to_string();
        assert!(message.contains("invalid JSON: "), "{message}");
        let rejected = api
            .post_employee(
                &token,
                None,
                r#"{"employee_id": "5", "title": "REJECT-ME"}"#,
            )
            .await;
        assert_eq!(rejected.status(), 422);
        assert_eq!(
            rejected.json::<Value>().await.unwrap(),
            json!({"error": "validation failed", "detail": "field title rejected"})
        );
        let as_text = api
            .http
            .post(format!("{}/api/v1/employees", api.base_url()))
            .bearer_auth(&token)
            .header("Content-Type", "text/plain")
            .body(r#"{"employee_id": "6"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(as_text.status(), 415);
        let record = api.record();
        assert_eq!(record.employees.len(), 1);
        let employee = &record.employees["42"];
        assert_eq!(employee.applied, 3);
        assert_eq!(
            employee.body,
            json!({"employee_id": "42", "name": "B", "dept": "HR"})
        );
    }

    // Started and stopped inside a multi-threaded runtime too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bulk_applies_all_or_nothing() {
        let api = TestApi::start(Config::default());
        let token = api.token().await;
        let bulk = |body: &'static str| {
            api.call(
                Method::POST,
                "/api/v1/employees/bulk",
                &token,
                None,
                Some(body),
            )
        };
        let refused = bulk(r#"[{"employee_id": "1"}, {"name": "no key"}]"#)
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        assert_eq!(refused.json::<Value>().await.unwrap()["index"], 1);
        assert!(api.record().employees.is_empty());
        let wrapped = bulk(r#"{"employees": [{"employee_id": "1"}, {"employee_id": "2"}]}"#)
            .await
            .unwrap();
        assert_eq!(wrapped.status(), 200);
        let results = wrapped.json::<Value>().await.unwrap();
        assert_eq!(results["results"][0]["id"], "E1");
        assert_eq!(results["results"][1]["id"], "E2");
        let plain = bulk(r#"[{"employee_id": "2"}, {"employee_id": "3"}]"#)
            .await
            .unwrap();
        assert_eq!(plain.status(), 200);
        let record = api.record();
        assert_eq!(record.employees.len(), 3);
        assert_eq!(record.employees["2"].applied, 2);
        assert_eq!(record.employees["3"].id, "E3");
    }
}
