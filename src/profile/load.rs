//! Reading `hrbridge.toml` and profile files into checked values, with every problem located.
//!
//! A TOML syntax error stops a file at that point (one diagnostic). Otherwise the document is
//! parsed with spans and deserialized piece by piece — each top-level key, each `[[field]]`,
//! `[[filter]]` and `[[output]]` on its own — so that independent mistakes are all reported in
//! one pass, each at its own line and column. The semantic rules then run too — the profile
//! language's own ([`check`](super::check)) and those the caller gives (the engine gives every
//! component's, and keeps what they make: the compiled mapping plan) — on stand-ins for the
//! parts that failed, whose own findings are dropped, and their key paths are mapped back to
//! spans.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{Deserialize, IntoDeserializer};
use toml::de::{DeString, DeTable, DeValue, Error as TomlError, ValueDeserializer};
use toml::Spanned;

use super::check::check;
use super::diagnostic::Diagnostic;
use super::lifecycle::LifecycleSpec;
use super::model::{
    DirSourceSpec, FieldSpec, FileOutputSpec, FilterSpec, FormatSpec, HttpOutputSpec, NotifySpec,
    OutputSpec, Profile, ScimOutputSpec, SftpAnchorSpec, SftpOutputSpec, SftpSourceSpec,
    SourceSpec, ValidationSpec, WebhookSpec,
};
use super::privacy::PrivacySpec;
use super::problem::{KeyPath, Problem, Seg};
use crate::kernel::url_policy::url_allowed;
use crate::settings::{absolutize, Settings, SettingsFile};

/// The settings file looked for in the current directory when none is given.
pub const SETTINGS_FILE: &str = "hrbridge.toml";

/// A parsed document: its root table as a value, with spans into the text it borrows.
type Doc<'i> = Spanned<DeValue<'i>>;

/// Loads the settings: `explicit` must exist; without it `./hrbridge.toml` is read when present,
/// and the defaults apply otherwise. Relative paths resolve against the settings file's folder
/// (the current directory when there is no file).
pub fn load_settings(explicit: Option<&Path>) -> Result<Settings, Vec<Diagnostic>> {
    let cwd = std::env::current_dir().map_err(|e| {
        vec![Diagnostic::whole_file(
            Path::new("."),
            format!("cannot determine the current directory: {e}"),
        )]
    })?;
    load_settings_in(&cwd, explicit)
}

fn load_settings_in(cwd: &Path, explicit: Option<&Path>) -> Result<Settings, Vec<Diagnostic>> {
    let shown = explicit.unwrap_or(Path::new(SETTINGS_FILE));
    let path = absolutize(cwd, shown);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if explicit.is_none() && e.kind() == io::ErrorKind::NotFound => {
            return Ok(Settings::resolve(
                None,
                cwd.to_path_buf(),
                SettingsFile::default(),
            ))
        }
        Err(e) => return Err(vec![unreadable(shown, "settings file", &e)]),
    };
    let file = parse_settings(shown, &text)?;
    if let Some(table) = &file.audit_head_sftp {
        if let Err(e) = SftpAnchorSpec::from_table(table) {
            return Err(vec![Diagnostic::whole_file(
                shown,
                format!("audit_head_sftp: {e}"),
            )]);
        }
    }
    if let Some(url) = &file.audit_head_url {
        if let Err(e) = url_allowed(url, false) {
            return Err(vec![Diagnostic::whole_file(
                shown,
                format!("audit_head_url: {e}"),
            )]);
        }
    }
    let base_dir = path
        .parent()
        .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    Ok(Settings::resolve(Some(path), base_dir, file))
}

/// Every key of the settings file is deserialized on its own, so each mistake is reported.
fn parse_settings(shown: &Path, text: &str) -> Result<SettingsFile, Vec<Diagnostic>> {
    let doc = parse_document(shown, text)?;
    let mut diags = Vec::new();
    if let DeValue::Table(root) = doc.get_ref() {
        for (key, value) in root.iter() {
            let mut alone = DeTable::new();
            alone.insert(key.clone(), value.clone());
            let one = Spanned::new(doc.span(), DeValue::Table(alone));
            if let Err(e) = SettingsFile::deserialize(ValueDeserializer::from(one)) {
                diags.push(Failure::from(e).within(key.span()).diagnostic(shown, text));
            }
        }
    }
    finish(shown, text, diags, &doc, SettingsFile::deserialize)
}

/// What a caller checks in each profile besides the profile language's own rules: `Ok` with
/// what it makes of a profile it finds no problem in, or at least one problem.
pub type Rules<'r, T> = &'r dyn Fn(&Profile) -> Result<T, Vec<Problem>>;

