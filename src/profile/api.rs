//! The profile language of API outputs: `[[output]] type = "http"` (REST) and `type = "scim"`
//! (SCIM 2.0), and the connection keys they share — auth, transport limits, retries and the
//! rate limit — written inline in the output's table.
//!
//! The doc comments are the user reference for each key.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::kernel::duration::DurationStr;
use crate::kernel::secret::SecretRef;

/// How to reach and authenticate to an API; shared by `http` and `scim` outputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConnectionSpec {
    /// How requests authenticate (omit for none).
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Extra request headers; a value may be `"${secret:NAME}"` or `"${env:NAME}"`.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValueSpec>,
    /// Plain `http://` to a host other than loopback, stated in so many words.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Time allowed to open a connection (default `"10s"`).
    #[serde(default)]
    pub connect_timeout: Option<DurationStr>,
    /// Time allowed for one request, from sending to the end of the answer (default `"30s"`).
    #[serde(default)]
    pub timeout: Option<DurationStr>,
    /// Requests in flight at once (default 4).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// The most requests this output sends, e.g. `"20/s"`, `"600/min"`, `"1000/h"`, shared by
    /// all its workers. Omit for no limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Requests that may go out back to back before the rate applies (default 1: evenly
    /// spaced, so no one-second window ever holds more than the rate).
    #[serde(default)]
    pub burst: Option<u32>,
    /// Attempts per request before a row fails (default 6). Connection errors, timeouts, 408,
    /// 429 and 5xx are retried; other answers are final.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The first retry waits up to this long; each further one up to twice as long (full
    /// jitter), never less than the server's `Retry-After` (default `"500ms"`).
    #[serde(default)]
    pub backoff: Option<DurationStr>,
    /// The longest wait between attempts (default `"60s"`).
    #[serde(default)]
    pub backoff_max: Option<DurationStr>,
}

/// The keys of [`ApiConnectionSpec`], which API output tables carry inline.
pub(super) const API_CONNECTION_KEYS: &[&str] = &[
    "auth",
    "headers",
    "allow_plain_http",
    "connect_timeout",
    "timeout",
    "concurrency",
    "rate_limit",
    "burst",
    "max_attempts",
    "backoff",
    "backoff_max",
];

impl ApiConnectionSpec {
    /// `connect_timeout` or its default.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
            .map_or(Duration::from_secs(10), |d| d.0)
    }

    /// `timeout` or its default.
    pub fn timeout(&self) -> Duration {
        self.timeout.map_or(Duration::from_secs(30), |d| d.0)
    }

    /// `concurrency` or its default.
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(4)
    }

    /// `max_attempts` or its default.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(6)
    }

    /// `backoff` or its default.
    pub fn backoff(&self) -> Duration {
        self.backoff.map_or(Duration::from_millis(500), |d| d.0)
    }

    /// `backoff_max` or its default.
    pub fn backoff_max(&self) -> Duration {
        self.backoff_max.map_or(Duration::from_secs(60), |d| d.0)
    }
}

/// `auth = { type = ..., ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthSpec {
    /// OAuth 2.0 client credentials (RFC 6749 §4.4).
    Oauth2(OAuth2Spec),
    /// A static `Authorization: Bearer` token.
    Bearer(BearerSpec),
    /// A static key in a header of its own.
    ApiKey(ApiKeySpec),
    /// HTTP Basic authentication.
    Basic(BasicSpec),
}

/// `auth = { type = "oauth2", ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Spec {
    /// The token endpoint; `https://` unless loopback or `allow_plain_http`.
    pub token_url: String,
    pub client_id: String,
    /// `"${secret:NAME}"` or `"${env:NAME}"`.
    pub client_secret: SecretRef,
    /// Space-separated scopes to ask for.
    #[serde(default)]
    pub scope: Option<String>,
    /// The `audience` parameter some providers require.
    #[serde(default)]
    pub audience: Option<String>,
    /// How the client authenticates at the token endpoint: `"body"` (form fields, default) or
    /// `"basic"` (HTTP Basic).
    #[serde(default)]
    pub credentials: ClientCredentials,
}

/// Where OAuth2 client credentials travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientCredentials {
    #[default]
    Body,
    Basic,
}

/// `auth = { type = "bearer", token = "${secret:NAME}" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerSpec {
    pub token: SecretRef,
}

