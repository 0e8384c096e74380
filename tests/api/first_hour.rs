//! What a newcomer meets first, through the real binary with development defaults: errors
//! that say what to do, output that suits tools, limits that leave a sign-up form alone.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    binary::{self, TempDir},
    helpers::{PASSWORD, REGISTER, new_client, registration, unique_email},
};

/// A port the kernel calls free now, for a server that must know its own address up front.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post(url: &str, content_type: &str, body: String) -> (StatusCode, Value) {
    let response = new_client()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_gets_errors_that_say_what_to_do() {
    let dir = TempDir::new("custodian-first-hour");
    let database = format!("sqlite://{}/custodian.db", dir.0.display());
    let port = free_port();
    let listen = format!("localhost:{port}");
    let server = tokio::task::block_in_place(|| {
        binary::start(
            &dir.0,
            &[
                ("CUSTODIAN_DATABASE_URL", database.as_str()),
                ("CUSTODIAN_LISTEN", listen.as_str()),
            ],
        )
    })
    .unwrap_or_else(|log| panic!("server did not start: {log}"));
    let graphql = format!("{}/graphql", server.address);

    // A sign-up form is built without meeting the registration limit.
    for _ in 0..15 {
        let (status, body) = post(
            &graphql,
            "application/json",
            json!({ "query": REGISTER, "variables": { "input": registration(&unique_email()) } })
                .to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
    }

    // Tokens say why they were refused.
    let (_, body) = post(
        &graphql,
        "application/json",
        json!({ "query": "{ me { id } }" }).to_string(),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"], "AUTHENTICATION_REQUIRED",
        "{body}"
    );
    let refused = new_client()
        .post(&graphql)
        .bearer_auth("garbage")
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"],
        "TOKEN_INVALID"
    );

    // /graphql answers in its own shape, whatever went wrong.
    let (status, body) = post(&graphql, "text/plain", "{ me { id } }".into()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // Inputs name the field and what is wrong with it.
    let mut input = registration(&unique_email());
    input["country"] = json!("US");
    input["state"] = json!("NY");
    input["dateOfBirth"] = json!("1990-02-30");
    let (_, body) = post(
        &graphql,
        "application/json",
        json!({ "query": REGISTER, "variables": { "input": input } }).to_string(),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "dateOfBirth",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1990-02 has 28 days"),
        "{body}"
    );
    let (status, body) = post(
        &format!("{}/api/auth/register", server.address),
        "application/json",
        json!({ "email": unique_email(), "password": PASSWORD, "firstName": "A",
                "lastName": "B", "phoneNumber": "+12015550123" })
        .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["field"], "phoneNumber", "{body}");

    // Links point at where the server listens, and every timestamp ends in Z.
    let email = unique_email();
    let (_, body) = post(
        &graphql,
        "application/json",
        json!({ "query": "mutation($input: RegisterInput!) { register(input: $input) { accessTokenExpiresAt } }",
                "variables": { "input": registration(&email) } })
        .to_string(),
    )
    .await;
    assert!(
        body["data"]["register"]["accessTokenExpiresAt"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "{body}"
    );
    let outbox = dir.0.join("outbox");
    let mut linked = false;
    for _ in 0..50 {
        linked = crate::helpers::outbox_mails(&outbox).iter().any(|mail| {
            mail.to.contains(&email)
                && mail
                    .text
                    .contains(&format!("http://localhost:{port}/verify-email?token="))
        });
        if linked {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        linked,
        "the verification link points at http://localhost:{port}"
    );

    // A log written to a file has no colour codes.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("INFO") && !log.contains('\u{1b}'), "{log}");
}
