//! Shared subscriptions: WebSocket subscribers of one tenant and role that send the same
//! subscription (query text, operation name and variables) share one execution of it. Each
//! event is resolved once per group and handed to every member, instead of once per
//! subscriber; 1,000 agents watching `messageAdded` cost one resolution per message, not 1,000.
//!
//! The group runs under a neutral actor with the members' tenant and role and no user of its
//! own, so nothing one user may see reaches another: the key holds everything a resolver of a
//! subscription may depend on (tenant, role, request), and no resolver gets a member's identity.
//! Queries and mutations sent over a socket are never shared.
//!
//! A member that falls more than the buffer behind gets `RATE_LIMITED` and its subscription
//! ends; the group and the other members go on. When the last member leaves, the group's
//! execution stops at once (it does not wait for another event).

use crate::error::{RATE_LIMITED, coded};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, Executor, Pos, Request, Response};
use clientele_domain::{Actor, Role, TenantId};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast};

/// The user id of the actor a shared subscription runs as.
pub const SHARED_USER_ID: &str = "system:shared-subscription";

/// What makes two subscriptions the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GroupKey {
    tenant: TenantId,
    role: Role,
    query: String,
    operation_name: Option<String>,
    /// The variables as JSON (in the order the client sent them).
    variables: String,
}

struct Group {
    id: u64,
    tx: broadcast::Sender<Arc<Response>>,
    members: usize,
    /// Told when the last member leaves.
    stop: Arc<Notify>,
}

/// Builds the session data a group executes with, for its neutral actor.
pub type SessionData = Arc<dyn Fn(&Actor) -> Data + Send + Sync>;

/// The shared subscriptions of one process.
pub struct Hub<E> {
    executor: E,
    session: SessionData,
    buffer: usize,
    groups: Mutex<HashMap<GroupKey, Group>>,
    next_id: AtomicU64,
}

impl<E: Executor> Hub<E> {
    /// `buffer`: events a member may fall behind before it is told and dropped.
    pub fn new(executor: E, session: SessionData, buffer: usize) -> Arc<Self> {
        Arc::new(Hub {
            executor,
            session,
            buffer: buffer.max(1),
            groups: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        })
    }

    /// An executor for one connection; `actor` is set once the connection is authenticated.
    pub fn connection(self: &Arc<Self>, actor: Arc<OnceLock<Actor>>) -> ConnectionExecutor<E> {
        ConnectionExecutor {
            hub: self.clone(),
            actor,
        }
    }

    /// Live groups.
    #[cfg(test)]
    fn groups(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<GroupKey, Group>> {
        // Every change to the map is a single insert, remove or counter step: a panic
        // elsewhere cannot leave it inconsistent.
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn join(self: &Arc<Self>, actor: &Actor, request: Request) -> BoxStream<'static, Response> {
        let key = GroupKey {
            tenant: actor.tenant,
            role: actor.role,
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
        };
        let mut groups = self.lock();
        let (id, rx) = match groups.get_mut(&key) {
            Some(group) => {
                group.members += 1;
                (group.id, group.tx.subscribe())
            }
            None => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let (tx, rx) = broadcast::channel(self.buffer);
                let stop = Arc::new(Notify::new());
                groups.insert(
                    key.clone(),
                    Group {
                        id,
                        tx: tx.clone(),
                        members: 1,
                        stop: stop.clone(),
                    },
                );
                let shared = Actor {
                    user_id: SHARED_USER_ID.into(),
                    name: "shared subscription".into(),
                    tenant: actor.tenant,
                    role: actor.role,
                };
                let inner = self
                    .executor
                    .execute_stream(request, Some(Arc::new((self.session)(&shared))));
                tokio::spawn(run_group(self.clone(), key.clone(), id, inner, tx, stop));
                (id, rx)
            }
        };
        drop(groups);
        member_stream(
            rx,
            Membership {
                hub: self.clone(),
                key,
                id,
            },
        )
    }

    /// Removes the group `id` under `key` if it is still there.
    fn forget(&self, key: &GroupKey, id: u64) {
        let mut groups = self.lock();
        if groups.get(key).is_some_and(|g| g.id == id) {
            groups.remove(key);
        }
    }
}