/// `auth = { type = "api_key", header = "X-API-Key", key = "${secret:NAME}" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    /// Header name (default `X-API-Key`).
    #[serde(default = "default_api_key_header")]
    pub header: String,
    pub key: SecretRef,
}

fn default_api_key_header() -> String {
    "X-API-Key".into()
}

/// `auth = { type = "basic", username = "...", password = "${secret:NAME}" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicSpec {
    pub username: String,
    pub password: SecretRef,
}

/// A header value: plain text, or a secret reference when it starts with `${`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValueSpec {
    Plain(String),
    Secret(SecretRef),
}

impl<'de> Deserialize<'de> for HeaderValueSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.starts_with("${") {
            s.parse()
                .map(HeaderValueSpec::Secret)
                .map_err(serde::de::Error::custom)
        } else {
            Ok(HeaderValueSpec::Plain(s))
        }
    }
}

/// `rate_limit = "20/s"`: at most `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

/// Why a `rate_limit` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    #[error("rate limit {text:?} must look like \"20/s\", \"600/min\" or \"1000/h\"")]
    Form { text: String },
    #[error("rate limit {text:?} allows no requests at all")]
    Zero { text: String },
}

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(s: &str) -> Result<RateLimit, RateLimitError> {
        let bad = || RateLimitError::Form {
            text: s.to_string(),
        };
        let (count, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(RateLimitError::Zero {
                text: s.to_string(),
            });
        }
        Ok(RateLimit { count, per })
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// HTTP methods an `http` output may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// `[[output]] type = "http"`: every mapped record (or batch of them) becomes a request.
#[derive(Debug, Clone)]
pub struct HttpOutputSpec {
    pub connection: ApiConnectionSpec,
    pub http: HttpKeys,
}

/// The keys of an `http` output besides the connection keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpKeys {
    /// URL template: `{field}` is the record's value (URL-encoded), `{id}` the id captured
    /// earlier for the record's key (see `capture_id`, `id_map`).
    pub url: String,
    /// `"POST"` (default), `"PUT"`, `"PATCH"` or `"DELETE"`.
    #[serde(default)]
    pub method: HttpMethod,
    /// Body template, as a TOML table: a string that is exactly `"{field}"` takes the field's
    /// typed value; other strings are filled in as text. Without it, the body is the mapped
    /// record as JSON, with dotted field names nested.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// Records per request (default 1). Above 1, the body is a JSON array, or an object with
    /// the array under `batch_wrapper`.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Key the array of a batch is wrapped in, e.g. `"employees"`.
    #[serde(default)]
    pub batch_wrapper: Option<String>,
    /// When an answer counts as success.
    #[serde(default)]
    pub success: SuccessSpec,
    /// JSON pointer (e.g. `"/id"`) to the id in a successful answer, kept in the id map under
    /// the record's key.
    #[serde(default)]
    pub capture_id: Option<String>,
    /// The id map `capture_id` writes and `{id}` reads (default: the profile's name). Other
    /// profiles may name it to update what this one created.
    #[serde(default)]
    pub id_map: Option<String>,
    /// `[output.on.<kind>]` of a lifecycle profile: the request a change of that kind
    /// (`joiner`, `mover`, `leaver`, `rehire`, `prehire`) makes instead.
    #[serde(default)]
    pub on: BTreeMap<String, HttpRoute>,
    /// `[output.privacy]`: this output's recipient and what it may carry.
    #[serde(default)]
    pub privacy: super::privacy::OutputPrivacy,
}

/// `[output.on.<kind>]`: the method, URL and body a change of one kind is sent with; a key
/// left out is the output's own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    #[serde(default)]
    pub method: Option<HttpMethod>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

fn default_batch_size() -> usize {
    1
}

/// `success = { status = [200, 201], absent = "/error", present = "/id" }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessSpec {
    /// Status codes that count as success (default: any 2xx).
    #[serde(default)]
    pub status: Vec<u16>,
    /// JSON pointer that must be present in the answer (for APIs that answer 200 with an
    /// error inside).
    #[serde(default)]
    pub present: Option<String>,
    /// JSON pointer that must be absent from the answer.
    #[serde(default)]
    pub absent: Option<String>,
}

