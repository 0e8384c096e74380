//! In-process caches on the authenticated read path. Each holds only what a database or a
//! signature check already said, keeps it briefly, and drops it the moment something that could
//! change the answer happens: a wrong answer costs a person's security, a missed entry only a
//! round trip.

pub mod accounts;
pub mod sessions;
pub mod tokens;
pub mod trusted;
