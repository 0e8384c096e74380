//! Four-eyes reset of a lost second factor: one administrator requests it with a reason, a
//! second approves it within a day, and the person is told at both steps.

use chrono::TimeDelta;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{PASSWORD, TestApp, assert_no_errors, error_code, new_client},
    mfa::{Enrolled, LOGIN, VERIFY, challenge, code, enrol},
};

const REQUEST: &str = "mutation($id: UUID!, $reason: String!) { requestMfaReset(accountId: $id, reason: $reason) { id accountId requestedBy reason createdAt expiresAt } }";
const APPROVE: &str =
    "mutation($id: UUID!) { approveMfaReset(requestId: $id) { id email mfaEnabled } }";
const CANCEL: &str = "mutation($id: UUID!) { cancelMfaReset(requestId: $id) }";
const PENDING: &str =
    "{ mfaResetRequests { id accountId requestedBy reason createdAt expiresAt } }";
const ACCOUNT: &str = "query($id: UUID!) { account(id: $id) { mfaEnabled } }";
const EVENTS: &str = "query($filter: AuditEventFilter) { adminAuditEvents(filter: $filter) { kind accountId actorId details } }";
const ENABLE: &str = "mutation { enableMfa { secret } }";
const CONFIRM: &str = "mutation($code: String!) { confirmMfa(code: $code) { codes } }";

const REASON: &str = "Lost phone; identity checked on a video call against the passport";
const REQUESTED: &str = "A reset of two-step sign-in was requested";
const APPROVED: &str = "Support turned off two-step sign-in";

fn extension<'a>(body: &'a Value, name: &str) -> &'a str {
    body["errors"][0]["extensions"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no extensions.{name} in {body}"))
}

/// A person with MFA on, and their account id.
async fn person(app: &TestApp) -> (Enrolled, String) {
    let enrolled = enrol(app, &new_client()).await;
    let me = app.me(&enrolled.token).await;
    assert_no_errors(&me);
    let id = me["data"]["me"]["id"].as_str().unwrap().to_owned();
    (enrolled, id)
}

