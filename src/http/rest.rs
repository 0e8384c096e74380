//! REST wrappers over the same services as GraphQL: `POST /api/auth/{register,login,mfa,
//! refresh,logout,passkey/start,passkey/finish}`, JSON in and out, the same cookies, errors as
//! `{"error": {"code", …}}`.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use secrecy::ExposeSecret;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::{
    HttpState,
    cookies::{self, CookieUpdate},
    error::{app_error_response, error_body},
    request::RequestMeta,
};
use crate::{
    domain::{OneTimeCode, OpaqueToken},
    error::{AppError, AppResult},
    graphql::auth::{AuthPayload, LoginInput, RegisterInput},
    services::{
        auth::{self, Credentials, LoginOutcome},
        devices, mfa,
        passkeys::{
            login::{self as passkey_login, Assertion},
            second_factor,
        },
        sessions::{self, AuthOutcome},
        throttle::Limit,
    },
};

/// A body that is not the JSON object the route expects, and what is wrong with it: the field
/// that is missing, unknown (a misspelt `phoneNumber` is refused rather than dropped) or of
/// the wrong type, or the JSON itself.
struct MalformedBody(AppError);

impl IntoResponse for MalformedBody {
    fn into_response(self) -> Response {
        let field = self.0.field().map(|field| ("field", json!(field)));
        (
            StatusCode::BAD_REQUEST,
            error_body("BAD_USER_INPUT", &self.0.to_string(), field),
        )
            .into_response()
    }
}

/// Takes the body, so it is let go of before the route awaits anything: a small body shares
/// its allocation with the connection's read buffer, which hyper cannot reuse for the next
/// read while a request waiting its turn (a sign-in queued for a hashing thread) holds it.
fn parse<T: DeserializeOwned>(body: Bytes) -> Result<T, MalformedBody> {
    if !body.trim_ascii_start().starts_with(b"{") {
        let json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
        let message = if json {
            "must be a JSON object"
        } else {
            "is not valid JSON"
        };
        return Err(MalformedBody(AppError::bad_input("body", message)));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        let quoted = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("missing field") || message.starts_with("unknown field")
            })
            .map(str::to_owned);
        let error = match (quoted, inner.classify()) {
            (Some(field), _) if message.starts_with("unknown field") => {
                AppError::bad_input(field, "is not a field of this request")
            }
            (Some(field), _) => AppError::bad_input(field, "is required"),
            (None, serde_json::error::Category::Data) if path != "." => {
                let expected = message
                    .split(", expected ")
                    .nth(1)
                    .and_then(|rest| rest.split(" at line").next())
                    .unwrap_or("another type");
                AppError::bad_input(path, format!("must be {expected}"))
            }
            (None, serde_json::error::Category::Data) => {
                AppError::bad_input("body", "must be a JSON object")
            }
            (None, _) => AppError::bad_input("body", "is not valid JSON"),
        };
        MalformedBody(error)
    })
}

fn respond(state: &HttpState, meta: &RequestMeta, result: AppResult<AuthOutcome>) -> Response {
    match result {
        Ok(outcome) => {
            let cookies = CookieUpdate::signed_in(&outcome);
            let mut response = Json(AuthPayload::new(&state.app, outcome)).into_response();
            cookies::apply(
                response.headers_mut(),
                &cookies,
                &state.app.settings,
                state.app.clock.now(),
            );
            response
        }
        Err(err) => app_error_response(&err, &meta.request_id),
    }
}

pub async fn register(State(state): State<HttpState>, meta: RequestMeta, body: Bytes) -> Response {
    let body: RegisterInput = match parse(body) {
        Ok(body) => body,
        Err(malformed) => return malformed.into_response(),
    };
    let result = async {
        Limit::register()
            .spend(&state.app, &meta.client, None)
            .await?;
        let registration = body.into_registration()?;
        auth::register(&state.app, registration, &meta.client).await
    }
    .await;
    respond(&state, &meta, result)
}

