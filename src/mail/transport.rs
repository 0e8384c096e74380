//! Where email goes: `.eml` files, an SMTP server, or the log.

use anyhow::Context;
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::header::HeaderName,
};
use secrecy::ExposeSecret;

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

    pub async fn send(&self, message: &Message) -> anyhow::Result<()> {
        match self {
            Self::File(transport) => transport
                .send(message.clone())
                .await
                .map(|_| ())
                .context("cannot write the email to the outbox"),
            Self::Smtp(transport) => transport
                .send(message.clone())
                .await
                .map(|_| ())
                .context("the SMTP server refused the email"),
            Self::Log => {
                let header = |name: &'static str| {
                    message
                        .headers()
                        .get_raw(&HeaderName::new_from_ascii_str(name))
                        .unwrap_or_default()
                        .to_owned()
                };
                let to = message
                    .envelope()
                    .to()
                    .first()
                    .map(|address| mask(address.user(), address.domain()))
                    .unwrap_or_default();
                tracing::info!(
                    message_id = header("Message-ID"),
                    subject = header("Subject"),
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
