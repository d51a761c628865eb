//! Notification rules (admins): keyword phrases that flag inbound messages, and the
//! purchase-intent levels whose reaching alerts. Without any intent rule, reaching
//! `ready_to_buy` alerts.

use crate::audit::{self, Outcome};
use crate::entities::client::PurchaseIntent;
use crate::entities::json::StringList;
use crate::entities::notification_rule::{self, RuleKind};
use crate::{Actor, Domain, DomainError, DomainResult, Role, TenantId};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

const MAX_PHRASES: usize = 50;
const MAX_PHRASE_CHARS: usize = 100;

/// A rule as entered: phrases (a keyword rule) or an intent level (an intent rule).
#[derive(Clone, Debug, Default)]
pub struct RuleInput {
    pub name: String,
    pub phrases: Vec<String>,
    pub intent_level: Option<PurchaseIntent>,
    pub active: bool,
}

/// A valid rule: name, kind, normalised phrases, level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRule {
    pub name: String,
    pub kind: RuleKind,
    pub phrases: Vec<String>,
    pub intent_level: Option<PurchaseIntent>,
}

/// Checks a rule; errors name the field.
pub fn validate(input: &RuleInput) -> DomainResult<ValidRule> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters"));
    }
    let kind = match (input.phrases.is_empty(), input.intent_level) {
        (false, None) => RuleKind::Keyword,
        (true, Some(_)) => RuleKind::Intent,
        _ => {
            return Err(DomainError::invalid(
                "phrases",
                "give either phrases (a keyword rule) or intentLevel (an intent rule)",
            ));
        }
    };
    if input.phrases.len() > MAX_PHRASES {
        return Err(DomainError::invalid(
            "phrases",
            format!("at most {MAX_PHRASES} phrases"),
        ));
    }
    let mut phrases: Vec<String> = Vec::new();
    for p in &input.phrases {
        if p.chars().count() > MAX_PHRASE_CHARS {
            return Err(DomainError::invalid(
                "phrases",
                format!("a phrase has at most {MAX_PHRASE_CHARS} characters"),
            ));
        }
        let Some(n) = super::normalise_phrase(p) else {
            return Err(DomainError::invalid("phrases", "a phrase needs a word"));
        };
        if !phrases.contains(&n) {
            phrases.push(n);
        }
    }
    Ok(ValidRule {
        name: name.to_string(),
        kind,
        phrases,
        intent_level: input.intent_level,
    })
}

/// The tenant's rules, oldest first (every staff role may read them).
pub async fn list(d: &Domain, actor: &Actor) -> DomainResult<Vec<notification_rule::Model>> {
    actor.require(Role::Viewer)?;
    Ok(notification_rule::Entity::scoped(actor.tenant)
        .order_by_asc(notification_rule::Column::CreatedAt)
        .order_by_asc(notification_rule::Column::Id)
        .all(&d.db)
        .await?)
}

async fn find(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    id: Uuid,
) -> DomainResult<notification_rule::Model> {
    notification_rule::Entity::scoped(tenant)
        .filter(notification_rule::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("notification rule"))
}

