//! The command line, run as an operator would.

use std::process::Command;

use serde_json::json;

use crate::{
    db_test,
    helpers::{TestApp, assert_no_errors, error_code, new_client, unique_email},
};

async fn admin_create_makes_an_administrator(app: TestApp) {
    let email = unique_email();
    let password = "a long admin passphrase nobody guesses";
    let output = tokio::task::block_in_place(|| {
        app.cli(
            &["admin", "create", "--email", &email],
            &format!("{password}\n"),
        )
    });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(password));

    let login = app.login_with(&new_client(), &email, password).await;
    assert_no_errors(&login);
    let admin_token = login["data"]["login"]["accessToken"].as_str().unwrap();
    let person = app.register(&unique_email()).await;
    let body = app
        .graphql_as(
            &new_client(),
            Some(admin_token),
            "query($id: UUID!) { account(id: $id) { email role } }",
            json!({ "id": person["account"]["id"] }),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["account"]["email"], person["account"]["email"]);
    let me = app.me(admin_token).await;
    assert_eq!(me["data"]["me"]["role"], "ADMIN");

    // A weak password is refused, naming why, and creates nothing.
    let weak_email = unique_email();
    let output = tokio::task::block_in_place(|| {
        app.cli(&["admin", "create", "--email", &weak_email], "admin\n")
    });
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("password"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        error_code(&app.login_with(&new_client(), &weak_email, "admin").await),
        "UNAUTHENTICATED"
    );
}
db_test!(admin_create_makes_an_administrator);

#[test]
fn a_bad_setting_stops_the_start_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .args(["migrate", "status"])
        .env("CUSTODIAN_LISTEN", "not an address")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CUSTODIAN_LISTEN"));
}

#[test]
fn schema_prints_the_checked_in_sdl() {
    let output = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), checked_in);
}

