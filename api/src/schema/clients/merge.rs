//! Duplicate candidates and merging over GraphQL.

use super::parse_client_id;
use super::types::Client;
use crate::error::{ApiError, ApiResult};
use crate::schema::loaders::{ClientLoader, loader};
use crate::schema::{actor, domain};
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use clientele_domain::clients::merge;

/// Clients that are probably the same person.
pub struct DuplicateCandidate(merge::DuplicateCandidate);

#[Object]
impl DuplicateCandidate {
    async fn clients(&self, ctx: &Context<'_>) -> ApiResult<Vec<Client>> {
        let loader = loader::<ClientLoader>(ctx)?;
        let found = loader.load_many(self.0.client_ids.iter().copied()).await?;
        Ok(self
            .0
            .client_ids
            .iter()
            .filter_map(|id| found.get(id).cloned().map(Client))
            .collect())
    }
    /// `same_external_id`, `same_email`, `extracted_fact` (a message about one names an email
    /// or phone the other holds), `same_name_same_company`, `same_name`.
    async fn rule(&self) -> &str {
        self.0.rule
    }
    /// 0..1, higher is more certain.
    async fn score(&self) -> f64 {
        self.0.score
    }
    async fn evidence(&self) -> &str {
        &self.0.evidence
    }
}

/// Where a merged field's value came from.
#[derive(SimpleObject)]
pub struct FieldOrigin {
    pub field: String,
    pub value: Json<serde_json::Value>,
    pub from_client_id: ID,
}

#[derive(SimpleObject)]
pub struct MovedCount {
    /// `identities`, `notes`, `meetings`, `surveyResponses`, `timelineEvents`.
    pub what: String,
    pub count: u64,
}

/// The merged client (not saved in a dry run) and where everything came from.
#[derive(SimpleObject)]
pub struct MergeResult {
    pub client: Client,
    pub field_origins: Vec<FieldOrigin>,
    pub merged_ids: Vec<ID>,
    pub moved: Vec<MovedCount>,
    pub dry_run: bool,
}

#[derive(Default)]
pub struct MergeQuery;

#[Object]
impl MergeQuery {
    /// Probable duplicates, best first; with `clientId`, only those that include it.
    async fn duplicate_candidates(
        &self,
        ctx: &Context<'_>,
        client_id: Option<ID>,
        first: Option<i32>,
    ) -> ApiResult<Vec<DuplicateCandidate>> {
        let first = first.unwrap_or(20);
        if !(1..=100).contains(&first) {
            return Err(ApiError::bad_input("first", "must be between 1 and 100"));
        }
        let client = client_id
            .as_ref()
            .map(|id| parse_client_id("clientId", id))
            .transpose()?;
        let found = merge::duplicates(domain(ctx), actor(ctx)?, client, first as usize).await?;
        Ok(found.into_iter().map(DuplicateCandidate).collect())
    }
}

#[derive(Default)]
pub struct MergeMutation;

#[Object]
impl MergeMutation {
    /// Folds `otherIds` into `primaryId`: the primary's values win, its blanks are filled from
    /// the others, identities, notes, meetings and the timeline move over, and the others'
    /// ids lead to the primary from now on. `dryRun` shows the result without writing.
    async fn merge_clients(
        &self,
        ctx: &Context<'_>,
        primary_id: ID,
        other_ids: Vec<ID>,
        dry_run: Option<bool>,
    ) -> ApiResult<MergeResult> {
        let primary = parse_client_id("primaryId", &primary_id)?;
        let others = other_ids
            .iter()
            .map(|id| parse_client_id("otherIds", id))
            .collect::<ApiResult<Vec<_>>>()?;
        let outcome = merge::merge(
            domain(ctx),
            actor(ctx)?,
            primary,
            &others,
            dry_run.unwrap_or(false),
        )
        .await?;
        let mut moved: Vec<MovedCount> = outcome
            .moved
            .iter()
            .map(|(what, count)| MovedCount {
                what: what.to_string(),
                count: *count,
            })
            .collect();
        moved.sort_by(|a, b| a.what.cmp(&b.what));
        Ok(MergeResult {
            client: Client(outcome.client),
            field_origins: outcome
                .origins
                .into_iter()
                .map(|o| FieldOrigin {
                    field: o.field.to_string(),
                    value: Json(o.value),
                    from_client_id: ID(o.from.to_string()),
                })
                .collect(),
            merged_ids: outcome
                .merged_ids
                .iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            moved,
            dry_run: outcome.dry_run,
        })
    }
}