pub async fn login(State(state): State<HttpState>, meta: RequestMeta, body: Bytes) -> Response {
    let body: LoginInput = match parse(body) {
        Ok(body) => body,
        Err(malformed) => return malformed.into_response(),
    };
    let limited = Limit::login(&body.email)
        .spend(&state.app, &meta.client, None)
        .await;
    let result = match limited {
        Ok(()) => {
            let credentials = Credentials::parse(&body.email, &body.password);
            let device = devices::recognise(&state.app, meta.device_cookie.as_ref());
            auth::login(&state.app, credentials, device, &meta.client).await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(LoginOutcome::SignedIn(outcome)) => respond(&state, &meta, Ok(*outcome)),
        // The second step: `POST /api/auth/mfa` with the token and a code, or
        // `POST /api/auth/mfa/passkey` with the token and a passkey's answer.
        Ok(LoginOutcome::MfaRequired(challenge)) => Json(json!({
            "mfaRequired": true,
            "mfaToken": challenge.token.expose_secret(),
            "expiresAt": challenge.expires_at,
            "methods": challenge.methods.iter().map(|factor| factor.as_str()).collect::<Vec<_>>(),
            "passkeyOptions": challenge.passkey_options,
        }))
        .into_response(),
        Err(err) => app_error_response(&err, &meta.request_id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaBody {
    mfa_token: String,
    code: String,
}

pub async fn mfa(State(state): State<HttpState>, meta: RequestMeta, body: Bytes) -> Response {
    let body: MfaBody = match parse(body) {
        Ok(body) => body,
        Err(malformed) => return malformed.into_response(),
    };
    let result = async {
        Limit::mfa(&body.mfa_token)
            .spend(&state.app, &meta.client, None)
            .await?;
        let token = OpaqueToken::new(body.mfa_token);
        let code = OneTimeCode::parse(&body.code);
        let device = devices::recognise(&state.app, meta.device_cookie.as_ref());
        mfa::verify(&state.app, &token, &code, device, &meta.client).await
    }
    .await;
    respond(&state, &meta, result)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaPasskeyBody {
    mfa_token: String,
    credential: Value,
}

/// `verifyMfaPasskey`: the second step with a passkey's answer to the challenge's
/// `passkeyOptions`.
pub async fn mfa_passkey(
    State(state): State<HttpState>,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    let body: MfaPasskeyBody = match parse(body) {
        Ok(body) => body,
        Err(malformed) => return malformed.into_response(),
    };
    let result = async {
        Limit::mfa(&body.mfa_token)
            .spend(&state.app, &meta.client, None)
            .await?;
        let token = OpaqueToken::new(body.mfa_token);
        let assertion = Assertion::parse(body.credential)?;
        let device = devices::recognise(&state.app, meta.device_cookie.as_ref());
        second_factor::verify(&state.app, &token, assertion, device, &meta.client).await
    }
    .await;
    respond(&state, &meta, result)
}

/// `startPasskeyLogin`: `{"challengeId", "options"}`.
pub async fn passkey_start(State(state): State<HttpState>, meta: RequestMeta) -> Response {
    let result = async {
        Limit::passkey_login()
            .spend(&state.app, &meta.client, None)
            .await?;
        passkey_login::start(&state.app).await
    }
    .await;
    match result {
        Ok(challenge) => Json(json!({
            "challengeId": challenge.id,
            "options": challenge.options,
        }))
        .into_response(),
        Err(err) => app_error_response(&err, &meta.request_id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyFinishBody {
    challenge_id: uuid::Uuid,
    credential: serde_json::Value,
}

/// `finishPasskeyLogin`: the payload and cookies of a sign-in.
pub async fn passkey_finish(
    State(state): State<HttpState>,
    meta: RequestMeta,
    body: Bytes,
) -> Response {
    let body: PasskeyFinishBody = match parse(body) {
        Ok(body) => body,
        Err(malformed) => return malformed.into_response(),
    };
    let result = async {
        Limit::passkey_login()
            .spend(&state.app, &meta.client, None)
            .await?;
        let assertion = Assertion::parse(body.credential)?;
        let device = devices::recognise(&state.app, meta.device_cookie.as_ref());
        passkey_login::finish(
            &state.app,
            body.challenge_id,
            assertion,
            device,
            &meta.client,
        )
        .await
    }
    .await;
    respond(&state, &meta, result)
}

pub async fn refresh(State(state): State<HttpState>, meta: RequestMeta) -> Response {
    let result = match (
        &meta.refresh_token,
        Limit::refresh().spend(&state.app, &meta.client, None).await,
    ) {
        (_, Err(limited)) => Err(limited),
        (Some(token), Ok(())) => sessions::refresh(&state.app, token, &meta.client).await,
        (None, Ok(())) => Err(AppError::InvalidRefreshToken),
    };
    let mut response = respond(&state, &meta, result);
    if response.status() == StatusCode::UNAUTHORIZED {
        sign_out(&state, &mut response);
    }
    response
}

pub async fn logout(State(state): State<HttpState>, meta: RequestMeta) -> Response {
    let result = async {
        let principal = sessions::identify(&state.app, meta.access_token.as_ref())
            .await?
            .optional();
        sessions::logout(
            &state.app,
            principal.as_ref(),
            meta.refresh_token.as_ref(),
            &meta.client,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => {
            let mut response = Json(json!({ "ok": true })).into_response();
            sign_out(&state, &mut response);
            response
        }
        Err(err) => app_error_response(&err, &meta.request_id),
    }
}

/// Clears the session cookies on `response`.
fn sign_out(state: &HttpState, response: &mut Response) {
    cookies::apply(
        response.headers_mut(),
        &CookieUpdate::SignedOut,
        &state.app.settings,
        state.app.clock.now(),
    );
}