/// Creates a rule (admins).
pub async fn create(
    d: &Domain,
    actor: &Actor,
    input: RuleInput,
) -> DomainResult<notification_rule::Model> {
    audit::require_admin(&d.db, actor, "notification_rule.create", None).await?;
    let rule = validate(&input)?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    let txn = d.begin_write().await?;
    let row = notification_rule::Entity::insert(notification_rule::ActiveModel {
        id: Set(id),
        tenant_id: Set(actor.tenant.0),
        name: Set(rule.name),
        kind: Set(rule.kind),
        phrases: Set(StringList(rule.phrases)),
        intent_level: Set(rule.intent_level),
        active: Set(input.active),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        "notification_rule.create",
        Some(id),
        Outcome::Allowed,
        json!({ "name": row.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Replaces a rule's name, phrases or level and active flag (admins).
pub async fn update(
    d: &Domain,
    actor: &Actor,
    id: Uuid,
    input: RuleInput,
) -> DomainResult<notification_rule::Model> {
    audit::require_admin(&d.db, actor, "notification_rule.update", Some(id)).await?;
    let rule = validate(&input)?;
    let txn = d.begin_write().await?;
    let current = find(&txn, actor.tenant, id).await?;
    let mut row: notification_rule::ActiveModel = current.into();
    row.name = Set(rule.name);
    row.kind = Set(rule.kind);
    row.phrases = Set(StringList(rule.phrases));
    row.intent_level = Set(rule.intent_level);
    row.active = Set(input.active);
    row.updated_at = Set(Utc::now());
    let saved = notification_rule::Entity::update(row).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "notification_rule.update",
        Some(id),
        Outcome::Allowed,
        json!({ "name": saved.name }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a rule (admins).
pub async fn delete(d: &Domain, actor: &Actor, id: Uuid) -> DomainResult<()> {
    audit::require_admin(&d.db, actor, "notification_rule.delete", Some(id)).await?;
    let txn = d.begin_write().await?;
    find(&txn, actor.tenant, id).await?;
    notification_rule::Entity::scoped_delete(actor.tenant)
        .filter(notification_rule::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "notification_rule.delete",
        Some(id),
        Outcome::Allowed,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Active keyword rules of a tenant.
pub(crate) async fn active_keyword_rules(
    db: &impl ConnectionTrait,
    tenant: TenantId,
) -> DomainResult<Vec<notification_rule::Model>> {
    Ok(notification_rule::Entity::scoped(tenant)
        .filter(notification_rule::Column::Kind.eq(RuleKind::Keyword))
        .filter(notification_rule::Column::Active.eq(true))
        .order_by_asc(notification_rule::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The intent levels that alert: those of active intent rules, or `ready_to_buy` when the
/// tenant has no intent rule at all (an inactive one switches the default off).
pub(crate) async fn intent_levels(
    db: &impl ConnectionTrait,
    tenant: TenantId,
) -> DomainResult<Vec<PurchaseIntent>> {
    let rules = notification_rule::Entity::scoped(tenant)
        .filter(notification_rule::Column::Kind.eq(RuleKind::Intent))
        .all(db)
        .await?;
    Ok(levels_of(&rules))
}

/// See [`intent_levels`].
pub fn levels_of(rules: &[notification_rule::Model]) -> Vec<PurchaseIntent> {
    if rules.is_empty() {
        return vec![PurchaseIntent::ReadyToBuy];
    }
    let mut levels = Vec::new();
    for r in rules.iter().filter(|r| r.active) {
        if let Some(level) = r.intent_level
            && !levels.contains(&level)
        {
            levels.push(level);
        }
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(phrases: &[&str], level: Option<PurchaseIntent>) -> RuleInput {
        RuleInput {
            name: "r".into(),
            phrases: phrases.iter().map(|s| s.to_string()).collect(),
            intent_level: level,
            active: true,
        }
    }

    fn field(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rules_are_keyword_or_intent_never_both() {
        let k = validate(&input(&["Book Appointment", "book appointment!"], None)).unwrap();
        assert_eq!(k.kind, RuleKind::Keyword);
        assert_eq!(k.phrases, vec!["book appointment"]);
        let i = validate(&input(&[], Some(PurchaseIntent::Comparing))).unwrap();
        assert_eq!(i.kind, RuleKind::Intent);
        assert_eq!(
            field(validate(&input(&["x"], Some(PurchaseIntent::Comparing))).unwrap_err()),
            "phrases"
        );
        assert_eq!(field(validate(&input(&[], None)).unwrap_err()), "phrases");
        assert_eq!(
            field(validate(&input(&["?!"], None)).unwrap_err()),
            "phrases"
        );
        let mut unnamed = input(&["x"], None);
        unnamed.name = "  ".into();
        assert_eq!(field(validate(&unnamed).unwrap_err()), "name");
    }

    #[test]
    fn ready_to_buy_alerts_until_an_intent_rule_says_otherwise() {
        assert_eq!(levels_of(&[]), vec![PurchaseIntent::ReadyToBuy]);
        let rule = |level, active| notification_rule::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "i".into(),
            kind: RuleKind::Intent,
            phrases: StringList::default(),
            intent_level: Some(level),
            active,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(
            levels_of(&[rule(PurchaseIntent::Comparing, true)]),
            vec![PurchaseIntent::Comparing]
        );
        assert!(levels_of(&[rule(PurchaseIntent::ReadyToBuy, false)]).is_empty());
    }
}
