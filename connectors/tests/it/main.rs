//! Integration tests of the connectors against the local fakes (127.0.0.1 only).

mod common;
mod dynamics;
mod executor;
mod hubspot;
mod salesforce;
