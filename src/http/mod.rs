//! HTTP: the router, middleware, cookies, the GraphQL endpoint and the REST wrappers.

pub mod cookies;
mod error;
mod graphql;
mod guards;
mod metrics;
mod playground;
pub mod request;
mod rest;
pub mod router;

pub use router::{HttpState, router};
