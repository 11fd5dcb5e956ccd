//! The profile language as serde structs: one TOML file per integration.
//!
//! The doc comments on these structs are the user reference for each key. Every struct denies
//! unknown keys so that a typo is an error, never a silently ignored setting. Loading (with
//! located errors) lives in `load.rs`; semantic checks live in `check.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

pub use super::api::*;
pub use super::fixed_output::{LineEnding, Piece};
use crate::kernel::duration::DurationStr;
use crate::kernel::secret::SecretRef;

/// One integration: where files come from, how to read them, how to map each row, and where the
/// mapped records go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The file this profile was loaded from (set by the loader).
    #[serde(skip)]
    pub origin: PathBuf,
    /// Name used in the CLI, the store and output templates; defaults to the file stem.
    #[serde(default)]
    pub name: String,
    /// Free text for operators.
    #[serde(default)]
    pub description: Option<String>,
    /// Cron expression (`"*/15 * * * *"`, 5 or 6 fields); without it, files are processed
    /// when they arrive (folders) or every `poll` (SFTP).
    #[serde(default)]
    pub schedule: Option<String>,
    /// IANA time zone (e.g. `"Europe/Berlin"`) the schedule is read in (default UTC) and
    /// `{date}` in output names is written in (default: the machine's time zone).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Where export files come from.
    pub source: SourceSpec,
    /// How to read the export files.
    #[serde(default)]
    pub format: FormatSpec,
    /// Optional copy of the export's header row; `check` then verifies every `from` column exists.
    #[serde(default)]
    pub sample_header: Option<Vec<String>>,
    /// Output fields, in output order.
    #[serde(rename = "field")]
    pub fields: Vec<FieldSpec>,
    /// Rows must pass every filter to be mapped; the others are skipped and counted.
    #[serde(rename = "filter", default)]
    pub filters: Vec<FilterSpec>,
    /// File-level contract: limits that fail the whole file before anything is delivered.
    #[serde(default)]
    pub validation: ValidationSpec,
    /// Destinations for the mapped records.
    #[serde(rename = "output", default)]
    pub outputs: Vec<OutputSpec>,
    /// Who hears about finished jobs.
    #[serde(rename = "notify", default)]
    pub notify: Vec<NotifySpec>,
    /// Full rosters diffed against the previous accepted snapshot (joiners, movers, leavers,
    /// rehires) instead of delivered row by row.
    #[serde(default)]
    pub lifecycle: Option<super::lifecycle::LifecycleSpec>,
    /// What the personal data is sent for, on what legal basis, to whom and for how long.
    #[serde(default)]
    pub privacy: Option<super::privacy::PrivacySpec>,
}

/// `[[notify]]`: a message when a job ends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum NotifySpec {
    /// A JSON job summary POSTed to a URL, signed with HMAC-SHA256.
    Webhook(WebhookSpec),
}

/// `[[notify]] type = "webhook"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Where the summary is POSTed; `https://` unless the host is loopback or
    /// `allow_plain_http = true`.
    pub url: String,
    /// HMAC-SHA256 key for the `X-Hrbridge-Signature` header, as `"${secret:NAME}"` or
    /// `"${env:NAME}"`.
    pub secret: SecretRef,
    /// Job statuses that are sent (default: succeeded, partial, failed).
    #[serde(default = "default_notify_on")]
    pub on: Vec<String>,
    /// Plain HTTP to a host other than loopback, stated in so many words.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Time allowed for one attempt (default `"10s"`).
    #[serde(default)]
    pub timeout: Option<DurationStr>,
}

fn default_notify_on() -> Vec<String> {
    ["succeeded", "partial", "failed"]
        .map(String::from)
        .to_vec()
}

/// `[source]`: where export files are picked up.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceSpec {
    /// A local (or mounted) inbox folder.
    Dir(DirSourceSpec),
    /// A folder on an SFTP server that hrbridge polls.
    Sftp(SftpSourceSpec),
}

