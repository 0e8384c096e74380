//! Protecting the data: one email per minute however many ask at once, audit pages that
//! follow an administrator's filter.

use chrono::TimeDelta;
use futures::future::join_all;
use reqwest::Client;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{TestApp, assert_no_errors, error_code, from_ip, unique_email},
};

async fn concurrent_requests_send_one_email(app: TestApp) {
    let email = unique_email();
    let token = app.register(&email).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_mail(&email, "Confirm").await;
    app.clock.advance(TimeDelta::seconds(61));
    let client = Client::new();
    let answers = join_all((0..30).map(|_| {
        app.graphql_as(
            &client,
            Some(&token),
            "mutation { requestEmailVerification }",
            json!({}),
        )
    }))
    .await;
    let sent = answers
        .iter()
        .filter(|body| body["data"]["requestEmailVerification"] == true)
        .count();
    assert_eq!(sent, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|body| body["data"]["requestEmailVerification"] != true)
            .all(|body| error_code(body) == "RATE_LIMITED"),
        "{answers:?}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.wait_for_mails(&email, "Confirm", 2).await.len(), 2);

    // Resets are asked anonymously and answered at once; the links still go out once.
    let asks = (0..10).map(|index| {
        let client = from_ip(&format!("198.51.100.{index}"));
        let email = email.clone();
        let app = &app;
        async move {
            app.graphql_as(
                &client,
                None,
                "mutation($e: String!) { requestPasswordReset(email: $e) }",
                json!({ "e": email }),
            )
            .await
        }
    });
    for answer in join_all(asks).await {
        assert_no_errors(&answer);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let resets = app
        .mails_to(&email)
        .into_iter()
        .filter(|mail| mail.subject.contains("Reset"))
        .count();
    assert_eq!(resets, 1);
}
db_test!(
    concurrent_requests_send_one_email,
    &[("TRUSTED_PROXIES", "127.0.0.1/32")]
);

async fn an_administrators_filter_pages_through_what_they_did(app: TestApp) {
    let admin = app.admin_token().await;
    let admin_id = app
        .graphql_as(&Client::new(), Some(&admin), "{ me { id } }", json!({}))
        .await["data"]["me"]["id"]
        .clone();
    for _ in 0..2 {
        let person = app.register(&unique_email()).await["account"]["id"].clone();
        let decided = app
            .graphql_as(
                &Client::new(),
                Some(&admin),
                "mutation($id: UUID!) { setKycStatus(accountId: $id, status: APPROVED, profileVersion: 0) { id } }",
                json!({ "id": person }),
            )
            .await;
        assert_no_errors(&decided);
    }
    let client = Client::new();
    let page = |after: Option<String>| {
        app.graphql_as(
            &client,
            Some(&admin),
            "query($id: UUID!, $after: String) { adminAuditEvents(filter: { accountId: $id, kind: \"kyc.changed\" }, first: 1, after: $after) { id actorId } }",
            json!({ "id": admin_id, "after": after }),
        )
    };
    let first: Value = page(None).await;
    assert_no_errors(&first);
    let cursor = first["data"]["adminAuditEvents"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = page(Some(cursor.clone())).await;
    assert_no_errors(&second);
    let next = &second["data"]["adminAuditEvents"][0];
    assert_eq!(next["actorId"], admin_id);
    assert_ne!(next["id"], cursor.as_str());
}
db_test!(an_administrators_filter_pages_through_what_they_did);

const SET_SSN: &str = "mutation($s: String!) { updateProfile(input: { ssn: $s }) { ssnMasked } }";

async fn ssn_changes_are_limited_and_conflicts_recorded(app: TestApp) {
    let token_of = |body: Value| body["accessToken"].as_str().unwrap().to_owned();
    let holder = token_of(app.register(&unique_email()).await);
    let prober = token_of(app.register(&unique_email()).await);
    let client = Client::new();
    let set = |token: &str, ssn: &str| {
        let token = token.to_owned();
        let variables = json!({ "s": ssn });
        let (app, client) = (&app, &client);
        async move {
            app.graphql_as(client, Some(&token), SET_SSN, variables)
                .await
        }
    };
    assert_no_errors(&set(&holder, "219-45-6781").await);
    let taken = set(&prober, "219-45-6781").await;
    assert_eq!(error_code(&taken), "CONFLICT", "{taken}");
    let events = app
        .graphql_as(
            &client,
            Some(&prober),
            "{ auditEvents { kind outcome } }",
            json!({}),
        )
        .await;
    assert!(
        events["data"]["auditEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["kind"] == "ssn.conflict"),
        "{events}"
    );
    // Five attempts a day, valid or not, conflicting or not.
    for ssn in ["219-45-6782", "219-45-6783", "219-45-6784", "219-45-6785"] {
        assert_no_errors(&set(&prober, ssn).await);
    }
    let sixth = set(&prober, "219-45-6786").await;
    assert_eq!(error_code(&sixth), "RATE_LIMITED", "{sixth}");
    // Other profile changes are not held back.
    let phone = app
        .graphql_as(
            &client,
            Some(&prober),
            "mutation { updateProfile(input: { phone: \"+1 201 555 0123\" }) { phone } }",
            json!({}),
        )
        .await;
    assert_no_errors(&phone);
}
db_test!(ssn_changes_are_limited_and_conflicts_recorded);

async fn a_refused_request_is_recorded_once_and_exports_are_limited(app: TestApp) {
    let person = app.register(&unique_email()).await;
    let token = person["accessToken"].as_str().unwrap();
    let id = person["account"]["id"].clone();
    let aliases: String = (0..50)
        .map(|index| format!("a{index}: accounts(first: 1) {{ id }} "))
        .collect();
    let client = Client::new();
    let refused = app
        .graphql_as(&client, Some(token), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(refused["errors"].as_array().unwrap().len(), 50, "{refused}");
    let admin = app.admin_token().await;
    let denied = app
        .graphql_as(
            &client,
            Some(&admin),
            "query($id: UUID!) { adminAuditEvents(filter: { accountId: $id, kind: \"access.denied\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        denied["data"]["adminAuditEvents"].as_array().unwrap().len(),
        1,
        "{denied}"
    );

    for _ in 0..5 {
        assert_no_errors(
            &app.graphql_as(&client, Some(token), "{ exportMyData }", json!({}))
                .await,
        );
    }
    let sixth = app
        .graphql_as(&client, Some(token), "{ exportMyData }", json!({}))
        .await;
    assert_eq!(error_code(&sixth), "RATE_LIMITED", "{sixth}");
}
db_test!(a_refused_request_is_recorded_once_and_exports_are_limited);

async fn administrators_need_a_second_factor_and_their_reads_are_recorded(app: TestApp) {
    use crate::mfa::{ENABLE, code};
    let person = app.register(&unique_email()).await;
    let person_token = person["accessToken"].as_str().unwrap().to_owned();
    let id = person["account"]["id"].clone();
    let admin = app.admin_token().await;
    let client = Client::new();
    let read = |query: &'static str| {
        let variables = json!({ "id": id });
        let (app, client, admin) = (&app, &client, &admin);
        async move { app.graphql_as(client, Some(admin), query, variables).await }
    };
    let refused = read("query($id: UUID!) { account(id: $id) { id } }").await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["reason"], "MFA_REQUIRED");

    // Turning two-step sign-in on proves a second factor for this session.
    let setup = app
        .graphql_as(&client, Some(&admin), ENABLE, json!({}))
        .await;
    let secret = setup["data"]["enableMfa"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = app
        .graphql_as(
            &client,
            Some(&admin),
            "mutation($c: String!) { confirmMfa(code: $c) { codes } }",
            json!({ "c": code(&app, &secret) }),
        )
        .await;
    assert_no_errors(&confirmed);
    let seen =
        read("query($id: UUID!) { account(id: $id) { id email firstName kycStatus } }").await;
    assert_no_errors(&seen);
    // Reading no personal field leaves no trace; reading some does, naming them.
    assert_no_errors(&read("query($id: UUID!) { account(id: $id) { id kycStatus } }").await);
    let events = app
        .graphql_as(
            &client,
            Some(&person_token),
            "{ auditEvents { kind details } }",
            json!({}),
        )
        .await;
    let viewed: Vec<&Value> = events["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "personal_data.viewed")
        .collect();
    assert_eq!(viewed.len(), 1, "{events}");
    assert_eq!(
        viewed[0]["details"]["fields"],
        json!(["email", "firstName"])
    );
}
db_test!(
    administrators_need_a_second_factor_and_their_reads_are_recorded,
    &[("ADMIN_REQUIRE_MFA", "true")]
);

async fn a_look_alike_address_is_the_address_it_looks_like(app: TestApp) {
    let client = Client::new();
    let register = |email: &str| {
        let input = crate::helpers::registration(email);
        let (app, client) = (&app, &client);
        async move {
            app.graphql_as(
                client,
                None,
                crate::helpers::REGISTER,
                json!({ "input": input }),
            )
            .await
        }
    };
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let plain = format!("probe-{tag}@example.com");
    assert_no_errors(&register(&plain).await);
    for look_alike in [
        // A full-width p, and the domain in capitals.
        format!("\u{ff50}robe-{tag}@EXAMPLE.com"),
    ] {
        let taken = register(&look_alike).await;
        assert_eq!(error_code(&taken), "CONFLICT", "{look_alike}: {taken}");
        assert_eq!(taken["errors"][0]["extensions"]["field"], "email");
        // Signing in with the look-alike reaches the one account.
        let login = app
            .login_with(
                &crate::helpers::new_client(),
                &look_alike,
                crate::helpers::PASSWORD,
            )
            .await;
        assert_no_errors(&login);
    }
    let accented = format!("pro\u{301}be-{tag}@example.com");
    assert_no_errors(&register(&accented).await);
    let composed = register(&format!("pr\u{f3}be-{tag}@example.com")).await;
    assert_eq!(error_code(&composed), "CONFLICT", "{composed}");
}
db_test!(a_look_alike_address_is_the_address_it_looks_like);

/// Rows written before addresses were compared in one form are brought to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_addresses_are_migrated_to_the_canonical_form() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let dir = std::env::temp_dir().join(format!(
        "custodian-migrate-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = secrecy::SecretString::from(format!("sqlite://{}/m.db?mode=rwc", dir.display()));
    let db = custodian::db::connect(&url).await.unwrap();
    Migrator::up(&db, Some(11)).await.unwrap();
    for (id, email) in [
        (uuid::Uuid::now_v7(), "\u{ff41}da@B\u{dc}CHER.example"),
        (uuid::Uuid::now_v7(), "plain@example.com"),
    ] {
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO accounts (id, email, password_hash, first_name, last_name, role, email_verified, kyc_status, mfa_enabled, created_at, updated_at) VALUES (?, ?, 'x', 'A', 'B', 'USER', false, 'PENDING', false, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            [id.into(), email.into()],
        ))
        .await
        .unwrap();
    }
    db.close().await.unwrap();
    let db = custodian::db::connect_migrated(&url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT email FROM accounts ORDER BY email",
        ))
        .await
        .unwrap();
    let emails: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("", "email").unwrap())
        .collect();
    assert_eq!(emails, ["ada@b\u{fc}cher.example", "plain@example.com"]);
    let _ = std::fs::remove_dir_all(dir);
}

