//! The refresh, access and device cookies: HttpOnly, SameSite=Strict, Path=/, and Secure with
//! the `__Host-` prefix (no Domain, so no sibling host can set or read them) unless
//! `CUSTODIAN_COOKIE_SECURE=false` for plain-http development.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::{config::Settings, services::sessions::AuthOutcome};

const REFRESH: &str = "custodian_refresh";
const ACCESS: &str = "custodian_access";
/// Signed, naming the account it vouches for: outlives sign-outs, so the browser stays known.
const DEVICE: &str = "custodian_device";
/// How long a browser stays known without signing in again (the most browsers keep).
const DEVICE_MAX_AGE_SECS: i64 = 400 * 24 * 3600;

/// What a request did to the caller's cookies.
pub enum CookieUpdate {
    SignedIn {
        access: SecretString,
        access_expires_at: DateTime<Utc>,
        refresh: SecretString,
        refresh_expires_at: DateTime<Utc>,
        device: Option<SecretString>,
    },
    /// Clears the access and refresh cookies; the device cookie stays.
    SignedOut,
}

impl CookieUpdate {
    pub fn signed_in(outcome: &AuthOutcome) -> Self {
        Self::SignedIn {
            access: outcome.access.token.clone(),
            access_expires_at: outcome.access.expires_at,
            refresh: outcome.refresh.token.clone(),
            refresh_expires_at: outcome.refresh.expires_at,
            device: outcome.device_cookie.clone(),
        }
    }
}

fn name(settings: &Settings, base: &str) -> String {
    if settings.server.cookie_secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

fn cookie(settings: &Settings, base: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if settings.server.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        name(settings, base),
        max_age.max(0)
    );
    HeaderValue::from_str(&text).ok()
}

/// The `Set-Cookie` values for `update`.
pub fn render(update: &CookieUpdate, settings: &Settings, now: DateTime<Utc>) -> Vec<HeaderValue> {
    let pairs = match update {
        CookieUpdate::SignedIn {
            access,
            access_expires_at,
            refresh,
            refresh_expires_at,
            device,
        } => vec![
            cookie(
                settings,
                ACCESS,
                access.expose_secret(),
                (*access_expires_at - now).num_seconds(),
            ),
            cookie(
                settings,
                REFRESH,
                refresh.expose_secret(),
                (*refresh_expires_at - now).num_seconds(),
            ),
            device.as_ref().and_then(|device| {
                cookie(
                    settings,
                    DEVICE,
                    device.expose_secret(),
                    DEVICE_MAX_AGE_SECS,
                )
            }),
        ],
        CookieUpdate::SignedOut => vec![
            cookie(settings, ACCESS, "", 0),
            cookie(settings, REFRESH, "", 0),
        ],
    };
    pairs.into_iter().flatten().collect()
}

/// Appends the cookies of `update` to a response's headers.
pub fn apply(
    headers: &mut HeaderMap,
    update: &CookieUpdate,
    settings: &Settings,
    now: DateTime<Utc>,
) {
    for value in render(update, settings, now) {
        headers.append(header::SET_COOKIE, value);
    }
}

pub fn read_refresh(headers: &HeaderMap, settings: &Settings) -> Option<SecretString> {
    read(headers, &name(settings, REFRESH))
}

pub fn read_access(headers: &HeaderMap, settings: &Settings) -> Option<SecretString> {
    read(headers, &name(settings, ACCESS))
}

pub fn read_device(headers: &HeaderMap, settings: &Settings) -> Option<SecretString> {
    read(headers, &name(settings, DEVICE))
}

/// The value of cookie `wanted`; empty values count as absent.
fn read(headers: &HeaderMap, wanted: &str) -> Option<SecretString> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == wanted && !value.is_empty())
        .map(|(_, value)| SecretString::from(value.to_owned()))
}