/// Loads every `*.toml` file of the profile folder (in name order; names starting with `.` are
/// skipped as editor leftovers) with the profile language's own rules only; what runs a
/// profile loads it through the engine's `checks`, which add the rules of every component.
/// All problems of all files are returned together, including profile names used by more
/// than one file.
pub fn load_profiles(settings: &Settings) -> Result<Vec<Profile>, Vec<Diagnostic>> {
    let loaded = load_profiles_with(settings, &|_| Ok(()))?;
    Ok(loaded.into_iter().map(|(profile, ())| profile).collect())
}

/// [`load_profiles`] with the caller's `rules` run on each profile besides the profile
/// language's own, their problems located like theirs; each profile comes with what `rules`
/// made of it.
pub fn load_profiles_with<T>(
    settings: &Settings,
    rules: Rules<'_, T>,
) -> Result<Vec<(Profile, T)>, Vec<Diagnostic>> {
    let dir = &settings.profiles_dir;
    let mut paths = profile_paths(dir).map_err(|e| {
        vec![unreadable(dir, "profile folder", &e)
            .with_help("create it, or set `profiles = \"...\"` in hrbridge.toml")]
    })?;
    paths.sort();
    let mut diags = Vec::new();
    let mut loaded: Vec<Loaded<T>> = Vec::new();
    for path in paths {
        let shown = shown_path(&path);
        match load_one(&path, &shown, rules) {
            Ok(one) => loaded.push(one),
            Err(mut d) => diags.append(&mut d),
        }
    }
    diags.extend(duplicate_names(&loaded));
    if diags.is_empty() {
        Ok(loaded.into_iter().map(|l| (l.profile, l.made)).collect())
    } else {
        Err(diags)
    }
}

/// `path` as the operator should read it: relative to the current folder when inside it.
fn shown_path(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok();
    cwd.as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
        .to_path_buf()
}

/// Locates `warnings` about a loaded profile (things that work but may not do what the author
/// meant, which `hrbridge check` points out) in its file.
pub fn locate_warnings(profile: &Profile, warnings: Vec<Problem>) -> Vec<Diagnostic> {
    let shown = shown_path(&profile.origin);
    let Ok(text) = std::fs::read_to_string(&profile.origin) else {
        return Vec::new();
    };
    let Ok(doc) = parse_document(&shown, &text) else {
        return Vec::new();
    };
    warnings
        .into_iter()
        .map(|p| match nearest_span(&doc, &p.at) {
            Some(span) => Diagnostic::at_span(&shown, &text, span, p.message),
            None => Diagnostic::whole_file(&shown, p.message),
        })
        .map(Diagnostic::as_warning)
        .collect()
}

/// Loads one profile file with the profile language's own rules; its name defaults to the
/// file stem.
pub fn load_profile_file(path: &Path) -> Result<Profile, Vec<Diagnostic>> {
    load_profile_file_with(path, &|_| Ok(())).map(|(profile, ())| profile)
}

/// [`load_profile_file`] with the caller's `rules` too (see [`load_profiles_with`]).
pub fn load_profile_file_with<T>(
    path: &Path,
    rules: Rules<'_, T>,
) -> Result<(Profile, T), Vec<Diagnostic>> {
    load_one(path, path, rules).map(|l| (l.profile, l.made))
}

