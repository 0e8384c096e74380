//! SeaORM entities, one per table, mirroring `migration/`. They hold columns only: behaviour
//! lives in the per-table query modules and the services, and no entity is ever exposed in the
//! API (the edge builds the public shapes).

pub mod account_actions;
pub mod account_tokens;
pub mod accounts;
pub mod audit_chain_head;
pub mod audit_events;
pub mod data_keys;
pub mod email_changes;
pub mod kyc_reviews;
pub mod login_backoff_locks;
pub mod login_failures;
pub mod mail_outbox;
pub mod mfa_challenges;
pub mod mfa_reset_requests;
pub mod passkeys;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod sessions;
pub mod signing_keys;
pub mod ssn_reveals;
pub mod webauthn_ceremonies;
