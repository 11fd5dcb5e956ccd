//! `[[output]] type = "scim"`: each record is a user at a SCIM 2.0 service (RFC 7643/7644),
//! created, updated, deactivated or deleted there.
//!
//! The record becomes a User resource by a plan worked out once from the field names: dotted
//! names nest (`name.givenName`), `emails.<type>` and `phoneNumbers.<type>` become
//! multi-valued entries, `enterprise.<attr>` goes to the enterprise extension. A user is found
//! by the id kept in the id map, or by a `filter` on the match attribute; a stale id (404)
//! and a create that collides with an existing user (409) fall back to one lookup, so a
//! repeated or crashed delivery ends in an update rather than a duplicate.

use reqwest::{Method, Url};
use serde_json::{Map, Value};

use super::client::{Answer, ApiClient, Call};
use super::spool::SpoolRecord;
use super::template::text_of;
use super::{failure_reason, Deliverer, Item, Outcome};
use crate::mask::shown;
use crate::profile::{ScimKeys, ScimUpdate};
use crate::transform::FieldInfo;

const CORE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";
/// Attributes sent as `[{"type": ..., "value": ...}]`, one entry per `<attr>.<type>` field.
const TYPED: [&str; 2] = ["emails", "phoneNumbers"];
/// Attributes the service manages; a field must not set them.
const RESERVED: [&str; 3] = ["schemas", "id", "meta"];
/// The prefix of fields that go to the enterprise extension.
const ENTERPRISE: &str = "enterprise";
/// The field whose value is sent as `active`.
const ACTIVE: &str = "active";

/// What a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Upsert,
    Deactivate,
    Delete,
    Skip,
}

impl Operation {
    /// The operation a cell names, case-insensitively (surrounding blanks ignored).
    fn parse(text: &str) -> Option<Operation> {
        let text = text.trim();
        [
            ("upsert", Operation::Upsert),
            ("deactivate", Operation::Deactivate),
            ("delete", Operation::Delete),
            ("skip", Operation::Skip),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, op)| op)
    }
}

/// An attribute of the resource and where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attr {
    /// A field's value.
    Value(usize),
    /// A complex attribute.
    Object(Vec<(String, Attr)>),
    /// A multi-valued attribute: `(type, field)` per entry.
    Typed(Vec<(String, usize)>),
}

/// What one field adds at the end of its path.
enum Leaf {
    Value(usize),
    Typed(String, usize),
}

/// How a record becomes a User resource.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResourcePlan {
    core: Vec<(String, Attr)>,
    enterprise: Vec<(String, Attr)>,
    active: Option<usize>,
}

impl ResourcePlan {
    /// The plan for `fields`, leaving out the `operation` field. Errors name the field whose
    /// name does not fit (attribute names compare case-insensitively, as in SCIM).
    fn compile(fields: &[FieldInfo], operation: Option<&str>) -> Result<ResourcePlan, String> {
        let mut plan = ResourcePlan {
            core: Vec::new(),
            enterprise: Vec::new(),
            active: None,
        };
        for (index, field) in fields.iter().enumerate() {
            let name = field.name.as_str();
            if Some(name) == operation {
                continue;
            }
            if name == ACTIVE {
                plan.active = Some(index);
                continue;
            }
            let parts: Vec<&str> = name.split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(format!("field {name:?} has an empty part between dots"));
            }
            let placed = match parts.as_slice() {
                [first, ..] if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(first)) => {
                    return Err(format!(
                        "field {name:?} would set {first:?}, which the SCIM service manages"
                    ))
                }
                [first, rest @ ..] if first.eq_ignore_ascii_case(ENTERPRISE) => {
                    if rest.is_empty() {
                        return Err(format!(
                            "field {name:?} names no attribute: use enterprise.<attribute>"
                        ));
                    }
                    place(&mut plan.enterprise, rest, Leaf::Value(index))
                }
                [first, rest @ ..] if TYPED.iter().any(|t| t.eq_ignore_ascii_case(first)) => {
                    match rest {
                        [kind] => place(
                            &mut plan.core,
                            &[first],
                            Leaf::Typed(kind.to_string(), index),
                        ),
                        _ => {
                            return Err(format!(
                                "field {name:?} must be named {first}.<type>, e.g. {first}.work"
                            ))
                        }
                    }
                }
                _ => place(&mut plan.core, &parts, Leaf::Value(index)),
            };
            placed.map_err(|()| {
                format!("field {name:?} conflicts with another field's SCIM attribute")
            })?;
        }
        Ok(plan)
    }

    /// The attributes of `rec` (no `schemas`): null values left out, the enterprise ones under
    /// the extension's URN. Fails only when `active` is not a boolean.
    fn render(
        &self,
        rec: &SpoolRecord,
        fields: &[FieldInfo],
    ) -> Result<Map<String, Value>, String> {
        let mut attrs = render_level(&self.core, rec);
        if let Some(i) = self.active {
            let value = rec.values.get(i).unwrap_or(&Value::Null);
            if !value.is_null() {
                let active = boolean(value).ok_or_else(|| {
                    let pii = fields.get(i).is_some_and(|f| f.pii);
                    format!(
                        "field active is {}, which is neither true nor false",
                        shown(&text_of(value), pii)
                    )
                })?;
                attrs.insert(ACTIVE.into(), Value::Bool(active));
            }
        }
        let enterprise = render_level(&self.enterprise, rec);
        if !enterprise.is_empty() {
            attrs.insert(ENTERPRISE_SCHEMA.into(), Value::Object(enterprise));
        }
        Ok(attrs)
    }
}

