//! Semantic checks of `http` and `scim` outputs: rules serde cannot express, each reported at
//! the key it is about.

use crate::kernel::change::{ChangeKind, CHANGE_FIELD};
use crate::kernel::mapped::FieldInfo;
use crate::kernel::secret::SecretRef;
use crate::kernel::url_policy::url_allowed;
use crate::output::open::open;
use crate::profile::{
    ApiConnectionSpec, AuthSpec, HeaderValueSpec, HttpKeys, KeyPath, Problem, Profile, ScimKeys,
};

use super::template::{BodyPlan, UrlTemplate};

/// The most workers one output may have.
const MAX_CONCURRENCY: usize = 64;

/// The secrets an API connection at `at` references (its auth's secret, secret headers),
/// added to `found` with the key path each is written at.
pub fn secret_refs<'p>(
    spec: &'p ApiConnectionSpec,
    at: KeyPath,
    found: &mut Vec<(KeyPath, &'p SecretRef)>,
) {
    let auth = at.clone().key("auth");
    match &spec.auth {
        None => {}
        Some(AuthSpec::Oauth2(a)) => found.push((auth.key("client_secret"), &a.client_secret)),
        Some(AuthSpec::Bearer(a)) => found.push((auth.key("token"), &a.token)),
        Some(AuthSpec::ApiKey(a)) => found.push((auth.key("key"), &a.key)),
        Some(AuthSpec::Basic(a)) => found.push((auth.key("password"), &a.password)),
    }
    for (name, value) in &spec.headers {
        if let HeaderValueSpec::Secret(r) = value {
            found.push((at.clone().key("headers").key(name), r));
        }
    }
}

/// Every problem of an `http` output's `keys` (beyond those of its `connection`), told to
/// `problem` with the key it is about.
pub fn rest(
    connection: &ApiConnectionSpec,
    keys: &HttpKeys,
    fields: &[FieldInfo],
    problem: &mut impl FnMut(&str, String),
) {
    let has_key = fields.iter().any(|f| f.key);
    for e in url_problems(connection, &keys.url, fields) {
        problem("url", e);
    }
    if let Err(e) = BodyPlan::compile(keys.body.as_ref(), fields) {
        problem("body", e.to_string());
    }
    routes(connection, keys, fields, problem);
    if keys.batch_size == 0 {
        problem("batch_size", "batch_size must be at least 1".into());
    }
    if keys.batch_wrapper.is_some() && keys.batch_size <= 1 {
        problem(
            "batch_wrapper",
            "batch_wrapper only applies with batch_size above 1".into(),
        );
    }
    for (key, pointer) in [
        ("capture_id", &keys.capture_id),
        ("success", &keys.success.present),
        ("success", &keys.success.absent),
    ] {
        if pointer.as_deref().is_some_and(|p| !p.starts_with('/')) {
            problem(key, "a JSON pointer starts with `/`, e.g. \"/id\"".into());
        }
    }
    if keys.capture_id.is_some() && (keys.batch_size > 1 || !has_key) {
        problem(
            "capture_id",
            "capture_id needs batch_size = 1 and a field with key = true".into(),
        );
    }
    if let Some(bad) = keys
        .success
        .status
        .iter()
        .find(|s| !(100..600).contains(*s))
    {
        problem("success", format!("{bad} is not an HTTP status code"));
    }
}

/// The problems of URL template `url`: an address hrbridge may not call, a template that
/// does not compile, or `{id}` without a key field to look the id up by.
fn url_problems(connection: &ApiConnectionSpec, url: &str, fields: &[FieldInfo]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = url_allowed(url, connection.allow_plain_http) {
        problems.push(e.to_string());
    }
    match UrlTemplate::compile(url, fields) {
        Err(e) => problems.push(e.to_string()),
        Ok(t) if t.uses_id() && !fields.iter().any(|f| f.key) => {
            problems.push("{id} needs a field with key = true to look the id up by".into())
        }
        Ok(_) => {}
    }
    problems
}