async fn a_reviewer_reads_the_full_ssn_with_a_reason_the_person_sees(app: TestApp) {
    let person = app.register(&unique_email()).await;
    let person_token = person["accessToken"].as_str().unwrap().to_owned();
    let id = person["account"]["id"].clone();
    let client = Client::new();
    assert_no_errors(
        &app.graphql_as(
            &client,
            Some(&person_token),
            "mutation { updateProfile(input: { ssn: \"219-45-6781\" }) { ssnMasked } }",
            json!({}),
        )
        .await,
    );
    let admin = app.admin_token().await;
    let reveal = |reason: &str| {
        let variables = json!({ "id": id, "reason": reason });
        let (app, client, admin) = (&app, &client, &admin);
        async move {
            app.graphql_as(
                client,
                Some(admin),
                "mutation($id: UUID!, $reason: String!) { revealSsn(accountId: $id, reason: $reason) }",
                variables,
            )
            .await
        }
    };
    let short = reveal("because").await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    assert_eq!(short["errors"][0]["extensions"]["field"], "reason");
    let revealed = reveal("Checking the SSN against the passport scan").await;
    assert_eq!(revealed["data"]["revealSsn"], "219-45-6781", "{revealed}");
    // Outside the re-authentication window it waits for a fresh password.
    app.clock.advance(TimeDelta::minutes(6));
    let stale = reveal("Checking the SSN against the passport scan").await;
    assert_eq!(
        stale["errors"][0]["extensions"]["reason"],
        "REAUTHENTICATION_REQUIRED"
    );
    // The person sees that it happened.
    let events = app
        .graphql_as(
            &client,
            Some(&person_token),
            "{ auditEvents { kind } }",
            json!({}),
        )
        .await;
    let revealed_events = events["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "ssn.revealed")
        .count();
    assert_eq!(revealed_events, 1, "{events}");
    // A user cannot.
    let refused = app
        .graphql_as(
            &client,
            Some(&person_token),
            "mutation($id: UUID!) { revealSsn(accountId: $id, reason: \"I want to see it, please\") }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}
db_test!(a_reviewer_reads_the_full_ssn_with_a_reason_the_person_sees);
