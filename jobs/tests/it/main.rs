//! Integration tests of clientele-jobs: each test runs on a fresh SQLite file and, when
//! `TEST_DATABASE_URL` is set, on a fresh PostgreSQL database.

mod admin;
mod crash;
mod lifecycle;
mod running;
mod support;
