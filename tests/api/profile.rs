//! The finance profile, KYC review, data export and account closure.

use chrono::TimeDelta;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{PASSWORD, TestApp, assert_no_errors, error_code, new_client, unique_email},
};

const SSN: &str = "123-45-6789";
const PROFILE: &str = "id email firstName lastName phone address city state postalCode country defaultCurrency dateOfBirth ssnMasked kycStatus kycReason";

fn full_registration(email: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "firstName": "Zoë",
        "lastName": "O'Brien-Łukasz",
        "phone": "+1 (201) 555-0123",
        "address": "1 Market Street, Suite 300",
        "city": "San Francisco",
        "state": "ca",
        "postalCode": "94105",
        "country": "us",
        "defaultCurrency": "usd",
        "dateOfBirth": "1990-04-01",
        "ssn": SSN,
    })
}

async fn register(app: &TestApp, input: Value) -> Value {
    app.graphql_as(
        &new_client(),
        None,
        &format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ accessToken account {{ {PROFILE} }} }} }}"),
        json!({ "input": input }),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> Value {
    let body = app
        .graphql_as(
            &new_client(),
            Some(token),
            &format!("{{ me {{ {PROFILE} }} }}"),
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    body["data"]["me"].clone()
}

async fn update(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql_as(
        &new_client(),
        Some(token),
        &format!("mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{ {PROFILE} }} }}"),
        json!({ "input": input }),
    )
    .await
}

/// A reviewer's decision on the account as they read it just before.
async fn set_kyc(
    app: &TestApp,
    token: &str,
    account: &Value,
    status: &str,
    reason: Option<&str>,
) -> Value {
    let read = app
        .graphql_as(
            &new_client(),
            Some(token),
            "query($id: UUID!) { account(id: $id) { profileVersion } }",
            json!({ "id": account }),
        )
        .await;
    let version = read["data"]["account"]["profileVersion"]
        .as_i64()
        .unwrap_or_default();
    decide_on_version(app, token, account, status, reason, version).await
}

async fn decide_on_version(
    app: &TestApp,
    token: &str,
    account: &Value,
    status: &str,
    reason: Option<&str>,
    version: i64,
) -> Value {
    app.graphql_as(
        &new_client(),
        Some(token),
        "mutation($id: UUID!, $status: KycStatus!, $reason: String, $version: Int!) { setKycStatus(accountId: $id, status: $status, reason: $reason, profileVersion: $version) { id kycStatus kycReason profileVersion } }",
        json!({ "id": account, "status": status, "reason": reason, "version": version }),
    )
    .await
}

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

fn digits() -> String {
    SSN.replace('-', "")
}

async fn a_full_profile_is_normalised_and_the_ssn_never_shown(app: TestApp) {
    let email = unique_email();
    let body = register(&app, full_registration(&email)).await;
    assert_no_errors(&body);
    let account = &body["data"]["register"]["account"];
    assert_eq!(account["phone"], "+12015550123");
    assert_eq!(account["state"], "CA");
    assert_eq!(account["country"], "US");
    assert_eq!(account["defaultCurrency"], "USD");
    assert_eq!(account["dateOfBirth"], "1990-04-01");
    assert_eq!(account["ssnMasked"], "***-**-6789");
    assert_eq!(account["firstName"], "Zoë");
    assert_eq!(account["kycStatus"], "PENDING");
    let text = body.to_string();
    assert!(!text.contains(SSN) && !text.contains(&digits()), "{text}");
    let token = body["data"]["register"]["accessToken"].as_str().unwrap();
    assert_eq!(me(&app, token).await, *account);

    // The row itself holds neither the SSN nor the date of birth in the clear.
    let db = app.database().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT ssn, date_of_birth, ssn_index, ssn_last4, phone, country FROM accounts WHERE ssn_last4 IS NOT NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    let column = |name: &str| {
        row.try_get::<Option<String>>("", name)
            .unwrap()
            .unwrap_or_default()
    };
    for name in ["ssn", "date_of_birth", "ssn_index"] {
        let value = column(name);
        assert!(!value.is_empty(), "{name} is stored");
        assert!(
            !value.contains(&digits()) && !value.contains(SSN),
            "{name}: {value}"
        );
        assert!(
            !value.contains("1990") && !value.contains("04-01"),
            "{name}: {value}"
        );
    }
    assert!(column("ssn").starts_with("v1."), "sealed with a key id");
    assert_eq!(column("ssn_last4"), "6789");
}
db_test!(a_full_profile_is_normalised_and_the_ssn_never_shown);

async fn every_bad_field_is_named_and_nothing_is_written(app: TestApp) {
    let today = chrono::Utc::now().date_naive();
    let tomorrow = (today + TimeDelta::days(1)).to_string();
    let child = (today - TimeDelta::days(365 * 10)).to_string();
    let ancient = "1890-01-01".to_owned();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("phone", json!("12345"), "phone"),
        ("phone", json!("+1 415 555 267"), "phone"),
        ("country", json!("XX"), "country"),
        ("country", json!("USA"), "country"),
        ("defaultCurrency", json!("ABC"), "defaultCurrency"),
        ("defaultCurrency", json!("XTS"), "defaultCurrency"),
        ("postalCode", json!("ABCDE"), "postalCode"),
        ("state", json!("ZZ"), "state"),
        ("state", Value::Null, "state"),
        ("dateOfBirth", json!(tomorrow), "dateOfBirth"),
        ("dateOfBirth", json!(child), "dateOfBirth"),
        ("dateOfBirth", json!(ancient), "dateOfBirth"),
        ("ssn", json!("666-12-3456"), "ssn"),
        ("ssn", json!("000-12-3456"), "ssn"),
        ("ssn", json!("912-12-3456"), "ssn"),
        ("ssn", json!("123-00-4567"), "ssn"),
        ("ssn", json!("123-45-0000"), "ssn"),
        ("ssn", json!("12-345-6789"), "ssn"),
        ("firstName", json!("<script>"), "firstName"),
        ("address", json!("1 Main St\u{0007}"), "address"),
        ("city", json!("Spring\nfield"), "city"),
    ];
    for (key, value, expected) in cases {
        let email = unique_email();
        let mut input = full_registration(&email);
        input[key] = value.clone();
        let body = register(&app, input).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{key}={value}: {body}");
        assert_eq!(field(&body), expected, "{key}={value}: {body}");
        if let Some(ssn) = value.as_str().filter(|_| key == "ssn") {
            assert!(
                !body.to_string().contains(ssn),
                "errors never echo an SSN: {body}"
            );
        }
        assert_eq!(
            error_code(&app.login_with(&new_client(), &email, PASSWORD).await),
            "UNAUTHENTICATED",
            "{key}={value} created nothing"
        );
    }
    // Malformed or missing input names its field too.
    let mut input = full_registration(&unique_email());
    input["dateOfBirth"] = json!("1990-13-01");
    let body = register(&app, input).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(field(&body), "dateOfBirth", "{body}");
    for (key, value) in [("ssn", json!(123456789)), ("dateOfBirth", json!(19900401))] {
        let mut input = full_registration(&unique_email());
        input[key] = value;
        let body = register(&app, input).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(field(&body), key, "{body}");
        assert!(!body.to_string().contains("19900401"), "{body}");
    }
    let mut input = full_registration(&unique_email());
    input.as_object_mut().unwrap().remove("lastName");
    let body = register(&app, input).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(field(&body), "lastName", "{body}");
    // Outside the US and Canada the state is free text and optional.
    let mut input = full_registration(&unique_email());
    input["country"] = json!("DE");
    input["state"] = Value::Null;
    input["postalCode"] = json!("10115");
    input["phone"] = json!("030 901820");
    input["defaultCurrency"] = json!("EUR");
    input["ssn"] = Value::Null;
    let body = register(&app, input).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["register"]["account"]["phone"], "+4930901820");
}
db_test!(every_bad_field_is_named_and_nothing_is_written);

