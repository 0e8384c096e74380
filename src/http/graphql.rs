//! `/graphql` over HTTP: POST with a JSON body runs queries and mutations; GET runs queries
//! only (a mutation over GET is 405, so a link or an image tag can never change anything) and
//! only as whoever the `Authorization` header names, never by cookie (so a link or an image
//! tag can never read anything either).
//! JSON batches are refused: one operation per request, so per-request limits hold.

use std::sync::Arc;

use async_graphql::{
    http::parse_query_string,
    parser::{
        parse_query,
        types::{DocumentOperations, OperationType},
    },
};
use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{HttpState, cookies, request::RequestMeta};
use crate::graphql::{RequestContext, check_expansion};

pub async fn post(State(state): State<HttpState>, meta: RequestMeta, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return bad_request("the request body is not valid JSON"),
    };
    if value.is_array() {
        return bad_request("batched requests are not supported: send one operation per request");
    }
    match serde_json::from_value::<async_graphql::Request>(value) {
        Ok(request) => execute(state, meta, request).await,
        Err(_) => bad_request("the request body is not a GraphQL request"),
    }
}

pub async fn get(
    State(state): State<HttpState>,
    meta: RequestMeta,
    RawQuery(query): RawQuery,
) -> Response {
    let request = match parse_query_string(query.as_deref().unwrap_or_default()) {
        Ok(request) => request,
        Err(_) => return bad_request("the query string is not a GraphQL request"),
    };
    if !is_query(&request) {
        let mut response = (
            StatusCode::METHOD_NOT_ALLOWED,
            graphql_error("BAD_USER_INPUT", "mutations must be sent with POST"),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(state, meta.without_cookie_credentials(), request).await
}

/// Whether the operation the request would run is a query. A document that does not parse is
/// let through: execution answers it with a syntax error and runs nothing.
fn is_query(request: &async_graphql::Request) -> bool {
    let Ok(document) = parse_query(&request.query) else {
        return true;
    };
    let kind = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation.node.ty),
        DocumentOperations::Multiple(operations) => match &request.operation_name {
            Some(name) => operations
                .get(name.as_str())
                .map(|operation| operation.node.ty),
            None if operations.len() == 1 => operations
                .values()
                .next()
                .map(|operation| operation.node.ty),
            None => None,
        },
    };
    kind.is_none_or(|kind| kind == OperationType::Query)
}

async fn execute(
    state: HttpState,
    meta: RequestMeta,
    mut request: async_graphql::Request,
) -> Response {
    // Parsed once here and handed on: a document whose fragments would expand without bound
    // is refused before the engine walks it. One that does not parse runs, and fails with
    // its syntax error.
    if let Ok(document) = request.parsed_query()
        && let Err(error) = check_expansion(document)
    {
        return graphql_error("BAD_USER_INPUT", &error.message).into_response();
    }
    let request_id = Arc::clone(&meta.request_id.0);
    let context = Arc::new(RequestContext::new(meta));
    let response = state
        .schema
        .execute(request.data(Arc::clone(&context)))
        .await;
    let mut body = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    complete_errors(&mut body, &request_id);
    let mut http_response = axum::Json(body).into_response();
    if let Some(update) = context.take_cookies() {
        cookies::apply(
            http_response.headers_mut(),
            &update,
            &state.app.settings,
            state.app.clock.now(),
        );
    }
    http_response
}

/// Every error gets a code: those raised before any resolver ran (syntax, validation, variable
/// types) are the client's input, and `INTERNAL` ones carry the request id to quote.
fn complete_errors(body: &mut Value, request_id: &str) {
    let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) else {
        return;
    };
    for error in errors {
        let Some(error) = error.as_object_mut() else {
            continue;
        };
        let extensions = error.entry("extensions").or_insert_with(|| json!({}));
        let Some(extensions) = extensions.as_object_mut() else {
            continue;
        };
        if !extensions.contains_key("code") {
            extensions.insert("code".into(), json!("BAD_USER_INPUT"));
            let named = error
                .get("message")
                .and_then(Value::as_str)
                .and_then(field_named_in);
            if let (Some(field), Some(Value::Object(extensions))) =
                (named, error.get_mut("extensions"))
            {
                extensions.insert("field".into(), json!(field));
            }
        }
        let Some(extensions) = error.get_mut("extensions").and_then(Value::as_object_mut) else {
            continue;
        };
        let code = extensions.get("code").cloned().unwrap_or_default();
        if code == "INTERNAL" {
            extensions.insert("requestId".into(), json!(request_id));
        }
    }
}

/// The input field a validation message names (`… argument "input", field "lastName" …`),
/// so errors raised before any resolver ran still say which field was wrong.
fn field_named_in(message: &str) -> Option<String> {
    let quoted_after = |marker: &str| {
        let start = message.rfind(marker)? + marker.len();
        let rest = &message[start..];
        rest.find('"').map(|end| rest[..end].to_owned())
    };
    quoted_after("field \"")
        .or_else(|| quoted_after("argument \""))
        // `input.ssn` names the field `ssn` of the argument `input`.
        .and_then(|path| path.rsplit('.').next().map(str::to_owned))
        .filter(|name| !name.is_empty())
}

fn graphql_error(code: &str, message: &str) -> axum::Json<Value> {
    axum::Json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }))
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        graphql_error("BAD_USER_INPUT", message),
    )
        .into_response()
}
