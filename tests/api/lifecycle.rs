//! Support's account lifecycle: suspension and reactivation, ending someone's sessions, roles,
//! and searching accounts.

use reqwest::Client;
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{
        PASSWORD, REGISTER, TestApp, assert_no_errors, error_code, new_client, registration,
        unique_email,
    },
};

const SUSPEND: &str = "mutation($id: UUID!, $reason: String!) { suspendAccount(accountId: $id, reason: $reason) { id status } }";
const REACTIVATE: &str = "mutation($id: UUID!, $reason: String!) { reactivateAccount(accountId: $id, reason: $reason) { id status } }";
const END_SESSIONS: &str =
    "mutation($id: UUID!, $reason: String!) { endSessionsOf(accountId: $id, reason: $reason) }";
const SET_ROLE: &str =
    "mutation($id: UUID!, $role: Role!) { setRole(accountId: $id, role: $role) { id role } }";
const EVENTS: &str = "query($id: UUID!, $kind: String!) { adminAuditEvents(filter: { accountId: $id, kind: $kind }) { kind actorId details } }";
const REASON: &str = "fraud report #4711 from the card team";

fn reason_of(body: &Value) -> &str {
    body["errors"][0]["extensions"]["reason"]
        .as_str()
        .unwrap_or_default()
}

/// A person with a session on `client`: their id, email and access token.
async fn person(app: &TestApp, client: &Client) -> (String, String, String) {
    let email = unique_email();
    let registered = app.register_with(client, &email).await;
    (
        registered["account"]["id"].as_str().unwrap().to_owned(),
        email,
        registered["accessToken"].as_str().unwrap().to_owned(),
    )
}

/// An administrator: their id and access token.
async fn admin(app: &TestApp) -> (String, String) {
    let token = app.admin_token().await;
    let me = app
        .graphql_as(&new_client(), Some(&token), "{ me { id } }", json!({}))
        .await;
    (me["data"]["me"]["id"].as_str().unwrap().to_owned(), token)
}

async fn as_admin(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    app.graphql_as(&new_client(), Some(token), query, variables)
        .await
}

async fn events(app: &TestApp, admin: &str, id: &str, kind: &str) -> Vec<Value> {
    let body = as_admin(app, admin, EVENTS, json!({ "id": id, "kind": kind })).await;
    assert_no_errors(&body);
    body["data"]["adminAuditEvents"].as_array().unwrap().clone()
}

