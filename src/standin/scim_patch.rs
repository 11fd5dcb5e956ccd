//! SCIM PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove` operations on a user resource.
//!
//! Paths are an attribute (`active`), a sub-attribute (`name.givenName`), either optionally
//! prefixed by a schema URN (`urn:…:enterprise:2.0:User:department` lives under that URN's
//! object). `add`/`replace` without a path take an object whose keys are such paths. A complex
//! value merges into the existing one sub-attribute by sub-attribute; `add` appends to a
//! multi-valued attribute. Value filters in paths (`emails[type eq "work"]`) are not supported.
//! The operations apply to a copy; the caller validates the result before keeping it.

use serde_json::{Map, Value};

use super::scim::{get_ci, has_schema, key_ci, remove_ci, USER_SCHEMA};

/// The PatchOp message schema.
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Extension schemas of a user: as a whole path (a key of a pathless `value`), such a URN
/// names the extension's object, not an attribute `User` of a schema `…:2.0`.
const EXTENSIONS: [&str; 1] = ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];

/// Why a PATCH request cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PatchError {
    /// The SCIM `scimType` of the error.
    pub(super) scim_type: &'static str,
    /// What is wrong (never a value from the request).
    pub(super) detail: String,
}

fn error(scim_type: &'static str, detail: impl Into<String>) -> PatchError {
    PatchError {
        scim_type,
        detail: detail.into(),
    }
}

/// `resource` with the operations of the PatchOp `request` applied.
pub(super) fn apply(
    resource: &Map<String, Value>,
    request: &Value,
) -> Result<Map<String, Value>, PatchError> {
    let request = request
        .as_object()
        .ok_or_else(|| error("invalidSyntax", "expected a PatchOp object"))?;
    if !has_schema(request, PATCH_OP) {
        return Err(error(
            "invalidSyntax",
            format!("schemas must contain {PATCH_OP}"),
        ));
    }
    let operations = get_ci(request, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| error("invalidSyntax", "Operations must be a non-empty array"))?;
    let mut patched = resource.clone();
    for (index, operation) in operations.iter().enumerate() {
        apply_one(&mut patched, operation)
            .map_err(|e| error(e.scim_type, format!("operation {index}: {}", e.detail)))?;
    }
    Ok(patched)
}

fn apply_one(resource: &mut Map<String, Value>, operation: &Value) -> Result<(), PatchError> {
    let operation = operation
        .as_object()
        .ok_or_else(|| error("invalidSyntax", "an operation must be an object"))?;
    let op = get_ci(operation, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| error("invalidSyntax", "op is required"))?;
    let path = match get_ci(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(path)) => Some(path.as_str()),
        Some(_) => return Err(error("invalidPath", "path must be a string")),
    };
    let value = get_ci(operation, "value");
    match (op.as_str(), path) {
        ("add" | "replace", Some(path)) => {
            let value = value.ok_or_else(|| error("invalidSyntax", "value is required"))?;
            set(resource, path, value.clone(), op == "add")
        }
        ("add" | "replace", None) => {
            let values = value
                .and_then(Value::as_object)
                .ok_or_else(|| error("invalidSyntax", "without a path, value must be an object"))?;
            values
                .iter()
                .try_for_each(|(path, v)| set(resource, path, v.clone(), op == "add"))
        }
        ("remove", Some(path)) => remove(resource, path),
        ("remove", None) => Err(error("noTarget", "remove needs a path")),
        _ => Err(error("invalidSyntax", "op must be add, replace or remove")),
    }
}

/// Sets the attribute at `path` to `value` (merging complex values; appending when `add`ing to
/// a multi-valued attribute).
fn set(
    resource: &mut Map<String, Value>,
    path: &str,
    value: Value,
    add: bool,
) -> Result<(), PatchError> {
    let (parents, last) = resolve(path)?;
    let mut target = resource;
    for parent in parents {
        let name = key_ci(target, &parent).unwrap_or(parent);
        let child = target
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        target = child
            .as_object_mut()
            .ok_or_else(|| error("invalidPath", "path goes through a non-complex attribute"))?;
    }
    match key_ci(target, &last).and_then(|name| target.get_mut(&name)) {
        Some(existing) => merge(existing, value, add),
        None => {
            target.insert(last, value);
        }
    }
    Ok(())
}

