//! Custodian: identity and account service for finance applications, served as GraphQL.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// Short-lived in-process caches on the authenticated read path.
pub mod cache;
/// Command line: `serve`, `migrate`, `schema`, `admin create`, `audit verify`, `keys rotate`.
pub mod cli;
/// Clock abstraction so tests can move past expiries without sleeping.
pub mod clock;
/// Settings from defaults, `custodian.toml` and `CUSTODIAN_*` variables.
pub mod config;
/// Encryption at rest, random tokens and their hashes.
pub mod crypto;
/// Entities and per-table queries over SeaORM (SQLite and PostgreSQL).
pub mod db;
/// Domain types: every input is parsed into one of these at the edge.
pub mod domain;
/// The service-layer error, mapped once to GraphQL and once to HTTP.
pub mod error;
/// GraphQL schema, resolvers, guards and error mapping.
pub mod graphql;
/// Axum router, middleware, cookies and REST wrappers.
pub mod http;
/// Rate limits per field, in memory or shared through Redis.
pub mod limits;
/// Outgoing email: templates, a delivery queue with retries, and the transports.
pub mod mail;
/// Prometheus metrics served at `/metrics`.
pub mod metrics;
/// Business rules: accounts, credentials, sessions and tokens.
pub mod services;
/// Building and running the server.
pub mod startup;
/// Shared application state handed to every request.
pub mod state;
/// Tracing subscriber set-up.
pub mod telemetry;
