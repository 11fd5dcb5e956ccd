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
use crate::kernel::change::{ChangeKind, CHANGED_FIELDS, CHANGE_FIELD};
use crate::kernel::mapped::FieldInfo;
use crate::kernel::mask::shown;
use crate::profile::{ScimKeys, ScimUpdate};

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

/// Why a `scim` output's deliverer cannot be made: a field whose name makes no SCIM
/// attribute, a missing match or operation field, or a bad base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    #[error("base_url is not a valid URL: {reason}")]
    BaseUrl { reason: String },
    #[error("base_url must be an http(s) URL")]
    BaseUrlScheme,
    #[error("base_url cannot have paths below it")]
    BaseUrlNotHierarchical,
    #[error("users are matched by {attribute}, so a field must be named {attribute:?}")]
    NoMatchField { attribute: &'static str },
    #[error("operation_field {name:?} is not a field")]
    NoOperationField { name: String },
    #[error("field {name:?} has an empty part between dots")]
    EmptyPart { name: String },
    #[error("field {name:?} would set {first:?}, which the SCIM service manages")]
    Reserved { name: String, first: String },
    #[error("field {name:?} names no attribute: use enterprise.<attribute>")]
    NoEnterpriseAttribute { name: String },
    #[error("field {name:?} must be named {first}.<type>, e.g. {first}.work")]
    NotTyped { name: String, first: String },
    #[error("field {name:?} conflicts with another field's SCIM attribute")]
    Conflict { name: String },
}

/// Why a row cannot be sent; the cell only as shown (masked when PII).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum RowError {
    #[error("field active is {shown}, which is neither true nor false")]
    Active { shown: String },
    #[error(
        "field {field} is {shown}, which is not an operation: use upsert, deactivate, delete or skip"
    )]
    Operation { field: String, shown: String },
}

