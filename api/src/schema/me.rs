//! `me`: who the token says the caller is, and their tenant.

use super::{actor, domain};
use crate::error::ApiResult;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use clientele_domain::entities::tenant;
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
    /// Client statuses, in display order.
    pub client_statuses: Vec<String>,
    /// Funnel stages, in order.
    pub funnel_stages: Vec<String>,
    /// What Clientele does on its own with the people who write in.
    pub tracking: super::tracking::Tracking,
}

impl From<tenant::Model> for Tenant {
    fn from(t: tenant::Model) -> Self {
        let tracking = clientele_domain::tracking::effective(&t, None).into();
        Tenant {
            tracking,
            id: ID(t.id.to_string()),
            slug: t.slug,
            name: t.name,
            default_region: t.default_region,
            timezone: t.timezone,
            client_statuses: t.client_statuses.0,
            funnel_stages: t.funnel_stages.0,
        }
    }
}

/// Tenant settings to change; fields left out are kept.
#[derive(InputObject)]
pub struct TenantSettingsInput {
    pub name: Option<String>,
    pub default_region: Option<String>,
    pub timezone: Option<String>,
    pub client_statuses: Option<Vec<String>>,
    pub funnel_stages: Option<Vec<String>>,
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Changes the caller's tenant settings (admins; audited).
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: TenantSettingsInput,
    ) -> ApiResult<Tenant> {
        let saved = tenants::update_settings(
            domain(ctx),
            actor(ctx)?,
            tenants::TenantSettings {
                name: input.name,
                default_region: input.default_region,
                timezone: input.timezone,
                client_statuses: input.client_statuses,
                funnel_stages: input.funnel_stages,
            },
        )
        .await?;
        Ok(saved.into())
    }
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
            tenant: tenant.into(),
        })
    }
}
