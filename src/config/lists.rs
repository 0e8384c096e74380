//! Settings written as comma-separated lists, and the SMTP URL: each parsed once, with an
//! error that names the setting.

use std::time::Duration;

use ipnet::IpNet;

use super::{ConfigError, invalid};

pub(super) fn parse_cidrs(list: &str) -> Result<Vec<IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(
                        "CUSTODIAN_TRUSTED_PROXIES",
                        format!("`{item}` is not an IP address or CIDR"),
                    )
                })
        })
        .collect()
}

pub(super) fn parse_rate_limits(list: &str) -> Result<Vec<(String, u32, Duration)>, ConfigError> {
    let name = "CUSTODIAN_RATE_LIMITS";
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let bad = || invalid(name, format!("`{item}` is not rule=count/seconds"));
            let (rule, quota) = item.split_once('=').ok_or_else(bad)?;
            let (count, seconds) = quota.split_once('/').ok_or_else(bad)?;
            let count: u32 = count.trim().parse().map_err(|_| bad())?;
            let seconds: u64 = seconds.trim().parse().map_err(|_| bad())?;
            if count == 0 || seconds == 0 {
                return Err(bad());
            }
            Ok((rule.trim().to_owned(), count, Duration::from_secs(seconds)))
        })
        .collect()
}

pub(super) fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') && !host.contains('*') => {
                    Ok(origin.to_owned())
                }
                _ => Err(invalid(
                    "CUSTODIAN_CORS_ORIGINS",
                    format!("`{origin}` is not an exact origin such as https://app.example.com"),
                )),
            }
        })
        .collect()
}

/// The URL must name a host, and production never sends a password over plain text.
pub(super) fn check_smtp_url(url: &str, production: bool) -> Result<(), ConfigError> {
    let name = "CUSTODIAN_SMTP_URL";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid(name, "must look like smtp://host:port or smtps://host:port"))?;
    if scheme != "smtp" && scheme != "smtps" {
        return Err(invalid(name, "the scheme must be smtp or smtps"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (credentials, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid(name, "must name a host"));
    }
    let encrypted = scheme == "smtps" || url.contains("tls=required");
    if production && credentials.contains(':') && !encrypted {
        return Err(invalid(
            name,
            "production refuses to send SMTP credentials unencrypted: use smtps:// or ?tls=required",
        ));
    }
    Ok(())
}
