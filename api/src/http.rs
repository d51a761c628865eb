//! The axum router: `/graphql` (POST, WebSocket, GraphiQL), `/healthz`, `/readyz`.

use crate::auth::{AuthError, Tokens};
use crate::fanout::{Hub, SessionData};
use crate::schema::{AppSchema, Auth, loaders};
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use clientele_domain::{Actor, Domain};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// What the HTTP layer needs besides the schema.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub graphiql: bool,
    /// Largest JSON request body (and WebSocket message).
    pub max_body_bytes: usize,
    /// Largest multipart request (GraphQL file uploads such as CSV imports).
    pub max_upload_bytes: usize,
    /// Events a subscriber may fall behind before it is told and dropped.
    pub subscriber_buffer: usize,
}

#[derive(Clone)]
struct AppState {
    schema: AppSchema,
    /// Subscriptions shared by identical subscribers (see `fanout`).
    subscriptions: Arc<Hub<AppSchema>>,
    domain: Domain,
    tokens: Tokens,
    config: HttpConfig,
}

pub fn router(schema: AppSchema, domain: Domain, tokens: Tokens, config: HttpConfig) -> Router {
    let limits = (config.max_body_bytes, config.max_upload_bytes);
    let session_domain = domain.clone();
    let session: SessionData = Arc::new(move |actor: &Actor| {
        let mut data = async_graphql::Data::default();
        loaders::attach(&mut data, &session_domain, actor.tenant);
        data.insert(Auth(Ok(actor.clone())));
        data
    });
    let subscriptions = Hub::new(schema.clone(), session, config.subscriber_buffer);
    let state = AppState {
        schema,
        subscriptions,
        domain,
        tokens,
        config,
    };
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/exports/clients.csv", get(export_clients))
        .route("/exports/conversations.csv", get(export_conversations))
        .route("/webhooks/{provider}", post(receive_webhook))
        .route(
            "/oauth/callback",
            get(|State(state): State<AppState>, query| async move {
                crate::oauth::callback(&state.domain, query).await
            }),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            limit_body(limits, request, next)
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // Path only: query strings and headers may carry tokens or personal data.
                    let request_id = request
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-")
                        .to_string();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Refuses bodies over the limit before anything parses them: the JSON limit for ordinary
/// requests, the upload limit for multipart ones. Declared lengths are checked up front;
/// streamed bodies are cut off at the limit.
async fn limit_body((json, upload): (usize, usize), request: Request, next: Next) -> Response {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let limit = if multipart { upload } else { json };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes"),
        )
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

async fn receive_webhook(
    State(state): State<AppState>,
    axum::extract::Path(provider): axum::extract::Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let raw = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(raw) => raw,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            )
                .into_response();
        }
    };
    crate::webhooks::receive(state.domain, provider, parts.headers, parts.uri, raw).await
}

async fn export_clients(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    crate::export::clients_csv(state.domain, state.tokens, parts.headers, parts.uri.query()).await
}

async fn export_conversations(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    crate::export::conversations_csv(state.domain, state.tokens, parts.headers, parts.uri.query())
        .await
}

fn authenticate(tokens: &Tokens, headers: &HeaderMap) -> Auth {
    let header = headers.get(header::AUTHORIZATION).map(|v| v.to_str());
    Auth(match header {
        None => Err(AuthError::Missing),
        Some(Err(_)) => Err(AuthError::Invalid),
        Some(Ok(value)) => tokens.authenticate(Some(value)),
    })
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let auth = authenticate(&state.tokens, &headers);
    let mut request = request.into_inner();
    if let Auth(Ok(actor)) = &auth {
        loaders::attach(&mut request.data, &state.domain, actor.tenant);
    }
    state.schema.execute(request.data(auth)).await.into()
}

/// Initial read buffer per WebSocket connection.
const WEBSOCKET_READ_BUFFER: usize = 4 * 1024;

/// WebSocket upgrade (`graphql-transport-ws`, token in `connection_init`), else GraphiQL.
async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let wants_websocket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_websocket {
        let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &state).await {
            Ok(p) => p,
            Err(rejection) => return rejection.into_response(),
        };
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(u) => u,
            Err(rejection) => return rejection.into_response(),
        };
        let AppState {
            subscriptions,
            tokens,
            config,
            domain,
            ..
        } = state;
        let actor_cell = Arc::new(OnceLock::new());
        let executor = subscriptions.connection(actor_cell.clone());
        return upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .max_message_size(config.max_body_bytes)
            // The default 128 KiB read buffer is allocated up front per connection; clients
            // send little (init, subscribe, pings), and it grows when a message needs it.
            .read_buffer_size(WEBSOCKET_READ_BUFFER)
            .on_upgrade(move |socket| async move {
                GraphQLWebSocket::new(socket, executor, protocol)
                    .on_connection_init(move |payload| async move {
                        match token_from_init(&payload).map(|t| tokens.verify(&t)) {
                            Some(Ok(actor)) => {
                                let mut data = async_graphql::Data::default();
                                loaders::attach(&mut data, &domain, actor.tenant);
                                // The connection's subscriptions join their groups as this
                                // actor's tenant and role.
                                let _ = actor_cell.set(actor.clone());
                                data.insert(Auth(Ok(actor)));
                                Ok(data)
                            }
                            Some(Err(e)) => {
                                Err(async_graphql::Error::new(format!("UNAUTHENTICATED: {e}")))
                            }
                            None => Err(async_graphql::Error::new(format!(
                                "UNAUTHENTICATED: {}",
                                AuthError::Missing
                            ))),
                        }
                    })
                    .keepalive_timeout(Duration::from_secs(60))
                    .serve()
                    .await
            });
    }
    if state.config.graphiql {
        Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .title("Clientele GraphiQL")
                .finish(),
        )
        .into_response()
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "POST GraphQL requests to /graphql; GraphiQL is disabled",
        )
            .into_response()
    }
}

/// The token in a `connection_init` payload: `{"Authorization": "Bearer ..."}` (any case) or
/// `{"token": "..."}`.
fn token_from_init(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    object.iter().find_map(|(key, value)| {
        let value = value.as_str()?.trim();
        if key.eq_ignore_ascii_case("authorization") {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        } else if key == "token" {
            Some(value.to_string())
        } else {
            None
        }
    })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.domain.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database is not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn init_payload_tokens() {
        assert_eq!(
            token_from_init(&json!({"Authorization": "Bearer abc"})).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token_from_init(&json!({"authorization": "bearer  abc "})).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token_from_init(&json!({"token": "abc"})).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token_from_init(&json!({"Authorization": "Basic abc"})),
            None
        );
        assert_eq!(token_from_init(&json!(null)), None);
    }
}