/// Adds `leaf` at `path` in `level`; `Err` when the name is taken or is both a value and an
/// object.
fn place(level: &mut Vec<(String, Attr)>, path: &[&str], leaf: Leaf) -> Result<(), ()> {
    let same = |key: &String, part: &str| key.eq_ignore_ascii_case(part);
    match path {
        [] => Err(()),
        [last] => {
            let existing = level.iter_mut().find(|(k, _)| same(k, last));
            match (existing, leaf) {
                (None, Leaf::Value(i)) => level.push((last.to_string(), Attr::Value(i))),
                (None, Leaf::Typed(kind, i)) => {
                    level.push((last.to_string(), Attr::Typed(vec![(kind, i)])))
                }
                (Some((_, Attr::Typed(entries))), Leaf::Typed(kind, i))
                    if !entries.iter().any(|(k, _)| same(k, &kind)) =>
                {
                    entries.push((kind, i))
                }
                (Some(_), _) => return Err(()),
            }
            Ok(())
        }
        [first, rest @ ..] => {
            if !level.iter().any(|(k, _)| same(k, first)) {
                level.push((first.to_string(), Attr::Object(Vec::new())));
            }
            match level.iter_mut().find(|(k, _)| same(k, first)) {
                Some((_, Attr::Object(children))) => place(children, rest, leaf),
                _ => Err(()),
            }
        }
    }
}

/// The attributes of one level for `rec`; null values and empty objects are left out.
fn render_level(level: &[(String, Attr)], rec: &SpoolRecord) -> Map<String, Value> {
    let value = |i: &usize| rec.values.get(*i).unwrap_or(&Value::Null);
    let mut map = Map::new();
    for (name, attr) in level {
        let rendered = match attr {
            Attr::Value(i) => Some(value(i).clone()).filter(|v| !v.is_null()),
            Attr::Object(children) => Some(render_level(children, rec))
                .filter(|m| !m.is_empty())
                .map(Value::Object),
            Attr::Typed(entries) => {
                let list: Vec<Value> = entries
                    .iter()
                    .map(|(kind, i)| (kind, text_of(value(i))))
                    .filter(|(_, text)| !text.trim().is_empty())
                    .enumerate()
                    .map(|(n, (kind, text))| {
                        let mut entry = Map::new();
                        entry.insert("type".into(), Value::String(kind.clone()));
                        entry.insert("value".into(), Value::String(text));
                        if n == 0 {
                            entry.insert("primary".into(), Value::Bool(true));
                        }
                        Value::Object(entry)
                    })
                    .collect();
                Some(list).filter(|l| !l.is_empty()).map(Value::Array)
            }
        };
        if let Some(v) = rendered {
            map.insert(name.clone(), v);
        }
    }
    map
}

/// A cell as a boolean: JSON booleans, 1/0, and true/false/yes/no/y/n in any case.
fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        other => match text_of(other).trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Some(true),
            "false" | "no" | "n" | "0" => Some(false),
            _ => None,
        },
    }
}

/// `value` as a SCIM filter string literal (JSON string rules): quotes and backslashes
/// escaped, control characters as `\uXXXX`.
fn filter_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `schemas` for a resource with `attrs`: core, and the enterprise extension when used.
fn schemas_of(attrs: &Map<String, Value>) -> Value {
    let mut schemas = vec![Value::String(CORE_SCHEMA.into())];
    if attrs.contains_key(ENTERPRISE_SCHEMA) {
        schemas.push(Value::String(ENTERPRISE_SCHEMA.into()));
    }
    Value::Array(schemas)
}

