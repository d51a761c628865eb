//! Integration tests of the connectors against the local fakes (127.0.0.1 only).

mod common;
mod hubspot;
mod salesforce;
