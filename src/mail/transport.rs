//! Where email goes: `.eml` files, an SMTP server, or the log.

use anyhow::Context;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use super::Outbound;
use crate::config::{MailSettings, MailTransport};

pub enum Transport {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Log,
}

impl Transport {
    pub fn open(settings: &MailSettings) -> anyhow::Result<Self> {
        Ok(match settings.transport {
            MailTransport::File => {
                std::fs::create_dir_all(&settings.outbox).with_context(|| {
                    format!(
                        "cannot create the mail outbox {}",
                        settings.outbox.display()
                    )
                })?;
                Self::File(AsyncFileTransport::new(&settings.outbox))
            }
            MailTransport::Smtp => {
                let url = settings
                    .smtp_url
                    .as_ref()
                    .context("CUSTODIAN_SMTP_URL is required for the smtp transport")?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("CUSTODIAN_SMTP_URL cannot be used")?
                    .build();
                Self::Smtp(transport)
            }
            MailTransport::Log => Self::Log,
        })
    }

    /// Delivers `outbound`. An SMTP failure is described by its reply code or its kind only:
    /// the server's text often echoes the recipient's address, which logs must not hold.
    pub async fn send(&self, outbound: &Outbound) -> anyhow::Result<()> {
        let envelope = outbound.envelope()?;
        match self {
            Self::File(transport) => transport
                .send_raw(&envelope, &outbound.raw)
                .await
                .map(|_| ())
                .context("cannot write the email to the outbox"),
            Self::Smtp(transport) => transport
                .send_raw(&envelope, &outbound.raw)
                .await
                .map(|_| ())
                .map_err(|err| {
                    anyhow::anyhow!("the SMTP server refused the email: {}", failure(&err))
                }),
            Self::Log => {
                let to = envelope
                    .to()
                    .first()
                    .map(|address| mask(address.user(), address.domain()))
                    .unwrap_or_default();
                tracing::info!(
                    message_id = outbound.message_id,
                    kind = outbound.kind,
                    to,
                    "email (log transport; body not shown)"
                );
                Ok(())
            }
        }
    }
}

/// `a***@example.com`: enough to tell messages apart while developing, not the address.
fn mask(user: &str, domain: &str) -> String {
    let first: String = user.chars().take(1).collect();
    format!("{first}***@{domain}")
}

/// What went wrong with an SMTP delivery, without the server's words.
fn failure(err: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = err.status() {
        format!("reply code {code}")
    } else if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_tls() {
        "TLS failed".to_owned()
    } else {
        "no usable connection".to_owned()
    }
}
