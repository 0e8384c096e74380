use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// Base64url of the authenticator's credential id.
    #[sea_orm(unique)]
    pub credential_id: String,
    /// The credential as the WebAuthn library serialises it.
    pub credential: String,
    pub name: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The authenticator's signature counter at the latest use; 0 for authenticators that
    /// keep none.
    pub sign_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
