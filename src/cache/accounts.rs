//! Account rows read recently, so that `me` and the administrator's role check need no
//! database round trip on every request.
//!
//! Every write to a row drops it: this instance's own writes when they commit (the storage
//! functions that write `accounts` tell their unit of work which account they changed), and
//! on PostgreSQL every write by anyone, through a trigger that announces the row on the
//! channel every instance listens on. Rows are used only to show an account and to check a
//! role, never to decide a write: writes read the row inside their own transaction. See
//! [`super::trusted`] for the rules that keep the cache true.

use super::trusted::Trusted;
use crate::domain::AccountId;

/// Accounts kept at most.
pub const CAPACITY: usize = 10_000;

/// How the database trigger announces a changed row (migration 23).
const ROW_CHANGED: &str = "account-row:";

/// The cache of account rows, `A` being the row as storage reads it.
pub type KnownAccounts<A> = Trusted<AccountId, A>;

/// The account whose row an announcement says changed.
pub fn changed_row(text: &str) -> Option<AccountId> {
    let id = text.strip_prefix(ROW_CHANGED)?;
    uuid::Uuid::parse_str(id).ok().map(AccountId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_names_the_row() {
        let id = AccountId::generate();
        assert_eq!(changed_row(&format!("account-row:{}", id.0)), Some(id));
        assert_eq!(changed_row("account-row:nope"), None);
        assert_eq!(changed_row(&format!("account:{}", id.0)), None);
    }
}