/// The account id behind an access token.
async fn id_of(app: &TestApp, token: &str) -> String {
    app.me(token).await["data"]["me"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn call(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    app.graphql_as(&new_client(), Some(token), query, variables)
        .await
}

async fn request(app: &TestApp, admin: &str, account: &str, reason: &str) -> Value {
    call(
        app,
        admin,
        REQUEST,
        json!({ "id": account, "reason": reason }),
    )
    .await
}

/// Files a request that must succeed; answers its id.
async fn requested(app: &TestApp, admin: &str, account: &str) -> String {
    let body = request(app, admin, account, REASON).await;
    assert_no_errors(&body);
    body["data"]["requestMfaReset"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn approve(app: &TestApp, admin: &str, request: &str) -> Value {
    call(app, admin, APPROVE, json!({ "id": request })).await
}

async fn pending_ids(app: &TestApp, admin: &str) -> Vec<String> {
    let body = call(app, admin, PENDING, json!({})).await;
    assert_no_errors(&body);
    body["data"]["mfaResetRequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|request| request["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn mfa_enabled(app: &TestApp, admin: &str, account: &str) -> bool {
    let body = call(app, admin, ACCOUNT, json!({ "id": account })).await;
    assert_no_errors(&body);
    body["data"]["account"]["mfaEnabled"].as_bool().unwrap()
}

async fn events(app: &TestApp, admin: &str, account: &str, kind: &str) -> Vec<Value> {
    let filter = json!({ "filter": { "accountId": account, "kind": kind } });
    let body = call(app, admin, EVENTS, filter).await;
    assert_no_errors(&body);
    body["data"]["adminAuditEvents"].as_array().unwrap().clone()
}

async fn a_second_administrator_turns_off_a_lost_second_factor(app: TestApp) {
    let phone = new_client();
    let enrolled = enrol(&app, &phone).await;
    let account = id_of(&app, &enrolled.token).await;
    let first = app.admin_token().await;
    let second = app.admin_token().await;
    let first_id = id_of(&app, &first).await;
    let second_id = id_of(&app, &second).await;

    let body = request(&app, &first, &account, REASON).await;
    assert_no_errors(&body);
    let filed = &body["data"]["requestMfaReset"];
    let request_id = filed["id"].as_str().unwrap().to_owned();
    assert_eq!(filed["accountId"], account.as_str());
    assert_eq!(filed["requestedBy"], first_id.as_str());
    assert_eq!(filed["reason"], REASON);
    let created = chrono::DateTime::parse_from_rfc3339(filed["createdAt"].as_str().unwrap());
    let expires = chrono::DateTime::parse_from_rfc3339(filed["expiresAt"].as_str().unwrap());
    assert_eq!(expires.unwrap() - created.unwrap(), TimeDelta::hours(24));
    // The person hears of it before anything changes.
    let notice = app.wait_for_mail(&enrolled.email, REQUESTED).await;
    assert!(notice.text.contains("second administrator"), "{notice:?}");
    assert!(!notice.text.contains(REASON), "{notice:?}");
    assert_eq!(pending_ids(&app, &second).await, vec![request_id.clone()]);

    // A sign-in half done when the reset lands cannot finish.
    let half_done = challenge(&app, &enrolled.email).await;

    // The requester cannot approve their own request.
    let alone = approve(&app, &first, &request_id).await;
    assert_eq!(error_code(&alone), "FORBIDDEN");
    assert_eq!(extension(&alone, "reason"), "SECOND_ADMINISTRATOR_REQUIRED");
    assert!(mfa_enabled(&app, &second, &account).await);
    assert_no_errors(&app.me(&enrolled.token).await);

    let approved = approve(&app, &second, &request_id).await;
    assert_no_errors(&approved);
    assert_eq!(approved["data"]["approveMfaReset"]["id"], account.as_str());
    assert_eq!(approved["data"]["approveMfaReset"]["mfaEnabled"], false);
    assert!(!mfa_enabled(&app, &second, &account).await);
    let notice = app.wait_for_mail(&enrolled.email, APPROVED).await;
    assert!(
        notice.text.contains("turn two-step sign-in on again"),
        "{notice:?}"
    );

    // Every session of the person ended, and the half-done sign-in with them.
    assert_eq!(
        error_code(&app.me(&enrolled.token).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    let verify = json!({ "token": half_done, "code": code(&app, &enrolled.secret) });
    let late = app.graphql_as(&new_client(), None, VERIFY, verify).await;
    assert_eq!(error_code(&late), "UNAUTHENTICATED", "{late}");

    // The password alone signs in now.
    let browser = new_client();
    let signed_in = app
        .graphql_as(
            &browser,
            None,
            LOGIN,
            json!({ "email": enrolled.email, "password": PASSWORD }),
        )
        .await;
    assert_no_errors(&signed_in);
    assert_eq!(signed_in["data"]["login"]["__typename"], "AuthPayload");
    let token = signed_in["data"]["login"]["accessToken"].as_str().unwrap();

    // Turned on again with a new phone, the old recovery codes are refused.
    let setup = app
        .graphql_as(&browser, Some(token), ENABLE, json!({}))
        .await;
    assert_no_errors(&setup);
    let secret = setup["data"]["enableMfa"]["secret"].as_str().unwrap();
    let confirmed = app
        .graphql_as(
            &browser,
            Some(token),
            CONFIRM,
            json!({ "code": code(&app, secret) }),
        )
        .await;
    assert_no_errors(&confirmed);
    let mfa_token = challenge(&app, &enrolled.email).await;
    let old_code = json!({ "token": mfa_token, "code": enrolled.codes[0] });
    let refused = app.graphql_as(&new_client(), None, VERIFY, old_code).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    // Done once: no longer pending, and a second approval is a conflict.
    assert!(pending_ids(&app, &second).await.is_empty());
    let third = app.admin_token().await;
    let again = approve(&app, &third, &request_id).await;
    assert_eq!(error_code(&again), "CONFLICT");
    assert_eq!(extension(&again, "field"), "requestId");

    // Both steps are on record, by whom, about whom, without the reason.
    let requested = events(&app, &third, &account, "mfa.reset_requested").await;
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0]["actorId"], first_id.as_str());
    assert_eq!(requested[0]["details"]["request"], request_id.as_str());
    assert!(!requested[0].to_string().contains(REASON));
    let approved = events(&app, &third, &account, "mfa.reset_approved").await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0]["actorId"], second_id.as_str());
    assert_eq!(approved[0]["details"]["request"], request_id.as_str());
    assert!(
        approved[0]["details"].get("requested_by").is_none(),
        "administrator ids stay out of what the person sees"
    );
}
db_test!(a_second_administrator_turns_off_a_lost_second_factor);

async fn a_request_needs_an_administrator_a_fresh_sign_in_and_a_reason(app: TestApp) {
    let (enrolled, account) = person(&app).await;
    let admin = app.admin_token().await;

    let by_person = request(&app, &enrolled.token, &account, REASON).await;
    assert_eq!(error_code(&by_person), "FORBIDDEN");
    assert_eq!(extension(&by_person, "reason"), "ROLE_REQUIRED");
    let listed = call(&app, &enrolled.token, PENDING, json!({})).await;
    assert_eq!(extension(&listed, "reason"), "ROLE_REQUIRED");

    let short = request(&app, &admin, &account, "lost it").await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT");
    assert_eq!(extension(&short, "field"), "reason");

    let own = request(&app, &admin, &id_of(&app, &admin).await, REASON).await;
    assert_eq!(error_code(&own), "FORBIDDEN");
    assert_eq!(extension(&own, "reason"), "OWN_ACCOUNT");

    let unknown = request(&app, &admin, &uuid::Uuid::now_v7().to_string(), REASON).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");

    let without_mfa = app.register(&crate::helpers::unique_email()).await;
    let without_mfa = without_mfa["account"]["id"].as_str().unwrap();
    let nothing = request(&app, &admin, without_mfa, REASON).await;
    assert_eq!(error_code(&nothing), "BAD_USER_INPUT");
    assert_eq!(extension(&nothing, "field"), "accountId");

    let request_id = requested(&app, &admin, &account).await;
    let twice = request(&app, &admin, &account, REASON).await;
    assert_eq!(error_code(&twice), "CONFLICT");
    assert_eq!(extension(&twice, "field"), "accountId");
    let by_person = approve(&app, &enrolled.token, &request_id).await;
    assert_eq!(extension(&by_person, "reason"), "ROLE_REQUIRED");

    // Past the re-authentication window both steps wait for a fresh password.
    let second = app.admin_token().await;
    app.clock.advance(TimeDelta::minutes(6));
    let stale = request(&app, &second, without_mfa, REASON).await;
    assert_eq!(extension(&stale, "reason"), "REAUTHENTICATION_REQUIRED");
    let stale = approve(&app, &second, &request_id).await;
    assert_eq!(extension(&stale, "reason"), "REAUTHENTICATION_REQUIRED");
    assert!(mfa_enabled(&app, &second, &account).await);
}
db_test!(a_request_needs_an_administrator_a_fresh_sign_in_and_a_reason);

async fn a_request_lapses_after_a_day(app: TestApp) {
    let (enrolled, account) = person(&app).await;
    let first = app.admin_token().await;
    let request_id = requested(&app, &first, &account).await;

    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    // Tokens of a day ago have expired: administrators sign in again.
    let second = app.admin_token().await;
    assert!(pending_ids(&app, &second).await.is_empty());
    let late = approve(&app, &second, &request_id).await;
    assert_eq!(error_code(&late), "CONFLICT");
    assert_eq!(extension(&late, "field"), "requestId");
    assert!(mfa_enabled(&app, &second, &account).await);
    let mails = app.mails_to(&enrolled.email);
    assert!(
        mails.iter().all(|mail| !mail.subject.contains(APPROVED)),
        "{mails:?}"
    );

    // A lapsed request does not block a new one.
    let renewed = requested(&app, &second, &account).await;
    assert_eq!(pending_ids(&app, &second).await, vec![renewed]);
}
db_test!(a_request_lapses_after_a_day);

async fn a_cancelled_request_cannot_be_approved(app: TestApp) {
    let (enrolled, account) = person(&app).await;
    let first = app.admin_token().await;
    let second = app.admin_token().await;
    let request_id = requested(&app, &first, &account).await;

    let unknown = approve(&app, &second, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let by_person = call(&app, &enrolled.token, CANCEL, json!({ "id": request_id })).await;
    assert_eq!(extension(&by_person, "reason"), "ROLE_REQUIRED");

    let cancelled = call(&app, &first, CANCEL, json!({ "id": request_id })).await;
    assert_no_errors(&cancelled);
    assert_eq!(cancelled["data"]["cancelMfaReset"], true);
    assert!(pending_ids(&app, &second).await.is_empty());
    let refused = approve(&app, &second, &request_id).await;
    assert_eq!(error_code(&refused), "CONFLICT");
    assert_eq!(extension(&refused, "field"), "requestId");
    assert!(mfa_enabled(&app, &second, &account).await);
    assert_eq!(
        events(&app, &second, &account, "mfa.reset_cancelled")
            .await
            .len(),
        1
    );
}
db_test!(a_cancelled_request_cannot_be_approved);

async fn of_two_approvals_at_once_one_wins(app: TestApp) {
    let (enrolled, account) = person(&app).await;
    let first = app.admin_token().await;
    let request_id = requested(&app, &first, &account).await;
    let approvers = [app.admin_token().await, app.admin_token().await];

    let answers = join_all(
        approvers
            .iter()
            .map(|admin| approve(&app, admin, &request_id)),
    )
    .await;
    let won = answers
        .iter()
        .filter(|body| body.get("errors").is_none())
        .count();
    assert_eq!(won, 1, "{answers:?}");
    let lost = answers
        .iter()
        .find(|body| body.get("errors").is_some())
        .unwrap();
    assert_eq!(error_code(lost), "CONFLICT", "{lost}");
    assert_eq!(
        events(&app, &first, &account, "mfa.reset_approved")
            .await
            .len(),
        1
    );
    app.wait_for_mail(&enrolled.email, APPROVED).await;
}
db_test!(of_two_approvals_at_once_one_wins);

async fn closing_the_account_ends_its_pending_request(app: TestApp) {
    let (enrolled, account) = person(&app).await;
    let first = app.admin_token().await;
    let second = app.admin_token().await;
    let request_id = requested(&app, &first, &account).await;

    let closed = call(
        &app,
        &enrolled.token,
        "mutation($p: String!) { deleteAccount(password: $p) }",
        json!({ "p": PASSWORD }),
    )
    .await;
    assert_no_errors(&closed);
    assert!(pending_ids(&app, &second).await.is_empty());
    let refused = approve(&app, &second, &request_id).await;
    assert_eq!(error_code(&refused), "CONFLICT");
}
db_test!(closing_the_account_ends_its_pending_request);
