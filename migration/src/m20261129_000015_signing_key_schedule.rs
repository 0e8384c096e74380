use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A rotated key is published before it signs: it signs from `activates_at` (null: from
        // its creation). A revoked key neither signs nor verifies, and leaves the JWKS.
        for column in [SigningKeys::ActivatesAt, SigningKeys::RevokedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SigningKeys::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [SigningKeys::ActivatesAt, SigningKeys::RevokedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SigningKeys::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    ActivatesAt,
    RevokedAt,
}