/// Runs a group's execution until it ends or its last member leaves; then the group is
/// forgotten and its members' streams end once they have read what was sent.
async fn run_group<E: Executor>(
    hub: Arc<Hub<E>>,
    key: GroupKey,
    id: u64,
    mut inner: BoxStream<'static, Response>,
    tx: broadcast::Sender<Arc<Response>>,
    stop: Arc<Notify>,
) {
    loop {
        tokio::select! {
            _ = stop.notified() => break,
            item = inner.next() => match item {
                // No receiver means every member left; `stop` says so next.
                Some(response) => drop(tx.send(Arc::new(response))),
                None => break,
            },
        }
    }
    hub.forget(&key, id);
}

/// One member of a group; leaving (dropping it) stops the group when it was the last.
struct Membership<E: Executor> {
    hub: Arc<Hub<E>>,
    key: GroupKey,
    id: u64,
}

impl<E: Executor> Drop for Membership<E> {
    fn drop(&mut self) {
        let mut groups = self.hub.lock();
        if let Some(group) = groups.get_mut(&self.key)
            && group.id == self.id
        {
            group.members -= 1;
            if group.members == 0 {
                let group = groups.remove(&self.key).expect("present above");
                group.stop.notify_one();
            }
        }
    }
}

fn member_stream<E: Executor>(
    rx: broadcast::Receiver<Arc<Response>>,
    membership: Membership<E>,
) -> BoxStream<'static, Response> {
    stream::unfold(Some((rx, membership)), |state| async move {
        let (mut rx, membership) = state?;
        match rx.recv().await {
            Ok(shared) => Some((copy(&shared), Some((rx, membership)))),
            Err(RecvError::Lagged(missed)) => {
                let error = coded(
                    RATE_LIMITED,
                    format!(
                        "this subscriber fell behind and missed {missed} events; resubscribe and reload"
                    ),
                );
                let response = Response::from_errors(vec![error.into_server_error(Pos::default())]);
                Some((response, None))
            }
            Err(RecvError::Closed) => None,
        }
    })
    .boxed()
}

fn copy(response: &Response) -> Response {
    let mut out = Response::new(response.data.clone());
    out.extensions = response.extensions.clone();
    out.errors = response.errors.clone();
    out
}

