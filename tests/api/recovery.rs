//! Password reset, password change and email verification, read from the real outbox.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{PASSWORD, TestApp, assert_no_errors, error_code, new_client, unique_email},
};

const NEW_PASSWORD: &str = "a brand new passphrase for winter";
const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
const RESET: &str = "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";
const CHANGE: &str = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";
const VERIFY: &str = "mutation($token: String!) { verifyEmail(token: $token) }";
const REQUEST_VERIFICATION: &str = "mutation { requestEmailVerification }";
const RESET_SUBJECT: &str = "Reset your Custodian password";
const VERIFY_SUBJECT: &str = "Confirm your email address";

async fn request_reset(app: &TestApp, email: &str) -> Value {
    app.graphql_as(
        &new_client(),
        None,
        REQUEST_RESET,
        json!({ "email": email }),
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Value {
    app.graphql_as(
        &new_client(),
        None,
        RESET,
        json!({ "token": token, "password": password }),
    )
    .await
}

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

async fn verified(app: &TestApp, token: &str) -> Value {
    app.graphql_as(
        &new_client(),
        Some(token),
        "{ me { emailVerified } }",
        json!({}),
    )
    .await["data"]["me"]["emailVerified"]
        .clone()
}

async fn verify(app: &TestApp, token: &str) -> Value {
    app.graphql_as(&new_client(), None, VERIFY, json!({ "token": token }))
        .await
}

async fn access_token(body: &Value) -> String {
    body["accessToken"].as_str().unwrap().to_owned()
}

async fn a_reset_link_sets_a_new_password_and_ends_every_session(app: TestApp) {
    let email = unique_email();
    let laptop = new_client();
    let registered = app.register_with(&laptop, &email).await;
    let laptop_token = access_token(&registered).await;
    let phone = new_client();
    assert_no_errors(&app.login_with(&phone, &email, PASSWORD).await);

    assert_eq!(
        request_reset(&app, &email).await["data"]["requestPasswordReset"],
        true
    );
    let mail = app.wait_for_mail(&email, RESET_SUBJECT).await;
    assert!(mail.text.contains("30 minutes"), "{}", mail.text);
    assert!(mail.to.contains("Ada Lovelace"), "{}", mail.to);
    let token = mail.token();
    assert!(token.len() >= 43, "256-bit token: {token}");
    assert!(mail.text.contains(&format!(
        "http://localhost:8080/reset-password?token={token}"
    )));

    let done = reset(&app, &token, NEW_PASSWORD).await;
    assert_no_errors(&done);
    assert_eq!(done["data"]["resetPassword"], true);

    // Every session is gone, on every device.
    assert_eq!(error_code(&app.me(&laptop_token).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&app.login_with(&new_client(), &email, PASSWORD).await),
        "UNAUTHENTICATED"
    );
    let login = app.login_with(&new_client(), &email, NEW_PASSWORD).await;
    assert_no_errors(&login);
    // The link proved the mailbox.
    let me = app
        .graphql_as(
            &new_client(),
            login["data"]["login"]["accessToken"].as_str(),
            "{ me { emailVerified } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["emailVerified"], true);

    // The token works once.
    let again = reset(&app, &token, "yet another passphrase for spring").await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT");
    assert_eq!(field(&again), "token");
    let notice = app.wait_for_mail(&email, "password was reset").await;
    assert!(!notice.text.contains("token="), "a notice carries no link");
}
db_test!(a_reset_link_sets_a_new_password_and_ends_every_session);

async fn reset_tokens_expire_and_wrong_ones_get_the_same_answer(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    request_reset(&app, &email).await;
    let token = app.wait_for_mail(&email, RESET_SUBJECT).await.token();

    // A refused password leaves the token usable.
    let weak = reset(&app, &token, "password1234").await;
    assert_eq!(error_code(&weak), "BAD_USER_INPUT");
    assert_eq!(field(&weak), "newPassword");

    app.clock.advance(TimeDelta::minutes(31));
    let expired = reset(&app, &token, NEW_PASSWORD).await;
    let wrong = reset(&app, "not-a-token-at-all", NEW_PASSWORD).await;
    for body in [&expired, &wrong] {
        assert_eq!(error_code(body), "BAD_USER_INPUT");
        assert_eq!(field(body), "token");
    }
    assert_eq!(
        expired["errors"][0]["message"],
        wrong["errors"][0]["message"]
    );
    assert_no_errors(&app.login_with(&new_client(), &email, PASSWORD).await);
}
db_test!(reset_tokens_expire_and_wrong_ones_get_the_same_answer);

async fn a_newer_reset_link_voids_the_older_and_mailboxes_are_not_flooded(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    request_reset(&app, &email).await;
    let first = app.wait_for_mail(&email, RESET_SUBJECT).await.token();
    // Asked again at once: the same answer, no second email.
    assert_eq!(
        request_reset(&app, &email).await["data"]["requestPasswordReset"],
        true
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.wait_for_mails(&email, RESET_SUBJECT, 1).await.len(), 1);

    app.clock.advance(TimeDelta::seconds(61));
    request_reset(&app, &email).await;
    let mails = app.wait_for_mails(&email, RESET_SUBJECT, 2).await;
    let second = mails
        .iter()
        .map(|mail| mail.token())
        .find(|token| *token != first)
        .expect("a second token");
    assert_eq!(field(&reset(&app, &first, NEW_PASSWORD).await), "token");
    assert_no_errors(&reset(&app, &second, NEW_PASSWORD).await);
}
db_test!(a_newer_reset_link_voids_the_older_and_mailboxes_are_not_flooded);

async fn an_unknown_email_gets_the_same_answer_and_no_mail(app: TestApp) {
    let known = unique_email();
    let unknown = unique_email();
    app.register(&known).await;
    let for_unknown = request_reset(&app, &unknown).await;
    let for_known = request_reset(&app, &known).await;
    assert_eq!(for_unknown, for_known);
    assert_eq!(
        for_unknown,
        json!({ "data": { "requestPasswordReset": true } })
    );
    // The known address's email is out, so the unknown one's would be too.
    app.wait_for_mail(&known, RESET_SUBJECT).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails_to(&unknown).is_empty());

    let malformed = request_reset(&app, "not an email").await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
    assert_eq!(field(&malformed), "email");
}
db_test!(an_unknown_email_gets_the_same_answer_and_no_mail);

async fn changing_the_password_keeps_this_session_and_ends_the_others(app: TestApp) {
    let email = unique_email();
    let laptop = new_client();
    let token = access_token(&app.register_with(&laptop, &email).await).await;
    let phone = new_client();
    assert_no_errors(&app.login_with(&phone, &email, PASSWORD).await);
    request_reset(&app, &email).await;
    let reset_token = app.wait_for_mail(&email, RESET_SUBJECT).await.token();

    let change = |current: &str, new: &str| {
        let (app, token) = (&app, token.clone());
        let variables = json!({ "current": current, "new": new });
        async move {
            app.graphql_as(&new_client(), Some(&token), CHANGE, variables)
                .await
        }
    };
    for (current, new, expected_field) in [
        ("not my password at all", NEW_PASSWORD, "currentPassword"),
        (PASSWORD, "password1234", "newPassword"),
        (PASSWORD, PASSWORD, "newPassword"),
    ] {
        let body = change(current, new).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(field(&body), expected_field, "{body}");
    }
    let done = change(PASSWORD, NEW_PASSWORD).await;
    assert_no_errors(&done);
    assert_eq!(done["data"]["changePassword"], true);

    assert_no_errors(&app.me(&token).await);
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    assert_no_errors(&app.refresh_with(&laptop).await);
    assert_no_errors(&app.login_with(&new_client(), &email, NEW_PASSWORD).await);
    // A reset link from before the change is void.
    assert_eq!(
        field(&reset(&app, &reset_token, "yet another passphrase for spring").await),
        "token"
    );
    app.wait_for_mail(&email, "password was changed").await;

    let signed_out = app
        .graphql_as(
            &new_client(),
            None,
            CHANGE,
            json!({ "current": PASSWORD, "new": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(error_code(&signed_out), "UNAUTHENTICATED");
}
db_test!(changing_the_password_keeps_this_session_and_ends_the_others);

async fn a_verification_link_confirms_the_address_once(app: TestApp) {
    let email = unique_email();
    let token = access_token(&app.register(&email).await).await;
    assert_eq!(verified(&app, &token).await, false);
    let mail = app.wait_for_mail(&email, VERIFY_SUBJECT).await;
    assert!(mail.text.contains("24 hours"), "{}", mail.text);

    // Asking again within a minute is refused with when to retry.
    let soon = app
        .graphql_as(&new_client(), Some(&token), REQUEST_VERIFICATION, json!({}))
        .await;
    assert_eq!(error_code(&soon), "RATE_LIMITED");
    assert!(
        soon["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            <= 60
    );
    app.clock.advance(TimeDelta::seconds(61));
    let again = app
        .graphql_as(&new_client(), Some(&token), REQUEST_VERIFICATION, json!({}))
        .await;
    assert_no_errors(&again);
    let mails = app.wait_for_mails(&email, VERIFY_SUBJECT, 2).await;
    let first = mail.token();
    let second = mails
        .iter()
        .map(|mail| mail.token())
        .find(|token| *token != first)
        .expect("a second token");

    let stale = verify(&app, &first).await;
    assert_eq!(error_code(&stale), "BAD_USER_INPUT");
    assert_eq!(field(&stale), "token");
    assert_no_errors(&verify(&app, &second).await);
    assert_eq!(verified(&app, &token).await, true);
    assert_eq!(field(&verify(&app, &second).await), "token", "single use");
    app.wait_for_mail(&email, "email address is confirmed")
        .await;

    // Already verified: nothing more to send.
    app.clock.advance(TimeDelta::seconds(61));
    assert_no_errors(
        &app.graphql_as(&new_client(), Some(&token), REQUEST_VERIFICATION, json!({}))
            .await,
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.wait_for_mails(&email, VERIFY_SUBJECT, 2).await.len(), 2);
}
db_test!(a_verification_link_confirms_the_address_once);

async fn verification_links_expire_after_a_day(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let token = app.wait_for_mail(&email, VERIFY_SUBJECT).await.token();
    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    let late = app
        .graphql_as(&new_client(), None, VERIFY, json!({ "token": token }))
        .await;
    assert_eq!(field(&late), "token");
}
db_test!(verification_links_expire_after_a_day);

async fn deployments_can_require_a_verified_email(app: TestApp) {
    let email = unique_email();
    let register = |email: &str| {
        let input = crate::helpers::registration(email);
        let app = &app;
        async move {
            app.graphql_as(
                &new_client(),
                None,
                crate::helpers::REGISTER,
                json!({ "input": input }),
            )
            .await
        }
    };
    // Registering signs nobody in: it says to check the inbox.
    let registered = register(&email).await;
    assert_eq!(error_code(&registered), "FORBIDDEN", "{registered}");
    assert_eq!(
        registered["errors"][0]["extensions"]["reason"],
        "EMAIL_NOT_VERIFIED"
    );
    assert!(registered["data"].is_null(), "no tokens: {registered}");
    let first = app.wait_for_mail(&email, VERIFY_SUBJECT).await.token();
    // The taken address gets the very same answer; its holder hears that someone tried.
    let again = register(&email).await;
    assert_eq!(
        again["errors"][0]["message"],
        registered["errors"][0]["message"]
    );
    assert_eq!(
        again["errors"][0]["extensions"],
        registered["errors"][0]["extensions"]
    );
    app.wait_for_mail(&email, "tried to create").await;

    // The wrong password says nothing about verification.
    let wrong = app
        .login_with(&new_client(), &email, "not my password at all")
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");

    app.clock.advance(TimeDelta::seconds(61));
    let refused = app.login_with(&new_client(), &email, PASSWORD).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"],
        "EMAIL_NOT_VERIFIED"
    );
    // A fresh link went out with the refusal, and it is the one that works.
    let mails = app.wait_for_mails(&email, VERIFY_SUBJECT, 2).await;
    let fresh = mails
        .iter()
        .map(|mail| mail.token())
        .find(|token| *token != first)
        .expect("a fresh link");
    assert_no_errors(
        &app.graphql_as(&new_client(), None, VERIFY, json!({ "token": fresh }))
            .await,
    );
    assert_no_errors(&app.login_with(&new_client(), &email, PASSWORD).await);
}
db_test!(
    deployments_can_require_a_verified_email,
    &[("REQUIRE_VERIFIED_EMAIL", "true")]
);
