//! Clients over GraphQL: queries, mutations and the `clientChanged` subscription.

pub mod import;
pub mod inputs;
mod live;
pub mod merge;
pub mod types;

use super::{actor, domain, event_stream, parse_id};
use crate::error::{ApiError, ApiResult};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Json, Object, SimpleObject, Subscription};
use clientele_domain::clients::{self, BulkSelection};
use clientele_domain::entities::client_identity;
use clientele_domain::identities::{self, NewIdentity};
use clientele_domain::notes::{self, NewMeeting, NewSurveyResponse};
use clientele_domain::pagination::PageArgs;
use clientele_domain::timeline;
use clientele_domain::{ClientId, DomainEvent};
use futures_util::{Stream, StreamExt};
use inputs::*;
use std::sync::Arc;
use tokio::sync::Mutex;
use types::*;
use uuid::Uuid;

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

fn parse_client_id(field: &str, id: &ID) -> ApiResult<ClientId> {
    Ok(ClientId(parse_id(field, id)?))
}

#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// One client of the caller's tenant (ids of merged clients lead to the surviving one);
    /// `NOT_FOUND` for anything else.
    async fn client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Client>> {
        let id = parse_client_id("id", &id)?;
        Ok(Some(Client(
            clients::get(domain(ctx), actor(ctx)?, id).await?,
        )))
    }

    /// Clients, `first`/`last` between 1 and 100, newest first unless `orderBy` says otherwise.
    #[graphql(
        complexity = "first.or(last).unwrap_or(20).clamp(1, 100) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ClientFilter>,
        order_by: Option<ClientOrder>,
    ) -> ApiResult<ClientConnection> {
        let filter: clients::ClientFilter = filter.unwrap_or_default().into();
        let page = clients::list(
            domain(ctx),
            actor(ctx)?,
            &filter,
            order_by.unwrap_or_default().into(),
            &PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await?;
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

    /// Totals for a dashboard (mystery shoppers excluded).
    async fn client_stats(&self, ctx: &Context<'_>) -> ApiResult<ClientStats> {
        let stats = clients::stats(domain(ctx), actor(ctx)?).await?;
        Ok(ClientStats {
            total: stats.total,
            new_this_month: stats.new_this_month,
            inner: stats,
        })
    }

    /// Everything stored about one client as JSON (admins; data-protection requests).
    async fn export_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Json<serde_json::Value>> {
        let id = parse_client_id("id", &id)?;
        Ok(Json(clients::export(domain(ctx), actor(ctx)?, id).await?))
    }
}

#[derive(SimpleObject)]
pub struct BulkUpdateResult {
    /// Clients selected.
    pub matched: u64,
    /// Clients whose values changed (the others already had them).
    pub changed: u64,
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
        let input = input.into_domain()?;
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
        let id = parse_client_id("id", &id)?;
        let input = input.into_domain()?;
        Ok(Client(
            clients::update(domain(ctx), actor(ctx)?, id, input, expected_version).await?,
        ))
    }

    /// Marks a client sensitive or not (admins only; refused attempts are audited).
    async fn set_client_sensitive(
        &self,
        ctx: &Context<'_>,
        id: ID,
        sensitive: bool,
    ) -> ApiResult<Client> {
        let id = parse_client_id("id", &id)?;
        Ok(Client(
            clients::set_sensitive(domain(ctx), actor(ctx)?, id, sensitive).await?,
        ))
    }

    /// Soft delete: gone from lists, restorable.
    async fn delete_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let id = parse_client_id("id", &id)?;
        Ok(Client(clients::delete(domain(ctx), actor(ctx)?, id).await?))
    }

    async fn restore_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let id = parse_client_id("id", &id)?;
        Ok(Client(
            clients::restore(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    /// Erases the person's data for a data-protection request (admins); an anonymised
    /// tombstone remains.
    async fn erase_client(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let id = parse_client_id("id", &id)?;
        Ok(Client(clients::erase(domain(ctx), actor(ctx)?, id).await?))
    }

    /// Applies one change to up to 10,000 clients, by ids or by filter, in one transaction.
    async fn bulk_update_clients(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<ID>>,
        filter: Option<ClientFilter>,
        input: BulkClientInput,
    ) -> ApiResult<BulkUpdateResult> {
        let selection = match (ids, filter) {
            (Some(ids), None) => BulkSelection::Ids(
                ids.iter()
                    .map(|id| parse_id("ids", id))
                    .collect::<ApiResult<Vec<Uuid>>>()?,
            ),
            (None, Some(filter)) => BulkSelection::Filter(filter.into()),
            _ => return Err(ApiError::bad_input("ids", "give either ids or filter")),
        };
        let outcome =
            clients::bulk_update(domain(ctx), actor(ctx)?, selection, || input.to_domain()).await?;
        Ok(BulkUpdateResult {
            matched: outcome.matched,
            changed: outcome.changed,
        })
    }

    /// Adds an email, phone, chat session or platform id to a client.
    async fn add_client_identity(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        input: IdentityInput,
    ) -> ApiResult<Identity> {
        let id = parse_client_id("clientId", &client_id)?;
        let input = NewIdentity {
            kind: client_identity::IdentityKind::from(input.kind),
            platform: input.platform,
            value: input.value,
            primary: input.primary,
        };
        Ok(Identity(
            identities::add(domain(ctx), actor(ctx)?, id, input).await?,
        ))
    }

    /// Removes an identity; returns the client.
    async fn remove_client_identity(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Client> {
        let id = parse_id("id", &id)?;
        Ok(Client(
            identities::remove(domain(ctx), actor(ctx)?, id).await?,
        ))
    }

    async fn add_note(&self, ctx: &Context<'_>, client_id: ID, body: String) -> ApiResult<Note> {
        let id = parse_client_id("clientId", &client_id)?;
        Ok(Note(
            notes::add_note(domain(ctx), actor(ctx)?, id, &body).await?,
        ))
    }

    /// Edits a note (its author or an admin).
    async fn edit_note(&self, ctx: &Context<'_>, id: ID, body: String) -> ApiResult<Note> {
        let id = parse_id("id", &id)?;
        Ok(Note(
            notes::edit_note(domain(ctx), actor(ctx)?, id, &body).await?,
        ))
    }

    /// Deletes a note (its author or an admin).
    async fn delete_note(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        let id = parse_id("id", &id)?;
        notes::delete_note(domain(ctx), actor(ctx)?, id).await?;
        Ok(true)
    }

    async fn add_meeting(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        input: MeetingInput,
    ) -> ApiResult<Meeting> {
        let id = parse_client_id("clientId", &client_id)?;
        let input = NewMeeting {
            title: input.title,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            location: input.location,
            notes: input.notes,
        };
        Ok(Meeting(
            notes::add_meeting(domain(ctx), actor(ctx)?, id, input).await?,
        ))
    }

    async fn add_survey_response(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        input: SurveyResponseInput,
    ) -> ApiResult<SurveyResponse> {
        let id = parse_client_id("clientId", &client_id)?;
        let input = NewSurveyResponse {
            survey: input.survey,
            score: input.score,
            answers: input.answers.0,
            submitted_at: input.submitted_at,
        };
        Ok(SurveyResponse(
            notes::add_survey_response(domain(ctx), actor(ctx)?, id, input).await?,
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
        let id = parse_client_id("clientId", &client_id)?;
        let domain = domain(ctx).clone();
        let id = ClientId(clients::get(&domain, &actor, id).await?.id);
        let rx = domain.events.subscribe(actor.tenant);
        Ok(event_stream(rx, move |event| match event {
            DomainEvent::ClientChanged { client_id } if client_id == id => {
                let (domain, actor) = (domain.clone(), actor.clone());
                Some(async move { Ok(Client(clients::get(&domain, &actor, id).await?)) })
            }
            _ => None,
        }))
    }

    /// Each new event on the client's timeline, oldest first. A subscriber that falls too
    /// far behind receives a `RATE_LIMITED` error and the subscription ends.
    async fn timeline_event_added(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
    ) -> Result<impl Stream<Item = ApiResult<TimelineEvent>> + use<>, ApiError> {
        let actor = actor(ctx)?.clone();
        let id = parse_client_id("clientId", &client_id)?;
        let domain = domain(ctx).clone();
        let id = ClientId(clients::get(&domain, &actor, id).await?.id);
        let rx = domain.events.subscribe(actor.tenant);
        let seen = Arc::new(Mutex::new(live::Seen::new(chrono::Utc::now())));
        let batches = event_stream(rx, move |event| {
            let relevant = match event {
                DomainEvent::ClientChanged { client_id } => client_id == id,
                DomainEvent::MessageAdded { client_id, .. } => client_id == Some(id),
                DomainEvent::SyncRunUpdated { .. } | DomainEvent::NotificationRaised { .. } => {
                    false
                }
            };
            relevant.then(|| {
                let (domain, actor, seen) = (domain.clone(), actor.clone(), seen.clone());
                async move {
                    let from = seen.lock().await.from();
                    let rows = timeline::since(&domain, &actor, id, from, live::BATCH).await?;
                    Ok(seen.lock().await.keep_new(rows))
                }
            })
        });
        Ok(batches.flat_map(|batch| {
            let items: Vec<ApiResult<TimelineEvent>> = match batch {
                Ok(rows) => rows.into_iter().map(|r| Ok(TimelineEvent(r))).collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(items)
        }))
    }
}
