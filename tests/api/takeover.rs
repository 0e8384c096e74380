//! Account-takeover defences: re-authentication before sensitive changes, the security stamp,
//! the race-free per-address backoff, per-/64 IPv6 limits, the second-factor lockout, device
//! recognition and the security emails.

use chrono::TimeDelta;
use futures::future::join_all;
use reqwest::{Client, header};
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{
        PASSWORD, TestApp, assert_no_errors, cookie_value, error_code, from_ip, new_client,
        set_cookie, unique_email,
    },
    mfa::{ENABLE, VERIFY, challenge, code, enrol},
};

const REAUTH: &str = "mutation($p: String!, $c: String) { reauthenticate(password: $p, code: $c) }";
const SESSIONS: &str = "{ sessions { current reauthenticatedUntil } }";
const UPDATE: &str =
    "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { ssnMasked phone } }";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn extension<'a>(body: &'a Value, name: &str) -> &'a str {
    body["errors"][0]["extensions"][name]
        .as_str()
        .unwrap_or_default()
}

fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["extensions"]["code"].as_str().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

/// A code from the app that is not the current one (nor, but for a one-in-a-million chance,
/// a neighbouring step's).
fn wrong_code(app: &TestApp, secret: &str) -> String {
    let right: u32 = code(app, secret).parse().unwrap();
    format!("{:06}", (right + 500_000) % 1_000_000)
}

async fn reauthenticated_until(app: &TestApp, token: &str) -> Value {
    let body = app
        .graphql_as(&new_client(), Some(token), SESSIONS, json!({}))
        .await;
    assert_no_errors(&body);
    body["data"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == true)
        .unwrap()["reauthenticatedUntil"]
        .clone()
}

