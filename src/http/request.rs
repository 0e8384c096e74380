//! What every request carries in: its id, the client's address and agent, and the tokens it
//! presents. Also the middleware that assigns the request id and the span every log line of
//! the request is written in.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Instant,
};

use ipnet::IpNet;

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    middleware::Next,
    response::Response,
};
use secrecy::SecretString;
use tracing::Instrument;
use uuid::Uuid;

use super::{HttpState, cookies};
use crate::services::ClientInfo;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const MAX_USER_AGENT: usize = 512;

/// The id of one request: always our own UUIDv7, in the response's `x-request-id`, every log
/// line and the audit trail. A caller's `x-request-id` (a plain token of at most 64
/// characters) is logged beside it as `client_request_id`, never stored as if it were ours.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

fn acceptable_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let id: Arc<str> = Uuid::now_v7().to_string().into();
    let client_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| acceptable_request_id(value));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client_request_id = client_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    request.extensions_mut().insert(RequestId(Arc::clone(&id)));
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    response
}

/// The caller as one request sees it.
pub struct RequestMeta {
    pub request_id: RequestId,
    pub client: ClientInfo,
    /// From `Authorization: Bearer …` first, else from the access cookie.
    pub access_token: Option<SecretString>,
    /// Whether `access_token` came from the cookie rather than the header.
    access_token_from_cookie: bool,
    pub refresh_token: Option<SecretString>,
    /// The signed cookie of a browser that signed in before.
    pub device_cookie: Option<SecretString>,
}

impl FromRequestParts<HttpState> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let settings = &state.app.settings;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(Uuid::now_v7().to_string().into()));
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| {
                client_ip(addr.ip(), &parts.headers, &settings.server.trusted_proxies)
            });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| {
                agent
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect()
            });
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| SecretString::from(token.trim().to_owned()));
        let access_token_from_cookie = bearer.is_none();
        Ok(Self {
            access_token_from_cookie,
            client: ClientInfo {
                ip,
                user_agent,
                request_id: Some(request_id.0.to_string()),
            },
            request_id,
            access_token: bearer.or_else(|| cookies::read_access(&parts.headers, settings)),
            refresh_token: cookies::read_refresh(&parts.headers, settings),
            device_cookie: cookies::read_device(&parts.headers, settings),
        })
    }
}

impl RequestMeta {
    /// The request as seen without its cookies: for GET, where any page could have made the
    /// browser send them (an `<img src>` pointing at `/graphql?query=…`), only an explicit
    /// `Authorization` header identifies the caller.
    pub fn without_cookie_credentials(mut self) -> Self {
        if self.access_token_from_cookie {
            self.access_token = None;
        }
        self.refresh_token = None;
        self.device_cookie = None;
        self
    }
}

/// The client's address: the socket peer, unless the peer is a trusted proxy; then the
/// rightmost `X-Forwarded-For` hop that is not itself a trusted proxy. A header from anyone
/// else is ignored, so it cannot change whose rate limit a request counts against.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|hop| !is_trusted(hop))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.0.0.2".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "198.51.100.9".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &headers, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(stranger, &headers, &trusted), stranger);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(client_ip(proxy, &headers, &[]), proxy);
    }
}
