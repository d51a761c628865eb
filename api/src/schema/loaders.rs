//! Per-request DataLoaders: nested lists load in one query per list, not one per client.

use crate::error::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use clientele_domain::entities::{client, client_identity, client_note, meeting, survey_response};
use clientele_domain::preferences::{self, Preferences};
use clientele_domain::{Domain, TenantId, clients, identities, notes};
use std::collections::HashMap;
use uuid::Uuid;

/// Groups rows by client id.
fn by_client<T>(rows: Vec<T>, client: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(client(&row)).or_default().push(row);
    }
    map
}

/// Declares a loader of one kind of row by client id, for one tenant.
macro_rules! client_loader {
    ($(#[$doc:meta])* $name:ident, $model:ty, |$d:ident, $t:ident, $keys:ident| $load:expr) => {
        $(#[$doc])*
        pub struct $name {
            pub domain: Domain,
            pub tenant: TenantId,
        }

        impl Loader<Uuid> for $name {
            type Value = Vec<$model>;
            type Error = ApiError;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let ($d, $t, $keys) = (&self.domain, self.tenant, keys);
                let rows: Vec<$model> = $load.await?;
                Ok(by_client(rows, |r| r.client_id))
            }
        }
    };
}

client_loader!(
    /// Identities by client, primary first.
    IdentityLoader, client_identity::Model, |d, t, keys| identities::of_clients(&d.db, t, keys)
);
client_loader!(
    /// Notes by client, newest first.
    NoteLoader, client_note::Model, |d, t, keys| notes::notes_of(d, t, keys)
);
client_loader!(
    /// Meetings by client, latest first.
    MeetingLoader, meeting::Model, |d, t, keys| notes::meetings_of(d, t, keys)
);
client_loader!(
    /// Survey responses by client, latest first.
    SurveyLoader, survey_response::Model, |d, t, keys| notes::surveys_of(d, t, keys)
);

/// Clients by id (merged ids lead to the surviving client).
pub struct ClientLoader {
    pub domain: Domain,
    pub tenant: TenantId,
}

impl Loader<Uuid> for ClientLoader {
    type Value = client::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(clients::get_many(&self.domain, self.tenant, keys).await?)
    }
}

/// Communication preferences by client.
pub struct PreferencesLoader {
    pub domain: Domain,
    pub tenant: TenantId,
}

impl Loader<Uuid> for PreferencesLoader {
    type Value = Preferences;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(preferences::of_clients(&self.domain, self.tenant, keys).await?)
    }
}

/// Conversation count and latest conversation activity by client (one grouped query).
pub struct ConversationCountLoader {
    pub domain: Domain,
    pub tenant: TenantId,
}

impl Loader<Uuid> for ConversationCountLoader {
    type Value = clientele_domain::conversation_counts::ConversationCount;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(
            clientele_domain::conversation_counts::of_clients(&self.domain.db, self.tenant, keys)
                .await?,
        )
    }
}

/// This request's loader of `T`. Loaders are attached to every authenticated request; a
/// missing one is an internal error, never a panic.
pub fn loader<'a, T: Send + Sync + 'static>(
    ctx: &'a async_graphql::Context<'_>,
) -> crate::error::ApiResult<&'a DataLoader<T>> {
    ctx.data_opt::<DataLoader<T>>().ok_or_else(|| {
        tracing::error!(loader = std::any::type_name::<T>(), "data loader missing");
        ApiError(crate::error::coded(
            crate::error::INTERNAL,
            "internal error",
        ))
    })
}

/// Adds this request's loaders to its data.
pub fn attach(data: &mut async_graphql::Data, domain: &Domain, tenant: TenantId) {
    macro_rules! add {
        ($($loader:ident),*) => {$(
            data.insert(DataLoader::new(
                $loader {
                    domain: domain.clone(),
                    tenant,
                },
                tokio::spawn,
            ));
        )*};
    }
    add!(
        ClientLoader,
        IdentityLoader,
        NoteLoader,
        MeetingLoader,
        SurveyLoader,
        PreferencesLoader,
        ConversationCountLoader
    );
}
