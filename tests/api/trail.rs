//! The audit trail against someone who can write the database, through the real binary:
//! signed checkpoints catch a rewrite and a truncation, on both databases.

use base64::{Engine, engine::general_purpose::STANDARD};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};
use serde_json::json;
use uuid::Uuid;

use crate::{
    binary::{self, TempDir},
    helpers::{
        LOGIN, PASSWORD, REFRESH, REGISTER, assert_no_errors, new_client, registration,
        unique_email,
    },
};

/// Where a database lives, and how to copy it once its server has stopped.
enum Store {
    Sqlite { dir: std::path::PathBuf },
    Postgres { admin_url: String, url: String },
}

impl Store {
    fn url(&self) -> String {
        match self {
            Self::Sqlite { dir } => format!("sqlite://{}/custodian.db?mode=rwc", dir.display()),
            Self::Postgres { url, .. } => url.clone(),
        }
    }

    /// A copy of the database as it stands, for one attack.
    async fn copy(&self, name: &str) -> Self {
        match self {
            Self::Sqlite { dir } => {
                let copy = dir.join(name);
                std::fs::create_dir_all(&copy).unwrap();
                for file in ["custodian.db", "custodian.db-wal", "custodian.db-shm"] {
                    let from = dir.join(file);
                    if from.exists() {
                        std::fs::copy(&from, copy.join(file)).unwrap();
                    }
                }
                Self::Sqlite { dir: copy }
            }
            Self::Postgres { admin_url, url } => {
                let original = url.rsplit('/').next().unwrap();
                let copy = format!("custodian_test_copy_{}", Uuid::now_v7().simple());
                let admin = Database::connect(admin_url.as_str()).await.unwrap();
                admin
                    .execute_unprepared(&format!(
                        "CREATE DATABASE \"{copy}\" TEMPLATE \"{original}\""
                    ))
                    .await
                    .unwrap();
                Self::Postgres {
                    admin_url: admin_url.clone(),
                    url: format!("{}/{copy}", url.rsplit_once('/').unwrap().0),
                }
            }
        }
    }

    /// A connection with full rights and the append-only triggers out of the way, as an
    /// attacker would open it.
    async fn as_attacker(&self) -> DatabaseConnection {
        let db = custodian::db::connect(&secrecy::SecretString::from(self.url()))
            .await
            .unwrap();
        let disable = match db.get_database_backend() {
            DbBackend::Sqlite => {
                "DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_events_erase_only;"
            }
            _ => "ALTER TABLE audit_events DISABLE TRIGGER USER",
        };
        db.execute_unprepared(disable).await.unwrap();
        db
    }
}

