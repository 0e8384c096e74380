//! Access tokens: what verifies, and every forgery that must not.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::TimeDelta;
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    db_test,
    helpers::{TestApp, assert_no_errors, error_code, new_client, unique_email},
};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A token's header and claims.
fn parts(token: &str) -> (Value, Value) {
    let mut split = token.split('.');
    (
        decode_part(split.next().unwrap()),
        decode_part(split.next().unwrap()),
    )
}

/// The app's current signing key, read from its database with the key the test gave it.
async fn server_key(app: &TestApp) -> (String, EncodingKey) {
    let db = app.database().await;
    let row = custodian::db::signing_keys::all(&db)
        .await
        .unwrap()
        .into_iter()
        .find(|row| row.retired_at.is_none())
        .unwrap();
    let seed = app
        .data_keys()
        .await
        .decrypt(&row.private_key, &format!("signing_key:{}", row.id))
        .unwrap();
    let seed: [u8; 32] = seed.as_slice().try_into().unwrap();
    let der = SigningKey::from_bytes(&seed).to_pkcs8_der().unwrap();
    (row.id, EncodingKey::from_ed_der(der.as_bytes()))
}

fn sign(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let header = Header {
        typ: Some("at+jwt".into()),
        kid: Some(kid.into()),
        ..Header::new(Algorithm::EdDSA)
    };
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn refused(app: &TestApp, token: &str, what: &str) {
    let body = app.me(token).await;
    assert_eq!(
        error_code(&body),
        "UNAUTHENTICATED",
        "{what} was accepted: {body}"
    );
}

async fn forged_tokens_are_refused(app: TestApp) {
    let registered = app.register(&unique_email()).await;
    let token = registered["accessToken"].as_str().unwrap().to_owned();
    let (header, claims) = parts(&token);
    let kid = header["kid"].as_str().unwrap().to_owned();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    for claim in [
        "iss", "aud", "sub", "sid", "jti", "iat", "exp", "role", "amr",
    ] {
        assert!(
            claims.get(claim).is_some(),
            "claim {claim} missing: {claims}"
        );
    }
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 15 * 60);
    assert!(claims.get("email").is_none(), "no PII in claims");

    // Control: a token we sign with the server's own key and the same claims is accepted, so
    // each refusal below is about the one thing changed.
    let (server_kid, server_key) = server_key(&app).await;
    assert_eq!(server_kid, kid);
    assert_no_errors(&app.me(&sign(&kid, &server_key, &claims)).await);

    // alg none, in every spelling.
    for alg in ["none", "None", "NONE"] {
        let forged = format!(
            "{}.{}.",
            b64(&json!({ "alg": alg, "typ": "at+jwt", "kid": kid })),
            b64(&claims)
        );
        refused(&app, &forged, alg).await;
    }

    // HS256 keyed with the public key from the JWKS (key confusion).
    let jwks: Value = new_client()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let raw_public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for key in [x.as_bytes().to_vec(), raw_public] {
        let signing_input = format!(
            "{}.{}",
            b64(&json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid })),
            b64(&claims)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(signing_input.as_bytes());
        let forged = format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        refused(&app, &forged, "HS256 with the public key").await;
    }

    // Tampered payload under the original signature.
    let mut other = claims.clone();
    other["role"] = json!("ADMIN");
    let signature = token.rsplit('.').next().unwrap();
    refused(
        &app,
        &format!(
            "{}.{}.{signature}",
            token.split('.').next().unwrap(),
            b64(&other)
        ),
        "tampered role",
    )
    .await;

    // Claims the server would never issue, signed with its own key.
    for (claim, value) in [
        ("aud", json!("someone-else")),
        ("iss", json!("https://evil.test")),
        ("sid", json!(uuid::Uuid::now_v7())),
    ] {
        let mut wrong = claims.clone();
        wrong[claim] = value;
        refused(&app, &sign(&kid, &server_key, &wrong), claim).await;
    }
    // A leaked signing key cannot make an administrator: the role is checked against the
    // account itself.
    let mut promoted = claims.clone();
    promoted["role"] = json!("ADMIN");
    let promoted = sign(&kid, &server_key, &promoted);
    assert_no_errors(&app.me(&promoted).await);
    let admin_read = app
        .graphql_as(
            &new_client(),
            Some(&promoted),
            "{ accounts(first: 1) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&admin_read), "FORBIDDEN", "{admin_read}");

    let mut missing_exp = claims.clone();
    missing_exp.as_object_mut().unwrap().remove("exp");
    refused(&app, &sign(&kid, &server_key, &missing_exp), "no exp").await;

    // Another key: unknown kid, path-like kid, our kid with an embedded attacker JWK.
    let attacker = SigningKey::from_bytes(&[7u8; 32]);
    let attacker_key = EncodingKey::from_ed_der(attacker.to_pkcs8_der().unwrap().as_bytes());
    for fake_kid in ["attacker", "../../dev/null", kid.as_str()] {
        refused(&app, &sign(fake_kid, &attacker_key, &claims), fake_kid).await;
    }
    let embedded = {
        let header = json!({
            "alg": "EdDSA", "typ": "at+jwt", "kid": kid,
            "jwk": { "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(attacker.verifying_key().to_bytes()) }
        });
        let signing_input = format!("{}.{}", b64(&header), b64(&claims));
        use ed25519_dalek::Signer;
        let signature = attacker.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    };
    refused(&app, &embedded, "embedded jwk").await;

    // Garbage never becomes a 500.
    refused(&app, "not.a.token", "garbage").await;

    // Expiry, by the server's clock.
    app.clock.advance(TimeDelta::minutes(16));
    refused(&app, &token, "expired token").await;
}
db_test!(forged_tokens_are_refused);

/// Signs in on the instance at `address`; the access token.
async fn sign_in_at(address: &str, email: &Value) -> String {
    let body: Value = new_client()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": "mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { accessToken } } }",
                        "variables": { "input": { "email": email, "password": crate::helpers::PASSWORD } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn jwks_kids(address: &str) -> Vec<String> {
    let jwks: Value = new_client()
        .get(format!("{address}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert!(key.get("d").is_none(), "private part published: {key}");
    }
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn rotated_keys_are_published_before_they_sign(app: TestApp) {
    let before = app.register(&unique_email()).await;
    let email = &before["account"]["email"];
    let old_token = before["accessToken"].as_str().unwrap().to_owned();
    let old_kid = parts(&old_token).0["kid"].as_str().unwrap().to_owned();

    // `custodian keys rotate`, as the command does it.
    let db = app.database().await;
    let rotation = custodian::services::signing_keys::rotate(
        &db,
        &app.data_keys().await,
        custodian::clock::Clock::now(app.clock.as_ref()),
        false,
    )
    .await
    .unwrap();
    assert_ne!(old_kid, rotation.kid);

    // An instance that has read it publishes it at once, and keeps signing with the old key
    // for longer than a relying party may cache the JWKS.
    let sibling = app.spawn_sibling().await;
    let kids = jwks_kids(&sibling).await;
    assert!(
        kids.contains(&rotation.kid) && kids.contains(&old_kid),
        "{kids:?}"
    );
    let cache = new_client()
        .get(format!("{sibling}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(cache.headers()["cache-control"], "public, max-age=300");
    let token = sign_in_at(&sibling, email).await;
    assert_eq!(parts(&token).0["kid"], old_kid.as_str());
    app.clock.advance(TimeDelta::minutes(5));
    let token = sign_in_at(&sibling, email).await;
    assert_eq!(parts(&token).0["kid"], old_kid.as_str(), "not yet");

    // Past the publication delay, the new key signs; every instance accepts both.
    app.clock.advance(TimeDelta::minutes(2));
    let new_token = sign_in_at(&sibling, email).await;
    assert_eq!(parts(&new_token).0["kid"], rotation.kid.as_str());
    assert_no_errors(&app.me(&new_token).await);
    assert_no_errors(&app.me(&old_token).await);
}
db_test!(rotated_keys_are_published_before_they_sign);

async fn an_immediate_rotation_signs_at_once(app: TestApp) {
    let before = app.register(&unique_email()).await;
    let db = app.database().await;
    let rotation = custodian::services::signing_keys::rotate(
        &db,
        &app.data_keys().await,
        custodian::clock::Clock::now(app.clock.as_ref()),
        true,
    )
    .await
    .unwrap();
    let sibling = app.spawn_sibling().await;
    let token = sign_in_at(&sibling, &before["account"]["email"]).await;
    assert_eq!(parts(&token).0["kid"], rotation.kid.as_str());
    assert_no_errors(&app.me(&token).await);
}
db_test!(an_immediate_rotation_signs_at_once);
