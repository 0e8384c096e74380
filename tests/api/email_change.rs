//! Changing the email address: asked for signed in and re-authenticated, made by the link to
//! the new address, undone by the link to the old one; a taken address is never revealed.

use chrono::TimeDelta;
use reqwest::Client;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{PASSWORD, TestApp, assert_no_errors, error_code, new_client, unique_email},
};

const REQUEST: &str = "mutation($e: String!) { requestEmailChange(newEmail: $e) }";
const CONFIRM: &str =
    "mutation($t: String!) { confirmEmailChange(token: $t) { id email emailVerified } }";
const REVERT: &str = "mutation($t: String!) { revertEmailChange(token: $t) }";
const REAUTH: &str = "mutation($p: String!) { reauthenticate(password: $p) }";
const OWN_EVENTS: &str = "{ auditEvents(first: 100) { kind details } }";
const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET: &str = "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a brand new passphrase for winter\") }";

const CONFIRM_SUBJECT: &str = "Confirm your new email address";
const CHANGED_SUBJECT: &str = "The email address of your Custodian account was changed";
const REVERTED_SUBJECT: &str = "uses this email address again";
const TAKEN_SUBJECT: &str = "Someone tried to move a Custodian account to your address";

/// A signed-in person on their own browser.
struct Person {
    email: String,
    browser: Client,
    token: String,
}

async fn person(app: &TestApp) -> Person {
    let email = unique_email();
    let browser = new_client();
    let registered = app.register_with(&browser, &email).await;
    Person {
        token: registered["accessToken"].as_str().unwrap().to_owned(),
        email,
        browser,
    }
}

async fn request(app: &TestApp, person: &Person, new_email: &str) -> Value {
    app.graphql_as(
        &person.browser,
        Some(&person.token),
        REQUEST,
        json!({ "e": new_email }),
    )
    .await
}

/// `confirmEmailChange` from a browser with no session.
async fn confirm(app: &TestApp, token: &str) -> Value {
    app.graphql_as(&new_client(), None, CONFIRM, json!({ "t": token }))
        .await
}

async fn revert(app: &TestApp, token: &str) -> Value {
    app.graphql_as(&new_client(), None, REVERT, json!({ "t": token }))
        .await
}

/// Asks for the change and confirms it from `person`'s own session; answers the token of the
/// revert link mailed to the address left.
async fn change(app: &TestApp, person: &Person, from: &str, to: &str) -> String {
    assert_eq!(
        request(app, person, to).await["data"]["requestEmailChange"],
        true
    );
    let token = app.wait_for_mail(to, CONFIRM_SUBJECT).await.token();
    let confirmed = app
        .graphql_as(
            &person.browser,
            Some(&person.token),
            CONFIRM,
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        confirmed["data"]["confirmEmailChange"]["email"], to,
        "{confirmed}"
    );
    let notices = app.wait_for_mails(from, CHANGED_SUBJECT, 1).await;
    notices.last().unwrap().token()
}

fn extension<'a>(body: &'a Value, name: &str) -> &'a str {
    body["errors"][0]["extensions"][name]
        .as_str()
        .unwrap_or_default()
}

