//! Clients over GraphQL: the `Client` type, its list, and create/update.

use super::{actor, domain, parse_id};
use crate::error::{ApiError, ApiResult, RATE_LIMITED, coded};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Subscription};
use chrono::{DateTime, Utc};
use clientele_domain::clients::{self, ClientPatch, NewClient, Patch};
use clientele_domain::entities::client::{self as entity, ClientSource as DbSource};
use clientele_domain::pagination::PageArgs;
use clientele_domain::{ClientId, DomainEvent};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

/// A person the business talks to: one deduplicated record.
pub struct Client(pub entity::Model);

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// Entered by a person.
    Manual,
    /// Created from facts found in messages.
    Extracted,
    /// Imported from a file.
    Import,
    /// Pulled from a connected CRM.
    Crm,
}

impl From<DbSource> for ClientSource {
    fn from(s: DbSource) -> Self {
        match s {
            DbSource::Manual => ClientSource::Manual,
            DbSource::Extracted => ClientSource::Extracted,
            DbSource::Import => ClientSource::Import,
            DbSource::Crm => ClientSource::Crm,
        }
    }
}

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// "First Last", or the email, phone or company when there is no name.
    async fn display_name(&self) -> String {
        let m = &self.0;
        let name = [m.first_name.as_deref(), m.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return name;
        }
        [m.email.as_deref(), m.phone.as_deref(), m.company.as_deref()]
            .into_iter()
            .flatten()
            .next()
            .unwrap_or_default()
            .to_string()
    }
    /// Primary email, lower case.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Primary phone in E.164 (`+14165551234`).
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
    async fn source(&self) -> ClientSource {
        self.0.source.into()
    }
    /// Bumped on every change; pass it back as `expectedVersion` to update safely.
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject, Default)]
pub struct CreateClientInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Validated and stored in lower case.
    pub email: Option<String>,
    /// Any common format; read in the tenant's default region when it has no country code.
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// Fields left out are kept; fields given as `null` are cleared.
#[derive(InputObject, Default)]
pub struct UpdateClientInput {
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub company: MaybeUndefined<String>,
}

#[derive(InputObject, Default, Clone)]
pub struct ClientFilter {
    /// Matches name, email, phone (typed in any format) and company.
    pub search: Option<String>,
}

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(v),
    }
}

fn to_domain_filter(filter: Option<ClientFilter>) -> clients::ClientFilter {
    let filter = filter.unwrap_or_default();
    clients::ClientFilter {
        search: filter.search,
    }
}

/// Extra fields of the client list.
pub struct ClientListInfo {
    filter: clients::ClientFilter,
}

#[Object]
impl ClientListInfo {
    /// How many clients match the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        Ok(clients::count(domain(ctx), actor(ctx)?, &self.filter).await?)
    }
}

pub type ClientConnection = Connection<String, Client, ClientListInfo, EmptyFields>;

#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// One client of the caller's tenant; `NOT_FOUND` for anything else.
    async fn client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Client>> {
        let id = ClientId(parse_id("id", &id)?);
        Ok(Some(Client(
            clients::get(domain(ctx), actor(ctx)?, id).await?,
        )))
    }

    /// Clients, newest first, `first`/`last` between 1 and 100.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ClientFilter>,
    ) -> ApiResult<ClientConnection> {
        let actor = actor(ctx)?;
        let filter = to_domain_filter(filter);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = clients::list(domain(ctx), actor, &filter, &args).await?;
        let mut connection = Connection::with_additional_fields(
            page.has_previous_page,
            page.has_next_page,
            ClientListInfo { filter },
        );
        connection.edges.extend(
            page.items
                .into_iter()
                .map(|(cursor, row)| Edge::new(cursor, Client(row))),
        );
        Ok(connection)
    }
}

#[derive(Default)]
pub struct ClientMutation;

#[Object]
impl ClientMutation {
    /// Creates a client (agents and admins).
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        input: CreateClientInput,
    ) -> ApiResult<Client> {
        let input = NewClient {
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            phone: input.phone,
            company: input.company,
        };
        Ok(Client(
            clients::create(domain(ctx), actor(ctx)?, input).await?,
        ))
    }

    /// Updates a client (agents and admins). With `expectedVersion`, a client changed since
    /// it was read is a `CONFLICT` and nothing is written.
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateClientInput,
        expected_version: Option<i64>,
    ) -> ApiResult<Client> {
        let id = ClientId(parse_id("id", &id)?);
        let patch = ClientPatch {
            first_name: patch(input.first_name),
            last_name: patch(input.last_name),
            email: patch(input.email),
            phone: patch(input.phone),
            company: patch(input.company),
        };
        Ok(Client(
            clients::update(domain(ctx), actor(ctx)?, id, patch, expected_version).await?,
        ))
    }
}

#[derive(Default)]
pub struct ClientSubscription;

#[Subscription]
impl ClientSubscription {
    /// The client each time it changes. A subscriber that falls too far behind receives a
    /// `RATE_LIMITED` error and the subscription ends; resubscribe and reload.
    async fn client_changed(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<Client>> + use<>, ApiError> {
        let actor = actor(ctx)?.clone();
        let id = ClientId(parse_id("clientId", &client_id)?);
        let domain = domain(ctx).clone();
        clients::get(&domain, &actor, id).await?;
        let rx = domain.events.subscribe(actor.tenant);
        Ok(futures_util::stream::unfold(Some(rx), move |rx| {
            let (domain, actor) = (domain.clone(), actor.clone());
            async move {
                let mut rx = rx?;
                loop {
                    match rx.recv().await {
                        Ok(DomainEvent::ClientChanged { client_id, .. }) if client_id == id => {
                            let item = clients::get(&domain, &actor, id)
                                .await
                                .map(Client)
                                .map_err(ApiError::from);
                            return Some((item, Some(rx)));
                        }
                        Ok(_) => continue,
                        Err(RecvError::Lagged(missed)) => {
                            let error = ApiError(coded(
                                RATE_LIMITED,
                                format!(
                                    "this subscriber fell behind and missed {missed} events; resubscribe and reload"
                                ),
                            ));
                            return Some((Err(error), None));
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }))
    }
}
