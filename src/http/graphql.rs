//! `/graphql` over HTTP: POST with a JSON body runs queries and mutations; GET runs queries
//! only (a mutation over GET is 405, so a link or an image tag can never change anything) and
//! only as whoever the `Authorization` header names, never by cookie (so a link or an image
//! tag can never read anything either).
//! JSON batches are refused: one operation per request, so per-request limits hold.
//! The response speaks the media type `Accept` asks for (`media_type.rs`): a request error
//! (the document does not parse or validate, a variable does not coerce) is a 400 without
//! `data` under `application/graphql-response+json`, and the legacy 200 under
//! `application/json`; a request that is not a GraphQL request at all is a 400 under both.

use std::{sync::Arc, time::Instant};

use async_graphql::{
    Variables,
    parser::{
        parse_query,
        types::{DocumentOperations, OperationType},
    },
};
use axum::{
    body::Bytes,
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    HttpState, argument_positions, cookies,
    graphql_params::GraphqlParams,
    media_type::{NotAcceptable, ResponseMediaType},
    parsed_documents::{Outcome, Validation},
    request::RequestMeta,
};
use crate::graphql::{self, RequestContext};

pub async fn post(
    State(state): State<HttpState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let negotiated = ResponseMediaType::negotiate(&headers);
    let params = GraphqlParams::from_json(&body);
    // Let go of before anything is awaited: a small body and the header values share their
    // allocation with the connection's read buffer, which hyper cannot reuse for the next
    // read while a request waiting its turn (a sign-in queued for a hashing thread) holds it.
    drop((headers, body));
    let media = match negotiated {
        Ok(media) => media,
        Err(NotAcceptable) => return not_acceptable(),
    };
    let request = match params
        .map_err(Refusal::malformed)
        .and_then(|params| prepare(&state, params))
    {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(media),
    };
    execute(state, meta, media, request).await
}

