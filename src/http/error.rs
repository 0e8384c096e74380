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
    error_with(code, message, extra.into_iter().collect())
}

fn error_with(code: &str, message: &str, extra: Vec<(&str, Value)>) -> Json<Value> {
    let mut error = json!({ "code": code, "message": message });
    if let Some(object) = error.as_object_mut() {
        for (key, value) in extra {
            object.insert(key.to_owned(), value);
        }
    }
    Json(json!({ "error": error }))
}

pub fn app_error_response(err: &AppError, request_id: &RequestId) -> Response {
    err.log_if_internal();
    let status = match err {
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::InvalidCredentials
        | AppError::Unauthenticated
        | AppError::TokenRejected(_)
        | AppError::InvalidRefreshToken
        | AppError::MfaChallengeInvalid
        | AppError::PasskeyNotAccepted
        | AppError::PasskeyChallengeInvalid => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_)
        | AppError::PasskeysUnavailable
        | AppError::EmailNotVerified
        | AppError::ReauthenticationRequired
        | AppError::MfaRequired
        | AppError::SecondFactorBlocked => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. } | AppError::LimiterUnavailable { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Overloaded | AppError::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut extra = Vec::new();
    if let AppError::Internal(_) = err {
        extra.push(("requestId", json!(&*request_id.0)));
    }
    if let Some(seconds) = err.retry_after() {
        extra.push(("retryAfter", json!(seconds)));
    }
    if let Some(rule) = err.rule() {
        extra.push(("rule", json!(rule)));
    }
    if let Some(reason) = err.reason() {
        extra.push(("reason", json!(reason)));
    }
    if let Some(field) = err.field() {
        extra.push(("field", json!(field)));
    }
    let mut response = (status, error_with(err.code(), &err.to_string(), extra)).into_response();
    if let Some(seconds) = err.retry_after()
        && let Ok(value) = seconds.to_string().parse()
    {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
