//! Passkeys: adding them (after re-authentication), signing in with one, as the second step of
//! a password sign-in, the counter that catches a cloned authenticator, the limits, removal.
//!
//! The authenticator is a software one written here (ES256 keys from `p256`, "none"
//! attestation, a hand-made CBOR encoder), so every byte it signs, and its counter, is ours to
//! set.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::TimeDelta;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use reqwest::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    db_test,
    helpers::{
        PASSWORD, TestApp, assert_no_errors, error_code, new_client, set_cookie, unique_email,
    },
    mfa::enrol,
};

/// The origin the test app's pages are served from: its public URL.
const ORIGIN: &str = "http://localhost:8080";

const START_REGISTRATION: &str = "mutation { startPasskeyRegistration }";
const FINISH_REGISTRATION: &str = "mutation($name: String!, $credential: JSON!) { finishPasskeyRegistration(name: $name, credential: $credential) { id name createdAt lastUsedAt backedUp } }";
const PASSKEYS: &str = "{ passkeys { id name createdAt lastUsedAt backedUp } }";
const REMOVE: &str = "mutation($id: UUID!) { removePasskey(id: $id) }";
const START_LOGIN: &str = "mutation { startPasskeyLogin { challengeId options } }";
const FINISH_LOGIN: &str = "mutation($id: UUID!, $credential: JSON!) { finishPasskeyLogin(challengeId: $id, credential: $credential) { accessToken account { id } session { id mfaVerified } } }";
const VERIFY_PASSKEY: &str = "mutation($token: String!, $credential: JSON!) { verifyMfaPasskey(mfaToken: $token, credential: $credential) { accessToken session { mfaVerified } } }";
const LOGIN_WITH_METHODS: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { __typename ... on MfaChallenge { mfaToken methods passkeyOptions } } }";
const REAUTHENTICATE: &str = "mutation($code: String) { reauthenticate(password: \"correct horse battery staple\", code: $code) }";
const OWN_EVENTS: &str = "{ auditEvents(first: 50) { kind details } }";

// A minimal CBOR encoder: what attestation objects and COSE keys are made of.
enum Cbor {
    Int(i64),
    Bytes(Vec<u8>),
    Text(&'static str),
    Map(Vec<(Cbor, Cbor)>),
}

fn cbor(value: &Cbor, out: &mut Vec<u8>) {
    fn head(major: u8, length: u64, out: &mut Vec<u8>) {
        match length {
            0..24 => out.push(major << 5 | length as u8),
            24..256 => out.extend([major << 5 | 24, length as u8]),
            256..65536 => {
                out.push(major << 5 | 25);
                out.extend((length as u16).to_be_bytes());
            }
            _ => {
                out.push(major << 5 | 26);
                out.extend((length as u32).to_be_bytes());
            }
        }
    }
    match value {
        Cbor::Int(n) if *n >= 0 => head(0, *n as u64, out),
        Cbor::Int(n) => head(1, (-1 - *n) as u64, out),
        Cbor::Bytes(bytes) => {
            head(2, bytes.len() as u64, out);
            out.extend(bytes);
        }
        Cbor::Text(text) => {
            head(3, text.len() as u64, out);
            out.extend(text.as_bytes());
        }
        Cbor::Map(entries) => {
            head(5, entries.len() as u64, out);
            for (key, value) in entries {
                cbor(key, out);
                cbor(value, out);
            }
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text.as_str().unwrap()).unwrap()
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// A software passkey: a P-256 key, the credential id and user handle it was made with, and
/// its signature counter.
struct SoftPasskey {
    key: SigningKey,
    id: Vec<u8>,
    user_handle: Vec<u8>,
    rp_id: String,
    counter: u32,
    /// Backup eligible and backed up, as a synced passkey says.
    synced: bool,
}

impl SoftPasskey {
    /// Makes a credential for creation options, as `navigator.credentials.create` would, and
    /// answers it with the browser's `toJSON()` of it.
    fn create(options: &Value, synced: bool) -> (Self, Value) {
        let public_key = &options["publicKey"];
        let seed = Sha256::digest(Uuid::new_v4().as_bytes());
        let passkey = Self {
            key: SigningKey::from_slice(&seed).unwrap(),
            id: Uuid::new_v4().as_bytes().to_vec(),
            user_handle: unb64(&public_key["user"]["id"]),
            rp_id: public_key["rp"]["id"].as_str().unwrap().to_owned(),
            counter: 0,
            synced,
        };
        let point = passkey.key.verifying_key().to_sec1_point(false);
        let sec1 = point.as_bytes();
        let cose_key = Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),
            (Cbor::Int(3), Cbor::Int(-7)),
            (Cbor::Int(-1), Cbor::Int(1)),
            (Cbor::Int(-2), Cbor::Bytes(sec1[1..33].to_vec())),
            (Cbor::Int(-3), Cbor::Bytes(sec1[33..65].to_vec())),
        ]);
        let mut auth_data = passkey.auth_data(AT);
        auth_data.extend([0u8; 16]);
        auth_data.extend((passkey.id.len() as u16).to_be_bytes());
        auth_data.extend(&passkey.id);
        cbor(&cose_key, &mut auth_data);
        let mut attestation = Vec::new();
        cbor(
            &Cbor::Map(vec![
                (Cbor::Text("fmt"), Cbor::Text("none")),
                (Cbor::Text("attStmt"), Cbor::Map(vec![])),
                (Cbor::Text("authData"), Cbor::Bytes(auth_data)),
            ]),
            &mut attestation,
        );
        let client_data = client_data("webauthn.create", &public_key["challenge"]);
        let credential = json!({
            "id": b64(&passkey.id),
            "rawId": b64(&passkey.id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(client_data.as_bytes()),
            },
            "clientExtensionResults": {},
        });
        (passkey, credential)
    }

