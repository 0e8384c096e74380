use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_reset_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose second factor is to be turned off.
    pub account_id: Uuid,
    /// The administrator who asked.
    pub requested_by: Uuid,
    /// Why; erased when the account is closed.
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    /// Unapproved by then, it lapses.
    pub expires_at: DateTimeUtc,
    /// The second administrator, who agreed.
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    /// The administrator who stopped it; null when it ended with the account.
    pub cancelled_by: Option<Uuid>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
