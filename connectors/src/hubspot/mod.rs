//! HubSpot CRM v3: OAuth code + refresh (30-minute access tokens), `batch/upsert` by a unique
//! external id property (100 per call, 207 partial failures), search on `lastmodifieddate`
//! ascending (200 per page, window restarted at the 10,000-result cap), notes associated to the
//! contact (type 202) deduplicated by a unique property.

pub mod dto;

use async_trait::async_trait;
use reqwest::Method;
use url::Url;

use crate::config::ConnectionConfig;
use crate::connector::{ActivityKind, AuthGrant, Capabilities, CrmConnector, Tokens};
use crate::cursor::{FeedCursor, PageEnd, advance, seen_key};
use crate::http::{ApiRequest, ApiResponse, Executor, LimitSnapshot, TokenEndpoint};
use crate::model::{
    ActivityLog, ChangePage, CrmContact, LoggedActivity, SyncCursor, UpsertOutcome,
};
use crate::provider::Provider;
use crate::{CrmError, Result};

/// Records per batch call.
pub const BATCH_SIZE: usize = 100;
/// Largest search page.
pub const MAX_PAGE: u32 = 200;
/// Default unique property holding Clientele's id.
pub const DEFAULT_EXTERNAL_ID_PROPERTY: &str = "clientele_id";
const API: &str = "https://api.hubapi.com";

/// The registry constructor.
pub fn connect(cfg: ConnectionConfig) -> Result<Box<dyn CrmConnector>> {
    Ok(Box::new(HubSpot::new(cfg)?))
}

/// A HubSpot connection.
pub struct HubSpot {
    cfg: ConnectionConfig,
    exec: Executor,
    base: Url,
    ext: String,
}

impl HubSpot {
    /// Build from configuration.
    pub fn new(cfg: ConnectionConfig) -> Result<Self> {
        let endpoint = TokenEndpoint {
            url: cfg.token_url_or(&format!("{API}/oauth/v1/token"))?,
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            scope: None,
            refresh_with_client_credentials: false,
        };
        let exec = Executor::new(
            Provider::HubSpot,
            cfg.http.clone(),
            endpoint,
            cfg.tokens.clone(),
            64,
        )?;
        let base = cfg.api_base_or(API)?;
        let ext = cfg
            .external_id_field
            .clone()
            .unwrap_or_else(|| DEFAULT_EXTERNAL_ID_PROPERTY.into());
        Ok(HubSpot {
            cfg,
            exec,
            base,
            ext,
        })
    }

    /// The executor (refresh count, rate-limit snapshot).
    pub fn executor(&self) -> &Executor {
        &self.exec
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| CrmError::Config(format!("bad HubSpot URL: {e}")))
    }

    fn failure(resp: &ApiResponse) -> CrmError {
        let message = dto::error_message(&resp.body);
        match resp.status.as_u16() {
            400 | 404 | 409 => CrmError::Validation { message },
            s => CrmError::Permanent(format!("HTTP {s}: {message}")),
        }
    }

    async fn upsert_chunk(&self, chunk: &[CrmContact]) -> Result<Vec<UpsertOutcome>> {
        let req = ApiRequest::new(
            "hubspot.contacts.batch_upsert",
            Method::POST,
            self.url("/crm/v3/objects/contacts/batch/upsert")?,
        )
        .json(dto::batch_upsert_body(chunk, &self.ext));
        let resp = self.exec.send(&req).await?;
        if resp.status.as_u16() == 400 && chunk.len() > 1 {
            // The whole batch was refused for one record: isolate it record by record.
            let mut out = Vec::with_capacity(chunk.len());
            for one in chunk.chunks(1) {
                out.extend(Box::pin(self.upsert_chunk(one)).await?);
            }
            return Ok(out);
        }
        if resp.status.as_u16() == 400 {
            return Ok(chunk
                .iter()
                .map(|c| UpsertOutcome::Failed {
                    external_id: c.external_id.clone(),
                    message: dto::error_message(&resp.body),
                })
                .collect());
        }
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let batch: dto::BatchResponse = resp.json()?;
        Ok(self.match_results(chunk, batch))
    }

    fn match_results(&self, chunk: &[CrmContact], batch: dto::BatchResponse) -> Vec<UpsertOutcome> {
        let mut unmatched_errors: Vec<&dto::BatchError> = Vec::new();
        let mut by_ext = std::collections::HashMap::new();
        for r in &batch.results {
            if let Some(ext) = r.properties.get(&self.ext).and_then(|v| v.as_str()) {
                by_ext.insert(ext.to_owned(), r);
            }
        }
        let mut err_by_ext = std::collections::HashMap::new();
        for e in &batch.errors {
            let ids = e.ids();
            if ids.is_empty() {
                unmatched_errors.push(e);
            }
            for id in ids {
                err_by_ext.insert(id, e);
            }
        }
        let positional =
            by_ext.is_empty() && batch.errors.is_empty() && batch.results.len() == chunk.len();
        chunk
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let hit = if positional {
                    batch.results.get(i)
                } else {
                    by_ext.get(&c.external_id).copied()
                };
                if let Some(r) = hit {
                    let remote_id = r.id.clone();
                    return if r.new == Some(true) {
                        UpsertOutcome::Created { remote_id }
                    } else {
                        UpsertOutcome::Updated { remote_id }
                    };
                }
                let message = err_by_ext
                    .get(&c.external_id)
                    .or_else(|| unmatched_errors.first())
                    .map(|e| format!("{}: {}", e.category, e.message))
                    .unwrap_or_else(|| "missing from HubSpot's batch response".into());
                UpsertOutcome::Failed {
                    external_id: c.external_id.clone(),
                    message,
                }
            })
            .collect()
    }

    async fn find_note(&self, dedupe_key: &str) -> Result<Option<String>> {
        let req = ApiRequest::new(
            "hubspot.notes.search",
            Method::POST,
            self.url("/crm/v3/objects/notes/search")?,
        )
        .json(dto::note_search_body(dedupe_key));
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let found: dto::SearchResponse = resp.json()?;
        Ok(found.results.into_iter().next().map(|o| o.id))
    }
}

