//! Envelope encryption through the real binary: a new master key, `keys rewrap`, the old
//! master destroyed, and nothing lost; `keys rotate-data` while a server runs.

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};
use uuid::Uuid;

use crate::{
    binary::{self, TempDir},
    binary_test, db_test,
    helpers::{
        PASSWORD, REFRESH, TestApp, assert_no_errors, error_code, graphql_at, new_client,
        unique_email,
    },
};

const SSN: &str = "536-22-8147";
const BIRTH: &str = "1984-02-29";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken account { dateOfBirth ssnMasked } } }";
const BIRTH_DATE: &str = "{ me { dateOfBirth } }";
const ENABLE: &str = "mutation { enableMfa { secret } }";
const CONFIRM: &str = "mutation($code: String!) { confirmMfa(code: $code) { codes } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) { __typename ... on MfaChallenge { mfaToken } } }";
const VERIFY: &str = "mutation($token: String!, $code: String!) { verifyMfa(mfaToken: $token, code: $code) { accessToken session { mfaVerified } } }";

/// The standard output of a command that must have succeeded.
fn succeeded(output: &std::process::Output) -> String {
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}

fn new_key() -> String {
    STANDARD.encode(Uuid::new_v4().as_bytes().repeat(2))
}

/// The TOTP code of `secret` for `steps_ahead` 30-second steps from now: a step not yet used,
/// since every step is accepted once.
fn totp(secret: &str, steps_ahead: u64) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).unwrap().as_ref().to_vec())
        .build()
        .unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    totp.generate(now + 30 * steps_ahead).to_string()
}

fn registration(email: &str) -> Value {
    json!({ "input": {
        "email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace",
        "country": "US", "state": "NY", "dateOfBirth": BIRTH, "ssn": SSN,
    } })
}

