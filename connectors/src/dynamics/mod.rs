//! Dynamics 365 (Dataverse Web API v9.2): Azure AD client credentials (`{org}/.default`),
//! `UpsertMultiple` by alternate key (200 per call; a refused chunk is replayed as per-record
//! `PATCH contacts(key='value')`, several in flight within the 52-concurrent-request limit),
//! change feed on `modifiedon` with `Prefer: odata.maxpagesize` and `@odata.nextLink`,
//! activities as `task` bound with `@odata.bind` and created at most once by a dedupe alternate
//! key (`If-None-Match: *`).

mod bulk;
pub mod dto;
mod tracking;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::config::{ConnectionConfig, parse_url};
use crate::connector::{ActivityKind, AuthGrant, Capabilities, CrmConnector, Tokens};
use crate::cursor::{FeedCursor, PageEnd, advance, seen_key};
use crate::http::{ApiRequest, ApiResponse, Executor, LimitSnapshot, TokenEndpoint};
use crate::model::{
    ActivityLog, ChangePage, CrmContact, LoggedActivity, SyncCursor, UpsertOutcome,
};
use crate::provider::Provider;
use crate::{CrmError, Result};

/// Web API path.
pub const API_PATH: &str = "/api/data/v9.2/";
/// Upserts in flight when a refused `UpsertMultiple` chunk is replayed record by record
/// (service protection allows 52 concurrent requests per user).
pub const CONCURRENCY: usize = 16;
/// Default alternate key column holding Clientele's id.
pub const DEFAULT_EXTERNAL_ID_COLUMN: &str = "clientele_externalid";
/// Alternate key column on `task` holding the activity dedupe key.
pub const TASK_DEDUPE_COLUMN: &str = "clientele_dedupekey";

/// The registry constructor.
pub fn connect(cfg: ConnectionConfig) -> Result<Box<dyn CrmConnector>> {
    Ok(Box::new(Dynamics::new(cfg)?))
}

/// A Dynamics 365 connection.
pub struct Dynamics {
    cfg: ConnectionConfig,
    exec: Executor,
    api: Url,
    ext: String,
}

impl Dynamics {
    /// Build from configuration: needs the org URL, and the tenant unless the token URL is set.
    pub fn new(cfg: ConnectionConfig) -> Result<Self> {
        let org = cfg
            .api_base_url
            .clone()
            .ok_or_else(|| CrmError::Config("Dynamics needs the organisation URL".into()))?;
        let token_url = match (&cfg.token_url, &cfg.tenant) {
            (Some(u), _) => u.clone(),
            (None, Some(tenant)) => parse_url(&format!(
                "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
            ))?,
            (None, None) => {
                return Err(CrmError::Config(
                    "Dynamics needs the Azure AD tenant".into(),
                ));
            }
        };
        let scope = if cfg.scopes.is_empty() {
            format!("{}/.default", org.origin().ascii_serialization())
        } else {
            cfg.scopes.join(" ")
        };
        let endpoint = TokenEndpoint {
            url: token_url,
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            scope: Some(scope),
            refresh_with_client_credentials: true,
        };
        let exec = Executor::new(
            Provider::Dynamics365,
            cfg.http.clone(),
            endpoint,
            cfg.tokens.clone(),
            52,
        )?;
        let api = org
            .join(API_PATH)
            .map_err(|e| CrmError::Config(format!("bad org URL: {e}")))?;
        let ext = cfg
            .external_id_field
            .clone()
            .unwrap_or_else(|| DEFAULT_EXTERNAL_ID_COLUMN.into());
        Ok(Dynamics {
            cfg,
            exec,
            api,
            ext,
        })
    }

    /// The executor (refresh count, rate-limit snapshot).
    pub fn executor(&self) -> &Executor {
        &self.exec
    }

    fn record_url(&self, segment: &str) -> Result<Url> {
        let mut url = self.api.clone();
        url.path_segments_mut()
            .map_err(|_| CrmError::Config("bad org URL".into()))?
            .pop_if_empty()
            .push(segment);
        Ok(url)
    }

    fn request(op: &'static str, method: Method, url: Url) -> ApiRequest {
        ApiRequest::new(op, method, url)
            .header("odata-maxversion", "4.0")
            .header("odata-version", "4.0")
    }

