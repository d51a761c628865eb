//! End-to-end tests: the real app on 127.0.0.1:0, GraphQL over HTTP and WebSocket.
//!
//! On SQLite by default (one database file per app); with `TEST_DATABASE_URL=postgres://...`
//! the same tests run on PostgreSQL, in one fresh database per run, isolated by tenant.

mod assistants;
mod auth;
mod binary;
mod client_ops;
mod client_record;
mod clients;
mod conversation_list;
mod conversations;
mod crm;
mod csv;
mod extraction;
mod health;
mod helpers;
mod limits;
mod merge;
mod notifications;
pub(crate) mod realtime;
mod retention;
mod schema;
mod tracking;
mod usage;