async fn one_ssn_belongs_to_one_account(app: TestApp) {
    let first = unique_email();
    assert_no_errors(&register(&app, full_registration(&first)).await);
    let second = unique_email();
    let mut input = full_registration(&second);
    input["ssn"] = json!(digits());
    let body = register(&app, input).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(field(&body), "ssn");
    assert!(!body.to_string().contains(&first), "says nothing of whose");
    assert_eq!(
        error_code(&app.login_with(&new_client(), &second, PASSWORD).await),
        "UNAUTHENTICATED"
    );
    // Nor can an update take it.
    let other = register(&app, json!({ "email": unique_email(), "password": PASSWORD, "firstName": "Ann", "lastName": "Lee" })).await;
    let token = other["data"]["register"]["accessToken"].as_str().unwrap();
    let taken = update(&app, token, json!({ "ssn": SSN })).await;
    assert_eq!(error_code(&taken), "CONFLICT");
    assert_eq!(field(&taken), "ssn");
}
db_test!(one_ssn_belongs_to_one_account);

async fn profile_updates_validate_clear_and_reopen_kyc(app: TestApp) {
    let admin = app.admin_token().await;
    let body = register(&app, full_registration(&unique_email())).await;
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["data"]["register"]["account"]["id"].clone();

    let changed = update(
        &app,
        &token,
        json!({ "phone": "+44 20 7946 0958", "defaultCurrency": "gbp", "address": null }),
    )
    .await;
    assert_no_errors(&changed);
    let account = &changed["data"]["updateProfile"];
    assert_eq!(account["phone"], "+442079460958");
    assert_eq!(account["defaultCurrency"], "GBP");
    assert_eq!(account["address"], Value::Null);
    assert_eq!(account["city"], "San Francisco", "untouched fields stay");
    for (input, expected) in [
        (json!({ "firstName": null }), "firstName"),
        (json!({ "postalCode": "941" }), "postalCode"),
        (json!({ "country": "CA" }), "state"),
        (json!({ "state": null }), "state"),
        (json!({ "ssn": "666-00-0000" }), "ssn"),
    ] {
        let body = update(&app, &token, input.clone()).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(field(&body), expected, "{input}: {body}");
    }
    assert_eq!(
        me(&app, &token).await["country"],
        "US",
        "a refused update writes nothing"
    );
    // Moving to Canada takes a province and a Canadian postal code together.
    let moved = update(
        &app,
        &token,
        json!({ "country": "CA", "state": "on", "postalCode": "k1a0b1" }),
    )
    .await;
    assert_no_errors(&moved);
    assert_eq!(moved["data"]["updateProfile"]["postalCode"], "K1A 0B1");

    assert_no_errors(&set_kyc(&app, &admin, &id, "APPROVED", Some("documents match")).await);
    // Contact details do not touch KYC; identity does.
    let phone = update(&app, &token, json!({ "phone": "+1 (201) 555-0124" })).await;
    assert_eq!(phone["data"]["updateProfile"]["kycStatus"], "APPROVED");
    let renamed = update(&app, &token, json!({ "lastName": "Lovelace" })).await;
    assert_eq!(renamed["data"]["updateProfile"]["kycStatus"], "PENDING");
    assert_no_errors(&set_kyc(&app, &admin, &id, "APPROVED", None).await);
    let address = update(&app, &token, json!({ "address": "2 Bay Street" })).await;
    assert_eq!(address["data"]["updateProfile"]["kycStatus"], "PENDING");
    assert_no_errors(&set_kyc(&app, &admin, &id, "APPROVED", None).await);
    let born = update(&app, &token, json!({ "dateOfBirth": "1990-04-02" })).await;
    assert_eq!(born["data"]["updateProfile"]["kycStatus"], "PENDING");
}
db_test!(profile_updates_validate_clear_and_reopen_kyc);

