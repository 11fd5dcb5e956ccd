//! How requests of an API output authenticate: OAuth 2.0 client credentials, a static bearer
//! token, an API key header, or HTTP Basic — every secret resolved from `${env:...}` or
//! `${secret:...}` and carried only in sensitive header values.
//!
//! An OAuth2 token is cached until shortly before it expires. The cache lock is held while a
//! token is fetched, so concurrent workers wait for one fetch instead of each making their
//! own; a 401 invalidates the token it was sent with (once). A token endpoint that refuses
//! the client for good is remembered, so the rows of the run fail fast with its reason.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::retry::RetryPolicy;
use crate::kernel::http_status::is_transient;
use crate::kernel::secret::{SecretError, SecretRef};
use crate::profile::{AuthSpec, ClientCredentials, OAuth2Spec};
use crate::settings::Settings;

/// The longest `expires_in` believed, in seconds.
const MAX_TOKEN_LIFETIME: u64 = 86_400;
/// Used when a token answer has no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// A header to add to a request, and which token generation it carries.
#[derive(Debug, Clone)]
pub struct Credential {
    pub name: HeaderName,
    pub value: HeaderValue,
    generation: u64,
}

/// Why an output's authentication cannot be set up; it names the missing secret or the bad
/// key, never a value.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("the {name} header value is not valid in HTTP")]
    HeaderValue { name: HeaderName },
    #[error("{name:?} is not a valid header name")]
    HeaderName { name: String },
    #[error("token_url is not a URL: {reason}")]
    TokenUrl { reason: String },
    #[error("the client credentials are not valid in an HTTP header")]
    ClientCredentials,
}

/// Why no credential could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub message: String,
    /// Worth another attempt (the token endpoint was unreachable or overloaded).
    pub transient: bool,
    pub attempts: u32,
}

/// The authentication of one API output.
#[derive(Debug)]
pub enum Auth {
    None,
    Static(Credential),
    OAuth2(Box<OAuth2>),
}

impl Auth {
    /// Resolves `spec`'s secrets. The error names the missing secret, never a value.
    pub fn new(
        spec: Option<&AuthSpec>,
        http: &reqwest::Client,
        retry: RetryPolicy,
        settings: &Settings,
    ) -> Result<Auth, AuthError> {
        let secret = |r: &SecretRef| r.resolve(&settings.state_dir);
        let fixed = |name: HeaderName, value: String| -> Result<Auth, AuthError> {
            let mut value = HeaderValue::try_from(value)
                .map_err(|_| AuthError::HeaderValue { name: name.clone() })?;
            value.set_sensitive(true);
            Ok(Auth::Static(Credential {
                name,
                value,
                generation: 0,
            }))
        };
        match spec {
            None => Ok(Auth::None),
            Some(AuthSpec::Bearer(b)) => fixed(
                AUTHORIZATION,
                format!("Bearer {}", secret(&b.token)?.expose()),
            ),
            Some(AuthSpec::ApiKey(k)) => {
                let name =
                    HeaderName::try_from(k.header.as_str()).map_err(|_| AuthError::HeaderName {
                        name: k.header.clone(),
                    })?;
                fixed(name, secret(&k.key)?.expose().to_string())
            }
            Some(AuthSpec::Basic(b)) => fixed(
                AUTHORIZATION,
                basic(&b.username, secret(&b.password)?.expose()),
            ),
            Some(AuthSpec::Oauth2(o)) => Ok(Auth::OAuth2(Box::new(OAuth2::new(
                o,
                secret(&o.client_secret)?.expose(),
                http.clone(),
                retry,
            )?))),
        }
    }

    /// The header to send, fetching a token first if need be.
    pub async fn credential(&self) -> Result<Option<Credential>, AuthFailure> {
        match self {
            Auth::None => Ok(None),
            Auth::Static(c) => Ok(Some(c.clone())),
            Auth::OAuth2(o) => o.credential().await.map(Some),
        }
    }

    /// Whether a 401 can be answered by fetching a new token.
    pub fn refreshable(&self) -> bool {
        matches!(self, Auth::OAuth2(_))
    }

