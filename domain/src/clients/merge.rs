//! Duplicates and merging: finding records that are probably the same person, and folding
//! them into one without losing anything a person entered.

use super::{find_live, publish, write_row};
use crate::entities::client::{self, SaleStatus};
use crate::entities::json::StringList;
use crate::entities::timeline_event::TimelineKind;
use crate::entities::{
    client_identity, client_note, client_preference, conversation, duplicate_suggestion, meeting,
    survey_response, timeline_event,
};
use crate::timeline::{self, EventActor};
use crate::{Actor, ClientId, Domain, DomainError, DomainResult, Role, TenantId};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

pub const MAX_MERGE: usize = 20;

/// Where a merged field's value came from.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldOrigin {
    pub field: &'static str,
    pub value: Value,
    pub from: Uuid,
}

fn blank_str(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn union(primary: &StringList, others: &[&StringList], cap: usize) -> StringList {
    let mut out: Vec<String> = Vec::new();
    for value in primary
        .0
        .iter()
        .chain(others.iter().flat_map(|o| o.0.iter()))
    {
        if out.len() < cap && !out.iter().any(|v| v.eq_ignore_ascii_case(value)) {
            out.push(value.clone());
        }
    }
    StringList(out)
}

/// Folds `others` into `primary` (pure): the primary's non-empty values win, its blanks are
/// filled from the others in the order given, lists and metadata keys are unioned (traits
/// still at most five), flags that protect people (sensitive) are kept if any record had
/// them, first seen is the earliest and last active the latest. Returns the merged record and
/// where each field's value came from.
pub fn merge_records(
    primary: &client::Model,
    others: &[client::Model],
) -> (client::Model, Vec<FieldOrigin>) {
    let mut merged = primary.clone();
    let mut origins = Vec::new();

    macro_rules! fill {
        ($field:ident, $name:literal, $blank:expr) => {{
            let blank: fn(&_) -> bool = $blank;
            if blank(&merged.$field) {
                if let Some(source) = others.iter().find(|o| !blank(&o.$field)) {
                    merged.$field = source.$field.clone();
                    origins.push(FieldOrigin {
                        field: $name,
                        value: json!(merged.$field),
                        from: source.id,
                    });
                }
            }
            if !blank(&merged.$field) && !origins.iter().any(|o| o.field == $name) {
                origins.push(FieldOrigin {
                    field: $name,
                    value: json!(merged.$field),
                    from: primary.id,
                });
            }
        }};
    }
    fill!(first_name, "firstName", blank_str);
    fill!(last_name, "lastName", blank_str);
    fill!(email, "email", blank_str);
    fill!(phone, "phone", blank_str);
    fill!(company, "company", blank_str);
    fill!(street, "street", blank_str);
    fill!(city, "city", blank_str);
    fill!(state, "state", blank_str);
    fill!(zip, "zip", blank_str);
    fill!(country, "country", blank_str);
    fill!(date_of_birth, "dateOfBirth", |v: &Option<
        chrono::NaiveDate,
    >| v.is_none());
    fill!(notes, "notes", blank_str);
    fill!(external_id, "externalId", blank_str);
    fill!(purchase_intent, "purchaseIntent", |v: &Option<
        client::PurchaseIntent,
    >| v.is_none());
    fill!(sale_status, "saleStatus", |v: &SaleStatus| *v
        == SaleStatus::None);
    fill!(funnel_stage, "funnelStage", blank_str);
    fill!(sentiment, "sentiment", blank_str);

    let other = |f: fn(&client::Model) -> &StringList| others.iter().map(f).collect::<Vec<_>>();
    merged.interests = union(&primary.interests, &other(|o| &o.interests), 50);
    merged.traits = union(
        &primary.traits,
        &other(|o| &o.traits),
        super::fields::MAX_TRAITS,
    );
    merged.needs = union(&primary.needs, &other(|o| &o.needs), 50);
    for (field, list) in [
        ("interests", &merged.interests),
        ("traits", &merged.traits),
        ("needs", &merged.needs),
    ] {
        if !list.0.is_empty() {
            origins.push(FieldOrigin {
                field,
                value: json!(list),
                from: primary.id,
            });
        }
    }
    for o in others {
        for (key, value) in &o.metadata.0 {
            if !merged.metadata.0.contains_key(key) {
                merged.metadata.0.insert(key.clone(), value.clone());
                origins.push(FieldOrigin {
                    field: "metadata",
                    value: json!({ key: value }),
                    from: o.id,
                });
            }
        }
        for (key, value) in &o.custom_config.0 {
            merged
                .custom_config
                .0
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
    }
    merged.sensitive = primary.sensitive || others.iter().any(|o| o.sensitive);
    merged.contractor = primary.contractor || others.iter().any(|o| o.contractor);
    merged.mystery_shopper = primary.mystery_shopper || others.iter().any(|o| o.mystery_shopper);
    merged.first_seen_at = std::iter::once(primary.first_seen_at)
        .chain(others.iter().map(|o| o.first_seen_at))
        .flatten()
        .min();
    merged.last_active_at = std::iter::once(primary.last_active_at)
        .chain(others.iter().map(|o| o.last_active_at))
        .flatten()
        .max();
    merged.activity_at = merged.last_active_at.or(Some(merged.created_at));
    super::fields::refresh_derived(&mut merged);
    (merged, origins)
}

/// What a merge did (or, in a dry run, would do).
#[derive(Clone, Debug)]
pub struct MergeOutcome {
    pub client: client::Model,
    pub origins: Vec<FieldOrigin>,
    pub merged_ids: Vec<Uuid>,
    pub moved: HashMap<&'static str, u64>,
    pub dry_run: bool,
}

async fn count_owned(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    ids: &[Uuid],
) -> DomainResult<HashMap<&'static str, u64>> {
    use sea_orm::PaginatorTrait;
    let mut moved = HashMap::new();
    moved.insert(
        "identities",
        client_identity::Entity::scoped(tenant)
            .filter(client_identity::Column::ClientId.is_in(ids.iter().copied()))
            .count(db)
            .await?,
    );
    moved.insert(
        "notes",
        client_note::Entity::scoped(tenant)
            .filter(client_note::Column::ClientId.is_in(ids.iter().copied()))
            .count(db)
            .await?,
    );
    moved.insert(
        "meetings",
        meeting::Entity::scoped(tenant)
            .filter(meeting::Column::ClientId.is_in(ids.iter().copied()))
            .count(db)
            .await?,
    );
    moved.insert(
        "surveyResponses",
        survey_response::Entity::scoped(tenant)
            .filter(survey_response::Column::ClientId.is_in(ids.iter().copied()))
            .count(db)
            .await?,
    );
    moved.insert(
        "conversations",
        conversation::Entity::scoped(tenant)
            .filter(conversation::Column::ClientId.is_in(ids.iter().copied()))
            .count(db)
            .await?,
    );
    moved.insert(
        "timelineEvents",
        timeline_event::Entity::scoped(tenant)
            .filter(timeline_event::Column::ClientId.is_in(ids.iter().copied()))
            .count(db)
            .await?,
    );
    Ok(moved)
}

/// Merges `others` into `primary` (agents). With `dry_run`, shows the result without writing.
pub async fn merge(
    d: &Domain,
    actor: &Actor,
    primary: ClientId,
    others: &[ClientId],
    dry_run: bool,
) -> DomainResult<MergeOutcome> {
    actor.require(Role::Agent)?;
    if others.is_empty() {
        return Err(DomainError::invalid(
            "otherIds",
            "name at least one client to merge",
        ));
    }
    if others.len() > MAX_MERGE {
        return Err(DomainError::invalid(
            "otherIds",
            format!("at most {MAX_MERGE} clients at once"),
        ));
    }
    let txn = d.begin_write().await?;
    let tenant = actor.tenant;
    let keep = find_live(&txn, tenant, primary).await?;
    let mut folded: Vec<client::Model> = Vec::new();
    for id in others {
        let row = find_live(&txn, tenant, *id).await?;
        if row.id == keep.id {
            return Err(DomainError::invalid(
                "otherIds",
                "the primary cannot be merged into itself",
            ));
        }
        if !folded.iter().any(|f| f.id == row.id) {
            folded.push(row);
        }
    }
    let ids: Vec<Uuid> = folded.iter().map(|f| f.id).collect();
    let (merged, origins) = merge_records(&keep, &folded);
    let moved = count_owned(&txn, tenant, &ids).await?;
    if dry_run {
        return Ok(MergeOutcome {
            client: merged,
            origins,
            merged_ids: ids,
            moved,
            dry_run: true,
        });
    }

    // Move everything hung off the others to the primary.
    let id_in = || client_identity::Column::ClientId.is_in(ids.iter().copied());
    client_identity::Entity::scoped_update(tenant)
        .col_expr(client_identity::Column::ClientId, Expr::value(keep.id))
        .col_expr(client_identity::Column::IsPrimary, Expr::value(false))
        .filter(id_in())
        .exec(&txn)
        .await?;
    client_note::Entity::scoped_update(tenant)
        .col_expr(client_note::Column::ClientId, Expr::value(keep.id))
        .filter(client_note::Column::ClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    meeting::Entity::scoped_update(tenant)
        .col_expr(meeting::Column::ClientId, Expr::value(keep.id))
        .filter(meeting::Column::ClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    survey_response::Entity::scoped_update(tenant)
        .col_expr(survey_response::Column::ClientId, Expr::value(keep.id))
        .filter(survey_response::Column::ClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    timeline_event::Entity::scoped_update(tenant)
        .col_expr(timeline_event::Column::ClientId, Expr::value(keep.id))
        .filter(timeline_event::Column::ClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    conversation::Entity::scoped_update(tenant)
        .col_expr(conversation::Column::ClientId, Expr::value(keep.id))
        .filter(conversation::Column::ClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    // Threads waiting for "is this ...?" now ask about the record that stays.
    conversation::Entity::scoped_update(tenant)
        .col_expr(
            conversation::Column::SuggestedClientId,
            Expr::value(keep.id),
        )
        .filter(conversation::Column::SuggestedClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    // Preferences: the primary's stay; if it had none, the first other's move over.
    let has_prefs = client_preference::Entity::scoped(tenant)
        .filter(client_preference::Column::ClientId.eq(keep.id))
        .one(&txn)
        .await?
        .is_some();
    if !has_prefs
        && let Some(first) = client_preference::Entity::scoped(tenant)
            .filter(client_preference::Column::ClientId.is_in(ids.iter().copied()))
            .order_by_asc(client_preference::Column::UpdatedAt)
            .one(&txn)
            .await?
    {
        client_preference::Entity::scoped_update(tenant)
            .col_expr(client_preference::Column::ClientId, Expr::value(keep.id))
            .filter(client_preference::Column::ClientId.eq(first.client_id))
            .exec(&txn)
            .await?;
    }
    client_preference::Entity::scoped_delete(tenant)
        .filter(client_preference::Column::ClientId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;

    // Retire the others: their ids now lead to the primary.
    let now = Utc::now();
    for row in &folded {
        let mut retired = row.clone();
        retired.merged_into_id = Some(keep.id);
        retired.deleted_at = Some(now);
        retired.email = None;
        retired.phone = None;
        retired.search_text = String::new();
        write_row(&txn, tenant, row, retired).await?;
    }
    let saved = write_row(&txn, tenant, &keep, merged).await?;
    fix_primaries(&txn, tenant, &saved).await?;
    timeline::record(
        &txn,
        tenant,
        ClientId(keep.id),
        &EventActor::from(actor),
        TimelineKind::Merged,
        json!({
            "merged": ids,
            "fields": origins.iter().map(|o| json!({ "field": o.field, "value": o.value, "from": o.from })).collect::<Vec<_>>(),
            "moved": moved,
        }),
    )
    .await?;
    txn.commit().await?;
    publish(d, tenant, &saved);
    for row in &folded {
        publish(d, tenant, row);
    }
    Ok(MergeOutcome {
        client: saved,
        origins,
        merged_ids: ids,
        moved,
        dry_run: false,
    })
}

/// After identities moved, exactly the client's email and phone are the primary ones, and
/// every other kind keeps (or gets) one primary.
async fn fix_primaries(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    row: &client::Model,
) -> DomainResult<()> {
    let identities = crate::identities::list_for(db, tenant, ClientId(row.id)).await?;
    let mut has_primary: Vec<(client_identity::IdentityKind, String)> = Vec::new();
    for identity in &identities {
        let should = match identity.kind {
            client_identity::IdentityKind::Email => row.email.as_deref() == Some(&identity.value),
            client_identity::IdentityKind::Phone => row.phone.as_deref() == Some(&identity.value),
            kind => {
                let key = (kind, identity.platform.clone());
                if has_primary.contains(&key) {
                    false
                } else {
                    has_primary.push(key);
                    true
                }
            }
        };
        if should != identity.is_primary {
            client_identity::Entity::scoped_update(tenant)
                .col_expr(client_identity::Column::IsPrimary, Expr::value(should))
                .filter(client_identity::Column::Id.eq(identity.id))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// A set of clients that are probably the same person.
#[derive(Clone, Debug)]
pub struct DuplicateCandidate {
    pub client_ids: Vec<Uuid>,
    pub rule: &'static str,
    pub score: f64,
    pub evidence: String,
}

/// The comparable form of an email: lower case, `+tags` dropped, and dots ignored where the
/// provider ignores them (Gmail).
pub fn canonical_email(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    let local = local.split('+').next().unwrap_or(local);
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        _ => (local.to_string(), domain),
    };
    format!("{local}@{domain}")
}

/// (id, external id, email, first name, last name, company) of one client.
type DuplicateKeys = (
    Uuid,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Groups rows by a key; groups of two or more become candidates.
fn groups<K: std::hash::Hash + Eq>(rows: impl Iterator<Item = (K, Uuid)>) -> Vec<Vec<Uuid>> {
    let mut map: HashMap<K, Vec<Uuid>> = HashMap::new();
    for (key, id) in rows {
        map.entry(key).or_default().push(id);
    }
    map.into_values().filter(|ids| ids.len() > 1).collect()
}

/// Duplicate candidates among the tenant's live clients, best first (or only those that
/// include `client`). Rules: the same external id (1.0); the same email once tags and
/// provider-ignored dots are removed (0.95); the same full name at the same company (0.8);
/// the same full name (0.5).
pub async fn duplicates(
    d: &Domain,
    actor: &Actor,
    client: Option<ClientId>,
    limit: usize,
) -> DomainResult<Vec<DuplicateCandidate>> {
    let rows: Vec<DuplicateKeys> = client::Entity::scoped(actor.tenant)
        .filter(client::Column::DeletedAt.is_null())
        .filter(client::Column::MergedIntoId.is_null())
        .select_only()
        .column(client::Column::Id)
        .column(client::Column::ExternalId)
        .column(client::Column::Email)
        .column(client::Column::FirstName)
        .column(client::Column::LastName)
        .column(client::Column::Company)
        .into_tuple()
        .all(&d.db)
        .await?;
    let full_name =
        |first: &Option<String>, last: &Option<String>| -> Option<String> {
            match (first.as_deref(), last.as_deref()) {
                (Some(f), Some(l)) if !f.trim().is_empty() && !l.trim().is_empty() => Some(
                    format!("{} {}", f.trim().to_lowercase(), l.trim().to_lowercase()),
                ),
                _ => None,
            }
        };
    let mut out = Vec::new();
    let mut push = |ids: Vec<Uuid>, rule: &'static str, score: f64, evidence: String| {
        out.push(DuplicateCandidate {
            client_ids: ids,
            rule,
            score,
            evidence,
        });
    };
    for ids in groups(
        rows.iter()
            .filter_map(|r| r.1.clone().map(|x| (x.to_lowercase(), r.0))),
    ) {
        push(
            ids,
            "same_external_id",
            1.0,
            "external ids are equal".into(),
        );
    }
    for ids in groups(
        rows.iter()
            .filter_map(|r| r.2.as_deref().map(|e| (canonical_email(e), r.0))),
    ) {
        push(
            ids,
            "same_email",
            0.95,
            "emails are the same once tags and ignored dots are removed".into(),
        );
    }
    let named: Vec<(String, Option<String>, Uuid)> = rows
        .iter()
        .filter_map(|r| {
            full_name(&r.3, &r.4).map(|n| (n, r.5.as_deref().map(str::to_lowercase), r.0))
        })
        .collect();
    let with_company = groups(
        named
            .iter()
            .filter_map(|(n, c, id)| c.clone().map(|c| ((n.clone(), c), *id))),
    );
    for ids in &with_company {
        push(
            ids.clone(),
            "same_name_same_company",
            0.8,
            "same full name at the same company".into(),
        );
    }
    for ids in groups(named.iter().map(|(n, _, id)| (n.clone(), *id))) {
        // Already reported with the stronger company rule.
        if with_company
            .iter()
            .any(|g| ids.iter().all(|i| g.contains(i)))
        {
            continue;
        }
        push(ids, "same_name", 0.5, "same full name".into());
    }
    // Facts extraction found in one client's messages that another client holds.
    let live: std::collections::HashSet<Uuid> = rows.iter().map(|r| r.0).collect();
    let suggestions = duplicate_suggestion::Entity::scoped(actor.tenant)
        .order_by_asc(duplicate_suggestion::Column::CreatedAt)
        .all(&d.db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    for s in suggestions {
        if !live.contains(&s.client_id) || !live.contains(&s.other_client_id) {
            continue;
        }
        let mut ids = vec![s.client_id, s.other_client_id];
        ids.sort();
        if !seen.insert(ids.clone()) {
            continue;
        }
        let message = s
            .message_id
            .map(|m| format!(" (message {m}, rule {})", s.rule))
            .unwrap_or_default();
        push(
            ids,
            "extracted_fact",
            0.9,
            format!(
                "a message about one names the {} {} that the other holds{message}",
                s.kind, s.value
            ),
        );
    }
    if let Some(ClientId(id)) = client {
        out.retain(|c| c.client_ids.contains(&id));
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.client_ids.cmp(&b.client_ids))
    });
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::{TenantRules, blank};
    use crate::entities::client::{ClientSource, PurchaseIntent};
    use crate::values::Region;

    fn row(first: Option<&str>, email: Option<&str>) -> client::Model {
        let rules = TenantRules {
            region: Region::parse("CA").unwrap(),
            statuses: vec!["new".into()],
            funnel_stages: vec![],
        };
        let mut r = blank(TenantId::new(), &rules, ClientSource::Manual);
        r.first_name = first.map(Into::into);
        r.email = email.map(Into::into);
        r
    }

    #[test]
    fn the_primary_wins_and_blanks_are_filled_in_order() {
        let mut primary = row(Some("Ada"), None);
        primary.traits = StringList(vec!["a".into(), "b".into(), "c".into()]);
        primary.metadata.0.insert("plan".into(), json!("gold"));
        let mut first = row(Some("Adeline"), Some("ada@example.com"));
        first.purchase_intent = Some(PurchaseIntent::Comparing);
        first.traits = StringList(vec!["C".into(), "d".into(), "e".into(), "f".into()]);
        first.metadata.0.insert("plan".into(), json!("silver"));
        first.metadata.0.insert("seats".into(), json!(3));
        first.sensitive = true;
        let second = row(None, Some("other@example.com"));
        let (merged, origins) = merge_records(&primary, &[first.clone(), second]);
        assert_eq!(merged.first_name.as_deref(), Some("Ada"));
        assert_eq!(merged.email.as_deref(), Some("ada@example.com"));
        assert_eq!(merged.purchase_intent, Some(PurchaseIntent::Comparing));
        assert_eq!(
            merged.traits.0,
            ["a", "b", "c", "d", "e"],
            "union, capped at five"
        );
        assert_eq!(merged.metadata.0["plan"], json!("gold"));
        assert_eq!(merged.metadata.0["seats"], json!(3));
        assert!(merged.sensitive, "protective flags survive");
        let email = origins.iter().find(|o| o.field == "email").unwrap();
        assert_eq!(email.from, first.id);
        let name = origins.iter().find(|o| o.field == "firstName").unwrap();
        assert_eq!(name.from, primary.id);
        assert!(merged.search_text.contains("ada@example.com"));
    }

    #[test]
    fn canonical_emails() {
        assert_eq!(canonical_email("A.Da+crm@GMail.com"), "ada@gmail.com");
        assert_eq!(canonical_email("a.da+x@example.com"), "a.da@example.com");
        assert_eq!(canonical_email("nope"), "nope");
    }
}
