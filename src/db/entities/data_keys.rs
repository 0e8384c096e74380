use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_keys")]
pub struct Model {
    /// `encryption` (newest encrypts, all decrypt) or `index` (keys every stored hash).
    #[sea_orm(primary_key, auto_increment = false)]
    pub purpose: String,
    /// The key's fingerprint, named by every ciphertext under it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The key sealed under a master key, bound to its purpose and id.
    pub sealed: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
