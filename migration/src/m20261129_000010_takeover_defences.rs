use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    m20261128_000001_create_accounts::Accounts, m20261128_000002_create_sessions::Sessions,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let account_columns = [
            // Rotated by every credential change: whatever started under an older stamp (an MFA
            // challenge, a sign-in whose password check was running) cannot finish.
            string_len(Takeover::SecurityStamp, 64)
                .default("")
                .to_owned(),
            // Second-factor failures in a row, across challenges and re-authentication.
            integer(Takeover::MfaFailedStreak).default(0).to_owned(),
            // Failures since the password was last reset: past 100, only a reset lets codes in.
            integer(Takeover::MfaFailuresTotal).default(0).to_owned(),
            // Lockouts in a row, which double the wait.
            integer(Takeover::MfaLockouts).default(0).to_owned(),
            timestamp_with_time_zone_null(Takeover::MfaLockedUntil),
        ];
        for mut column in account_columns {
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
            .alter_table(
                Table::alter()
                    .table(Takeover::MfaChallenges)
                    .add_column(string_len(Takeover::SecurityStamp, 64).default(""))
                    .to_owned(),
            )
            .await?;
        // When the session last proved its password (and second factor): sensitive changes
        // need it to be recent.
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(timestamp_with_time_zone_null(Takeover::ReauthenticatedAt))
                    .to_owned(),
            )
            .await?;
        // One row per backoff key, locked by every attempt for that key before it counts the
        // failures, so concurrent attempts for one address are counted one after another.
        manager
            .create_table(
                Table::create()
                    .table(Takeover::LoginBackoffLocks)
                    .col(string_len(Takeover::KeyHash, 64).primary_key())
                    .col(timestamp_with_time_zone(Takeover::TouchedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Takeover::LoginBackoffLocks).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Takeover::ReauthenticatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Takeover::MfaChallenges)
                    .drop_column(Takeover::SecurityStamp)
                    .to_owned(),
            )
            .await?;
        for column in [
            Takeover::SecurityStamp,
            Takeover::MfaFailedStreak,
            Takeover::MfaFailuresTotal,
            Takeover::MfaLockouts,
            Takeover::MfaLockedUntil,
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
enum Takeover {
    SecurityStamp,
    MfaFailedStreak,
    MfaFailuresTotal,
    MfaLockouts,
    MfaLockedUntil,
    MfaChallenges,
    ReauthenticatedAt,
    LoginBackoffLocks,
    KeyHash,
    TouchedAt,
}
