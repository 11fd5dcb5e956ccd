//! SCIM 2.0 users (RFC 7643/7644) of the stand-in: list by filter, create, read, replace, patch,
//! delete.
//!
//! The server keeps the resource as the client sent it (attribute names matched
//! case-insensitively), adds `id` and `meta`, defaults `active` to true, and enforces what a
//! provisioning client most often gets wrong: `userName` is required and unique
//! (case-insensitively) and `externalId` is unique, among users not deleted. Every error is a
//! SCIM Error body.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{SecondsFormat, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::reply::{self, Refusal, Surface};
use super::scim_filter::{same_user_name, Filter};
use super::scim_patch;
use super::Shared;

/// The core User schema URN.
pub(super) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A SCIM user as the server holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    /// Server-assigned id (random, UUID-shaped).
    pub id: String,
    /// The `userName` attribute.
    pub user_name: String,
    /// The `externalId` attribute, if set.
    pub external_id: Option<String>,
    /// The `active` attribute (true unless the client set it false).
    pub active: bool,
    /// The full stored resource, `id` and `meta` included.
    pub resource: Value,
    /// Whether the user was deleted (deleted users are kept here but invisible to clients).
    pub deleted: bool,
}

/// SCIM users in creation order.
#[derive(Debug, Default)]
pub(super) struct Users {
    all: Vec<ScimUser>,
}

/// The attributes the server checks, read from a resource.
struct Checked {
    user_name: String,
    external_id: Option<String>,
    active: bool,
}

impl Users {
    /// All users, deleted ones included.
    pub(super) fn all(&self) -> &[ScimUser] {
        &self.all
    }

    /// Index of the live user `id`.
    fn live(&self, id: &str) -> Option<usize> {
        self.all.iter().position(|u| u.id == id && !u.deleted)
    }

    /// Validates `resource` and stores it as a new user (`at` = None) or over user `at`;
    /// returns the stored resource.
    fn save(
        &mut self,
        at: Option<usize>,
        mut resource: Map<String, Value>,
        base_url: &str,
    ) -> Result<Value, Refusal> {
        let checked = check(&mut resource)?;
        let clash = self.all.iter().enumerate().find_map(|(i, u)| {
            if u.deleted || Some(i) == at {
                None
            } else if same_user_name(&u.user_name, &checked.user_name) {
                Some("userName is already in use")
            } else if checked.external_id.is_some() && u.external_id == checked.external_id {
                Some("externalId is already in use")
            } else {
                None
            }
        });
        if let Some(detail) = clash {
            return Err(Refusal::scim(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                detail,
            ));
        }
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let existing = at.and_then(|i| self.all.get(i));
        let id = existing.map_or_else(new_id, |u| u.id.clone());
        let created = existing
            .and_then(|u| u.resource.pointer("/meta/created").cloned())
            .unwrap_or_else(|| Value::from(now.clone()));
        resource.insert("id".to_string(), Value::from(id.clone()));
        resource.insert(
            "meta".to_string(),
            json!({
                "resourceType": "User",
                "created": created,
                "lastModified": now,
                "location": format!("{base_url}/scim/v2/Users/{id}"),
            }),
        );
        let user = ScimUser {
            id,
            user_name: checked.user_name,
            external_id: checked.external_id,
            active: checked.active,
            resource: Value::Object(resource),
            deleted: false,
        };
        let stored = user.resource.clone();
        match at.and_then(|i| self.all.get_mut(i)) {
            Some(slot) => *slot = user,
            None => self.all.push(user),
        }
        Ok(stored)
    }
}

/// Checks the attributes the server relies on, drops client-sent `id`/`meta` (read-only) and
/// defaults `active` to true.
fn check(resource: &mut Map<String, Value>) -> Result<Checked, Refusal> {
    let invalid =
        |detail: &str| Refusal::scim(StatusCode::BAD_REQUEST, Some("invalidValue"), detail);
    if !has_schema(resource, USER_SCHEMA) {
        return Err(Refusal::scim(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "schemas must contain urn:ietf:params:scim:schemas:core:2.0:User",
        ));
    }
    for read_only in ["id", "meta"] {
        remove_ci(resource, read_only);
    }
    let user_name = match get_ci(resource, "userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(invalid(
                "userName is required and must be a non-empty string",
            ))
        }
    };
    let external_id = match get_ci(resource, "externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("externalId must be a string")),
    };
    let active = match get_ci(resource, "active") {
        None | Some(Value::Null) => {
            remove_ci(resource, "active");
            resource.insert("active".to_string(), Value::Bool(true));
            true
        }
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("active must be a boolean")),
    };
    Ok(Checked {
        user_name,
        external_id,
        active,
    })
}