/// Delivers the rows of one `scim` output.
#[derive(Debug)]
pub struct ScimDeliverer {
    client: ApiClient,
    /// `{base_url}/Users`.
    users: Url,
    plan: ResourcePlan,
    /// The attribute users are found by, and the field holding it.
    match_attribute: &'static str,
    match_field: usize,
    operation_field: Option<usize>,
    update: ScimUpdate,
    allow_delete: bool,
    fields: Vec<FieldInfo>,
}

impl ScimDeliverer {
    /// A deliverer for `client` and the output's own keys; the error names a field whose name
    /// makes no SCIM attribute, a missing match or operation field, or a bad base URL.
    pub fn new(
        client: ApiClient,
        keys: &ScimKeys,
        fields: &[FieldInfo],
    ) -> Result<ScimDeliverer, String> {
        let mut users =
            Url::parse(&keys.base_url).map_err(|e| format!("base_url is not a valid URL: {e}"))?;
        if !matches!(users.scheme(), "http" | "https") {
            return Err("base_url must be an http(s) URL".into());
        }
        users
            .path_segments_mut()
            .map_err(|()| "base_url cannot have paths below it".to_string())?
            .pop_if_empty()
            .push("Users");
        let position = |name: &str| fields.iter().position(|f| f.name == name);
        let match_attribute = keys.match_on.attribute();
        let match_field = position(match_attribute).ok_or_else(|| {
            format!("users are matched by {match_attribute}, so a field must be named {match_attribute:?}")
        })?;
        let operation_field = match &keys.operation_field {
            Some(name) => Some(
                position(name).ok_or_else(|| format!("operation_field {name:?} is not a field"))?,
            ),
            None => None,
        };
        Ok(ScimDeliverer {
            client,
            users,
            plan: ResourcePlan::compile(fields, keys.operation_field.as_deref())?,
            match_attribute,
            match_field,
            operation_field,
            update: keys.update,
            allow_delete: keys.allow_delete,
            fields: fields.to_vec(),
        })
    }

    /// What `rec` asks for; the error names the allowed values (and the cell only as shown).
    fn operation(&self, rec: &SpoolRecord) -> Result<Operation, String> {
        let Some(i) = self.operation_field else {
            return Ok(Operation::Upsert);
        };
        let text = rec.values.get(i).map(text_of).unwrap_or_default();
        Operation::parse(&text).ok_or_else(|| {
            let field = self.fields.get(i);
            format!(
                "field {} is {}, which is not an operation: use upsert, deactivate, delete or skip",
                field.map_or("?", |f| f.name.as_str()),
                shown(&text, field.is_some_and(|f| f.pii))
            )
        })
    }

    fn user_url(&self, id: &str) -> Url {
        let mut url = self.users.clone();
        // `users` was checked to have path segments in `new`.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(id);
        }
        url
    }

    /// `GET /Users?filter=<match attribute> eq "<value>"`.
    fn lookup_call(&self, value: &str) -> Call {
        let mut url = self.users.clone();
        url.query_pairs_mut().append_pair(
            "filter",
            &format!("{} eq {}", self.match_attribute, filter_literal(value)),
        );
        call(Method::GET, url, None)
    }

    fn create_call(&self, attrs: &Map<String, Value>, key: &str) -> Call {
        let mut resource = Map::new();
        resource.insert("schemas".into(), schemas_of(attrs));
        resource.extend(attrs.clone());
        Call {
            idempotency_key: Some(key.to_string()),
            ..call(
                Method::POST,
                self.users.clone(),
                Some(Value::Object(resource)),
            )
        }
    }

    fn update_call(&self, attrs: &Map<String, Value>, id: &str) -> Call {
        match self.update {
            ScimUpdate::Patch => {
                self.patch(id, serde_json::json!({"op": "replace", "value": attrs}))
            }
            ScimUpdate::Put => {
                let mut resource = Map::new();
                resource.insert("schemas".into(), schemas_of(attrs));
                resource.insert("id".into(), Value::String(id.to_string()));
                resource.extend(attrs.clone());
                call(
                    Method::PUT,
                    self.user_url(id),
                    Some(Value::Object(resource)),
                )
            }
        }
    }

    fn patch(&self, id: &str, operation: Value) -> Call {
        let body = serde_json::json!({"schemas": [PATCH_SCHEMA], "Operations": [operation]});
        call(Method::PATCH, self.user_url(id), Some(body))
    }

    fn deactivate_call(&self, id: &str) -> Call {
        self.patch(
            id,
            serde_json::json!({"op": "replace", "path": ACTIVE, "value": false}),
        )
    }

    fn delete_call(&self, id: &str) -> Call {
        call(Method::DELETE, self.user_url(id), None)
    }
}

