//! Two instances of the real binary on one PostgreSQL database and one Redis, as a deployment
//! runs them: what one does, the other knows at once, and killing one loses nothing it
//! acknowledged.

use std::collections::HashSet;

use futures::StreamExt;
use reqwest::Client;
use serde_json::{Value, json};

use crate::{
    binary::{self, TempDir},
    helpers::{
        PASSWORD, REFRESH, REGISTER, cookie_value, graphql_at, new_client, registration,
        set_cookie, unique_email,
    },
};

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_everything_and_a_kill_loses_nothing() {
    let (Ok(admin_url), Ok(redis)) = (
        std::env::var("TEST_DATABASE_URL"),
        std::env::var("TEST_REDIS_URL"),
    ) else {
        eprintln!(
            "TEST_DATABASE_URL and TEST_REDIS_URL are needed: the two-instance test is skipped"
        );
        return;
    };
    let dir = TempDir::new("custodian-instances");
    let database = crate::helpers::create_postgres_database(&admin_url).await;
    let key = binary::master_key();
    let env = [
        ("CUSTODIAN_DATABASE_URL", database.as_str()),
        ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
        ("CUSTODIAN_PUBLIC_URL", "http://localhost:8080"),
        ("CUSTODIAN_RATE_LIMIT_BACKEND", "redis"),
        ("CUSTODIAN_REDIS_URL", redis.as_str()),
        // Only the per-email limit is under test; the per-address ones would count every run.
        (
            "CUSTODIAN_RATE_LIMITS",
            "register_ip=100000/3600,login_ip=100000/60,refresh_ip=100000/60,refresh_session=100000/60",
        ),
    ];
    let a = binary::start_in_test(&dir, &env);
    let mut b = binary::start_in_test(&dir, &env);
    let (first, second) = (a.address.clone(), b.address.clone());

    // A session made on one refreshes on the other.
    let email = unique_email();
    let response = Client::new()
        .post(format!("{first}/graphql"))
        .json(&json!({ "query": REGISTER, "variables": { "input": registration(&email) } }))
        .send()
        .await
        .unwrap();
    let issued = cookie_value(&set_cookie(&response, "custodian_refresh").expect("refresh cookie"));
    let registered: Value = response.json().await.unwrap();
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = Client::new()
        .post(format!("{second}/graphql"))
        .header("cookie", format!("custodian_refresh={issued}"))
        .json(&json!({ "query": REFRESH }))
        .send()
        .await
        .unwrap();
    let current = cookie_value(&set_cookie(&rotated, "custodian_refresh").expect("rotated"));
    let refreshed: Value = rotated.json().await.unwrap();
    assert!(
        refreshed["data"]["refreshToken"]["accessToken"].is_string(),
        "{refreshed}"
    );

    // Fifty refreshes of one token, split over both at once, mint one successor.
    let refreshes = (0..50).map(|index| {
        let address = if index % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let current = current.clone();
        async move {
            let response = Client::new()
                .post(format!("{address}/graphql"))
                .header("cookie", format!("custodian_refresh={current}"))
                .json(&json!({ "query": "mutation { refreshToken { accessToken } }" }))
                .send()
                .await
                .unwrap();
            let successor =
                set_cookie(&response, "custodian_refresh").map(|line| cookie_value(&line));
            let body: Value = response.json().await.unwrap();
            (successor, body)
        }
    });
    let answers = futures::future::join_all(refreshes).await;
    let successors: HashSet<String> = answers
        .iter()
        .filter_map(|(cookie, _)| cookie.clone())
        .collect();
    assert_eq!(
        successors.len(),
        1,
        "one successor for fifty refreshes: {answers:?}"
    );
    let latest = answers
        .iter()
        .find_map(|(_, body)| body["data"]["refreshToken"]["accessToken"].as_str())
        .unwrap()
        .to_owned();
    let me = graphql_at(
        &first,
        &new_client(),
        Some(&latest),
        "{ me { id } }",
        json!({}),
    )
    .await;
    assert!(
        me["errors"].is_null(),
        "the session survived the burst: {me}"
    );

    // Logout on one refuses the token on the other at once.
    graphql_at(
        &first,
        &new_client(),
        Some(&latest),
        "mutation { logout }",
        json!({}),
    )
    .await;
    let refused = graphql_at(
        &second,
        &new_client(),
        Some(&latest),
        "{ me { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&refused), "UNAUTHENTICATED", "{refused}");
    let old = graphql_at(
        &second,
        &new_client(),
        Some(&token),
        "{ me { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&old), "UNAUTHENTICATED", "{old}");

    // The per-email limit is one limit across both.
    let target = unique_email();
    let mut limited = 0;
    for index in 0..14 {
        let address = if index % 2 == 0 { &first } else { &second };
        let body = graphql_at(
            address,
            &new_client(),
            None,
            "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
            json!({ "input": { "email": target, "password": "not the password at all" } }),
        )
        .await;
        if code(&body) == "RATE_LIMITED" {
            limited += 1;
        }
    }
    assert!(
        limited >= 4,
        "10 a minute per email across both: {limited} refused of 14"
    );

    // Kill -9 one instance during 200 registrations: every acknowledged account is there.
    let registrations = futures::stream::iter((0..200).map(|index| {
        let address = if index % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        async move {
            let email = unique_email();
            let body = graphql_at(
                &address,
                &new_client(),
                None,
                REGISTER,
                json!({ "input": registration(&email) }),
            )
            .await;
            body["data"]["register"]["accessToken"]
                .is_string()
                .then_some(email)
        }
    }))
    .buffer_unordered(16)
    .collect::<Vec<_>>();
    let killer = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        b.kill();
    };
    let (acknowledged, ()) = tokio::join!(registrations, killer);
    let acknowledged: Vec<String> = acknowledged.into_iter().flatten().collect();
    assert!(
        acknowledged.len() >= 100,
        "the survivor kept serving: {}",
        acknowledged.len()
    );
    for email in &acknowledged {
        let login = graphql_at(
            &first,
            &new_client(),
            None,
            "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
            json!({ "input": { "email": email, "password": PASSWORD } }),
        )
        .await;
        assert_eq!(
            login["data"]["login"]["__typename"], "AuthPayload",
            "{email}: {login}"
        );
    }
    drop(a);
    let verified = binary::run(&dir.0, &env, &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
