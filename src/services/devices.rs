//! Device recognition: a signed cookie that says "this browser has signed in to this account
//! before". It lets the owner sign in while someone floods their address (the per-address
//! backoff does not apply to it; a per-device limit does), and it decides when a sign-in is
//! news worth an email.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::{
    crypto::{constant_time_eq, envelope::HashPurpose},
    domain::AccountId,
    state::AppState,
};

const VERSION: &str = "d1";

/// A browser known to have signed in to `account`.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    pub account: AccountId,
    pub id: Uuid,
}

fn signature(state: &AppState, account: AccountId, id: Uuid) -> String {
    state.keys.keyed_hash(
        HashPurpose::DeviceCookie,
        format!("{VERSION}.{account}.{id}").as_bytes(),
    )
}

/// The device a presented cookie vouches for, if its signature holds.
pub fn recognise(state: &AppState, cookie: Option<&SecretString>) -> Option<Device> {
    let mut parts = cookie?.expose_secret().split('.');
    let (Some(VERSION), Some(account), Some(id), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let account = AccountId(account.parse().ok()?);
    let id: Uuid = id.parse().ok()?;
    constant_time_eq(mac.as_bytes(), signature(state, account, id).as_bytes())
        .then_some(Device { account, id })
}

/// The cookie value that names `device`.
pub fn cookie(state: &AppState, device: Device) -> SecretString {
    let mac = signature(state, device.account, device.id);
    format!("{VERSION}.{}.{}.{mac}", device.account, device.id).into()
}

/// A browser signing in to `account` for the first time.
pub fn new_device(account: AccountId) -> Device {
    Device {
        account,
        id: Uuid::now_v7(),
    }
}

/// Browser and system as a person reads them: `Firefox 128.0 on Linux`.
pub fn describe(user_agent: Option<&str>) -> String {
    let parsed = user_agent.and_then(|agent| woothee::parser::Parser::new().parse(agent));
    let known = |value: &str| value != woothee::woothee::VALUE_UNKNOWN && !value.is_empty();
    match parsed {
        Some(ua) if known(ua.name) => {
            let browser = if known(ua.version) {
                format!("{} {}", ua.name, ua.version)
            } else {
                ua.name.to_owned()
            };
            if known(ua.os) {
                format!("{browser} on {}", ua.os)
            } else {
                browser
            }
        }
        _ => "an unrecognised browser".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_described_by_name_and_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe(Some(firefox)), "Firefox 128.0 on Linux");
        assert_eq!(describe(Some("made-up agent")), "an unrecognised browser");
        assert_eq!(describe(None), "an unrecognised browser");
    }
}
