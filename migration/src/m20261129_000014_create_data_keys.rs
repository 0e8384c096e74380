use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Envelope encryption: the keys that encrypt personal data and key every stored hash,
        // each sealed under the master key, which is never stored. The first start creates
        // them (or, on a database written before this table, adopts the master key as both).
        manager
            .create_table(
                Table::create()
                    .table(DataKeys::Table)
                    .col(string_len(DataKeys::Purpose, 16))
                    // The key's fingerprint, which every ciphertext under it names.
                    .col(string_len(DataKeys::Id, 32))
                    .col(text(DataKeys::Sealed))
                    .col(timestamp_with_time_zone(DataKeys::CreatedAt))
                    .primary_key(Index::create().col(DataKeys::Purpose).col(DataKeys::Id))
                    .to_owned(),
            )
            .await?;
        // One index key, ever: two instances starting together cannot both make one.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_data_keys_one_index ON data_keys (purpose) \
                 WHERE purpose = 'index'",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DataKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DataKeys {
    Table,
    Purpose,
    Id,
    Sealed,
    CreatedAt,
}
