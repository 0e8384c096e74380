//! Authenticated requests trust a cached session; ending the session must still refuse its
//! access token on the next request on this instance, and within a second on another.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    binary::{self, TempDir},
    db_test,
    helpers::{
        LOGIN, ME, PASSWORD, REGISTER, TestApp, assert_no_errors, error_code, graphql_at,
        new_client, registration, unique_email,
    },
};

const CHANGE: &str = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";
const NEW_PASSWORD: &str = "a quite different passphrase";

fn token(payload: &Value) -> String {
    payload["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// Registers, then signs in on a second device: (first device's token, second device's token,
/// second device's session id). Both tokens are used once, so both sessions are cached.
async fn two_devices(app: &TestApp) -> (String, String, String) {
    let email = unique_email();
    let first = token(&app.register_with(&new_client(), &email).await);
    let login = app.login_with(&new_client(), &email, PASSWORD).await;
    let second = token(&login["data"]["login"]);
    let session = login["data"]["login"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();
    for token in [&first, &second] {
        assert_no_errors(&app.me(token).await);
        assert_no_errors(&app.me(token).await);
    }
    (first, second, session)
}

async fn ended_sessions_are_refused_at_once_on_this_instance(app: TestApp) {
    let refused = |body: Value| {
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "SESSION_ENDED",
            "{body}"
        );
    };

    // Logout.
    let (first, second, _) = two_devices(&app).await;
    app.graphql_as(
        &new_client(),
        Some(&first),
        "mutation { logout }",
        json!({}),
    )
    .await;
    refused(app.me(&first).await);
    assert_no_errors(&app.me(&second).await);

    // Revoking another session.
    let (first, second, session) = two_devices(&app).await;
    let revoked = app
        .graphql_as(
            &new_client(),
            Some(&first),
            "mutation($id: UUID!) { revokeSession(id: $id) }",
            json!({ "id": session }),
        )
        .await;
    assert_no_errors(&revoked);
    refused(app.me(&second).await);
    assert_no_errors(&app.me(&first).await);

    // Signing out everywhere else.
    let (first, second, _) = two_devices(&app).await;
    let others = app
        .graphql_as(
            &new_client(),
            Some(&first),
            "mutation { revokeOtherSessions }",
            json!({}),
        )
        .await;
    assert_eq!(others["data"]["revokeOtherSessions"], 1, "{others}");
    refused(app.me(&second).await);
    assert_no_errors(&app.me(&first).await);

    // Changing the password ends the other sessions.
    let (first, second, _) = two_devices(&app).await;
    let changed = app
        .graphql_as(
            &new_client(),
            Some(&first),
            CHANGE,
            json!({ "current": PASSWORD, "new": NEW_PASSWORD }),
        )
        .await;
    assert_no_errors(&changed);
    refused(app.me(&second).await);
    assert_no_errors(&app.me(&first).await);

    // Closing the account ends them all.
    let (first, second, _) = two_devices(&app).await;
    let closed = app
        .graphql_as(
            &new_client(),
            Some(&first),
            "mutation($p: String!) { deleteAccount(password: $p) }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_no_errors(&closed);
    refused(app.me(&first).await);
    refused(app.me(&second).await);

    // Support suspending the account ends them all.
    let admin = app.admin_token().await;
    let (first, second, _) = two_devices(&app).await;
    let id = app.me(&first).await["data"]["me"]["id"].clone();
    let suspended = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "mutation($id: UUID!) { suspendAccount(accountId: $id, reason: \"reported stolen phone\") { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&suspended);
    refused(app.me(&first).await);
    refused(app.me(&second).await);
}
db_test!(ended_sessions_are_refused_at_once_on_this_instance);

/// How long until `me` with `token` is refused at `address`, if it is within `limit`.
async fn refused_within(address: &str, token: &str, limit: Duration) -> Option<Duration> {
    let began = Instant::now();
    while began.elapsed() <= limit {
        let body = graphql_at(address, &new_client(), Some(token), ME, json!({})).await;
        if body["errors"][0]["extensions"]["reason"] == "SESSION_ENDED" {
            return Some(began.elapsed());
        }
        assert!(body["errors"].is_null(), "only refused as ended: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ended_session_is_refused_on_another_instance_within_a_second() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is needed: the two-instance cache test is skipped");
        return;
    };
    let dir = TempDir::new("custodian-session-cache");
    let database = crate::helpers::create_postgres_database(&admin_url).await;
    let key = binary::master_key();
    let env = [
        ("CUSTODIAN_DATABASE_URL", database.as_str()),
        ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
        ("CUSTODIAN_PUBLIC_URL", "http://localhost:8080"),
    ];
    let a = binary::start_in_test(&dir, &env);
    let b = binary::start_in_test(&dir, &env);
    let (a, b) = (a.address.clone(), b.address.clone());
    let sign_in = |address: String, email: String| async move {
        let body = graphql_at(
            &address,
            &new_client(),
            None,
            LOGIN,
            json!({ "input": { "email": email, "password": PASSWORD } }),
        )
        .await;
        token(&body["data"]["login"])
    };
    let warm = |token: String| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            for address in [&a, &b, &a, &b] {
                let body = graphql_at(address, &new_client(), Some(&token), ME, json!({})).await;
                assert!(body["errors"].is_null(), "{body}");
            }
        }
    };
    let limit = Duration::from_secs(1);

    // Logout on A; B had the session cached.
    let email = unique_email();
    let registered = graphql_at(
        &a,
        &new_client(),
        None,
        REGISTER,
        json!({ "input": registration(&email) }),
    )
    .await;
    let first = token(&registered["data"]["register"]);
    warm(first.clone()).await;
    graphql_at(
        &a,
        &new_client(),
        Some(&first),
        "mutation { logout }",
        json!({}),
    )
    .await;
    let elapsed = refused_within(&b, &first, limit).await;
    assert!(elapsed.is_some(), "logout on A reached B within {limit:?}");

    // A password change on B ends A's cached sessions.
    let phone = sign_in(b.clone(), email.clone()).await;
    let laptop = sign_in(a.clone(), email.clone()).await;
    warm(phone.clone()).await;
    warm(laptop.clone()).await;
    let changed = graphql_at(
        &b,
        &new_client(),
        Some(&phone),
        CHANGE,
        json!({ "current": PASSWORD, "new": NEW_PASSWORD }),
    )
    .await;
    assert!(changed["errors"].is_null(), "{changed}");
    let elapsed = refused_within(&a, &laptop, limit).await;
    assert!(
        elapsed.is_some(),
        "a password change on B reached A within {limit:?}"
    );

    // The refusals came through the channel: both instances answered from their caches.
    for address in [&a, &b] {
        let metrics = reqwest::get(format!("{address}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("custodian_session_channel_heard 1"),
            "{metrics}"
        );
        let cached = metrics
            .lines()
            .find_map(|line| {
                line.strip_prefix("custodian_session_checks_total{outcome=\"cache\"} ")
            })
            .and_then(|count| count.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(cached > 0, "{metrics}");
    }
    let kept = graphql_at(&a, &new_client(), Some(&phone), ME, json!({})).await;
    assert!(
        kept["errors"].is_null(),
        "the changing session stays: {kept}"
    );
}