/// `[source] type = "dir"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSourceSpec {
    /// Inbox folder; relative paths resolve against hrbridge.toml's folder.
    pub path: PathBuf,
    /// Glob matched against file names in the inbox (not recursive), e.g. `"hires_*.csv"`.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// A file is taken only when its size and mtime stay unchanged for this long.
    #[serde(default)]
    pub settle: Option<DurationStr>,
    /// Take `x.csv` only once `x.csv<done_marker>` exists (e.g. `".done"`).
    #[serde(default)]
    pub done_marker: Option<String>,
    /// The daemon rescans the folder this often, besides reacting to file events (which are
    /// missed on network mounts). Default `"60s"`.
    #[serde(default)]
    pub poll: Option<DurationStr>,
    /// Identity files (as written by `age-keygen` or `hrbridge keygen`; relative paths resolve
    /// against hrbridge.toml's folder) that open the age-encrypted files this source receives,
    /// e.g. `["keys/hrbridge.key"]`. With it, every input is an `.age` file (match it with a
    /// pattern such as `"hires_*.csv.age"`); it is decrypted while staged and kept encrypted, and
    /// one that does not decrypt (truncated, altered, for another key) fails its job.
    #[serde(default)]
    pub decrypt_with: Vec<PathBuf>,
    /// Passphrase of `decrypt_with` identity files that are themselves encrypted (`age -p`), as
    /// `"${secret:NAME}"` or `"${env:NAME}"`.
    #[serde(default)]
    pub identity_passphrase: Option<SecretRef>,
}

/// How to reach and log in to an SFTP server: shared by SFTP sources and outputs, written
/// inline in their tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConnectionSpec {
    pub host: String,
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    pub user: String,
    /// OpenSSH private key file (ed25519, RSA or ECDSA).
    #[serde(default)]
    pub private_key: Option<PathBuf>,
    /// Passphrase of `private_key`, as `"${secret:NAME}"` or `"${env:NAME}"`.
    #[serde(default)]
    pub passphrase: Option<SecretRef>,
    /// Password login, as `"${secret:NAME}"` or `"${env:NAME}"` (instead of `private_key`).
    #[serde(default)]
    pub password: Option<SecretRef>,
    /// OpenSSH known_hosts file the server's host key must be in (hashed entries and
    /// `[host]:port` are understood). Unknown or changed keys are refused.
    pub known_hosts: PathBuf,
    /// Time allowed for connecting and logging in (default `"15s"`).
    #[serde(default)]
    pub connect_timeout: Option<DurationStr>,
    /// Time allowed for any one request to answer (default `"30s"`).
    #[serde(default)]
    pub timeout: Option<DurationStr>,
}

/// The keys of [`SftpConnectionSpec`], which SFTP tables carry inline.
const CONNECTION_KEYS: &[&str] = &[
    "host",
    "port",
    "user",
    "private_key",
    "passphrase",
    "password",
    "known_hosts",
    "connect_timeout",
    "timeout",
];

fn default_ssh_port() -> u16 {
    22
}

/// Splits an SFTP table into its connection keys and the rest, each deserialized strictly.
fn split_connection<'de, D, T>(d: D) -> Result<(SftpConnectionSpec, T), D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    split_keys(d, CONNECTION_KEYS)
}

/// Splits a table into the entries named in `keys` and the rest, deserializing each part
/// strictly (so a typo in either part is still an unknown key).
pub(super) fn split_keys<'de, D, C, T>(d: D, keys: &[&str]) -> Result<(C, T), D::Error>
where
    D: serde::Deserializer<'de>,
    C: serde::de::DeserializeOwned,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    let mut rest = toml::Table::deserialize(d)?;
    let mut picked = toml::Table::new();
    for key in keys {
        if let Some(v) = rest.remove(*key) {
            picked.insert((*key).to_string(), v);
        }
    }
    let picked = C::deserialize(toml::Value::Table(picked)).map_err(D::Error::custom)?;
    let rest = T::deserialize(toml::Value::Table(rest)).map_err(D::Error::custom)?;
    Ok((picked, rest))
}

