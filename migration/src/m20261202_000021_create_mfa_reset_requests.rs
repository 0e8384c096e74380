use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_accounts::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // An administrator's request to turn off someone's second factor, which a second
        // administrator approves. The reason is free text, so it lives here, beside the events
        // that refer to it, and is erased with the account.
        manager
            .create_table(
                Table::create()
                    .table(MfaResetRequests::Table)
                    .col(pk_uuid(MfaResetRequests::Id))
                    .col(uuid(MfaResetRequests::AccountId))
                    .col(uuid(MfaResetRequests::RequestedBy))
                    .col(text_null(MfaResetRequests::Reason))
                    .col(timestamp_with_time_zone(MfaResetRequests::CreatedAt))
                    .col(timestamp_with_time_zone(MfaResetRequests::ExpiresAt))
                    .col(uuid_null(MfaResetRequests::ApprovedBy))
                    .col(timestamp_with_time_zone_null(MfaResetRequests::ApprovedAt))
                    // Set by an administrator who stopped it, or when the account closed.
                    .col(uuid_null(MfaResetRequests::CancelledBy))
                    .col(timestamp_with_time_zone_null(MfaResetRequests::CancelledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mfa_reset_requests_account")
                            .from(MfaResetRequests::Table, MfaResetRequests::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mfa_reset_requests_account")
                    .table(MfaResetRequests::Table)
                    .col(MfaResetRequests::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MfaResetRequests::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MfaResetRequests {
    Table,
    Id,
    AccountId,
    RequestedBy,
    Reason,
    CreatedAt,
    ExpiresAt,
    ApprovedBy,
    ApprovedAt,
    CancelledBy,
    CancelledAt,
}
