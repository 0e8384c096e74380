//! The `custodian` command line.

use std::{io::BufRead, sync::Arc};

use anyhow::{Context, bail};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    clock::{Clock, SystemClock},
    config::Settings,
    db,
    graphql::sdl,
    services::{audit, auth, data_keys, profile::ProfileEdit, signing_keys},
    startup::{self, Application},
    telemetry,
};

#[derive(Parser)]
#[command(
    name = "custodian",
    version,
    about = "Identity and account service for finance applications"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply, undo or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL) that schema.graphql must equal.
    Schema,
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Manage token-signing keys and the data keys of envelope encryption.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Undo the last applied migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create an administrator; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Admin")]
        first_name: String,
        #[arg(long, default_value = "Admin")]
        last_name: String,
        /// Create the database if it does not hold Custodian yet (otherwise that is refused:
        /// an administrator in a database no server uses cannot sign in).
        #[arg(long)]
        create_database: bool,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Seal the events awaiting sealing, then check every link with the key, the head and its
    /// seal, each checkpoint given, and the MAC of every event still awaiting sealing; exit
    /// non-zero naming the first event that was altered, removed, inserted or forged.
    Verify {
        /// A file of checkpoints from `audit checkpoint`, one per line; may be repeated.
        #[arg(long = "anchor", value_name = "FILE")]
        anchors: Vec<std::path::PathBuf>,
    },
    /// Seal and verify the trail and print a signed checkpoint of its head, to keep elsewhere.
    Checkpoint,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Add a signing key: published in the JWKS at once, signing once every relying party's
    /// cached JWKS holds it (6 minutes); older keys keep verifying until their tokens expire.
    Rotate {
        /// Sign with the new key at once (relying parties that cache the JWKS and do not
        /// refetch on an unknown key id may reject tokens for up to 5 minutes).
        #[arg(long)]
        now: bool,
    },
    /// Withdraw a signing key at once: every instance stops accepting tokens signed with it
    /// within 5 seconds, and it leaves the JWKS. A new key signs at once if it was signing.
    Revoke {
        /// The key id (`kid`) to revoke.
        kid: String,
    },
    /// Seal every data key under the current master key (CUSTODIAN_ENCRYPTION_KEY), so the
    /// keys in CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS can be removed and destroyed.
    Rewrap,
    /// Add a data key and re-encrypt every stored ciphertext under it, in batches, while the
    /// service runs; run again to resume an interrupted rotation.
    RotateData {
        /// Accounts re-encrypted per batch.
        #[arg(long, default_value_t = 200)]
        batch_size: u64,
    },
}

pub async fn run() -> anyhow::Result<()> {
    let matches = Cli::command()
        .mut_subcommand("serve", |serve| serve.after_long_help(settings_help()))
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).map_err(|err| err.exit())?;
    crate::crypto::jwt::install();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", sdl());
            Ok(())
        }
        Command::Serve => serve().await,
        Command::Migrate { action } => migrate(action).await,
        Command::Admin {
            action:
                AdminAction::Create {
                    email,
                    first_name,
                    last_name,
                    create_database,
                },
        } => create_admin(&email, &first_name, &last_name, create_database).await,
        Command::Audit { action } => audit_command(action).await,
        Command::Keys { action } => keys(action).await,
    }
}

/// The settings, with logging set up and, before anything touches it, the database the
/// command works on said on standard error (password masked): a command run from the wrong
/// folder shows it at once.
fn settings() -> anyhow::Result<Settings> {
    let settings = Settings::load()?;
    telemetry::init(settings.server.log_format);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    eprintln!("database: {}", db::masked(&settings.database_url));
    Ok(settings)
}

