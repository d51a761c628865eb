//! `me`: who the token says the caller is, and their tenant.

use super::{actor, domain};
use crate::error::ApiResult;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use clientele_domain::{Role, tenants};

#[derive(Default)]
pub struct MeQuery;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Role")]
pub enum GqlRole {
    Viewer,
    Agent,
    Admin,
}

impl From<Role> for GqlRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => GqlRole::Viewer,
            Role::Agent => GqlRole::Agent,
            Role::Admin => GqlRole::Admin,
        }
    }
}

/// The authenticated user.
#[derive(SimpleObject)]
pub struct Me {
    pub user_id: String,
    pub name: String,
    pub role: GqlRole,
    pub tenant: Tenant,
}

/// The caller's tenant.
#[derive(SimpleObject)]
pub struct Tenant {
    pub id: ID,
    pub slug: String,
    pub name: String,
    /// Region used to read phone numbers written without a country code.
    pub default_region: String,
    pub timezone: String,
}

#[Object]
impl MeQuery {
    /// The caller, as their token names them.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Me> {
        let actor = actor(ctx)?;
        let tenant = tenants::get(&domain(ctx).db, actor.tenant).await?;
        Ok(Me {
            user_id: actor.user_id.clone(),
            name: actor.name.clone(),
            role: actor.role.into(),
            tenant: Tenant {
                id: ID(tenant.id.to_string()),
                slug: tenant.slug,
                name: tenant.name,
                default_region: tenant.default_region,
                timezone: tenant.timezone,
            },
        })
    }
}