async fn sensitive_changes_need_a_recent_password(app: TestApp) {
    let client = new_client();
    let token = app.register_with(&client, &unique_email()).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Registering proved the password: the window is open now, and says until when.
    let until = reauthenticated_until(&app, &token).await;
    assert!(until.is_string(), "{until}");

    app.clock.advance(TimeDelta::minutes(6));
    let refused = app
        .graphql_as(&client, Some(&token), ENABLE, json!({}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(extension(&refused, "reason"), "REAUTHENTICATION_REQUIRED");
    assert!(refused["data"].is_null(), "{refused}");
    let ssn = app
        .graphql_as(
            &client,
            Some(&token),
            UPDATE,
            json!({ "i": { "ssn": "219-45-6781" } }),
        )
        .await;
    assert_eq!(
        extension(&ssn, "reason"),
        "REAUTHENTICATION_REQUIRED",
        "{ssn}"
    );
    let me = app
        .graphql_as(&client, Some(&token), "{ me { ssnMasked } }", json!({}))
        .await;
    assert_eq!(
        me["data"]["me"]["ssnMasked"],
        Value::Null,
        "nothing changed"
    );
    // A phone number is not identity: it changes without re-authentication.
    let phone = app
        .graphql_as(
            &client,
            Some(&token),
            UPDATE,
            json!({ "i": { "phone": "+1 201 555 0123" } }),
        )
        .await;
    assert_no_errors(&phone);

    let wrong = app
        .graphql_as(
            &client,
            Some(&token),
            REAUTH,
            json!({ "p": "not my password at all" }),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(extension(&wrong, "field"), "password");
    let right = app
        .graphql_as(&client, Some(&token), REAUTH, json!({ "p": PASSWORD }))
        .await;
    assert_eq!(right["data"]["reauthenticate"], true, "{right}");
    let reopened = reauthenticated_until(&app, &token).await;
    assert!(
        reopened.as_str() > until.as_str(),
        "{reopened} after {until}"
    );
    assert_no_errors(
        &app.graphql_as(&client, Some(&token), ENABLE, json!({}))
            .await,
    );
    let ssn = app
        .graphql_as(
            &client,
            Some(&token),
            UPDATE,
            json!({ "i": { "ssn": "219-45-6781" } }),
        )
        .await;
    assert_eq!(
        ssn["data"]["updateProfile"]["ssnMasked"], "***-**-6781",
        "{ssn}"
    );
}
db_test!(sensitive_changes_need_a_recent_password);

async fn with_mfa_on_reauthentication_takes_a_code(app: TestApp) {
    let client = new_client();
    let enrolled = enrol(&app, &client).await;
    app.clock.advance(TimeDelta::minutes(6));
    let regenerate = "mutation($c: String!) { regenerateRecoveryCodes(code: $c) { codes } }";
    let refused = app
        .graphql_as(
            &client,
            Some(&enrolled.token),
            regenerate,
            json!({ "c": code(&app, &enrolled.secret) }),
        )
        .await;
    assert_eq!(extension(&refused, "reason"), "REAUTHENTICATION_REQUIRED");

    let reauth = |code: Option<String>| {
        app.graphql_as(
            &client,
            Some(&enrolled.token),
            REAUTH,
            json!({ "p": PASSWORD, "c": code }),
        )
    };
    let missing = reauth(None).await;
    assert_eq!(extension(&missing, "field"), "code", "{missing}");
    let wrong = reauth(Some(wrong_code(&app, &enrolled.secret))).await;
    assert_eq!(extension(&wrong, "field"), "code", "{wrong}");
    app.clock.advance(TimeDelta::seconds(30));
    assert_no_errors(&reauth(Some(code(&app, &enrolled.secret))).await);
    app.clock.advance(TimeDelta::seconds(30));
    let renewed = app
        .graphql_as(
            &client,
            Some(&enrolled.token),
            regenerate,
            json!({ "c": code(&app, &enrolled.secret) }),
        )
        .await;
    assert_no_errors(&renewed);
}
db_test!(with_mfa_on_reauthentication_takes_a_code);

async fn a_password_reset_voids_a_sign_in_waiting_for_its_code(app: TestApp) {
    let enrolled = enrol(&app, &new_client()).await;
    // Someone with the password got as far as the second step…
    let mfa_token = challenge(&app, &enrolled.email).await;
    // …and the owner resets the password.
    let asked = app
        .graphql(
            "mutation($e: String!) { requestPasswordReset(email: $e) }",
            json!({ "e": enrolled.email }),
        )
        .await;
    assert_no_errors(&asked);
    let token = app.wait_for_mail(&enrolled.email, "Reset").await.token();
    let reset = app
        .graphql(
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
            json!({ "t": token, "p": "an entirely new passphrase 4711" }),
        )
        .await;
    assert_no_errors(&reset);
    app.clock.advance(TimeDelta::seconds(30));
    let late = app
        .graphql_as(
            &new_client(),
            None,
            VERIFY,
            json!({ "token": mfa_token, "code": code(&app, &enrolled.secret) }),
        )
        .await;
    assert_eq!(error_code(&late), "UNAUTHENTICATED", "{late}");
}
db_test!(a_password_reset_voids_a_sign_in_waiting_for_its_code);

async fn concurrent_wrong_passwords_are_counted_before_hashing(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let attempts = (0..40).map(|index| {
        let client = from_ip(&format!("198.51.100.{index}"));
        let email = email.clone();
        let app = &app;
        async move {
            app.login_with(&client, &email, "forty wrong guesses at once")
                .await
        }
    });
    let answers = join_all(attempts).await;
    let count = |code: &str| {
        answers
            .iter()
            .filter(|body| error_code(body) == code)
            .count()
    };
    assert_eq!(count("UNAUTHENTICATED"), 10, "evaluated: {answers:?}");
    assert_eq!(count("RATE_LIMITED"), 30, "held back: {answers:?}");
}
db_test!(
    concurrent_wrong_passwords_are_counted_before_hashing,
    &[("TRUSTED_PROXIES", "127.0.0.1/32")]
);

async fn an_ipv6_client_is_limited_by_its_64(app: TestApp) {
    let attempt = |ip: &str| {
        let client = from_ip(ip);
        let app = &app;
        async move {
            app.login_with(&client, &unique_email(), "any password at all")
                .await
        }
    };
    for host in 1..=3 {
        let body = attempt(&format!("2001:db8:1:2::{host}")).await;
        assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{body}");
    }
    // Another address of the same /64 is the same client.
    let same = attempt("2001:db8:1:2:ffff::9").await;
    assert_eq!(codes(&same), ["RATE_LIMITED"], "{same}");
    let neighbour = attempt("2001:db8:1:3::1").await;
    assert_eq!(codes(&neighbour), ["UNAUTHENTICATED"], "{neighbour}");
}
db_test!(
    an_ipv6_client_is_limited_by_its_64,
    &[
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RATE_LIMITS", "login_ip=3/60,register_ip=10000/3600")
    ]
);

async fn ten_wrong_codes_lock_the_second_factor(app: TestApp) {
    let enrolled = enrol(&app, &new_client()).await;
    let verify = |token: &str, code: String| {
        let variables = json!({ "token": token, "code": code });
        let app = &app;
        async move { app.graphql_as(&new_client(), None, VERIFY, variables).await }
    };
    // Two challenges of five wrong codes each: ten in a row across challenges.
    for _ in 0..2 {
        let token = challenge(&app, &enrolled.email).await;
        for _ in 0..5 {
            let wrong = verify(&token, wrong_code(&app, &enrolled.secret)).await;
            assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{wrong}");
        }
    }
    // Now even the right code waits, and says how long.
    let token = challenge(&app, &enrolled.email).await;
    let locked = verify(&token, code(&app, &enrolled.secret)).await;
    assert_eq!(error_code(&locked), "RATE_LIMITED", "{locked}");
    let retry = locked["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((850..=900).contains(&retry), "{retry}");
    let notices = app
        .wait_for_mails(&enrolled.email, "sign-in attempts", 1)
        .await;
    assert_eq!(notices.len(), 1);
    assert!(
        notices[0].text.contains("15 minutes"),
        "{}",
        notices[0].text
    );

    // After the wait, the right code signs in and the streak starts over.
    app.clock
        .advance(TimeDelta::minutes(15) + TimeDelta::seconds(30));
    let token = challenge(&app, &enrolled.email).await;
    assert_no_errors(&verify(&token, code(&app, &enrolled.secret)).await);
    let token = challenge(&app, &enrolled.email).await;
    let wrong = verify(&token, wrong_code(&app, &enrolled.secret)).await;
    assert_eq!(
        error_code(&wrong),
        "BAD_USER_INPUT",
        "one wrong code is just wrong"
    );
    assert_eq!(
        app.mails_to(&enrolled.email)
            .iter()
            .filter(|mail| mail.subject.contains("sign-in attempts"))
            .count(),
        1
    );
}
db_test!(ten_wrong_codes_lock_the_second_factor);

async fn the_owners_browser_signs_in_while_the_address_is_flooded(app: TestApp) {
    let email = unique_email();
    let owner = new_client();
    app.register_with(&owner, &email).await;
    for index in 0..12 {
        let flood = app
            .login_with(
                &from_ip(&format!("203.0.113.{index}")),
                &email,
                "guessing away",
            )
            .await;
        assert!(
            matches!(error_code(&flood), "UNAUTHENTICATED" | "RATE_LIMITED"),
            "{flood}"
        );
    }
    // A stranger's browser, even with the right password, waits out the backoff…
    let stranger = app.login_with(&new_client(), &email, PASSWORD).await;
    assert_eq!(error_code(&stranger), "RATE_LIMITED", "{stranger}");
    // …while the browser the owner registered with is recognised and signs in.
    let signed_in = app.login_with(&owner, &email, PASSWORD).await;
    assert_eq!(
        signed_in["data"]["login"]["__typename"], "AuthPayload",
        "{signed_in}"
    );
}
db_test!(
    the_owners_browser_signs_in_while_the_address_is_flooded,
    &[("TRUSTED_PROXIES", "127.0.0.1/32")]
);

async fn a_sign_in_from_a_new_browser_is_emailed_once(app: TestApp) {
    let email = unique_email();
    let laptop = new_client();
    let registered = app
        .post_graphql(
            &laptop,
            None,
            crate::helpers::REGISTER,
            json!({ "input": crate::helpers::registration(&email) }),
        )
        .await;
    let device = set_cookie(&registered, "custodian_device").expect("a device cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=34560000"] {
        assert!(device.contains(attribute), "{attribute}: {device}");
    }
    assert!(!cookie_value(&device).contains(&email), "no personal data");

    let phone = Client::builder()
        .cookie_store(true)
        .user_agent(FIREFOX)
        .build()
        .unwrap();
    assert_no_errors(&app.login_with(&phone, &email, PASSWORD).await);
    let notice = app.wait_for_mail(&email, "new sign-in").await;
    for detail in [
        "Firefox 128.0 on Linux",
        "127.0.0.1",
        "http://localhost:8080/sessions",
    ] {
        assert!(notice.text.contains(detail), "{detail} in {}", notice.text);
    }
    // Known browsers sign in without news: the phone now, the laptop from the start.
    assert_no_errors(&app.login_with(&phone, &email, PASSWORD).await);
    assert_no_errors(&app.login_with(&laptop, &email, PASSWORD).await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let notices = app
        .mails_to(&email)
        .into_iter()
        .filter(|mail| mail.subject.contains("new sign-in"))
        .count();
    assert_eq!(notices, 1);
    // Signing out keeps the browser known.
    let out = app
        .post_graphql(&phone, None, "mutation { logout }", json!({}))
        .await;
    assert!(set_cookie(&out, "custodian_device").is_none());
}
db_test!(a_sign_in_from_a_new_browser_is_emailed_once);

async fn a_copied_refresh_token_is_reported(app: TestApp) {
    let email = unique_email();
    let registered = app
        .post_graphql(
            &new_client(),
            None,
            crate::helpers::REGISTER,
            json!({ "input": crate::helpers::registration(&email) }),
        )
        .await;
    let first = cookie_value(&set_cookie(&registered, "custodian_refresh").unwrap());
    let refresh = |token: &str| {
        Client::new()
            .post(app.url("/graphql"))
            .header(header::COOKIE, format!("custodian_refresh={token}"))
            .json(&json!({ "query": crate::helpers::REFRESH }))
            .send()
    };
    let rotated: Value = refresh(&first).await.unwrap().json().await.unwrap();
    assert_no_errors(&rotated);
    app.clock.advance(TimeDelta::seconds(11));
    for _ in 0..2 {
        let replay: Value = refresh(&first).await.unwrap().json().await.unwrap();
        assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    }
    let notices = app.wait_for_mails(&email, "refresh token", 1).await;
    assert!(
        notices[0].text.contains("signed out"),
        "{}",
        notices[0].text
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let count = app
        .mails_to(&email)
        .into_iter()
        .filter(|mail| mail.subject.contains("refresh token"))
        .count();
    assert_eq!(
        count, 1,
        "one email when the session ends, not one per replay"
    );
}
db_test!(a_copied_refresh_token_is_reported);

async fn strangers_cannot_spend_the_owners_reset_allowance(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let ask = |ip: &str| {
        let client = from_ip(ip);
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
    };
    for _ in 0..3 {
        assert_no_errors(&ask("203.0.113.66").await);
    }
    assert_eq!(error_code(&ask("203.0.113.66").await), "RATE_LIMITED");
    let owner = ask("198.51.100.20").await;
    assert_no_errors(&owner);
}
db_test!(
    strangers_cannot_spend_the_owners_reset_allowance,
    &[("TRUSTED_PROXIES", "127.0.0.1/32")]
);

async fn a_hundred_wrong_codes_need_a_password_reset(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let enrolled = enrol(&app, &new_client()).await;
    // Ninety-nine wrong codes already, spread over many waits.
    app.database()
        .await
        .execute_unprepared(&format!(
            "UPDATE accounts SET mfa_failures_total = 99 WHERE email = '{}'",
            enrolled.email
        ))
        .await
        .unwrap();
    let verify = |token: String, code: String| {
        let variables = json!({ "token": token, "code": code });
        let app = &app;
        async move { app.graphql_as(&new_client(), None, VERIFY, variables).await }
    };
    let token = challenge(&app, &enrolled.email).await;
    let hundredth = verify(token.clone(), wrong_code(&app, &enrolled.secret)).await;
    assert_eq!(error_code(&hundredth), "BAD_USER_INPUT");
    let blocked = verify(token, code(&app, &enrolled.secret)).await;
    assert_eq!(error_code(&blocked), "FORBIDDEN", "{blocked}");
    assert_eq!(extension(&blocked, "reason"), "PASSWORD_RESET_REQUIRED");

    // A reset through the mailbox lets codes in again.
    app.graphql(
        "mutation($e: String!) { requestPasswordReset(email: $e) }",
        json!({ "e": enrolled.email }),
    )
    .await;
    let reset_token = app.wait_for_mail(&enrolled.email, "Reset").await.token();
    let new_password = "a fresh passphrase after the attack 93";
    assert_no_errors(
        &app.graphql(
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }",
            json!({ "t": reset_token, "p": new_password }),
        )
        .await,
    );
    let login = app
        .graphql_as(
            &new_client(),
            None,
            crate::mfa::LOGIN,
            json!({ "email": enrolled.email, "password": new_password }),
        )
        .await;
    let token = login["data"]["login"]["mfaToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(TimeDelta::seconds(30));
    assert_no_errors(&verify(token, code(&app, &enrolled.secret)).await);
}
db_test!(a_hundred_wrong_codes_need_a_password_reset);
