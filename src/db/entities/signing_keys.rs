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
    /// Set when a newer key took over signing; the public key stays published until every
    /// token it signed has expired.
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
