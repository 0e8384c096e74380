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
    let answered = codes(&body);
    assert_eq!(answered.len(), 20, "{body}");
    let limited = answered
        .iter()
        .filter(|code| *code == "RATE_LIMITED")
        .count();
    assert_eq!(limited, 10, "ten per minute per IP and email: {answered:?}");
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
    // Ten refusals, one record: a flood does not become a flood of writes.
    let admin = app.admin_token().await;
    let trail = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "{ adminAuditEvents(filter: { kind: \"rate_limit.tripped\" }) { outcome details ipAddress } }",
            json!({}),
        )
        .await;
    assert_eq!(
        trail["data"]["adminAuditEvents"],
        json!([{ "outcome": "failure", "details": { "rule": "login_ip_email" }, "ipAddress": "127.0.0.1" }]),
        "{trail}"
    );
    // More than twenty such fields in one request are refused before any runs.
    let flood = app
        .graphql_as(
            &new_client(),
            None,
            &aliased_logins(&unique_email(), 21),
            json!({}),
        )
        .await;
    assert_eq!(codes(&flood), ["BAD_USER_INPUT"], "{flood}");
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
    // Behind the proxy, two clients are two keys: each gets its own three attempts.
    for client in ["203.0.113.1", "203.0.113.2"] {
        for attempt in 0..4 {
            let body: Value = Client::new()
                .post(app.url("/graphql"))
                .header("x-forwarded-for", format!("10.9.8.7, {client}"))
                .json(&json!({ "query": aliased_logins(&email, 1) }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let expected = if attempt < 3 {
                "UNAUTHENTICATED"
            } else {
                "RATE_LIMITED"
            };
            assert_eq!(codes(&body), [expected], "{client} attempt {attempt}");
        }
    }
}
db_test!(
    trusted_proxies_pass_the_client_address_on,
    &[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RATE_LIMITS", "login_ip_email=3/60")
    ]
);

/// Two instances sharing one Redis share one limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_redis_share_one_limit() {
    let Ok(redis) = std::env::var("TEST_REDIS_URL") else {
        eprintln!("TEST_REDIS_URL is not set: the Redis test is skipped");
        return;
    };
    // Every run counts against a fresh email, so earlier runs' counters do not matter.
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

async fn an_address_backs_off_after_ten_failures_from_any_ip(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let nobody = unique_email();
    let attempt = |who: &str, password: &str, ip: String| {
        let body = json!({ "query": "mutation($i: LoginInput!) { login(input: $i) { __typename } }", "variables": { "i": { "email": who, "password": password } } });
        let url = app.url("/graphql");
        async move {
            Client::new()
                .post(url)
                .header("x-forwarded-for", ip)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    for who in [&email, &nobody] {
        for index in 0..10 {
            let body = attempt(who, "not the password", format!("198.51.100.{index}")).await;
            assert_eq!(codes(&body), ["UNAUTHENTICATED"], "attempt {index}");
        }
        // An eleventh, from yet another address, is held back: known and unknown alike.
        let held = attempt(who, "not the password", "192.0.2.200".into()).await;
        assert_eq!(codes(&held), ["RATE_LIMITED"], "{held}");
        assert!(
            held["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap()
                <= 900
        );
    }
    // Even the right password waits, but only until the window has passed.
    let right = attempt(&email, crate::helpers::PASSWORD, "192.0.2.201".into()).await;
    assert_eq!(codes(&right), ["RATE_LIMITED"]);
    app.clock
        .advance(chrono::TimeDelta::minutes(15) + chrono::TimeDelta::seconds(1));
    let later = attempt(&email, crate::helpers::PASSWORD, "192.0.2.201".into()).await;
    assert_eq!(
        later["data"]["login"]["__typename"], "AuthPayload",
        "{later}"
    );
}
db_test!(
    an_address_backs_off_after_ten_failures_from_any_ip,
    &[("TRUSTED_PROXIES", "127.0.0.1/32")]
);

/// With Redis unreachable, limited fields refuse and everything else keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_fails_closed() {
    let app = spawn_app(
        Backend::Sqlite,
        &[
            ("RATE_LIMIT_BACKEND", "redis"),
            ("REDIS_URL", "redis://127.0.0.1:1"),
        ],
    )
    .await
    .expect("starts without Redis");
    let body = app
        .graphql_as(
            &new_client(),
            None,
            &aliased_logins(&unique_email(), 1),
            json!({}),
        )
        .await;
    assert_eq!(codes(&body), ["RATE_LIMITED"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
    let health = Client::new().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let open = app
        .graphql_as(&new_client(), None, "{ __typename }", json!({}))
        .await;
    assert_eq!(open["data"]["__typename"], "Query");
}

/// Registrations from one address until the first refusal (at most `tries`).
async fn registrations_before_refusal(app: &TestApp, tries: usize) -> usize {
    for done in 0..tries {
        let body = app
            .graphql_as(
                &Client::new(),
                None,
                crate::helpers::REGISTER,
                json!({ "input": crate::helpers::registration(&unique_email()) }),
            )
            .await;
        if body.get("errors").is_some() {
            assert_eq!(
                body["errors"][0]["extensions"]["rule"], "register_ip",
                "{body}"
            );
            return done;
        }
    }
    tries
}

async fn development_lets_a_sign_up_form_be_built(app: TestApp) {
    assert_eq!(registrations_before_refusal(&app, 15).await, 15);
}
db_test!(
    development_lets_a_sign_up_form_be_built,
    &[("RATE_LIMITS", "login_ip=10000/60")]
);

async fn production_keeps_the_registration_limit(app: TestApp) {
    assert_eq!(registrations_before_refusal(&app, 15).await, 10);
}
db_test!(
    production_keeps_the_registration_limit,
    &[
        ("RATE_LIMITS", "login_ip=10000/60"),
        ("ENV", "production"),
        ("MAIL_TRANSPORT", "file"),
        ("PUBLIC_URL", "https://id.example.com"),
        ("COOKIE_SECURE", "true"),
    ]
);

/// With every hashing thread busy and the queue full, a sign-in is refused at once, and the
/// service is back for the next person as soon as the flood ends.
async fn a_login_flood_is_refused_at_once_past_the_hashing_queue(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let flood = (0..40).map(|_| {
        let app = &app;
        async move {
            app.login_with(&new_client(), &unique_email(), "not the password at all")
                .await
        }
    });
    let answers = futures::future::join_all(flood).await;
    let overloaded: Vec<&Value> = answers
        .iter()
        .filter(|body| body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE")
        .collect();
    assert!(!overloaded.is_empty(), "some of 40 at once are refused");
    for body in &overloaded {
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "OVERLOADED",
            "{body}"
        );
        assert!(
            body["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
    let rest = new_client()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": crate::helpers::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        rest.status(),
        reqwest::StatusCode::OK,
        "the owner signs in afterwards"
    );
}
db_test!(
    a_login_flood_is_refused_at_once_past_the_hashing_queue,
    &[("HASH_QUEUE", "1")]
);