async fn serve() -> anyhow::Result<()> {
    let settings = settings()?;
    let playground = settings.server.playground;
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let address = app.local_addr()?;
    tracing::info!(%address, "Custodian is listening");
    if playground {
        println!(
            "Custodian is serving on http://{address}/ (GraphiQL playground) and http://{address}/graphql"
        );
    } else {
        println!("Custodian is serving on http://{address}/graphql");
    }
    app.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn migrate(action: MigrateAction) -> anyhow::Result<()> {
    let settings = settings()?;
    let db = db::connect(&settings.database_url).await?;
    match action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down => Migrator::down(&db, Some(1)).await?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db).await? {
                println!("{:?}\t{}", migration.status(), migration.name());
            }
        }
    }
    Ok(())
}

async fn create_admin(
    email: &str,
    first_name: &str,
    last_name: &str,
    create_database: bool,
) -> anyhow::Result<()> {
    let settings = settings()?;
    if !create_database && !db::holds_custodian(&settings.database_url).await? {
        bail!(
            "{} holds no Custodian database yet: check CUSTODIAN_DATABASE_URL (a relative \
             SQLite path is relative to the folder you run from), or pass --create-database",
            db::masked(&settings.database_url)
        );
    }
    let password = read_password()?;
    let registration = auth::Registration::parse(
        email,
        password.expose_secret(),
        first_name,
        last_name,
        ProfileEdit::default(),
    )
    .map_err(|err| match err.field() {
        Some(field) => anyhow::anyhow!("{field} {err}"),
        None => anyhow::anyhow!("{err}"),
    })?;
    let state = startup::build_state(settings, Arc::new(SystemClock)).await?;
    let id = auth::create_admin(&state, registration)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    if let Err(err) = audit::seal_now(&state).await {
        warn_unsealed(&err);
    }
    println!("created administrator {id}");
    Ok(())
}

/// A command's own events stay pending when it cannot seal them: a running server seals them
/// within a second.
fn warn_unsealed(err: &anyhow::Error) {
    eprintln!("the audit events of this command await sealing by a running server: {err:#}");
}

/// The first line of standard input, so the password never appears in `ps` or shell history.
fn read_password() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!(
            "no password on standard input (pipe it in, e.g. `custodian admin create --email … < file`)"
        );
    }
    Ok(SecretString::from(password.to_owned()))
}

async fn audit_command(action: AuditAction) -> anyhow::Result<()> {
    let settings = settings()?;
    let db = db::connect_migrated(&settings.database_url).await?;
    let now = SystemClock.now();
    let keys = Arc::new(data_keys::load(&db, startup::master_keys(&settings)?, now).await?);
    match action {
        AuditAction::Verify { anchors } => {
            let mut checkpoints = Vec::new();
            for path in &anchors {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                checkpoints.extend(audit::checkpoint::read(&db, &text).await?);
            }
            // Sealing first chains what is pending, so the report covers every event
            // committed so far. A database this command may not write is verified as it is.
            if let Err(err) = audit::seal(&db, &keys).await {
                eprintln!("did not seal the pending events first: {err:#}");
            }
            match audit::verify(&db, &keys, &checkpoints).await? {
                Ok(report) => {
                    print!(
                        "audit trail intact: {} events, {} checkpoints held; head link {}",
                        report.events,
                        checkpoints.len(),
                        report.head_hash
                    );
                    if report.pending > 0 {
                        print!(
                            "; {} newer events await sealing, each matching its MAC",
                            report.pending
                        );
                    }
                    println!();
                }
                Err(broken) => bail!("audit trail broken: {broken}"),
            }
        }
        AuditAction::Checkpoint => {
            let keyring = signing_keys::load(
                &db,
                Arc::clone(&keys),
                settings.sessions.access_token_ttl,
                now,
            )
            .await?;
            let checkpoint = audit::checkpoint::issue(
                &db,
                &keys,
                keyring.signer(now),
                &settings.server.public_url,
                now,
            )
            .await?;
            println!("{checkpoint}");
        }
    }
    Ok(())
}

