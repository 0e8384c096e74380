//! Trusted documents: a client sends a document's id instead of its text; with
//! `CUSTODIAN_TRUSTED_DOCUMENTS_ONLY` nothing else runs; a wrong manifest stops the start.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, LazyLock},
};

use custodian::{clock::ManualClock, config::Settings, crypto::sha256_hex, startup::Application};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    binary::TempDir,
    db_test,
    helpers::{ME, REGISTER, TestApp, assert_no_errors, error_code, registration, unique_email},
};

/// The manifest every test here serves: `REGISTER` under a `sha256:` key and `ME` under its
/// bare hex, as graphql-codegen's output may have either. Written under cargo's scratch
/// folder for integration tests, named by its content so runs share one file.
static MANIFEST: LazyLock<String> = LazyLock::new(|| {
    let manifest = json!({
        format!("sha256:{}", sha256_hex(REGISTER.as_bytes())): REGISTER,
        sha256_hex(ME.as_bytes()): ME,
    });
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trusted-documents");
    write_manifest(&dir, &manifest)
});

/// Writes `manifest` into `dir` whole (a reader never sees half of it); its path.
fn write_manifest(dir: &Path, manifest: &Value) -> String {
    let text = manifest.to_string();
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{}.json", sha256_hex(text.as_bytes())));
    let partial = dir.join(format!("{}.partial", Uuid::now_v7().simple()));
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path.display().to_string()
}

fn id_of(document: &str) -> String {
    format!("sha256:{}", sha256_hex(document.as_bytes()))
}

