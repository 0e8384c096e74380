//! Outgoing email. Requests never wait on mail: they queue a message and go on; a background
//! worker delivers it through the configured transport and retries with backoff. Failures are
//! logged by message id, never by recipient.

mod templates;
mod transport;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use lettre::{
    Message,
    message::{Mailbox, MultiPart, header::HeaderName},
};
use tokio::sync::{Semaphore, mpsc};

pub use templates::Mail;
use transport::Transport;

use crate::config::{MailSettings, Settings};

/// Messages waiting for the worker; beyond this, new ones are dropped with an error log
/// rather than slowing requests.
const QUEUE: usize = 1024;
/// Deliveries in flight at once.
const CONCURRENCY: usize = 4;
/// Waits between attempts: the first retry after a second, the last after about four minutes.
const BACKOFF: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(16),
    Duration::from_secs(64),
    Duration::from_secs(256),
];

/// Renders, queues and delivers email. Cheap to share.
pub struct Mailer {
    queue: mpsc::Sender<Message>,
    settings: MailSettings,
    public_url: String,
    from: Mailbox,
}

impl Mailer {
    /// Opens the transport and starts the delivery worker.
    pub fn start(settings: &Settings) -> anyhow::Result<Self> {
        let transport = Arc::new(Transport::open(&settings.mail)?);
        let from = settings
            .mail
            .from
            .parse()
            .context("CUSTODIAN_MAIL_FROM is not an address")?;
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(deliver_all(receiver, transport));
        Ok(Self {
            queue,
            settings: settings.mail.clone(),
            public_url: settings.server.public_url.clone(),
            from,
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

    /// Queues `mail` for `to`. Never fails the caller: a message that cannot be built or
    /// queued is logged and dropped.
    pub fn send(&self, to: &str, name: Option<&str>, mail: &Mail) {
        let kind = mail.kind();
        let message = match self.build(to, name, mail) {
            Ok(message) => message,
            Err(err) => {
                tracing::error!(kind, error = format!("{err:#}"), "cannot build email");
                return;
            }
        };
        let id = message_id(&message);
        match self.queue.try_send(message) {
            Ok(()) => tracing::info!(kind, message_id = id, "email queued"),
            Err(_) => tracing::error!(kind, message_id = id, "mail queue full; email dropped"),
        }
    }

    fn build(&self, to: &str, name: Option<&str>, mail: &Mail) -> anyhow::Result<Message> {
        let rendered = mail.render(&self.settings.product_name);
        let address = to.parse().context("recipient address")?;
        let to = Mailbox::new(name.map(str::to_owned), address);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .context("cannot assemble the message")
    }
}

fn message_id(message: &Message) -> String {
    message
        .headers()
        .get_raw(&HeaderName::new_from_ascii_str("Message-ID"))
        .unwrap_or_default()
        .to_owned()
}

async fn deliver_all(mut receiver: mpsc::Receiver<Message>, transport: Arc<Transport>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(message) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let transport = Arc::clone(&transport);
        tokio::spawn(async move {
            let _slot = slot;
            deliver(&transport, message).await;
        });
    }
}

/// Sends one message, retrying transient failures with backoff.
async fn deliver(transport: &Transport, message: Message) {
    let id = message_id(&message);
    let mut waits = BACKOFF.iter();
    loop {
        match transport.send(&message).await {
            Ok(()) => {
                tracing::info!(message_id = id, "email delivered");
                return;
            }
            Err(err) => match waits.next() {
                Some(wait) => {
                    tracing::warn!(
                        message_id = id,
                        error = format!("{err:#}"),
                        retry_in_secs = wait.as_secs(),
                        "email not delivered; will retry"
                    );
                    tokio::time::sleep(*wait).await;
                }
                None => {
                    tracing::error!(
                        message_id = id,
                        error = format!("{err:#}"),
                        "email not delivered; giving up"
                    );
                    return;
                }
            },
        }
    }
}
