//! The GraphQL schema: thin resolvers that parse, call one domain function and map the result.

mod audit;
pub mod clients;
pub mod conversations;
pub mod loaders;
mod me;
mod preferences;

use crate::auth::AuthError;
use crate::error::{ApiError, ApiResult};
use crate::limits::QueryLimits;
use async_graphql::{Context, ID, MergedObject, MergedSubscription, Schema, SchemaBuilder};
use clientele_domain::{Actor, Domain};
use uuid::Uuid;

#[derive(MergedObject, Default)]
pub struct Query(
    me::MeQuery,
    clients::ClientQuery,
    preferences::PreferencesQuery,
    audit::AuditQuery,
    clients::merge::MergeQuery,
    conversations::ConversationQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    clients::ClientMutation,
    preferences::PreferencesMutation,
    me::TenantMutation,
    clients::merge::MergeMutation,
    clients::import::ImportMutation,
    conversations::ConversationMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    clients::ClientSubscription,
    conversations::ConversationSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Limits applied to every operation.
#[derive(Clone, Copy, Debug)]
pub struct SchemaLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub timeout: std::time::Duration,
    pub introspection: bool,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        SchemaLimits {
            max_depth: 12,
            max_complexity: 5_000,
            max_aliases: 30,
            timeout: std::time::Duration::from_secs(10),
            introspection: true,
        }
    }
}

/// The per-request authentication outcome, put in the request data by the HTTP and WebSocket
/// handlers.
#[derive(Clone, Debug)]
pub struct Auth(pub Result<Actor, AuthError>);

pub fn builder(limits: SchemaLimits) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(64)
    .limit_directives(16)
    .extension(QueryLimits {
        max_aliases: limits.max_aliases,
        timeout: limits.timeout,
    });
    if limits.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

pub fn build(domain: Domain, limits: SchemaLimits) -> AppSchema {
    builder(limits).data(domain).finish()
}

/// The SDL the server exposes (what `clientele schema` prints).
pub fn sdl() -> String {
    builder(SchemaLimits::default()).finish().sdl()
}

/// The verified caller, or `UNAUTHENTICATED`.
pub(crate) fn actor<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a Actor> {
    match ctx.data_opt::<Auth>() {
        Some(Auth(Ok(actor))) => Ok(actor),
        Some(Auth(Err(e))) => Err(e.clone().into()),
        None => Err(AuthError::Missing.into()),
    }
}

pub(crate) fn domain<'a>(ctx: &'a Context<'_>) -> &'a Domain {
    ctx.data_unchecked::<Domain>()
}

/// Reads an `ID` argument as a UUID; a malformed id is bad input naming `field`.
pub(crate) fn parse_id(field: &str, id: &ID) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, "is not a valid id"))
}
