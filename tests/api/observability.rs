//! What operators see: metrics, and logs that carry request ids and no personal data.

use std::{
    io::{BufRead, BufReader},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::TimeDelta;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    binary::{self, Server, TempDir},
    db_test,
    helpers::{
        LOGIN, PASSWORD, REFRESH, REGISTER, TestApp, assert_no_errors, cookie_value, error_code,
        new_client, outbox_mails, set_cookie, unique_email,
    },
};

async fn metrics(app: &TestApp) -> String {
    let response = Client::new().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("text")
    );
    response.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

async fn metrics_count_logins_operations_and_reuse(app: TestApp) {
    let email = unique_email();
    let register = new_client()
        .post(app.url("/graphql"))
        .json(&json!({ "query": REGISTER, "variables": { "input": crate::helpers::registration(&email) } }))
        .send()
        .await
        .unwrap();
    let first_refresh =
        cookie_value(&set_cookie(&register, "custodian_refresh").expect("refresh cookie"));
    let token = register.json::<Value>().await.unwrap()["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = app
        .login_with(&new_client(), &email, "wrong password here")
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    assert_no_errors(&app.login_with(&new_client(), &email, PASSWORD).await);

    // Rotate once, then replay the first token after the grace window.
    let present = |refresh: String| {
        let app = &app;
        async move {
            Client::new()
                .post(app.url("/graphql"))
                .header(header::COOKIE, format!("custodian_refresh={refresh}"))
                .json(&json!({ "query": REFRESH }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_no_errors(&present(first_refresh.clone()).await);
    app.clock.advance(TimeDelta::seconds(11));
    assert_eq!(error_code(&present(first_refresh).await), "UNAUTHENTICATED");

    // Labels come from the schema: not from operation names, aliases or garbage.
    let aliased = app
        .graphql_as(
            &new_client(),
            Some(&token),
            "query SneakyLabel { whoami: me { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&aliased),
        "UNAUTHENTICATED",
        "the session was revoked"
    );
    app.graphql("{ noSuchField }", json!({})).await;

    let text = metrics(&app).await;
    for series in [
        r#"custodian_logins_total{outcome="success"}"#,
        r#"custodian_logins_total{outcome="failure"}"#,
        "custodian_refresh_token_reuse_total",
        r#"custodian_graphql_operations_total{operation="login",outcome="ok"}"#,
        r#"custodian_graphql_operations_total{operation="login",outcome="UNAUTHENTICATED"}"#,
        r#"custodian_graphql_operations_total{operation="refreshToken",outcome="ok"}"#,
        r#"custodian_graphql_operations_total{operation="me",outcome="UNAUTHENTICATED"}"#,
        r#"custodian_graphql_operations_total{operation="invalid",outcome="BAD_USER_INPUT"}"#,
    ] {
        assert_eq!(sample(&text, series), Some(1.0), "{series} in\n{text}");
    }
    assert!(
        !text.contains("SneakyLabel") && !text.contains("whoami") && !text.contains("noSuchField")
    );
    assert!(
        sample(
            &text,
            r#"custodian_http_requests_total{route="/graphql",method="POST",status="200"}"#
        ) >= Some(7.0),
        "{text}"
    );
    assert!(text.contains(
        r#"custodian_graphql_operation_duration_seconds_count{operation="login",outcome="ok"} 1"#
    ));
    assert!(text.contains(
        r#"custodian_http_request_duration_seconds_count{route="/graphql",method="POST"}"#
    ));
    assert_eq!(
        sample(&text, r#"custodian_argon2_pool{state="in_use"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, r#"custodian_argon2_pool{state="waiting"}"#),
        Some(0.0)
    );
    assert!(sample(&text, "custodian_argon2_pool_capacity") >= Some(1.0));
    assert!(sample(&text, r#"custodian_db_pool_connections{state="idle"}"#).is_some());
    // SQLite takes one writer at a time: its pool is smaller.
    let pool = match app.database().await.get_database_backend() {
        sea_orm::DbBackend::Sqlite => 8.0,
        _ => 16.0,
    };
    assert_eq!(
        sample(&text, "custodian_db_pool_connections_max"),
        Some(pool)
    );
    assert!(!text.contains(&email));
}
db_test!(metrics_count_logins_operations_and_reuse);

async fn a_metrics_token_closes_the_endpoint(app: TestApp) {
    let bare = Client::new().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    let wrong = Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = Client::new()
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("custodian_logins"));
}
db_test!(
    a_metrics_token_closes_the_endpoint,
    &[("METRICS_TOKEN", "scrape-token-for-tests")]
);

async fn production_serves_no_metrics_without_a_token(app: TestApp) {
    let response = Client::new().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
db_test!(
    production_serves_no_metrics_without_a_token,
    &[
        ("ENV", "production"),
        ("MAIL_TRANSPORT", "file"),
        ("PUBLIC_URL", "https://id.example.com"),
        ("COOKIE_SECURE", "true")
    ]
);

struct Logged {
    server: Server,
    outbox: std::path::PathBuf,
    _dir: TempDir,
}

impl std::ops::Deref for Logged {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

fn start_binary(database_url: Option<&str>) -> Logged {
    let dir = TempDir::new("custodian-logs");
    let sqlite = format!("sqlite://{}/test.db?mode=rwc", dir.0.display());
    let key = STANDARD.encode(Uuid::new_v4().as_bytes().repeat(2));
    let server = binary::start(
        &dir.0,
        &[
            ("CUSTODIAN_DATABASE_URL", database_url.unwrap_or(&sqlite)),
            ("CUSTODIAN_ENCRYPTION_KEY", &key),
            ("CUSTODIAN_LOG_FORMAT", "json"),
            // As verbose as an operator chasing a bug would make it.
            ("RUST_LOG", "trace"),
        ],
    )
    .unwrap_or_else(|log| panic!("server did not start: {log}"));
    Logged {
        server,
        outbox: dir.0.join("outbox"),
        _dir: dir,
    }
}

async fn logs_of_a_full_flow_hold_no_secrets_or_personal_data(database_url: Option<&str>) {
    let server = tokio::task::block_in_place(|| start_binary(database_url));
    let url = |path: &str| format!("{}{path}", server.address);
    let email = format!("sentinel-{}@example.com", Uuid::now_v7().simple());
    let password = "Sentinel passphrase 9f3k2 never logged";
    let wrong_password = "Sentinel wrong guess 7q1x never logged";
    let (first_name, last_name) = ("Zebulonsentinel", "Quixoticsentinel");
    let graphql = |client: &Client, token: Option<&str>, query: &str, variables: Value| {
        let mut request = client
            .post(url("/graphql"))
            .header("x-request-id", format!("flow-{}", Uuid::now_v7().simple()))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let browser = new_client();
    let registered = graphql(
        &browser,
        None,
        REGISTER,
        json!({ "input": {
            "email": email, "password": password, "firstName": first_name, "lastName": last_name,
            "ssn": "219-45-6781", "dateOfBirth": "1985-07-14", "phone": "+1 201 555 0123",
            "country": "US", "state": "NY", "postalCode": "10001", "address": "350 Sentinel Avenue",
        } }),
    )
    .await
    .unwrap();
    let refresh_token =
        cookie_value(&set_cookie(&registered, "custodian_refresh").expect("refresh cookie"));
    let device_cookie =
        cookie_value(&set_cookie(&registered, "custodian_device").expect("device cookie"));
    let registered: Value = registered.json().await.unwrap();
    assert_no_errors(&registered);
    let access_token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let reauthenticated: Value = graphql(
        &browser,
        Some(&access_token),
        "mutation($p: String!) { reauthenticate(password: $p) }",
        json!({ "p": password }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&reauthenticated);

    let other = new_client();
    let login = |password: &str| {
        graphql(
            &other,
            None,
            LOGIN,
            json!({ "input": { "email": email, "password": password } }),
        )
    };
    let failed: Value = login(wrong_password).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&failed), "UNAUTHENTICATED");
    let unknown: Value = graphql(
        &new_client(),
        None,
        LOGIN,
        json!({ "input": { "email": format!("nobody-{email}"), "password": password } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
    let signed_in: Value = login(password).await.unwrap().json().await.unwrap();
    assert_no_errors(&signed_in);
    let second_access = signed_in["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = graphql(
        &new_client(),
        Some(&access_token),
        "{ me { email } }",
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(me["data"]["me"]["email"], email.as_str());
    // Personal data in a URL must not reach the log through the request line either.
    let _ = browser
        .get(url(&format!("/graphql?query={{me{{id}}}}&note={email}")))
        .send()
        .await
        .unwrap();
    let refreshed: Value = graphql(&browser, None, REFRESH, json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_no_errors(&refreshed);
    let rotated_access = refreshed["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest: Value = browser
        .post(url("/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rest["accessToken"].is_string(), "{rest}");
    let logout: Value = graphql(
        &other,
        Some(&second_access),
        "mutation { logout }",
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&logout);

    // Recovery: a verification link, a reset link and a new password.
    let mail_token = |subject: &'static str| {
        let outbox = server.outbox.clone();
        async move {
            for _ in 0..100 {
                if let Some(mail) = outbox_mails(&outbox)
                    .into_iter()
                    .find(|mail| mail.subject.contains(subject))
                {
                    return mail.token();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no email \"{subject}\"");
        }
    };
    let verification_token = mail_token("Confirm your email").await;
    let verified: Value = graphql(
        &new_client(),
        None,
        "mutation($t: String!) { verifyEmail(token: $t) }",
        json!({ "t": verification_token }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&verified);
    let requested: Value = graphql(
        &new_client(),
        None,
        "mutation($e: String!) { requestPasswordReset(email: $e) }",
        json!({ "e": email }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&requested);
    let reset_token = mail_token("Reset your").await;
    let new_password = "Sentinel renewed passphrase 4h8w never logged";
    let reset: Value = graphql(
        &new_client(),
        None,
        "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
        json!({ "t": reset_token, "p": new_password }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&reset);

    // Two-step sign-in: the secret, the codes and the challenge token stay out of the log.
    let signed_in: Value = graphql(
        &new_client(),
        None,
        LOGIN,
        json!({ "input": { "email": email, "password": new_password } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = signed_in["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let setup: Value = graphql(
        &new_client(),
        Some(&token),
        "mutation { enableMfa { secret } }",
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let mfa_secret = setup["data"]["enableMfa"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let totp = totp_rs::Builder::new()
        .with_secret(
            totp_rs::Secret::try_from_base32(&mfa_secret)
                .unwrap()
                .as_ref()
                .to_vec(),
        )
        .build()
        .unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let confirmed: Value = graphql(
        &new_client(),
        Some(&token),
        "mutation($c: String!) { confirmMfa(code: $c) { codes } }",
        json!({ "c": totp.generate(now).to_string() }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&confirmed);
    let recovery_code = confirmed["data"]["confirmMfa"]["codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let challenge: Value = graphql(
        &new_client(),
        None,
        "mutation($input: LoginInput!) { login(input: $input) { ... on MfaChallenge { mfaToken } } }",
        json!({ "input": { "email": email, "password": new_password } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let mfa_token = challenge["data"]["login"]["mfaToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let verified: Value = graphql(
        &new_client(),
        None,
        "mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken } }",
        json!({ "t": mfa_token, "c": recovery_code }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_no_errors(&verified);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    let local_part = email.split('@').next().unwrap();
    for (what, secret) in [
        ("email", local_part),
        ("password", password),
        ("wrong password", wrong_password),
        ("first name", first_name),
        ("last name", last_name),
        ("access token", access_token.as_str()),
        ("second access token", second_access.as_str()),
        ("rotated access token", rotated_access.as_str()),
        ("refresh token", refresh_token.as_str()),
        ("device cookie", device_cookie.as_str()),
        ("verification token", verification_token.as_str()),
        ("reset token", reset_token.as_str()),
        ("new password", new_password),
        ("TOTP secret", mfa_secret.as_str()),
        ("recovery code", recovery_code.as_str()),
        ("MFA token", mfa_token.as_str()),
        ("SSN", "219-45-6781"),
        ("SSN digits", "219456781"),
        ("date of birth", "1985-07-14"),
        ("phone", "2015550123"),
        ("address", "Sentinel Avenue"),
    ] {
        assert!(!log.contains(secret), "the log holds the {what}");
    }
    // JSON lines; those written during a request carry its id.
    let mut request_lines = 0;
    for line in BufReader::new(log.as_bytes()).lines() {
        let line = line.unwrap();
        if !line.starts_with('{') {
            continue;
        }
        let entry: Value =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
        if entry["fields"]["message"] == "request finished" {
            request_lines += 1;
            assert!(entry["span"]["request_id"].is_string(), "{line}");
        }
    }
    assert!(
        request_lines >= 8,
        "{request_lines} request lines in\n{log}"
    );
    assert!(
        log.contains("\"client_request_id\":\"flow-"),
        "the caller's request id is logged, beside ours"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_secrets_on_sqlite() {
    logs_of_a_full_flow_hold_no_secrets_or_personal_data(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_secrets_on_postgres() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
        return;
    };
    let url = crate::helpers::create_postgres_database(&admin_url).await;
    logs_of_a_full_flow_hold_no_secrets_or_personal_data(Some(&url)).await;
}