/// `audit_head_sftp` in `hrbridge.toml`: the connection keys plus the remote file each job
/// appends the signed audit head to (see `engine::anchor`).
#[derive(Debug, Clone)]
pub struct SftpAnchorSpec {
    pub connection: SftpConnectionSpec,
    pub path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SftpAnchorKeys {
    path: String,
}

impl SftpAnchorSpec {
    /// The table as the settings file holds it, deserialized strictly.
    pub fn from_table(table: &toml::Table) -> Result<SftpAnchorSpec, String> {
        let (connection, keys): (SftpConnectionSpec, SftpAnchorKeys) =
            split_keys(toml::Value::Table(table.clone()), CONNECTION_KEYS)
                .map_err(|e: toml::de::Error| e.message().to_string())?;
        Ok(SftpAnchorSpec {
            connection,
            path: keys.path,
        })
    }
}

/// `[source] type = "sftp"`: the connection keys plus these.
#[derive(Debug, Clone)]
pub struct SftpSourceSpec {
    pub connection: SftpConnectionSpec,
    /// Remote folder to poll, e.g. `"/exports/ats"`.
    pub path: String,
    /// Glob matched against remote file names.
    pub pattern: String,
    /// How often to list the folder (default `"60s"`), unless `schedule` is set.
    pub poll: Option<DurationStr>,
    /// A file is taken once two listings at least this far apart show the same size and mtime
    /// (default `"10s"`).
    pub settle: Option<DurationStr>,
    /// What happens on the server once the job's outputs are committed.
    pub after: AfterAction,
    /// Identity files that open the `.age` files this source receives; see
    /// [`DirSourceSpec::decrypt_with`].
    pub decrypt_with: Vec<PathBuf>,
    /// See [`DirSourceSpec::identity_passphrase`].
    pub identity_passphrase: Option<SecretRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SftpSourceKeys {
    path: String,
    #[serde(default = "default_pattern")]
    pattern: String,
    #[serde(default)]
    poll: Option<DurationStr>,
    #[serde(default)]
    settle: Option<DurationStr>,
    #[serde(default)]
    after: AfterAction,
    #[serde(default)]
    decrypt_with: Vec<PathBuf>,
    #[serde(default)]
    identity_passphrase: Option<SecretRef>,
}

impl<'de> Deserialize<'de> for SftpSourceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (connection, keys): (_, SftpSourceKeys) = split_connection(d)?;
        Ok(SftpSourceSpec {
            connection,
            path: keys.path,
            pattern: keys.pattern,
            poll: keys.poll,
            settle: keys.settle,
            after: keys.after,
            decrypt_with: keys.decrypt_with,
            identity_passphrase: keys.identity_passphrase,
        })
    }
}

/// `after = "keep" | "delete" | "move:/remote/dir"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AfterAction {
    /// Leave the file; the store remembers it was fetched.
    #[default]
    Keep,
    Delete,
    /// Rename into this remote folder.
    Move(String),
}

/// An `after` that is none of the actions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("after must be \"keep\", \"delete\" or \"move:/remote/dir\", not {text:?}")]
pub struct AfterActionError {
    text: String,
}

impl std::str::FromStr for AfterAction {
    type Err = AfterActionError;

    fn from_str(s: &str) -> Result<AfterAction, AfterActionError> {
        match s {
            "keep" => Ok(AfterAction::Keep),
            "delete" => Ok(AfterAction::Delete),
            _ => match s.strip_prefix("move:") {
                Some(dir) if !dir.is_empty() => Ok(AfterAction::Move(dir.to_string())),
                _ => Err(AfterActionError {
                    text: s.to_string(),
                }),
            },
        }
    }
}

impl<'de> Deserialize<'de> for AfterAction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::kernel::from_text::deserialize(d)
    }
}

fn default_pattern() -> String {
    "*".to_string()
}

/// The kind of export file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatKind {
    /// Delimited text.
    #[default]
    Csv,
    /// Spreadsheets: xlsx, xlsm, xls and ods are all read by this kind.
    #[serde(alias = "xls", alias = "ods", alias = "excel")]
    Xlsx,
    /// Fixed-width records, laid out by `columns`.
    #[serde(alias = "fixed-width")]
    Fixed,
}

/// A column of a fixed-width layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedColumn {
    pub name: String,
    /// 1-based character position; omitted, right after the previous column.
    #[serde(default)]
    pub start: Option<usize>,
    pub width: usize,
}