/// Signs in with the password and finishes with `code`; the access token.
async fn sign_in_with_code(address: &str, email: &str, code: &str) -> String {
    let client = new_client();
    let challenge = graphql_at(
        address,
        &client,
        None,
        LOGIN,
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(
        challenge["data"]["login"]["__typename"], "MfaChallenge",
        "{challenge}"
    );
    let verified = graphql_at(
        address,
        &client,
        None,
        VERIFY,
        json!({ "token": challenge["data"]["login"]["mfaToken"], "code": code }),
    )
    .await;
    assert_no_errors(&verified);
    assert_eq!(
        verified["data"]["verifyMfa"]["session"]["mfaVerified"],
        true
    );
    verified["data"]["verifyMfa"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn birth_date(address: &str, token: &str) -> Value {
    let body = graphql_at(address, &new_client(), Some(token), BIRTH_DATE, json!({})).await;
    assert_no_errors(&body);
    body["data"]["me"]["dateOfBirth"].clone()
}

/// The walk-through: data written under master key K1 is served under K2 once
/// `keys rewrap` has run, with K1 gone.
async fn a_new_master_key_replaces_the_old_one_without_losing_anything(
    database_url: &str,
    dir: &TempDir,
) {
    let (k1, k2) = (new_key(), new_key());
    let env = |current, previous| {
        [
            ("CUSTODIAN_DATABASE_URL", database_url),
            ("CUSTODIAN_ENCRYPTION_KEY", current),
            ("CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS", previous),
        ]
    };
    let start = |current, previous| {
        tokio::task::block_in_place(|| binary::start(&dir.0, &env(current, previous)))
    };

    // Under K1: a person with a birth date, an SSN, MFA and a browser holding a refresh token.
    let server = start(&k1, "").unwrap();
    let browser = new_client();
    let email = unique_email();
    let registered = graphql_at(
        &server.address,
        &browser,
        None,
        REGISTER,
        registration(&email),
    )
    .await;
    assert_no_errors(&registered);
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let setup = graphql_at(&server.address, &browser, Some(&token), ENABLE, json!({})).await;
    assert_no_errors(&setup);
    let secret = setup["data"]["enableMfa"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirmed = graphql_at(
        &server.address,
        &browser,
        Some(&token),
        CONFIRM,
        json!({ "code": totp(&secret, 0) }),
    )
    .await;
    assert_no_errors(&confirmed);
    let recovery_codes: Vec<String> = confirmed["data"]["confirmMfa"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    drop(server);

    // K2 alone cannot open what K1 sealed, and says which settings to fix.
    let refused = start(&k2, "").err().expect("refuses to start");
    assert!(
        refused.contains("CUSTODIAN_PREVIOUS_ENCRYPTION_KEYS"),
        "the refusal names the setting: {refused}"
    );

    // K2 with K1 as previous serves everything.
    let server = start(&k2, &k1).unwrap();
    assert_eq!(birth_date(&server.address, &token).await, BIRTH);
    drop(server);

    // `keys rewrap` seals the data keys under K2...
    let said = succeeded(&binary::run(&dir.0, &env(&k2, &k1), &["keys", "rewrap"]));
    assert!(said.contains("re-sealed 2 data keys"), "{said}");

    // ...so K1 can be destroyed: K2 alone now serves every promise.
    let server = start(&k2, "").unwrap();
    let refreshed = graphql_at(&server.address, &browser, None, REFRESH, json!({})).await;
    assert_no_errors(&refreshed);
    let fresh = refreshed["data"]["refreshToken"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(
        birth_date(&server.address, fresh).await,
        BIRTH,
        "the birth date reads"
    );

    let again = graphql_at(
        &server.address,
        &new_client(),
        None,
        REGISTER,
        registration(&unique_email()),
    )
    .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    assert_eq!(
        again["errors"][0]["extensions"]["field"], "ssn",
        "S is still a duplicate"
    );

    // The TOTP secret opens (a step not yet used), and a recovery code stored under K1's
    // time still matches.
    let by_totp = sign_in_with_code(&server.address, &email, &totp(&secret, 1)).await;
    assert_eq!(birth_date(&server.address, &by_totp).await, BIRTH);
    sign_in_with_code(&server.address, &email, &recovery_codes[0]).await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "a log written to a file carries no colour codes"
    );
    drop(server);

    // The re-sealing is in the audit trail, which still verifies.
    succeeded(&binary::run(&dir.0, &env(&k2, ""), &["audit", "verify"]));
}

binary_test!(a_new_master_key_replaces_the_old_one_without_losing_anything);

/// The account's sealed birth date and SSN, its blind index, and the signing key's seed.
async fn sealed(db: &sea_orm::DatabaseConnection, email: &str) -> (String, String, String, String) {
    let email = custodian::domain::Email::parse(email, "email").unwrap();
    let account = custodian::db::accounts::find_by_email(db, &email)
        .await
        .unwrap()
        .unwrap();
    let signing = custodian::db::signing_keys::all(db).await.unwrap();
    (
        account.date_of_birth.unwrap(),
        account.ssn.unwrap(),
        account.ssn_index.unwrap(),
        signing[0].private_key.clone(),
    )
}

/// A ciphertext's data key id: `v1.<key id>.<body>`.
fn key_of(sealed: &str) -> String {
    sealed.split('.').nth(1).unwrap().to_owned()
}

async fn rotating_data_keys_reencrypts_while_serving(app: TestApp) {
    let client = new_client();
    let email = unique_email();
    let registered = app
        .graphql_as(&client, None, REGISTER, registration(&email))
        .await;
    assert_no_errors(&registered);
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = app.database().await;
    let (dob_before, ssn_before, index_before, signing_before) = sealed(&db, &email).await;

    let said = succeeded(&app.cli(&["keys", "rotate-data", "--batch-size", "1"], ""));
    assert!(said.contains("added data key"), "{said}");
    assert!(said.contains("re-encrypted 3 values; 0 left"), "{said}");

    let (dob_after, ssn_after, index_after, signing_after) = sealed(&db, &email).await;
    let new_key = key_of(&dob_after);
    assert_ne!(key_of(&dob_before), new_key);
    assert_eq!(key_of(&ssn_after), new_key);
    assert_eq!(key_of(&signing_after), new_key);
    assert_ne!(ssn_before, ssn_after);
    assert_ne!(signing_before, signing_after);
    assert_eq!(index_before, index_after, "the blind index does not move");

    // The running server has never seen the new key: it reads it on demand, and encrypts new
    // data under it from then on.
    let me = app.me(&token).await;
    assert_no_errors(&me);
    let birth = app
        .graphql_as(&client, Some(&token), BIRTH_DATE, json!({}))
        .await;
    assert_eq!(birth["data"]["me"]["dateOfBirth"], BIRTH);
    let again = app
        .graphql_as(&new_client(), None, REGISTER, registration(&unique_email()))
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    let other = app
        .graphql_as(
            &new_client(),
            None,
            REGISTER,
            json!({ "input": { "email": unique_email(), "password": PASSWORD, "firstName": "B",
                               "lastName": "C", "country": "US", "state": "NY", "dateOfBirth": "1970-01-01" } }),
        )
        .await;
    assert_no_errors(&other);
    let accounts = custodian::db::accounts::sealed_page(&db, None, 100)
        .await
        .unwrap();
    assert!(
        accounts
            .iter()
            .flat_map(|row| row.sealed.iter().flatten())
            .all(|sealed| key_of(sealed) == new_key),
        "new data is sealed under the new key"
    );

    // A second run finds nothing left behind and adds another key.
    let second = app.cli(&["keys", "rotate-data"], "");
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("added data key"), "{said}");
    assert!(!said.contains(&new_key), "{said}");
}
db_test!(rotating_data_keys_reencrypts_while_serving);

async fn recovery_codes_are_stored_under_a_key(app: TestApp) {
    let enrolled = crate::mfa::enrol(&app, &new_client()).await;
    let db = app.database().await;
    let stored: Vec<String> = custodian::db::mfa::all_recovery_code_hashes(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, hash)| hash)
        .collect();
    assert_eq!(stored.len(), 10);
    for code in &enrolled.codes {
        let symbols = code.replace('-', "");
        let bare = custodian::crypto::sha256_hex(symbols.as_bytes());
        assert!(
            !stored.contains(&bare),
            "a recovery code's bare SHA-256 is not what is stored"
        );
    }
    // The codes still work.
    let challenge = app
        .graphql_as(
            &new_client(),
            None,
            crate::mfa::LOGIN,
            json!({ "email": enrolled.email, "password": PASSWORD }),
        )
        .await;
    let verified = app
        .graphql_as(
            &new_client(),
            None,
            crate::mfa::VERIFY,
            json!({ "token": challenge["data"]["login"]["mfaToken"], "code": enrolled.codes[3] }),
        )
        .await;
    assert_no_errors(&verified);
}
db_test!(recovery_codes_are_stored_under_a_key);

/// A database written before envelope encryption (everything sealed and hashed under the
/// master key itself, recovery codes as bare SHA-256) is adopted by the first start of this
/// version: nothing is lost, every hash still matches.
async fn data_written_before_envelope_encryption_is_adopted(app: TestApp) {
    use custodian::{
        crypto::{Cipher, EncryptionKey, hmac_sha256_hex, keyring::sealing_context, sha256_hex},
        db::{accounts::SealedColumn, entities},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    let registered = app
        .graphql_as(&new_client(), None, REGISTER, registration(&unique_email()))
        .await;
    assert_no_errors(&registered);
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let enrolled = crate::mfa::enrol(&app, &new_client()).await;

    // Rewrite the database as the previous version wrote it.
    let db = app.database().await;
    let keys = app.data_keys().await;
    let master =
        EncryptionKey::from_base64(app.settings.crypto.encryption_key.as_ref().unwrap()).unwrap();
    let legacy = Cipher::new(&master, &[]);
    for row in custodian::db::accounts::sealed_page(&db, None, 100)
        .await
        .unwrap()
    {
        for (column, sealed) in SealedColumn::ALL.into_iter().zip(&row.sealed) {
            let Some(sealed) = sealed else { continue };
            let context = column.context(row.id);
            let plain = keys.decrypt(sealed, &context).unwrap();
            let old = legacy.encrypt(&plain, &context).unwrap();
            assert!(
                custodian::db::accounts::reseal(&db, row.id, column, sealed, &old)
                    .await
                    .unwrap()
            );
        }
    }
    for key in custodian::db::signing_keys::all(&db).await.unwrap() {
        let context = sealing_context(&key.id);
        let seed = keys.decrypt(&key.private_key, &context).unwrap();
        let old = legacy.encrypt(&seed, &context).unwrap();
        custodian::db::signing_keys::reseal(&db, &key.id, &key.private_key, &old)
            .await
            .unwrap();
    }
    let index = hmac_sha256_hex(master.derive("ssn-blind-index").as_slice(), b"536228147");
    entities::accounts::Entity::update_many()
        .col_expr(entities::accounts::Column::SsnIndex, Expr::value(index))
        .filter(entities::accounts::Column::SsnIndex.is_not_null())
        .exec(&db)
        .await
        .unwrap();
    let owner = custodian::db::accounts::find_by_email(
        &db,
        &custodian::domain::Email::parse(&enrolled.email, "email").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let bare: Vec<String> = enrolled
        .codes
        .iter()
        .map(|code| sha256_hex(code.replace('-', "").as_bytes()))
        .collect();
    custodian::db::mfa::replace_recovery_codes(
        &db,
        custodian::domain::AccountId(owner.id),
        bare,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    entities::data_keys::Entity::delete_many()
        .exec(&db)
        .await
        .unwrap();

    // A new instance of this version starts on it.
    let sibling = app.spawn_sibling().await;
    assert_eq!(birth_date(&sibling, &token).await, BIRTH);
    let again = graphql_at(
        &sibling,
        &new_client(),
        None,
        REGISTER,
        registration(&unique_email()),
    )
    .await;
    assert_eq!(
        error_code(&again),
        "CONFLICT",
        "the old blind index still matches: {again}"
    );
    sign_in_with_code(&sibling, &enrolled.email, &enrolled.codes[5]).await;

    // The recovery codes are keyed now, and the adopted key can be rotated away.
    let stored = custodian::db::mfa::all_recovery_code_hashes(&db)
        .await
        .unwrap();
    assert!(stored.iter().all(|(_, hash)| {
        !enrolled
            .codes
            .iter()
            .any(|code| *hash == sha256_hex(code.replace('-', "").as_bytes()))
    }));
    let output = app.cli(&["keys", "rotate-data"], "");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("added data key") && said.contains("0 left"),
        "{said}"
    );
    assert!(!said.contains(master.id()), "{said}");
}
db_test!(data_written_before_envelope_encryption_is_adopted);

async fn jwks_kids(address: &str) -> Vec<String> {
    let jwks: Value = new_client()
        .get(format!("{address}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn sign_in(address: &str, email: &str) -> String {
    let body = graphql_at(
        address,
        &new_client(),
        None,
        "mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { accessToken } } }",
        json!({ "input": { "email": email, "password": PASSWORD } }),
    )
    .await;
    assert_no_errors(&body);
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn refused(body: &Value) -> bool {
    body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
}

/// Polls `check` every 200 ms for at most `seconds`; whether it came true.
async fn within(seconds: u64, mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..seconds * 5 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    check().await
}

/// Two instances of the real binary: a rotation is published before it signs; a revocation
/// reaches both within seconds.
async fn signing_keys_rotate_and_revoke_across_instances(database_url: &str, dir: &TempDir) {
    let key = new_key();
    let env = [
        ("CUSTODIAN_DATABASE_URL", database_url),
        ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
    ];
    let first = tokio::task::block_in_place(|| binary::start(&dir.0, &env)).unwrap();
    let second = tokio::task::block_in_place(|| binary::start(&dir.0, &env)).unwrap();
    let (a, b) = (first.address.as_str(), second.address.as_str());
    let email = unique_email();
    let body = graphql_at(
        a,
        &new_client(),
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
        json!({ "input": crate::helpers::registration(&email) }),
    )
    .await;
    assert_no_errors(&body);
    let token = body["data"]["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = kid_of(&token);

    let said = succeeded(&binary::run(&dir.0, &env, &["keys", "rotate"]));
    let new = said
        .lines()
        .find_map(|line| line.strip_prefix("new signing key "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no new key in: {said}"))
        .to_owned();
    assert!(
        within(8, async || jwks_kids(a).await.contains(&new)
            && jwks_kids(b).await.contains(&new))
        .await,
        "both instances publish {new}"
    );
    assert_eq!(
        kid_of(&sign_in(b, &email).await),
        old,
        "published, not yet signing"
    );

    let said = succeeded(&binary::run(&dir.0, &env, &["keys", "revoke", &old]));
    let me = async |address: &str, token: &str| {
        graphql_at(
            address,
            &new_client(),
            Some(token),
            "{ me { id } }",
            json!({}),
        )
        .await
    };
    assert!(
        within(8, async || refused(&me(a, &token).await)
            && refused(&me(b, &token).await))
        .await,
        "a token signed with the revoked key is refused everywhere"
    );
    for address in [a, b] {
        assert!(
            !jwks_kids(address).await.contains(&old),
            "revoked key unpublished"
        );
    }
    let fresh = sign_in(b, &email).await;
    assert_ne!(kid_of(&fresh), old);
    assert!(
        said.contains(&kid_of(&fresh)),
        "the replacement signs at once: {said}"
    );
    assert_no_errors(&me(a, &fresh).await);
}

binary_test!(signing_keys_rotate_and_revoke_across_instances);
