//! Rate limits that aliases, REST twins, spoofed headers and several instances cannot dodge.

use reqwest::Client;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{Backend, TestApp, error_code, new_client, spawn_app, unique_email},
};

/// One request holding `count` aliased `login` calls for `email`.
fn aliased_logins(email: &str, count: usize) -> String {
    let fields: String = (0..count)
        .map(|index| {
            format!(
                "a{index}: login(input: {{ email: \"{email}\", password: \"wrong password {index}\" }}) {{ __typename }} "
            )
        })
        .collect();
    format!("mutation {{ {fields} }}")
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| {
                    error["extensions"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn aliases_count_one_by_one(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let body = app
        .graphql_as(&new_client(), None, &aliased_logins(&email, 20), json!({}))
        .await;
    let codes = codes(&body);
    assert_eq!(codes.len(), 20, "{body}");
    let limited = codes.iter().filter(|code| *code == "RATE_LIMITED").count();
    assert_eq!(limited, 10, "ten per minute per IP and email: {codes:?}");
    let retry = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|error| error["extensions"]["code"] == "RATE_LIMITED")
        .unwrap();
    assert!(retry["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    // The REST twin shares the same counter.
    let rest = Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": "wrong again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 429);
    assert!(rest.headers().contains_key("retry-after"));
    // Another address from the same IP still gets through (until the per-IP limit).
    let other = app
        .login_with(&new_client(), &unique_email(), "wrong password")
        .await;
    assert_eq!(error_code(&other), "UNAUTHENTICATED");
}
db_test!(aliases_count_one_by_one);

async fn a_spoofed_forwarded_for_does_not_change_the_key(app: TestApp) {
    let email = unique_email();
    for index in 0..12 {
        let body: Value = Client::new()
            .post(app.url("/graphql"))
            .header("x-forwarded-for", format!("203.0.113.{index}"))
            .json(&json!({ "query": aliased_logins(&email, 1) }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let expected = if index < 10 {
            "UNAUTHENTICATED"
        } else {
            "RATE_LIMITED"
        };
        assert_eq!(codes(&body), [expected], "attempt {index}");
    }
}
db_test!(a_spoofed_forwarded_for_does_not_change_the_key);

async fn trusted_proxies_pass_the_client_address_on(app: TestApp) {
    let email = unique_email();
    // Behind the proxy, two clients are two keys.
    for client in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..10 {
            let body: Value = Client::new()
                .post(app.url("/graphql"))
                .header("x-forwarded-for", client)
                .json(&json!({ "query": aliased_logins(&email, 1) }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{client}");
        }
    }
}
db_test!(
    trusted_proxies_pass_the_client_address_on,
    &[("TRUSTED_PROXIES", "127.0.0.1/32")]
);

/// Two instances sharing one Redis share one limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_redis_share_one_limit() {
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // Each run its own limits: a fresh rule window per unique email anyway.
    let Some(app) = spawn_app(
        Backend::Sqlite,
        &[("RATE_LIMIT_BACKEND", "redis"), ("REDIS_URL", &redis)],
    )
    .await
    else {
        return;
    };
    let sibling = app.spawn_sibling().await;
    let email = unique_email();
    let mut limited = 0;
    for index in 0..20 {
        let base = if index % 2 == 0 {
            app.address.clone()
        } else {
            sibling.clone()
        };
        let body: Value = Client::new()
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": aliased_logins(&email, 1) }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if codes(&body) == ["RATE_LIMITED"] {
            limited += 1;
        }
    }
    assert_eq!(
        limited, 10,
        "20 attempts over two instances, one limit of 10"
    );
}
