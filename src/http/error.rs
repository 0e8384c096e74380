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
        | AppError::InvalidRefreshToken
        | AppError::MfaChallengeInvalid => StatusCode::UNAUTHORIZED,
        AppError::Forbidden
        | AppError::EmailNotVerified
        | AppError::ReauthenticationRequired
        | AppError::MfaRequired
        | AppError::SecondFactorBlocked => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. } | AppError::LimiterUnavailable => {
            StatusCode::TOO_MANY_REQUESTS
        }
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let extra = match err {
        AppError::Internal(_) => Some(("requestId", json!(&*request_id.0))),
        AppError::RateLimited { .. } | AppError::LimiterUnavailable => {
            Some(("retryAfter", json!(err.retry_after())))
        }
        other => match (other.reason(), other.field()) {
            (Some(reason), _) => Some(("reason", json!(reason))),
            (None, Some(field)) => Some(("field", json!(field))),
            (None, None) => None,
        },
    };
    let mut response = (status, error_body(err.code(), &err.to_string(), extra)).into_response();
    if let Some(seconds) = err.retry_after()
        && let Ok(value) = seconds.to_string().parse()
    {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
    response
}
