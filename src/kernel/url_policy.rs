//! The URL policy every outbound call follows: webhooks, REST and SCIM outputs and their
//! OAuth2 token endpoints. `https://` always; plain `http://` only to loopback, unless the
//! profile sets `allow_plain_http = true`; any other scheme never.

/// Why a URL may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The text does not parse as a URL; `reason` is the parser's.
    #[error("not a URL: {reason}")]
    NotAUrl { reason: String },
    /// Plain `http://` to a host that is not loopback, without `allow_plain_http`.
    #[error(
        "plain http:// is only allowed to loopback; use https:// or set allow_plain_http = true"
    )]
    PlainHttp,
    /// A scheme other than `https` or `http`.
    #[error("unsupported URL scheme {scheme:?}")]
    Scheme { scheme: String },
}

/// Refuses plain `http://` except to loopback, unless `allow_plain_http` says so.
pub fn url_allowed(url: &str, allow_plain_http: bool) -> Result<reqwest::Url, UrlError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| UrlError::NotAUrl {
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if allow_plain_http => Ok(parsed),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(parsed)
            } else {
                Err(UrlError::PlainHttp)
            }
        }
        other => Err(UrlError::Scheme {
            scheme: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(url_allowed("https://hooks.example.com/x", false).is_ok());
        assert!(url_allowed("http://127.0.0.1:8080/x", false).is_ok());
        assert!(url_allowed("http://localhost/x", false).is_ok());
        assert!(url_allowed("http://[::1]/x", false).is_ok());
        assert!(url_allowed("http://hooks.example.com/x", false).is_err());
        assert!(url_allowed("http://hooks.example.com/x", true).is_ok());
        assert!(url_allowed("ftp://x/y", true).is_err());
    }
}