/// The problems of `[output.on.<kind>]`: only a lifecycle profile's records have a kind,
/// one record goes per request, and each route's URL and body compile.
fn routes(
    connection: &ApiConnectionSpec,
    keys: &HttpKeys,
    fields: &[FieldInfo],
    problem: &mut impl FnMut(&str, String),
) {
    if keys.on.is_empty() {
        return;
    }
    if !fields.iter().any(|f| f.name == CHANGE_FIELD) {
        problem(
            "on",
            "on.<kind> sends each kind of change its own way; only a [lifecycle] profile has changes".into(),
        );
        return;
    }
    if keys.batch_size > 1 {
        problem(
            "on",
            "on.<kind> needs batch_size = 1: a batch can hold changes of several kinds".into(),
        );
    }
    for (kind, route) in &keys.on {
        let at = |key: &str| format!("on.{kind}{key}");
        if ChangeKind::parse(kind).is_none() {
            let kinds: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
            problem(
                &at(""),
                format!("{kind:?} is not a kind of change ({})", kinds.join(", ")),
            );
            continue;
        }
        for e in route
            .url
            .iter()
            .flat_map(|url| url_problems(connection, url, fields))
        {
            problem(&at(".url"), e);
        }
        if let Some(body) = &route.body {
            if let Err(e) = BodyPlan::compile(Some(body), fields) {
                problem(&at(".body"), e.to_string());
            }
        }
    }
}

/// Every problem of a `scim` output's `keys` (beyond those of its `connection`), told to
/// `problem` with the key it is about.
pub fn scim(
    connection: &ApiConnectionSpec,
    keys: &ScimKeys,
    fields: &[FieldInfo],
    problem: &mut impl FnMut(&str, String),
) {
    if let Err(e) = url_allowed(&keys.base_url, connection.allow_plain_http) {
        problem("base_url", e.to_string());
    }
    let attribute = keys.match_on.attribute();
    if !fields.iter().any(|f| f.name == attribute) {
        problem(
            "match",
            format!("users are matched by {attribute}, so a field must be named {attribute:?}"),
        );
    }
    if let Some(op) = &keys.operation_field {
        if !fields.iter().any(|f| &f.name == op) {
            problem(
                "operation_field",
                format!("{op:?} is not a field of this profile"),
            );
        }
    }
}

/// Two API outputs of one profile must not share an id map: the ids one API gives would
/// address records at the other.
pub fn shared_id_maps(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (i, out) in profile.outputs.iter().enumerate() {
        let Some(api) = open(out).api() else {
            continue;
        };
        let map = api.id_map(&profile.name);
        if let Some((_, first)) = seen.iter().find(|(m, _)| *m == map) {
            problems.push(Problem::new(
                KeyPath::output(i),
                format!(
                    "output[{first}] already keeps its ids in the id map {map:?}; give each API output its own `id_map`"
                ),
            ));
        }
        seen.push((map, i));
    }
    problems
}

/// Every problem of an API output's connection `c` (token URL, concurrency, attempts, burst,
/// backoff), told to `problem` with the key it is about.
pub fn connection(c: &ApiConnectionSpec, problem: &mut impl FnMut(&str, String)) {
    if let Some(AuthSpec::Oauth2(o)) = &c.auth {
        if let Err(e) = url_allowed(&o.token_url, c.allow_plain_http) {
            problem("auth", format!("token_url: {e}"));
        }
    }
    if !(1..=MAX_CONCURRENCY).contains(&c.concurrency()) {
        problem(
            "concurrency",
            format!("concurrency must be between 1 and {MAX_CONCURRENCY}"),
        );
    }
    if c.max_attempts == Some(0) {
        problem("max_attempts", "max_attempts must be at least 1".into());
    }
    if c.burst == Some(0) {
        problem("burst", "burst must be at least 1".into());
    }
    if c.backoff() > c.backoff_max() {
        problem("backoff", "backoff must not exceed backoff_max".into());
    }
}
