use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    clock::SharedClock,
    config::Settings,
    crypto::{envelope::DataKeys, keyring::Keyring, passwords::PasswordHasher},
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
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