/// `custodian` with this store and key, to completion: (success, stdout and stderr).
fn run(dir: &TempDir, store: &Store, key: &str, args: &[&str]) -> (bool, String) {
    let url = store.url();
    let output = binary::run(
        &dir.0,
        &[
            ("CUSTODIAN_DATABASE_URL", url.as_str()),
            ("CUSTODIAN_ENCRYPTION_KEY", key),
        ],
        args,
    );
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The checkpoint `audit checkpoint` prints: the last line of its standard output.
fn checkpoint(dir: &TempDir, store: &Store, key: &str) -> String {
    let url = store.url();
    let output = binary::run(
        &dir.0,
        &[
            ("CUSTODIAN_DATABASE_URL", url.as_str()),
            ("CUSTODIAN_ENCRYPTION_KEY", key),
        ],
        &["audit", "checkpoint"],
    );
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed.lines().last().unwrap().to_owned()
}

async fn some_activity(address: &str) {
    let email = unique_email();
    let browser = new_client();
    let post = |query: &str, variables: serde_json::Value| {
        browser
            .post(format!("{address}/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
    };
    let registered: serde_json::Value = post(REGISTER, json!({ "input": registration(&email) }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_no_errors(&registered);
    let refreshed: serde_json::Value = post(REFRESH, json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_no_errors(&refreshed);
    let wrong = json!({ "input": { "email": email, "password": "not the password at all" } });
    post(LOGIN, wrong).await.unwrap();
    let right = json!({ "input": { "email": email, "password": PASSWORD } });
    post(LOGIN, right).await.unwrap();
}

async fn checkpoints_catch_a_rewrite_and_a_truncation(store: Store, dir: TempDir) {
    let key = STANDARD.encode(Uuid::new_v4().as_bytes().repeat(2));
    let url = store.url();
    let env = [
        ("CUSTODIAN_DATABASE_URL", url.as_str()),
        ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
    ];
    let server = tokio::task::block_in_place(|| binary::start(&dir.0, &env)).unwrap();
    some_activity(&server.address).await;
    let first = checkpoint(&dir, &store, &key);
    some_activity(&server.address).await;
    let second = checkpoint(&dir, &store, &key);
    drop(server);
    let anchors = dir.0.join("checkpoints");
    std::fs::write(
        &anchors,
        format!("# kept off the database\n{first}\n{second}\n"),
    )
    .unwrap();
    let anchor = anchors.to_str().unwrap();
    let (ok, said) = run(&dir, &store, &key, &["audit", "verify", "--anchor", anchor]);
    assert!(ok, "{said}");
    assert!(said.contains("2 checkpoints held"), "{said}");

    // The review's rewrite: event #1's address changed, event #3 deleted, the later events
    // moved up and every link and the head recomputed the way an unkeyed chain is.
    let rewritten = store.copy("rewritten").await;
    let db = rewritten.as_attacker().await;
    db.execute_unprepared("UPDATE audit_events SET ip_address = '198.51.100.7' WHERE seq = 1")
        .await
        .unwrap();
    db.execute_unprepared("DELETE FROM audit_events WHERE seq = 3")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE audit_events SET seq = seq - 1 WHERE seq > 3")
        .await
        .unwrap();
    let events = custodian::db::audit_events::chain_page(&db, 1, 1000)
        .await
        .unwrap();
    let mut prev = "0".repeat(64);
    for event in &events {
        let record = json!([
            event.seq,
            event.id,
            event.kind,
            event.ip_address,
            event.details
        ]);
        let hash = custodian::crypto::sha256_hex(format!("{prev}\n{record}").as_bytes());
        db.execute_unprepared(&format!(
            "UPDATE audit_events SET prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}",
            event.seq.unwrap()
        ))
        .await
        .unwrap();
        prev = hash;
    }
    db.execute_unprepared(&format!(
        "UPDATE audit_chain_head SET seq = {}, hash = '{prev}'",
        events.len()
    ))
    .await
    .unwrap();
    drop(db);
    let (ok, said) = run(
        &dir,
        &rewritten,
        &key,
        &["audit", "verify", "--anchor", anchor],
    );
    assert!(!ok, "the rewrite passed: {said}");
    assert!(said.contains("event #1"), "{said}");

    // A truncation back to the first checkpoint, with the head reset to it: every remaining
    // link is genuine, but the second checkpoint, and the head's seal, know better.
    let truncated = store.copy("truncated").await;
    let db = truncated.as_attacker().await;
    let (kept, link) = {
        let claims = first.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        (
            claims["seq"].as_i64().unwrap(),
            claims["link"].as_str().unwrap().to_owned(),
        )
    };
    db.execute_unprepared(&format!("DELETE FROM audit_events WHERE seq > {kept}"))
        .await
        .unwrap();
    db.execute_unprepared(&format!(
        "UPDATE audit_chain_head SET seq = {kept}, hash = '{link}'"
    ))
    .await
    .unwrap();
    drop(db);
    let (ok, said) = run(
        &dir,
        &truncated,
        &key,
        &["audit", "verify", "--anchor", anchor],
    );
    assert!(!ok, "the truncation passed: {said}");
    assert!(said.contains("before checkpoint"), "{said}");
    let (ok, said) = run(&dir, &truncated, &key, &["audit", "verify"]);
    assert!(!ok, "the truncation passed without checkpoints: {said}");
    assert!(said.contains("seal"), "{said}");

    // A forged checkpoint is refused as such.
    let forged = dir.0.join("forged");
    let mut parts: Vec<String> = second.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    std::fs::write(&forged, parts.join(".")).unwrap();
    let (ok, said) = run(
        &dir,
        &store,
        &key,
        &["audit", "verify", "--anchor", forged.to_str().unwrap()],
    );
    assert!(!ok && said.contains("signature"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_on_sqlite() {
    let dir = TempDir::new("custodian-trail");
    let store = Store::Sqlite { dir: dir.0.clone() };
    checkpoints_catch_a_rewrite_and_a_truncation(store, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_on_postgres() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
        return;
    };
    let dir = TempDir::new("custodian-trail");
    let url = crate::helpers::create_postgres_database(&admin_url).await;
    checkpoints_catch_a_rewrite_and_a_truncation(Store::Postgres { admin_url, url }, dir).await;
}

/// The insert-only role exactly as the README grants it: the service runs under it, and it can
/// append and erase addresses, but neither edit nor remove an event nor open maintenance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_insert_only_role_serves_and_cannot_rewrite() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
        return;
    };
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let grants = readme
        .split("-- as the owner, after `custodian migrate up`\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows the grants");
    let dir = TempDir::new("custodian-role");
    let key = STANDARD.encode(Uuid::new_v4().as_bytes().repeat(2));
    let owner_url = crate::helpers::create_postgres_database(&admin_url).await;
    let database = owner_url.rsplit('/').next().unwrap().to_owned();
    let (ok, said) = run(
        &dir,
        &Store::Postgres {
            admin_url: admin_url.clone(),
            url: owner_url.clone(),
        },
        &key,
        &["migrate", "up"],
    );
    assert!(ok, "{said}");
    let role = format!("custodian_app_{}", Uuid::now_v7().simple());
    let owner = custodian::db::connect(&secrecy::SecretString::from(owner_url.clone()))
        .await
        .unwrap();
    owner
        .execute_unprepared(
            &grants
                .replace("custodian_app", &role)
                .replace("DATABASE custodian", &format!("DATABASE \"{database}\""))
                .replace("'…'", "'app-secret'"),
        )
        .await
        .unwrap();
    let app_url = owner_url.replacen("postgres@", &format!("{role}:app-secret@"), 1);
    let env = [
        ("CUSTODIAN_DATABASE_URL", app_url.as_str()),
        ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
    ];
    let server = tokio::task::block_in_place(|| binary::start(&dir.0, &env))
        .unwrap_or_else(|log| panic!("the service does not start under the role: {log}"));
    some_activity(&server.address).await;
    let app = custodian::db::connect(&secrecy::SecretString::from(app_url))
        .await
        .unwrap();
    // The server, under the role, seals its events within moments.
    let mut pending = -1;
    for _ in 0..50 {
        let row = app
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT COUNT(*) AS n FROM audit_events WHERE seq IS NULL",
            ))
            .await
            .unwrap()
            .unwrap();
        pending = row.try_get::<i64>("", "n").unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0, "the role seals");
    drop(server);

    for refused in [
        "UPDATE audit_events SET kind = 'logout' WHERE seq = 1",
        "UPDATE audit_events SET seq = seq + 1000 WHERE seq = 1",
        "UPDATE audit_events SET prev_hash = hash WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
        "TRUNCATE audit_events",
        "INSERT INTO audit_maintenance (id) VALUES (1)",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
    ] {
        assert!(app.execute_unprepared(refused).await.is_err(), "{refused}");
    }
    app.execute_unprepared("UPDATE audit_events SET ip_address = NULL, user_agent = NULL")
        .await
        .unwrap();
    drop(app);
    let (ok, said) = run(
        &dir,
        &Store::Postgres {
            admin_url,
            url: owner_url,
        },
        &key,
        &["audit", "verify"],
    );
    assert!(ok, "{said}");
    owner
        .execute_unprepared(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""))
        .await
        .ok();
}