    fn auth_data(&self, extra: u8) -> Vec<u8> {
        let mut flags = UP | UV | extra;
        if self.synced {
            flags |= BE | BS;
        }
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        data
    }

    /// Answers request options with the next counter value.
    fn sign_in(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.answer(options)
    }

    /// Answers request options as `navigator.credentials.get` would, with the counter as it
    /// stands.
    fn answer(&self, options: &Value) -> Value {
        let auth_data = self.auth_data(0);
        let client_data = client_data("webauthn.get", &options["publicKey"]["challenge"]);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(client_data.as_bytes()));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.id),
            "rawId": b64(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(client_data.as_bytes()),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}

fn client_data(kind: &str, challenge: &Value) -> String {
    json!({ "type": kind, "challenge": challenge, "origin": ORIGIN, "crossOrigin": false })
        .to_string()
}

/// The claims of an access token, unverified: what a client reads.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn amr(token: &str) -> Value {
    claims(token)["amr"].clone()
}

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

fn reason(body: &Value) -> &str {
    body["errors"][0]["extensions"]["reason"]
        .as_str()
        .unwrap_or_default()
}

/// A new account signed in on `client`: (email, access token, account id).
async fn person(app: &TestApp, client: &Client) -> (String, String, String) {
    let email = unique_email();
    let registered = app.register_with(client, &email).await;
    let token = registered["accessToken"].as_str().unwrap().to_owned();
    let id = registered["account"]["id"].as_str().unwrap().to_owned();
    (email, token, id)
}

/// Adds a passkey to the account of `token` (its session recently authenticated).
async fn add_passkey(app: &TestApp, token: &str, name: &str) -> (SoftPasskey, Value) {
    let started = app
        .graphql_as(&new_client(), Some(token), START_REGISTRATION, json!({}))
        .await;
    assert_no_errors(&started);
    let (passkey, credential) =
        SoftPasskey::create(&started["data"]["startPasskeyRegistration"], false);
    let finished = app
        .graphql_as(
            &new_client(),
            Some(token),
            FINISH_REGISTRATION,
            json!({ "name": name, "credential": credential }),
        )
        .await;
    assert_no_errors(&finished);
    (
        passkey,
        finished["data"]["finishPasskeyRegistration"].clone(),
    )
}

/// A passkey sign-in's challenge: (id, options).
async fn start_login(app: &TestApp) -> (String, Value) {
    let started = app.graphql(START_LOGIN, json!({})).await;
    assert_no_errors(&started);
    let challenge = &started["data"]["startPasskeyLogin"];
    (
        challenge["challengeId"].as_str().unwrap().to_owned(),
        challenge["options"].clone(),
    )
}

async fn finish_login(app: &TestApp, client: &Client, id: &str, credential: Value) -> Value {
    app.graphql_as(
        client,
        None,
        FINISH_LOGIN,
        json!({ "id": id, "credential": credential }),
    )
    .await
}

