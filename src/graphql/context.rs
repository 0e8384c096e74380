use std::{
    pin::Pin,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::Context;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::errors::IntoGraphql;
use crate::{
    error::AppError,
    http::{cookies::CookieUpdate, request::RequestMeta},
    services::{
        ClientInfo, Principal,
        devices::{self, Device},
        sessions::{self, Caller},
    },
    state::AppState,
};

/// Per-request data: who is calling, the tokens they presented, and what the request did to
/// their cookies (applied by the HTTP layer once execution is over).
pub struct RequestContext {
    meta: RequestMeta,
    caller: OnceCell<Caller>,
    cookies: Mutex<Option<CookieUpdate>>,
    /// Whether a refused field of this request was already put in the audit trail.
    denial_recorded: AtomicBool,
}

impl RequestContext {
    pub fn new(meta: RequestMeta) -> Self {
        Self {
            meta,
            caller: OnceCell::new(),
            cookies: Mutex::new(None),
            denial_recorded: AtomicBool::new(false),
        }
    }

    pub fn client(&self) -> &ClientInfo {
        &self.meta.client
    }

    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.meta.refresh_token.as_ref()
    }

    /// The browser, if it carries a valid device cookie.
    pub fn device(&self, state: &AppState) -> Option<Device> {
        devices::recognise(state, self.meta.device_cookie.as_ref())
    }

    /// Who the access token names, checked once per request and only when a field asks: a
    /// request that needs no identity pays no lookup.
    pub async fn caller(&self, state: &AppState) -> Result<Caller, AppError> {
        self.caller
            .get_or_try_init(|| sessions::identify(state, self.meta.access_token.as_ref()))
            .await
            .copied()
    }

    /// The signed-in caller, if the token (when there is one) is good.
    pub async fn principal(&self, state: &AppState) -> Result<Option<Principal>, AppError> {
        self.caller(state).await.map(Caller::optional)
    }

    /// True the first time a field of this request is refused: one request of many aliases
    /// makes one `access.denied` record, not one per alias.
    pub fn first_denial(&self) -> bool {
        !self.denial_recorded.swap(true, Ordering::Relaxed)
    }

    pub fn set_cookies(&self, update: CookieUpdate) {
        *self.cookies.lock().unwrap_or_else(PoisonError::into_inner) = Some(update);
    }

    pub fn take_cookies(&self) -> Option<CookieUpdate> {
        self.cookies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Shorthands resolvers use to reach the state and the request context.
pub(crate) trait ContextExt {
    fn state(&self) -> &AppState;
    fn request(&self) -> &RequestContext;
    /// The signed-in caller, or `UNAUTHENTICATED`.
    async fn principal(&self) -> async_graphql::Result<Principal>;
}

impl ContextExt for Context<'_> {
    #[allow(clippy::expect_used)]
    fn state(&self) -> &AppState {
        // Both are inserted by `build_schema` and the HTTP handler before any execution.
        self.data::<AppState>().expect("AppState is schema data")
    }

    #[allow(clippy::expect_used)]
    fn request(&self) -> &RequestContext {
        self.data::<std::sync::Arc<RequestContext>>()
            .expect("RequestContext is request data")
    }

    async fn principal(&self) -> async_graphql::Result<Principal> {
        self.request()
            .caller(self.state())
            .await
            .and_then(Caller::required)
            .graphql()
    }
}

/// How a resolver awaits its use case: `.boxed().await`, so the engine's one future for all
/// of the root's resolvers stays small (see the `graphql` module).
pub(crate) trait Boxed: Future + Sized {
    fn boxed(self) -> Pin<Box<Self>> {
        Box::pin(self)
    }
}

impl<F: Future> Boxed for F {}
