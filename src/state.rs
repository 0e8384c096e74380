use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use sea_orm::DatabaseConnection;

use crate::{
    cache::{accounts::KnownAccounts, sessions::ActiveSessions, tokens::VerifiedTokens},
    clock::SharedClock,
    config::Settings,
    crypto::{envelope::DataKeys, keyring::Keyring, passwords::PasswordHasher},
    db::entities::accounts,
    limits::Limits,
    mail::Mailer,
    metrics::Metrics,
};

/// Everything a request needs, cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    /// The data keys: personal data and every keyed hash.
    pub keys: Arc<DataKeys>,
    pub passwords: PasswordHasher,
    pub keyring: Keyring,
    pub metrics: Metrics,
    pub mailer: Mailer,
    pub limits: Limits,
    /// The passkey relying party, built once from the settings.
    /// `None` when passkeys are off (see `config::PasskeySettings`).
    pub webauthn: Option<webauthn_rs::Webauthn>,
    /// Sessions known to be active: most authenticated requests need no session lookup.
    pub sessions: ActiveSessions,
    /// Account rows read recently: `me` and role checks need no account lookup.
    pub accounts: KnownAccounts<Arc<accounts::Model>>,
    /// Access tokens whose signature was checked: one verification per token, not per request.
    pub tokens: VerifiedTokens,
    /// Wakes this instance's audit sealer: a commit recorded events.
    pub seal_wanted: tokio::sync::Notify,
    /// Held by the pass that seals audit events on this instance, so passes do not queue on
    /// the chain head.
    pub sealing: tokio::sync::Mutex<()>,
    /// Set when shutdown begins: `/readyz` then answers 503 so load balancers move on.
    pub draining: AtomicBool,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Marks the start of shutdown.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