async fn own_kinds(app: &TestApp, token: &str) -> Vec<(String, Value)> {
    let body = app
        .graphql_as(&new_client(), Some(token), OWN_EVENTS, json!({}))
        .await;
    assert_no_errors(&body);
    body["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            (
                event["kind"].as_str().unwrap().to_owned(),
                event["details"].clone(),
            )
        })
        .collect()
}

async fn a_passkey_is_added_after_reauthentication_and_signs_in_alone(app: TestApp) {
    let browser = new_client();
    let (email, token, account_id) = person(&app, &browser).await;

    // Past the re-authentication window, adding a passkey needs the password again.
    app.clock.advance(TimeDelta::minutes(6));
    let refused = app
        .graphql_as(&browser, Some(&token), START_REGISTRATION, json!({}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(reason(&refused), "REAUTHENTICATION_REQUIRED");
    assert_no_errors(
        &app.graphql_as(&browser, Some(&token), REAUTHENTICATE, json!({}))
            .await,
    );

    let started = app
        .graphql_as(&browser, Some(&token), START_REGISTRATION, json!({}))
        .await;
    assert_no_errors(&started);
    let options = &started["data"]["startPasskeyRegistration"];
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{options}");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    let handle = unb64(&options["publicKey"]["user"]["id"]);
    assert_eq!(handle.len(), 16);
    assert_ne!(
        handle,
        Uuid::parse_str(&account_id).unwrap().as_bytes(),
        "the user handle is not the account id"
    );
    assert!(!String::from_utf8_lossy(&handle).contains(&email));
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");

    let (mut passkey, credential) = SoftPasskey::create(options, true);
    let bad_name = app
        .graphql_as(
            &browser,
            Some(&token),
            FINISH_REGISTRATION,
            json!({ "name": "  ", "credential": credential }),
        )
        .await;
    assert_eq!(error_code(&bad_name), "BAD_USER_INPUT");
    assert_eq!(field(&bad_name), "name");
    let junk = app
        .graphql_as(
            &browser,
            Some(&token),
            FINISH_REGISTRATION,
            json!({ "name": "Laptop", "credential": { "id": "x" } }),
        )
        .await;
    assert_eq!(error_code(&junk), "BAD_USER_INPUT");
    assert_eq!(field(&junk), "credential");
    let added = app
        .graphql_as(
            &browser,
            Some(&token),
            FINISH_REGISTRATION,
            json!({ "name": " Laptop ", "credential": credential }),
        )
        .await;
    assert_no_errors(&added);
    let added = &added["data"]["finishPasskeyRegistration"];
    assert_eq!(added["name"], "Laptop");
    assert_eq!(added["backedUp"], true);
    assert_eq!(added["lastUsedAt"], Value::Null);
    app.wait_for_mail(&email, "A passkey was added").await;

    let listed = app
        .graphql_as(&browser, Some(&token), PASSKEYS, json!({}))
        .await;
    assert_no_errors(&listed);
    assert_eq!(listed["data"]["passkeys"], json!([added]));

    // Signed out, the passkey alone signs in: no email, no second step.
    assert_no_errors(
        &app.graphql_as(&browser, Some(&token), "mutation { logout }", json!({}))
            .await,
    );
    let (challenge, request) = start_login(&app).await;
    assert!(request.get("mediation").is_none(), "{request}");
    let answer = passkey.sign_in(&request);
    let response = app
        .post_graphql(
            &browser,
            None,
            FINISH_LOGIN,
            json!({ "id": challenge, "credential": answer }),
        )
        .await;
    assert!(set_cookie(&response, "custodian_refresh").is_some());
    assert!(set_cookie(&response, "custodian_access").is_some());
    let body: Value = response.json().await.unwrap();
    assert_no_errors(&body);
    let signed_in = &body["data"]["finishPasskeyLogin"];
    assert_eq!(signed_in["account"]["id"], account_id.as_str());
    assert_eq!(signed_in["session"]["mfaVerified"], true);
    let access = signed_in["accessToken"].as_str().unwrap();
    assert_eq!(amr(access), json!(["hwk", "user"]));

    // A refresh keeps what the sign-in proved.
    let refreshed = app.refresh_with(&browser).await;
    assert_no_errors(&refreshed);
    let access = refreshed["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(amr(access), json!(["hwk", "user"]));

    let listed = app
        .graphql_as(&browser, Some(access), PASSKEYS, json!({}))
        .await;
    assert!(listed["data"]["passkeys"][0]["lastUsedAt"].is_string());
    let events = own_kinds(&app, access).await;
    assert!(
        events
            .iter()
            .any(|(kind, details)| kind == "login.succeeded" && details["method"] == "passkey"),
        "{events:?}"
    );
    assert!(events.iter().any(|(kind, _)| kind == "passkey.added"));

    // A password sign-in still says what it was.
    let password = app.login_with(&new_client(), &email, PASSWORD).await;
    let token = password["data"]["login"]["accessToken"].as_str().unwrap();
    assert_eq!(amr(token), json!(["pwd"]));
}
db_test!(a_passkey_is_added_after_reauthentication_and_signs_in_alone);

async fn a_counter_that_goes_backwards_is_refused_and_recorded(app: TestApp) {
    let (_, token, _) = person(&app, &new_client()).await;
    let (mut passkey, _) = add_passkey(&app, &token, "Key").await;
    passkey.counter = 4;
    let (challenge, request) = start_login(&app).await;
    let answer = passkey.sign_in(&request);
    assert_no_errors(&finish_login(&app, &new_client(), &challenge, answer).await);

    // A copy of the key, behind the original: the same counter, then a lower one.
    for counter in [5, 3] {
        passkey.counter = counter;
        let (challenge, request) = start_login(&app).await;
        let refused = finish_login(&app, &new_client(), &challenge, passkey.answer(&request)).await;
        assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
        assert_eq!(
            refused["errors"][0]["message"],
            "this passkey was not accepted: sign in another way"
        );
    }
    let events = own_kinds(&app, &token).await;
    let clones = events
        .iter()
        .filter(|(kind, _)| kind == "passkey.clone_suspected")
        .count();
    assert_eq!(clones, 2, "{events:?}");

    // The original, moving on, still signs in.
    passkey.counter = 6;
    let (challenge, request) = start_login(&app).await;
    let answer = passkey.sign_in(&request);
    assert_no_errors(&finish_login(&app, &new_client(), &challenge, answer).await);
}
db_test!(a_counter_that_goes_backwards_is_refused_and_recorded);

async fn an_account_holds_at_most_ten_passkeys(app: TestApp) {
    let (_, token, _) = person(&app, &new_client()).await;
    for n in 0..10 {
        add_passkey(&app, &token, &format!("Key {n}")).await;
    }
    let refused = app
        .graphql_as(&new_client(), Some(&token), START_REGISTRATION, json!({}))
        .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert_eq!(field(&refused), "passkeys");
    let listed = app
        .graphql_as(&new_client(), Some(&token), PASSKEYS, json!({}))
        .await;
    assert_eq!(listed["data"]["passkeys"].as_array().unwrap().len(), 10);
}
db_test!(an_account_holds_at_most_ten_passkeys);

async fn a_removed_passkey_signs_in_no_more(app: TestApp) {
    let (email, token, _) = person(&app, &new_client()).await;
    let (mut passkey, added) = add_passkey(&app, &token, "Phone").await;
    let id = added["id"].as_str().unwrap();

    // Past the re-authentication window, removing needs the password again.
    app.clock.advance(chrono::TimeDelta::minutes(6));
    let stale = app
        .graphql_as(&new_client(), Some(&token), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(reason(&stale), "REAUTHENTICATION_REQUIRED", "{stale}");
    let proved = app
        .graphql_as(&new_client(), Some(&token), REAUTHENTICATE, json!({}))
        .await;
    assert_no_errors(&proved);

    let (_, stranger, _) = person(&app, &new_client()).await;
    let not_theirs = app
        .graphql_as(&new_client(), Some(&stranger), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&not_theirs), "NOT_FOUND", "{not_theirs}");

    let removed = app
        .graphql_as(&new_client(), Some(&token), REMOVE, json!({ "id": id }))
        .await;
    assert_no_errors(&removed);
    assert_eq!(removed["data"]["removePasskey"], true);
    app.wait_for_mail(&email, "A passkey was removed").await;
    let again = app
        .graphql_as(&new_client(), Some(&token), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND");

    let (challenge, request) = start_login(&app).await;
    let refused = finish_login(&app, &new_client(), &challenge, passkey.sign_in(&request)).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    let events = own_kinds(&app, &token).await;
    assert!(events.iter().any(|(kind, _)| kind == "passkey.removed"));
    let db = app.database().await;
    use sea_orm::ConnectionTrait;
    let failed = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT details FROM audit_events WHERE kind = 'login.failed' ORDER BY at DESC"
                .to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "details")
        .unwrap();
    let failed: Value = serde_json::from_str(&failed).unwrap();
    assert_eq!(
        failed,
        json!({ "reason": "unknown_passkey", "method": "passkey" })
    );
}
db_test!(a_removed_passkey_signs_in_no_more);

/// A password sign-in of an account with MFA on: its `MfaChallenge`.
async fn mfa_challenge(app: &TestApp, email: &str) -> Value {
    let body = app
        .graphql_as(
            &new_client(),
            None,
            LOGIN_WITH_METHODS,
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_no_errors(&body);
    body["data"]["login"].clone()
}

async fn a_passkey_completes_the_second_step(app: TestApp) {
    let enrolled = enrol(&app, &new_client()).await;
    let without = mfa_challenge(&app, &enrolled.email).await;
    assert_eq!(without["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(without["passkeyOptions"], Value::Null);

    // Enrolment was moments ago: the session may still add a passkey.
    let (mut passkey, _) = add_passkey(&app, &enrolled.token, "Key").await;
    let challenge = mfa_challenge(&app, &enrolled.email).await;
    assert_eq!(
        challenge["methods"],
        json!(["totp", "recovery_code", "passkey"])
    );
    let options = &challenge["passkeyOptions"];
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        b64(&passkey.id)
    );
    let token = challenge["mfaToken"].as_str().unwrap();

    // An answer to other options is a wrong second factor, counted as a wrong code.
    let (_, other) = start_login(&app).await;
    let wrong = app
        .graphql(
            VERIFY_PASSKEY,
            json!({ "token": token, "credential": passkey.sign_in(&other) }),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{wrong}");
    assert_eq!(field(&wrong), "credential");

    let verified = app
        .graphql(
            VERIFY_PASSKEY,
            json!({ "token": token, "credential": passkey.sign_in(options) }),
        )
        .await;
    assert_no_errors(&verified);
    let verified = &verified["data"]["verifyMfaPasskey"];
    assert_eq!(verified["session"]["mfaVerified"], true);
    assert_eq!(
        amr(verified["accessToken"].as_str().unwrap()),
        json!(["pwd", "hwk"])
    );
    let events = own_kinds(&app, verified["accessToken"].as_str().unwrap()).await;
    assert!(
        events
            .iter()
            .any(|(kind, details)| kind == "mfa.verified" && details["method"] == "passkey"),
        "{events:?}"
    );
    let used = app
        .graphql(
            VERIFY_PASSKEY,
            json!({ "token": token, "credential": passkey.sign_in(options) }),
        )
        .await;
    assert_eq!(
        error_code(&used),
        "UNAUTHENTICATED",
        "a challenge is used once"
    );
}
db_test!(a_passkey_completes_the_second_step);

async fn a_suspended_account_cannot_sign_in_with_a_passkey(app: TestApp) {
    let (_, token, id) = person(&app, &new_client()).await;
    let (mut passkey, _) = add_passkey(&app, &token, "Key").await;
    let admin = app.admin_token().await;
    let suspended = app
        .graphql_as(
            &new_client(),
            Some(&admin),
            "mutation($id: UUID!) { suspendAccount(accountId: $id, reason: \"chargeback fraud under review\") { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&suspended);
    let (challenge, request) = start_login(&app).await;
    let refused = finish_login(&app, &new_client(), &challenge, passkey.sign_in(&request)).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert_eq!(reason(&refused), "ACCOUNT_SUSPENDED");
}
db_test!(a_suspended_account_cannot_sign_in_with_a_passkey);

/// POSTs `body` as JSON to a REST route with `browser` (and its cookies).
async fn post(app: &TestApp, browser: &Client, path: &str, body: Value) -> reqwest::Response {
    browser
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn the_rest_twin_signs_in_with_a_passkey(app: TestApp) {
    let (_, token, account) = person(&app, &new_client()).await;
    let (mut passkey, _) = add_passkey(&app, &token, "Key").await;
    let browser = new_client();
    let started: Value = post(&app, &browser, "/api/auth/passkey/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let answer = passkey.sign_in(&started["options"]);
    let response = post(
        &app,
        &browser,
        "/api/auth/passkey/finish",
        json!({ "challengeId": started["challengeId"], "credential": answer }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response, "custodian_refresh").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["account"]["id"], account.as_str());
    assert_eq!(
        amr(body["accessToken"].as_str().unwrap()),
        json!(["hwk", "user"])
    );
    let again = post(
        &app,
        &browser,
        "/api/auth/passkey/finish",
        json!({ "challengeId": started["challengeId"], "credential": answer }),
    )
    .await;
    assert_eq!(again.status(), 401);
}
db_test!(the_rest_twin_signs_in_with_a_passkey);

async fn a_ceremony_finishes_once_and_not_late(app: TestApp) {
    let (_, token, _) = person(&app, &new_client()).await;
    let (mut passkey, _) = add_passkey(&app, &token, "Key").await;
    let (challenge, request) = start_login(&app).await;
    let answer = passkey.sign_in(&request);
    assert_no_errors(&finish_login(&app, &new_client(), &challenge, answer.clone()).await);
    let replayed = finish_login(&app, &new_client(), &challenge, answer).await;
    assert_eq!(error_code(&replayed), "UNAUTHENTICATED", "{replayed}");

    let (challenge, request) = start_login(&app).await;
    app.clock.advance(TimeDelta::minutes(6));
    let late = finish_login(&app, &new_client(), &challenge, passkey.sign_in(&request)).await;
    assert_eq!(error_code(&late), "UNAUTHENTICATED", "{late}");

    // A registration's options are used once too, right or wrong.
    let (_, token, _) = person(&app, &new_client()).await;
    let started = app
        .graphql_as(&new_client(), Some(&token), START_REGISTRATION, json!({}))
        .await;
    let (_, credential) = SoftPasskey::create(&started["data"]["startPasskeyRegistration"], false);
    let client = new_client();
    let finish = || {
        app.graphql_as(
            &client,
            Some(&token),
            FINISH_REGISTRATION,
            json!({ "name": "Key", "credential": credential }),
        )
    };
    assert_no_errors(&finish().await);
    let twice = finish().await;
    assert_eq!(error_code(&twice), "BAD_USER_INPUT", "{twice}");
    assert_eq!(field(&twice), "credential");
}
db_test!(a_ceremony_finishes_once_and_not_late);

async fn the_rest_twin_finishes_the_second_step_with_a_passkey(app: TestApp) {
    let enrolled = enrol(&app, &new_client()).await;
    let (mut passkey, _) = add_passkey(&app, &enrolled.token, "Key").await;
    let browser = new_client();
    let login: Value = post(
        &app,
        &browser,
        "/api/auth/login",
        json!({ "email": enrolled.email, "password": PASSWORD }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(login["mfaRequired"], true, "{login}");
    assert_eq!(
        login["methods"],
        json!(["totp", "recovery_code", "passkey"])
    );
    let answer = passkey.sign_in(&login["passkeyOptions"]);
    let response = post(
        &app,
        &browser,
        "/api/auth/mfa/passkey",
        json!({ "mfaToken": login["mfaToken"], "credential": answer }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response, "custodian_refresh").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        amr(body["accessToken"].as_str().unwrap()),
        json!(["pwd", "hwk"])
    );
    let again = post(
        &app,
        &browser,
        "/api/auth/mfa/passkey",
        json!({ "mfaToken": login["mfaToken"], "credential": answer }),
    )
    .await;
    assert_eq!(again.status(), 401, "a challenge is used once");
}
db_test!(the_rest_twin_finishes_the_second_step_with_a_passkey);

async fn passkeys_are_off_where_nothing_names_a_domain(app: TestApp) {
    let body = app.graphql(START_LOGIN, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(reason(&body), "PASSKEYS_UNAVAILABLE");
    // Everything else serves as usual.
    let (_, token, _) = person(&app, &new_client()).await;
    assert_no_errors(&app.me(&token).await);
}
db_test!(
    passkeys_are_off_where_nothing_names_a_domain,
    &[("PUBLIC_URL", "http://127.0.0.1:8080")]
);