fn merge(existing: &mut Value, value: Value, add: bool) {
    match (existing, value) {
        (Value::Array(items), Value::Array(more)) if add => {
            for item in more {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
        (Value::Object(fields), Value::Object(subs)) => {
            for (name, sub) in subs {
                match key_ci(fields, &name).and_then(|n| fields.get_mut(&n)) {
                    Some(slot) => merge(slot, sub, add),
                    None => {
                        fields.insert(name, sub);
                    }
                }
            }
        }
        (existing, value) => *existing = value,
    }
}

/// Removes the attribute at `path`; removing something absent changes nothing.
fn remove(resource: &mut Map<String, Value>, path: &str) -> Result<(), PatchError> {
    let (parents, last) = resolve(path)?;
    let mut target = resource;
    for parent in parents {
        let found = key_ci(target, &parent).and_then(|name| target.get_mut(&name));
        match found.and_then(Value::as_object_mut) {
            Some(child) => target = child,
            None => return Ok(()),
        }
    }
    remove_ci(target, &last);
    Ok(())
}

/// The object keys leading to the attribute a path names, and the attribute's own name.
fn resolve(path: &str) -> Result<(Vec<String>, String), PatchError> {
    if path.contains('[') || path.contains(']') {
        return Err(error(
            "invalidPath",
            "value filters in paths are not supported",
        ));
    }
    if let Some(urn) = EXTENSIONS.iter().find(|u| u.eq_ignore_ascii_case(path)) {
        return Ok((Vec::new(), urn.to_string()));
    }
    let (schema, attribute) = match path.rsplit_once(':') {
        Some((urn, attribute)) if urn.eq_ignore_ascii_case(USER_SCHEMA) => (None, attribute),
        Some((urn, attribute)) => (Some(urn), attribute),
        None => (None, path),
    };
    let mut names: Vec<String> = schema.map(str::to_string).into_iter().collect();
    names.extend(attribute.split('.').map(str::to_string));
    if names.iter().any(String::is_empty) {
        return Err(error("invalidPath", "empty attribute name in path"));
    }
    let top = names.first().map(String::as_str).unwrap_or("");
    if ["id", "meta", "schemas"]
        .iter()
        .any(|r| top.eq_ignore_ascii_case(r))
    {
        return Err(error(
            "mutability",
            "id, meta and schemas cannot be patched",
        ));
    }
    let last = names.pop().unwrap_or_default();
    Ok((names, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(resource: Value, operations: Value) -> Result<Value, PatchError> {
        let request = json!({"schemas": [PATCH_OP], "Operations": operations});
        let resource = resource.as_object().cloned().unwrap_or_default();
        apply(&resource, &request).map(Value::Object)
    }

    #[test]
    fn paths_values_and_urns() {
        let user = json!({"userName": "a", "Active": true, "emails": [{"value": "x"}]});
        let patched = patch(
            user,
            json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "ADD", "path": "emails", "value": [{"value": "y"}]},
                {"op": "add", "value": {"name.givenName": "Ann", "title": "Dr"}},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "HR"},
                {"op": "remove", "path": "title"},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "b"},
            ]),
        )
        .unwrap();
        assert_eq!(
            patched,
            json!({
                "userName": "b",
                "Active": false,
                "emails": [{"value": "x"}, {"value": "y"}],
                "name": {"givenName": "Ann"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "HR"},
            })
        );
    }

    #[test]
    fn a_pathless_value_may_hold_an_extension_object() {
        let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let user = json!({"userName": "a", enterprise: {"department": "Eng", "costCenter": "7"}});
        let patched = patch(
            user,
            json!([{"op": "replace", "value": {"userName": "b", enterprise: {"department": "Legal"}}}]),
        )
        .unwrap();
        assert_eq!(
            patched,
            json!({"userName": "b", enterprise: {"department": "Legal", "costCenter": "7"}})
        );
    }

    #[test]
    fn bad_requests_name_their_kind() {
        let kind = |ops: Value| patch(json!({"userName": "a"}), ops).map_err(|e| e.scim_type);
        assert_eq!(kind(json!([])), Err("invalidSyntax"));
        assert_eq!(
            kind(json!([{"op": "move", "path": "a"}])),
            Err("invalidSyntax")
        );
        assert_eq!(kind(json!([{"op": "remove"}])), Err("noTarget"));
        assert_eq!(
            kind(json!([{"op": "replace", "value": 3}])),
            Err("invalidSyntax")
        );
        assert_eq!(
            kind(
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x"}])
            ),
            Err("invalidPath")
        );
        assert_eq!(
            kind(json!([{"op": "replace", "path": "id", "value": "x"}])),
            Err("mutability")
        );
        assert_eq!(
            kind(json!([{"op": "replace", "path": "userName.first", "value": "x"}])),
            Err("invalidPath")
        );
        let not_patch_op = apply(
            &Map::new(),
            &json!({"Operations": [{"op": "remove", "path": "a"}]}),
        );
        assert_eq!(not_patch_op.map_err(|e| e.scim_type), Err("invalidSyntax"));
    }
}