async fn a_decision_binds_to_the_profile_the_reviewer_saw(app: TestApp) {
    let admin = app.admin_token().await;
    let body = register(&app, full_registration(&unique_email())).await;
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["data"]["register"]["account"]["id"].clone();
    let seen = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "query($id: UUID!) { account(id: $id) { profileVersion } }",
            json!({ "id": id }),
        )
        .await["data"]["account"]["profileVersion"]
        .as_i64()
        .unwrap();
    // Between the reviewer's read and the decision, the person swaps the SSN.
    let swapped = update(&app, &token, json!({ "ssn": "219-45-6782" })).await;
    assert_no_errors(&swapped);
    assert_eq!(swapped["data"]["updateProfile"]["kycStatus"], "PENDING");
    let stale = decide_on_version(&app, &admin, &id, "APPROVED", None, seen).await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    assert_eq!(field(&stale), "profileVersion");
    assert_eq!(
        me(&app, &token).await["kycStatus"],
        "PENDING",
        "nothing approved"
    );
    // A contact change is not reviewed: the version stays.
    let phone = update(&app, &token, json!({ "phone": "+1 (201) 555-0124" })).await;
    assert_no_errors(&phone);
    let approved = decide_on_version(&app, &admin, &id, "APPROVED", None, seen + 1).await;
    assert_no_errors(&approved);

    // A rejected identity that changes goes back to review too.
    let renamed = update(&app, &token, json!({ "lastName": "Byron" })).await;
    assert_eq!(renamed["data"]["updateProfile"]["kycStatus"], "PENDING");
    assert_no_errors(&set_kyc(&app, &admin, &id, "REJECTED", Some("blurry")).await);
    let renamed = update(&app, &token, json!({ "firstName": "Augusta" })).await;
    assert_eq!(
        renamed["data"]["updateProfile"]["kycStatus"], "PENDING",
        "{renamed}"
    );
}
db_test!(a_decision_binds_to_the_profile_the_reviewer_saw);

