//! Sessions and refresh-token rotation, including the races peers get wrong.

use chrono::TimeDelta;
use futures::future::join_all;
use reqwest::{Client, header};
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{
        REFRESH, TestApp, assert_no_errors, cookie_value, error_code, new_client, set_cookie,
        unique_email,
    },
};

const REFRESH_COOKIE: &str = "custodian_refresh";

/// Refreshes by presenting `refresh` explicitly (no cookie jar); returns the body and the
/// successor refresh token, if one was set.
async fn refresh_raw(app: &TestApp, refresh: &str) -> (Value, Option<String>) {
    let response = Client::new()
        .post(app.url("/graphql"))
        .header(header::COOKIE, format!("{REFRESH_COOKIE}={refresh}"))
        .json(&json!({ "query": REFRESH }))
        .send()
        .await
        .unwrap();
    let successor = set_cookie(&response, REFRESH_COOKIE)
        .map(|line| cookie_value(&line))
        .filter(|value| !value.is_empty());
    (response.json().await.unwrap(), successor)
}

/// Registers with a fresh client; returns (access token, refresh token).
async fn signed_in(app: &TestApp) -> (String, String) {
    let response = app
        .post_graphql(
            &new_client(),
            None,
            crate::helpers::REGISTER,
            json!({ "input": crate::helpers::registration(&unique_email()) }),
        )
        .await;
    let refresh = cookie_value(&set_cookie(&response, REFRESH_COOKIE).expect("refresh cookie set"));
    let body: Value = response.json().await.unwrap();
    (
        body["data"]["register"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        refresh,
    )
}

async fn refresh_rotates_and_reuse_revokes_the_session(app: TestApp) {
    let (_, first) = signed_in(&app).await;
    let (body, second) = refresh_raw(&app, &first).await;
    assert_no_errors(&body);
    let second = second.expect("a successor");
    assert_ne!(first, second);
    let access = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_errors(&app.me(&access).await);

    // The successor works in turn.
    let (body, third) = refresh_raw(&app, &second).await;
    assert_no_errors(&body);
    let third = third.unwrap();

    // After the grace window, the first token is a replay: the whole session ends.
    app.clock.advance(TimeDelta::seconds(11));
    let (replay, _) = refresh_raw(&app, &first).await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    let (after, _) = refresh_raw(&app, &third).await;
    assert_eq!(
        error_code(&after),
        "UNAUTHENTICATED",
        "the family is revoked: {after}"
    );
    assert_eq!(error_code(&app.me(&access).await), "UNAUTHENTICATED");

    // The owner finds the replay, and the session it ended, in their security activity.
    let account = body["data"]["refreshToken"]["account"]["id"].clone();
    let session = body["data"]["refreshToken"]["session"]["id"].clone();
    let admin = app.admin_token().await;
    let events = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "query($id: UUID!) { adminAuditEvents(filter: { accountId: $id, kind: \"token.reuse_detected\" }) { outcome sessionId accountId } }",
            json!({ "id": account }),
        )
        .await;
    assert_eq!(
        events["data"]["adminAuditEvents"],
        json!([{ "outcome": "failure", "sessionId": session, "accountId": account }])
    );
}
db_test!(refresh_rotates_and_reuse_revokes_the_session);

async fn a_retry_inside_the_grace_window_gets_the_same_successor(app: TestApp) {
    let (_, first) = signed_in(&app).await;
    let (a, successor_a) = refresh_raw(&app, &first).await;
    app.clock.advance(TimeDelta::seconds(5));
    let (b, successor_b) = refresh_raw(&app, &first).await;
    assert_no_errors(&a);
    assert_no_errors(&b);
    assert_eq!(successor_a, successor_b, "no fork: one successor");
    // Both tabs stay signed in, and the shared successor rotates normally.
    assert_no_errors(
        &app.me(a["data"]["refreshToken"]["accessToken"].as_str().unwrap())
            .await,
    );
    assert_no_errors(
        &app.me(b["data"]["refreshToken"]["accessToken"].as_str().unwrap())
            .await,
    );
    let (next, _) = refresh_raw(&app, &successor_a.unwrap()).await;
    assert_no_errors(&next);
}
db_test!(a_retry_inside_the_grace_window_gets_the_same_successor);

