//! Salesforce REST API: OAuth code + refresh (no `expires_in`; refresh on 401
//! `INVALID_SESSION_ID`), sObject Collections upsert by external id (200 per call), SOQL change
//! feed on `SystemModstamp` via `queryAll` (deletes included) with `nextRecordsUrl`, activities
//! as `Task` with `WhoId` upserted by a dedupe external id.

pub mod dto;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
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

/// REST API version used for every path.
pub const API_VERSION: &str = "v60.0";
/// Records per sObject Collections call.
pub const BATCH_SIZE: usize = 200;
/// Default external id field on Contact.
pub const DEFAULT_EXTERNAL_ID_FIELD: &str = "Clientele_Id__c";
/// External id field on Task holding the activity dedupe key.
pub const TASK_DEDUPE_FIELD: &str = "Clientele_Dedupe_Key__c";
const LOGIN: &str = "https://login.salesforce.com";

/// The registry constructor.
pub fn connect(cfg: ConnectionConfig) -> Result<Box<dyn CrmConnector>> {
    Ok(Box::new(Salesforce::new(cfg)?))
}

/// A Salesforce connection.
pub struct Salesforce {
    cfg: ConnectionConfig,
    exec: Executor,
    ext_field: String,
}

impl Salesforce {
    /// Build from configuration.
    pub fn new(cfg: ConnectionConfig) -> Result<Self> {
        let endpoint = TokenEndpoint {
            url: cfg.token_url_or(&format!("{LOGIN}/services/oauth2/token"))?,
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            scope: None,
            refresh_with_client_credentials: false,
        };
        let exec = Executor::new(
            Provider::Salesforce,
            cfg.http.clone(),
            endpoint,
            cfg.tokens.clone(),
            64,
        )?;
        let ext_field = cfg
            .external_id_field
            .clone()
            .unwrap_or_else(|| DEFAULT_EXTERNAL_ID_FIELD.into());
        Ok(Salesforce {
            cfg,
            exec,
            ext_field,
        })
    }

    /// The executor (refresh count, rate-limit snapshot).
    pub fn executor(&self) -> &Executor {
        &self.exec
    }

    async fn url(&self, path: &str) -> Result<Url> {
        let base = match &self.cfg.api_base_url {
            Some(u) => u.clone(),
            None => match self.exec.tokens().await.and_then(|t| t.instance_url) {
                Some(instance) => parse_url(&instance)?,
                None => return Err(CrmError::Config("no Salesforce instance URL yet".into())),
            },
        };
        base.join(path)
            .map_err(|e| CrmError::Config(format!("bad Salesforce URL: {e}")))
    }

    fn failure(resp: &ApiResponse) -> CrmError {
        let message = dto::error_message(&resp.body);
        match resp.status.as_u16() {
            400 | 404 => CrmError::Validation { message },
            _ => CrmError::Permanent(format!("HTTP {}: {message}", resp.status.as_u16())),
        }
    }

    async fn upsert_chunk(&self, chunk: &[CrmContact]) -> Result<Vec<UpsertOutcome>> {
        let url = self
            .url(&format!(
                "/services/data/{API_VERSION}/composite/sobjects/Contact/{}",
                self.ext_field
            ))
            .await?;
        let records: Vec<_> = chunk
            .iter()
            .map(|c| dto::contact_record(c, &self.ext_field))
            .collect();
        let req = ApiRequest::new("salesforce.contacts.upsert", Method::PATCH, url)
            .json(json!({ "allOrNone": false, "records": records }));
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let results: Vec<dto::SaveResult> = resp.json()?;
        if results.len() != chunk.len() {
            return Err(CrmError::Protocol(format!(
                "{} results for {} records",
                results.len(),
                chunk.len()
            )));
        }
        Ok(chunk
            .iter()
            .zip(results)
            .map(|(c, r)| match (r.success, r.id) {
                (true, Some(remote_id)) if r.created == Some(true) => {
                    UpsertOutcome::Created { remote_id }
                }
                (true, Some(remote_id)) => UpsertOutcome::Updated { remote_id },
                _ => UpsertOutcome::Failed {
                    external_id: c.external_id.clone(),
                    message: dto::save_error_message(&r.errors),
                },
            })
            .collect())
    }
}

