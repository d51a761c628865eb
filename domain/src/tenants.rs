//! Tenants: the businesses using Clientele. Created by operators (CLI, first start), not over
//! the tenant-facing API.

use crate::entities::json::StringList;
use crate::entities::tenant;
use crate::values::Region;
use crate::{DomainError, DomainResult, TenantId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    SqlErr,
};

/// Client statuses a new tenant starts with.
pub const DEFAULT_STATUSES: [&str; 5] = ["new", "active", "qualified", "customer", "lost"];

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub default_region: String,
    pub timezone: String,
}

/// A slug is 2 to 64 characters of lower-case letters, digits and inner hyphens.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    let ok_chars = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if (2..=64).contains(&slug.len()) && ok_chars && !slug.starts_with('-') && !slug.ends_with('-')
    {
        Ok(())
    } else {
        Err(format!(
            "{slug:?} must be 2-64 lower-case letters, digits or inner hyphens"
        ))
    }
}

pub async fn create(db: &impl ConnectionTrait, input: NewTenant) -> DomainResult<tenant::Model> {
    validate_slug(&input.slug).map_err(|m| DomainError::invalid("slug", m))?;
    let name = crate::values::clean_text(&input.name, 200)
        .map_err(|m| DomainError::invalid("name", m))?
        .ok_or_else(|| DomainError::invalid("name", "is required"))?;
    let region = Region::parse(&input.default_region)
        .map_err(|m| DomainError::invalid("defaultRegion", m))?;
    input.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
        DomainError::invalid(
            "timezone",
            format!("{:?} is not an IANA time zone", input.timezone),
        )
    })?;
    let row = tenant::ActiveModel {
        id: Set(TenantId::new().0),
        slug: Set(input.slug.clone()),
        name: Set(name),
        default_region: Set(region.code().to_string()),
        timezone: Set(input.timezone),
        created_at: Set(chrono::Utc::now()),
        client_statuses: Set(StringList(
            DEFAULT_STATUSES.iter().map(|s| s.to_string()).collect(),
        )),
        funnel_stages: Set(StringList::default()),
        auto_create_clients: Set(true),
        auto_create_since: Set(None),
        known_sender_check: Set(tenant::KnownSenderCheck::Link),
        extractors: Set(None),
    };
    tenant::Entity::insert(row)
        .exec_with_returning(db)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                DomainError::Conflict(format!("a tenant with slug {:?} exists", input.slug))
            }
            _ => DomainError::Database(e),
        })
}

pub async fn find_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> DomainResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: TenantId) -> DomainResult<tenant::Model> {
    tenant::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("tenant"))
}

pub async fn count(db: &impl ConnectionTrait) -> DomainResult<u64> {
    Ok(tenant::Entity::find().count(db).await?)
}

/// What an admin may change about their tenant; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct TenantSettings {
    pub name: Option<String>,
    pub default_region: Option<String>,
    pub timezone: Option<String>,
    pub client_statuses: Option<Vec<String>>,
    pub funnel_stages: Option<Vec<String>>,
}

/// Updates the caller's tenant (admins; audited).
pub async fn update_settings(
    d: &crate::Domain,
    actor: &crate::Actor,
    settings: TenantSettings,
) -> DomainResult<tenant::Model> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    crate::audit::require_admin(&d.db, actor, "tenant.update_settings", Some(actor.tenant.0))
        .await?;
    let current = get(&d.db, actor.tenant).await?;
    let mut row = current.clone().into_active_model();
    if let Some(name) = &settings.name {
        let name = crate::values::clean_text(name, 200)
            .map_err(|m| DomainError::invalid("name", m))?
            .ok_or_else(|| DomainError::invalid("name", "is required"))?;
        row.name = Set(name);
    }
    if let Some(region) = &settings.default_region {
        let region = Region::parse(region).map_err(|m| DomainError::invalid("defaultRegion", m))?;
        row.default_region = Set(region.code().to_string());
    }
    if let Some(tz) = &settings.timezone {
        tz.parse::<chrono_tz::Tz>().map_err(|_| {
            DomainError::invalid("timezone", format!("{tz:?} is not an IANA time zone"))
        })?;
        row.timezone = Set(tz.clone());
    }
    if let Some(statuses) = &settings.client_statuses {
        let list = crate::clients::fields::label_list("clientStatuses", statuses, 50)?;
        if list.is_empty() {
            return Err(DomainError::invalid(
                "clientStatuses",
                "keep at least one status",
            ));
        }
        row.client_statuses = Set(StringList(list));
    }
    if let Some(stages) = &settings.funnel_stages {
        row.funnel_stages = Set(StringList(crate::clients::fields::label_list(
            "funnelStages",
            stages,
            50,
        )?));
    }
    let txn = d.begin_write().await?;
    let saved = row.update(&txn).await?;
    crate::audit::record(
        &txn,
        actor,
        "tenant.update_settings",
        Some(actor.tenant.0),
        crate::audit::Outcome::Allowed,
        serde_json::json!({
            "before": { "statuses": current.client_statuses, "funnelStages": current.funnel_stages,
                        "region": current.default_region, "timezone": current.timezone },
            "after": { "statuses": saved.client_statuses, "funnelStages": saved.funnel_stages,
                       "region": saved.default_region, "timezone": saved.timezone },
        }),
    )
    .await?;
    txn.commit().await?;
    // Webhooks route with the tenant's and its channels' settings: read them again.
    d.routes.changed();
    Ok(saved)
}

/// The tenant's region for phone numbers written without a country code.
pub fn region_of(tenant: &tenant::Model) -> Region {
    // Stored regions were validated on the way in; fall back to US rather than fail reads.
    Region::parse(&tenant.default_region)
        .unwrap_or_else(|_| Region::parse("US").expect("US is a region"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["demo", "acme-motors", "a1"] {
            assert!(validate_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "Demo", "-demo", "demo-", "de mo", "dé"] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }
}