async fn admins_review_kyc_and_people_are_told(app: TestApp) {
    let admin = app.admin_token().await;
    let email = unique_email();
    let body = register(&app, full_registration(&email)).await;
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["data"]["register"]["account"]["id"].clone();

    assert_eq!(
        error_code(&set_kyc(&app, &token, &id, "APPROVED", None).await),
        "FORBIDDEN"
    );
    let silent = set_kyc(&app, &admin, &id, "REJECTED", None).await;
    assert_eq!(field(&silent), "reason", "a rejection says why");
    let rejected = set_kyc(
        &app,
        &admin,
        &id,
        "REJECTED",
        Some("The document photo is unreadable."),
    )
    .await;
    assert_no_errors(&rejected);
    assert_eq!(rejected["data"]["setKycStatus"]["kycStatus"], "REJECTED");
    let seen = me(&app, &token).await;
    assert_eq!(seen["kycStatus"], "REJECTED");
    assert_eq!(seen["kycReason"], "The document photo is unreadable.");
    let mail = app
        .wait_for_mail(&email, "identity verification was not approved")
        .await;
    assert!(mail.text.contains("The document photo is unreadable."));

    let wrong = set_kyc(&app, &admin, &id, "APPROVED", None).await;
    assert_eq!(
        error_code(&wrong),
        "BAD_USER_INPUT",
        "REJECTED → APPROVED skips review"
    );
    assert_eq!(field(&wrong), "status");
    assert_no_errors(&set_kyc(&app, &admin, &id, "PENDING", Some("resubmitted")).await);
    assert_no_errors(&set_kyc(&app, &admin, &id, "APPROVED", None).await);
    app.wait_for_mail(&email, "identity verification has been approved")
        .await;
    let unknown = set_kyc(
        &app,
        &admin,
        &json!("0190a0b0-0000-7000-8000-000000000000"),
        "APPROVED",
        None,
    )
    .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let long = "x".repeat(501);
    assert_eq!(
        field(&set_kyc(&app, &admin, &id, "PENDING", Some(&long)).await),
        "reason"
    );

    // Every change is on record: who, from, to; the reason stays out of the trail.
    let events = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "query($id: UUID!) { adminAuditEvents(filter: { accountId: $id, kind: \"kyc.changed\" }, first: 10) { actorId details } }",
            json!({ "id": id }),
        )
        .await;
    let events = events["data"]["adminAuditEvents"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["details"]["from"], "PENDING");
    assert_eq!(events[2]["details"]["to"], "REJECTED");
    assert!(events[2]["actorId"].is_string());
    assert!(!Value::Array(events).to_string().contains("unreadable"));

    // The person sees the decision on their record, but not where the reviewer worked from.
    let own = app
        .graphql_as(
            &new_client(),
            Some(&token),
            "{ auditEvents(first: 50) { kind actorId ipAddress userAgent sessionId } }",
            json!({}),
        )
        .await;
    let decisions: Vec<&Value> = own["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "kyc.changed")
        .collect();
    assert_eq!(decisions.len(), 3, "{own}");
    for event in decisions {
        for key in ["actorId", "ipAddress", "userAgent", "sessionId"] {
            assert_eq!(event[key], Value::Null, "{key}: {event}");
        }
    }

    // Administrators list accounts by KYC status, page by page.
    for _ in 0..3 {
        let mut input = full_registration(&unique_email());
        input["ssn"] = Value::Null;
        assert_no_errors(&register(&app, input).await);
    }
    let list = |status: &'static str, after: Option<Value>| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.graphql_as(
                &new_client(),
                Some(&admin),
                "query($s: KycStatus, $after: UUID) { accounts(kycStatus: $s, first: 1, after: $after) { id kycStatus } }",
                json!({ "s": status, "after": after }),
            )
            .await
        }
    };
    let approved = list("APPROVED", None).await;
    assert_eq!(
        approved["data"]["accounts"],
        json!([{ "id": id, "kycStatus": "APPROVED" }])
    );
    assert_eq!(
        list("APPROVED", Some(id.clone())).await["data"]["accounts"],
        json!([])
    );
    assert_eq!(
        error_code(
            &app.graphql_as(
                &new_client(),
                Some(&token),
                "{ accounts { id } }",
                json!({})
            )
            .await
        ),
        "FORBIDDEN"
    );
}
db_test!(admins_review_kyc_and_people_are_told);