/// Where in a fixed-width record something is: 1-based start and width.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedSpan {
    pub start: usize,
    pub width: usize,
}

/// What is trimmed off each fixed-width field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixedTrim {
    /// Padding spaces on both sides (numbers are often right-aligned, text left-aligned).
    #[default]
    Both,
    /// Trailing spaces only.
    Right,
    /// Nothing: fields as they stand.
    None,
}

/// `[format]`: how export files are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatSpec {
    /// `"csv"`, `"xlsx"` (also reads .xls/.ods) or `"fixed"`.
    #[serde(rename = "type", default)]
    pub kind: FormatKind,
    /// A single character, `"\t"` / `"tab"`, or `"auto"` to sniff among `,` `;` tab `|`.
    #[serde(default = "default_auto")]
    pub delimiter: String,
    /// `"auto"` (BOM sniff, then strict UTF-8) or an encoding label such as `"utf-8"`,
    /// `"windows-1252"`, `"latin1"`, `"utf-16le"`, `"utf-16be"`.
    #[serde(default = "default_auto")]
    pub encoding: String,
    /// 1-based row holding the column names; rows above it are ignored.
    #[serde(default = "default_header_row")]
    pub header_row: usize,
    /// Sheet name or 0-based index (spreadsheets only); defaults to the first sheet.
    #[serde(default)]
    pub sheet: Option<SheetRef>,
    /// Number of rows at the end of the file to ignore (totals, banners).
    #[serde(default)]
    pub skip_footer: usize,
    /// A trailer record that declares the row count; the count is checked.
    #[serde(default)]
    pub trailer: Option<TrailerSpec>,
    /// Caps that make hostile or broken files fail cleanly.
    #[serde(default)]
    pub limits: Limits,
    /// Fixed-width: the columns, in order.
    #[serde(default)]
    pub columns: Vec<FixedColumn>,
    /// Fixed-width: where a record says what kind it is (file header, detail, trailer).
    #[serde(default)]
    pub record_type: Option<FixedSpan>,
    /// Fixed-width with `record_type`: the type of the data records (e.g. `"D"`).
    #[serde(default)]
    pub detail: Option<String>,
    /// Fixed-width: `"both"` (default), `"right"` or `"none"`.
    #[serde(default)]
    pub trim: FixedTrim,
}

impl Default for FormatSpec {
    fn default() -> Self {
        FormatSpec {
            kind: FormatKind::Csv,
            delimiter: default_auto(),
            encoding: default_auto(),
            header_row: default_header_row(),
            sheet: None,
            skip_footer: 0,
            trailer: None,
            limits: Limits::default(),
            columns: Vec::new(),
            record_type: None,
            detail: None,
            trim: FixedTrim::Both,
        }
    }
}

fn default_auto() -> String {
    "auto".to_string()
}

fn default_header_row() -> usize {
    1
}

/// A sheet chosen by name or by 0-based position.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SheetRef {
    Index(usize),
    Name(String),
}

/// `trailer = { pattern = '^TOTAL,(\d+)$' }`: the last record, its fields joined by the
/// delimiter, must match `pattern`; capture group 1 is the declared number of data rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailerSpec {
    pub pattern: String,
}

/// `[format.limits]`: resource caps for untrusted files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted input file, in bytes (on disk).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Largest total decompressed size of a spreadsheet's parts, in bytes.
    #[serde(default = "default_max_unzipped_bytes")]
    pub max_unzipped_bytes: u64,
    /// Largest number of cells in a sheet.
    #[serde(default = "default_max_cells")]
    pub max_cells: u64,
    /// Largest single cell or CSV field, in bytes.
    #[serde(default = "default_max_cell_bytes")]
    pub max_cell_bytes: usize,
    /// Longest time a spreadsheet may take to open and read, in seconds (time spent waiting
    /// for the consumer of the rows does not count).
    #[serde(default = "default_max_read_seconds")]
    pub max_read_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: default_max_file_bytes(),
            max_unzipped_bytes: default_max_unzipped_bytes(),
            max_cells: default_max_cells(),
            max_cell_bytes: default_max_cell_bytes(),
            max_read_seconds: default_max_read_seconds(),
        }
    }
}

