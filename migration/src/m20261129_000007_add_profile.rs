use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_accounts::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        let columns = [
            // E.164.
            string_len_null(Profile::Phone, 20),
            string_len_null(Profile::Address, 200),
            string_len_null(Profile::City, 100),
            string_len_null(Profile::State, 64),
            string_len_null(Profile::PostalCode, 16),
            // ISO 3166-1 alpha-2 and ISO 4217.
            string_len_null(Profile::Country, 2),
            string_len_null(Profile::DefaultCurrency, 3),
            // AES-256-GCM ciphertexts under the encryption key.
            text_null(Profile::DateOfBirth),
            text_null(Profile::Ssn),
            // HMAC-SHA-256 of the SSN under a key derived from the encryption key: uniqueness
            // without the plaintext.
            string_len_null(Profile::SsnIndex, 64),
            string_len_null(Profile::SsnLast4, 4),
            // The latest KYC decision's reason, shown to the person.
            text_null(Profile::KycReason),
            timestamp_with_time_zone_null(Profile::DeletedAt),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_ssn_index")
                    .table(Accounts::Table)
                    .col(Profile::SsnIndex)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_kyc_status")
                    .table(Accounts::Table)
                    .col(Accounts::KycStatus)
                    .col(Accounts::Id)
                    .to_owned(),
            )
            .await?;
        // Every KYC status change, with its reason: the reason is free text an administrator
        // typed, so it lives here and not in the audit trail, and is erased with the account.
        manager
            .create_table(
                Table::create()
                    .table(KycReviews::Table)
                    .col(pk_uuid(KycReviews::Id))
                    .col(uuid(KycReviews::AccountId))
                    // Null when the change was automatic (a profile change after approval).
                    .col(uuid_null(KycReviews::ActorId))
                    .col(string_len(KycReviews::FromStatus, 16))
                    .col(string_len(KycReviews::ToStatus, 16))
                    .col(text_null(KycReviews::Reason))
                    .col(timestamp_with_time_zone(KycReviews::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_kyc_reviews_account")
                            .from(KycReviews::Table, KycReviews::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_kyc_reviews_account")
                    .table(KycReviews::Table)
                    .col(KycReviews::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KycReviews::Table).to_owned())
            .await?;
        for index in ["idx_accounts_kyc_status", "idx_accounts_ssn_index"] {
            manager
                .drop_index(Index::drop().name(index).table(Accounts::Table).to_owned())
                .await?;
        }
        for column in [
            Profile::Phone,
            Profile::Address,
            Profile::City,
            Profile::State,
            Profile::PostalCode,
            Profile::Country,
            Profile::DefaultCurrency,
            Profile::DateOfBirth,
            Profile::Ssn,
            Profile::SsnIndex,
            Profile::SsnLast4,
            Profile::KycReason,
            Profile::DeletedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Profile {
    Phone,
    Address,
    City,
    State,
    PostalCode,
    Country,
    DefaultCurrency,
    DateOfBirth,
    Ssn,
    SsnIndex,
    SsnLast4,
    KycReason,
    DeletedAt,
}

#[derive(DeriveIden)]
enum KycReviews {
    Table,
    Id,
    AccountId,
    ActorId,
    FromStatus,
    ToStatus,
    Reason,
    CreatedAt,
}
