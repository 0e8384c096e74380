use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::m20261128_000001_create_accounts::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Set while support has frozen the account: no sign-in, refresh or recovery.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(timestamp_with_time_zone_null(Lifecycle::SuspendedAt))
                    .to_owned(),
            )
            .await?;
        // What administrators did to someone's account, and why: the reason is free text, so
        // it lives here, beside the event that refers to it, and is erased with the account.
        manager
            .create_table(
                Table::create()
                    .table(AccountActions::Table)
                    .col(pk_uuid(AccountActions::Id))
                    .col(uuid(AccountActions::AccountId))
                    .col(uuid(AccountActions::ActorId))
                    .col(string_len(AccountActions::Action, 32))
                    .col(text_null(AccountActions::Reason))
                    .col(timestamp_with_time_zone(AccountActions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_actions_account")
                            .from(AccountActions::Table, AccountActions::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_actions_account")
                    .table(AccountActions::Table)
                    .col(AccountActions::AccountId)
                    .to_owned(),
            )
            .await?;
        // Administrators search by the last four digits of the SSN and by a prefix of the
        // family name, in any case.
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_ssn_last4")
                    .table(Accounts::Table)
                    .col(Lifecycle::SsnLast4)
                    .to_owned(),
            )
            .await?;
        let name_index = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE INDEX idx_accounts_last_name_lower ON accounts (lower(last_name) text_pattern_ops)"
            }
            _ => "CREATE INDEX idx_accounts_last_name_lower ON accounts (lower(last_name))",
        };
        manager
            .get_connection()
            .execute_unprepared(name_index)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_accounts_last_name_lower")
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_accounts_ssn_last4")
                    .table(Accounts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AccountActions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Lifecycle::SuspendedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Lifecycle {
    SuspendedAt,
    SsnLast4,
}

#[derive(DeriveIden)]
enum AccountActions {
    Table,
    Id,
    AccountId,
    ActorId,
    Action,
    Reason,
    CreatedAt,
}