#[test]
fn production_refuses_unsafe_settings_naming_each() {
    let output = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .args(["serve"])
        .env("CUSTODIAN_ENV", "production")
        .env("CUSTODIAN_COOKIE_SECURE", "false")
        .env("CUSTODIAN_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in [
        "CUSTODIAN_ENCRYPTION_KEY",
        "CUSTODIAN_COOKIE_SECURE",
        "CUSTODIAN_PUBLIC_URL",
    ] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    let wildcard = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .args(["serve"])
        .env("CUSTODIAN_CORS_ORIGINS", "*")
        .env("CUSTODIAN_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!wildcard.status.success());
    assert!(String::from_utf8_lossy(&wildcard.stderr).contains("CUSTODIAN_CORS_ORIGINS"));
}

/// `admin create` with the password on standard input, as an operator runs it.
fn admin_create(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    extra: &[&str],
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .args(["admin", "create", "--email", "ops@example.com"])
        .args(extra)
        .env("CUSTODIAN_DATA_DIR", dir)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin passphrase nobody guesses\n")
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_refuses_to_invent_a_database() {
    let dir = crate::binary::TempDir::new("custodian-cli");
    let file = dir.0.join("elsewhere.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let env = [("CUSTODIAN_DATABASE_URL", url.as_str())];

    let refused = admin_create(&dir.0, &env, &[]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains(&format!("database: {url}")), "{said}");
    assert!(said.contains("--create-database"), "{said}");
    assert!(!file.exists(), "no database was created");
    assert!(!dir.0.join("encryption.key").exists(), "no key was created");

    let created = admin_create(&dir.0, &env, &["--create-database"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(file.exists());
    // Now it holds Custodian, so the flag is no longer needed.
    let again = admin_create(&dir.0, &env, &[]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("CONFLICT")
            || String::from_utf8_lossy(&again.stderr).contains("already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn commands_say_which_database_they_use_without_its_password() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
        return;
    };
    let dir = crate::binary::TempDir::new("custodian-cli");
    // Trust authentication ignores the password, which must still never be printed.
    let url = admin_url.replacen("postgres@", "postgres:hunter2-secret@", 1);
    let output = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .args(["migrate", "status"])
        .env("CUSTODIAN_DATA_DIR", &dir.0)
        .env("CUSTODIAN_DATABASE_URL", &url)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("database: postgres://postgres:***@"),
        "{said}"
    );
    assert!(!said.contains("hunter2-secret"), "{said}");
}

/// `custodian migrate status` with these settings: (success, everything it printed).
fn migrate_status(dir: &crate::binary::TempDir, env: &[(&str, &str)]) -> (bool, String) {
    let output = crate::binary::run(&dir.0, env, &["migrate", "status"]);
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn settings_that_are_not_settings_are_named() {
    let dir = crate::binary::TempDir::new("custodian-settings");
    let url = format!("sqlite://{}/custodian.db", dir.0.display());
    let config = dir.0.join("custodian.toml");
    let config_path = config.to_str().unwrap().to_owned();

    // A misspelt key in the file stops the start, with what was meant.
    std::fs::write(&config, "listn = \"127.0.0.1:9999\"\n").unwrap();
    let env = [
        ("CUSTODIAN_DATABASE_URL", url.as_str()),
        ("CUSTODIAN_CONFIG", config_path.as_str()),
    ];
    let (ok, said) = migrate_status(&dir, &env);
    assert!(!ok, "{said}");
    assert!(
        said.contains("`listn`") && said.contains("did you mean `listen`"),
        "{said}"
    );

    // A bad value in the file is named as the file names it.
    std::fs::write(&config, "listen = \"nowhere\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_custodian"))
        .args(["migrate", "status"])
        .env("CUSTODIAN_DATA_DIR", &dir.0)
        .env("CUSTODIAN_DATABASE_URL", &url)
        .env("CUSTODIAN_CONFIG", &config_path)
        .env_remove("CUSTODIAN_LISTEN")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("`listen` in") && !said.contains("CUSTODIAN_LISTEN"),
        "{said}"
    );

    // A misspelt variable is warned about, and the command goes on.
    std::fs::write(&config, "").unwrap();
    let (ok, said) = migrate_status(
        &dir,
        &[
            ("CUSTODIAN_DATABASE_URL", url.as_str()),
            ("CUSTODIAN_CONFIG", config_path.as_str()),
            ("CUSTODIAN_LISTN", "127.0.0.1:9999"),
        ],
    );
    assert!(ok, "{said}");
    assert!(
        said.contains("CUSTODIAN_LISTN is not a setting")
            && said.contains("did you mean CUSTODIAN_LISTEN"),
        "{said}"
    );
    assert!(
        dir.0.join("custodian.db").exists(),
        "a SQLite URL without ?mode=rwc still creates its file"
    );

    // A value that cannot be read is named once, as it was written.
    let (ok, said) = migrate_status(
        &dir,
        &[
            ("CUSTODIAN_DATABASE_URL", url.as_str()),
            ("CUSTODIAN_CONFIG", config_path.as_str()),
            ("CUSTODIAN_COOKIE_SECURE", "no"),
        ],
    );
    assert!(!ok, "{said}");
    assert_eq!(said.matches("CUSTODIAN_COOKIE_SECURE").count(), 1, "{said}");
    assert!(!said.contains(" COOKIE_SECURE"), "{said}");
}

#[test]
fn production_will_not_keep_email_in_files_unless_told() {
    let dir = crate::binary::TempDir::new("custodian-settings");
    let url = format!("sqlite://{}/custodian.db", dir.0.display());
    let production = [
        ("CUSTODIAN_DATABASE_URL", url.as_str()),
        ("CUSTODIAN_ENV", "production"),
        (
            "CUSTODIAN_ENCRYPTION_KEY",
            "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbG9nISE=",
        ),
        ("CUSTODIAN_PUBLIC_URL", "https://id.example.com"),
        ("CUSTODIAN_COOKIE_SECURE", "true"),
    ];
    let (ok, said) = migrate_status(&dir, &production);
    assert!(!ok, "{said}");
    assert!(
        said.contains("CUSTODIAN_SMTP_URL") && said.contains("CUSTODIAN_MAIL_TRANSPORT"),
        "{said}"
    );
    let mut told = production.to_vec();
    told.push(("CUSTODIAN_MAIL_TRANSPORT", "file"));
    let (ok, said) = migrate_status(&dir, &told);
    assert!(ok, "{said}");
    assert!(
        said.contains("emails are written to files, not sent"),
        "{said}"
    );
}