/// A call with a SCIM JSON body and no idempotency key.
fn call(method: Method, url: Url, body: Option<Value>) -> Call {
    Call {
        method,
        url,
        body: body.map(|b| (b.to_string().into_bytes(), SCIM_JSON)),
        idempotency_key: None,
    }
}

impl Deliverer for ScimDeliverer {
    async fn deliver(&self, item: &Item) -> Outcome {
        let Some(rec) = item.records.first() else {
            return Outcome::Failed {
                status: None,
                attempts: 0,
                reason: "an empty batch".into(),
            };
        };
        let mut exchange = Exchange {
            d: self,
            item,
            rec,
            attempts: 0,
            status: None,
        };
        match exchange.run().await {
            Ok(outcome) | Err(outcome) => outcome,
        }
    }
}

/// How a user was looked for.
enum Found {
    /// The user's id and the answer to the request made on it.
    User(String, Answer),
    /// No such user (after a lookup).
    Absent,
}

/// The requests made for one item, with their attempts and last status. Methods return
/// `Err(outcome)` when the item has ended (a failure), so steps chain with `?`.
struct Exchange<'a> {
    d: &'a ScimDeliverer,
    item: &'a Item,
    rec: &'a SpoolRecord,
    attempts: u32,
    status: Option<u16>,
}