async fn a_parent_replayed_after_its_successor_rotated_revokes_the_session(app: TestApp) {
    let (_, first) = signed_in(&app).await;
    let (_, second) = refresh_raw(&app, &first).await;
    let (body, third) = refresh_raw(&app, &second.unwrap()).await;
    assert_no_errors(&body);
    let access = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Still inside the first token's grace window, but the family has moved on twice.
    let (replay, successor) = refresh_raw(&app, &first).await;
    assert_eq!(error_code(&replay), "UNAUTHENTICATED", "{replay}");
    assert_eq!(successor, None, "a replay gets no token");
    let (after, _) = refresh_raw(&app, &third.unwrap()).await;
    assert_eq!(
        error_code(&after),
        "UNAUTHENTICATED",
        "the family is revoked"
    );
    assert_eq!(error_code(&app.me(&access).await), "UNAUTHENTICATED");
}
db_test!(a_parent_replayed_after_its_successor_rotated_revokes_the_session);

/// The per-session limit counts before the rotation writes (or inside its transaction, which
/// a refusal rolls back): the refused token still works once the limit allows, and is no
/// replay.
async fn a_refresh_the_session_limit_refuses_burns_no_token(app: TestApp) {
    let (_, first) = signed_in(&app).await;
    let (body, second) = refresh_raw(&app, &first).await;
    assert_no_errors(&body);
    let second = second.expect("a successor");
    let (refused, none) = refresh_raw(&app, &second).await;
    assert_eq!(error_code(&refused), "RATE_LIMITED", "{refused}");
    assert_eq!(none, None, "a refused refresh sets no token");
    let admin = app.admin_token().await;
    let trail = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "{ adminAuditEvents(filter: { kind: \"rate_limit.tripped\" }) { outcome details } }",
            json!({}),
        )
        .await;
    assert_eq!(
        trail["data"]["adminAuditEvents"],
        json!([{ "outcome": "failure", "details": { "rule": "refresh_session" } }]),
        "{trail}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // Past the grace window: had the refusal kept its claim, this would be a replay, and
    // the whole session would end.
    app.clock.advance(TimeDelta::seconds(11));
    let (body, third) = refresh_raw(&app, &second).await;
    assert_no_errors(&body);
    let access = body["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_errors(&app.me(&access).await);
    assert!(third.is_some_and(|third| third != second));
}
db_test!(
    a_refresh_the_session_limit_refuses_burns_no_token,
    &[("RATE_LIMITS", "refresh_session=1/2")]
);

async fn fifty_concurrent_refreshes_yield_exactly_one_successor(app: TestApp) {
    let (_, first) = signed_in(&app).await;
    let results = join_all((0..50).map(|_| refresh_raw(&app, &first))).await;
    let mut successors: Vec<String> = results
        .iter()
        .map(|(body, successor)| {
            assert_no_errors(body);
            successor
                .clone()
                .expect("every refresh in the window gets the successor")
        })
        .collect();
    successors.dedup();
    assert_eq!(
        successors.len(),
        1,
        "one token minted exactly one successor"
    );
    let (next, _) = refresh_raw(&app, &successors[0]).await;
    assert_no_errors(&next);
}
db_test!(fifty_concurrent_refreshes_yield_exactly_one_successor);

async fn refresh_racing_logout_leaves_no_usable_token(app: TestApp) {
    for _ in 0..5 {
        let (access, refresh) = signed_in(&app).await;
        let logout = async {
            Client::new()
                .post(app.url("/graphql"))
                .bearer_auth(&access)
                .json(&json!({ "query": "mutation { logout }" }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        };
        let ((refreshed, successor), logged_out) =
            tokio::join!(refresh_raw(&app, &refresh), logout);
        assert_eq!(logged_out["data"]["logout"], true, "{logged_out}");
        // Whichever won, nothing issued by the race works afterwards.
        if let Some(token) = refreshed["data"]["refreshToken"]["accessToken"].as_str() {
            assert_eq!(error_code(&app.me(token).await), "UNAUTHENTICATED");
        }
        if let Some(successor) = successor {
            let (again, _) = refresh_raw(&app, &successor).await;
            assert_eq!(error_code(&again), "UNAUTHENTICATED");
        }
        assert_eq!(error_code(&app.me(&access).await), "UNAUTHENTICATED");
    }
}
db_test!(refresh_racing_logout_leaves_no_usable_token);

async fn sessions_expire_when_idle(app: TestApp) {
    let (_, refresh) = signed_in(&app).await;
    app.clock
        .advance(TimeDelta::days(7) + TimeDelta::seconds(1));
    let (body, _) = refresh_raw(&app, &refresh).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}
db_test!(sessions_expire_when_idle);

async fn sessions_end_at_the_absolute_limit_however_active(app: TestApp) {
    let (_, mut refresh) = signed_in(&app).await;
    // Refreshing every six days keeps the session alive until day 30, and not a moment past.
    for _ in 0..4 {
        app.clock.advance(TimeDelta::days(6));
        let (body, successor) = refresh_raw(&app, &refresh).await;
        assert_no_errors(&body);
        refresh = successor.unwrap();
    }
    app.clock
        .advance(TimeDelta::days(6) + TimeDelta::seconds(1));
    let (body, _) = refresh_raw(&app, &refresh).await;
    assert_eq!(
        error_code(&body),
        "UNAUTHENTICATED",
        "day 30 is the end: {body}"
    );
}
db_test!(sessions_end_at_the_absolute_limit_however_active);

async fn logout_kills_both_tokens(app: TestApp) {
    let (access, refresh) = signed_in(&app).await;
    let body: Value = Client::new()
        .post(app.url("/graphql"))
        .bearer_auth(&access)
        .json(&json!({ "query": "mutation { logout }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["logout"], true);
    assert_eq!(error_code(&app.me(&access).await), "UNAUTHENTICATED");
    let (refreshed, _) = refresh_raw(&app, &refresh).await;
    assert_eq!(error_code(&refreshed), "UNAUTHENTICATED");
}
db_test!(logout_kills_both_tokens);

async fn a_person_revokes_another_of_their_sessions(app: TestApp) {
    let email = unique_email();
    let laptop = new_client();
    let phone = new_client();
    let registered = app.register_with(&laptop, &email).await;
    let login = app
        .login_with(&phone, &email, crate::helpers::PASSWORD)
        .await;
    let phone_session = login["data"]["login"]["session"]["id"].clone();
    let phone_access = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = app
        .graphql_as(
            &laptop,
            None,
            "{ sessions { id current ipAddress userAgent } }",
            json!({}),
        )
        .await;
    let sessions = listed["data"]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["id"], phone_session, "newest first");
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["current"], true);
    assert_eq!(sessions[1]["ipAddress"], "127.0.0.1");

    let revoked = app
        .graphql_as(
            &laptop,
            None,
            "mutation($id: UUID!) { revokeSession(id: $id) }",
            json!({ "id": phone_session }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeSession"], true, "{revoked}");
    assert_eq!(error_code(&app.me(&phone_access).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    assert_no_errors(&app.me(registered["accessToken"].as_str().unwrap()).await);

    // Someone else's session is not found, and stays active.
    let stranger = app.register_with(&new_client(), &unique_email()).await;
    let attempt = app
        .graphql_as(
            &laptop,
            None,
            "mutation($id: UUID!) { revokeSession(id: $id) }",
            json!({ "id": stranger["session"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&attempt), "NOT_FOUND");
    assert_no_errors(&app.me(stranger["accessToken"].as_str().unwrap()).await);
}
db_test!(a_person_revokes_another_of_their_sessions);

async fn revoke_other_sessions_keeps_the_current_one(app: TestApp) {
    let email = unique_email();
    let main = new_client();
    let registered = app.register_with(&main, &email).await;
    let mut others = Vec::new();
    for _ in 0..3 {
        let login = app
            .login_with(&new_client(), &email, crate::helpers::PASSWORD)
            .await;
        others.push(
            login["data"]["login"]["accessToken"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let body = app
        .graphql_as(&main, None, "mutation { revokeOtherSessions }", json!({}))
        .await;
    assert_eq!(body["data"]["revokeOtherSessions"], 3, "{body}");
    for token in others {
        assert_eq!(error_code(&app.me(&token).await), "UNAUTHENTICATED");
    }
    assert_no_errors(&app.me(registered["accessToken"].as_str().unwrap()).await);
}
db_test!(revoke_other_sessions_keeps_the_current_one);

async fn login_never_reuses_a_planted_session_cookie(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let response = Client::new()
        .post(app.url("/graphql"))
        .header(header::COOKIE, format!("{REFRESH_COOKIE}=planted-by-attacker"))
        .json(&json!({ "query": crate::helpers::LOGIN, "variables": { "input": { "email": email, "password": crate::helpers::PASSWORD } } }))
        .send()
        .await
        .unwrap();
    let issued = cookie_value(&set_cookie(&response, REFRESH_COOKIE).unwrap());
    assert_ne!(issued, "planted-by-attacker");
    assert_eq!(issued.len(), 43, "256-bit token");
}
db_test!(login_never_reuses_a_planted_session_cookie);