async fn own_event_kinds(app: &TestApp, token: &str) -> Vec<String> {
    let body = app
        .graphql_as(&new_client(), Some(token), OWN_EVENTS, json!({}))
        .await;
    assert_no_errors(&body);
    body["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn signs_in(app: &TestApp, email: &str) -> Option<String> {
    let body = app.login_with(&new_client(), email, PASSWORD).await;
    body["data"]["login"]["accessToken"]
        .as_str()
        .map(str::to_owned)
}

async fn email_of(app: &TestApp, token: &str) -> Value {
    let body = app
        .graphql_as(
            &new_client(),
            Some(token),
            "{ me { email emailVerified } }",
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    body["data"]["me"].clone()
}

async fn a_change_needs_a_recent_password_and_a_new_valid_address(app: TestApp) {
    let ada = person(&app).await;
    let new_email = unique_email();
    let anonymous = app
        .graphql_as(&new_client(), None, REQUEST, json!({ "e": new_email }))
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");

    // Signing up proved the password; six minutes later it needs proving again.
    app.clock.advance(TimeDelta::minutes(6));
    let stale = request(&app, &ada, &new_email).await;
    assert_eq!(error_code(&stale), "FORBIDDEN", "{stale}");
    assert_eq!(extension(&stale, "reason"), "REAUTHENTICATION_REQUIRED");

    let reauthenticated = app
        .graphql_as(
            &ada.browser,
            Some(&ada.token),
            REAUTH,
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_no_errors(&reauthenticated);
    let own = ada.email.to_uppercase();
    for bad in ["not an email", "ada@localhost", own.as_str()] {
        let refused = request(&app, &ada, bad).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{bad}: {refused}");
        assert_eq!(extension(&refused, "field"), "newEmail", "{bad}");
    }
    assert_eq!(
        request(&app, &ada, &new_email).await["data"]["requestEmailChange"],
        true
    );
    app.wait_for_mail(&new_email, CONFIRM_SUBJECT).await;
    assert_eq!(
        app.mails_to(&new_email).len(),
        1,
        "only the request made after re-authenticating sent a link"
    );
}
db_test!(a_change_needs_a_recent_password_and_a_new_valid_address);

async fn the_new_address_link_moves_the_account_and_the_old_address_can_undo_it(app: TestApp) {
    let ada = person(&app).await;
    let old_email = ada.email.clone();
    let phone = new_client();
    let phone_login = app.login_with(&phone, &old_email, PASSWORD).await;
    let phone_token = phone_login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_email = unique_email();

    assert_eq!(
        request(&app, &ada, &new_email).await["data"]["requestEmailChange"],
        true
    );
    let link = app.wait_for_mail(&new_email, CONFIRM_SUBJECT).await;
    assert!(link.to.contains("Ada Lovelace"), "{}", link.to);
    let token = link.token();
    assert!(token.len() >= 43, "256-bit token: {token}");
    assert!(
        link.text.contains(&format!(
            "http://localhost:8080/confirm-email-change?token={token}"
        )),
        "{}",
        link.text
    );
    assert!(link.text.contains("24 hours"), "{}", link.text);
    // Nothing changes before the link is used.
    assert_eq!(email_of(&app, &ada.token).await["email"], old_email);

    // Confirmed from the browser that asked: it stays signed in, every other session ends.
    let confirmed = app
        .graphql_as(
            &ada.browser,
            Some(&ada.token),
            CONFIRM,
            json!({ "t": token }),
        )
        .await;
    assert_no_errors(&confirmed);
    assert_eq!(confirmed["data"]["confirmEmailChange"]["email"], new_email);
    assert_eq!(
        confirmed["data"]["confirmEmailChange"]["emailVerified"],
        true
    );
    assert_eq!(
        email_of(&app, &ada.token).await,
        json!({ "email": new_email, "emailVerified": true })
    );
    assert_eq!(error_code(&app.me(&phone_token).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    assert_no_errors(&app.refresh_with(&ada.browser).await);
    assert!(signs_in(&app, &old_email).await.is_none());
    assert!(signs_in(&app, &new_email).await.is_some());

    // The link works once.
    let again = confirm(&app, &token).await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT");
    assert_eq!(extension(&again, "field"), "token");

    // The old address hears of it, with a link that undoes it.
    let notice = app.wait_for_mail(&old_email, CHANGED_SUBJECT).await;
    assert!(notice.text.contains("72 hours"), "{}", notice.text);
    let revert_token = notice.token();
    assert!(
        notice.text.contains(&format!(
            "http://localhost:8080/revert-email-change?token={revert_token}"
        )),
        "{}",
        notice.text
    );
    let kinds = own_event_kinds(&app, &ada.token).await;
    for kind in ["email.change_requested", "email.changed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }

    // Undone: the old address is back, and every session ended, the confirming one too.
    let reverted = revert(&app, &revert_token).await;
    assert_no_errors(&reverted);
    assert_eq!(reverted["data"]["revertEmailChange"], true);
    assert_eq!(error_code(&app.me(&ada.token).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.refresh_with(&ada.browser).await),
        "UNAUTHENTICATED"
    );
    assert!(signs_in(&app, &new_email).await.is_none());
    let back = signs_in(&app, &old_email)
        .await
        .expect("the old address signs in");
    assert_eq!(
        email_of(&app, &back).await,
        json!({ "email": old_email, "emailVerified": true })
    );
    let told = app.wait_for_mail(&old_email, REVERTED_SUBJECT).await;
    assert!(told.text.contains("reset your password"), "{}", told.text);
    let twice = revert(&app, &revert_token).await;
    assert_eq!(error_code(&twice), "BAD_USER_INPUT");
    assert_eq!(extension(&twice, "field"), "token");
    let kinds = own_event_kinds(&app, &back).await;
    assert!(
        kinds.iter().any(|k| k == "email.change_reverted"),
        "{kinds:?}"
    );
    // No address in any event of the trail.
    let body = app
        .graphql_as(&new_client(), Some(&back), OWN_EVENTS, json!({}))
        .await
        .to_string();
    assert!(
        !body.contains(&old_email) && !body.contains(&new_email),
        "{body}"
    );
}
db_test!(the_new_address_link_moves_the_account_and_the_old_address_can_undo_it);

async fn a_link_opened_elsewhere_ends_every_session_and_voids_older_links(app: TestApp) {
    let ada = person(&app).await;
    let first = unique_email();
    let second = unique_email();
    request(&app, &ada, &first).await;
    let older = app.wait_for_mail(&first, CONFIRM_SUBJECT).await.token();
    // A reset link mailed to the old address stops working once the address changes.
    app.graphql(REQUEST_RESET, json!({ "e": ada.email })).await;
    let reset = app.wait_for_mail(&ada.email, "Reset your").await.token();

    // A newer request voids the older link.
    request(&app, &ada, &second).await;
    let newer = app.wait_for_mail(&second, CONFIRM_SUBJECT).await.token();
    let voided = confirm(&app, &older).await;
    assert_eq!(error_code(&voided), "BAD_USER_INPUT");
    assert_eq!(extension(&voided, "field"), "token");

    // Opened on a device without a session: no session is kept.
    let confirmed = confirm(&app, &newer).await;
    assert_no_errors(&confirmed);
    assert_eq!(confirmed["data"]["confirmEmailChange"]["email"], second);
    assert_eq!(error_code(&app.me(&ada.token).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.refresh_with(&ada.browser).await),
        "UNAUTHENTICATED"
    );
    let reset = app
        .graphql_as(&new_client(), None, RESET, json!({ "t": reset }))
        .await;
    assert_eq!(error_code(&reset), "BAD_USER_INPUT");
    assert_eq!(extension(&reset, "field"), "token");
    assert!(signs_in(&app, &second).await.is_some());
}
db_test!(a_link_opened_elsewhere_ends_every_session_and_voids_older_links);

async fn links_expire(app: TestApp) {
    let ada = person(&app).await;
    let late = unique_email();
    request(&app, &ada, &late).await;
    let unused = app.wait_for_mail(&late, CONFIRM_SUBJECT).await.token();
    app.clock.advance(TimeDelta::hours(25));
    let expired = confirm(&app, &unused).await;
    assert_eq!(error_code(&expired), "BAD_USER_INPUT");
    assert_eq!(extension(&expired, "field"), "token");
    assert_eq!(
        expired["errors"][0]["message"],
        confirm(&app, "not-a-token-at-all").await["errors"][0]["message"]
    );

    let ada = Person {
        token: signs_in(&app, &ada.email).await.unwrap(),
        ..ada
    };
    let moved = unique_email();
    let revert_token = change(&app, &ada, &ada.email, &moved).await;
    app.clock.advance(TimeDelta::hours(73));
    let too_late = revert(&app, &revert_token).await;
    assert_eq!(error_code(&too_late), "BAD_USER_INPUT");
    assert_eq!(extension(&too_late, "field"), "token");
    assert!(signs_in(&app, &moved).await.is_some());
    assert!(signs_in(&app, &ada.email).await.is_none());
}
db_test!(links_expire);

async fn a_taken_address_is_not_revealed_and_its_holder_is_told(app: TestApp) {
    let holder = person(&app).await;
    let ada = person(&app).await;
    let free = unique_email();

    let for_free = request(&app, &ada, &free).await;
    let pending = app.wait_for_mail(&free, CONFIRM_SUBJECT).await.token();
    let for_taken = request(&app, &ada, &holder.email).await;
    assert_eq!(for_free, for_taken);
    assert_eq!(for_taken, json!({ "data": { "requestEmailChange": true } }));

    let notice = app.wait_for_mail(&holder.email, TAKEN_SUBJECT).await;
    assert!(!notice.text.contains("token="), "a notice carries no link");
    assert!(
        app.mails_to(&holder.email)
            .iter()
            .all(|mail| !mail.subject.contains(CONFIRM_SUBJECT)),
        "no link goes to a taken address"
    );
    // The request still voided the earlier one: a link that kept working would tell.
    let voided = confirm(&app, &pending).await;
    assert_eq!(error_code(&voided), "BAD_USER_INPUT");
    assert_eq!(email_of(&app, &ada.token).await["email"], ada.email);
    assert_eq!(email_of(&app, &holder.token).await["email"], holder.email);

    // The asker's trail is the same for both requests; the holder's says someone tried.
    let kinds = own_event_kinds(&app, &ada.token).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "email.change_requested")
            .count(),
        2,
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k.contains("taken")), "{kinds:?}");
    let kinds = own_event_kinds(&app, &holder.token).await;
    assert!(
        kinds.iter().any(|k| k == "email.change_to_taken_email"),
        "{kinds:?}"
    );
}
db_test!(a_taken_address_is_not_revealed_and_its_holder_is_told);

async fn an_address_taken_meanwhile_is_a_conflict_and_nothing_changes(app: TestApp) {
    let ada = person(&app).await;
    let wanted = unique_email();
    request(&app, &ada, &wanted).await;
    let token = app.wait_for_mail(&wanted, CONFIRM_SUBJECT).await.token();
    app.register_with(&new_client(), &wanted).await;

    let refused = confirm(&app, &token).await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert_eq!(extension(&refused, "field"), "token");
    assert_eq!(email_of(&app, &ada.token).await["email"], ada.email);
    assert!(
        app.mails_to(&ada.email)
            .iter()
            .all(|mail| mail.subject != CHANGED_SUBJECT)
    );

    // The old address, taken by someone else before the revert: the same.
    let moved = unique_email();
    let revert_token = change(&app, &ada, &ada.email, &moved).await;
    app.register_with(&new_client(), &ada.email).await;
    let refused = revert(&app, &revert_token).await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert_eq!(extension(&refused, "field"), "token");
    assert_eq!(email_of(&app, &ada.token).await["email"], moved);
}
db_test!(an_address_taken_meanwhile_is_a_conflict_and_nothing_changes);

async fn a_revert_voids_the_links_of_later_changes_and_keeps_earlier_ones(app: TestApp) {
    let ada = person(&app).await;
    let (a, b, c, d) = (
        ada.email.clone(),
        unique_email(),
        unique_email(),
        unique_email(),
    );
    let undo_a = change(&app, &ada, &a, &b).await;
    let undo_b = change(&app, &ada, &b, &c).await;
    let undo_c = change(&app, &ada, &c, &d).await;

    // Whoever moved the account on cannot keep the owner of an earlier address out…
    assert_no_errors(&revert(&app, &undo_c).await);
    assert!(signs_in(&app, &c).await.is_some());
    assert_no_errors(&revert(&app, &undo_a).await);
    assert!(signs_in(&app, &a).await.is_some());
    // …nor undo the owner's revert with the link of a later change.
    let refused = revert(&app, &undo_b).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(signs_in(&app, &a).await.is_some());
    assert!(signs_in(&app, &b).await.is_none());
}
db_test!(a_revert_voids_the_links_of_later_changes_and_keeps_earlier_ones);

async fn requests_are_limited_per_account(app: TestApp) {
    let ada = person(&app).await;
    for _ in 0..5 {
        assert_no_errors(&request(&app, &ada, &unique_email()).await);
    }
    let limited = request(&app, &ada, &unique_email()).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    assert_eq!(extension(&limited, "rule"), "email_change");
    // Another person's allowance is their own.
    let grace = person(&app).await;
    assert_no_errors(&request(&app, &grace, &unique_email()).await);
}
db_test!(requests_are_limited_per_account);

async fn closing_the_account_erases_the_addresses_of_its_changes(app: TestApp) {
    let ada = person(&app).await;
    let wanted = unique_email();
    request(&app, &ada, &wanted).await;
    let token = app.wait_for_mail(&wanted, CONFIRM_SUBJECT).await.token();
    let closed = app
        .graphql_as(
            &ada.browser,
            Some(&ada.token),
            "mutation($p: String!) { deleteAccount(password: $p) }",
            json!({ "p": PASSWORD }),
        )
        .await;
    assert_no_errors(&closed);

    assert_eq!(held_addresses(&app.database().await).await, 0);
    let refused = confirm(&app, &token).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert!(signs_in(&app, &wanted).await.is_none());
}
db_test!(closing_the_account_erases_the_addresses_of_its_changes);

async fn held_addresses(db: &sea_orm::DatabaseConnection) -> i64 {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*) AS n FROM email_changes \
         WHERE old_email IS NOT NULL OR new_email IS NOT NULL",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

async fn a_change_is_forgotten_once_it_cannot_be_undone(app: TestApp) {
    let ada = person(&app).await;
    let moved = unique_email();
    change(&app, &ada, &ada.email, &moved).await;
    let db = app.database().await;
    assert_eq!(held_addresses(&db).await, 1);

    // Past the revert window, an instance's pass at start deletes the change.
    app.clock.advance(TimeDelta::hours(73));
    app.spawn_sibling().await;
    let mut forgotten = false;
    for _ in 0..50 {
        if held_addresses(&db).await == 0 {
            forgotten = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(forgotten, "the addresses of a finished change are deleted");
    assert!(signs_in(&app, &moved).await.is_some());
}
db_test!(a_change_is_forgotten_once_it_cannot_be_undone);
