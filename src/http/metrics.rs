//! `/metrics` and the middleware that counts and times every request.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use secrecy::ExposeSecret;

use super::HttpState;
use crate::{crypto::constant_time_eq, db, metrics::HttpLabels};

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn observe(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.app.metrics.http_request(
        HttpLabels {
            route,
            method,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

pub async fn export(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.app.settings.server.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(presented.as_bytes(), expected.expose_secret().as_bytes()) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let app = &state.app;
    let text = app
        .metrics
        .render(app.passwords.load(), db::pool_stats(&app.db));
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
