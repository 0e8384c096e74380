use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `registration`, `login` or `second_factor`.
    pub kind: String,
    pub account_id: Option<Uuid>,
    /// The session that started a registration.
    pub session_id: Option<Uuid>,
    /// The MFA challenge a second step belongs to.
    pub mfa_challenge_id: Option<Uuid>,
    /// The ceremony state as the WebAuthn library serialises it (the challenge among it).
    pub state: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