pub async fn get(
    State(state): State<HttpState>,
    meta: RequestMeta,
    headers: HeaderMap,
    pairs: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let media = match ResponseMediaType::negotiate(&headers) {
        Ok(media) => media,
        Err(NotAcceptable) => return not_acceptable(),
    };
    let request = match pairs
        .map_err(|_| Refusal::bad_request("the query string is not a GraphQL request"))
        .and_then(|Query(pairs)| GraphqlParams::from_pairs(pairs).map_err(Refusal::malformed))
        .and_then(|params| prepare(&state, params))
    {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(media),
    };
    if !is_query(&request) {
        let mut response = Refusal {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "BAD_USER_INPUT",
            message: "mutations must be sent with POST".into(),
        }
        .into_response(media);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(state, meta.without_cookie_credentials(), media, request).await
}

/// The engine's request from well-formed parameters: the document named by id is looked up,
/// and one that may not run is refused here, before anything executes.
fn prepare(state: &HttpState, params: GraphqlParams) -> Result<async_graphql::Request, Refusal> {
    let text = state
        .documents
        .resolve(params.document)
        .map_err(|refused| Refusal {
            status: StatusCode::BAD_REQUEST,
            code: refused.code(),
            message: refused.message().into(),
        })?;
    let mut request = async_graphql::Request::new(text);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    Ok(request)
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
    media: ResponseMediaType,
    mut request: async_graphql::Request,
) -> Response {
    let started = Instant::now();
    let request_id = Arc::clone(&meta.request_id.0);
    // Parsed and checked against the limits here, once per distinct text, and handed on: a
    // document the limits refuse is answered before the engine walks it. One that does not
    // parse runs, and fails with its syntax error.
    let parsed = match state.parsed.parse(&request.query) {
        Outcome::Ready(parsed) => {
            request.set_parsed_query(parsed.document.clone());
            Some(parsed)
        }
        Outcome::Refused(error) => {
            let response = async_graphql::Response::from_errors(vec![error]);
            record(&state, None, &response, started);
            let (status, body) = with_errors(&response, media, &request_id, &[]);
            return answer(status, body, media);
        }
        Outcome::Unparsed => None,
    };
    let root = parsed.as_ref().and_then(|parsed| {
        graphql::metrics::root_field(&parsed.document, request.operation_name.as_deref())
    });
    let arguments = parsed
        .as_ref()
        .map_or(&[][..], |parsed| &parsed.arguments[..]);
    let validation = parsed.as_ref().map_or(Validation::Always, |parsed| {
        parsed.validation(request.operation_name.as_deref())
    });
    let schema = match validation {
        Validation::Done => &state.validated_schema,
        Validation::Always | Validation::Once => &state.schema,
    };
    let context = Arc::new(RequestContext::new(meta));
    let response = schema.execute(request.data(Arc::clone(&context))).await;
    if validation == Validation::Once
        && !refused_before_running(&response)
        && let Some(parsed) = &parsed
    {
        parsed.mark_validated();
    }
    record(&state, root, &response, started);
    let (status, body) = if response.errors.is_empty() {
        // The common case, written straight from the engine's answer in one pass.
        (StatusCode::OK, serde_json::to_vec(&response))
    } else {
        with_errors(&response, media, &request_id, arguments)
    };
    let mut http_response = answer(status, body, media);
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

/// Counts and times the operation by its root field (`root`, of the document it named) and
/// outcome.
fn record(
    state: &HttpState,
    root: Option<String>,
    response: &async_graphql::Response,
    started: Instant,
) {
    let labels =
        graphql::metrics::labels(root, !refused_before_running(response), &response.errors);
    state
        .app
        .metrics
        .graphql_operation(&labels, started.elapsed().as_secs_f64());
}

/// Whether the engine refused the request before running any field: a document that did not
/// parse or validate, a variable that did not coerce. Such errors carry no path and leave no
/// data; a field error always has the path of its field.
fn refused_before_running(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|error| error.path.is_empty())
}

fn answer(
    status: StatusCode,
    body: serde_json::Result<Vec<u8>>,
    media: ResponseMediaType,
) -> Response {
    let body = body.unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// An answer with errors, each completed with its code (and field, and request id where
/// they apply). Errors raised before execution (syntax, limits, validation, variable
/// coercion) are request errors: no `data` under the new media type, and its 400.
fn with_errors(
    response: &async_graphql::Response,
    media: ResponseMediaType,
    request_id: &str,
    arguments: &[(async_graphql::Pos, String)],
) -> (StatusCode, serde_json::Result<Vec<u8>>) {
    let request_error = refused_before_running(response);
    let mut body = serde_json::to_value(response).unwrap_or_else(|_| json!({}));
    complete_errors(&mut body, request_id, arguments);
    let status = if request_error {
        if media == ResponseMediaType::GraphqlResponseJson
            && let Some(body) = body.as_object_mut()
        {
            body.remove("data");
        }
        request_error_status(media)
    } else {
        StatusCode::OK
    };
    (status, serde_json::to_vec(&body))
}

/// A document that did not parse or validate: 400 for clients of the new media type, the
/// legacy 200 for `application/json` ones, which read the errors from the body.
fn request_error_status(media: ResponseMediaType) -> StatusCode {
    match media {
        ResponseMediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        ResponseMediaType::Json => StatusCode::OK,
    }
}

/// A request answered before the engine saw it: one error, no `data`.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn bad_request(message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_USER_INPUT",
            message: message.into(),
        }
    }

    fn malformed(error: super::graphql_params::ParamsError) -> Self {
        Self::bad_request(&error.to_string())
    }

    fn into_response(self, media: ResponseMediaType) -> Response {
        let mut response = (self.status, graphql_error(self.code, &self.message)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        response
    }
}

/// `Accept` allows neither response media type: nothing runs. The error is written as
/// `application/json`, which is what a client that refused both is likeliest to read.
fn not_acceptable() -> Response {
    Refusal {
        status: StatusCode::NOT_ACCEPTABLE,
        code: "BAD_USER_INPUT",
        message: "Accept must allow application/graphql-response+json or application/json".into(),
    }
    .into_response(ResponseMediaType::Json)
}

/// Every error gets a code: those raised before any resolver ran (syntax, validation, variable
/// types) are the client's input, and `INTERNAL` ones carry the request id to quote.
fn complete_errors(body: &mut Value, request_id: &str, arguments: &[(async_graphql::Pos, String)]) {
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
                .and_then(field_named_in)
                .or_else(|| argument_at_location(error, arguments));
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

/// The argument whose value stands where the error points: an argument value the engine could
/// not read is reported by position only.
fn argument_at_location(
    error: &serde_json::Map<String, Value>,
    arguments: &[(async_graphql::Pos, String)],
) -> Option<String> {
    let location = error.get("locations")?.get(0)?;
    let line = location.get("line")?.as_u64()?;
    let column = location.get("column")?.as_u64()?;
    argument_positions::named_at(arguments, line, column).map(str::to_owned)
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