fn default_max_file_bytes() -> u64 {
    4 << 30
}
fn default_max_unzipped_bytes() -> u64 {
    512 << 20
}
fn default_max_cells() -> u64 {
    20_000_000
}
fn default_max_cell_bytes() -> usize {
    64 << 10
}
fn default_max_read_seconds() -> u64 {
    300
}

/// The type a field's value must have; values are parsed and normalised to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    #[default]
    String,
    Date,
    Datetime,
    Integer,
    Decimal,
    Boolean,
    Email,
}

/// `[[field]]`: one output field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Output name; dots (`address.city`) nest in JSON outputs.
    pub name: String,
    /// Input column the value comes from.
    #[serde(default)]
    pub from: Option<String>,
    /// Builds the value from several columns: `"{First} {Last}"`.
    #[serde(default)]
    pub template: Option<String>,
    /// Used when the input value is empty (or, with `map`, unknown).
    #[serde(default)]
    pub default: Option<String>,
    /// An empty value (after transforms and default) rejects the row.
    #[serde(default)]
    pub required: bool,
    /// string (default), date, datetime, integer, decimal, boolean, email.
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    /// chrono formats tried in order for date/datetime input; ISO 8601 is always accepted.
    #[serde(default)]
    pub input_formats: Vec<String>,
    /// chrono output format for date/datetime fields.
    #[serde(default)]
    pub format: Option<String>,
    /// Text transforms applied in order: trim, lower, upper, title, collapse_whitespace,
    /// digits_only, ...
    #[serde(default)]
    pub transform: Vec<String>,
    /// Code table: input value → output value. Unknown values reject unless `default` is set.
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
    /// Translate the value through a CSV table file.
    #[serde(default)]
    pub lookup: Option<LookupSpec>,
    /// Regular expression the final value must match in full.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Lower bound: numbers for integer/decimal, ISO dates for date fields.
    #[serde(default)]
    pub min: Option<Bound>,
    /// Upper bound: numbers for integer/decimal, ISO dates for date fields.
    #[serde(default)]
    pub max: Option<Bound>,
    /// Longest accepted value, in characters.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Personal data: masked in logs, previews, errors, the dashboard and the audit trail.
    #[serde(default)]
    pub pii: bool,
    /// Part of the record's identity (used by delta, ledgers and id maps).
    #[serde(default)]
    pub key: bool,
    /// The kind of personal data it is (`identity`, `contact`, `employment`, `compensation`,
    /// `bank`, `government_id`, `health`, …): what transfer records list and outputs'
    /// `allowed_categories` are checked against.
    #[serde(default)]
    pub category: Option<super::privacy::Category>,
}

/// A `min`/`max` bound as written in the profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    Integer(i64),
    Float(f64),
    Text(String),
}

/// `lookup = { file = "tables/departments.csv", key = "code", value = "name" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    /// UTF-8 CSV file with a header row; relative paths resolve against hrbridge.toml's folder.
    pub file: PathBuf,
    /// Column holding the input values.
    pub key: String,
    /// Column holding the output values.
    pub value: String,
}

/// `[[filter]]`: a condition on an input column that a row must meet to be mapped.
/// Exactly one of `equals`, `in`, `not_in`, `matches`, `is_empty` is given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    pub column: String,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(rename = "in", default)]
    pub in_: Option<Vec<String>>,
    #[serde(default)]
    pub not_in: Option<Vec<String>>,
    #[serde(default)]
    pub matches: Option<String>,
    #[serde(default)]
    pub is_empty: Option<bool>,
}

/// `[validation]`: file-level contract checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSpec {
    /// Rejected rows / rows read above which the file delivers nothing and fails.
    #[serde(default = "default_max_reject_ratio")]
    pub max_reject_ratio: f64,
    /// Fewer data rows than this fails the file (a truncated export).
    #[serde(default)]
    pub min_rows: Option<u64>,
    /// Columns the header must contain, besides those that fields read.
    #[serde(default)]
    pub required_columns: Vec<String>,
    /// Where the rejects report goes (a path template like an output's). Default: beside the
    /// first file output as `<output>.rejects.csv`; without file outputs, under
    /// `state_dir/rejects/<profile>/`. Keep it out of a folder whose `*.csv` files a
    /// downstream system imports.
    #[serde(default)]
    pub rejects_path: Option<String>,
}