    /// Forgets the token `used` was built from, if it is still the cached one.
    pub async fn invalidate(&self, used: &Credential) {
        if let Auth::OAuth2(o) = self {
            let mut cache = o.cache.lock().await;
            if cache
                .token
                .as_ref()
                .is_some_and(|t| t.credential.generation == used.generation)
            {
                cache.token = None;
            }
        }
    }
}

/// `Basic base64(user:password)`.
fn basic(user: &str, password: &str) -> String {
    let pair = Zeroizing::new(format!("{user}:{password}"));
    format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()))
}

/// OAuth 2.0 client credentials with a cached token.
pub struct OAuth2 {
    http: reqwest::Client,
    token_url: reqwest::Url,
    /// The form body of a token request (it holds the secret when credentials go in the body).
    form: Zeroizing<String>,
    /// `Authorization: Basic` when credentials go in a header.
    basic: Option<HeaderValue>,
    retry: RetryPolicy,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2")
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Cache {
    token: Option<Token>,
    generation: u64,
    /// A refusal by the token endpoint that another attempt will not change.
    refused: Option<String>,
}

struct Token {
    credential: Credential,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Zeroizing<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl OAuth2 {
    fn new(
        spec: &OAuth2Spec,
        secret: &str,
        http: reqwest::Client,
        retry: RetryPolicy,
    ) -> Result<OAuth2, AuthError> {
        let token_url = reqwest::Url::parse(&spec.token_url).map_err(|e| AuthError::TokenUrl {
            reason: e.to_string(),
        })?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = &spec.scope {
            form.append_pair("scope", scope);
        }
        if let Some(audience) = &spec.audience {
            form.append_pair("audience", audience);
        }
        let basic = match spec.credentials {
            ClientCredentials::Body => {
                form.append_pair("client_id", &spec.client_id);
                form.append_pair("client_secret", secret);
                None
            }
            ClientCredentials::Basic => {
                // RFC 6749 §2.3.1: both parts are form-encoded before the Basic encoding.
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let mut value = HeaderValue::try_from(basic(&enc(&spec.client_id), &enc(secret)))
                    .map_err(|_| AuthError::ClientCredentials)?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(OAuth2 {
            http,
            token_url,
            form: Zeroizing::new(form.finish()),
            basic,
            retry,
            cache: Mutex::new(Cache::default()),
        })
    }

    async fn credential(&self) -> Result<Credential, AuthFailure> {
        // Held across the fetch: one fetch serves every worker waiting here.
        let mut cache = self.cache.lock().await;
        if let Some(message) = &cache.refused {
            return Err(AuthFailure {
                message: message.clone(),
                transient: false,
                attempts: 0,
            });
        }
        if let Some(token) = &cache.token {
            if Instant::now() < token.refresh_at {
                return Ok(token.credential.clone());
            }
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.fetch().await {
                Ok((value, lifetime)) => {
                    cache.generation += 1;
                    let margin = (lifetime / 10).min(Duration::from_secs(60));
                    let credential = Credential {
                        name: AUTHORIZATION,
                        value,
                        generation: cache.generation,
                    };
                    cache.token = Some(Token {
                        credential: credential.clone(),
                        refresh_at: Instant::now() + lifetime.saturating_sub(margin),
                    });
                    return Ok(credential);
                }
                Err(mut failure) => {
                    failure.attempts = attempts;
                    if !failure.transient {
                        cache.refused = Some(failure.message.clone());
                        return Err(failure);
                    }
                    if attempts >= self.retry.max_attempts {
                        return Err(failure);
                    }
                    tokio::time::sleep(self.retry.delay(attempts, None)).await;
                }
            }
        }
    }

    /// One token request: the header value and how long it lives.
    async fn fetch(&self) -> Result<(HeaderValue, Duration), AuthFailure> {
        let fail = |message: String, transient: bool| AuthFailure {
            message,
            transient,
            attempts: 0,
        };
        let mut request = self
            .http
            .post(self.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(self.form.to_string());
        if let Some(basic) = &self.basic {
            request = request.header(AUTHORIZATION, basic.clone());
        }
        let unreachable = |e: reqwest::Error| {
            fail(
                format!("token endpoint: {}", super::client::transport_reason(&e)),
                true,
            )
        };
        let answer = request.send().await.map_err(unreachable)?;
        let status = answer.status().as_u16();
        let body = answer.bytes().await.map_err(unreachable)?;
        if !(200..300).contains(&status) {
            // The OAuth error code (RFC 6749 §5.2) says why without echoing anything secret.
            let code = serde_json::from_slice::<TokenError>(&body)
                .map(|e| format!(" ({})", e.error.chars().take(60).collect::<String>()))
                .unwrap_or_default();
            return Err(fail(
                format!("token endpoint answered HTTP {status}{code}"),
                is_transient(status),
            ));
        }
        let token: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            fail(
                "token endpoint answered without an access_token".into(),
                false,
            )
        })?;
        if let Some(kind) = &token.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(fail(
                    format!(
                        "token endpoint issued a {kind:?} token; only Bearer tokens are supported"
                    ),
                    false,
                ));
            }
        }
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.access_token.as_str()))
            .map_err(|_| {
                fail(
                    "token endpoint issued a token that is not valid in a header".into(),
                    false,
                )
            })?;
        value.set_sensitive(true);
        // Trusted up to a day: a token is re-fetched at least that often, and an absurd
        // `expires_in` cannot overflow the clock.
        let lifetime = token.expires_in.map_or(DEFAULT_TOKEN_LIFETIME, |s| {
            Duration::from_secs(s.min(MAX_TOKEN_LIFETIME))
        });
        Ok((value, lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Settings, SettingsFile};

    /// Settings whose state folder holds the secret `tok` = `s3cr3t-value`.
    fn settings() -> (tempfile::TempDir, Settings) {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::resolve(None, dir.path().to_path_buf(), SettingsFile::default());
        crate::kernel::secret::SecretStore::open(&settings.state_dir)
            .unwrap()
            .set("tok", zeroize::Zeroizing::new("s3cr3t-value".into()))
            .unwrap();
        (dir, settings)
    }

    fn once() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            base: Duration::from_millis(1),
            max: Duration::from_millis(1),
        }
    }

    async fn header_of(auth: &str, settings: &Settings) -> (String, String) {
        let spec: AuthSpec = toml::from_str(auth).unwrap();
        let policy = once();
        let auth = Auth::new(Some(&spec), &reqwest::Client::new(), policy, settings).unwrap();
        assert!(!format!("{auth:?}").contains("s3cr3t"), "{auth:?}");
        let c = auth.credential().await.unwrap().unwrap();
        assert!(c.value.is_sensitive());
        (c.name.to_string(), c.value.to_str().unwrap().to_string())
    }

    #[tokio::test]
    async fn static_credentials_become_sensitive_headers() {
        let (_dir, settings) = settings();
        assert_eq!(
            header_of("type = \"bearer\"\ntoken = \"${secret:tok}\"", &settings).await,
            ("authorization".into(), "Bearer s3cr3t-value".into())
        );
        assert_eq!(
            header_of(
                "type = \"api_key\"\nheader = \"X-Token\"\nkey = \"${secret:tok}\"",
                &settings
            )
            .await,
            ("x-token".into(), "s3cr3t-value".into())
        );
        // base64("svc:s3cr3t-value")
        assert_eq!(
            header_of(
                "type = \"basic\"\nusername = \"svc\"\npassword = \"${secret:tok}\"",
                &settings
            )
            .await,
            (
                "authorization".into(),
                "Basic c3ZjOnMzY3IzdC12YWx1ZQ==".into()
            )
        );
    }

    #[test]
    fn a_missing_secret_is_named_without_a_value() {
        let (_dir, settings) = settings();
        let spec: AuthSpec =
            toml::from_str("type = \"bearer\"\ntoken = \"${secret:nope}\"").unwrap();
        let policy = once();
        let err = Auth::new(Some(&spec), &reqwest::Client::new(), policy, &settings)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }
}
