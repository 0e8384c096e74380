use std::{ops::Deref, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tower::ServiceBuilder;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
};

use super::{
    error::error_body, graphql, guards, metrics, parsed_documents::ParsedDocuments, playground,
    request, rest, trusted_documents::TrustedDocuments,
};
use crate::{
    crypto::keyring::JWKS_MAX_AGE,
    graphql::{AppSchema, ValidationRules, build_schema},
    state::AppState,
};

/// GraphQL documents and auth bodies are small; anything bigger is refused unread.
const MAX_BODY_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach: one shared pointer, because the router clones its state
/// several times per request (each middleware holding it, the handler's extractor), and on two
/// busy cores every clone of a shared count is a cache line passed between them.
#[derive(Clone)]
pub struct HttpState(Arc<Shared>);

/// What [`HttpState`] points to; its fields are reached through it.
pub struct Shared {
    pub app: AppState,
    pub schema: AppSchema,
    /// The same schema for documents already validated in full (`parsed_documents`): the
    /// engine's validation is the largest part of a small query's own cost, and it would only
    /// give the same answer again.
    pub validated_schema: AppSchema,
    /// Loaded once at start: documents that may be sent by id, and whether only they run.
    pub documents: TrustedDocuments,
    /// Documents parsed before, by their text.
    pub parsed: ParsedDocuments,
}

impl HttpState {
    /// What a router serving `app` needs, with the documents it trusts.
    pub fn new(app: AppState, documents: TrustedDocuments) -> Self {
        Self(Arc::new(Shared {
            schema: build_schema(app.clone(), ValidationRules::All),
            validated_schema: build_schema(app.clone(), ValidationRules::EngineOnly),
            app,
            documents,
            parsed: ParsedDocuments::default(),
        }))
    }
}

impl Deref for HttpState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub fn router(state: HttpState) -> Router {
    let settings = &state.app.settings;
    let api = Router::new()
        .route("/graphql", post(graphql::post).get(graphql::get))
        .route("/api/auth/register", post(rest::register))
        .route("/api/auth/login", post(rest::login))
        .route("/api/auth/mfa", post(rest::mfa))
        .route("/api/auth/mfa/passkey", post(rest::mfa_passkey))
        .route("/api/auth/refresh", post(rest::refresh))
        .route("/api/auth/logout", post(rest::logout))
        .route("/api/auth/passkey/start", post(rest::passkey_start))
        .route("/api/auth/passkey/finish", post(rest::passkey_finish))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guards::json_and_same_origin,
        ));
    let mut app = Router::new()
        .merge(api)
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    // In production the metrics are served only behind their token: they describe the
    // traffic, which is nobody else's business.
    if settings.is_production() && settings.server.metrics_token.is_none() {
        tracing::warn!(
            "/metrics is not served: set CUSTODIAN_METRICS_TOKEN to serve it in production"
        );
    } else {
        app = app.route("/metrics", get(metrics::export));
    }
    if settings.server.playground {
        app = app
            .route("/", get(playground::page))
            .route("/playground", get(playground::page))
            .route("/playground/playground.js", get(playground::script))
            .route("/playground/playground.css", get(playground::style));
    }
    let hsts = settings
        .server
        .public_url
        .starts_with("https://")
        .then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    let cors = (!settings.server.cors_origins.is_empty())
        .then(|| cors_layer(&settings.server.cors_origins));
    // One stack, outermost first: each `Router::layer` boxes every request's future once more.
    app.fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(request::assign_request_id))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                .option_layer(cors)
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .option_layer(hsts.map(|value| {
                    SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, value)
                }))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    metrics::observe,
                )),
        )
        .with_state(state)
}

/// Exact origins with credentials; never `*`, never a reflected origin.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    let request_id = HeaderName::from_static(request::REQUEST_ID_HEADER);
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            request_id.clone(),
        ])
        .expose_headers([request_id])
        .max_age(Duration::from_secs(600))
}

async fn jwks(State(state): State<HttpState>) -> Response {
    let mut response = Json(state.app.keyring.jwks().as_ref().clone()).into_response();
    let cache = format!("public, max-age={}", JWKS_MAX_AGE.as_secs());
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<HttpState>) -> Response {
    if state.app.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    match state.app.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        error_body("NOT_FOUND", "no such route", None),
    )
        .into_response()
}
