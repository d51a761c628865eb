//! Background jobs: apalis workers and schedules for message extraction and CRM
//! push / pull / activity sync, with persistent storage (SQLite by default, PostgreSQL in
//! production).