/// The key in `map` equal to `name` ignoring ASCII case (SCIM attribute names are
/// case-insensitive).
pub(super) fn key_ci(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The member of `map` named `name` ignoring ASCII case.
pub(super) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Removes the member of `map` named `name` ignoring ASCII case, if there is one.
pub(super) fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    if let Some(key) = key_ci(map, name) {
        map.remove(&key);
    }
}

/// Whether the `schemas` of `map` (a resource or a message) list `urn`.
pub(super) fn has_schema(map: &Map<String, Value>, urn: &str) -> bool {
    get_ci(map, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(urn)))
}

/// A random id shaped like a version 4 UUID.
fn new_id() -> String {
    let mut bytes: [u8; 16] = rand::rng().random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

fn not_found() -> Refusal {
    Refusal::scim(StatusCode::NOT_FOUND, None, "no such user")
}

/// The body as a JSON object, or the SCIM error to answer.
fn object_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match Surface::Scim.body(headers, bytes)? {
        Value::Object(object) => Ok(object),
        _ => Err(Refusal::scim(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "expected a JSON object",
        )),
    }
}

/// `GET /scim/v2/Users[?filter=...]`.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Query(query) = query.map_err(|_| {
        Refusal::scim(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "malformed query string",
        )
    })?;
    let filter = query
        .get("filter")
        .map(|f| Filter::parse(f))
        .transpose()
        .map_err(|e| {
            Refusal::scim(
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
                &e.to_string(),
            )
        })?;
    let found: Vec<Value> = shared
        .lock()
        .users
        .all
        .iter()
        .filter(|u| !u.deleted && filter.as_ref().is_none_or(|f| f.matches(u)))
        .map(|u| u.resource.clone())
        .collect();
    Ok(reply::scim(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": found.len(),
            "startIndex": 1,
            "itemsPerPage": found.len(),
            "Resources": found,
        }),
    ))
}

