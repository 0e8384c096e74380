use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub created_at: DateTimeUtc,
    pub last_active_at: DateTimeUtc,
    /// Idle expiry: moves forward at every refresh, never past `absolute_expires_at`.
    pub expires_at: DateTimeUtc,
    pub absolute_expires_at: DateTimeUtc,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoke_reason: Option<String>,
    pub mfa_verified: bool,
    /// When the session last proved the password (and second factor where on).
    pub reauthenticated_at: Option<DateTimeUtc>,
    /// How the session was signed in: RFC 8176 `amr` values, space-separated.
    pub auth_methods: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