async fn suspension_freezes_an_account_until_it_is_reactivated(app: TestApp) {
    let (admin_id, admin) = admin(&app).await;
    let phone = new_client();
    let (id, email, token) = person(&app, &phone).await;
    let laptop = new_client();
    assert_no_errors(&app.login_with(&laptop, &email, PASSWORD).await);

    let suspended = as_admin(&app, &admin, SUSPEND, json!({ "id": id, "reason": REASON })).await;
    assert_no_errors(&suspended);
    assert_eq!(suspended["data"]["suspendAccount"]["status"], "SUSPENDED");

    // Every session ended at once: the access token and both refresh cookies are refused.
    let me = app.me(&token).await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED", "{me}");
    assert_eq!(reason_of(&me), "SESSION_ENDED");
    for client in [&phone, &laptop] {
        let refreshed = app.refresh_with(client).await;
        assert_eq!(error_code(&refreshed), "UNAUTHENTICATED", "{refreshed}");
    }
    // The right password is told why; a wrong one learns nothing.
    let right = app.login_with(&new_client(), &email, PASSWORD).await;
    assert_eq!(error_code(&right), "FORBIDDEN", "{right}");
    assert_eq!(reason_of(&right), "ACCOUNT_SUSPENDED");
    let wrong = app
        .login_with(&new_client(), &email, "not the password at all")
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED", "{wrong}");
    assert!(
        wrong["errors"][0]["extensions"]["reason"].is_null(),
        "{wrong}"
    );
    // No reset link reaches a frozen account.
    let asked = app
        .graphql(
            "mutation($email: String!) { requestPasswordReset(email: $email) }",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(asked["data"]["requestPasswordReset"], true);

    let mail = app.wait_for_mail(&email, "is suspended").await;
    assert!(mail.text.contains("contact support"), "{}", mail.text);
    assert!(
        !mail.text.contains(REASON),
        "the reason is for administrators"
    );
    let recorded = events(&app, &admin, &id, "account.suspended").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["actorId"], admin_id.as_str());
    assert_eq!(recorded[0]["details"]["sessions_ended"], 2);
    let read = as_admin(
        &app,
        &admin,
        "query($id: UUID!) { account(id: $id) { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(read["data"]["account"]["status"], "SUSPENDED");
    let again = as_admin(&app, &admin, SUSPEND, json!({ "id": id, "reason": REASON })).await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");

    let reactivated = as_admin(
        &app,
        &admin,
        REACTIVATE,
        json!({ "id": id, "reason": "identity confirmed by phone call" }),
    )
    .await;
    assert_no_errors(&reactivated);
    assert_eq!(reactivated["data"]["reactivateAccount"]["status"], "ACTIVE");
    app.wait_for_mail(&email, "is active again").await;
    assert_eq!(
        events(&app, &admin, &id, "account.reactivated").await.len(),
        1
    );
    let back = app.login_with(&new_client(), &email, PASSWORD).await;
    assert_no_errors(&back);
    // The ended sessions stay ended.
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    assert!(
        app.mails_to(&email)
            .iter()
            .all(|mail| !mail.subject.contains("Reset")),
        "a reset link was sent to a suspended account"
    );
    let twice = as_admin(
        &app,
        &admin,
        REACTIVATE,
        json!({ "id": id, "reason": "identity confirmed by phone call" }),
    )
    .await;
    assert_eq!(error_code(&twice), "CONFLICT", "{twice}");
}
db_test!(suspension_freezes_an_account_until_it_is_reactivated);

async fn suspension_needs_an_administrator_a_reason_and_a_recent_password(app: TestApp) {
    let (admin_id, admin) = admin(&app).await;
    let (id, _, user_token) = person(&app, &new_client()).await;
    let variables = json!({ "id": id, "reason": REASON });

    let by_user = as_admin(&app, &user_token, SUSPEND, variables.clone()).await;
    assert_eq!(error_code(&by_user), "FORBIDDEN", "{by_user}");
    assert_eq!(reason_of(&by_user), "ROLE_REQUIRED");
    let short = as_admin(
        &app,
        &admin,
        SUSPEND,
        json!({ "id": id, "reason": "fraud" }),
    )
    .await;
    assert_eq!(error_code(&short), "BAD_USER_INPUT", "{short}");
    assert_eq!(short["errors"][0]["extensions"]["field"], "reason");
    let own = as_admin(
        &app,
        &admin,
        SUSPEND,
        json!({ "id": admin_id, "reason": REASON }),
    )
    .await;
    assert_eq!(error_code(&own), "FORBIDDEN", "{own}");
    assert_eq!(reason_of(&own), "OWN_ACCOUNT");
    let unknown = as_admin(
        &app,
        &admin,
        SUSPEND,
        json!({ "id": uuid::Uuid::now_v7(), "reason": REASON }),
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");

    // Past the re-authentication window the administrator proves the password again.
    app.clock.advance(chrono::TimeDelta::minutes(6));
    let stale = as_admin(&app, &admin, SUSPEND, variables.clone()).await;
    assert_eq!(error_code(&stale), "FORBIDDEN", "{stale}");
    assert_eq!(reason_of(&stale), "REAUTHENTICATION_REQUIRED");
    let me = app.me(&user_token).await;
    assert_no_errors(&me);
    for query in [SET_ROLE, REACTIVATE] {
        let variables = json!({ "id": id, "reason": REASON, "role": "ADMIN" });
        let body = as_admin(&app, &admin, query, variables).await;
        assert_eq!(reason_of(&body), "REAUTHENTICATION_REQUIRED", "{body}");
    }
}
db_test!(suspension_needs_an_administrator_a_reason_and_a_recent_password);

async fn a_reset_link_sent_before_suspension_no_longer_works(app: TestApp) {
    let (_, admin) = admin(&app).await;
    let (id, email, _) = person(&app, &new_client()).await;
    app.graphql(
        "mutation($email: String!) { requestPasswordReset(email: $email) }",
        json!({ "email": email }),
    )
    .await;
    let link = app.wait_for_mail(&email, "Reset").await;
    assert_no_errors(&as_admin(&app, &admin, SUSPEND, json!({ "id": id, "reason": REASON })).await);
    let reset = app
        .graphql(
            "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }",
            json!({ "token": link.token(), "password": "a brand new passphrase here" }),
        )
        .await;
    assert_eq!(error_code(&reset), "BAD_USER_INPUT", "{reset}");
    let login = app
        .login_with(&new_client(), &email, "a brand new passphrase here")
        .await;
    assert_eq!(error_code(&login), "UNAUTHENTICATED", "{login}");
}
db_test!(a_reset_link_sent_before_suspension_no_longer_works);

async fn support_signs_a_person_out_everywhere(app: TestApp) {
    let (admin_id, admin) = admin(&app).await;
    let phone = new_client();
    let (id, email, token) = person(&app, &phone).await;
    let laptop = new_client();
    assert_no_errors(&app.login_with(&laptop, &email, PASSWORD).await);

    let by_user = as_admin(
        &app,
        &token,
        END_SESSIONS,
        json!({ "id": id, "reason": REASON }),
    )
    .await;
    assert_eq!(error_code(&by_user), "FORBIDDEN", "{by_user}");
    let ended = as_admin(
        &app,
        &admin,
        END_SESSIONS,
        json!({ "id": id, "reason": REASON }),
    )
    .await;
    assert_no_errors(&ended);
    assert_eq!(ended["data"]["endSessionsOf"], 2);
    assert_eq!(reason_of(&app.me(&token).await), "SESSION_ENDED");
    for client in [&phone, &laptop] {
        assert_eq!(
            error_code(&app.refresh_with(client).await),
            "UNAUTHENTICATED"
        );
    }
    app.wait_for_mail(&email, "signed out").await;
    let recorded = events(&app, &admin, &id, "sessions.ended_by_administrator").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["actorId"], admin_id.as_str());
    assert_eq!(recorded[0]["details"]["count"], 2);
    // The account itself is untouched: the person signs in again.
    assert_no_errors(&app.login_with(&new_client(), &email, PASSWORD).await);
    let none = as_admin(
        &app,
        &admin,
        END_SESSIONS,
        json!({ "id": uuid::Uuid::now_v7(), "reason": REASON }),
    )
    .await;
    assert_eq!(error_code(&none), "NOT_FOUND", "{none}");
}
db_test!(support_signs_a_person_out_everywhere);

async fn administrators_are_appointed_and_removed_by_another(app: TestApp) {
    let (admin_id, admin) = admin(&app).await;
    let client = new_client();
    let (id, email, token) = person(&app, &client).await;
    const LIST: &str = "{ accounts(first: 1) { id } }";
    assert_eq!(
        error_code(&as_admin(&app, &token, LIST, json!({})).await),
        "FORBIDDEN"
    );

    let own = as_admin(
        &app,
        &admin,
        SET_ROLE,
        json!({ "id": admin_id, "role": "USER" }),
    )
    .await;
    assert_eq!(reason_of(&own), "OWN_ACCOUNT", "{own}");
    let appointed = as_admin(&app, &admin, SET_ROLE, json!({ "id": id, "role": "ADMIN" })).await;
    assert_no_errors(&appointed);
    assert_eq!(appointed["data"]["setRole"]["role"], "ADMIN");
    // The old token carried the old role: its session ended, and a new sign-in carries the new.
    assert_eq!(reason_of(&app.me(&token).await), "SESSION_ENDED");
    app.wait_for_mail(&email, "role changed").await;
    let login = app.login_with(&new_client(), &email, PASSWORD).await;
    let promoted = login["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_no_errors(&as_admin(&app, &promoted, LIST, json!({})).await);
    let recorded = events(&app, &admin, &id, "role.changed").await;
    assert_eq!(recorded[0]["actorId"], admin_id.as_str());
    assert_eq!(recorded[0]["details"]["from"], "USER");
    assert_eq!(recorded[0]["details"]["to"], "ADMIN");

    // The new administrator removes the first, whose session ends and whose access goes.
    let removed = as_admin(
        &app,
        &promoted,
        SET_ROLE,
        json!({ "id": admin_id, "role": "USER" }),
    )
    .await;
    assert_no_errors(&removed);
    assert_eq!(
        reason_of(&as_admin(&app, &admin, LIST, json!({})).await),
        "SESSION_ENDED"
    );
}
db_test!(administrators_are_appointed_and_removed_by_another);

async fn two_administrators_removing_each_other_leave_one(app: TestApp) {
    let (first_id, first) = admin(&app).await;
    let (second_id, second) = admin(&app).await;
    let (a, b) = tokio::join!(
        as_admin(
            &app,
            &first,
            SET_ROLE,
            json!({ "id": second_id, "role": "USER" })
        ),
        as_admin(
            &app,
            &second,
            SET_ROLE,
            json!({ "id": first_id, "role": "USER" })
        ),
    );
    let outcomes: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|body| body.get("errors").is_none())
        .collect();
    assert_eq!(outcomes.len(), 1, "exactly one wins: {a} {b}");
    let refused = if a.get("errors").is_some() { &a } else { &b };
    assert!(
        matches!(
            error_code(refused),
            "CONFLICT" | "FORBIDDEN" | "UNAUTHENTICATED"
        ),
        "{refused}"
    );
    let (winner, loser_id) = if a.get("errors").is_none() {
        (&first, &second_id)
    } else {
        (&second, &first_id)
    };
    let roles = as_admin(
        &app,
        winner,
        "query($id: UUID!) { account(id: $id) { role } }",
        json!({ "id": loser_id }),
    )
    .await;
    assert_eq!(roles["data"]["account"]["role"], "USER", "{roles}");
}
db_test!(two_administrators_removing_each_other_leave_one);

async fn register_named(app: &TestApp, last_name: &str, ssn: &str) -> (String, String) {
    let email = unique_email();
    let mut input = registration(&email);
    input["lastName"] = json!(last_name);
    input["ssn"] = json!(ssn);
    let body = app
        .graphql_as(&new_client(), None, REGISTER, json!({ "input": input }))
        .await;
    assert_no_errors(&body);
    (
        body["data"]["register"]["account"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        email,
    )
}

async fn administrators_search_accounts(app: TestApp) {
    let (_, admin) = admin(&app).await;
    let (smith, smith_email) = register_named(&app, "Smith", "234-56-6789").await;
    let (smithers, _) = register_named(&app, "Smithers", "345-67-4321").await;
    let (jones, _) = register_named(&app, "Jones", "456-12-6789").await;
    let search = |filter: Value| {
        let admin = admin.clone();
        let app = &app;
        async move {
            as_admin(
                app,
                &admin,
                "query($filter: AccountFilter) { accounts(filter: $filter, first: 100) { id lastName status } }",
                json!({ "filter": filter }),
            )
            .await
        }
    };
    let ids = |body: &Value| -> Vec<String> {
        assert_no_errors(body);
        body["data"]["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|account| account["id"].as_str().unwrap().to_owned())
            .collect()
    };

    assert_eq!(
        ids(&search(json!({ "lastName": "smi" })).await),
        [smith.as_str(), smithers.as_str()]
    );
    assert_eq!(
        ids(&search(json!({ "lastName": "Smithe" })).await),
        [smithers.as_str()]
    );
    assert_eq!(
        ids(&search(json!({ "ssnLast4": "6789" })).await),
        [smith.as_str(), jones.as_str()]
    );
    assert_eq!(
        ids(&search(json!({ "ssnLast4": "6789", "lastName": "SMITH" })).await),
        [smith.as_str()]
    );
    let shouted = smith_email.to_uppercase();
    assert_eq!(
        ids(&search(json!({ "email": shouted })).await),
        [smith.as_str()]
    );
    assert!(ids(&search(json!({ "email": "nobody@example.com" })).await).is_empty());

    assert_no_errors(
        &as_admin(
            &app,
            &admin,
            SUSPEND,
            json!({ "id": jones, "reason": REASON }),
        )
        .await,
    );
    assert_eq!(
        ids(&search(json!({ "status": "SUSPENDED" })).await),
        [jones.as_str()]
    );
    let active = ids(&search(json!({ "status": "ACTIVE", "lastName": "s" })).await);
    assert_eq!(active, [smith.as_str(), smithers.as_str()]);
    assert_eq!(
        ids(&search(json!({ "kycStatus": "PENDING", "ssnLast4": "4321" })).await),
        [smithers.as_str()]
    );
    // The deprecated argument still works, but not beside the filter's.
    let old = as_admin(
        &app,
        &admin,
        "{ accounts(kycStatus: PENDING, first: 100) { id } }",
        json!({}),
    )
    .await;
    assert_no_errors(&old);
    let both = as_admin(
        &app,
        &admin,
        "{ accounts(kycStatus: PENDING, filter: { kycStatus: PENDING }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT", "{both}");

    for (filter, field) in [
        (json!({ "ssnLast4": "67a9" }), "filter.ssnLast4"),
        (json!({ "ssnLast4": "123456789" }), "filter.ssnLast4"),
        (json!({ "email": "not an address" }), "filter.email"),
        (json!({ "lastName": "%" }), "filter.lastName"),
    ] {
        let body = search(filter).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }

    // A search that returned personal data is in the trail of each person found, with what
    // it searched by and never the values.
    let viewed = events(&app, &admin, &smith, "personal_data.viewed").await;
    let by_ssn = viewed
        .iter()
        .find(|event| event["details"]["search"] == json!(["lastName", "ssnLast4"]))
        .unwrap_or_else(|| panic!("{viewed:?}"));
    assert_eq!(by_ssn["details"]["fields"], json!(["lastName"]));
    assert!(!by_ssn.to_string().contains("6789"));
}
db_test!(administrators_search_accounts);

async fn a_pending_email_change_does_not_survive_suspension(app: TestApp) {
    let (_, admin) = admin(&app).await;
    let (id, email, token) = person(&app, &new_client()).await;
    let new_email = unique_email();
    let asked = app
        .graphql_as(
            &new_client(),
            Some(&token),
            "mutation($e: String!) { requestEmailChange(newEmail: $e) }",
            json!({ "e": new_email }),
        )
        .await;
    assert_no_errors(&asked);
    let link = app
        .wait_for_mail(&new_email, "Confirm your new email")
        .await;
    assert_no_errors(&as_admin(&app, &admin, SUSPEND, json!({ "id": id, "reason": REASON })).await);
    let confirmed = app
        .graphql(
            "mutation($t: String!) { confirmEmailChange(token: $t) { email } }",
            json!({ "t": link.token() }),
        )
        .await;
    assert_eq!(error_code(&confirmed), "BAD_USER_INPUT", "{confirmed}");
    let read = as_admin(
        &app,
        &admin,
        "query($id: UUID!) { account(id: $id) { email } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(read["data"]["account"]["email"], email.as_str());
}
db_test!(a_pending_email_change_does_not_survive_suspension);
