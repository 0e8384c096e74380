use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The position in the chain: 1, 2, 3… with no gaps; `None` while the event is pending
    /// (appended, not yet sealed into the chain).
    #[sea_orm(unique)]
    pub seq: Option<i64>,
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
    /// The link of the event before; `None` while pending.
    pub prev_hash: Option<String>,
    /// The event's link: a keyed hash of `prev_hash` and the record; `None` while pending.
    pub hash: Option<String>,
    /// A keyed hash of the IP address and user agent as recorded; `None` when there were none.
    pub client_commitment: Option<String>,
    /// A keyed MAC over the record, written with it, which the sealer checks before chaining
    /// the event; `None` on events written before events were appended pending.
    pub event_mac: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