/// What a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Upsert,
    /// An upsert that sets `active` whatever the row says: true for a lifecycle joiner or
    /// rehire, false for a pre-hire (created ahead of the start date).
    Provision {
        active: bool,
    },
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
    /// The plan for `fields`, leaving out the `operation` field and a lifecycle profile's
    /// change fields. Errors name the field whose name does not fit (attribute names compare
    /// case-insensitively, as in SCIM).
    fn compile(fields: &[FieldInfo], operation: Option<&str>) -> Result<ResourcePlan, ScimError> {
        let mut plan = ResourcePlan {
            core: Vec::new(),
            enterprise: Vec::new(),
            active: None,
        };
        for (index, field) in fields.iter().enumerate() {
            let name = field.name.as_str();
            if Some(name) == operation || name == CHANGE_FIELD || name == CHANGED_FIELDS {
                continue;
            }
            if name == ACTIVE {
                plan.active = Some(index);
                continue;
            }
            let parts: Vec<&str> = name.split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(ScimError::EmptyPart { name: name.into() });
            }
            let placed = match parts.as_slice() {
                [first, ..] if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(first)) => {
                    return Err(ScimError::Reserved {
                        name: name.into(),
                        first: first.to_string(),
                    })
                }
                [first, rest @ ..] if first.eq_ignore_ascii_case(ENTERPRISE) => {
                    if rest.is_empty() {
                        return Err(ScimError::NoEnterpriseAttribute { name: name.into() });
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
                            return Err(ScimError::NotTyped {
                                name: name.into(),
                                first: first.to_string(),
                            })
                        }
                    }
                }
                _ => place(&mut plan.core, &parts, Leaf::Value(index)),
            };
            placed.map_err(|()| ScimError::Conflict { name: name.into() })?;
        }
        Ok(plan)
    }

    /// The attributes of `rec` (no `schemas`): null values left out, the enterprise ones under
    /// the extension's URN. Fails only when `active` is not a boolean.
    fn render(
        &self,
        rec: &SpoolRecord,
        fields: &[FieldInfo],
    ) -> Result<Map<String, Value>, RowError> {
        let mut attrs = render_level(&self.core, rec);
        if let Some(i) = self.active {
            let value = rec.values.get(i).unwrap_or(&Value::Null);
            if !value.is_null() {
                let active = boolean(value).ok_or_else(|| {
                    let pii = fields.get(i).is_some_and(|f| f.pii);
                    RowError::Active {
                        shown: shown(&text_of(value), pii),
                    }
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

/// The User resource of `attrs`, with its `schemas` and, when given, its `id`.
fn resource(attrs: &Map<String, Value>, id: Option<&str>) -> Value {
    let mut resource = Map::new();
    resource.insert("schemas".into(), schemas_of(attrs));
    if let Some(id) = id {
        resource.insert("id".into(), Value::String(id.to_string()));
    }
    resource.extend(attrs.clone());
    Value::Object(resource)
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
    /// A lifecycle profile's `change` field, which says the operation when no
    /// `operation_field` does.
    change_field: Option<usize>,
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
    ) -> Result<ScimDeliverer, ScimError> {
        let mut users = Url::parse(&keys.base_url).map_err(|e| ScimError::BaseUrl {
            reason: e.to_string(),
        })?;
        if !matches!(users.scheme(), "http" | "https") {
            return Err(ScimError::BaseUrlScheme);
        }
        users
            .path_segments_mut()
            .map_err(|()| ScimError::BaseUrlNotHierarchical)?
            .pop_if_empty()
            .push("Users");
        let position = |name: &str| fields.iter().position(|f| f.name == name);
        let match_attribute = keys.match_on.attribute();
        let match_field = position(match_attribute).ok_or(ScimError::NoMatchField {
            attribute: match_attribute,
        })?;
        let operation_field = match &keys.operation_field {
            Some(name) => Some(
                position(name).ok_or_else(|| ScimError::NoOperationField { name: name.clone() })?,
            ),
            None => None,
        };
        let change_field = match operation_field {
            Some(_) => None,
            None => position(CHANGE_FIELD),
        };
        Ok(ScimDeliverer {
            client,
            users,
            plan: ResourcePlan::compile(fields, keys.operation_field.as_deref())?,
            match_attribute,
            match_field,
            operation_field,
            change_field,
            update: keys.update,
            allow_delete: keys.allow_delete,
            fields: fields.to_vec(),
        })
    }

    /// What `rec` asks for; the error names the allowed values (and the cell only as shown).
    fn operation(&self, rec: &SpoolRecord) -> Result<Operation, RowError> {
        if let Some(i) = self.change_field {
            let text = rec.values.get(i).map(text_of).unwrap_or_default();
            return Ok(match ChangeKind::parse(&text) {
                Some(ChangeKind::Joiner | ChangeKind::Rehire) => {
                    Operation::Provision { active: true }
                }
                Some(ChangeKind::Prehire) => Operation::Provision { active: false },
                Some(ChangeKind::Mover) => Operation::Upsert,
                Some(ChangeKind::Leaver) => Operation::Deactivate,
                // Only changes reach an API output; anything else is nobody's change.
                None => Operation::Skip,
            });
        }
        let Some(i) = self.operation_field else {
            return Ok(Operation::Upsert);
        };
        let text = rec.values.get(i).map(text_of).unwrap_or_default();
        Operation::parse(&text).ok_or_else(|| {
            let field = self.fields.get(i);
            RowError::Operation {
                field: field.map_or("?", |f| f.name.as_str()).to_string(),
                shown: shown(&text, field.is_some_and(|f| f.pii)),
            }
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
        Call {
            idempotency_key: Some(key.to_string()),
            ..call(
                Method::POST,
                self.users.clone(),
                Some(resource(attrs, None)),
            )
        }
    }

    fn update_call(&self, attrs: &Map<String, Value>, id: &str) -> Call {
        match self.update {
            ScimUpdate::Patch => {
                self.patch(id, serde_json::json!({"op": "replace", "value": attrs}))
            }
            ScimUpdate::Put => call(
                Method::PUT,
                self.user_url(id),
                Some(resource(attrs, Some(id))),
            ),
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
        let operation = self
            .d
            .operation(self.rec)
            .map_err(|e| self.failed(e.to_string()))?;
        match operation {
            Operation::Skip => Ok(self.delivered(None, Some("skipped"))),
            Operation::Upsert => self.upsert(None).await,
            Operation::Provision { active } => self.upsert(Some(active)).await,
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
    /// looks the user up again and updates it. With `active` the user is made active (or
    /// inactive) whatever the record says.
    async fn upsert(&mut self, active: Option<bool>) -> Result<Outcome, Outcome> {
        let d = self.d;
        let mut attrs = d
            .plan
            .render(self.rec, &d.fields)
            .map_err(|e| self.failed(e.to_string()))?;
        if let Some(active) = active {
            attrs.insert(ACTIVE.into(), Value::Bool(active));
        }
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
            Err(g) => {
                self.attempts += g.attempts;
                Err(super::gave_up(&g, self.attempts, self.item, &self.d.fields))
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
        Outcome::Failed {
            status: Some(answer.status),
            attempts: self.attempts,
            reason: failure_reason(&prefix, body, self.item, &self.d.fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;
    use crate::output::test_fields;
    use crate::profile::ApiConnectionSpec;
    use crate::settings::{Settings, SettingsFile};

    fn rec(values: Value) -> SpoolRecord {
        SpoolRecord {
            line: 0,
            row: 2,
            sheet: None,
            values: values.as_array().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn filter_values_are_escaped_as_string_literals() {
        assert_eq!(filter_literal("E1"), r#""E1""#);
        assert_eq!(filter_literal(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(filter_literal("a\nb\u{7f}"), r#""a\u000ab\u007f""#);
    }

    #[test]
    fn the_plan_nests_types_and_extends() {
        let fields = test_fields(&[
            "externalId",
            "name.givenName",
            "name.familyName",
            "emails.work",
            "emails.home",
            "phoneNumbers.mobile",
            "enterprise.employeeNumber",
            "enterprise.manager.value",
            "op",
            "active",
        ]);
        let plan = ResourcePlan::compile(&fields, Some("op")).unwrap();
        let attrs = plan
            .render(
                &rec(json!([
                    "E1", "Ada", null, null, "ada@home", "+1 555", "E1", "M7", "upsert", "yes"
                ])),
                &fields,
            )
            .unwrap();
        assert_eq!(
            Value::Object(attrs.clone()),
            json!({
                "externalId": "E1",
                "name": {"givenName": "Ada"},
                "emails": [{"type": "home", "value": "ada@home", "primary": true}],
                "phoneNumbers": [{"type": "mobile", "value": "+1 555", "primary": true}],
                "active": true,
                ENTERPRISE_SCHEMA: {"employeeNumber": "E1", "manager": {"value": "M7"}},
            })
        );
        assert_eq!(schemas_of(&attrs), json!([CORE_SCHEMA, ENTERPRISE_SCHEMA]));
        let bare = plan
            .render(
                &rec(json!([
                    "E2", null, null, "w@x", "h@x", null, null, null, "skip", null
                ])),
                &fields,
            )
            .unwrap();
        assert_eq!(
            Value::Object(bare.clone()),
            json!({"externalId": "E2", "emails": [
                {"type": "work", "value": "w@x", "primary": true},
                {"type": "home", "value": "h@x"}
            ]})
        );
        assert_eq!(schemas_of(&bare), json!([CORE_SCHEMA]));
    }

    #[test]
    fn names_that_make_no_scim_attribute_are_refused() {
        for (names, culprit) in [
            (&["name", "name.givenName"][..], "name.givenName"),
            (&["userName", "username"][..], "username"),
            (&["emails"][..], "emails"),
            (&["emails.work.value"][..], "emails.work.value"),
            (&["enterprise"][..], "enterprise"),
            (&["id"][..], "id"),
            (&["a..b"][..], "a..b"),
        ] {
            let err = ResourcePlan::compile(&test_fields(names), None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("{culprit:?}")), "{names:?}: {err}");
        }
    }

    #[test]
    fn a_non_boolean_active_fails_the_row_masked() {
        let mut fields = test_fields(&["userName", "active"]);
        fields[1].pii = true;
        let plan = ResourcePlan::compile(&fields, None).unwrap();
        let err = plan
            .render(&rec(json!(["ada", "maybe"])), &fields)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[pii: 5 chars]"), "{err}");
        let off = plan.render(&rec(json!(["ada", "FALSE"])), &fields).unwrap();
        assert_eq!(off.get("active"), Some(&Value::Bool(false)));
    }

    #[test]
    fn operations_parse_case_insensitively() {
        assert_eq!(Operation::parse("Upsert"), Some(Operation::Upsert));
        assert_eq!(
            Operation::parse(" DEACTIVATE "),
            Some(Operation::Deactivate)
        );
        assert_eq!(Operation::parse("delete"), Some(Operation::Delete));
        assert_eq!(Operation::parse("skip"), Some(Operation::Skip));
        assert_eq!(Operation::parse("remove"), None);
        assert_eq!(Operation::parse(""), None);
    }

    /// One request as the canned server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        /// `METHOD /path?query`.
        line: String,
        body: String,
        idempotency_key: bool,
        content_type: Option<String>,
    }

    /// A server at `{base}` that answers each request with the next of `answers` (then stops
    /// listening), and the requests it saw.
    fn serve(answers: Vec<(u16, Value)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/scim/v2", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let (mut length, mut key, mut content_type) = (0, false, None);
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "idempotency-key" => key = true,
                        "content-type" => content_type = Some(value.trim().to_string()),
                        _ => {}
                    }
                }
                let mut request_body = vec![0; length];
                reader.read_exact(&mut request_body).unwrap();
                let words: Vec<&str> = request_line.split(' ').collect();
                log.lock().unwrap().push(Seen {
                    line: format!("{} {}", words[0], words[1]),
                    body: String::from_utf8(request_body).unwrap(),
                    idempotency_key: key,
                    content_type,
                });
                let text = if body.is_null() {
                    String::new()
                } else {
                    body.to_string()
                };
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {SCIM_JSON}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                )
                .unwrap();
            }
        });
        (base, seen)
    }

    fn deliverer(base: &str, keys: &str, fields: &[FieldInfo]) -> ScimDeliverer {
        let settings = Settings::resolve(None, std::env::temp_dir(), SettingsFile::default());
        let spec: ApiConnectionSpec =
            toml::from_str("max_attempts = 2\nbackoff = \"1ms\"").unwrap();
        let client =
            ApiClient::new(&spec, &settings, crate::kernel::stop::StopFlag::new()).unwrap();
        let keys: ScimKeys = toml::from_str(&format!("base_url = \"{base}\"\n{keys}")).unwrap();
        ScimDeliverer::new(client, &keys, fields).unwrap()
    }

    fn item(values: Value, known_id: Option<&str>) -> Item {
        Item {
            records: vec![rec(values)],
            idempotency_key: "key-1".into(),
            known_id: known_id.map(str::to_string),
        }
    }

    fn list(ids: &[&str]) -> Value {
        let users: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": ids.len(), "Resources": users})
    }

    fn lines(seen: &Mutex<Vec<Seen>>) -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|s| s.line.clone())
            .collect()
    }

    const LOOKUP_E1: &str = "GET /scim/v2/Users?filter=externalId+eq+%22E1%22";

    fn delivered(status: u16, attempts: u32, id: Option<&str>, note: Option<&str>) -> Outcome {
        Outcome::Delivered {
            status,
            attempts,
            captured_id: id.map(str::to_string),
            note: note.map(str::to_string),
        }
    }

    #[tokio::test]
    async fn a_user_not_found_is_created_with_its_idempotency_key() {
        let (base, seen) = serve(vec![(200, list(&[])), (201, json!({"id": "u1"}))]);
        let fields = test_fields(&["externalId", "name.givenName"]);
        let d = deliverer(&base, "", &fields);
        let outcome = d.deliver(&item(json!(["E1", "Ada"]), None)).await;
        assert_eq!(outcome, delivered(201, 2, Some("u1"), None));
        assert_eq!(lines(&seen), [LOOKUP_E1, "POST /scim/v2/Users"]);
        let post = seen.lock().unwrap()[1].clone();
        assert!(post.idempotency_key);
        assert_eq!(post.content_type.as_deref(), Some(SCIM_JSON));
        assert_eq!(
            serde_json::from_str::<Value>(&post.body).unwrap(),
            json!({"schemas": [CORE_SCHEMA], "externalId": "E1", "name": {"givenName": "Ada"}})
        );
        assert!(!seen.lock().unwrap()[0].idempotency_key);
    }

    #[tokio::test]
    async fn a_user_found_is_patched_or_put() {
        let fields = test_fields(&["externalId", "name.givenName"]);
        let (base, seen) = serve(vec![(200, list(&["u7"])), (200, json!({"id": "u7"}))]);
        let outcome = deliverer(&base, "", &fields)
            .deliver(&item(json!(["E1", "Ada"]), None))
            .await;
        assert_eq!(outcome, delivered(200, 2, Some("u7"), None));
        assert_eq!(lines(&seen), [LOOKUP_E1, "PATCH /scim/v2/Users/u7"]);
        let patch = seen.lock().unwrap()[1].clone();
        assert!(!patch.idempotency_key);
        assert_eq!(
            serde_json::from_str::<Value>(&patch.body).unwrap(),
            json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace",
                "value": {"externalId": "E1", "name": {"givenName": "Ada"}}}]})
        );

        let (base, seen) = serve(vec![(200, json!({"id": "u 8"}))]);
        let outcome = deliverer(&base, "update = \"put\"", &fields)
            .deliver(&item(json!(["E1", "Ada"]), Some("u 8")))
            .await;
        assert_eq!(outcome, delivered(200, 1, Some("u 8"), None));
        assert_eq!(lines(&seen), ["PUT /scim/v2/Users/u%208"]);
        assert_eq!(
            serde_json::from_str::<Value>(&seen.lock().unwrap()[0].body).unwrap(),
            json!({"schemas": [CORE_SCHEMA], "id": "u 8", "externalId": "E1",
                   "name": {"givenName": "Ada"}})
        );
    }

    #[tokio::test]
    async fn a_conflict_on_create_looks_up_again_and_updates() {
        let conflict = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                              "status": "409", "scimType": "uniqueness", "detail": "exists"});
        let (base, seen) = serve(vec![
            (200, list(&[])),
            (409, conflict),
            (200, list(&["u9"])),
            (200, json!({})),
        ]);
        let d = deliverer(&base, "", &test_fields(&["externalId"]));
        let outcome = d.deliver(&item(json!(["E1"]), None)).await;
        assert_eq!(outcome, delivered(200, 4, Some("u9"), None));
        assert_eq!(
            lines(&seen),
            [
                LOOKUP_E1,
                "POST /scim/v2/Users",
                LOOKUP_E1,
                "PATCH /scim/v2/Users/u9"
            ]
        );
    }

    #[tokio::test]
    async fn a_conflict_nobody_can_find_fails_with_the_scim_error_masked() {
        let conflict = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409", "scimType": "uniqueness", "detail": "userName ada@corp is taken"});
        let (base, seen) = serve(vec![(200, list(&[])), (409, conflict), (200, list(&[]))]);
        let mut fields = test_fields(&["externalId", "userName"]);
        fields[1].pii = true;
        let d = deliverer(&base, "", &fields);
        let outcome = d.deliver(&item(json!(["E1", "ada@corp"]), None)).await;
        assert_eq!(
            outcome,
            Outcome::Failed {
                status: Some(409),
                attempts: 3,
                reason: "HTTP 409 (uniqueness): userName [pii: 8 chars] is taken".into()
            }
        );
        assert_eq!(lines(&seen).len(), 3);
    }

    #[tokio::test]
    async fn a_stale_known_id_falls_back_to_the_lookup() {
        let (base, seen) = serve(vec![
            (404, json!({"status": "404", "detail": "no such user"})),
            (200, list(&["u5"])),
            (200, json!({})),
        ]);
        let d = deliverer(&base, "", &test_fields(&["externalId"]));
        let outcome = d.deliver(&item(json!(["E1"]), Some("old"))).await;
        assert_eq!(outcome, delivered(200, 3, Some("u5"), None));
        assert_eq!(
            lines(&seen),
            [
                "PATCH /scim/v2/Users/old",
                LOOKUP_E1,
                "PATCH /scim/v2/Users/u5"
            ]
        );
    }

    #[tokio::test]
    async fn deactivate_patches_active_and_tolerates_a_missing_user() {
        let fields = test_fields(&["externalId", "op", "name.givenName"]);
        let keys = "operation_field = \"op\"";
        let (base, seen) = serve(vec![(200, json!({}))]);
        let outcome = deliverer(&base, keys, &fields)
            .deliver(&item(json!(["E1", "Deactivate", "Ada"]), Some("u3")))
            .await;
        assert_eq!(outcome, delivered(200, 1, Some("u3"), None));
        assert_eq!(lines(&seen), ["PATCH /scim/v2/Users/u3"]);
        assert_eq!(
            serde_json::from_str::<Value>(&seen.lock().unwrap()[0].body).unwrap(),
            json!({"schemas": [PATCH_SCHEMA],
                   "Operations": [{"op": "replace", "path": "active", "value": false}]})
        );

        let (base, seen) = serve(vec![(200, list(&[]))]);
        let outcome = deliverer(&base, keys, &fields)
            .deliver(&item(json!(["E1", "deactivate", null]), None))
            .await;
        let note = Some("not found; nothing to deactivate");
        assert_eq!(outcome, delivered(200, 1, None, note));
        assert_eq!(lines(&seen), [LOOKUP_E1]);
    }

    #[tokio::test]
    async fn delete_needs_allow_delete_and_a_gone_user_is_fine() {
        let fields = test_fields(&["externalId", "op"]);
        let (base, seen) = serve(vec![(404, Value::Null), (200, list(&[]))]);
        let d = deliverer(
            &base,
            "operation_field = \"op\"\nallow_delete = true",
            &fields,
        );
        let outcome = d.deliver(&item(json!(["E1", "delete"]), Some("u4"))).await;
        assert_eq!(outcome, delivered(200, 2, None, Some("already gone")));
        assert_eq!(lines(&seen), ["DELETE /scim/v2/Users/u4", LOOKUP_E1]);

        let d = deliverer(
            "http://127.0.0.1:9/scim",
            "operation_field = \"op\"",
            &fields,
        );
        let outcome = d.deliver(&item(json!(["E1", "delete"]), Some("u4"))).await;
        assert!(
            matches!(&outcome, Outcome::Failed { attempts: 0, reason, .. } if reason.contains("allow_delete")),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn skip_and_unknown_operations_make_no_request() {
        let mut fields = test_fields(&["externalId", "op"]);
        let d = deliverer(
            "http://127.0.0.1:9/scim",
            "operation_field = \"op\"",
            &fields,
        );
        let skipped = d.deliver(&item(json!(["E1", "SKIP"]), None)).await;
        assert_eq!(skipped, delivered(0, 0, None, Some("skipped")));
        let Outcome::Failed { reason, .. } = d.deliver(&item(json!(["E1", "fire"]), None)).await
        else {
            panic!("an unknown operation was delivered");
        };
        assert!(
            reason.contains("\"fire\"") && reason.contains("upsert, deactivate"),
            "{reason}"
        );
        fields[1].pii = true;
        let d = deliverer(
            "http://127.0.0.1:9/scim",
            "operation_field = \"op\"",
            &fields,
        );
        let Outcome::Failed { reason, .. } = d.deliver(&item(json!(["E1", "fire"]), None)).await
        else {
            panic!("an unknown operation was delivered");
        };
        assert!(
            !reason.contains("fire") && reason.contains("[pii: 4 chars]"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn several_matches_fail_the_row() {
        let (base, _seen) = serve(vec![(200, list(&["a", "b"]))]);
        let d = deliverer(&base, "match = \"userName\"", &test_fields(&["userName"]));
        let outcome = d.deliver(&item(json!(["ada"]), None)).await;
        assert!(
            matches!(&outcome, Outcome::Failed { status: Some(200), attempts: 1, reason } if reason.starts_with("2 users match userName")),
            "{outcome:?}"
        );
    }
}
