use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub seq: i64,
    pub at: DateTimeUtc,
    pub kind: String,
    pub outcome: String,
    pub actor_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// Erasable: outside the chained record, which holds `client_commitment` instead.
    pub ip_address: Option<String>,
    /// Erasable, like `ip_address`.
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
    pub prev_hash: String,
    /// The event's link: a keyed hash of `prev_hash` and the record.
    pub hash: String,
    /// A keyed hash of the IP address and user agent as recorded; `None` when there were none.
    pub client_commitment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