impl Default for ValidationSpec {
    fn default() -> Self {
        ValidationSpec {
            max_reject_ratio: default_max_reject_ratio(),
            min_rows: None,
            required_columns: Vec::new(),
            rejects_path: None,
        }
    }
}

fn default_max_reject_ratio() -> f64 {
    0.05
}

/// `[[output]]`: a destination for the mapped records.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum OutputSpec {
    /// A file written atomically into an outbox folder.
    File(FileOutputSpec),
    /// A file uploaded to an SFTP server (temp name, size check, rename).
    Sftp(SftpOutputSpec),
    /// Each record (or batch) sent as a REST request.
    Http(HttpOutputSpec),
    /// Users created, updated or deactivated at a SCIM 2.0 service.
    Scim(ScimOutputSpec),
}

impl OutputSpec {
    /// Its `[output.privacy]` keys.
    pub fn privacy(&self) -> &super::privacy::OutputPrivacy {
        match self {
            OutputSpec::File(f) => &f.privacy,
            OutputSpec::Sftp(s) => &s.file.privacy,
            OutputSpec::Http(h) => &h.http.privacy,
            OutputSpec::Scim(s) => &s.scim.privacy,
        }
    }
}

/// `[[output]] type = "sftp"`: the keys of a file output (`path` is the remote path template)
/// plus the connection keys and the upload keys.
#[derive(Debug, Clone)]
pub struct SftpOutputSpec {
    pub connection: SftpConnectionSpec,
    pub upload: SftpUploadSpec,
    pub file: FileOutputSpec,
}

/// How an SFTP output treats the server: what it may replace, the mode of what it writes, and
/// how long it keeps trying while the server cannot be reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpUploadSpec {
    /// Replace a remote file of the same name (default `false`: such an upload fails, and the
    /// job can be retried once the name is free).
    #[serde(default)]
    pub overwrite: bool,
    /// Permissions of the uploaded file, in octal (default `"0600"`), set before it gets its
    /// final name.
    #[serde(default)]
    pub mode: FileMode,
    /// How long, counted from the job's start, an upload that fails because the server cannot
    /// be reached is tried again at every pass (the job stays `committing`) before its job fails
    /// (default `"1h"`).
    #[serde(default)]
    pub retry_for: Option<DurationStr>,
}

/// The keys of [`SftpUploadSpec`].
const UPLOAD_KEYS: &[&str] = &["overwrite", "mode", "retry_for"];

/// Unix permission bits written as an octal string (`"0640"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode(pub u32);

impl Default for FileMode {
    fn default() -> FileMode {
        FileMode(0o600)
    }
}

/// A `mode` that is not octal permission bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "mode {text:?} is not permission bits in octal between \"0000\" and \"0777\", e.g. \"0640\""
)]
pub struct FileModeError {
    text: String,
}

impl std::str::FromStr for FileMode {
    type Err = FileModeError;

