use serde_json::json;

use crate::{
    db_test,
    helpers::{
        ME, PASSWORD, REGISTER, TestApp, assert_no_errors, error_code, new_client, unique_email,
    },
};

async fn register_login_me_logout(app: TestApp) {
    // Arrange / Act: register signs the person in.
    let email = unique_email();
    let registered = app.register(&email).await;
    assert_eq!(registered["account"]["email"], email.as_str());
    assert_eq!(registered["account"]["role"], "USER");
    assert_eq!(registered["account"]["kycStatus"], "PENDING");
    assert_eq!(registered["account"]["emailVerified"], false);
    assert_eq!(registered["session"]["current"], true);
    let token = registered["accessToken"].as_str().unwrap();

    // `me` with the bearer token.
    let me = app.me(token).await;
    assert_no_errors(&me);
    assert_eq!(me["data"]["me"]["email"], email.as_str());
    assert_eq!(me["data"]["me"]["firstName"], "Ada");

    // `me` with only the cookies the register response set (how an SPA works).
    let by_cookie = app.graphql(ME, json!({})).await;
    assert_eq!(
        by_cookie["data"]["me"]["email"],
        email.as_str(),
        "{by_cookie}"
    );

    // Login from another browser opens a second session.
    let other = new_client();
    let login = app
        .login_with(&other, &email.to_uppercase(), PASSWORD)
        .await;
    assert_no_errors(&login);
    assert_eq!(login["data"]["login"]["__typename"], "AuthPayload");
    assert_ne!(
        login["data"]["login"]["session"]["id"],
        registered["session"]["id"]
    );
    let sessions = app.graphql("{ sessions { id current } }", json!({})).await;
    assert_eq!(
        sessions["data"]["sessions"].as_array().unwrap().len(),
        2,
        "{sessions}"
    );

    // Logout ends this session only.
    let logout = app.graphql("mutation { logout }", json!({})).await;
    assert_eq!(logout["data"]["logout"], true);
    assert_eq!(error_code(&app.me(token).await), "UNAUTHENTICATED");
    let second = login["data"]["login"]["accessToken"].as_str().unwrap();
    assert_no_errors(&app.me(second).await);
}
db_test!(register_login_me_logout);

async fn wrong_password_and_unknown_email_give_the_same_error(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let wrong_password = app
        .login_with(&new_client(), &email, "correct horse battery stapler")
        .await;
    let unknown_email = app
        .login_with(&new_client(), &unique_email(), PASSWORD)
        .await;
    let malformed_email = app
        .login_with(&new_client(), "not-an-email", PASSWORD)
        .await;
    assert_eq!(error_code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown_email["errors"][0]["message"]
    );
    assert_eq!(
        wrong_password["errors"][0]["extensions"],
        unknown_email["errors"][0]["extensions"]
    );
    assert_eq!(
        wrong_password["errors"][0]["message"],
        malformed_email["errors"][0]["message"]
    );
    assert!(wrong_password["data"].is_null());
    // No truncation: the password minus its last character is wrong.
    let truncated = app
        .login_with(&new_client(), &email, &PASSWORD[..PASSWORD.len() - 1])
        .await;
    assert_eq!(error_code(&truncated), "UNAUTHENTICATED");
}
db_test!(wrong_password_and_unknown_email_give_the_same_error);

async fn registration_input_is_validated_field_by_field(app: TestApp) {
    let cases = [
        (
            json!({ "email": "nope", "password": PASSWORD, "firstName": "Ada", "lastName": "L" }),
            "email",
        ),
        (
            json!({ "email": unique_email(), "password": "short", "firstName": "Ada", "lastName": "L" }),
            "password",
        ),
        (
            json!({ "email": unique_email(), "password": "elevenchars", "firstName": "Ada", "lastName": "L" }),
            "password",
        ),
        (
            json!({ "email": unique_email(), "password": "password1234", "firstName": "Ada", "lastName": "L" }),
            "password",
        ),
        (
            json!({ "email": unique_email(), "password": PASSWORD, "firstName": "<b>", "lastName": "L" }),
            "firstName",
        ),
        (
            json!({ "email": unique_email(), "password": PASSWORD, "firstName": "Ada", "lastName": "" }),
            "lastName",
        ),
    ];
    for (input, field) in cases {
        let body = app.graphql(REGISTER, json!({ "input": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], field,
            "{input}: {body}"
        );
    }
    // The common-password error says why.
    let body = app
        .graphql(REGISTER, json!({ "input": { "email": unique_email(), "password": "password1234", "firstName": "Ada", "lastName": "L" } }))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too easy to guess"),
        "{body}"
    );
    // Nothing was created by the rejected attempts: a valid registration of the same kind works.
    app.register(&unique_email()).await;
}
db_test!(registration_input_is_validated_field_by_field);

async fn twelve_characters_and_long_unicode_passwords_are_accepted(app: TestApp) {
    for password in [
        "qz7#vR1!mK9w",
        "🔐🦀🌍🎹 mañana über façade naïve ☕️🧪📈 plus a few more words to reach sixty-four",
    ] {
        let email = unique_email();
        let body = app
            .graphql(REGISTER, json!({ "input": { "email": email, "password": password, "firstName": "Ada", "lastName": "L" } }))
            .await;
        assert_no_errors(&body);
        assert_no_errors(&app.login_with(&new_client(), &email, password).await);
    }
}
db_test!(twelve_characters_and_long_unicode_passwords_are_accepted);

async fn an_email_registers_once_whatever_its_case(app: TestApp) {
    let email = unique_email();
    app.register(&email).await;
    let again = app
        .graphql(REGISTER, json!({ "input": { "email": email.to_uppercase(), "password": PASSWORD, "firstName": "Ada", "lastName": "L" } }))
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    assert_eq!(again["errors"][0]["extensions"]["field"], "email");
}
db_test!(an_email_registers_once_whatever_its_case);

async fn signed_out_callers_get_unauthenticated(app: TestApp) {
    for query in [
        ME,
        "{ sessions { id } }",
        "mutation { revokeOtherSessions }",
    ] {
        let body = app.graphql_as(&new_client(), None, query, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}: {body}");
    }
}
db_test!(signed_out_callers_get_unauthenticated);

async fn only_admins_read_other_accounts(app: TestApp) {
    let victim = app.register(&unique_email()).await;
    let attacker = app.register_with(&new_client(), &unique_email()).await;
    let body = app
        .graphql_as(
            &new_client(),
            attacker["accessToken"].as_str(),
            "query($id: UUID!) { account(id: $id) { email } }",
            json!({ "id": victim["account"]["id"] }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}
db_test!(only_admins_read_other_accounts);
