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

/// Two instances of the binary on one fresh PostgreSQL database, stopped when dropped; `None`
/// (the test is skipped) without `TEST_DATABASE_URL`.
struct TwoInstances {
    _servers: [binary::Server; 2],
    _dir: TempDir,
    a: String,
    b: String,
    database: String,
}

impl TwoInstances {
    async fn start() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL is needed: the two-instance cache test is skipped");
            return None;
        };
        let dir = TempDir::new("custodian-two-instances");
        let database = crate::helpers::create_postgres_database(&admin_url).await;
        let key = binary::master_key();
        let env = [
            ("CUSTODIAN_DATABASE_URL", database.as_str()),
            ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
            ("CUSTODIAN_PUBLIC_URL", "http://localhost:8080"),
        ];
        let servers = [
            binary::start_in_test(&dir, &env),
            binary::start_in_test(&dir, &env),
        ];
        Some(Self {
            a: servers[0].address.clone(),
            b: servers[1].address.clone(),
            _servers: servers,
            _dir: dir,
            database,
        })
    }
}

async fn metrics_of(address: &str) -> String {
    reqwest::get(format!("{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the counter `series` (name and labels) in `metrics`; 0 when absent.
fn counted(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

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
    let Some(instances) = TwoInstances::start().await else {
        return;
    };
    let (a, b) = (instances.a.clone(), instances.b.clone());
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
        let metrics = metrics_of(address).await;
        assert!(
            metrics.contains("custodian_session_channel_heard 1"),
            "{metrics}"
        );
        let cached = counted(
            &metrics,
            "custodian_session_checks_total{outcome=\"cache\"}",
        );
        assert!(cached > 0, "{metrics}");
    }
    let kept = graphql_at(&a, &new_client(), Some(&phone), ME, json!({})).await;
    assert!(
        kept["errors"].is_null(),
        "the changing session stays: {kept}"
    );
}

/// How long until `{ me { city } }` with `token` at `address` shows `city`, if within `limit`.
async fn shown_within(address: &str, token: &str, city: &str, limit: Duration) -> Option<Duration> {
    let began = Instant::now();
    while began.elapsed() <= limit {
        let body = graphql_at(
            address,
            &new_client(),
            Some(token),
            "{ me { city } }",
            json!({}),
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
        if body["data"]["me"]["city"] == city {
            return Some(began.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Account rows are cached as well: a change made on another instance, or by anyone with
/// access to the database, shows on this one within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_changed_elsewhere_shows_within_a_second() {
    use sea_orm::{ConnectionTrait, Database};
    let Some(instances) = TwoInstances::start().await else {
        return;
    };
    let (a, b) = (instances.a.clone(), instances.b.clone());
    let registered = graphql_at(
        &a,
        &new_client(),
        None,
        REGISTER,
        json!({ "input": registration(&unique_email()) }),
    )
    .await;
    let token = token(&registered["data"]["register"]);
    let limit = Duration::from_secs(1);
    let show_city = |city: &'static str| {
        let (a, b, token) = (a.clone(), b.clone(), token.clone());
        async move {
            for address in [&a, &b] {
                let elapsed = shown_within(address, &token, city, limit).await;
                assert!(elapsed.is_some(), "{address} shows {city} within {limit:?}");
            }
        }
    };
    // Both instances read the row twice: from then on each answers from its cache.
    let mut seen = Vec::new();
    for address in [&a, &b, &a, &b] {
        let body = graphql_at(
            address,
            &new_client(),
            Some(&token),
            "{ me { city } }",
            json!({}),
        )
        .await;
        assert!(body["errors"].is_null(), "{body}");
        seen.push(body["data"]["me"]["city"].clone());
    }
    assert!(seen.windows(2).all(|pair| pair[0] == pair[1]), "{seen:?}");
    assert_ne!(seen[0], "Lisbon");

    // A profile change on B shows on A (and at once on B).
    let changed = graphql_at(
        &b,
        &new_client(),
        Some(&token),
        "mutation { updateProfile(input: { city: \"Lisbon\" }) { city } }",
        json!({}),
    )
    .await;
    assert_eq!(
        changed["data"]["updateProfile"]["city"], "Lisbon",
        "{changed}"
    );
    let at_once = graphql_at(
        &b,
        &new_client(),
        Some(&token),
        "{ me { city } }",
        json!({}),
    )
    .await;
    assert_eq!(at_once["data"]["me"]["city"], "Lisbon", "{at_once}");
    show_city("Lisbon").await;

    // A change made in the database itself, by no instance, shows on both.
    let db = Database::connect(instances.database.as_str())
        .await
        .unwrap();
    db.execute_unprepared("UPDATE accounts SET city = 'Porto'")
        .await
        .unwrap();
    show_city("Porto").await;

    for address in [&a, &b] {
        let metrics = metrics_of(address).await;
        let cached = counted(&metrics, "custodian_account_reads_total{outcome=\"cache\"}");
        assert!(cached > 0, "{address} answered from its cache: {metrics}");
    }
}
