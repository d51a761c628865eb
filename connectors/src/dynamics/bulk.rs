//! Bulk upsert: `UpsertMultiple` for a chunk (one request against the service protection
//! limits instead of one per record), ids read back with one lookup before and one after. The
//! action is all-or-nothing, so a refused chunk is replayed record by record to report each
//! failure with Dataverse's own message.

use std::collections::HashMap;

use reqwest::Method;

use super::{Dynamics, dto};
use crate::model::{CrmContact, UpsertOutcome};
use crate::{CrmError, Result};

/// Records per `UpsertMultiple` call.
pub const MULTIPLE_SIZE: usize = 200;

impl Dynamics {
    /// Remote ids of the contacts with these external ids.
    async fn lookup(&self, chunk: &[CrmContact]) -> Result<HashMap<String, String>> {
        let ids: Vec<&str> = chunk.iter().map(|c| c.external_id.as_str()).collect();
        let mut url = self.record_url("contacts")?;
        url.query_pairs_mut()
            .append_pair("$select", &format!("contactid,{}", self.ext))
            .append_pair("$filter", &dto::lookup_filter(&self.ext, &ids));
        let req = Self::request("dynamics.contacts.lookup", Method::GET, url).header(
            "prefer",
            format!("odata.maxpagesize={}", MULTIPLE_SIZE.max(chunk.len())),
        );
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let page: dto::Page = resp.json()?;
        Ok(page
            .value
            .iter()
            .filter_map(|r| {
                let ext = r.get(&self.ext)?.as_str()?.to_owned();
                let id = r.get("contactid")?.as_str()?.to_owned();
                Some((ext, id))
            })
            .collect())
    }

    /// Upsert one chunk with `UpsertMultiple`, falling back to per-record upserts when refused.
    pub(super) async fn upsert_chunk(&self, chunk: &[CrmContact]) -> Result<Vec<UpsertOutcome>> {
        let before = self.lookup(chunk).await?;
        let mut url = self.record_url("contacts")?;
        url.path_segments_mut()
            .map_err(|_| CrmError::Config("bad org URL".into()))?
            .push("Microsoft.Dynamics.CRM.UpsertMultiple");
        let req = Self::request("dynamics.contacts.upsert_multiple", Method::POST, url)
            .header("mscrm.suppressduplicatedetection", "false")
            .json(dto::upsert_multiple_body(chunk, &self.ext));
        let resp = self.exec.send(&req).await?;
        match resp.status.as_u16() {
            200..=299 => {}
            400 | 404 | 409 | 412 | 500 => {
                tracing::info!(
                    records = chunk.len(),
                    "UpsertMultiple refused; isolating records"
                );
                return self.upsert_each(chunk).await;
            }
            _ => return Err(Self::failure(&resp)),
        }
        let after = self.lookup(chunk).await?;
        chunk
            .iter()
            .map(
                |c| match (before.get(&c.external_id), after.get(&c.external_id)) {
                    (Some(id), _) => Ok(UpsertOutcome::Updated {
                        remote_id: id.clone(),
                    }),
                    (None, Some(id)) => Ok(UpsertOutcome::Created {
                        remote_id: id.clone(),
                    }),
                    (None, None) => Err(CrmError::Protocol(
                        "UpsertMultiple succeeded but a record is missing afterwards".into(),
                    )),
                },
            )
            .collect()
    }

    /// Upsert records one by one, `CONCURRENCY` in flight.
    pub(super) async fn upsert_each(&self, chunk: &[CrmContact]) -> Result<Vec<UpsertOutcome>> {
        let mut out = Vec::with_capacity(chunk.len());
        for group in chunk.chunks(super::CONCURRENCY) {
            let futures: Vec<_> = group.iter().map(|c| Box::pin(self.upsert_one(c))).collect();
            for result in futures_util::future::join_all(futures).await {
                out.push(result?);
            }
        }
        Ok(out)
    }
}
