//! Two-step sign-in: enrolment, the login challenge, replays, recovery codes, disabling.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::TimeDelta;
use futures::future::join_all;
use reqwest::Client;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use crate::{
    db_test,
    helpers::{PASSWORD, TestApp, assert_no_errors, error_code, new_client, unique_email},
};

pub(crate) const ENABLE: &str = "mutation { enableMfa { secret otpauthUri qrCodeSvg } }";
const CONFIRM: &str = "mutation($code: String!) { confirmMfa(code: $code) { codes } }";
pub(crate) const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { __typename ... on MfaChallenge { mfaToken expiresAt } ... on AuthPayload { accessToken session { mfaVerified } } } }";
pub(crate) const VERIFY: &str = "mutation($token: String!, $code: String!) { verifyMfa(mfaToken: $token, code: $code) { accessToken session { id mfaVerified } account { mfaEnabled } } }";

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

/// The current code of `secret` by the app's clock.
pub(crate) fn code(app: &TestApp, secret: &str) -> String {
    let bytes = Secret::try_from_base32(secret).expect("base32 secret");
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes.as_ref().to_vec())
        .build()
        .expect("totp");
    let now = custodian::clock::Clock::now(app.clock.as_ref()).timestamp();
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// A person with MFA on: (email, access token of the enrolling session, secret, recovery codes).
pub(crate) struct Enrolled {
    pub(crate) email: String,
    pub(crate) token: String,
    pub(crate) secret: String,
    pub(crate) codes: Vec<String>,
}

