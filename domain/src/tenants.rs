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