async fn admins_cannot_review_themselves(app: TestApp) {
    let admin = app.admin_token().await;
    let me = app.me(&admin).await;
    let own = set_kyc(&app, &admin, &me["data"]["me"]["id"], "APPROVED", None).await;
    assert_eq!(error_code(&own), "FORBIDDEN");
}
db_test!(admins_cannot_review_themselves);

async fn people_export_everything_held_about_them(app: TestApp) {
    let email = unique_email();
    let body = register(&app, full_registration(&email)).await;
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.login_with(&new_client(), &email, "not my password at all")
        .await;
    let export = app
        .graphql_as(&new_client(), Some(&token), "{ exportMyData }", json!({}))
        .await;
    assert_no_errors(&export);
    let data = &export["data"]["exportMyData"];
    assert_eq!(data["account"]["email"], email.as_str());
    assert_eq!(data["account"]["ssnMasked"], "***-**-6789");
    assert_eq!(data["account"]["dateOfBirth"], "1990-04-01");
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
    let kinds: Vec<&str> = data["securityEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"account.registered") && kinds.contains(&"login.failed"),
        "{kinds:?}"
    );
    let text = export.to_string();
    assert!(!text.contains(SSN) && !text.contains(&digits()));
    assert!(!text.contains("passwordHash") && !text.contains("argon2"));
}
db_test!(people_export_everything_held_about_them);

