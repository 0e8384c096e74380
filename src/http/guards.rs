//! Cross-site request defences for state-changing routes. With SameSite=Strict cookies these
//! make a forged request from another site impossible: a form or `text/plain` POST is refused
//! before anything runs (415), and a browser request from a foreign origin is refused (403).

use axum::{
    Json,
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{HttpState, error::error_body};

pub async fn json_and_same_origin(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST {
        let graphql = request.uri().path() == "/graphql";
        if !is_json(request.headers()) {
            let message = "Content-Type must be application/json";
            return refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                graphql,
                "BAD_USER_INPUT",
                None,
                message,
            );
        }
        let settings = &state.app.settings;
        if !origin_allowed(
            request.headers(),
            &settings.server.public_url,
            &settings.server.cors_origins,
        ) {
            // In development, say which setting lets the SPA in; production says no more
            // than it must.
            let message = match request.headers().get(header::ORIGIN) {
                Some(origin) if !settings.is_production() => format!(
                    "cross-origin request refused: add {} to CUSTODIAN_CORS_ORIGINS to allow it",
                    origin.to_str().unwrap_or("the page's origin")
                ),
                _ => "cross-origin request refused".to_owned(),
            };
            return refusal(
                StatusCode::FORBIDDEN,
                graphql,
                "FORBIDDEN",
                Some("CROSS_ORIGIN"),
                &message,
            );
        }
    }
    next.run(request).await
}

/// A refusal in the shape the route answers in: GraphQL's `errors` on `/graphql`, the REST
/// `error` object elsewhere.
fn refusal(
    status: StatusCode,
    graphql: bool,
    code: &str,
    reason: Option<&str>,
    message: &str,
) -> Response {
    if graphql {
        let mut extensions = json!({ "code": code });
        if let (Some(reason), Some(object)) = (reason, extensions.as_object_mut()) {
            object.insert("reason".into(), json!(reason));
        }
        let body = json!({ "errors": [{ "message": message, "extensions": extensions }] });
        return (status, Json(body)).into_response();
    }
    let extra = reason.map(|reason| ("reason", json!(reason)));
    (status, error_body(code, message, extra)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || mime.eq_ignore_ascii_case("application/graphql-response+json")
        })
}

/// A request without `Origin` comes from a non-browser client (cookies are then the caller's
/// own to send). A browser's `Origin` must be this service's own or a configured one.
fn origin_allowed(headers: &HeaderMap, public_url: &str, allowed: &[String]) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return headers
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok())
            .is_none_or(|site| site != "cross-site");
    };
    if allowed.iter().any(|allowed| allowed == origin) || origin == public_url {
        return true;
    }
    // The playground opened as http://127.0.0.1 while the public URL says localhost is the
    // same service. Only loopback names qualify: trusting any Host that matches its Origin
    // would let a DNS-rebound page at a foreign name pass.
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    origin_host == Some(host) && is_loopback(host)
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn origins() {
        let allowed = vec!["https://app.example.com".to_owned()];
        let public = "http://localhost:8080";
        assert!(origin_allowed(&headers(&[]), public, &allowed));
        assert!(origin_allowed(
            &headers(&[("origin", "https://app.example.com")]),
            public,
            &allowed
        ));
        assert!(origin_allowed(
            &headers(&[("origin", "http://localhost:8080")]),
            public,
            &allowed
        ));
        assert!(origin_allowed(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            public,
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(&[
                ("origin", "http://rebound.test:8080"),
                ("host", "rebound.test:8080")
            ]),
            public,
            &allowed
        ));
        assert!(origin_allowed(
            &headers(&[("origin", "http://[::1]:8080"), ("host", "[::1]:8080")]),
            public,
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(&[("origin", "https://evil.test")]),
            public,
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(&[("origin", "null")]),
            public,
            &allowed
        ));
        assert!(!origin_allowed(
            &headers(&[("sec-fetch-site", "cross-site")]),
            public,
            &allowed
        ));
    }

    #[test]
    fn content_types() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )])));
        assert!(!is_json(&headers(&[])));
    }
}