    fn from_str(s: &str) -> Result<FileMode, FileModeError> {
        match u32::from_str_radix(s, 8) {
            Ok(bits) if bits <= 0o777 && !s.is_empty() => Ok(FileMode(bits)),
            _ => Err(FileModeError {
                text: s.to_string(),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for SftpOutputSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let (connection, rest): (_, toml::Table) = split_connection(d)?;
        let (upload, file) =
            split_keys(toml::Value::Table(rest), UPLOAD_KEYS).map_err(D::Error::custom)?;
        Ok(SftpOutputSpec {
            connection,
            upload,
            file,
        })
    }
}

/// Serialisation of an output file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Csv,
    Jsonl,
    /// Fixed-width records laid out by `columns` (and `header`, `trailer`).
    Fixed,
    /// An ANSI X12 834 benefit enrollment interchange (005010X220A1), by `[output.x12]`.
    #[serde(rename = "x12-834")]
    X12,
}

/// `[[output]] type = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputSpec {
    /// Name template: `{profile}`, `{date:%Y%m%d}`, `{seq}`, `{source_stem}`. Relative paths
    /// resolve against hrbridge.toml's folder and must stay inside the allowed output roots.
    pub path: String,
    /// `"csv"` (default), `"jsonl"`, `"fixed"` or `"x12-834"`.
    #[serde(default)]
    pub format: OutputFormat,
    /// CSV only: prefix text cells that a spreadsheet would run as a formula with `'`, so it
    /// shows them as text. `true` (default): cells starting with `=`, `@`, tab or CR, and
    /// cells starting with `+` or `-` unless they are a plain number or phone number
    /// (`-150.00`, `+14155550100`); `"all"`: every cell starting with `= + - @`, tab or CR;
    /// `false`: none.
    #[serde(default)]
    pub neutralize_formulas: Neutralize,
    /// CSV only: field delimiter of the output (default `,`).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// age recipients the file is encrypted to: `age1…` keys, `ssh-ed25519 …` / `ssh-rsa …`
    /// public keys, or recipients files (one per line, `#` comments). The file's name gets
    /// `.age` appended, and no plaintext copy is ever written. Omit for a plaintext file.
    #[serde(default)]
    pub encrypt_to: Vec<String>,
    /// With `encrypt_to`: ASCII-armored age (`-----BEGIN AGE ENCRYPTED FILE-----`) instead of
    /// binary.
    #[serde(default)]
    pub armor: bool,
    /// With `[lifecycle]`: `"changes"` (default) writes only the changes, `"roster"` the whole
    /// roster; both with `change` and `changed_fields` columns.
    #[serde(default)]
    pub send: super::lifecycle::Send,
    /// `[output.privacy]`: this output's recipient and what it may carry.
    #[serde(default)]
    pub privacy: super::privacy::OutputPrivacy,
    /// Fixed-width only: `"utf-8"` (default) or a code page such as `"windows-1252"`. A value
    /// it cannot write rejects its row.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Fixed-width only: `"lf"` (default) or `"crlf"`.
    #[serde(default)]
    pub line_ending: Option<LineEnding>,
    /// Fixed-width only: every record padded with spaces to this many characters.
    #[serde(default)]
    pub record_length: Option<usize>,
    /// Fixed-width only: the pieces of a detail record, one per row.
    #[serde(default)]
    pub columns: Vec<Piece>,
    /// Fixed-width only: the pieces of a record written before the details.
    #[serde(default)]
    pub header: Vec<Piece>,
    /// Fixed-width only: the pieces of a record written after them (counts, hash totals).
    #[serde(default)]
    pub trailer: Vec<Piece>,
    /// `[output.x12]`, X12 834 only: the envelope's parties and what fills the segments.
    #[serde(default)]
    pub x12: Option<Box<super::x12_output::X12Spec>>,
}

/// `neutralize_formulas` of a CSV output: which text cells get a leading `'`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Neutralize {
    /// `false`: cells are written as they are.
    Off,
    /// `true`: cells that would run as a formula; plain numbers and phones are left alone.
    #[default]
    Formulas,
    /// `"all"`: every cell starting with `= + - @`, tab or CR.
    All,
}

impl<'de> Deserialize<'de> for Neutralize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Choice;
        impl serde::de::Visitor<'_> for Choice {
            type Value = Neutralize;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or \"all\"")
            }

            fn visit_bool<E>(self, on: bool) -> Result<Neutralize, E> {
                Ok(if on {
                    Neutralize::Formulas
                } else {
                    Neutralize::Off
                })
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Neutralize, E> {
                match s {
                    "all" => Ok(Neutralize::All),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(Choice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_are_octal_permission_bits() {
        assert_eq!("0640".parse::<FileMode>(), Ok(FileMode(0o640)));
        assert_eq!("600".parse::<FileMode>(), Ok(FileMode(0o600)));
        assert_eq!(FileMode::default(), FileMode(0o600));
        for bad in ["", "0800", "1777", "rw-r-----", "-1"] {
            let err = bad.parse::<FileMode>().unwrap_err().to_string();
            assert!(err.contains("octal"), "{bad}: {err}");
        }
    }
}
