use sea_orm_migration::{prelude::*, schema::*};

/// The hash a chain starts from: 64 zeros, the "previous hash" of the first event.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: the trail outlives the accounts and sessions it speaks of.
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    // Position in the chain: 1, 2, 3… with no gaps.
                    .col(big_integer_uniq(AuditEvents::Seq))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string_len(AuditEvents::Kind, 64))
                    .col(string_len(AuditEvents::Outcome, 16))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(uuid_null(AuditEvents::SubjectId))
                    .col(uuid_null(AuditEvents::SessionId))
                    .col(string_len_null(AuditEvents::IpAddress, 45))
                    .col(string_len_null(AuditEvents::UserAgent, 512))
                    .col(string_len_null(AuditEvents::RequestId, 64))
                    // JSON text, hashed exactly as stored.
                    .col(text(AuditEvents::Details))
                    .col(string_len(AuditEvents::PrevHash, 64))
                    .col(string_len(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_events_subject", AuditEvents::SubjectId),
            ("idx_audit_events_actor", AuditEvents::ActorId),
            ("idx_audit_events_kind", AuditEvents::Kind),
            ("idx_audit_events_at", AuditEvents::At),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(column)
                        .col(AuditEvents::Seq)
                        .to_owned(),
                )
                .await?;
        }
        // One row: the chain's last position and hash. Every append updates it inside the
        // appending transaction, which serialises appends on both databases.
        manager
            .create_table(
                Table::create()
                    .table(AuditChainHead::Table)
                    .col(integer(AuditChainHead::Id).primary_key())
                    .col(big_integer(AuditChainHead::Seq))
                    .col(string_len(AuditChainHead::Hash, 64))
                    .to_owned(),
            )
            .await?;
        let head = Query::insert()
            .into_table(AuditChainHead::Table)
            .columns([
                AuditChainHead::Id,
                AuditChainHead::Seq,
                AuditChainHead::Hash,
            ])
            .values([1.into(), 0i64.into(), GENESIS_HASH.into()])
            .map_err(|err| DbErr::Migration(err.to_string()))?
            .to_owned();
        manager.exec_stmt(head).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditChainHead::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Seq,
    At,
    Kind,
    Outcome,
    ActorId,
    SubjectId,
    SessionId,
    IpAddress,
    UserAgent,
    RequestId,
    Details,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditChainHead {
    Table,
    Id,
    Seq,
    Hash,
}