    async fn upsert_one(&self, c: &CrmContact) -> Result<UpsertOutcome> {
        let mut url = self.record_url(&dto::alternate_key_segment(
            "contacts",
            &self.ext,
            &c.external_id,
        ))?;
        url.query_pairs_mut().append_pair("$select", "contactid");
        let req = Self::request("dynamics.contact.upsert", Method::PATCH, url)
            .header("prefer", "return=representation")
            .header("mscrm.suppressduplicatedetection", "false")
            .json(dto::contact_body(c, &self.ext));
        let resp = self.exec.send(&req).await?;
        let status = resp.status.as_u16();
        match status {
            200 | 201 => {
                let body: Value = resp.json()?;
                let remote_id = body
                    .get("contactid")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| CrmError::Protocol("upsert answer without contactid".into()))?;
                Ok(if status == 201 {
                    UpsertOutcome::Created { remote_id }
                } else {
                    UpsertOutcome::Updated { remote_id }
                })
            }
            204 => resp
                .header("odata-entityid")
                .and_then(dto::entity_id_from_header)
                .map(|remote_id| UpsertOutcome::Updated { remote_id })
                .ok_or_else(|| CrmError::Protocol("204 without OData-EntityId".into())),
            400 | 404 | 409 | 412 | 500 => Ok(UpsertOutcome::Failed {
                external_id: c.external_id.clone(),
                message: dto::error_message(status, &resp.body),
            }),
            _ => Err(Self::failure(&resp)),
        }
    }

    fn failure(resp: &ApiResponse) -> CrmError {
        let status = resp.status.as_u16();
        let message = dto::error_message(status, &resp.body);
        match status {
            400 => CrmError::Validation { message },
            _ => CrmError::Permanent(format!("HTTP {status}: {message}")),
        }
    }

    fn same_origin(&self, link: &str) -> Result<Url> {
        let url = parse_url(link)?;
        if url.origin() != self.api.origin() {
            return Err(CrmError::Protocol("nextLink points to another host".into()));
        }
        Ok(url)
    }
}

#[async_trait]
impl CrmConnector for Dynamics {
    fn provider(&self) -> Provider {
        Provider::Dynamics365
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batch_size: bulk::MULTIPLE_SIZE,
            fields: dto::FIELD_MAP.iter().map(|(f, _)| *f).collect(),
            supports_deletes: self.cfg.change_tracking,
            activity_kind: ActivityKind::Task,
            page_size: self.cfg.page_size.unwrap_or(500).min(5000),
            interactive_auth: false,
        }
    }

    fn authorization_url(&self, _state: &str, _pkce_challenge: &str) -> Option<Url> {
        None
    }

    async fn authorize(&self, grant: AuthGrant) -> Result<Tokens> {
        match grant {
            AuthGrant::ClientCredentials => self.exec.authorize(grant.into()).await,
            AuthGrant::AuthorizationCode { .. } => Err(CrmError::Unsupported(
                "Dynamics 365 connections use client credentials".into(),
            )),
        }
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
        for chunk in contacts.chunks(bulk::MULTIPLE_SIZE) {
            out.extend(self.upsert_chunk(chunk).await?);
        }
        Ok(out)
    }

    async fn fetch_changes(&self, cursor: Option<SyncCursor>) -> Result<ChangePage> {
        if self.cfg.change_tracking {
            return self.fetch_tracked(cursor.as_ref()).await;
        }
        let cur = FeedCursor::decode(cursor.as_ref())?;
        let url = match &cur.next {
            Some(link) => self.same_origin(link)?,
            None => {
                let mut url = self.record_url("contacts")?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("$select", &dto::select(&self.ext));
                    if let Some(since) = cur.since {
                        q.append_pair(
                            "$filter",
                            &format!(
                                "modifiedon {} {}",
                                if cur.strict { "gt" } else { "ge" },
                                dto::odata_datetime(since)
                            ),
                        );
                    }
                    q.append_pair("$orderby", "modifiedon asc,contactid asc");
                }
                url
            }
        };
        let page_size = self.capabilities().page_size;
        let req = Self::request("dynamics.contacts.changes", Method::GET, url)
            .header("prefer", format!("odata.maxpagesize={page_size}"));
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let page: dto::Page = resp.json()?;
        let server_now = resp.server_date();
        let mut out = ChangePage::default();
        let mut seen = Vec::with_capacity(page.value.len());
        for record in &page.value {
            let (contact, modified) =
                dto::contact_from_record(record, &self.ext).ok_or_else(|| {
                    CrmError::Protocol("record without contactid or modifiedon".into())
                })?;
            let key = seen_key(&contact, false);
            if cur.is_new(&key, modified) {
                out.contacts.push(contact);
            }
            seen.push((key, modified));
        }
        let end = page
            .next_link
            .map(PageEnd::Continue)
            .unwrap_or(PageEnd::Done);
        let (next, more) = advance(&cur, &seen, end, server_now);
        out.next_cursor = next.encode();
        out.has_more = more;
        Ok(out)
    }

    async fn log_activity(&self, activity: &ActivityLog) -> Result<LoggedActivity> {
        let segment = dto::alternate_key_segment("tasks", TASK_DEDUPE_COLUMN, &activity.dedupe_key);
        let mut url = self.record_url(&segment)?;
        url.query_pairs_mut().append_pair("$select", "activityid");
        let req = Self::request("dynamics.task.create", Method::PATCH, url.clone())
            .header("if-none-match", "*")
            .header("prefer", "return=representation")
            .json(dto::task_body(activity, TASK_DEDUPE_COLUMN));
        let resp = self.exec.send(&req).await?;
        let (resp, created) = match resp.status.as_u16() {
            200 | 201 => (resp, true),
            412 => {
                // Already logged under this key: read its id, create nothing.
                let get = Self::request("dynamics.task.get", Method::GET, url);
                (self.exec.send(&get).await?, false)
            }
            _ => return Err(Self::failure(&resp)),
        };
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let body: Value = resp.json()?;
        let remote_id = body
            .get("activityid")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CrmError::Protocol("task answer without activityid".into()))?;
        Ok(LoggedActivity { remote_id, created })
    }
}
