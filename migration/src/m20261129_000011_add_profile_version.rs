use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_create_accounts::Accounts;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Moves with every change to a field KYC reviews, so a decision names what it saw.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(integer(ProfileVersion::ProfileVersion).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(ProfileVersion::ProfileVersion)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ProfileVersion {
    ProfileVersion,
}
