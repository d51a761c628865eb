//! Requests and responses as the executor sees them.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::{CrmError, Result};

/// A request body. `Debug` prints only its kind (bodies hold secrets and PII).
#[derive(Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON document.
    Json(Value),
    /// `application/x-www-form-urlencoded` pairs (token endpoints).
    Form(Vec<(String, String)>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Body::Empty => "Empty",
            Body::Json(_) => "Json(..)",
            Body::Form(_) => "Form(..)",
        })
    }
}

/// One HTTP call to make, retried as a whole by the executor. `Debug` omits the URL and body.
#[derive(Clone)]
pub struct ApiRequest {
    /// Short operation name for traces (never the URL: it may hold ids or emails).
    pub op: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Full URL.
    pub url: Url,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: Body,
    /// Whether to send the bearer token (false for token endpoints).
    pub authenticated: bool,
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("op", &self.op)
            .field("method", &self.method)
            .field("body", &self.body)
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

impl ApiRequest {
    /// An authenticated request without body.
    pub fn new(op: &'static str, method: Method, url: Url) -> Self {
        ApiRequest {
            op,
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
            authenticated: true,
        }
    }

    /// GET.
    pub fn get(op: &'static str, url: Url) -> Self {
        Self::new(op, Method::GET, url)
    }

    /// Attach a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// Attach a form body and mark the request unauthenticated (token endpoint).
    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.body = Body::Form(pairs);
        self.authenticated = false;
        self
    }

    /// Add a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A CRM response, fully read. `Debug` prints the status and body size only.
#[derive(Clone)]
pub struct ApiResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl ApiResponse {
    /// Parse the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            CrmError::Protocol(format!("unexpected {} body: {e}", self.status.as_u16()))
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The server's clock (`Date` header, one-second resolution).
    pub fn server_date(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let raw = self.header("date")?;
        chrono::DateTime::parse_from_rfc2822(raw.trim())
            .ok()
            .map(|d| d.with_timezone(&chrono::Utc))
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn debug_hides_urls_and_bodies() {
        let url = Url::parse("https://crm.example/contacts/a@example.com").expect("url");
        let req = ApiRequest::new("op", Method::POST, url)
            .form(vec![("client_secret".into(), "s3cret".into())]);
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("example.com"),
            "{shown}"
        );
        let resp = ApiResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: b"{\"email\":\"a@example.com\"}".to_vec(),
        };
        assert!(!format!("{resp:?}").contains("example.com"));
    }

    #[test]
    fn reads_the_date_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "date",
            HeaderValue::from_static("Wed, 06 May 2026 11:30:49 GMT"),
        );
        let resp = ApiResponse {
            status: StatusCode::OK,
            headers,
            body: Vec::new(),
        };
        let date = resp.server_date().expect("date");
        assert_eq!(date.to_rfc3339(), "2026-05-06T11:30:49+00:00");
    }
}