async fn closing_an_account_erases_it_and_keeps_the_trail(app: TestApp) {
    let admin = app.admin_token().await;
    let email = unique_email();
    let browser = new_client();
    let body = app
        .graphql_as(&browser, None, "mutation($input: RegisterInput!) { register(input: $input) { accessToken account { id } } }", json!({ "input": full_registration(&email) }))
        .await;
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = body["data"]["register"]["account"]["id"].clone();
    let other = app.register(&unique_email()).await;

    let delete = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.graphql_as(
                &new_client(),
                Some(&token),
                "mutation($p: String!) { deleteAccount(password: $p) }",
                json!({ "p": password }),
            )
            .await
        }
    };
    // Someone else's password does not close this account.
    let wrong = delete(token.clone(), "a long admin passphrase nobody guesses").await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(field(&wrong), "password");
    let done = delete(token.clone(), PASSWORD).await;
    assert_no_errors(&done);
    assert_eq!(done["data"]["deleteAccount"], true);

    assert_eq!(error_code(&app.me(&token).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.refresh_with(&browser).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&app.login_with(&new_client(), &email, PASSWORD).await),
        "UNAUTHENTICATED"
    );
    let looked_up = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "query($id: UUID!) { account(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(looked_up["data"]["account"], Value::Null);
    app.wait_for_mail(&email, "account is closed").await;

    // The row keeps nothing personal.
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT email, first_name, last_name, phone, address, city, ssn, ssn_index, ssn_last4, date_of_birth FROM accounts WHERE deleted_at IS NOT NULL",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let email_left: String = rows[0].try_get("", "email").unwrap();
    assert!(!email_left.contains('@'), "{email_left}");
    for column in [
        "phone",
        "address",
        "city",
        "ssn",
        "ssn_index",
        "ssn_last4",
        "date_of_birth",
    ] {
        let value: Option<String> = rows[0].try_get("", column).unwrap();
        assert_eq!(value, None, "{column}");
    }
    assert_eq!(rows[0].try_get::<String>("", "first_name").unwrap(), "");
    let sessions = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT ip_address, user_agent FROM sessions WHERE revoke_reason = 'account_deleted'",
        ))
        .await
        .unwrap();
    assert!(!sessions.is_empty());
    for session in sessions {
        assert_eq!(
            session.try_get::<Option<String>>("", "ip_address").unwrap(),
            None
        );
        assert_eq!(
            session.try_get::<Option<String>>("", "user_agent").unwrap(),
            None
        );
    }

    // The trail stays, whole, under the account id.
    let trail = app
        .graphql_as(&new_client(), Some(&admin), "query($id: UUID!) { adminAuditEvents(filter: { accountId: $id }, first: 50) { kind ipAddress userAgent } }", json!({ "id": id }))
        .await;
    let kinds = trail["data"]["adminAuditEvents"].to_string();
    assert!(
        kinds.contains("account.deleted") && kinds.contains("account.registered"),
        "{kinds}"
    );
    // ...but without where the person was: their addresses and agents are erased from it.
    for event in trail["data"]["adminAuditEvents"].as_array().unwrap() {
        assert_eq!(event["ipAddress"], Value::Null, "{event}");
        assert_eq!(event["userAgent"], Value::Null, "{event}");
    }
    let (ok, text) = {
        let output = tokio::task::block_in_place(|| app.cli(&["audit", "verify"], ""));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    assert!(ok, "{text}");

    // The address and the SSN are free again, for a new account with a new id.
    let again = register(&app, full_registration(&email)).await;
    assert_no_errors(&again);
    assert_ne!(again["data"]["register"]["account"]["id"], id);
    assert_no_errors(&app.me(other["accessToken"].as_str().unwrap()).await);
}
db_test!(closing_an_account_erases_it_and_keeps_the_trail);