pub(crate) async fn enrol(app: &TestApp, client: &Client) -> Enrolled {
    let email = unique_email();
    let token = app.register_with(client, &email).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let setup = app
        .graphql_as(client, Some(&token), ENABLE, json!({}))
        .await;
    assert_no_errors(&setup);
    let secret = setup["data"]["enableMfa"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = app
        .graphql_as(
            client,
            Some(&token),
            CONFIRM,
            json!({ "code": code(app, &secret) }),
        )
        .await;
    assert_no_errors(&confirmed);
    let codes = confirmed["data"]["confirmMfa"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        email,
        token,
        secret,
        codes,
    }
}

pub(crate) async fn challenge(app: &TestApp, email: &str) -> String {
    let body = app
        .graphql_as(
            &new_client(),
            None,
            LOGIN,
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_no_errors(&body);
    assert_eq!(
        body["data"]["login"]["__typename"], "MfaChallenge",
        "{body}"
    );
    body["data"]["login"]["mfaToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn verify(app: &TestApp, token: &str, code: &str) -> Value {
    app.graphql_as(
        &new_client(),
        None,
        VERIFY,
        json!({ "token": token, "code": code }),
    )
    .await
}

fn amr(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["amr"].clone()
}

async fn enrolment_turns_mfa_on_and_login_takes_two_steps(app: TestApp) {
    let laptop = new_client();
    let email = unique_email();
    let token = app.register_with(&laptop, &email).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second device signed in before MFA existed.
    let phone = new_client();
    assert_no_errors(&app.login_with(&phone, &email, PASSWORD).await);

    let setup = app
        .graphql_as(&laptop, Some(&token), ENABLE, json!({}))
        .await;
    assert_no_errors(&setup);
    let setup = &setup["data"]["enableMfa"];
    let secret = setup["secret"].as_str().unwrap();
    assert_eq!(
        Secret::try_from_base32(secret).unwrap().as_ref().len(),
        20,
        "160 bits"
    );
    let uri = setup["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Custodian:"), "{uri}");
    assert!(
        uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Custodian"),
        "{uri}"
    );
    assert!(setup["qrCodeSvg"].as_str().unwrap().contains("<svg"));
    let mfa_enabled = |token: String| {
        let app = &app;
        async move {
            app.graphql_as(
                &new_client(),
                Some(&token),
                "{ me { mfaEnabled } }",
                json!({}),
            )
            .await["data"]["me"]["mfaEnabled"]
                .clone()
        }
    };
    assert_eq!(
        mfa_enabled(token.clone()).await,
        false,
        "pending until confirmed"
    );

    let wrong = app
        .graphql_as(&laptop, Some(&token), CONFIRM, json!({ "code": "000000" }))
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(field(&wrong), "code");
    let first_code = code(&app, secret);
    let confirmed = app
        .graphql_as(
            &laptop,
            Some(&token),
            CONFIRM,
            json!({ "code": first_code }),
        )
        .await;
    assert_no_errors(&confirmed);
    let codes = confirmed["data"]["confirmMfa"]["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(mfa_enabled(token.clone()).await, true);
    app.wait_for_mail(&email, "Two-step sign-in is on").await;
    assert_eq!(
        error_code(
            &app.graphql_as(&laptop, Some(&token), ENABLE, json!({}))
                .await
        ),
        "CONFLICT"
    );
    // The session that never passed MFA is over; this one goes on.
    assert_eq!(
        error_code(&app.refresh_with(&phone).await),
        "UNAUTHENTICATED"
    );
    assert_no_errors(&app.refresh_with(&laptop).await);

    // Login now answers a challenge, which is no access token.
    let mfa_token = challenge(&app, &email).await;
    assert_eq!(error_code(&app.me(&mfa_token).await), "UNAUTHENTICATED");
    assert_eq!(field(&verify(&app, &mfa_token, "123456").await), "code");
    // The code that confirmed enrolment was used: it never works again.
    assert_eq!(field(&verify(&app, &mfa_token, &first_code).await), "code");
    app.clock.advance(TimeDelta::seconds(30));
    let fresh = code(&app, secret);
    let done = verify(&app, &mfa_token, &fresh).await;
    assert_no_errors(&done);
    let payload = &done["data"]["verifyMfa"];
    assert_eq!(payload["session"]["mfaVerified"], true);
    assert_eq!(
        amr(payload["accessToken"].as_str().unwrap()),
        json!(["pwd", "otp"])
    );
    // The challenge is spent, and the code is spent for every other challenge too.
    assert_eq!(
        error_code(&verify(&app, &mfa_token, &fresh).await),
        "UNAUTHENTICATED"
    );
    let another = challenge(&app, &email).await;
    assert_eq!(field(&verify(&app, &another, &fresh).await), "code");
}
db_test!(enrolment_turns_mfa_on_and_login_takes_two_steps);

async fn one_code_signs_in_once_even_when_sent_twice_at_once(app: TestApp) {
    let person = enrol(&app, &new_client()).await;
    let first = challenge(&app, &person.email).await;
    let second = challenge(&app, &person.email).await;
    app.clock.advance(TimeDelta::seconds(30));
    let code = code(&app, &person.secret);
    let results = join_all([verify(&app, &first, &code), verify(&app, &second, &code)]).await;
    let signed_in = results
        .iter()
        .filter(|body| body.get("errors").is_none())
        .count();
    assert_eq!(signed_in, 1, "{results:?}");
}
db_test!(one_code_signs_in_once_even_when_sent_twice_at_once);

async fn recovery_codes_work_once_and_are_announced(app: TestApp) {
    let person = enrol(&app, &new_client()).await;
    let recovery = &person.codes[3];
    let token = challenge(&app, &person.email).await;
    // As typed by a person: lower case, spaces for dashes.
    let typed = recovery.to_lowercase().replace('-', " ");
    let done = verify(&app, &token, &typed).await;
    assert_no_errors(&done);
    assert_eq!(done["data"]["verifyMfa"]["session"]["mfaVerified"], true);
    let mail = app
        .wait_for_mail(&person.email, "A recovery code was used")
        .await;
    assert!(mail.text.contains("9 remain"), "{}", mail.text);
    let again = challenge(&app, &person.email).await;
    assert_eq!(field(&verify(&app, &again, recovery).await), "code");
    assert!(!mail.text.contains(recovery.as_str()));
}
db_test!(recovery_codes_work_once_and_are_announced);

async fn challenges_expire_and_end_after_five_wrong_codes(app: TestApp) {
    let person = enrol(&app, &new_client()).await;
    let late = challenge(&app, &person.email).await;
    app.clock
        .advance(TimeDelta::minutes(5) + TimeDelta::seconds(1));
    assert_eq!(
        error_code(&verify(&app, &late, &code(&app, &person.secret)).await),
        "UNAUTHENTICATED"
    );

    let guessed = challenge(&app, &person.email).await;
    for guess in ["111111", "222222", "333333", "444444", "555555"] {
        assert_eq!(field(&verify(&app, &guessed, guess).await), "code");
    }
    app.clock.advance(TimeDelta::seconds(30));
    let right = code(&app, &person.secret);
    assert_eq!(
        error_code(&verify(&app, &guessed, &right).await),
        "UNAUTHENTICATED"
    );
    // A new sign-in starts over.
    let fresh = challenge(&app, &person.email).await;
    assert_no_errors(&verify(&app, &fresh, &right).await);
}
db_test!(challenges_expire_and_end_after_five_wrong_codes);

async fn disabling_needs_the_password_and_a_code(app: TestApp) {
    let laptop = new_client();
    let person = enrol(&app, &laptop).await;
    let disable = |password: &str, code: String| {
        let (app, token) = (&app, person.token.clone());
        let variables = json!({ "password": password, "code": code });
        async move {
            app.graphql_as(
                &new_client(),
                Some(&token),
                "mutation($password: String!, $code: String!) { disableMfa(password: $password, code: $code) }",
                variables,
            )
            .await
        }
    };
    app.clock.advance(TimeDelta::seconds(30));
    assert_eq!(
        field(&disable("not my password at all", code(&app, &person.secret)).await),
        "password"
    );
    assert_eq!(field(&disable(PASSWORD, "000000".into()).await), "code");
    assert_no_errors(&disable(PASSWORD, code(&app, &person.secret)).await);
    app.wait_for_mail(&person.email, "Two-step sign-in is off")
        .await;
    let login = app
        .graphql_as(
            &new_client(),
            None,
            LOGIN,
            json!({ "email": person.email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(login["data"]["login"]["__typename"], "AuthPayload");
    assert_eq!(login["data"]["login"]["session"]["mfaVerified"], false);
}
db_test!(disabling_needs_the_password_and_a_code);

async fn regenerated_recovery_codes_replace_the_old_ones(app: TestApp) {
    let person = enrol(&app, &new_client()).await;
    app.clock.advance(TimeDelta::seconds(30));
    let regenerated = app
        .graphql_as(
            &new_client(),
            Some(&person.token),
            "mutation($code: String!) { regenerateRecoveryCodes(code: $code) { codes } }",
            json!({ "code": code(&app, &person.secret) }),
        )
        .await;
    assert_no_errors(&regenerated);
    let new_code = regenerated["data"]["regenerateRecoveryCodes"]["codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let token = challenge(&app, &person.email).await;
    assert_eq!(field(&verify(&app, &token, &person.codes[0]).await), "code");
    assert_no_errors(&verify(&app, &token, &new_code).await);
}
db_test!(regenerated_recovery_codes_replace_the_old_ones);

async fn the_rest_login_takes_the_same_two_steps(app: TestApp) {
    let person = enrol(&app, &new_client()).await;
    let browser = new_client();
    let first: Value = browser
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": person.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["mfaRequired"], true, "{first}");
    assert!(first.get("accessToken").is_none());
    app.clock.advance(TimeDelta::seconds(30));
    let response = browser
        .post(app.url("/api/auth/mfa"))
        .json(&json!({ "mfaToken": first["mfaToken"], "code": code(&app, &person.secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(crate::helpers::set_cookie(&response, "custodian_refresh").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        amr(body["accessToken"].as_str().unwrap()),
        json!(["pwd", "otp"])
    );
    // The refresh cookie keeps the MFA-verified session going.
    let refreshed = app.refresh_with(&browser).await;
    assert_no_errors(&refreshed);
    assert_eq!(
        amr(refreshed["data"]["refreshToken"]["accessToken"]
            .as_str()
            .unwrap()),
        json!(["pwd", "otp"])
    );
}
db_test!(the_rest_login_takes_the_same_two_steps);
