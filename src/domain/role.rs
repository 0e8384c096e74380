use async_graphql::Enum;
use sea_orm::{DeriveActiveEnum, EnumIter, sea_query::StringLen};
use serde::Serialize;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// A person with their own account: every account made by `register`.
    #[sea_orm(string_value = "USER")]
    User,
    /// An administrator: reviews identities, reads any account and the whole audit trail,
    /// and runs support's account lifecycle. Made with `custodian admin create`, or by
    /// another administrator through `setRole`.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Admin => "ADMIN",
        }
    }

    pub fn parse(claim: &str) -> Option<Self> {
        match claim {
            "USER" => Some(Self::User),
            "ADMIN" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Where an account's identity verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KycStatus {
    /// Waiting for an administrator's decision: every new account, and a decided one whose
    /// names, date of birth, SSN or address changed since.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// An administrator verified the identity.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// An administrator refused the identity; `kycReason` says why.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

impl KycStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
        }
    }

    /// The moves a reviewer may make: decide a pending case, or reopen one. Approved → pending
    /// also happens on its own when identity data changes after approval.
    pub fn may_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Pending, Self::Approved)
                | (Self::Pending, Self::Rejected)
                | (Self::Rejected, Self::Pending)
                | (Self::Approved, Self::Pending)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::KycStatus::{self, Approved, Pending, Rejected};

    #[test]
    fn kyc_transitions() {
        let all = [Pending, Approved, Rejected];
        let allowed = [
            (Pending, Approved),
            (Pending, Rejected),
            (Rejected, Pending),
            (Approved, Pending),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    KycStatus::may_become(from, to),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
    }
}
