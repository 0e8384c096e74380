//! Every instance keeps recently read account rows for a short while; on PostgreSQL, where
//! several instances share the database, each change to a row is announced to all of them on
//! the channel they already listen on for session changes. A trigger, not the code that
//! writes, makes the announcement, so no writer (another instance, a command, an operator's
//! own SQL) can change a row unheard. Writes that change nothing (row locks taken as
//! no-op updates) announce nothing. SQLite serves one instance, whose own writes tell its
//! cache; nothing changes there.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // The channel and message are the ones `db::session_changes` and
        // `cache::accounts` use.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE FUNCTION custodian_account_row_changed() RETURNS trigger
                 LANGUAGE plpgsql AS $$
                 BEGIN
                   PERFORM pg_notify('custodian_sessions', 'account-row:' || OLD.id::text);
                   RETURN NULL;
                 END $$;
                 CREATE TRIGGER accounts_row_updated AFTER UPDATE ON accounts
                   FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
                   EXECUTE FUNCTION custodian_account_row_changed();
                 CREATE TRIGGER accounts_row_deleted AFTER DELETE ON accounts
                   FOR EACH ROW EXECUTE FUNCTION custodian_account_row_changed();",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TRIGGER accounts_row_updated ON accounts;
                 DROP TRIGGER accounts_row_deleted ON accounts;
                 DROP FUNCTION custodian_account_row_changed();",
            )
            .await?;
        Ok(())
    }
}
