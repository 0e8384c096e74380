use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_accounts::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Every time an administrator read a full SSN, and why: the reason is free text, so it
        // lives here, beside the `ssn.revealed` event that refers to it, and is erased with
        // the account.
        manager
            .create_table(
                Table::create()
                    .table(SsnReveals::Table)
                    .col(pk_uuid(SsnReveals::Id))
                    .col(uuid(SsnReveals::AccountId))
                    .col(uuid(SsnReveals::ActorId))
                    .col(text_null(SsnReveals::Reason))
                    .col(timestamp_with_time_zone(SsnReveals::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ssn_reveals_account")
                            .from(SsnReveals::Table, SsnReveals::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SsnReveals::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SsnReveals {
    Table,
    Id,
    AccountId,
    ActorId,
    Reason,
    CreatedAt,
}
