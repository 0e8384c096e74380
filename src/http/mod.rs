//! HTTP: the router, middleware, cookies, the GraphQL endpoint and the REST wrappers.

mod argument_positions;
pub mod cookies;
mod error;
mod graphql;
mod graphql_params;
mod guards;
mod media_type;
mod metrics;
mod parsed_documents;
mod playground;
pub mod request;
mod rest;
pub mod router;
pub mod server;
pub mod trusted_documents;

pub use router::{HttpState, router};
