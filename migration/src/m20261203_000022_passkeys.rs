use sea_orm_migration::{prelude::*, schema::*};

use crate::{
    m20261128_000001_create_accounts::Accounts, m20261128_000002_create_sessions::Sessions,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The user handle passkeys carry: random, made at the first registration, so an
        // authenticator never holds the account id or the email as its key. SQLite adds no
        // unique column, hence the index.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(uuid_null(Added::WebauthnUserId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_webauthn_user_id")
                    .table(Accounts::Table)
                    .col(Added::WebauthnUserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // How the session was signed in (RFC 8176 `amr` values, space-separated), so a refresh
        // issues the access token the sign-in did. Sessions that passed MFA so far passed it
        // with a code.
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(string_len(Added::AuthMethods, 32).default("pwd"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE sessions SET auth_methods = 'pwd otp' WHERE mfa_verified")
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(pk_uuid(Passkeys::Id))
                    .col(uuid(Passkeys::AccountId))
                    // Base64url, as authenticators name it: unique across every account.
                    .col(string_len_uniq(Passkeys::CredentialId, 1400))
                    // The credential as the WebAuthn library serialises it (public key,
                    // counter, flags): public, but only this service reads it.
                    .col(text(Passkeys::Credential))
                    .col(string_len(Passkeys::Name, 64))
                    .col(timestamp_with_time_zone(Passkeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(Passkeys::LastUsedAt))
                    .col(boolean(Passkeys::BackupEligible))
                    .col(boolean(Passkeys::BackedUp))
                    // The authenticator's signature counter, beside the credential so that a
                    // use moves it forward by a conditional update: one that does not is a
                    // clone.
                    .col(big_integer(Passkeys::SignCount))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_passkeys_account")
                            .from(Passkeys::Table, Passkeys::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_passkeys_account")
                    .table(Passkeys::Table)
                    .col(Passkeys::AccountId)
                    .to_owned(),
            )
            .await?;
        // A WebAuthn ceremony between its two calls, so any instance finishes what another
        // started: registration (tied to a session), sign-in (anonymous), or the second step
        // of a sign-in (tied to its MFA challenge). Used once, gone once expired.
        manager
            .create_table(
                Table::create()
                    .table(WebauthnCeremonies::Table)
                    .col(pk_uuid(WebauthnCeremonies::Id))
                    .col(string_len(WebauthnCeremonies::Kind, 16))
                    .col(uuid_null(WebauthnCeremonies::AccountId))
                    .col(uuid_null(WebauthnCeremonies::SessionId))
                    .col(uuid_null(WebauthnCeremonies::MfaChallengeId))
                    .col(text(WebauthnCeremonies::State))
                    .col(timestamp_with_time_zone(WebauthnCeremonies::CreatedAt))
                    .col(timestamp_with_time_zone(WebauthnCeremonies::ExpiresAt))
                    .col(timestamp_with_time_zone_null(WebauthnCeremonies::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webauthn_ceremonies_account")
                            .from(WebauthnCeremonies::Table, WebauthnCeremonies::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webauthn_ceremonies_session")
                            .from(WebauthnCeremonies::Table, WebauthnCeremonies::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webauthn_ceremonies_mfa_challenge")
                            .from(
                                WebauthnCeremonies::Table,
                                WebauthnCeremonies::MfaChallengeId,
                            )
                            .to(MfaChallenges::Table, MfaChallenges::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (
                "idx_webauthn_ceremonies_session",
                WebauthnCeremonies::SessionId,
            ),
            (
                "idx_webauthn_ceremonies_mfa_challenge",
                WebauthnCeremonies::MfaChallengeId,
            ),
            (
                "idx_webauthn_ceremonies_expires",
                WebauthnCeremonies::ExpiresAt,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(WebauthnCeremonies::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebauthnCeremonies::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Passkeys::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(Added::AuthMethods)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_accounts_webauthn_user_id")
                    .table(Accounts::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Added::WebauthnUserId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Added {
    WebauthnUserId,
    AuthMethods,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    AccountId,
    CredentialId,
    Credential,
    Name,
    CreatedAt,
    LastUsedAt,
    BackupEligible,
    BackedUp,
    SignCount,
}

#[derive(DeriveIden)]
enum WebauthnCeremonies {
    Table,
    Id,
    Kind,
    AccountId,
    SessionId,
    MfaChallengeId,
    State,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    Id,
}
