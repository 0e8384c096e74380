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
