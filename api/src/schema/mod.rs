//! The GraphQL schema: thin resolvers that parse, call one domain function and map the result.

/// A GraphQL enum mirroring a domain enum variant for variant, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$doc:meta])* $name:ident = $db:path { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
        pub enum $name { $($variant),* }

        impl From<$db> for $name {
            fn from(v: $db) -> Self {
                match v { $(<$db>::$variant => $name::$variant),* }
            }
        }

        impl From<$name> for $db {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => <$db>::$variant),* }
            }
        }
    };
}

pub mod assistants;
mod audit;
pub mod clients;
pub mod conversations;
pub mod crm;
pub mod jobs;
pub mod loaders;
mod me;
pub mod notifications;
mod preferences;
pub mod tracking;
pub mod usage;

use crate::auth::AuthError;
use crate::error::{ApiError, ApiResult, RATE_LIMITED, coded};
use crate::limits::QueryLimits;
use async_graphql::{Context, ID, MergedObject, MergedSubscription, Schema, SchemaBuilder};
use clientele_domain::DomainEvent;
use clientele_domain::{Actor, Domain};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

#[derive(MergedObject, Default)]
pub struct Query(
    me::MeQuery,
    clients::ClientQuery,
    preferences::PreferencesQuery,
    audit::AuditQuery,
    clients::merge::MergeQuery,
    conversations::ConversationQuery,
    jobs::JobQuery,
    crm::CrmQuery,
    usage::UsageQuery,
    assistants::AssistantQuery,
    notifications::NotificationQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    clients::ClientMutation,
    preferences::PreferencesMutation,
    me::TenantMutation,
    clients::merge::MergeMutation,
    clients::import::ImportMutation,
    conversations::ConversationMutation,
    jobs::JobMutation,
    crm::CrmMutation,
    assistants::AssistantMutation,
    tracking::TrackingMutation,
    usage::UsageMutation,
    notifications::NotificationMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    clients::ClientSubscription,
    conversations::ConversationSubscription,
    crm::CrmSubscription,
    notifications::NotificationSubscription,
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

/// The schema over `domain`; admins' job views need `jobs` (the job store).
pub fn build(
    domain: Domain,
    jobs: Option<clientele_jobs::Jobs>,
    limits: SchemaLimits,
) -> AppSchema {
    let builder = builder(limits).data(domain);
    match jobs {
        Some(jobs) => builder.data(jobs).finish(),
        None => builder.finish(),
    }
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

/// A subscription's stream over the tenant's events: `select` picks the events it wants and
/// loads what to send. A subscriber that falls more than the channel capacity behind gets one
/// `RATE_LIMITED` error and the stream ends; it never slows publishers or other subscribers.
pub(crate) fn event_stream<T, F, Fut>(
    rx: broadcast::Receiver<DomainEvent>,
    select: F,
) -> impl Stream<Item = ApiResult<T>> + use<T, F, Fut>
where
    T: Send + 'static,
    F: Fn(DomainEvent) -> Option<Fut> + Send + 'static,
    Fut: Future<Output = ApiResult<T>> + Send,
{
    futures_util::stream::unfold((Some(rx), select), |(rx, select)| async move {
        let mut rx = rx?;
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(load) = select(event) {
                        let item = load.await;
                        return Some((item, (Some(rx), select)));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let error = ApiError(coded(
                        RATE_LIMITED,
                        format!(
                            "this subscriber fell behind and missed {missed} events; resubscribe and reload"
                        ),
                    ));
                    return Some((Err(error), (None, select)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Reads an `ID` argument as a UUID; a malformed id is bad input naming `field`.
pub(crate) fn parse_id(field: &str, id: &ID) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(field, "is not a valid id"))
}
