//! The GraphQL API, one module per area (each with its types, queries and mutations), plus the
//! schema that merges them, the per-request context, guards, limits and error mapping.
//! Resolvers are thin: parse input, call one use case, map the result.
//!
//! A resolver awaits its use case boxed (`.boxed()`). The engine compiles every resolver of
//! the root, with its guards, into one future sized for the largest, and allocates that for
//! each operation for as long as it runs: unboxed, a sign-in waiting for a hashing thread
//! held the 11 KiB that registering needs.

mod account;
mod admin;
mod audit;
pub mod auth;
pub mod context;
mod email_change;
mod errors;
mod guards;
mod lifecycle;
pub mod metrics;
mod mfa;
mod mfa_reset;
mod passkeys;
mod query_limits;
mod recovery;
mod scalars;
mod schema;
mod sessions;

pub use context::RequestContext;
pub use query_limits::check_document;
pub use scalars::Date;
pub use schema::{AppSchema, ValidationRules, build_schema, sdl};
