//! Black-box tests: a real server per test, over real HTTP, on a database of its own. Every
//! test that touches the database runs on SQLite and, when `TEST_DATABASE_URL` is set, on
//! PostgreSQL too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod abuse;
mod audit;
mod auth;
mod binary;
mod cli;
mod data_protection;
mod email_change;
mod errors;
mod first_hour;
mod http_spec;
mod instances;
mod keys;
mod lifecycle;
mod limits;
mod mfa;
mod mfa_reset;
mod observability;
mod outage;
mod passkeys;
mod profile;
mod recovery;
mod rest;
mod retention;
mod schema;
mod session_cache;
mod sessions;
mod shutdown;
mod smtp;
mod takeover;
mod tokens;
mod trail;
mod transport;
mod trusted_documents;
mod walkthrough;
