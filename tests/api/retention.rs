//! Retention: what no rule needs any more is deleted by the hourly pass (and the one at start),
//! while the audit trail stays whole.

use chrono::TimeDelta;
use serde_json::json;

use crate::{
    db_test,
    helpers::{PASSWORD, TestApp, assert_no_errors, new_client, unique_email},
};

async fn count(db: &sea_orm::DatabaseConnection, table: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        format!("SELECT COUNT(*) AS n FROM {table}"),
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

async fn expired_rows_are_deleted_and_the_trail_kept(app: TestApp) {
    let email = unique_email();
    let browser = new_client();
    app.register_with(&browser, &email).await;
    for _ in 0..3 {
        assert_no_errors(&app.refresh_with(&browser).await);
    }
    let phone = new_client();
    let login = app.login_with(&phone, &email, PASSWORD).await;
    let token = login["data"]["login"]["accessToken"].as_str().unwrap();
    assert_no_errors(
        &app.graphql_as(&phone, Some(token), "mutation { logout }", json!({}))
            .await,
    );
    app.login_with(&new_client(), &email, "not the password at all")
        .await;
    app.graphql(
        "mutation($email: String!) { requestPasswordReset(email: $email) }",
        json!({ "email": email }),
    )
    .await;
    // The reset is handled in the background (its timing reveals no account): wait for it.
    app.wait_for_mail(&email, "Reset your").await;
    assert_no_errors(
        &app.graphql("mutation { startPasskeyLogin { challengeId } }", json!({}))
            .await,
    );

    let db = app.database().await;
    for table in [
        "sessions",
        "refresh_tokens",
        "account_tokens",
        "login_failures",
        "webauthn_ceremonies",
    ] {
        assert!(
            count(&db, table).await > 0,
            "{table} holds rows to begin with"
        );
    }
    let events = count(&db, "audit_events").await;

    // Long after every session ended: an instance's pass at start deletes them all.
    app.clock.advance(TimeDelta::days(100));
    let sibling = app.spawn_sibling().await;
    let mut pruned = false;
    for _ in 0..50 {
        // The pass goes table by table, passkey ceremonies last.
        if count(&db, "sessions").await == 0
            && count(&db, "login_failures").await == 0
            && count(&db, "webauthn_ceremonies").await == 0
        {
            pruned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(pruned, "ended sessions and old failures are deleted");
    for table in ["refresh_tokens", "account_tokens", "mfa_challenges"] {
        assert_eq!(count(&db, table).await, 0, "{table}");
    }
    assert_eq!(
        count(&db, "audit_events").await,
        events,
        "audit events are never deleted"
    );

    let metrics = new_client()
        .get(format!("{sibling}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("custodian_retention_deleted_total{table=\"sessions\"} 2"),
        "{metrics}"
    );
    let output = tokio::task::block_in_place(|| app.cli(&["audit", "verify"], ""));
    assert!(output.status.success(), "{output:?}");
}
db_test!(expired_rows_are_deleted_and_the_trail_kept);