/// Whether `request` is a subscription (only those are shared).
fn is_subscription(request: &Request) -> bool {
    if !request.uploads.is_empty() || !request.extensions.is_empty() {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let operation = match (&document.operations, &request.operation_name) {
        (DocumentOperations::Single(op), None) => Some(op),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.is_some_and(|op| op.node.ty == OperationType::Subscription)
}

/// The executor of one WebSocket connection: subscriptions join their group, everything else
/// runs as usual with the connection's own data.
pub struct ConnectionExecutor<E> {
    hub: Arc<Hub<E>>,
    actor: Arc<OnceLock<Actor>>,
}

impl<E> Clone for ConnectionExecutor<E> {
    fn clone(&self) -> Self {
        ConnectionExecutor {
            hub: self.hub.clone(),
            actor: self.actor.clone(),
        }
    }
}

impl<E: Executor> Executor for ConnectionExecutor<E> {
    fn execute(&self, request: Request) -> impl Future<Output = Response> + Send {
        self.hub.executor.execute(request)
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match self.actor.get() {
            Some(actor) if is_subscription(&request) => self.hub.join(actor, request),
            _ => self.hub.executor.execute_stream(request, session_data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::Value;
    use std::sync::atomic::AtomicUsize;

    /// An executor whose streams replay what the test publishes (until a negative number),
    /// counting executions and live streams.
    #[derive(Clone)]
    struct Fake {
        events: broadcast::Sender<i32>,
        executions: Arc<AtomicUsize>,
        live: Arc<AtomicUsize>,
    }

    struct Live(Arc<AtomicUsize>);

    impl Drop for Live {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                events: broadcast::channel(64).0,
                executions: Arc::default(),
                live: Arc::default(),
            }
        }
    }

    impl Executor for Fake {
        async fn execute(&self, _: Request) -> Response {
            Response::new(Value::Null)
        }

        fn execute_stream(&self, _: Request, _: Option<Arc<Data>>) -> BoxStream<'static, Response> {
            self.executions.fetch_add(1, Ordering::SeqCst);
            self.live.fetch_add(1, Ordering::SeqCst);
            let live = Live(self.live.clone());
            let rx = self.events.subscribe();
            stream::unfold((rx, live), |(mut rx, live)| async move {
                // A negative number ends the execution.
                let n = rx.recv().await.ok().filter(|n| *n >= 0)?;
                Some((Response::new(Value::from(n)), (rx, live)))
            })
            .boxed()
        }
    }

    fn actor(tenant: TenantId, user: &str, role: Role) -> Arc<OnceLock<Actor>> {
        let cell = OnceLock::new();
        cell.set(Actor {
            user_id: user.into(),
            name: user.into(),
            tenant,
            role,
        })
        .unwrap();
        Arc::new(cell)
    }

    fn hub(fake: &Fake, buffer: usize) -> (Arc<Hub<Fake>>, Arc<Mutex<Vec<Actor>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let session: SessionData = Arc::new(move |actor: &Actor| {
            record.lock().unwrap().push(actor.clone());
            Data::default()
        });
        (Hub::new(fake.clone(), session, buffer), seen)
    }

    const SUB: &str = "subscription { messageAdded { id } }";

    /// `user` of `tenant` with `role` subscribes to `SUB` on a connection of their own.
    fn subscribe(
        hub: &Arc<Hub<Fake>>,
        tenant: TenantId,
        user: &str,
        role: Role,
    ) -> BoxStream<'static, Response> {
        hub.connection(actor(tenant, user, role))
            .execute_stream(Request::new(SUB), None)
    }

    async fn next(stream: &mut BoxStream<'static, Response>) -> Option<Value> {
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), stream.next())
            .await
            .expect("an item or the end within 5 s")?;
        Some(if r.errors.is_empty() {
            r.data
        } else {
            Value::from(r.errors[0].message.clone())
        })
    }

    /// Lets the group tasks run until they wait again.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn same_subscription_of_one_tenant_and_role_runs_once_for_all_members() {
        let fake = Fake::new();
        let (hub, seen) = hub(&fake, 16);
        let tenant = TenantId::new();
        let mut sa = subscribe(&hub, tenant, "ann", Role::Agent);
        let mut sb = subscribe(&hub, tenant, "bob", Role::Agent);
        assert_eq!(fake.executions.load(Ordering::SeqCst), 1);
        assert_eq!(hub.groups(), 1);
        settle().await;
        fake.events.send(7).unwrap();
        fake.events.send(8).unwrap();
        for s in [&mut sa, &mut sb] {
            assert_eq!(next(s).await, Some(Value::from(7)));
            assert_eq!(next(s).await, Some(Value::from(8)));
        }
        // The group ran as a neutral actor of the members' tenant and role, not as ann or bob.
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].user_id, SHARED_USER_ID);
        assert_eq!((seen[0].tenant, seen[0].role), (tenant, Role::Agent));
    }

    #[tokio::test]
    async fn tenants_roles_and_variables_each_get_their_own_execution() {
        let fake = Fake::new();
        let (hub, _) = hub(&fake, 16);
        let (t1, t2) = (TenantId::new(), TenantId::new());
        let mut streams = vec![
            subscribe(&hub, t1, "ann", Role::Agent),
            subscribe(&hub, t2, "ann", Role::Agent),
            subscribe(&hub, t1, "ann", Role::Admin),
            hub.connection(actor(t1, "ann", Role::Agent))
                .execute_stream(
                    Request::new("subscription($c: ID) { messageAdded(clientId: $c) { id } }")
                        .variables(async_graphql::Variables::from_json(
                            serde_json::json!({ "c": "x" }),
                        )),
                    None,
                ),
        ];
        assert_eq!(fake.executions.load(Ordering::SeqCst), 4);
        assert_eq!(hub.groups(), 4);
        settle().await;
        fake.events.send(1).unwrap();
        for s in &mut streams {
            assert_eq!(next(s).await, Some(Value::from(1)));
        }
    }

    #[tokio::test]
    async fn queries_and_mutations_over_a_socket_are_never_shared() {
        let fake = Fake::new();
        let (hub, _) = hub(&fake, 16);
        let tenant = TenantId::new();
        for query in [
            "{ me { userId } }",
            "mutation { addNote(clientId: \"x\", body: \"hi\") { id } }",
            "subscription A { messageAdded { id } } mutation B { x }",
        ] {
            for user in ["ann", "bob"] {
                let c = hub.connection(actor(tenant, user, Role::Admin));
                let request = Request::new(query);
                let request = if query.contains("mutation B") {
                    request.operation_name("B")
                } else {
                    request
                };
                drop(c.execute_stream(request, None));
            }
        }
        assert_eq!(fake.executions.load(Ordering::SeqCst), 6);
        assert_eq!(hub.groups(), 0);
    }

    #[tokio::test]
    async fn a_connection_not_yet_authenticated_is_not_shared() {
        let fake = Fake::new();
        let (hub, seen) = hub(&fake, 16);
        let c = hub.connection(Arc::new(OnceLock::new()));
        drop(c.execute_stream(Request::new(SUB), None));
        assert_eq!(hub.groups(), 0);
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_last_member_leaving_stops_the_execution_at_once() {
        let fake = Fake::new();
        let (hub, _) = hub(&fake, 16);
        let tenant = TenantId::new();
        let a = subscribe(&hub, tenant, "ann", Role::Agent);
        let b = subscribe(&hub, tenant, "bob", Role::Agent);
        settle().await;
        drop(a);
        settle().await;
        assert_eq!(fake.live.load(Ordering::SeqCst), 1, "bob still listens");
        drop(b);
        settle().await;
        assert_eq!(
            fake.live.load(Ordering::SeqCst),
            0,
            "no event was needed to stop"
        );
        assert_eq!(hub.groups(), 0);
        // A later subscriber starts a new execution.
        let mut c = subscribe(&hub, tenant, "cy", Role::Agent);
        assert_eq!(fake.executions.load(Ordering::SeqCst), 2);
        settle().await;
        fake.events.send(3).unwrap();
        assert_eq!(next(&mut c).await, Some(Value::from(3)));
    }

    #[tokio::test]
    async fn a_member_that_falls_behind_is_told_and_dropped_while_others_go_on() {
        let fake = Fake::new();
        let (hub, _) = hub(&fake, 2);
        let tenant = TenantId::new();
        let mut slow = subscribe(&hub, tenant, "ann", Role::Agent);
        let mut quick = subscribe(&hub, tenant, "bob", Role::Agent);
        settle().await;
        for n in 0..5 {
            fake.events.send(n).unwrap();
            settle().await;
            assert_eq!(next(&mut quick).await, Some(Value::from(n)));
        }
        let told = next(&mut slow).await.expect("an error item");
        assert!(
            told.to_string().contains("fell behind and missed 3 events"),
            "{told}"
        );
        assert_eq!(next(&mut slow).await, None, "its subscription ended");
        fake.events.send(5).unwrap();
        assert_eq!(next(&mut quick).await, Some(Value::from(5)));
    }

    #[tokio::test]
    async fn when_the_execution_ends_every_member_gets_what_was_sent_and_then_the_end() {
        let fake = Fake::new();
        let (hub, _) = hub(&fake, 16);
        let tenant = TenantId::new();
        let mut a = subscribe(&hub, tenant, "ann", Role::Agent);
        let mut b = subscribe(&hub, tenant, "bob", Role::Agent);
        settle().await;
        fake.events.send(1).unwrap();
        settle().await;
        fake.events.send(-1).unwrap();
        for s in [&mut a, &mut b] {
            assert_eq!(next(s).await, Some(Value::from(1)));
            assert_eq!(next(s).await, None);
        }
        assert_eq!(hub.groups(), 0);
    }
}
