//! HTTP behaviour: content types, methods, cookies, origins, headers, health.

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    db_test,
    helpers::{
        ME, REGISTER, TestApp, assert_no_errors, error_code, new_client, registration, set_cookie,
        unique_email,
    },
};

async fn only_json_posts_are_accepted(app: TestApp) {
    let register =
        json!({ "query": REGISTER, "variables": { "input": registration(&unique_email()) } })
            .to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = Client::new()
            .post(app.url("/graphql"))
            .header(header::CONTENT_TYPE, content_type)
            .body(register.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert!(set_cookie(&response, "custodian_refresh").is_none());
    }
    let response = Client::new()
        .post(app.url("/api/auth/login"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
db_test!(only_json_posts_are_accepted);

async fn get_runs_queries_but_never_mutations(app: TestApp) {
    let registered = app.register(&unique_email()).await;
    let token = registered["accessToken"].as_str().unwrap();
    let query = Client::new()
        .get(app.url("/graphql"))
        .query(&[("query", ME)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), StatusCode::OK);
    let body: Value = query.json().await.unwrap();
    assert_no_errors(&body);

    for mutation in ["mutation { logout }", "mutation Out { logout }"] {
        let response = Client::new()
            .get(app.url("/graphql"))
            .query(&[("query", mutation)])
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{mutation}"
        );
    }
    // The session survived the attempted GET logout.
    assert_no_errors(&app.me(token).await);
    // A GET carries no cookie credentials: what an image tag on another page makes the
    // browser send reads nothing.
    let browser = new_client();
    app.register_with(&browser, &unique_email()).await;
    let by_cookie: Value = browser
        .get(app.url("/graphql"))
        .query(&[("query", ME)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&by_cookie), "UNAUTHENTICATED", "{by_cookie}");
    // The same browser's POST is still signed in by its cookie.
    assert_no_errors(&app.graphql_as(&browser, None, ME, json!({})).await);
    // Other methods are refused.
    let put = Client::new().put(app.url("/graphql")).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
}
db_test!(get_runs_queries_but_never_mutations);

async fn batches_and_malformed_bodies_are_refused_cleanly(app: TestApp) {
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let response = Client::new()
        .post(app.url("/graphql"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    for raw in ["{not json", "\"just a string\"", "{\"query\": 5}"] {
        let response = Client::new()
            .post(app.url("/graphql"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{raw}");
    }

    // Syntax and validation errors carry a code, and nothing internal.
    for query in [
        "{ me {",
        "{ nope }",
        "query($id: UUID!) { account(id: $id) { id } }",
    ] {
        let body = app.graphql(query, json!({ "id": "not-a-uuid" })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query}: {body}");
    }

    let huge = "a".repeat(70 * 1024);
    let response = Client::new()
        .post(app.url("/graphql"))
        .json(&json!({ "query": "{ __typename }", "variables": { "x": huge } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Nesting past the depth limit is refused before execution.
    let deep = format!(
        "{{ __schema {{ types {} name {} }} }}",
        "{ fields { type ".repeat(6),
        "} }".repeat(6)
    );
    let body = app.graphql(&deep, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["data"].is_null(), "{body}");
}
db_test!(batches_and_malformed_bodies_are_refused_cleanly);

async fn secure_cookies_carry_every_attribute(app: TestApp) {
    let response = app
        .post_graphql(
            &new_client(),
            None,
            REGISTER,
            json!({ "input": registration(&unique_email()) }),
        )
        .await;
    for name in ["__Host-custodian_refresh", "__Host-custodian_access"] {
        let line = set_cookie(&response, name).unwrap_or_else(|| panic!("{name} set"));
        for attribute in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
            assert!(line.contains(attribute), "{name} lacks {attribute}: {line}");
        }
        assert!(!line.to_lowercase().contains("domain="), "{line}");
    }
    let refresh = set_cookie(&response, "__Host-custodian_refresh").unwrap();
    let body: Value = response.json().await.unwrap();
    let payload = body["data"]["register"].to_string();
    let refresh_value = crate::helpers::cookie_value(&refresh);
    assert!(
        !payload.contains(&refresh_value),
        "the refresh token never appears in a body"
    );
}
db_test!(
    secure_cookies_carry_every_attribute,
    &[("COOKIE_SECURE", "true")]
);

async fn cross_site_requests_are_refused(app: TestApp) {
    let register =
        json!({ "query": REGISTER, "variables": { "input": registration(&unique_email()) } });
    for (name, value) in [
        ("origin", "https://evil.test"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = Client::new()
            .post(app.url("/graphql"))
            .header(name, value)
            .json(&register)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // The configured SPA origin is allowed, with credentials and without reflection.
    let allowed = Client::new()
        .post(app.url("/graphql"))
        .header("origin", "https://app.example.com")
        .json(&register)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let preflight = Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://evil.test")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
db_test!(
    cross_site_requests_are_refused,
    &[("CORS_ORIGINS", "https://app.example.com")]
);

async fn every_response_carries_security_headers_and_a_request_id(app: TestApp) {
    let response = Client::new()
        .post(app.url("/graphql"))
        .header("x-request-id", "trace-123")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    let ours = headers["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(ours).is_ok(),
        "the request id is ours, not the caller's: {ours}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get("server").is_none());

    // A hostile request id is not echoed either.
    let response = Client::new()
        .get(app.url("/healthz"))
        .header("x-request-id", "evil\tvalue with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(
        response.headers()["x-request-id"],
        "evil\tvalue with spaces"
    );
    assert_eq!(response.status(), StatusCode::OK);

    let ready = Client::new().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let missing = Client::new().get(app.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
db_test!(every_response_carries_security_headers_and_a_request_id);

async fn the_playground_is_served_offline_under_a_strict_csp(app: TestApp) {
    let page = new_client().get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(
        !csp.contains("http"),
        "the CSP names no other origin: {csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/playground/playground.js"));
    assert!(!html.contains("https://"), "no CDN");
    for asset in ["/playground/playground.js", "/playground/playground.css"] {
        let response = new_client().get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 10_000, "{asset}");
    }
}
db_test!(the_playground_is_served_offline_under_a_strict_csp);

async fn costly_queries_are_refused_before_they_run(app: TestApp) {
    // Twenty exports are few fields but much work: priced by what they load.
    let fields: String = (0..20)
        .map(|index| format!("a{index}: exportMyData "))
        .collect();
    let body = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("complex"),
        "{body}"
    );
    assert!(body.get("data").is_none_or(Value::is_null));
}
db_test!(costly_queries_are_refused_before_they_run);

async fn top_level_fields_are_counted_out_of_aliases_and_fragments(app: TestApp) {
    let refused = |body: &Value, what: &str| {
        assert_eq!(error_code(body), "BAD_USER_INPUT", "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(what), "{message}");
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    };
    let aliases: String = (0..101)
        .map(|index| format!("a{index}: __typename "))
        .collect();
    refused(
        &app.graphql(&format!("{{ {aliases} }}"), json!({})).await,
        "top-level",
    );
    let fine: String = (0..100)
        .map(|index| format!("a{index}: __typename "))
        .collect();
    assert_no_errors(&app.graphql(&format!("{{ {fine} }}"), json!({})).await);
    // Fragments spread again and again are counted out.
    let spreads = "...F ".repeat(51);
    let fragments =
        format!("{{ {spreads} }} fragment F on Query {{ a: __typename b: __typename }}");
    refused(&app.graphql(&fragments, json!({})).await, "top-level");
    // Sign-in fields hidden in a fragment still count one by one.
    let logins: String = (0..21)
        .map(|index| {
            format!("l{index}: login(input: {{ email: \"x{index}@example.com\", password: \"p\" }}) {{ __typename }} ")
        })
        .collect();
    let hidden = format!("mutation {{ ...M }} fragment M on Mutation {{ {logins} }}");
    refused(
        &app.graphql(&hidden, json!({})).await,
        "sign-in, code or token fields",
    );
}
db_test!(top_level_fields_are_counted_out_of_aliases_and_fragments);

async fn fragments_that_multiply_are_refused_before_they_are_walked(app: TestApp) {
    // Twenty-four lines where each fragment spreads the next twice: 2^24 selections written
    // out, seconds of work for an engine that walks them (and a few more lines, hours).
    let mut document = String::from("{ ...F0 } ");
    for index in 0..24 {
        let next = index + 1;
        document.push_str(&format!(
            "fragment F{index} on Query {{ ...F{next} ...F{next} }} "
        ));
    }
    document.push_str("fragment F24 on Query { __typename }");
    let body = app.graphql(&document, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expand"),
        "{body}"
    );
    // A fragment that spreads itself is refused the same way.
    let cycle = app
        .graphql(
            "{ ...A } fragment A on Query { __typename ...A }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&cycle), "BAD_USER_INPUT", "{cycle}");
    // The introspection query, fragments and all, is far inside the bound.
    assert_no_errors(&app.graphql(INTROSPECTION, json!({})).await);
}
db_test!(fragments_that_multiply_are_refused_before_they_are_walked);

/// What GraphiQL, graphql-codegen and other tools send: graphql-js's `getIntrospectionQuery`
/// with every option on, whose `ofType` chain nests deeper than the depth limit.
const INTROSPECTION: &str = include_str!("fixtures/introspection.graphql");

async fn tools_can_introspect_the_schema_in_development(app: TestApp) {
    let body = app.graphql(INTROSPECTION, json!({})).await;
    assert_no_errors(&body);
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query", "{schema}");
    assert_eq!(schema["mutationType"]["name"], "Mutation", "{schema}");
    let types = schema["types"].as_array().unwrap();
    let named = |name: &str| {
        types
            .iter()
            .find(|ty| ty["name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed"))
    };
    let register_input = named("RegisterInput");
    assert_eq!(register_input["kind"], "INPUT_OBJECT");
    assert!(
        register_input["inputFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|field| field["name"] == "email"),
        "{register_input}"
    );
    // `sessions: [Session!]!` unwraps through three `ofType`s to its named type.
    let sessions = named("Query")["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "sessions")
        .unwrap();
    assert_eq!(
        sessions["type"]["ofType"]["ofType"]["ofType"]["name"], "Session",
        "{sessions}"
    );

    // Introspection has no free pass otherwise: fanning out through `fields` still counts.
    let deep = format!(
        "{{ __type(name: \"Query\") {} name {} }}",
        "{ fields { type ".repeat(6),
        "} }".repeat(6)
    );
    let body = app.graphql(&deep, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        body["errors"][0]["message"], "Query is nested too deep.",
        "{body}"
    );
}
db_test!(tools_can_introspect_the_schema_in_development);

async fn production_hides_the_schema(app: TestApp) {
    let body = app
        .graphql("{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"], Value::Null, "{body}");
    assert!(!body.to_string().contains("RegisterInput"));
    let typo = app.graphql("{ mee { id } }", json!({})).await;
    assert!(
        !typo["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "no suggestions: {typo}"
    );
    let playground = reqwest::Client::new()
        .get(app.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(playground.status(), 404);
}
db_test!(
    production_hides_the_schema,
    &[
        ("ENV", "production"),
        ("MAIL_TRANSPORT", "file"),
        ("PUBLIC_URL", "https://id.example.com"),
        ("COOKIE_SECURE", "true")
    ]
);

/// A document that needs no variables is validated in full once, then run without validating
/// it again: what it may ask stays what it was, and a request naming another operation, or a
/// document that failed, is still refused every time.
async fn a_document_validated_once_answers_alike_and_bad_ones_never_run(app: TestApp) {
    let run = |body: Value| {
        let app = &app;
        async move {
            Client::new()
                .post(app.url("/graphql"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let named = "query Kind { __typename }";
    for _ in 0..3 {
        let body = run(json!({ "query": named, "operationName": "Kind" })).await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
        let body = run(json!({ "query": named })).await;
        assert_eq!(body["data"]["__typename"], "Query", "{body}");
        let other = run(json!({ "query": named, "operationName": "Other" })).await;
        assert_eq!(error_code(&other), "BAD_USER_INPUT", "{other}");
    }
    for _ in 0..3 {
        let unknown = run(json!({ "query": "{ __typename nope }" })).await;
        assert_eq!(error_code(&unknown), "BAD_USER_INPUT", "{unknown}");
        assert!(
            unknown["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nope"),
            "{unknown}"
        );
    }
}
db_test!(a_document_validated_once_answers_alike_and_bad_ones_never_run);