impl Exchange<'_> {
    async fn run(&mut self) -> Result<Outcome, Outcome> {
        let operation = self.d.operation(self.rec).map_err(|r| self.failed(r))?;
        match operation {
            Operation::Skip => Ok(self.delivered(None, Some("skipped"))),
            Operation::Upsert => self.upsert().await,
            Operation::Deactivate => {
                let d = self.d;
                match self.on_user(|id| d.deactivate_call(id)).await? {
                    Found::User(id, answer) if answer.status != 404 => {
                        self.judged(&answer, Some(id), None)
                    }
                    _ => Ok(self.delivered(None, Some("not found; nothing to deactivate"))),
                }
            }
            Operation::Delete if !self.d.allow_delete => Err(self.failed(
                "the row asks for delete, and this output does not set allow_delete = true".into(),
            )),
            Operation::Delete => {
                let d = self.d;
                match self.on_user(|id| d.delete_call(id)).await? {
                    Found::User(_, answer) if answer.status != 404 => {
                        self.judged(&answer, None, None)
                    }
                    _ => Ok(self.delivered(None, Some("already gone"))),
                }
            }
        }
    }

    /// Updates the user if found, else creates it; a create refused as a duplicate (409)
    /// looks the user up again and updates it.
    async fn upsert(&mut self) -> Result<Outcome, Outcome> {
        let d = self.d;
        let attrs = d
            .plan
            .render(self.rec, &d.fields)
            .map_err(|r| self.failed(r))?;
        if let Found::User(id, answer) = self.on_user(|id| d.update_call(&attrs, id)).await? {
            return self.judged(&answer, Some(id), None);
        }
        let created = self
            .send(&d.create_call(&attrs, &self.item.idempotency_key))
            .await?;
        if created.status == 409 {
            let Some(id) = self.lookup().await? else {
                return Err(self.refused(&created));
            };
            let answer = self.send(&d.update_call(&attrs, &id)).await?;
            return self.judged(&answer, Some(id), None);
        }
        let id = serde_json::from_slice::<Value>(&created.body)
            .ok()
            .and_then(|json| json.get("id").map(text_of))
            .filter(|id| !id.is_empty());
        let note = id.is_none().then_some("created; the answer gave no id");
        self.judged(&created, id, note)
    }

    /// Makes the request `make` gives for the user: by the known id, else by the id a lookup
    /// finds. A 404 on it looks the user up (once) and makes it again on what is found.
    async fn on_user(&mut self, make: impl Fn(&str) -> Call) -> Result<Found, Outcome> {
        let known = match &self.item.known_id {
            Some(id) => id.clone(),
            None => match self.lookup().await? {
                Some(id) => id,
                None => return Ok(Found::Absent),
            },
        };
        let answer = self.send(&make(&known)).await?;
        if answer.status != 404 {
            return Ok(Found::User(known, answer));
        }
        match self.lookup().await? {
            Some(id) => {
                let answer = self.send(&make(&id)).await?;
                Ok(Found::User(id, answer))
            }
            None => Ok(Found::Absent),
        }
    }

    /// The id of the one user whose match attribute is the record's value, if any.
    async fn lookup(&mut self) -> Result<Option<String>, Outcome> {
        let d = self.d;
        let value = self
            .rec
            .values
            .get(d.match_field)
            .map(text_of)
            .unwrap_or_default();
        if value.is_empty() {
            return Err(self.failed(format!(
                "field {} is empty, and users are found by it",
                d.match_attribute
            )));
        }
        let answer = self.send(&d.lookup_call(&value)).await?;
        if !(200..300).contains(&answer.status) {
            return Err(self.refused(&answer));
        }
        let list: Option<Value> = serde_json::from_slice(&answer.body).ok();
        let resources = list
            .as_ref()
            .and_then(|l| l.get("Resources"))
            .and_then(Value::as_array);
        let total = list
            .as_ref()
            .and_then(|l| l.get("totalResults"))
            .and_then(Value::as_u64);
        let count = match (total, resources) {
            (Some(n), _) => n,
            (None, Some(r)) => r.len() as u64,
            (None, None) => {
                return Err(self.failed(format!(
                    "HTTP {}: the user lookup answered no SCIM list",
                    answer.status
                )))
            }
        };
        match count {
            0 => Ok(None),
            1 => resources
                .and_then(|r| r.first())
                .and_then(|user| user.get("id"))
                .map(text_of)
                .filter(|id| !id.is_empty())
                .map(Some)
                .ok_or_else(|| self.failed("the user lookup answered a user without id".into())),
            n => Err(self.failed(format!(
                "{n} users match {}; cannot tell which one this row is",
                d.match_attribute
            ))),
        }
    }

    /// Makes `call`, counting its attempts; giving up ends the item.
    async fn send(&mut self, call: &Call) -> Result<Answer, Outcome> {
        match self.d.client.call(call).await {
            Ok(answer) => {
                self.attempts += answer.attempts;
                self.status = Some(answer.status);
                Ok(answer)
            }
            Err(gave_up) => {
                self.attempts += gave_up.attempts;
                self.status = gave_up.status;
                Err(self.failed(failure_reason(
                    &gave_up.reason,
                    &gave_up.body,
                    self.item,
                    &self.d.fields,
                )))
            }
        }
    }

    /// Delivered on a 2xx answer, else the answer's failure.
    fn judged(
        &self,
        answer: &Answer,
        id: Option<String>,
        note: Option<&str>,
    ) -> Result<Outcome, Outcome> {
        if (200..300).contains(&answer.status) {
            Ok(self.delivered(id, note))
        } else {
            Err(self.refused(answer))
        }
    }

    fn delivered(&self, captured_id: Option<String>, note: Option<&str>) -> Outcome {
        Outcome::Delivered {
            // 0: no request was made (a skipped row).
            status: self.status.unwrap_or(0),
            attempts: self.attempts,
            captured_id,
            note: note.map(str::to_string),
        }
    }

    fn failed(&self, reason: String) -> Outcome {
        Outcome::Failed {
            status: self.status,
            attempts: self.attempts,
            reason,
        }
    }

    /// The failure for a final non-2xx answer: `HTTP 409 (uniqueness): <detail>` for a SCIM
    /// error, else the status and body; PII masked and cut short either way.
    fn refused(&self, answer: &Answer) -> Outcome {
        let error: Option<Value> = serde_json::from_slice(&answer.body).ok();
        let text = |key: &str| {
            error
                .as_ref()
                .and_then(|e| e.get(key))
                .and_then(Value::as_str)
        };
        let kind = text("scimType").filter(|t| {
            !t.is_empty() && t.len() <= 40 && t.chars().all(|c| c.is_ascii_alphanumeric())
        });
        let mut prefix = format!("HTTP {}", answer.status);
        if let Some(kind) = kind {
            prefix.push_str(&format!(" ({kind})"));
        }
        let body = match text("detail") {
            Some(detail) => detail.as_bytes(),
            None if kind.is_some() => &[],
            None => &answer.body,
        };
        self.failed(failure_reason(&prefix, body, self.item, &self.d.fields))
    }
}
