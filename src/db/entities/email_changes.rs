use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// The address the account had when the change was asked for; erased with the account.
    pub old_email: Option<String>,
    /// The address asked for; erased with the account.
    pub new_email: Option<String>,
    #[sea_orm(unique)]
    pub confirm_hash: String,
    #[sea_orm(unique)]
    pub revert_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub revert_expires_at: Option<DateTimeUtc>,
    pub reverted_at: Option<DateTimeUtc>,
    pub voided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
