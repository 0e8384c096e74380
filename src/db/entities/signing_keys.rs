use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    /// The `kid` in token headers and the JWKS.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub algorithm: String,
    /// Encrypted at rest under the encryption key, bound to this row's id.
    pub private_key: String,
    /// Base64url of the raw public key (the JWK `x`).
    pub public_key: String,
    pub created_at: DateTimeUtc,
    /// When a newer key takes over signing (ahead of time, at the newer key's activation); the
    /// public key stays published until every token it signed has expired.
    pub retired_at: Option<DateTimeUtc>,
    /// When it starts signing, once relying parties have had time to fetch it; `None`: from
    /// its creation.
    pub activates_at: Option<DateTimeUtc>,
    /// Set by `custodian keys revoke`: it neither signs nor verifies, and leaves the JWKS.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
