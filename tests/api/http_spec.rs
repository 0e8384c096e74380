//! GraphQL over HTTP: the response media type follows `Accept`, and under
//! `application/graphql-response+json` the status code tells request errors (4xx, no `data`)
//! from field errors (200). `application/json` keeps the legacy 200 for GraphQL errors.

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{ME, REGISTER, TestApp, assert_no_errors, error_code, registration, unique_email},
};

const NEW: &str = "application/graphql-response+json";
const LEGACY: &str = "application/json";

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Value,
}

async fn post(app: &TestApp, accept: Option<&str>, body: String) -> Answer {
    let mut request = Client::new()
        .post(app.url("/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    answer(request.send().await.unwrap()).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap();
    Answer {
        status,
        content_type,
        body,
    }
}

async fn query(app: &TestApp, accept: Option<&str>, query: &str, variables: Value) -> Answer {
    post(
        app,
        accept,
        json!({ "query": query, "variables": variables }).to_string(),
    )
    .await
}

/// A syntax error, a validation error and a variable that does not coerce: each is refused
/// before anything runs.
const REQUEST_ERRORS: [(&str, &str); 3] = [
    ("{ me {", "syntax"),
    ("{ nope }", "validation"),
    ("query($id: ID!) { __typename }", "variable coercion"),
];

async fn request_errors_are_400s_without_data_under_the_new_media_type(app: TestApp) {
    for (document, what) in REQUEST_ERRORS {
        let answer = query(&app, Some(NEW), document, json!({ "id": null })).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            answer.body
        );
        assert!(
            answer.body.get("data").is_none(),
            "{what}: no data entry: {}",
            answer.body
        );
        assert_eq!(error_code(&answer.body), "BAD_USER_INPUT", "{what}");
        assert_eq!(
            answer.content_type, "application/graphql-response+json; charset=utf-8",
            "{what}"
        );
    }
    // Refusals of our own follow the same rule.
    let deep = format!(
        "{{ __schema {{ types {} name {} }} }}",
        "{ fields { type ".repeat(6),
        "} }".repeat(6)
    );
    let answer = query(&app, Some(NEW), &deep, json!({})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.body.get("data").is_none(), "{}", answer.body);
    let cycle = query(
        &app,
        Some(NEW),
        "{ ...A } fragment A on Query { __typename ...A }",
        json!({}),
    )
    .await;
    assert_eq!(cycle.status, StatusCode::BAD_REQUEST, "{}", cycle.body);
    assert!(cycle.body.get("data").is_none(), "{}", cycle.body);
}
db_test!(request_errors_are_400s_without_data_under_the_new_media_type);

async fn application_json_keeps_200_with_null_data_for_graphql_errors(app: TestApp) {
    for accept in [Some(LEGACY), None, Some("*/*")] {
        for (document, what) in REQUEST_ERRORS {
            let answer = query(&app, accept, document, json!({ "id": null })).await;
            assert_eq!(answer.status, StatusCode::OK, "{accept:?} {what}");
            assert_eq!(
                answer.body.get("data"),
                Some(&Value::Null),
                "{accept:?} {what}: {}",
                answer.body
            );
            assert_eq!(
                error_code(&answer.body),
                "BAD_USER_INPUT",
                "{accept:?} {what}"
            );
            assert_eq!(
                answer.content_type, "application/json; charset=utf-8",
                "{accept:?} {what}"
            );
        }
    }
}
db_test!(application_json_keeps_200_with_null_data_for_graphql_errors);

async fn field_errors_are_200s_under_the_new_media_type(app: TestApp) {
    // `me` without a token fails in its resolver: the request itself was fine.
    let answer = query(&app, Some(NEW), ME, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        error_code(&answer.body),
        "UNAUTHENTICATED",
        "{}",
        answer.body
    );
    assert_eq!(answer.body["errors"][0]["path"], json!(["me"]));
    assert!(answer.body.get("data").is_some(), "{}", answer.body);
    assert_eq!(
        answer.content_type,
        "application/graphql-response+json; charset=utf-8"
    );
    // A mutation whose input the service refuses is a field error too.
    let mut weak = registration(&unique_email());
    weak["password"] = json!("short");
    let answer = query(&app, Some(NEW), REGISTER, json!({ "input": weak })).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        error_code(&answer.body),
        "BAD_USER_INPUT",
        "{}",
        answer.body
    );
    // And success is a 200 in the type asked for.
    let email = unique_email();
    let answer = query(
        &app,
        Some("application/graphql-response+json, application/json;q=0.9"),
        REGISTER,
        json!({ "input": registration(&email) }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_no_errors(&answer.body);
    assert_eq!(answer.body["data"]["register"]["account"]["email"], email);
    assert_eq!(
        answer.content_type,
        "application/graphql-response+json; charset=utf-8"
    );
}
db_test!(field_errors_are_200s_under_the_new_media_type);

async fn requests_that_are_not_graphql_requests_are_400s_under_both_types(app: TestApp) {
    let malformed = [
        "{ \"not a JSON".to_owned(),
        String::new(),
        json!({ "qeury": "{ __typename }" }).to_string(),
        json!({ "query": 5 }).to_string(),
        json!({ "query": "{ __typename }", "operationName": ["array"] }).to_string(),
        json!({ "query": "{ __typename }", "variables": "string" }).to_string(),
        json!({ "query": "{ __typename }", "extensions": 0 }).to_string(),
        json!([{ "query": "{ __typename }" }]).to_string(),
    ];
    for accept in [NEW, LEGACY] {
        for body in &malformed {
            let answer = post(&app, Some(accept), body.clone()).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{accept} {body}");
            assert!(answer.body.get("data").is_none(), "{accept} {body}");
            assert_eq!(
                error_code(&answer.body),
                "BAD_USER_INPUT",
                "{accept} {body}"
            );
            assert!(
                answer.content_type.starts_with(accept),
                "{accept} {body}: {}",
                answer.content_type
            );
        }
    }
    // `null` is the same as leaving a parameter out.
    let nulls = post(
        &app,
        Some(NEW),
        json!({ "query": "{ __typename }", "operationName": null, "variables": null, "extensions": null })
            .to_string(),
    )
    .await;
    assert_eq!(nulls.status, StatusCode::OK, "{}", nulls.body);
    assert_no_errors(&nulls.body);
}
db_test!(requests_that_are_not_graphql_requests_are_400s_under_both_types);

async fn an_unacceptable_accept_is_406_and_runs_nothing(app: TestApp) {
    let email = unique_email();
    let register = json!({ "query": REGISTER, "variables": { "input": registration(&email) } });
    for accept in [
        "text/html",
        "application/xml, text/*",
        "application/json;q=0",
    ] {
        let answer = post(&app, Some(accept), register.to_string()).await;
        assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
        assert_eq!(error_code(&answer.body), "BAD_USER_INPUT", "{accept}");
    }
    let get = Client::new()
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::NOT_ACCEPTABLE);
    // The refused registration never ran: the address is still free.
    app.register(&email).await;
}
db_test!(an_unacceptable_accept_is_406_and_runs_nothing);

async fn get_follows_the_same_rules(app: TestApp) {
    let get = |accept: &'static str, pairs: Vec<(&'static str, String)>| {
        let request = Client::new()
            .get(app.url("/graphql"))
            .query(&pairs)
            .header(header::ACCEPT, accept);
        async move { answer(request.send().await.unwrap()).await }
    };
    let typed = get(
        NEW,
        vec![
            (
                "query",
                "query Type($name: String!) { __type(name: $name) { name } }".into(),
            ),
            ("variables", json!({ "name": "Account" }).to_string()),
            ("operationName", "Type".into()),
        ],
    )
    .await;
    assert_eq!(typed.status, StatusCode::OK, "{}", typed.body);
    assert_eq!(typed.body["data"]["__type"]["name"], "Account");
    assert!(typed.content_type.starts_with(NEW));

    let syntax = get(NEW, vec![("query", "{ me {".into())]).await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST, "{}", syntax.body);
    assert!(syntax.body.get("data").is_none(), "{}", syntax.body);
    let legacy = get(LEGACY, vec![("query", "{ me {".into())]).await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.body);
    assert!(legacy.content_type.starts_with(LEGACY));

    for variables in ["[1]", "{", "\"string\""] {
        let answer = get(
            NEW,
            vec![
                ("query", "{ __typename }".into()),
                ("variables", variables.into()),
            ],
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{variables}");
    }

    let response = Client::new()
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { logout }")])
        .header(header::ACCEPT, NEW)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with(NEW)
    );
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}
db_test!(get_follows_the_same_rules);
