//! Clientele's rules: services over the entities. No HTTP, no GraphQL, no job runtime.
//!
//! Every service function takes the acting [`Actor`] (who, which tenant, which role) and
//! decides itself whether the actor may do what is asked; adapters only parse and map.

pub mod actor;
pub mod assistants;
pub mod audit;
pub mod automation;
pub mod channels;
pub mod clients;
pub mod contact_window;
pub mod conversation_counts;
pub mod conversations;
pub mod crm;
pub mod error;
pub mod events;
pub mod extraction;
pub mod identities;
pub mod instance;
pub mod notes;
pub mod notifications;
pub mod pagination;
pub mod preferences;
pub mod queue;
pub mod retention;
pub mod seed;
pub mod signature;
pub mod sms;
pub mod tenants;
pub mod timeline;
pub mod tracking;
pub mod usage;
pub mod values;

pub use actor::{Actor, Role};
pub use clientele_entities as entities;
pub use clientele_entities::{ClientId, TenantId};
pub use error::{DomainError, DomainResult};
pub use events::{DomainEvent, EventBus, InProcessBus, PgBus};

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use std::sync::Arc;

/// Everything a service needs: the database, the event bus, outbound delivery, the job
/// queue and the CRM settings.
#[derive(Clone)]
pub struct Domain {
    pub db: DatabaseConnection,
    pub events: Arc<dyn EventBus>,
    pub sender: Arc<dyn conversations::MessageSender>,
    pub queue: Arc<dyn queue::JobQueue>,
    /// How CRM connections are reached and their secrets sealed.
    pub crm: crm::CrmSettings,
    /// How outbound webhooks are sent and retried.
    pub webhooks: notifications::WebhookSettings,
    /// Where inbound messages go, as this process last read it.
    pub routes: Arc<conversations::Routes>,
}

impl Domain {
    /// A domain that logs outbound messages instead of delivering them and queues no jobs.
    pub fn new(db: DatabaseConnection, events: Arc<dyn EventBus>) -> Self {
        Self {
            db,
            events,
            sender: Arc::new(conversations::LogSender),
            queue: Arc::new(queue::NoQueue),
            crm: crm::CrmSettings::default(),
            webhooks: notifications::WebhookSettings::default(),
            routes: Arc::default(),
        }
    }

    /// Starts a write transaction. Every change goes through one, so a request that is
    /// cancelled (time limit, client gone) leaves nothing half-written. On SQLite it takes the
    /// write lock at `BEGIN`, so it waits for other writers instead of failing half-way.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }
}