/// `[[output]] type = "scim"`: users created, updated or deactivated at a SCIM 2.0 service.
#[derive(Debug, Clone)]
pub struct ScimOutputSpec {
    pub connection: ApiConnectionSpec,
    pub scim: ScimKeys,
}

/// The keys of a `scim` output besides the connection keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimKeys {
    /// The service's base URL, e.g. `"https://idp.example.com/scim/v2"`.
    pub base_url: String,
    /// The attribute users are found by: `"externalId"` (default) or `"userName"`; a field of
    /// that name must be mapped.
    #[serde(rename = "match", default)]
    pub match_on: ScimMatch,
    /// A mapped field whose value says what to do with the row: `"upsert"`, `"deactivate"`,
    /// `"delete"` (only with `allow_delete`) or `"skip"`. Without it, every row is an upsert.
    #[serde(default)]
    pub operation_field: Option<String>,
    /// How an existing user is updated: `"patch"` (default) or `"put"`.
    #[serde(default)]
    pub update: ScimUpdate,
    /// Lets `delete` rows DELETE users; without it they are refused.
    #[serde(default)]
    pub allow_delete: bool,
    /// The id map the SCIM ids are kept in (default: the profile's name).
    #[serde(default)]
    pub id_map: Option<String>,
    /// `[output.privacy]`: this output's recipient and what it may carry.
    #[serde(default)]
    pub privacy: super::privacy::OutputPrivacy,
}

/// The attribute a SCIM user is found by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ScimMatch {
    #[default]
    #[serde(rename = "externalId")]
    ExternalId,
    #[serde(rename = "userName")]
    UserName,
}

impl ScimMatch {
    /// The attribute's SCIM name.
    pub fn attribute(self) -> &'static str {
        match self {
            ScimMatch::ExternalId => "externalId",
            ScimMatch::UserName => "userName",
        }
    }
}

/// How an existing SCIM user is updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScimUpdate {
    #[default]
    Patch,
    Put,
}

impl<'de> Deserialize<'de> for HttpOutputSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (connection, http) = super::model::split_keys(d, API_CONNECTION_KEYS)?;
        Ok(HttpOutputSpec { connection, http })
    }
}

impl<'de> Deserialize<'de> for ScimOutputSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (connection, scim) = super::model::split_keys(d, API_CONNECTION_KEYS)?;
        Ok(ScimOutputSpec { connection, scim })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse_with_their_unit() {
        assert_eq!(
            "20/s".parse::<RateLimit>().unwrap(),
            RateLimit {
                count: 20,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!(
            "600/min".parse::<RateLimit>().unwrap().per,
            Duration::from_secs(60)
        );
        assert_eq!(
            "600/min".parse::<RateLimit>().unwrap().to_string(),
            "600/min"
        );
        for bad in ["20", "0/s", "x/s", "20/fortnight", "-1/s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn an_http_output_splits_connection_keys_from_its_own() {
        let text = r#"
            url = "https://hris.example.com/api/v1/employees"
            rate_limit = "20/s"
            concurrency = 2
            headers = { "X-Tenant" = "acme", "X-Key" = "${secret:hris_key}" }
            auth = { type = "oauth2", token_url = "https://hris.example.com/oauth/token", client_id = "hrbridge", client_secret = "${secret:hris}" }
            success = { status = [201], absent = "/error" }
        "#;
        let spec: HttpOutputSpec = toml::from_str(text).unwrap();
        assert_eq!(spec.http.method, HttpMethod::Post);
        assert_eq!(spec.connection.concurrency(), 2);
        assert_eq!(
            spec.connection.headers["X-Key"],
            HeaderValueSpec::Secret(SecretRef::File("hris_key".into()))
        );
        assert!(matches!(spec.connection.auth, Some(AuthSpec::Oauth2(_))));
        assert_eq!(spec.http.success.status, vec![201]);
    }

    #[test]
    fn unknown_and_inline_secret_keys_are_refused() {
        let typo = "url = \"https://x\"\nbatchsize = 3\n";
        assert!(toml::from_str::<HttpOutputSpec>(typo).is_err());
        let inline = "url = \"https://x\"\nauth = { type = \"bearer\", token = \"abc\" }\n";
        let err = toml::from_str::<HttpOutputSpec>(inline)
            .unwrap_err()
            .to_string();
        assert!(err.contains("never written inline"), "{err}");
        assert!(!err.contains("abc"), "{err}");
    }
}
