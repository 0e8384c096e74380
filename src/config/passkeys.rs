//! Where passkeys work: the relying party id they are bound to, and the origins whose pages
//! may use them. Both follow from the public URL unless said; an origin outside the relying
//! party's domain could never finish a ceremony, so it stops the start.

use url::{Host, Url};

use super::{ConfigError, invalid, raw::RawSettings};

const RP_ID: &str = "CUSTODIAN_WEBAUTHN_RP_ID";
const ORIGINS: &str = "CUSTODIAN_WEBAUTHN_ORIGINS";

/// The relying party of passkeys.
#[derive(Debug, Clone)]
pub struct PasskeySettings {
    /// The domain credentials are bound to: changing it orphans every registered passkey.
    pub rp_id: String,
    /// Origins whose pages may register and use passkeys; the first is the primary one.
    pub origins: Vec<Url>,
}

impl PasskeySettings {
    /// From the raw settings and what was already derived: the public URL and the CORS
    /// origins (development also accepts passkeys from those that fit; the others are named
    /// in `warnings`). `None` when nothing names a domain (the public URL's host is an IP
    /// address and no relying party id is set): passkeys are off, and `warnings` says so,
    /// rather than the whole service refusing to start.
    pub(super) fn from_raw(
        raw: &RawSettings,
        public_url: &str,
        cors_origins: &[String],
        production: bool,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let public =
            Url::parse(public_url).map_err(|_| invalid("CUSTODIAN_PUBLIC_URL", "is not a URL"))?;
        let rp_id = match raw.webauthn_rp_id.as_deref().map(str::trim) {
            Some(rp_id) if !rp_id.is_empty() => domain(rp_id)?,
            _ => match public.host() {
                Some(Host::Domain(host)) => host.to_owned(),
                _ => {
                    warnings.push(format!(
                        "passkeys are off: the host of CUSTODIAN_PUBLIC_URL is an IP address, \
                         which passkeys cannot be bound to; set {RP_ID} (and {ORIGINS}) to a \
                         domain to turn them on"
                    ));
                    return Ok(None);
                }
            },
        };
        let listed: Vec<&str> = raw
            .webauthn_origins
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .collect();
        let origins = if listed.is_empty() {
            let mut origins = vec![origin(public_url, &rp_id, production).map_err(|reason| {
                invalid(
                    ORIGINS,
                    format!("is needed: the public URL {reason}; list the origins passkeys are used from"),
                )
            })?];
            for cors in cors_origins.iter().filter(|_| !production) {
                match origin(cors, &rp_id, production) {
                    Ok(url) if !origins.contains(&url) => origins.push(url),
                    Ok(_) => {}
                    Err(reason) => warnings.push(format!(
                        "CUSTODIAN_CORS_ORIGINS: {cors} {reason}, so passkeys cannot be used from it (list the origins in {ORIGINS})"
                    )),
                }
            }
            origins
        } else {
            listed
                .into_iter()
                .map(|text| {
                    origin(text, &rp_id, production)
                        .map_err(|reason| invalid(ORIGINS, format!("`{text}` {reason}")))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Some(Self { rp_id, origins }))
    }
}

/// A relying party id as written: a domain name in ASCII (punycode for other scripts), in any
/// case.
fn domain(text: &str) -> Result<String, ConfigError> {
    let lower = text.to_ascii_lowercase();
    let label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if lower.len() <= 253 && lower.split('.').all(label) {
        Ok(lower)
    } else {
        Err(invalid(
            RP_ID,
            format!(
                "`{text}` is not a domain name such as example.com (no scheme, port or path; punycode for other scripts)"
            ),
        ))
    }
}

/// `text` as an origin under `rp_id`, or why it is not one.
fn origin(text: &str, rp_id: &str, production: bool) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|_| "is not an origin such as https://app.example.com".to_owned())?;
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    match url.scheme() {
        "https" => {}
        "http" if !production => {}
        "http" => return Err("is not https, which production requires".to_owned()),
        _ => return Err("is not an http(s) origin".to_owned()),
    }
    if !bare {
        return Err("is not an origin: no path, query or credentials".to_owned());
    }
    match url.domain() {
        Some(host) if host == rp_id || host.ends_with(&format!(".{rp_id}")) => Ok(url),
        _ => Err(format!(
            "has a host that is not {rp_id} or a subdomain of it (the passkey relying party id, {RP_ID})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn the_public_url_says_where_passkeys_work() {
        let settings =
            Settings::from_pairs([("PUBLIC_URL", "https://id.example.com")]).expect("valid");
        let passkeys = settings.passkeys.expect("passkeys on");
        assert_eq!(passkeys.rp_id, "id.example.com");
        let origins: Vec<&str> = passkeys.origins.iter().map(|url| url.as_str()).collect();
        assert_eq!(origins, ["https://id.example.com/"]);
    }

    #[test]
    fn development_adds_the_cors_origins_that_fit() {
        let settings = Settings::from_pairs([
            ("PUBLIC_URL", "http://localhost:8080"),
            (
                "CORS_ORIGINS",
                "http://localhost:5173,https://app.example.com",
            ),
        ])
        .expect("valid");
        let origins: Vec<&str> = settings
            .passkeys
            .as_ref()
            .expect("passkeys on")
            .origins
            .iter()
            .map(|url| url.as_str())
            .collect();
        assert_eq!(
            origins,
            ["http://localhost:8080/", "http://localhost:5173/"]
        );
        assert!(
            settings
                .warnings
                .iter()
                .any(|warning| warning.contains("https://app.example.com")),
            "{:?}",
            settings.warnings
        );
    }

    #[test]
    fn an_origin_outside_the_relying_party_is_refused() {
        let err = Settings::from_pairs([
            ("WEBAUTHN_RP_ID", "example.com"),
            (
                "WEBAUTHN_ORIGINS",
                "https://app.example.com,https://evil.test",
            ),
        ])
        .expect_err("refused");
        let said = err.to_string();
        assert!(
            said.contains("CUSTODIAN_WEBAUTHN_ORIGINS") && said.contains("evil.test"),
            "{said}"
        );
        let fine = Settings::from_pairs([
            ("WEBAUTHN_RP_ID", "Example.com"),
            (
                "WEBAUTHN_ORIGINS",
                "https://app.example.com, https://example.com:8443",
            ),
        ])
        .expect("valid");
        let passkeys = fine.passkeys.expect("passkeys on");
        assert_eq!(passkeys.rp_id, "example.com");
        assert_eq!(passkeys.origins.len(), 2);
        for bad in [
            "https://example.com/",
            "example.com:443",
            "http://example.com",
            "*.example.com",
        ] {
            let err = Settings::from_pairs([("WEBAUTHN_RP_ID", bad)]).expect_err(bad);
            assert!(
                err.to_string().contains("CUSTODIAN_WEBAUTHN_RP_ID"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_address_for_a_public_url_turns_passkeys_off_and_says_so() {
        let settings = Settings::from_pairs([("PUBLIC_URL", "http://192.168.1.20:8080")])
            .expect("the service starts");
        assert!(settings.passkeys.is_none());
        assert!(
            settings
                .warnings
                .iter()
                .any(|warning| warning.contains("passkeys are off")
                    && warning.contains("CUSTODIAN_WEBAUTHN_RP_ID")),
            "{:?}",
            settings.warnings
        );
        let named = Settings::from_pairs([
            ("PUBLIC_URL", "http://192.168.1.20:8080"),
            ("WEBAUTHN_RP_ID", "localhost"),
            ("WEBAUTHN_ORIGINS", "http://localhost:8080"),
        ])
        .expect("valid");
        assert!(named.passkeys.is_some());
    }
}
