//! `GET /exports/clients.csv`: the client list as CSV, streamed at constant memory. Filters
//! are query parameters (lists comma-separated), as in the GraphQL `ClientFilter`.

use crate::auth::Tokens;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clientele_domain::clients::ClientFilter;
use clientele_domain::clients::csv_io;
use clientele_domain::{Domain, DomainError};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportParams {
    search: Option<String>,
    statuses: Option<String>,
    intents: Option<String>,
    sale_statuses: Option<String>,
    funnel_stages: Option<String>,
    platforms: Option<String>,
    has_email: Option<bool>,
    has_phone: Option<bool>,
    sensitive: Option<bool>,
    mystery_shopper: Option<bool>,
    include_deleted: Option<bool>,
    only_deleted: Option<bool>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    last_contact_after: Option<DateTime<Utc>>,
    last_contact_before: Option<DateTime<Utc>>,
}

fn split(value: &Option<String>) -> Vec<String> {
    value
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn enums<T: DeserializeOwned>(field: &str, value: &Option<String>) -> Result<Vec<T>, String> {
    split(value)
        .into_iter()
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v.to_lowercase()))
                .map_err(|_| format!("{field}: {v:?} is not a known value"))
        })
        .collect()
}

impl ExportParams {
    fn filter(&self) -> Result<ClientFilter, String> {
        Ok(ClientFilter {
            search: self.search.clone(),
            created_after: self.created_after,
            created_before: self.created_before,
            last_contact_after: self.last_contact_after,
            last_contact_before: self.last_contact_before,
            has_email: self.has_email,
            has_phone: self.has_phone,
            platforms: split(&self.platforms),
            statuses: split(&self.statuses),
            intents: enums("intents", &self.intents)?,
            sale_statuses: enums("saleStatuses", &self.sale_statuses)?,
            funnel_stages: split(&self.funnel_stages),
            sensitive: self.sensitive,
            mystery_shopper: self.mystery_shopper,
            include_deleted: self.include_deleted.unwrap_or(false),
            only_deleted: self.only_deleted.unwrap_or(false),
            ids: Vec::new(),
        })
    }
}

fn problem(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message.into() } });
    (status, axum::Json(body)).into_response()
}

pub async fn clients_csv(
    domain: Domain,
    tokens: Tokens,
    headers: HeaderMap,
    query: Option<&str>,
) -> Response {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let actor = match tokens.authenticate(header) {
        Ok(actor) => actor,
        Err(e) => return problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string()),
    };
    let params: ExportParams = match serde_urlencoded::from_str(query.unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", e.to_string()),
    };
    let filter = match params.filter() {
        Ok(f) => f,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", m),
    };
    match csv_io::export(domain, actor, filter) {
        Ok(stream) => {
            let stream = stream.map_err(|e| {
                tracing::error!(error = %e, "client export failed part-way");
                std::io::Error::other("export failed")
            });
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"clients.csv\"",
                    ),
                ],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Err(DomainError::Forbidden(m)) => problem(StatusCode::FORBIDDEN, "FORBIDDEN", m),
        Err(DomainError::Invalid { field, message }) => problem(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            format!("{field}: {message}"),
        ),
        Err(e) => {
            tracing::error!(error = %e, "client export failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}
