//! Outgoing email: composing messages, and delivering one through the configured transport.
//! Messages are not queued here: they are rows of the outbox, written with the change that
//! causes them and delivered by a worker that retries (see `services::outbox`). Failures are
//! logged by message id, never by recipient.

mod templates;
mod transport;

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use lettre::{
    Address, Message,
    address::Envelope,
    message::{Mailbox, MultiPart, header::HeaderName},
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use templates::Mail;

use crate::config::{MailSettings, Settings};

/// A composed message, ready to store and to send: its envelope and its bytes.
#[derive(Serialize, Deserialize)]
pub struct Outbound {
    pub message_id: String,
    pub kind: String,
    from: String,
    to: Vec<String>,
    /// The RFC 5322 message, base64.
    raw_base64: String,
    #[serde(skip)]
    raw: Vec<u8>,
}

impl Outbound {
    fn envelope(&self) -> anyhow::Result<Envelope> {
        let parse = |address: &String| address.parse::<Address>().context("an envelope address");
        let to = self
            .to
            .iter()
            .map(parse)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Envelope::new(Some(parse(&self.from)?), to).context("an envelope")
    }

    /// As stored (to be sealed: it holds the recipient and, in links, tokens).
    pub fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        serde_json::to_vec(self).context("cannot encode the message")
    }

    pub fn from_json(bytes: &[u8]) -> anyhow::Result<Self> {
        let mut outbound: Self = serde_json::from_slice(bytes).context("a stored message")?;
        outbound.raw = STANDARD
            .decode(&outbound.raw_base64)
            .context("a stored message's body")?;
        Ok(outbound)
    }
}

/// Composes and delivers email, and wakes the delivery worker. Cheap to share.
pub struct Mailer {
    transport: transport::Transport,
    settings: MailSettings,
    public_url: String,
    from: Mailbox,
    /// Rung when a new message is stored, so it leaves at once rather than at the next poll.
    work: Notify,
}

impl Mailer {
    /// Opens the transport.
    pub fn start(settings: &Settings) -> anyhow::Result<Self> {
        let transport = transport::Transport::open(&settings.mail)?;
        let from = settings
            .mail
            .from
            .parse()
            .context("CUSTODIAN_MAIL_FROM is not an address")?;
        Ok(Self {
            transport,
            settings: settings.mail.clone(),
            public_url: settings.server.public_url.clone(),
            from,
            work: Notify::new(),
        })
    }

    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// A link from a template: `{public_url}` and `{token}` filled in.
    pub fn link(&self, template: &str, token: &str) -> String {
        template
            .replace("{public_url}", &self.public_url)
            .replace("{token}", token)
    }

    /// `mail` for `to`, greeted by `name`, ready to store.
    pub fn compose(&self, to: &str, name: Option<&str>, mail: &Mail) -> anyhow::Result<Outbound> {
        let rendered = mail.render(&self.settings.product_name);
        let address: Address = to.parse().context("recipient address")?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name.map(str::to_owned), address.clone()))
            .subject(rendered.subject)
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .context("cannot assemble the message")?;
        let raw = message.formatted();
        Ok(Outbound {
            message_id: message_id(&message),
            kind: mail.kind().to_owned(),
            from: self.from.email.to_string(),
            to: vec![address.to_string()],
            raw_base64: STANDARD.encode(&raw),
            raw,
        })
    }

    /// Delivers one message through the transport.
    pub async fn deliver(&self, outbound: &Outbound) -> anyhow::Result<()> {
        self.transport.send(outbound).await
    }

    /// Tells the worker a message is waiting.
    pub fn wake(&self) {
        self.work.notify_one();
    }

    /// Waits until woken or `timeout` passes.
    pub async fn wait_for_work(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.work.notified()).await;
    }
}

fn message_id(message: &Message) -> String {
    message
        .headers()
        .get_raw(&HeaderName::new_from_ascii_str("Message-ID"))
        .unwrap_or_default()
        .to_owned()
}