/// `POST /scim/v2/Users`.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let resource = object_body(&headers, &body)?;
    let stored = shared.lock().users.save(None, resource, &shared.base_url)?;
    let mut response = reply::scim(StatusCode::CREATED, &stored);
    let location = stored
        .pointer("/meta/location")
        .and_then(Value::as_str)
        .and_then(|l| HeaderValue::from_str(l).ok());
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /scim/v2/Users/{id}`.
pub(super) async fn fetch(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let state = shared.lock();
    let user = state
        .users
        .live(&id)
        .and_then(|i| state.users.all.get(i))
        .ok_or_else(not_found)?;
    Ok(reply::scim(StatusCode::OK, &user.resource))
}

/// `PUT /scim/v2/Users/{id}`: the body replaces the user's attributes (id and meta kept).
pub(super) async fn replace(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let resource = object_body(&headers, &body)?;
    update(&shared, &id, |_| Ok(resource))
}

/// `PATCH /scim/v2/Users/{id}` with a PatchOp body.
pub(super) async fn patch(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let request = Surface::Scim.body(&headers, &body)?;
    update(&shared, &id, |current| {
        scim_patch::apply(current, &request)
            .map_err(|e| Refusal::scim(StatusCode::BAD_REQUEST, Some(e.scim_type), &e.detail))
    })
}

/// Saves `change(current resource)` over the live user `id`.
fn update(
    shared: &Shared,
    id: &str,
    change: impl FnOnce(&Map<String, Value>) -> Result<Map<String, Value>, Refusal>,
) -> Result<Response, Refusal> {
    let mut state = shared.lock();
    let users = &mut state.users;
    let at = users.live(id).ok_or_else(not_found)?;
    let empty = Map::new();
    let current = users
        .all
        .get(at)
        .and_then(|u| u.resource.as_object())
        .unwrap_or(&empty);
    let changed = change(current)?;
    let stored = users.save(Some(at), changed, &shared.base_url)?;
    Ok(reply::scim(StatusCode::OK, &stored))
}

/// `DELETE /scim/v2/Users/{id}`: 204, and the user is marked deleted.
pub(super) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let mut state = shared.lock();
    let users = &mut state.users;
    let user = users
        .live(&id)
        .and_then(|i| users.all.get_mut(i))
        .ok_or_else(not_found)?;
    user.deleted = true;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::TestApi;
    use super::super::Config;
    use super::*;
    use reqwest::{Method, Url};

    fn user_body(user_name: &str, external_id: &str) -> String {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "externalId": external_id,
            "name": {"givenName": "Ann", "familyName": "Lee"},
        })
        .to_string()
    }

    async fn create_user(api: &TestApi, token: &str, body: &str) -> reqwest::Response {
        api.call(Method::POST, "/scim/v2/Users", token, None, Some(body))
            .await
            .unwrap()
    }

    async fn filtered(api: &TestApi, token: &str, filter: &str) -> reqwest::Response {
        let url = Url::parse_with_params("http://x/scim/v2/Users", &[("filter", filter)]).unwrap();
        let path = format!("{}?{}", url.path(), url.query().unwrap_or(""));
        api.call(Method::GET, &path, token, None, None)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn create_filter_conflict_and_delete() {
        let api = TestApi::start(Config::default());
        let token = api.token().await;
        let created = create_user(&api, &token, &user_body("ann.lee", r#"HR-"1"\x"#)).await;
        assert_eq!(created.status(), 201);
        assert_eq!(
            created.headers()[header::CONTENT_TYPE],
            "application/scim+json"
        );
        let location = created.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        let created: Value = created.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        assert!(
            location.ends_with(&format!("/scim/v2/Users/{id}")),
            "{location}"
        );
        assert_eq!(created["active"], true);
        assert_eq!(created["meta"]["resourceType"], "User");

        let found = filtered(&api, &token, r#"externalId eq "HR-\"1\"\\x""#).await;
        assert_eq!(found.status(), 200);
        let found: Value = found.json().await.unwrap();
        assert_eq!(found["totalResults"], 1);
        assert_eq!(found["Resources"][0]["id"], id.as_str());
        let by_name: Value = filtered(&api, &token, r#"USERNAME eq "Ann.Lee""#)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(by_name["totalResults"], 1);
        let bad = filtered(&api, &token, r#"userName eq "open"#).await;
        assert_eq!(bad.status(), 400);
        assert_eq!(
            bad.json::<Value>().await.unwrap()["scimType"],
            "invalidFilter"
        );

        let same_name = create_user(&api, &token, &user_body("ANN.LEE", "other")).await;
        assert_eq!(same_name.status(), 409);
        let error: Value = same_name.json().await.unwrap();
        assert_eq!(error["scimType"], "uniqueness");
        assert_eq!(error["status"], "409");
        assert_eq!(
            error["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        let same_external = create_user(&api, &token, &user_body("bob", r#"HR-"1"\x"#)).await;
        assert_eq!(same_external.status(), 409);
        let nameless =
            create_user(&api, &token, &json!({"schemas": [USER_SCHEMA]}).to_string()).await;
        assert_eq!(
            nameless.json::<Value>().await.unwrap()["scimType"],
            "invalidValue"
        );

        let path = format!("/scim/v2/Users/{id}");
        let deleted = api
            .call(Method::DELETE, &path, &token, None, None)
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        let gone = api
            .call(Method::GET, &path, &token, None, None)
            .await
            .unwrap();
        assert_eq!(gone.status(), 404);
        assert_eq!(gone.json::<Value>().await.unwrap()["status"], "404");
        let after: Value = filtered(&api, &token, r#"userName eq "ann.lee""#)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(after["totalResults"], 0);
        // The name is free again once its holder is deleted.
        let reused = create_user(&api, &token, &user_body("ann.lee", "HR-2")).await;
        assert_eq!(reused.status(), 201);
        let record = api.record();
        assert_eq!(record.users.len(), 2);
        assert!(record.users[0].deleted);
        assert_eq!(record.users[0].external_id.as_deref(), Some(r#"HR-"1"\x"#));
    }

    #[tokio::test]
    async fn patch_and_put() {
        let api = TestApi::start(Config::default());
        let token = api.token().await;
        let created: Value = create_user(&api, &token, &user_body("ann", "A1"))
            .await
            .json()
            .await
            .unwrap();
        let path = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());
        let deactivate = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "active", "value": false},
                {"op": "replace", "path": "name.givenName", "value": "Anna"},
            ],
        })
        .to_string();
        let patched = api
            .call(Method::PATCH, &path, &token, None, Some(&deactivate))
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
        let patched: Value = patched.json().await.unwrap();
        assert_eq!(patched["active"], false);
        assert_eq!(
            patched["name"],
            json!({"givenName": "Anna", "familyName": "Lee"})
        );
        assert_eq!(patched["meta"]["created"], created["meta"]["created"]);
        let user = &api.record().users[0];
        assert!(!user.active);

        let no_schema = api
            .call(
                Method::PATCH,
                &path,
                &token,
                None,
                Some(r#"{"Operations": []}"#),
            )
            .await
            .unwrap();
        assert_eq!(no_schema.status(), 400);
        assert_eq!(
            no_schema.json::<Value>().await.unwrap()["scimType"],
            "invalidSyntax"
        );

        let put = json!({"schemas": [USER_SCHEMA], "userName": "ann", "externalId": "A1"});
        let replaced: Value = api
            .call(Method::PUT, &path, &token, None, Some(&put.to_string()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(replaced["id"], created["id"]);
        assert_eq!(replaced["active"], true);
        assert!(replaced.get("name").is_none());
        let missing = api
            .call(
                Method::PUT,
                "/scim/v2/Users/nope",
                &token,
                None,
                Some(&put.to_string()),
            )
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    }
}
