use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(pk_uuid(Accounts::Id))
                    // Stored lower-cased, so this index makes addresses unique case-insensitively.
                    .col(string_len_uniq(Accounts::Email, 254))
                    .col(text(Accounts::PasswordHash))
                    .col(string_len(Accounts::FirstName, 100))
                    .col(string_len(Accounts::LastName, 100))
                    .col(string_len(Accounts::Role, 16).default("USER"))
                    .col(boolean(Accounts::EmailVerified).default(false))
                    .col(string_len(Accounts::KycStatus, 16).default("PENDING"))
                    .col(boolean(Accounts::MfaEnabled).default(false))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Accounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Accounts {
    Table,
    Id,
    Email,
    PasswordHash,
    FirstName,
    LastName,
    Role,
    EmailVerified,
    KycStatus,
    MfaEnabled,
    CreatedAt,
    UpdatedAt,
}
