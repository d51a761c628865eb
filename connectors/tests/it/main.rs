//! Integration tests of the connectors against the local fakes (127.0.0.1 only).

mod common;
mod dynamics;
mod hubspot;
mod salesforce;
