//! Building the application from settings, and running it.

use std::{
    future::Future,
    net::SocketAddr,
    path::Path,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use anyhow::{Context, bail};
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

use crate::{
    cache::{self, accounts::KnownAccounts, sessions::ActiveSessions, tokens::VerifiedTokens},
    clock::SharedClock,
    config::{PasskeySettings, Settings},
    crypto::{EncryptionKey, envelope::MasterKeys, passwords::PasswordHasher},
    db,
    http::{
        HttpState, router,
        server::{self, Bounds},
        trusted_documents::TrustedDocuments,
    },
    limits::Limits,
    mail::Mailer,
    metrics::Metrics,
    services::{audit, data_keys, outbox, retention, session_changes, signing_keys},
    state::{AppState, Inner},
};

const GENERATED_KEY_FILE: &str = "encryption.key";
/// How often expired client data is erased.
const RETENTION_PASS: Duration = Duration::from_secs(3600);
/// How often signing keys are re-read: a revocation reaches every instance within this.
const SIGNING_KEY_RELOAD: Duration = Duration::from_secs(5);
/// How often data keys are re-read, in signing-key re-reads: a minute.
const DATA_KEY_RELOAD_EVERY: u64 = 12;
/// How long the last sealing pass at shutdown may take.
const FINAL_SEAL: Duration = Duration::from_secs(5);

/// A bound, ready-to-serve Custodian.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    router: Router,
}

impl Application {
    /// Connects, migrates, loads keys and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let listen = settings.server.listen;
        // Before anything else: a wrong manifest is the operator's to fix, not the database's.
        let documents = trusted_documents(&settings)?;
        let state = build_state(settings, clock).await?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (CUSTODIAN_LISTEN)"))?;
        let router = router(HttpState::new(state.clone(), documents));
        Ok(Self {
            listener,
            state,
            router,
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let reloader = tokio::spawn(reload_keys(self.state.clone()));
        let eraser = tokio::spawn(erase_expired_client_data(self.state.clone()));
        let mail = tokio::spawn(outbox::run(self.state.clone()));
        let sessions = tokio::spawn(session_changes::follow(self.state.clone()));
        let sealer = tokio::spawn(audit::sealer::run(self.state.clone()));
        let (began, draining) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        let signalled = async move {
            shutdown.await;
            state.begin_draining();
            tracing::info!("shutting down: no new connections; finishing requests in flight");
            let _ = began.send(());
        };
        let settings = &self.state.settings.server;
        let bounds = Bounds {
            header_timeout: settings.header_timeout,
            max_connections: settings.max_connections,
        };
        let served = server::serve(self.listener, self.router, bounds, signalled);
        let grace = self.state.settings.server.shutdown_grace;
        // In-flight requests get the grace period; whatever is left after it is cut off.
        let cut_off = async move {
            if draining.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let result = tokio::select! {
            () = served => Ok(()),
            () = cut_off => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period were cut off");
                Ok(())
            }
        };
        reloader.abort();
        eraser.abort();
        mail.abort();
        sessions.abort();
        sealer.abort();
        // The events of the last requests, sealed now rather than by the next instance.
        match tokio::time::timeout(FINAL_SEAL, audit::seal_now(&self.state)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::warn!(
                error = format!("{err:#}"),
                "cannot seal the last audit events; another instance, or the next, seals them"
            ),
            Err(_) => tracing::warn!(
                "the last audit events were not sealed in time; another instance, or the next, seals them"
            ),
        }
        result
    }
}

/// The manifest `CUSTODIAN_TRUSTED_DOCUMENTS` names, read and checked; none when unset.
fn trusted_documents(settings: &Settings) -> anyhow::Result<TrustedDocuments> {
    let config = &settings.server.trusted_documents;
    let Some(path) = &config.manifest else {
        return Ok(TrustedDocuments::none());
    };
    let documents = TrustedDocuments::load(path, config.only)?;
    tracing::info!(
        documents = documents.len(),
        only = config.only,
        "trusted documents loaded"
    );
    Ok(documents)
}

/// Erases expired client data and prunes expired rows, at start and then every hour.
async fn erase_expired_client_data(state: AppState) {
    let mut interval = tokio::time::interval(RETENTION_PASS);
    loop {
        interval.tick().await;
        match retention::erase_expired_client_data(&state).await {
            Ok(erased) if erased.events + erased.sessions > 0 => tracing::info!(
                events = erased.events,
                sessions = erased.sessions,
                "erased expired client data"
            ),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "cannot erase expired client data"),
        }
        match retention::prune(&state).await {
            Ok(deleted) => tracing::info!(
                deleted = ?deleted,
                "retention: deleted what no rule needs any more"
            ),
            Err(err) => tracing::warn!(error = %err, "cannot prune expired rows"),
        }
    }
}

