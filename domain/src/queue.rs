//! What the domain asks of the background-job runtime, without depending on it: the app
//! plugs the real queue in; tools and some tests use [`NoQueue`].

use crate::TenantId;
use crate::entities::sync_run::SyncKind;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, InsertStatement};
use uuid::Uuid;

/// Where work that happens after a commit is handed over.
pub trait JobQueue: Send + Sync + 'static {
    /// An inbound message was committed and waits for extraction. An error is logged by the
    /// caller: the message stays pending and the worker's sweep picks it up later.
    fn message_stored(&self, tenant: TenantId, message: Uuid) -> BoxFuture<'_, Result<(), String>>;

    /// The insert that enqueues `message`'s extraction inside the caller's own statement or
    /// transaction, for a job store in the same database (in its dialect): the message and its
    /// job then commit together, one commit instead of two. With `only_if`, the job is
    /// inserted only when that condition holds. `None` (the default): enqueue after the commit
    /// with [`JobQueue::message_stored`].
    fn extraction_insert(
        &self,
        _tenant: TenantId,
        _message: Uuid,
        _only_if: Option<Expr>,
    ) -> Option<InsertStatement> {
        None
    }

    /// After the commit of a transaction that ran [`JobQueue::extraction_insert`]'s
    /// statement: wakes idle workers.
    fn extraction_committed(&self) {}

    /// A CRM sync of `kind` should run for `connection`. Returns the job id, or `None` when
    /// an equal job is already waiting.
    fn crm_sync(
        &self,
        tenant: TenantId,
        connection: Uuid,
        kind: SyncKind,
    ) -> BoxFuture<'_, Result<Option<String>, String>>;

    /// A webhook delivery is due now (a redelivery). Without a queue the workers' relay
    /// finds it due anyway.
    fn webhook_due(&self, _tenant: TenantId, _delivery: Uuid) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Hands nothing over: messages stay pending until something processes them.
pub struct NoQueue;

impl JobQueue for NoQueue {
    fn message_stored(&self, _: TenantId, _: Uuid) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn crm_sync(
        &self,
        _: TenantId,
        _: Uuid,
        _: SyncKind,
    ) -> BoxFuture<'_, Result<Option<String>, String>> {
        Box::pin(async { Err("no job queue in this process".to_string()) })
    }
}