#[async_trait]
impl CrmConnector for Salesforce {
    fn provider(&self) -> Provider {
        Provider::Salesforce
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batch_size: BATCH_SIZE,
            fields: dto::FIELD_MAP.iter().map(|(f, _)| *f).collect(),
            supports_deletes: true,
            activity_kind: ActivityKind::Task,
            page_size: self.cfg.page_size.unwrap_or(2000),
            interactive_auth: true,
        }
    }

    fn authorization_url(&self, state: &str, pkce_challenge: &str) -> Option<Url> {
        let scopes = if self.cfg.scopes.is_empty() {
            vec!["api".to_owned(), "refresh_token".to_owned()]
        } else {
            self.cfg.scopes.clone()
        };
        self.cfg.code_flow_url(
            &format!("{LOGIN}/services/oauth2/authorize"),
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
        let url = match &cur.next {
            Some(next) => self.url(next).await?,
            None => {
                let mut url = self
                    .url(&format!("/services/data/{API_VERSION}/queryAll"))
                    .await?;
                url.query_pairs_mut().append_pair(
                    "q",
                    &dto::changes_soql(&self.ext_field, cur.since, cur.strict),
                );
                url
            }
        };
        let page_size = self.cfg.page_size.unwrap_or(2000).clamp(200, 2000);
        let req = ApiRequest::get("salesforce.contacts.changes", url)
            .header("sforce-query-options", format!("batchSize={page_size}"));
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let page: dto::QueryPage = resp.json()?;
        let server_now = resp.server_date();
        let mut out = ChangePage::default();
        let mut seen = Vec::with_capacity(page.records.len());
        for record in &page.records {
            let Some((contact, modified, deleted)) =
                dto::contact_from_record(record, &self.ext_field)
            else {
                return Err(CrmError::Protocol(
                    "query record without Id or SystemModstamp".into(),
                ));
            };
            let key = seen_key(&contact, deleted);
            if cur.is_new(&key, modified) {
                if deleted {
                    out.deleted_remote_ids
                        .push(contact.remote_id.clone().unwrap_or_default());
                } else {
                    out.contacts.push(contact);
                }
            }
            seen.push((key, modified));
        }
        let end = match (page.done, page.next_records_url) {
            (false, Some(next)) => PageEnd::Continue(next),
            (false, None) => {
                return Err(CrmError::Protocol(
                    "query not done but no nextRecordsUrl".into(),
                ));
            }
            (true, _) => PageEnd::Done,
        };
        let (next, more) = advance(&cur, &seen, end, server_now);
        out.next_cursor = next.encode();
        out.has_more = more;
        Ok(out)
    }

    async fn log_activity(&self, activity: &ActivityLog) -> Result<LoggedActivity> {
        let mut url = self
            .url(&format!("/services/data/{API_VERSION}/sobjects/Task"))
            .await?;
        url.path_segments_mut()
            .map_err(|_| CrmError::Config("Salesforce base URL cannot have paths".into()))?
            .push(TASK_DEDUPE_FIELD)
            .push(&activity.dedupe_key);
        let req = ApiRequest::new("salesforce.task.upsert", Method::PATCH, url)
            .json(dto::task_body(activity));
        let resp = self.exec.send(&req).await?;
        match resp.status.as_u16() {
            200 | 201 => {
                let r: dto::UpsertResult = resp.json()?;
                Ok(LoggedActivity {
                    remote_id: r.id,
                    created: resp.status.as_u16() == 201 && r.created,
                })
            }
            300 => Err(CrmError::Permanent(
                "several Tasks share this dedupe key".into(),
            )),
            _ => Err(Self::failure(&resp)),
        }
    }
}
