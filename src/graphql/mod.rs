//! The GraphQL API: schema, per-request context, guards, error mapping and resolvers. Resolvers
//! are thin: parse input, call one service function, map the result.

pub mod context;
mod errors;
mod guards;
mod metrics;
mod mutation;
mod query;
mod query_limits;
mod scalars;
mod schema;

pub use context::RequestContext;
pub use scalars::Date;
pub use schema::{AppSchema, build_schema, sdl};