fn profile_paths(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let toml = path.extension().is_some_and(|e| e == "toml");
        if toml && !hidden && path.is_file() {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// A loaded profile with what the caller's rules made of it, and what is needed to point at
/// its name later.
struct Loaded<T> {
    profile: Profile,
    made: T,
    shown: PathBuf,
    text: String,
    name_span: Option<Range<usize>>,
}

fn load_one<T>(
    path: &Path,
    shown: &Path,
    rules: Rules<'_, T>,
) -> Result<Loaded<T>, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![unreadable(shown, "profile", &e)])?;
    let doc = parse_document(shown, &text)?;
    let name_span = value_at(&doc, &KeyPath::root().key("name"));
    let (mut profile, mut diags, failed) = match parse_profile(shown, &text, &doc) {
        Ok(profile) => (profile, Vec::new(), Vec::new()),
        Err(ParseFailure { diags, failed }) => match lenient_profile(&text, &failed) {
            Some(stand_in) => (stand_in, diags, failed),
            None => return Err(diags),
        },
    };
    profile.origin = path.to_path_buf();
    if name_span.is_none() {
        profile.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let mut problems = check(&profile);
    let made = rules(&profile).map_err(|found| problems.extend(found)).ok();
    diags.extend(
        problems
            .into_iter()
            .filter(|p| !failed.iter().any(|f| p.at.0.starts_with(&f.0)))
            .map(|p| match nearest_span(&doc, &p.at) {
                Some(span) => Diagnostic::at_span(shown, &text, span, p.message),
                None => Diagnostic::whole_file(shown, p.message),
            }),
    );
    drop(doc); // ends the borrow of `text`, which moves into the result
    match made {
        Some(made) if diags.is_empty() => Ok(Loaded {
            profile,
            made,
            shown: shown.to_path_buf(),
            text,
            name_span,
        }),
        _ => {
            sort_by_position(&mut diags);
            Err(diags)
        }
    }
}

fn duplicate_names<T>(loaded: &[Loaded<T>]) -> Vec<Diagnostic> {
    let mut first: HashMap<&str, &Loaded<T>> = HashMap::new();
    let mut diags = Vec::new();
    for l in loaded {
        let Some(earlier) = first.get(l.profile.name.as_str()) else {
            first.insert(&l.profile.name, l);
            continue;
        };
        let message = format!(
            "profile name `{}` is already used by {}",
            l.profile.name,
            earlier.shown.display()
        );
        let d = match &l.name_span {
            Some(span) => Diagnostic::at_span(&l.shown, &l.text, span.clone(), message),
            None => Diagnostic::whole_file(&l.shown, message)
                .with_help("the name defaults to the file name; set `name = \"...\"` to differ"),
        };
        diags.push(d);
    }
    diags
}

/// The top-level keys of a profile, in the order the documentation presents them.
const PROFILE_KEYS: &[&str] = &[
    "name",
    "description",
    "schedule",
    "timezone",
    "source",
    "format",
    "sample_header",
    "field",
    "filter",
    "validation",
    "output",
    "notify",
    "lifecycle",
    "privacy",
];

const REQUIRED_SOURCE_HELP: &str =
    "add where files come from, e.g. [source] with type = \"dir\" and path = \"inbox/hires\"";
const REQUIRED_FIELD_HELP: &str =
    "add one [[field]] per output column, e.g. with name = \"employee_id\" and from = \"ID\"";

/// Deserializes each part of the profile on its own, collecting every error; then builds the
/// profile from the whole document once all parts are known to be good.
fn parse_profile(shown: &Path, text: &str, doc: &Doc<'_>) -> Result<Profile, ParseFailure> {
    let DeValue::Table(root) = doc.get_ref() else {
        return Err(ParseFailure::of(vec![Diagnostic::whole_file(
            shown,
            "not a TOML table",
        )]));
    };
    let mut failures = Vec::new();
    let mut failed = Vec::new();
    let mut diags = Vec::new();
    for (key, value) in root.iter() {
        let name: &str = key.get_ref().as_ref();
        let result = match key.get_ref().as_ref() {
            "name" | "description" | "schedule" | "timezone" => de::<String>(value),
            "sample_header" => de::<Vec<String>>(value),
            "source" => tagged(value, source_variant, SourceSpec::deserialize),
            "format" => de::<FormatSpec>(value),
            "validation" => de::<ValidationSpec>(value),
            "lifecycle" => de::<LifecycleSpec>(value),
            "privacy" => de::<PrivacySpec>(value),
            "field" | "filter" | "output" | "notify" => {
                let Some(items) = array_of_tables(shown, text, key, value, &mut diags) else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    let result = match key.get_ref().as_ref() {
                        "field" => de::<FieldSpec>(item),
                        "filter" => de::<FilterSpec>(item),
                        "notify" => tagged(item, notify_variant, NotifySpec::deserialize),
                        _ => tagged(item, output_variant, OutputSpec::deserialize),
                    };
                    if let Err(f) = result {
                        failed.push(KeyPath::root().key(name).index(i));
                        failures.push(f.within(item.span()));
                    }
                }
                Ok(())
            }
            other => Err(unknown_key(other, key.span())),
        };
        if let Err(f) = result {
            failed.push(KeyPath::root().key(name));
            failures.push(f.within(value.span()));
        }
    }
    diags.extend(failures.into_iter().map(|f| f.diagnostic(shown, text)));
    let required = [
        ("source", "missing [source] table", REQUIRED_SOURCE_HELP),
        ("field", "missing [[field]] table", REQUIRED_FIELD_HELP),
    ];
    for (key, message, help) in required {
        if !root.contains_key(key) {
            diags.push(Diagnostic::whole_file(shown, message).with_help(help));
        }
    }
    finish(shown, text, diags, doc, Profile::deserialize)
        .map_err(|diags| ParseFailure { diags, failed })
}

