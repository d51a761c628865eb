//! Change tracking (`Prefer: odata.track-changes`): rounds of pages ending in an
//! `@odata.deltaLink`; later rounds report changed records and `$deletedEntity` entries.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{Dynamics, dto};
use crate::model::{ChangePage, SyncCursor};
use crate::{CrmError, Result};

/// The link to follow next (a next link inside a round, or the delta link of the next round).
#[derive(Debug, Serialize, Deserialize)]
struct TrackCursor {
    track: String,
}

impl Dynamics {
    /// One page of the change-tracking feed.
    pub(super) async fn fetch_tracked(&self, cursor: Option<&SyncCursor>) -> Result<ChangePage> {
        let url = match cursor.filter(|c| !c.0.is_empty()) {
            Some(c) => {
                let cur: TrackCursor = serde_json::from_str(&c.0).map_err(|_| {
                    CrmError::Config(
                        "not a change-tracking cursor (was tracking just enabled?)".into(),
                    )
                })?;
                self.same_origin(&cur.track)?
            }
            None => {
                let mut url = self.record_url("contacts")?;
                url.query_pairs_mut()
                    .append_pair("$select", &dto::select(&self.ext));
                url
            }
        };
        let page_size = self.cfg.page_size.unwrap_or(500).min(5000);
        let req = Self::request("dynamics.contacts.delta", Method::GET, url).header(
            "prefer",
            format!("odata.track-changes,odata.maxpagesize={page_size}"),
        );
        let resp = self.exec.send(&req).await?;
        if !resp.is_success() {
            return Err(Self::failure(&resp));
        }
        let page: dto::TrackedPage = resp.json()?;
        let mut out = ChangePage::default();
        for entry in &page.value {
            if let Some(id) = dto::deleted_id(entry) {
                out.deleted_remote_ids.push(id);
                continue;
            }
            let (contact, _) = dto::contact_from_record(entry, &self.ext)
                .ok_or_else(|| CrmError::Protocol("delta record without contactid".into()))?;
            out.contacts.push(contact);
        }
        let (link, more) = match (page.next_link, page.delta_link) {
            (Some(next), _) => (next, true),
            (None, Some(delta)) => (delta, false),
            (None, None) => {
                return Err(CrmError::Protocol(
                    "delta page without next or delta link".into(),
                ));
            }
        };
        out.next_cursor =
            SyncCursor(serde_json::to_string(&TrackCursor { track: link }).unwrap_or_default());
        out.has_more = more;
        Ok(out)
    }
}
