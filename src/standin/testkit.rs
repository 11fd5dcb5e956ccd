//! Test helpers: a running stand-in with an HTTP client and shorthands for its endpoints.

use reqwest::{Method, Response, Url};

use super::faults::{Dice, Roll};
use super::{Config, Faults, Record, StandinApi};

/// A stand-in plus a client that talks to it.
pub(super) struct TestApi {
    pub(super) http: reqwest::Client,
    api: StandinApi,
}

impl TestApi {
    pub(super) fn start(config: Config) -> TestApi {
        TestApi {
            http: reqwest::Client::new(),
            api: StandinApi::start(config).unwrap(),
        }
    }

    pub(super) fn base_url(&self) -> String {
        self.api.base_url()
    }

    pub(super) fn record(&self) -> Record {
        self.api.record()
    }

    /// A fresh token for the default client.
    pub(super) async fn token(&self) -> String {
        let response = form_token(self, "hrbridge-demo", "demo-secret", "client_credentials").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Sends `body` as JSON (SCIM paths as `application/scim+json`); transport errors returned.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        idempotency_key: Option<&str>,
        body: Option<&str>,
    ) -> reqwest::Result<Response> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url()))
            .bearer_auth(token);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            let content_type = if path.starts_with("/scim/") {
                "application/scim+json"
            } else {
                "application/json"
            };
            request = request
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        request.send().await
    }

    /// `POST /api/v1/employees`, expecting an answer.
    pub(super) async fn post_employee(
        &self,
        token: &str,
        idempotency_key: Option<&str>,
        body: &str,
    ) -> Response {
        self.call(
            Method::POST,
            "/api/v1/employees",
            token,
            idempotency_key,
            Some(body),
        )
        .await
        .unwrap()
    }
}

/// `POST /oauth/token` with form credentials.
pub(super) async fn form_token(api: &TestApi, id: &str, secret: &str, grant: &str) -> Response {
    api.http
        .post(format!("{}/oauth/token", api.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", grant),
            ("client_id", id),
            ("client_secret", secret),
        ]))
        .send()
        .await
        .unwrap()
}

/// `pairs` as `application/x-www-form-urlencoded` (the same encoding as a URL query).
pub(super) fn form(pairs: &[(&str, &str)]) -> String {
    Url::parse_with_params("http://form.invalid/", pairs)
        .unwrap()
        .query()
        .unwrap_or("")
        .to_string()
}

/// `faults` with the first seed whose first rolls satisfy `wanted` (REST/SCIM requests roll once
/// each, in arrival order), so a test can pick which request a fault hits.
pub(super) fn seed_where(faults: &Faults, wanted: impl Fn(&[Roll]) -> bool) -> Faults {
    (0..10_000)
        .map(|seed| Faults {
            seed,
            ..faults.clone()
        })
        .find(|candidate| {
            let mut dice = Dice::new(candidate);
            let rolls: Vec<Roll> = (0..8).map(|_| dice.roll()).collect();
            wanted(&rolls)
        })
        .unwrap()
}
