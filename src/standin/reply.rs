//! How the stand-in answers: JSON bodies, and errors shaped for the API they come from.
//!
//! REST errors are `{"error": ...}` with `application/json`; SCIM errors use the SCIM Error
//! schema (RFC 7644 §3.12) with `application/scim+json`. Request bodies are checked here too, so
//! every endpoint rejects a wrong content type or broken JSON the same way.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Content type of SCIM requests and responses.
const SCIM_JSON: &str = "application/scim+json";

/// Which API a request belongs to, which decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Surface {
    Rest,
    Scim,
}

impl Surface {
    /// The API `path` belongs to.
    pub(super) fn of(path: &str) -> Surface {
        if path.starts_with("/scim/") {
            Surface::Scim
        } else {
            Surface::Rest
        }
    }

    /// An error with a human `detail`, in this API's error shape.
    pub(super) fn error(self, status: StatusCode, detail: &str) -> Refusal {
        match self {
            Surface::Rest => Refusal::rest(status, json!({ "error": detail })),
            Surface::Scim => Refusal::scim(status, None, detail),
        }
    }

    /// The JSON body of a POST/PUT/PATCH: a JSON content type (`application/json`,
    /// `application/scim+json` or any `+json`) and well-formed JSON, else the error to send.
    pub(super) fn body(self, headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Refusal> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json_type(content_type) {
            return Err(self.error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a JSON content type (application/json or application/scim+json)",
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            let detail = format!("invalid JSON: {e}");
            match self {
                Surface::Rest => Refusal::rest(StatusCode::BAD_REQUEST, json!({ "error": detail })),
                Surface::Scim => {
                    Refusal::scim(StatusCode::BAD_REQUEST, Some("invalidSyntax"), &detail)
                }
            }
        })
    }
}

fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `value` as an `application/json` response.
pub(super) fn json(status: StatusCode, value: &Value) -> Response {
    with_body(status, "application/json", value)
}

/// `value` as an `application/scim+json` response.
pub(super) fn scim(status: StatusCode, value: &Value) -> Response {
    with_body(status, SCIM_JSON, value)
}

/// An error answer, small enough to travel in a `Result` until it is rendered.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    /// The JSON error body.
    pub(super) body: Value,
    surface: Surface,
}

impl Refusal {
    /// A REST error with its JSON body.
    pub(super) fn rest(status: StatusCode, body: Value) -> Refusal {
        Refusal {
            status,
            body,
            surface: Surface::Rest,
        }
    }

    /// A SCIM Error (RFC 7644 §3.12), with `scimType` when one applies.
    pub(super) fn scim(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Refusal {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.as_u16().to_string(),
            "detail": detail,
        });
        if let (Some(kind), Some(object)) = (scim_type, body.as_object_mut()) {
            object.insert("scimType".to_string(), Value::from(kind));
        }
        Refusal {
            status,
            body,
            surface: Surface::Scim,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self.surface {
            Surface::Rest => json(self.status, &self.body),
            Surface::Scim => scim(self.status, &self.body),
        }
    }
}

/// An empty response, e.g. 204 after a SCIM delete.
pub(super) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Answer to a path no endpoint serves.
pub(super) async fn no_route() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &json!({ "error": "no such endpoint" }),
    )
}

fn with_body(status: StatusCode, content_type: &'static str, value: &Value) -> Response {
    // Serializing a `Value` cannot fail: its keys are strings and its numbers are valid.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json_type("application/json"));
        assert!(is_json_type("application/scim+json; charset=utf-8"));
        assert!(is_json_type("Application/JSON"));
        assert!(!is_json_type("text/plain"));
        assert!(!is_json_type(""));
        assert!(!is_json_type("application/x-www-form-urlencoded"));
    }

    #[test]
    fn surface_follows_the_path() {
        assert_eq!(Surface::of("/scim/v2/Users"), Surface::Scim);
        assert_eq!(Surface::of("/api/v1/employees"), Surface::Rest);
    }
}
