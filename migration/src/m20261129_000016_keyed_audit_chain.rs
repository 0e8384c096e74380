use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every column of `audit_events` but the two erasable ones: what an update must leave alone.
const FIXED_COLUMNS: [&str; 13] = [
    "id",
    "seq",
    "at",
    "kind",
    "outcome",
    "actor_id",
    "subject_id",
    "session_id",
    "request_id",
    "details",
    "prev_hash",
    "hash",
    "client_commitment",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The chained record commits to the client's address and agent by a keyed hash; the
        // values beside it can then be erased without breaking the chain.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(string_len_null(AuditEvents::ClientCommitment, 64))
                    .to_owned(),
            )
            .await?;
        // The head's keyed seal over its position and link: a trail cut short cannot be given
        // a head that verifies without the key.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditChainHead::Table)
                    .add_column(string_len_null(AuditChainHead::Seal, 64))
                    .to_owned(),
            )
            .await?;
        // A row here, inside one transaction, is the one way past the triggers below: it is
        // used once, to key a trail written before this migration, and no other code writes it.
        manager
            .create_table(
                Table::create()
                    .table(AuditMaintenance::Table)
                    .col(integer(AuditMaintenance::Id).primary_key())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let unchanged = |same: &str| {
            FIXED_COLUMNS
                .iter()
                .map(|column| format!("NEW.{column} {same} OLD.{column}"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       IF EXISTS (SELECT 1 FROM audit_maintenance) THEN
                         RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
                       END IF;
                       IF TG_OP = 'UPDATE' AND NEW.ip_address IS NULL AND NEW.user_agent IS NULL
                          AND {} THEN
                         RETURN NEW;
                       END IF;
                       RAISE EXCEPTION 'audit_events is append-only: only ip_address and user_agent may be erased';
                     END $$;
                     CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
                       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
                     CREATE FUNCTION audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                       RAISE EXCEPTION 'audit_events is append-only';
                     END $$;
                     CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
                       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate();",
                    unchanged("IS NOT DISTINCT FROM")
                ))
                .await?;
            }
            _ => {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                     WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance)
                     BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
                     CREATE TRIGGER audit_events_erase_only BEFORE UPDATE ON audit_events
                     WHEN NOT EXISTS (SELECT 1 FROM audit_maintenance) AND NOT (
                       NEW.ip_address IS NULL AND NEW.user_agent IS NULL AND {})
                     BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: only ip_address and user_agent may be erased'); END;",
                    unchanged("IS")
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER audit_events_no_truncate ON audit_events;
                     DROP FUNCTION audit_events_no_truncate();
                     DROP TRIGGER audit_events_append_only ON audit_events;
                     DROP FUNCTION audit_events_append_only();",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_events_erase_only;",
                )
                .await?;
            }
        }
        manager
            .drop_table(Table::drop().table(AuditMaintenance::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditChainHead::Table)
                    .drop_column(AuditChainHead::Seal)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::ClientCommitment)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ClientCommitment,
}

#[derive(DeriveIden)]
enum AuditChainHead {
    Table,
    Seal,
}

#[derive(DeriveIden)]
enum AuditMaintenance {
    Table,
    Id,
}