/// Why a profile did not deserialize: the diagnostics, and the parts that failed.
struct ParseFailure {
    diags: Vec<Diagnostic>,
    /// Key paths of the sections or items that did not deserialize (`format`, `field[1]`).
    failed: Vec<KeyPath>,
}

impl ParseFailure {
    fn of(diags: Vec<Diagnostic>) -> ParseFailure {
        ParseFailure {
            diags,
            failed: Vec::new(),
        }
    }
}

/// The profile with every failed part replaced by a harmless stand-in, so the semantic checks
/// can still look at the parts that are fine (a duplicate field name is reported together with
/// an unknown key elsewhere). `None` when even that does not deserialize (e.g. no `[source]`).
fn lenient_profile(text: &str, failed: &[KeyPath]) -> Option<Profile> {
    let mut table: toml::Table = toml::from_str(text).ok()?;
    for path in failed {
        match path.0.as_slice() {
            [Seg::Key(k)] if k == "source" => {
                table.insert(k.clone(), stand_in("source", 0));
            }
            [Seg::Key(k)] => {
                table.remove(k);
            }
            [Seg::Key(k), Seg::Index(i)] => {
                if let Some(item) = table
                    .get_mut(k)
                    .and_then(toml::Value::as_array_mut)
                    .and_then(|items| items.get_mut(*i))
                {
                    let name = item
                        .get("name")
                        .and_then(toml::Value::as_str)
                        .map(str::to_string);
                    *item = stand_in(k, *i);
                    // A field keeps its name, so duplicates involving it are still found.
                    if let (Some(name), "field") = (name, k.as_str()) {
                        if let Some(t) = item.as_table_mut() {
                            t.insert("name".into(), toml::Value::String(name));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    toml::Value::Table(table).try_into().ok()
}

/// A valid placeholder for a failed part; whatever the checks say about it is dropped.
fn stand_in(section: &str, i: usize) -> toml::Value {
    let text = match section {
        "source" => "type = \"dir\"\npath = \".\"".to_string(),
        "field" => format!("name = \"\u{1}unchecked field {i}\"\ndefault = \"-\""),
        "filter" => "column = \"\u{1}\"\nis_empty = true".to_string(),
        "notify" => {
            "type = \"webhook\"\nurl = \"https://localhost/\"\nsecret = \"${env:X}\"".to_string()
        }
        _ => "type = \"file\"\npath = \"unchecked.csv\"".to_string(),
    };
    toml::Value::Table(toml::from_str(&text).unwrap_or_default())
}

/// A deserialization error with the span it was found at, if any.
struct Failure {
    message: String,
    span: Option<Range<usize>>,
}

impl From<TomlError> for Failure {
    fn from(e: TomlError) -> Failure {
        Failure {
            message: e.message().trim_end().to_string(),
            span: e.span(),
        }
    }
}

impl Failure {
    /// This failure placed at `span` when it has no position of its own.
    fn within(mut self, span: Range<usize>) -> Failure {
        self.span = self.span.or(Some(span));
        self
    }

    /// The document root's empty span is not a position: such failures concern the file.
    fn diagnostic(self, shown: &Path, text: &str) -> Diagnostic {
        match self.span.filter(|s| !s.is_empty() || s.start > 0) {
            Some(span) => Diagnostic::at_span(shown, text, span, self.message),
            None => Diagnostic::whole_file(shown, self.message),
        }
    }
}

/// The items of `field`, `filter` or `output`, which must be an array of tables.
fn array_of_tables<'a, 'i>(
    shown: &Path,
    text: &str,
    key: &Spanned<DeString<'i>>,
    value: &'a Doc<'i>,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'a [Doc<'i>]> {
    if let DeValue::Array(items) = value.get_ref() {
        return Some(items);
    }
    let name = key.get_ref();
    diags.push(
        Diagnostic::at_span(
            shown,
            text,
            value.span(),
            format!(
                "`{name}` must be a list of tables, found a {}",
                value.get_ref().type_str()
            ),
        )
        .with_help(format!(
            "write [[{name}]] (two brackets) before each {name}"
        )),
    );
    None
}

fn unknown_key(key: &str, span: Range<usize>) -> Failure {
    let expected: Vec<String> = PROFILE_KEYS.iter().map(|k| format!("`{k}`")).collect();
    Failure {
        message: format!(
            "unknown field `{key}`, expected one of {}",
            expected.join(", ")
        ),
        span: Some(span),
    }
}

fn de<'i, T: Deserialize<'i>>(value: &Doc<'i>) -> Result<(), Failure> {
    T::deserialize(value.clone().into_deserializer())
        .map(drop)
        .map_err(Failure::from)
}

/// The outcome of deserializing one variant of an internally tagged enum, or `None` for a tag
/// the caller does not list.
type Variant = Option<Result<(), TomlError>>;

/// The `[source]` variants, deserialized directly so that errors inside keep their spans.
fn source_variant(tag: &str, rest: ValueDeserializer<'_>) -> Variant {
    match tag {
        "dir" => Some(DirSourceSpec::deserialize(rest).map(drop)),
        "sftp" => Some(SftpSourceSpec::deserialize(rest).map(drop)),
        _ => None,
    }
}

/// The `[[output]]` variants, deserialized directly so that errors inside keep their spans.
fn output_variant(tag: &str, rest: ValueDeserializer<'_>) -> Variant {
    match tag {
        "file" => Some(FileOutputSpec::deserialize(rest).map(drop)),
        "sftp" => Some(SftpOutputSpec::deserialize(rest).map(drop)),
        "http" => Some(HttpOutputSpec::deserialize(rest).map(drop)),
        "scim" => Some(ScimOutputSpec::deserialize(rest).map(drop)),
        _ => None,
    }
}

/// The `[[notify]]` variants, deserialized directly so that errors inside keep their spans.
fn notify_variant(tag: &str, rest: ValueDeserializer<'_>) -> Variant {
    match tag {
        "webhook" => Some(WebhookSpec::deserialize(rest).map(drop)),
        _ => None,
    }
}

/// Checks an internally tagged table. serde buffers such tables before choosing the variant,
/// which loses the position of any error inside; so the variant named by `type` is deserialized
/// directly from the rest of the table. Tags `variant` does not list fall back to the enum's own
/// deserializer (which reports unknown tags with the list of valid ones), with its errors moved
/// onto the key they name where they name one.
fn tagged<'i, T>(
    value: &Doc<'i>,
    variant: fn(&str, ValueDeserializer<'i>) -> Variant,
    whole: fn(ValueDeserializer<'i>) -> Result<T, TomlError>,
) -> Result<(), Failure> {
    if let DeValue::Table(table) = value.get_ref() {
        if let Some(tag) = table.get("type").and_then(|t| t.get_ref().as_str()) {
            let mut rest = table.clone();
            rest.remove("type");
            let rest = ValueDeserializer::from(Spanned::new(value.span(), DeValue::Table(rest)));
            if let Some(result) = variant(tag, rest) {
                return result.map_err(Failure::from);
            }
        }
    }
    whole(value.clone().into_deserializer())
        .map(drop)
        .map_err(|e| narrow(Failure::from(e), value))
}

/// Moves a failure that serde could only place on a whole table onto the key it names.
fn narrow(mut f: Failure, value: &Doc<'_>) -> Failure {
    let DeValue::Table(table) = value.get_ref() else {
        return f;
    };
    let named = if f.message.starts_with("unknown variant") {
        table.get("type").map(Spanned::span)
    } else if let Some(rest) = f.message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        table.get_key_value(name).map(|(k, _)| k.span())
    } else {
        None
    };
    if named.is_some() {
        f.span = named;
    }
    f
}

/// Ends a piece-by-piece pass: with no diagnostics, the whole value is built once (any error at
/// that point is reported too); otherwise the diagnostics are returned in document order.
fn finish<'i, T>(
    shown: &Path,
    text: &str,
    mut diags: Vec<Diagnostic>,
    doc: &Doc<'i>,
    build: fn(ValueDeserializer<'i>) -> Result<T, TomlError>,
) -> Result<T, Vec<Diagnostic>> {
    if diags.is_empty() {
        match build(doc.clone().into_deserializer()) {
            Ok(value) => return Ok(value),
            Err(e) => diags.push(Failure::from(e).diagnostic(shown, text)),
        }
    }
    sort_by_position(&mut diags);
    Err(diags)
}

fn sort_by_position(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)));
}

/// Parses TOML text; a syntax error is one diagnostic at its position.
fn parse_document<'i>(shown: &Path, text: &'i str) -> Result<Doc<'i>, Vec<Diagnostic>> {
    let table = DeTable::parse(text).map_err(|e| vec![Failure::from(e).diagnostic(shown, text)])?;
    let span = table.span();
    Ok(Spanned::new(span, DeValue::Table(table.into_inner())))
}

fn unreadable(shown: &Path, what: &str, e: &io::Error) -> Diagnostic {
    let reason = match e.kind() {
        io::ErrorKind::NotFound => "it does not exist".to_string(),
        io::ErrorKind::InvalidData => "it is not valid UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    Diagnostic::whole_file(shown, format!("cannot read the {what}: {reason}"))
}

/// The span of the value at `path`, if every step of the path exists.
fn value_at(doc: &Doc<'_>, path: &KeyPath) -> Option<Range<usize>> {
    let (span, complete) = walk(doc, path);
    span.filter(|_| complete)
}

/// The span of the value at `path`, or of its nearest existing ancestor (a missing key is
/// reported at its table's header). `None` means only the document root exists.
fn nearest_span(doc: &Doc<'_>, path: &KeyPath) -> Option<Range<usize>> {
    walk(doc, path).0
}

fn walk(doc: &Doc<'_>, path: &KeyPath) -> (Option<Range<usize>>, bool) {
    let mut node = doc;
    let mut span = None;
    for seg in &path.0 {
        let next = match (seg, node.get_ref()) {
            (Seg::Key(k), DeValue::Table(t)) => t.get(k.as_str()),
            (Seg::Index(i), DeValue::Array(a)) => a.get(*i),
            _ => None,
        };
        match next {
            Some(n) => {
                node = n;
                span = Some(n.span());
            }
            None => return (span, false),
        }
    }
    (span, true)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::profile::fixtures::{self, settings_for, MINIMAL};

    /// Writes `text` as profiles/`stem`.toml and loads it; returns its path too.
    fn load_text(stem: &str, text: &str) -> (PathBuf, Result<Profile, Vec<Diagnostic>>) {
        fixtures::load_text(stem, text, |path, _| load_profile_file(path))
    }

    fn errors(text: &str) -> (PathBuf, Vec<String>) {
        let (path, result) = load_text("p", text);
        (path, fixtures::errors_of(result))
    }

    #[test]
    fn three_independent_mistakes_give_three_located_diagnostics() {
        let text = r#"name = "ats-to-hris"

[source]
type = "dir"
path = "inbox/ats"
settle = "10 parsecs"

[format]
type = "pdf"

[[field]]
name = "employee_id"
from = "Candidate ID"

[[field]]
name = "first_name"
fromm = "First"

[[output]]
type = "file"
path = "outbox/hris.csv"
"#;
        let (path, e) = errors(text);
        let p = path.display();
        assert_eq!(
            e,
            [
                format!(
                    "error: invalid duration \"10 parsecs\": expected a number and a unit \
                     (ms, s, m, h, d), e.g. \"10s\"\n --> {p}:6:10\n  |\n\
                     6 | settle = \"10 parsecs\"\n  |          ^^^^^^^^^^^^"
                ),
                format!(
                    "error: unknown variant `pdf`, expected one of `csv`, `excel`, `ods`, \
                     `xls`, `xlsx`, `fixed`, `fixed-width`\n --> {p}:9:8\n  |\n9 | type = \"pdf\"\n  |        ^^^^^"
                ),
                format!(
                    "error: unknown field `fromm`, expected one of `name`, `from`, `template`, \
                     `default`, `required`, `type`, `input_formats`, `format`, `transform`, \
                     `map`, `lookup`, `pattern`, `min`, `max`, `max_length`, `pii`, `key`, `category`\n  \
                     --> {p}:17:1\n   |\n17 | fromm = \"First\"\n   | ^^^^^"
                ),
            ]
        );
    }

    #[test]
    fn syntax_error_is_one_diagnostic_at_its_position() {
        let text = format!("{MINIMAL}[[filter]]\ncolumn = = \"Status\"\nbogus = 1\n");
        let (path, e) = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        let expected = format!(" --> {}:11:10\n", path.display());
        assert!(e[0].contains(&expected), "{}", e[0]);
        assert!(
            e[0].ends_with("11 | column = = \"Status\"\n   |          ^"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn missing_required_key_points_at_its_table_header() {
        let text = MINIMAL.replace("path = \"inbox/x\"\n", "");
        let (path, e) = errors(&text);
        assert_eq!(
            e,
            [format!(
                "error: missing field `path`\n --> {}:1:1\n  |\n1 | [source]\n  | ^^^^^^^^",
                path.display()
            )]
        );
    }

    #[test]
    fn unknown_top_level_keys_are_each_reported() {
        let text = format!("nmae = \"x\"\n{MINIMAL}[validaton]\nmin_rows = 1\n");
        let (_, e) = errors(&text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("error: unknown field `nmae`, expected one of `name`,"));
        assert!(e[0].ends_with("1 | nmae = \"x\"\n  | ^^^^"), "{}", e[0]);
        assert!(e[1].contains(":11:2\n"), "{}", e[1]);
        assert!(
            e[1].ends_with("11 | [validaton]\n   |  ^^^^^^^^^"),
            "{}",
            e[1]
        );
    }

    #[test]
    fn missing_source_and_fields_concern_the_whole_file() {
        let (path, e) = errors("[[output]]\ntype = \"file\"\npath = \"o.csv\"\n");
        let p = path.display();
        assert_eq!(
            e,
            [
                format!(
                    "error: missing [source] table\n --> {p}\n  = help: {REQUIRED_SOURCE_HELP}"
                ),
                format!(
                    "error: missing [[field]] table\n --> {p}\n  = help: {REQUIRED_FIELD_HELP}"
                ),
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(dir.path());
        let path = settings.profiles_dir.join("latin1.toml");
        fs::write(&path, b"name = \"caf\xe9\"\n").unwrap();
        let e = load_profile_file(&path).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].message,
            "cannot read the profile: it is not valid UTF-8 text"
        );
    }

    #[test]
    fn single_bracket_field_table_gets_a_hint() {
        let text = MINIMAL.replace("[[field]]", "[field]");
        let (_, e) = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("error: `field` must be a list of tables, found a table"));
        assert!(e[0].contains("4 | [field]\n  | ^^^^^^^"), "{}", e[0]);
        assert!(e[0].ends_with("= help: write [[field]] (two brackets) before each field"));
    }

    #[test]
    fn unlisted_output_type_is_located_at_the_type() {
        let text = MINIMAL.replace("type = \"file\"", "type = \"ftp\"");
        let (_, e) = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(
                "error: unknown variant `ftp`, expected one of `file`, `sftp`, `http`, `scim`"
            ),
            "{}",
            e[0]
        );
        assert!(
            e[0].ends_with("8 | type = \"ftp\"\n  |        ^^^^^"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn narrowing_moves_a_table_error_onto_the_named_key() {
        let text = "[output]\ntype = \"file\"\npth = \"x\"\n";
        let doc = parse_document(Path::new("p"), text).unwrap();
        let table = walk(&doc, &KeyPath::root().key("output")).0.unwrap();
        let value = match doc.get_ref() {
            DeValue::Table(t) => t.get("output").unwrap().clone(),
            _ => unreachable!(),
        };
        let f = Failure {
            message: "unknown field `pth`, expected `path`".to_string(),
            span: Some(table),
        };
        assert_eq!(narrow(f, &value).span, Some(23..26));
        let f = Failure {
            message: "missing field `path`".to_string(),
            span: Some(0..8),
        };
        assert_eq!(narrow(f, &value).span, Some(0..8));
    }

    #[test]
    fn semantic_problem_on_a_missing_key_falls_back_to_the_file() {
        let text = MINIMAL.split("[[output]]").next().unwrap();
        let (path, e) = errors(text);
        assert_eq!(
            e,
            [format!(
                "error: a profile needs at least one [[output]]: without one, records go \
                 nowhere\n --> {}",
                path.display()
            )]
        );
    }

    #[test]
    fn name_defaults_to_the_file_stem() {
        let (path, result) = load_text("payroll_export", MINIMAL);
        let profile = result.unwrap();
        assert_eq!(profile.name, "payroll_export");
        assert_eq!(profile.origin, path);
        let (_, result) = load_text("payroll_export", &format!("name = \"pay\"\n{MINIMAL}"));
        assert_eq!(result.unwrap().name, "pay");
    }

    #[test]
    fn unsafe_stem_is_reported_for_the_file() {
        let (path, result) = load_text("pay roll", MINIMAL);
        let e: Vec<String> = result
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("error: profile name `pay roll` may only contain"));
        assert!(
            e[0].ends_with(&format!(" --> {}", path.display())),
            "{}",
            e[0]
        );
    }

    #[test]
    fn load_profiles_collects_problems_of_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(dir.path());
        let bad_a = MINIMAL.replace("from = \"ID\"", "from = \"ID\"\nrequird = true");
        let bad_b = MINIMAL.replace("inbox/x\"", "inbox/x\"\nsettle = \"soon\"");
        fs::write(settings.profiles_dir.join("a.toml"), bad_a).unwrap();
        fs::write(settings.profiles_dir.join("b.toml"), bad_b).unwrap();
        fs::write(settings.profiles_dir.join("c.toml"), MINIMAL).unwrap();
        fs::write(settings.profiles_dir.join("notes.txt"), "not a profile").unwrap();
        fs::write(settings.profiles_dir.join(".d.toml"), "junk [").unwrap();
        let e = load_profiles(&settings).unwrap_err();
        let files: Vec<_> = e.iter().map(|d| d.file.file_name().unwrap()).collect();
        assert_eq!(files, ["a.toml", "b.toml"]);
        assert!(e[0].message.starts_with("unknown field `requird`"));
        assert_eq!(
            e[0].location.as_ref().map(|l| (l.line, l.column)),
            Some((7, 1))
        );
        assert!(e[1].message.starts_with("invalid duration \"soon\""));
        assert_eq!(
            e[1].location.as_ref().map(|l| (l.line, l.column)),
            Some((4, 10))
        );
    }

    #[test]
    fn load_profiles_returns_good_profiles_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(dir.path());
        fs::write(settings.profiles_dir.join("b.toml"), MINIMAL).unwrap();
        fs::write(settings.profiles_dir.join("a.toml"), MINIMAL).unwrap();
        let names: Vec<String> = load_profiles(&settings)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn duplicate_names_across_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_for(dir.path());
        let named = format!("name = \"hires\"\n{MINIMAL}");
        fs::write(settings.profiles_dir.join("a.toml"), &named).unwrap();
        fs::write(settings.profiles_dir.join("b.toml"), &named).unwrap();
        fs::write(settings.profiles_dir.join("hires.toml"), MINIMAL).unwrap();
        let e = load_profiles(&settings).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        let a = settings.profiles_dir.join("a.toml");
        assert_eq!(
            e[0].to_string(),
            format!(
                "error: profile name `hires` is already used by {}\n --> {}:1:8\n  |\n\
                 1 | name = \"hires\"\n  |        ^^^^^^^",
                a.display(),
                settings.profiles_dir.join("b.toml").display()
            )
        );
        assert_eq!(e[1].file, settings.profiles_dir.join("hires.toml"));
        assert!(e[1].location.is_none());
        assert!(e[1]
            .help
            .as_deref()
            .unwrap()
            .contains("defaults to the file name"));
    }

    #[test]
    fn missing_profile_folder_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::resolve(None, dir.path().to_path_buf(), SettingsFile::default());
        let e = load_profiles(&settings).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].file, dir.path().join("profiles"));
        assert_eq!(
            e[0].message,
            "cannot read the profile folder: it does not exist"
        );
    }

    #[test]
    fn settings_default_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = load_settings_in(dir.path(), None).unwrap();
        assert_eq!(s.config_file, None);
        assert_eq!(s.base_dir, dir.path());
        assert_eq!(s.profiles_dir, dir.path().join("profiles"));
        assert_eq!(s.state_dir, dir.path().join("var"));
    }

    #[test]
    fn settings_file_in_the_current_folder_sets_the_base() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(SETTINGS_FILE),
            "profiles = \"conf/profiles\"\n",
        )
        .unwrap();
        let s = load_settings_in(dir.path(), None).unwrap();
        assert_eq!(s.config_file, Some(dir.path().join(SETTINGS_FILE)));
        assert_eq!(s.profiles_dir, dir.path().join("conf/profiles"));
    }

    #[test]
    fn explicit_settings_file_resolves_against_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/h.toml"), "state_dir = \"state\"\n").unwrap();
        let s = load_settings_in(dir.path(), Some(Path::new("./etc/h.toml"))).unwrap();
        assert_eq!(s.base_dir, dir.path().join("etc"));
        assert_eq!(s.state_dir, dir.path().join("etc/state"));
    }

    #[test]
    fn explicit_settings_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_settings_in(dir.path(), Some(Path::new("nope.toml"))).unwrap_err();
        assert_eq!(
            e.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["error: cannot read the settings file: it does not exist\n --> nope.toml"]
        );
    }

    #[test]
    fn settings_mistakes_are_each_located() {
        let dir = tempfile::tempdir().unwrap();
        let text = "profile = \"p\"\nstate_dir = 3\noutput_roots = [\"out\"]\n";
        fs::write(dir.path().join(SETTINGS_FILE), text).unwrap();
        let e: Vec<String> = load_settings_in(dir.path(), None)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            e,
            [
                "error: unknown field `profile`, expected one of `profiles`, `state_dir`, \
                 `output_roots`, `retention`, `audit_head_file`, `audit_head_url`, \
                 `audit_head_sftp`\n --> hrbridge.toml:1:1\n  |\n1 | profile = \"p\"\n  | ^^^^^^^",
                "error: invalid type: integer `3`, expected path string\n --> hrbridge.toml:2:13\n  \
                 |\n2 | state_dir = 3\n  |             ^",
            ]
        );
    }
}
