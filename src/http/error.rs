//! `AppError` as an HTTP response, for the REST wrappers.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::request::RequestId;
use crate::error::AppError;

/// `{"error": {"code", "message", "field"?, "requestId"?}}`: the same codes as GraphQL's
/// `extensions.code`.
pub fn error_body(code: &str, message: &str, extra: Option<(&str, Value)>) -> Json<Value> {
    let mut error = json!({ "code": code, "message": message });
    if let (Some((key, value)), Some(object)) = (extra, error.as_object_mut()) {
        object.insert(key.to_owned(), value);
    }
    Json(json!({ "error": error }))
}

pub fn app_error_response(err: &AppError, request_id: &RequestId) -> Response {
    err.log_if_internal();
    let status = match err {
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::InvalidCredentials
        | AppError::Unauthenticated
        | AppError::InvalidRefreshToken => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let extra = match err {
        AppError::Internal(_) => Some(("requestId", json!(&*request_id.0))),
        other => other.field().map(|field| ("field", json!(field))),
    };
    (status, error_body(err.code(), &err.to_string(), extra)).into_response()
}
