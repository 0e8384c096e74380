//! Errors that say what to do: why a token was refused, why a caller was denied, which limit
//! refused, on GraphQL and REST alike.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{ME, PASSWORD, TestApp, assert_no_errors, error_code, new_client, unique_email},
};

fn reason(body: &Value) -> &str {
    body["errors"][0]["extensions"]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {body}"))
}

async fn me_with(app: &TestApp, token: Option<&str>) -> Value {
    app.graphql_as(&new_client(), token, ME, json!({})).await
}

async fn unauthenticated_says_why(app: TestApp) {
    let none = me_with(&app, None).await;
    assert_eq!(error_code(&none), "UNAUTHENTICATED");
    assert_eq!(reason(&none), "AUTHENTICATION_REQUIRED");

    let garbage = me_with(&app, Some("not-a-token")).await;
    assert_eq!(error_code(&garbage), "UNAUTHENTICATED");
    assert_eq!(reason(&garbage), "TOKEN_INVALID");

    let email = unique_email();
    let token = app.register(&email).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        reason(&me_with(&app, Some(&tampered)).await),
        "TOKEN_INVALID"
    );

    // A stale token does not get in the way of signing in again.
    let client = new_client();
    let login = app.login_with(&client, &email, PASSWORD).await;
    assert_no_errors(&login);
    let fresh = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let relogin = app
        .graphql_as(
            &new_client(),
            Some(&tampered),
            "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
            json!({ "input": { "email": email, "password": PASSWORD } }),
        )
        .await;
    assert_no_errors(&relogin);

    let logout = app
        .graphql_as(&client, Some(&fresh), "mutation { logout }", json!({}))
        .await;
    assert_no_errors(&logout);
    let ended = me_with(&app, Some(&fresh)).await;
    assert_eq!(reason(&ended), "SESSION_ENDED");

    app.clock.advance(TimeDelta::minutes(16));
    let expired = me_with(&app, Some(&token)).await;
    assert_eq!(error_code(&expired), "UNAUTHENTICATED");
    assert_eq!(reason(&expired), "TOKEN_EXPIRED");
}
db_test!(unauthenticated_says_why);

async fn every_refusal_carries_a_reason(app: TestApp) {
    let admin = app.admin_token().await;
    let me = app
        .graphql_as(&new_client(), Some(&admin), "{ me { id } }", json!({}))
        .await;
    let own = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "mutation($id: UUID!) { setKycStatus(accountId: $id, status: APPROVED, profileVersion: 0) { id } }",
            json!({ "id": me["data"]["me"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&own), "FORBIDDEN");
    assert_eq!(reason(&own), "OWN_ACCOUNT");

    let person = app.register(&unique_email()).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_only = app
        .graphql_as(
            &new_client(),
            Some(&person),
            "{ accounts(first: 1) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&admin_only), "FORBIDDEN");
    assert_eq!(reason(&admin_only), "ROLE_REQUIRED");
}
db_test!(every_refusal_carries_a_reason);

async fn a_refusal_names_its_limit(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let mut last = Value::Null;
    for _ in 0..11 {
        last = app
            .login_with(&new_client(), &email, "not the password at all")
            .await;
    }
    assert_eq!(error_code(&last), "RATE_LIMITED");
    assert_eq!(last["errors"][0]["extensions"]["rule"], "login_ip_email");
    assert!(
        last["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );

    let rest = new_client()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": "not the password at all" }))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = rest.json().await.unwrap();
    assert_eq!(body["error"]["rule"], "login_ip_email", "{body}");
}
db_test!(a_refusal_names_its_limit);

async fn graphql_answers_every_refusal_in_its_own_shape(app: TestApp) {
    let form = new_client()
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body("{ me { id } }")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = form.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    let foreign = new_client()
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let body: Value = foreign.json().await.unwrap();
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(reason(&body), "CROSS_ORIGIN");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("https://evil.example") && message.contains("CUSTODIAN_CORS_ORIGINS"),
        "development says which setting lets an SPA in: {message}"
    );

    let no_query = new_client()
        .post(app.url("/graphql"))
        .json(&json!({ "variables": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_query.status(), StatusCode::BAD_REQUEST);
    let body: Value = no_query.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("no query in the request"),
        "{body}"
    );

    // A malformed id argument names the argument.
    let bad_id = app
        .graphql_as(
            &new_client(),
            Some(&app.admin_token().await),
            "{ account(id: \"not-a-uuid\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&bad_id), "BAD_USER_INPUT", "{bad_id}");
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "id", "{bad_id}");
}
db_test!(graphql_answers_every_refusal_in_its_own_shape);
