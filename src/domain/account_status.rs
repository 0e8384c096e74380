use async_graphql::Enum;
use serde::Serialize;

/// Whether an account can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    /// In use: its owner signs in as usual.
    Active,
    /// Frozen by support (`suspendAccount`): no sign-in, token refresh or password reset
    /// until `reactivateAccount`.
    Suspended,
    /// Closed by its owner (`deleteAccount`): personal data erased, for good.
    Closed,
}

impl AccountStatus {
    /// A closed account stays closed whatever else is recorded of it.
    pub fn of(closed: bool, suspended: bool) -> Self {
        match (closed, suspended) {
            (true, _) => Self::Closed,
            (false, true) => Self::Suspended,
            (false, false) => Self::Active,
        }
    }
}