/// Picks up keys added by other instances or by `custodian keys rotate`, `revoke` and
/// `rotate-data`.
async fn reload_keys(state: AppState) {
    let mut interval = tokio::time::interval(SIGNING_KEY_RELOAD);
    interval.tick().await;
    for tick in 1u64.. {
        interval.tick().await;
        if tick % DATA_KEY_RELOAD_EVERY == 0
            && let Err(err) = data_keys::reload(&state).await
        {
            tracing::warn!(error = format!("{err:#}"), "cannot reload data keys");
        }
        if signing_keys::reload(&state).await.is_err() {
            // A seed sealed under a data key this instance has not read yet: read them first.
            let retried = match data_keys::reload(&state).await {
                Ok(()) => signing_keys::reload(&state).await,
                Err(err) => Err(err),
            };
            if let Err(err) = retried {
                tracing::warn!(error = format!("{err:#}"), "cannot reload signing keys");
            }
        }
    }
}

/// Everything but the listener: database (migrated), keys, the password hasher and the mailer.
pub async fn build_state(settings: Settings, clock: SharedClock) -> anyhow::Result<AppState> {
    crate::crypto::jwt::install();
    let db = db::connect_migrated(&settings.database_url).await?;
    let keys = Arc::new(
        data_keys::load(&db, master_keys(&settings)?, clock.now())
            .await
            .context("cannot open the data keys")?,
    );
    audit::key_legacy_trail(&db, &keys, clock.now())
        .await
        .context("cannot key the audit trail")?;
    db::audit_events::check_may_seal(&db).await.context(
        "cannot seal audit events: the database role needs UPDATE on audit_events (seq, prev_hash, hash), as the README grants",
    )?;
    let passwords = PasswordHasher::new(settings.server.hash_queue).await?;
    let keyring = signing_keys::load(
        &db,
        Arc::clone(&keys),
        settings.sessions.access_token_ttl,
        clock.now(),
    )
    .await
    .context("cannot load token-signing keys")?;
    let mailer = Mailer::start(&settings)?;
    let limits = Limits::new(&settings.limits).await?;
    let webauthn = settings
        .passkeys
        .as_ref()
        .map(|passkeys| relying_party(passkeys, &settings.mail.product_name))
        .transpose()?;
    let single_instance = db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    Ok(AppState::new(Inner {
        settings,
        db,
        clock,
        keys,
        passwords,
        keyring,
        metrics: Metrics::new(),
        mailer,
        limits,
        webauthn,
        // Changes made by other instances are heard through PostgreSQL's notifications: the
        // caches stay off until the listener runs. SQLite has one instance, which hears all.
        sessions: ActiveSessions::new(single_instance, cache::sessions::CAPACITY),
        accounts: KnownAccounts::new(single_instance, cache::accounts::CAPACITY),
        tokens: VerifiedTokens::default(),
        seal_wanted: tokio::sync::Notify::new(),
        sealing: tokio::sync::Mutex::new(()),
        draining: AtomicBool::new(false),
    }))
}

/// The passkey relying party: its id, the origins whose pages may use passkeys, and the name
/// authenticators show.
fn relying_party(
    passkeys: &PasskeySettings,
    product_name: &str,
) -> anyhow::Result<webauthn_rs::Webauthn> {
    let (primary, others) = passkeys
        .origins
        .split_first()
        .context("no origin may use passkeys (CUSTODIAN_WEBAUTHN_ORIGINS)")?;
    let invalid = |err| {
        anyhow::anyhow!(
            "invalid passkey settings (CUSTODIAN_WEBAUTHN_RP_ID, CUSTODIAN_WEBAUTHN_ORIGINS): {err}"
        )
    };
    let builder = webauthn_rs::WebauthnBuilder::new(&passkeys.rp_id, primary)
        .map_err(invalid)?
        .rp_name(product_name);
    others
        .iter()
        .fold(builder, |builder, origin| {
            builder.append_allowed_origin(origin)
        })
        .build()
        .map_err(invalid)
}

/// The configured master keys: the current one, or in development one generated into the data
/// folder, and the previous ones still accepted until `keys rewrap` has run.
pub fn master_keys(settings: &Settings) -> anyhow::Result<MasterKeys> {
    let current = match &settings.crypto.encryption_key {
        Some(encoded) => EncryptionKey::from_base64(encoded)
            .context("invalid setting CUSTODIAN_ENCRYPTION_KEY")?,
        None if settings.is_production() => {
            bail!("invalid setting CUSTODIAN_ENCRYPTION_KEY: required in production")
        }
        None => development_key(&settings.server.data_dir)?,
    };
    let previous = settings
        .crypto
        .previous_encryption_keys
        .as_ref()
        .map(|list| {
            list.expose_secret()
                .split(',')
                .map(str::trim)
                .filter(|key| !key.is_empty())
                .map(|key| EncryptionKey::from_base64(&SecretString::from(key.to_owned())))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .context("invalid setting CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS")?
        .unwrap_or_default();
    Ok(MasterKeys::new(current, &previous))
}

fn development_key(data_dir: &Path) -> anyhow::Result<EncryptionKey> {
    let path = data_dir.join(GENERATED_KEY_FILE);
    if path.exists() {
        let encoded = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return EncryptionKey::from_base64(&encoded.into())
            .with_context(|| format!("{} is not a valid key", path.display()));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let key = EncryptionKey::generate();
    write_private(&path, key.to_base64().expose_secret())?;
    tracing::warn!(
        path = %path.display(),
        "no CUSTODIAN_ENCRYPTION_KEY: generated a development key; production refuses to start without one"
    );
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot create {}", path.display()))
}