#[async_trait]
impl CrmConnector for HubSpot {
    fn provider(&self) -> Provider {
        Provider::HubSpot
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batch_size: BATCH_SIZE,
            fields: dto::FIELD_MAP.iter().map(|(f, _)| *f).collect(),
            supports_deletes: false,
            activity_kind: ActivityKind::Note,
            page_size: self.cfg.page_size.unwrap_or(MAX_PAGE).min(MAX_PAGE),
            interactive_auth: true,
        }
    }

    fn authorization_url(&self, state: &str, pkce_challenge: &str) -> Option<Url> {
        let scopes = if self.cfg.scopes.is_empty() {
            [
                "oauth",
                "crm.objects.contacts.read",
                "crm.objects.contacts.write",
            ]
            .map(str::to_owned)
            .to_vec()
        } else {
            self.cfg.scopes.clone()
        };
        self.cfg.code_flow_url(
            "https://app.hubspot.com/oauth/authorize",
            &scopes,
            state,
            pkce_challenge,
        )
    }

    async fn authorize(&self, grant: AuthGrant) -> Result<Tokens> {
        self.exec.authorize(grant.into()).await
    }

    async fn refresh(&self) -> Result<Tokens> {
        self.exec.refresh().await
    }

    async fn tokens(&self) -> Option<Tokens> {
        self.exec.tokens().await
    }

    fn limits(&self) -> LimitSnapshot {
        self.exec.limits()
    }

    async fn upsert_contacts(&self, contacts: &[CrmContact]) -> Result<Vec<UpsertOutcome>> {
        let mut out = Vec::with_capacity(contacts.len());
        for chunk in contacts.chunks(BATCH_SIZE) {
            out.extend(self.upsert_chunk(chunk).await?);
        }
        Ok(out)
    }

    async fn fetch_changes(&self, cursor: Option<SyncCursor>) -> Result<ChangePage> {
        let cur = FeedCursor::decode(cursor.as_ref())?;
        let limit = self.cfg.page_size.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        let req = ApiRequest::new(
            "hubspot.contacts.search",
            Method::POST,
            self.url("/crm/v3/objects/contacts/search")?,
        )
        .json(dto::search_body(
            cur.since,
            limit,
            cur.next.as_deref(),
            &self.ext,
            cur.strict,
        ));
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let page: dto::SearchResponse = resp.json()?;
        let server_now = resp.server_date();
        let mut out = ChangePage::default();
        let mut seen = Vec::with_capacity(page.results.len());
        for o in &page.results {
            let (contact, modified) = dto::contact_from_object(o, &self.ext).ok_or_else(|| {
                CrmError::Protocol("search result without lastmodifieddate".into())
            })?;
            let key = seen_key(&contact, false);
            if cur.is_new(&key, modified) {
                out.contacts.push(contact);
            }
            seen.push((key, modified));
        }
        let end = match page.paging.and_then(|p| p.next) {
            Some(next) => {
                let offset = next.after.parse::<u64>().unwrap_or(u64::MAX);
                if offset.saturating_add(u64::from(limit)) > u64::from(self.cfg.search_window_cap) {
                    PageEnd::RestartWindow
                } else {
                    PageEnd::Continue(next.after)
                }
            }
            None => PageEnd::Done,
        };
        let restart = end == PageEnd::RestartWindow;
        let (next, more) = advance(&cur, &seen, end, server_now);
        if restart && next.since == cur.since && cur.next.is_some() {
            return Err(CrmError::Protocol(format!(
                "more than {} contacts share one lastmodifieddate; cannot page past the search cap",
                self.cfg.search_window_cap
            )));
        }
        out.next_cursor = next.encode();
        out.has_more = more;
        Ok(out)
    }

    async fn log_activity(&self, activity: &ActivityLog) -> Result<LoggedActivity> {
        if let Some(remote_id) = self.find_note(&activity.dedupe_key).await? {
            return Ok(LoggedActivity {
                remote_id,
                created: false,
            });
        }
        let req = ApiRequest::new(
            "hubspot.notes.create",
            Method::POST,
            self.url("/crm/v3/objects/notes")?,
        )
        .json(dto::note_body(activity));
        let resp = self.exec.send(&req).await?;
        if resp.status.as_u16() == 409 {
            // The unique dedupe property already holds this key (a concurrent or earlier run).
            let message = dto::error_message(&resp.body);
            if let Some(remote_id) = dto::existing_id(&message) {
                return Ok(LoggedActivity {
                    remote_id,
                    created: false,
                });
            }
        }
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let note: dto::SimpleObject = resp.json()?;
        Ok(LoggedActivity {
            remote_id: note.id,
            created: true,
        })
    }
}
