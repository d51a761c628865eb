//! The `clientele` binary's library half: configuration, wiring and start-up, so that tests
//! start exactly the app operators run.

pub mod app;
pub mod config;
pub mod db;
pub mod telemetry;
pub mod workers;
