//! The REST wrappers answer like GraphQL: same services, same cookies, same codes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{
        PASSWORD, TestApp, assert_no_errors, new_client, registration, set_cookie, unique_email,
    },
};

async fn rest_register_login_refresh_logout(app: TestApp) {
    let client = new_client();
    let email = unique_email();
    let register = client
        .post(app.url("/api/auth/register"))
        .json(&registration(&email))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::OK);
    assert!(set_cookie(&register, "custodian_refresh").is_some());
    let body: Value = register.json().await.unwrap();
    assert_eq!(body["account"]["email"], email.as_str());

    let duplicate = new_client()
        .post(app.url("/api/auth/register"))
        .json(&registration(&email))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let weak = new_client()
        .post(app.url("/api/auth/register"))
        .json(&json!({ "email": unique_email(), "password": "short", "firstName": "A", "lastName": "B" }))
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let weak: Value = weak.json().await.unwrap();
    assert_eq!(weak["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(weak["error"]["field"], "password");

    let wrong = new_client()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": "not the password at all" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let login = client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);

    let refresh = client
        .post(app.url("/api/auth/refresh"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), StatusCode::OK);
    let refreshed: Value = refresh.json().await.unwrap();
    let token = refreshed["accessToken"].as_str().unwrap().to_owned();
    assert_no_errors(&app.me(&token).await);

    let logout = client
        .post(app.url("/api/auth/logout"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let again = client
        .post(app.url("/api/auth/refresh"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        crate::helpers::error_code(&app.me(&token).await),
        "UNAUTHENTICATED"
    );
}
db_test!(rest_register_login_refresh_logout);

async fn rest_register_takes_the_profile_with_the_same_rules(app: TestApp) {
    let mut body = registration(&unique_email());
    body["dateOfBirth"] = json!("1990-13-01");
    let refused = new_client()
        .post(app.url("/api/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["field"], "dateOfBirth", "{refused}");

    body["dateOfBirth"] = json!("1990-04-01");
    body["ssn"] = json!("123-45-6789");
    body["country"] = json!("de");
    let accepted: Value = new_client()
        .post(app.url("/api/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        accepted["account"]["dateOfBirth"], "1990-04-01",
        "{accepted}"
    );
    assert_eq!(accepted["account"]["ssnMasked"], "***-**-6789");
    assert_eq!(accepted["account"]["country"], "DE");
    assert!(!accepted.to_string().contains("123-45-6789"));
}
db_test!(rest_register_takes_the_profile_with_the_same_rules);

async fn every_timestamp_is_rfc3339_with_z(app: TestApp) {
    let email = crate::helpers::unique_email();
    let body = app
        .graphql(
            "mutation($input: RegisterInput!) { register(input: $input) { accessTokenExpiresAt account { createdAt } session { createdAt expiresAt } } }",
            serde_json::json!({ "input": crate::helpers::registration(&email) }),
        )
        .await;
    crate::helpers::assert_no_errors(&body);
    let registered = &body["data"]["register"];
    let rest: serde_json::Value = crate::helpers::new_client()
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": crate::helpers::PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for stamp in [
        &registered["accessTokenExpiresAt"],
        &registered["account"]["createdAt"],
        &registered["session"]["createdAt"],
        &registered["session"]["expiresAt"],
        &rest["accessTokenExpiresAt"],
    ] {
        let text = stamp.as_str().unwrap_or_else(|| panic!("{body} {rest}"));
        assert!(text.ends_with('Z'), "{text}");
        assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
    }
}
db_test!(every_timestamp_is_rfc3339_with_z);

async fn bad_bodies_name_the_field(app: TestApp) {
    let post = |path: &'static str, body: String| {
        new_client()
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (path, body, field, message) in [
        (
            "/api/auth/register",
            serde_json::json!({ "email": unique_email(), "password": PASSWORD, "firstName": "A",
                                 "lastName": "B", "phoneNumber": "+12015550123" })
            .to_string(),
            "phoneNumber",
            "is not a field",
        ),
        (
            "/api/auth/login",
            serde_json::json!({ "email": "a@example.com" }).to_string(),
            "password",
            "is required",
        ),
        (
            "/api/auth/login",
            serde_json::json!({ "email": 1, "password": "x" }).to_string(),
            "email",
            "must be a string",
        ),
        (
            "/api/auth/login",
            "{ not json".to_owned(),
            "body",
            "not valid JSON",
        ),
        (
            "/api/auth/login",
            "[1, 2]".to_owned(),
            "body",
            "JSON object",
        ),
    ] {
        let response = post(path, body).await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "BAD_USER_INPUT", "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{answer}"
        );
    }
}
db_test!(bad_bodies_name_the_field);
