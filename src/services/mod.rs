//! Business rules. GraphQL resolvers and REST handlers parse their input into domain types and
//! call exactly one function here, so the two can never disagree.

pub mod access_tokens;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod passwords;
pub mod sessions;
pub mod signing_keys;

use std::net::IpAddr;

use crate::domain::{AccountId, Role, SessionId};

/// Who is calling, from where, in which request: recorded on sessions and in the audit trail.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// `None` outside a request (the command line).
    pub request_id: Option<String>,
}

/// A signed-in caller whose session was active when the request was checked.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    pub account: AccountId,
    pub session: SessionId,
    pub role: Role,
}
