//! `GET /exports/clients.csv` and `GET /exports/conversations.csv`: the lists as CSV, streamed
//! at constant memory. Filters are query parameters (lists comma-separated), as in the GraphQL
//! `ClientFilter` and `ConversationFilter`.

use crate::auth::Tokens;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clientele_domain::clients::ClientFilter;
use clientele_domain::clients::csv_io;
use clientele_domain::conversations::list::{self as conversation_list, ConversationFilter};
use clientele_domain::{Actor, Domain, DomainError, DomainResult};
use futures_util::{Stream, TryStreamExt};
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

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationExportParams {
    search: Option<String>,
    channels: Option<String>,
    statuses: Option<String>,
    active_after: Option<DateTime<Utc>>,
    active_before: Option<DateTime<Utc>>,
    has_client: Option<bool>,
}

impl ConversationExportParams {
    fn filter(&self) -> Result<ConversationFilter, String> {
        Ok(ConversationFilter {
            search: self.search.clone(),
            channels: enums("channels", &self.channels)?,
            statuses: enums("statuses", &self.statuses)?,
            active_after: self.active_after,
            active_before: self.active_before,
            has_client: self.has_client,
        })
    }
}

/// Authenticates, reads the filter from the query string, and streams what `export` makes.
async fn csv_response<P, F, S>(
    what: &str,
    tokens: Tokens,
    headers: HeaderMap,
    query: Option<&str>,
    filter: impl FnOnce(&P) -> Result<F, String>,
    export: impl FnOnce(Actor, F) -> DomainResult<S>,
) -> Response
where
    P: DeserializeOwned,
    S: Stream<Item = DomainResult<bytes::Bytes>> + Send + 'static,
{
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let actor = match tokens.authenticate(header) {
        Ok(actor) => actor,
        Err(e) => return problem(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string()),
    };
    let params: P = match serde_urlencoded::from_str(query.unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", e.to_string()),
    };
    let filter = match filter(&params) {
        Ok(f) => f,
        Err(m) => return problem(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", m),
    };
    match export(actor, filter) {
        Ok(stream) => {
            let what_failed = what.to_string();
            let stream = stream.map_err(move |e| {
                tracing::error!(error = %e, export = %what_failed, "export failed part-way");
                std::io::Error::other("export failed")
            });
            let disposition = format!("attachment; filename=\"{what}.csv\"");
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
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
            tracing::error!(error = %e, export = %what, "export failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

pub async fn clients_csv(
    domain: Domain,
    tokens: Tokens,
    headers: HeaderMap,
    query: Option<&str>,
) -> Response {
    csv_response(
        "clients",
        tokens,
        headers,
        query,
        ExportParams::filter,
        |actor, filter| csv_io::export(domain, actor, filter),
    )
    .await
}

pub async fn conversations_csv(
    domain: Domain,
    tokens: Tokens,
    headers: HeaderMap,
    query: Option<&str>,
) -> Response {
    csv_response(
        "conversations",
        tokens,
        headers,
        query,
        ConversationExportParams::filter,
        |actor, filter| conversation_list::export(domain, actor, filter),
    )
    .await
}
