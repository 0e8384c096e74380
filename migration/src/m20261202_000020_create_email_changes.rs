use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_accounts::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Changes of an account's address: a link to the new address confirms one, then a link
        // to the old address may undo it for a while. Tokens are stored as SHA-256 hex only.
        // The addresses are erased when the account is closed, and the row goes once no link
        // of it can work any more.
        manager
            .create_table(
                Table::create()
                    .table(EmailChanges::Table)
                    .col(pk_uuid(EmailChanges::Id))
                    .col(uuid(EmailChanges::AccountId))
                    .col(string_len_null(EmailChanges::OldEmail, 254))
                    .col(string_len_null(EmailChanges::NewEmail, 254))
                    .col(string_len_uniq(EmailChanges::ConfirmHash, 64))
                    // Set when the change is confirmed: the link mailed to the old address.
                    .col(
                        string_len_null(EmailChanges::RevertHash, 64)
                            .unique_key()
                            .take(),
                    )
                    .col(timestamp_with_time_zone(EmailChanges::CreatedAt))
                    // Until when the confirmation link works.
                    .col(timestamp_with_time_zone(EmailChanges::ExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailChanges::ConfirmedAt))
                    // Until when the revert link works.
                    .col(timestamp_with_time_zone_null(EmailChanges::RevertExpiresAt))
                    .col(timestamp_with_time_zone_null(EmailChanges::RevertedAt))
                    // Set when a newer request, a revert or the closure of the account made
                    // its links void.
                    .col(timestamp_with_time_zone_null(EmailChanges::VoidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_changes_account")
                            .from(EmailChanges::Table, EmailChanges::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_email_changes_account")
                    .table(EmailChanges::Table)
                    .col(EmailChanges::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailChanges::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum EmailChanges {
    Table,
    Id,
    AccountId,
    OldEmail,
    NewEmail,
    ConfirmHash,
    RevertHash,
    CreatedAt,
    ExpiresAt,
    ConfirmedAt,
    RevertExpiresAt,
    RevertedAt,
    VoidedAt,
}
