//! `GET /oauth/callback`: where a CRM sends the admin's browser back after consent. The
//! `state` identifies the connection (random, single use); the code is exchanged with the
//! PKCE verifier sealed beside it. Answers a short page for the admin; never echoes tokens.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use clientele_domain::entities::crm_connection::ConnectionStatus;
use clientele_domain::{Domain, DomainError, crm};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Clientele</title><h1>{}</h1><p>{}</p>",
        escape(title),
        escape(detail)
    );
    (status, Html(body)).into_response()
}

pub async fn callback(domain: &Domain, Query(q): Query<Callback>) -> Response {
    if let Some(error) = q.error {
        let detail = q.error_description.unwrap_or_default();
        return page(
            StatusCode::BAD_REQUEST,
            "The CRM did not authorise Clientele",
            &format!("{error} {detail}"),
        );
    }
    let (Some(state), Some(code)) = (q.state, q.code) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Incomplete callback",
            "state and code are required",
        );
    };
    match crm::complete_authorization(domain, &state, &code).await {
        Ok(row) if row.status == ConnectionStatus::Active => page(
            StatusCode::OK,
            &format!("{} is connected", row.name),
            "You can close this window.",
        ),
        Ok(row) => page(
            StatusCode::BAD_GATEWAY,
            &format!("{} could not be connected", row.name),
            row.last_error
                .as_deref()
                .unwrap_or("the CRM refused the code"),
        ),
        Err(DomainError::NotFound { .. }) => page(
            StatusCode::NOT_FOUND,
            "Unknown or already used authorization",
            "Start again from the connection in Clientele.",
        ),
        Err(DomainError::Invalid { field, message }) => page(
            StatusCode::BAD_REQUEST,
            "Cannot connect",
            &format!("{field}: {message}"),
        ),
        Err(e) => {
            tracing::error!(error = %e, "OAuth callback failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot connect",
                "internal error",
            )
        }
    }
}