async fn post(app: &TestApp, body: Value, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Client::new().post(app.url("/graphql")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// `register` through its trusted document; the payload.
async fn register_by_id(app: &TestApp, email: &str) -> Value {
    let (status, body) = post(
        app,
        json!({ "documentId": id_of(REGISTER), "variables": { "input": registration(email) } }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_errors(&body);
    body["data"]["register"].clone()
}

fn refused(status: StatusCode, body: &Value, code: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(body), code, "{body}");
    assert!(body.get("data").is_none(), "nothing ran: {body}");
}

async fn documents_run_by_their_id(app: TestApp) {
    // A mutation by id, with the `sha256:` prefix.
    let email = unique_email();
    let registered = register_by_id(&app, &email).await;
    assert_eq!(registered["account"]["email"], email);
    let token = registered["accessToken"].as_str().unwrap();
    // A query by the bare hex, over POST and over GET.
    let bare = sha256_hex(ME.as_bytes());
    let (status, me) = post(&app, json!({ "documentId": bare }), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["me"]["email"], email, "{me}");
    let response = Client::new()
        .get(app.url("/graphql"))
        .query(&[("documentId", id_of(ME))])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["data"]["me"]["email"], email, "{me}");
    // Text and id together run when they agree.
    let (status, me) = post(
        &app,
        json!({ "query": ME, "documentId": bare }),
        Some(token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["me"]["email"], email, "{me}");
    // Without the only-trusted switch, other text still runs.
    let (status, body) = post(&app, json!({ "query": "{ __typename }" }), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_errors(&body);
}
db_test!(
    documents_run_by_their_id,
    &[(
        "TRUSTED_DOCUMENTS",
        crate::trusted_documents::MANIFEST.as_str()
    )]
);

async fn unknown_or_disagreeing_ids_are_refused(app: TestApp) {
    for id in [
        id_of("{ __typename }"),
        sha256_hex(b"{ __typename }"),
        "sha256:nonsense".to_owned(),
    ] {
        let (status, body) = post(&app, json!({ "documentId": id }), None).await;
        refused(status, &body, "PERSISTED_QUERY_NOT_FOUND");
    }
    let response = Client::new()
        .get(app.url("/graphql"))
        .query(&[("documentId", id_of("{ __typename }"))])
        .header(header::ACCEPT, "application/graphql-response+json")
        .send()
        .await
        .unwrap();
    let status = response.status();
    refused(
        status,
        &response.json().await.unwrap(),
        "PERSISTED_QUERY_NOT_FOUND",
    );
    // A text that is not the document its id names is refused, whichever is listed.
    let email = unique_email();
    let (status, body) = post(
        &app,
        json!({
            "query": "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
            "documentId": id_of(REGISTER),
            "variables": { "input": registration(&email) },
        }),
        None,
    )
    .await;
    refused(status, &body, "BAD_USER_INPUT");
    register_by_id(&app, &email).await;
}
db_test!(
    unknown_or_disagreeing_ids_are_refused,
    &[(
        "TRUSTED_DOCUMENTS",
        crate::trusted_documents::MANIFEST.as_str()
    )]
);

async fn only_trusted_documents_run_when_required(app: TestApp) {
    // An unlisted text, even one that means the same, is refused before it runs.
    let email = unique_email();
    let unlisted_register =
        "mutation Register($input: RegisterInput!) { register(input: $input) { accessToken } }";
    let (status, body) = post(
        &app,
        json!({ "query": unlisted_register, "variables": { "input": registration(&email) } }),
        None,
    )
    .await;
    refused(status, &body, "PERSISTED_QUERY_REQUIRED");
    let (status, body) = post(&app, json!({ "query": "{ __typename }" }), None).await;
    refused(status, &body, "PERSISTED_QUERY_REQUIRED");
    let response = Client::new()
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    let status = response.status();
    refused(
        status,
        &response.json().await.unwrap(),
        "PERSISTED_QUERY_REQUIRED",
    );
    // The refused registration created nothing: the address is still free.
    let registered = register_by_id(&app, &email).await;
    let token = registered["accessToken"].as_str().unwrap();
    // A listed text runs as its id would.
    let (status, me) = post(&app, json!({ "query": ME }), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["data"]["me"]["email"], email, "{me}");
}
db_test!(
    only_trusted_documents_run_when_required,
    &[
        (
            "TRUSTED_DOCUMENTS",
            crate::trusted_documents::MANIFEST.as_str()
        ),
        ("TRUSTED_DOCUMENTS_ONLY", "true")
    ]
);

/// Settings for a server that would start, but for its manifest.
async fn build_with_manifest(dir: &TempDir, manifest: &str) -> anyhow::Result<Application> {
    let database_url = format!("sqlite://{}/test.db?mode=rwc", dir.0.display());
    let data_dir = dir.0.display().to_string();
    let settings = Settings::from_pairs([
        ("LISTEN", "127.0.0.1:0"),
        ("DATABASE_URL", database_url.as_str()),
        ("DATA_DIR", data_dir.as_str()),
        ("TRUSTED_DOCUMENTS", manifest),
    ])
    .unwrap();
    Application::build(settings, Arc::new(ManualClock::new())).await
}

#[tokio::test]
async fn a_wrong_manifest_refuses_to_start() {
    let dir = TempDir::new("custodian-documents");
    let wrong_id = format!("sha256:{}", sha256_hex(b"another document"));
    let wrong = write_manifest(&dir.0, &json!({ wrong_id.clone(): ME }));
    let err = build_with_manifest(&dir, &wrong)
        .await
        .err()
        .expect("a wrong hash refuses to start");
    let message = format!("{err:#}");
    assert!(message.contains("CUSTODIAN_TRUSTED_DOCUMENTS"), "{message}");
    assert!(message.contains(&wrong_id), "names the entry: {message}");

    let missing = dir.0.join("missing.json").display().to_string();
    let err = build_with_manifest(&dir, &missing)
        .await
        .err()
        .expect("an unreadable manifest refuses to start");
    assert!(
        format!("{err:#}").contains("CUSTODIAN_TRUSTED_DOCUMENTS"),
        "{err:#}"
    );
    let invalid = write_manifest(&dir.0, &json!(["not", "a", "map"]));
    let err = build_with_manifest(&dir, &invalid)
        .await
        .err()
        .expect("a manifest that is not a map refuses to start");
    assert!(
        format!("{err:#}").contains("CUSTODIAN_TRUSTED_DOCUMENTS"),
        "{err:#}"
    );
    // The same settings with a right manifest start.
    let right = write_manifest(&dir.0, &json!({ id_of(ME): ME }));
    assert!(build_with_manifest(&dir, &right).await.is_ok());
}