async fn keys(action: KeysAction) -> anyhow::Result<()> {
    let settings = settings()?;
    let db = db::connect_migrated(&settings.database_url).await?;
    let masters = startup::master_keys(&settings)?;
    let now = SystemClock.now();
    keys_action(&db, masters, action, now).await?;
    // The command's audit event, sealed before it exits, under the data keys as they are now.
    let keys = data_keys::load(&db, startup::master_keys(&settings)?, now).await?;
    if let Err(err) = audit::seal(&db, &keys).await {
        warn_unsealed(&err);
    }
    Ok(())
}

async fn keys_action(
    db: &sea_orm::DatabaseConnection,
    masters: crate::crypto::envelope::MasterKeys,
    action: KeysAction,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    match action {
        KeysAction::Rotate { now: immediately } => {
            let keys = data_keys::load(db, masters, now).await?;
            let rotation = signing_keys::rotate(db, &keys, now, immediately).await?;
            println!(
                "new signing key {}: published now, signing from {}",
                rotation.kid,
                rotation.activates_at.to_rfc3339()
            );
        }
        KeysAction::Revoke { kid } => {
            let keys = data_keys::load(db, masters, now).await?;
            match signing_keys::revoke(db, &keys, &kid, now).await? {
                Some(new) => println!("revoked signing key {kid}; new signing key {new} signs now"),
                None => println!("revoked signing key {kid}"),
            }
            println!("every instance refuses its tokens within 5 seconds");
        }
        KeysAction::Rewrap => {
            let rewrap = data_keys::rewrap(db, masters, now).await?;
            println!(
                "re-sealed {} data keys under master key {}; every data key is now sealed under it, \
                 so CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS can be emptied once every instance runs \
                 with this CUSTODIAN_ENCRYPTION_KEY",
                rewrap.resealed, rewrap.master
            );
        }
        KeysAction::RotateData { batch_size } => {
            let rotation = data_keys::rotate(db, masters, batch_size, now).await?;
            let what = if rotation.added {
                "added data key"
            } else {
                "resumed the rotation to data key"
            };
            println!(
                "{what} {}; re-encrypted {} values; {} left under older keys",
                rotation.key, rotation.reencrypted, rotation.remaining
            );
            if rotation.remaining > 0 {
                println!(
                    "instances pick up the new key within a minute: run the command again then"
                );
            }
        }
    }
    Ok(())
}

/// The README, whose settings table `serve --help` prints: one list of settings, which a test
/// holds to the settings the code reads.
const README: &str = include_str!("../README.md");

/// The rows of the README's settings table: name, meaning, default, without Markdown.
fn settings_rows(readme: &str) -> Vec<[String; 3]> {
    let plain = |cell: &str| cell.trim().replace('`', "").replace("\\|", "|");
    readme
        .split("| variable | meaning | default |")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            match cells.as_slice() {
                [name, meaning, default] => Some([plain(name), plain(meaning), plain(default)]),
                _ => None,
            }
        })
        .collect()
}

fn settings_help() -> String {
    let mut help = String::from(
        "Settings come from CUSTODIAN_* environment variables, which win, and from \
         custodian.toml (or the file CUSTODIAN_CONFIG names), whose keys are the names below \
         without the prefix, in lower case:\n",
    );
    for [name, meaning, default] in settings_rows(README) {
        help.push_str(&format!(
            "\n  {name}\n      {meaning}\n      default: {default}\n"
        ));
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_help_lists_every_setting_the_code_reads() {
        let listed: Vec<String> = settings_rows(README)
            .into_iter()
            .map(|[name, ..]| name)
            .collect();
        let read: Vec<String> = crate::config::setting_names()
            .iter()
            .map(|key| format!("CUSTODIAN_{}", key.to_ascii_uppercase()))
            .collect();
        for name in &read {
            assert!(
                listed.contains(name),
                "{name} is not in the README's settings table"
            );
        }
        for name in &listed {
            assert!(
                read.contains(name),
                "the README lists {name}, which is no setting"
            );
        }
        assert!(settings_help().contains("CUSTODIAN_LISTEN"));
    }
}
