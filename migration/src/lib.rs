//! Database migrations for Custodian. One change per file; a file never changes once it has
//! landed, so every database that ran it agrees with every other.
pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_accounts;
mod m20261128_000002_create_sessions;
mod m20261128_000003_create_refresh_tokens;
mod m20261128_000004_create_signing_keys;
mod m20261129_000005_create_audit_events;
mod m20261129_000006_create_account_tokens;
mod m20261129_000007_add_profile;
mod m20261129_000008_add_mfa;
mod m20261129_000009_create_login_failures;
mod m20261129_000010_takeover_defences;
mod m20261129_000011_add_profile_version;
mod m20261129_000012_canonical_emails;
mod m20261129_000013_create_ssn_reveals;
mod m20261129_000014_create_data_keys;
mod m20261129_000015_signing_key_schedule;
mod m20261129_000016_keyed_audit_chain;
mod m20261130_000017_create_mail_outbox;
mod m20261201_000018_unlocked_audit_appends;
mod m20261202_000019_account_lifecycle;
mod m20261202_000020_create_email_changes;
mod m20261202_000021_create_mfa_reset_requests;
mod m20261203_000022_passkeys;
mod m20261204_000023_account_row_notifications;

/// The ordered list of migrations, applied by `custodian migrate up` and at every start.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_accounts::Migration),
            Box::new(m20261128_000002_create_sessions::Migration),
            Box::new(m20261128_000003_create_refresh_tokens::Migration),
            Box::new(m20261128_000004_create_signing_keys::Migration),
            Box::new(m20261129_000005_create_audit_events::Migration),
            Box::new(m20261129_000006_create_account_tokens::Migration),
            Box::new(m20261129_000007_add_profile::Migration),
            Box::new(m20261129_000008_add_mfa::Migration),
            Box::new(m20261129_000009_create_login_failures::Migration),
            Box::new(m20261129_000010_takeover_defences::Migration),
            Box::new(m20261129_000011_add_profile_version::Migration),
            Box::new(m20261129_000012_canonical_emails::Migration),
            Box::new(m20261129_000013_create_ssn_reveals::Migration),
            Box::new(m20261129_000014_create_data_keys::Migration),
            Box::new(m20261129_000015_signing_key_schedule::Migration),
            Box::new(m20261129_000016_keyed_audit_chain::Migration),
            Box::new(m20261130_000017_create_mail_outbox::Migration),
            Box::new(m20261201_000018_unlocked_audit_appends::Migration),
            Box::new(m20261202_000019_account_lifecycle::Migration),
            Box::new(m20261202_000020_create_email_changes::Migration),
            Box::new(m20261202_000021_create_mfa_reset_requests::Migration),
            Box::new(m20261203_000022_passkeys::Migration),
            Box::new(m20261204_000023_account_row_notifications::Migration),
        ]
    }
}
