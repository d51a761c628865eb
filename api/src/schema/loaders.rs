//! Per-request DataLoaders: nested lists load in one query per list, not one per client.

use crate::error::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use clientele_domain::entities::{client_identity, client_note};
use clientele_domain::{Domain, TenantId, identities, notes};
use std::collections::HashMap;
use uuid::Uuid;

/// Identities by client id, for one tenant.
pub struct IdentityLoader {
    pub domain: Domain,
    pub tenant: TenantId,
}

impl Loader<Uuid> for IdentityLoader {
    type Value = Vec<client_identity::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = identities::of_clients(&self.domain.db, self.tenant, keys).await?;
        let mut map: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            map.entry(row.client_id).or_default().push(row);
        }
        Ok(map)
    }
}

/// Notes by client id, for one tenant.
pub struct NoteLoader {
    pub domain: Domain,
    pub tenant: TenantId,
}

impl Loader<Uuid> for NoteLoader {
    type Value = Vec<client_note::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = notes::notes_of(&self.domain, self.tenant, keys).await?;
        let mut map: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            map.entry(row.client_id).or_default().push(row);
        }
        Ok(map)
    }
}

/// Adds this request's loaders to its data.
pub fn attach(data: &mut async_graphql::Data, domain: &Domain, tenant: TenantId) {
    data.insert(DataLoader::new(
        IdentityLoader {
            domain: domain.clone(),
            tenant,
        },
        tokio::spawn,
    ));
    data.insert(DataLoader::new(
        NoteLoader {
            domain: domain.clone(),
            tenant,
        },
        tokio::spawn,
    ));
}
