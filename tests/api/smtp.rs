//! The SMTP transport against a real SMTP server on a real socket: a small receiver written
//! here, which can refuse the first delivery to show that failed sends are retried.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use crate::helpers::{Backend, spawn_app, unique_email};

#[derive(Debug, Clone, Default)]
struct Delivery {
    auth: Option<String>,
    from: String,
    to: Vec<String>,
    data: String,
}

#[derive(Clone, Default)]
struct Receiver {
    delivered: Arc<Mutex<Vec<Delivery>>>,
    /// DATA commands seen, accepted or not.
    attempts: Arc<AtomicUsize>,
    /// How many deliveries to refuse with a transient error first.
    refuse_first: usize,
}

impl Receiver {
    async fn start(refuse_first: usize) -> (Self, String) {
        Self::start_on("127.0.0.1:0", refuse_first).await
    }

    /// A receiver on `address` (a port chosen earlier, when a sender was told of it first).
    async fn start_on(address: &str, refuse_first: usize) -> (Self, String) {
        let listener = TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let receiver = Self {
            refuse_first,
            ..Self::default()
        };
        let server = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().session(stream));
            }
        });
        (receiver, address)
    }

    async fn session(self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut current = Delivery::default();
        let reply = |text: &'static str| format!("{text}\r\n");
        write
            .write_all(reply("220 receiver ESMTP").as_bytes())
            .await
            .unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let answer = if upper.starts_with("EHLO") {
                "250-receiver\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n".to_owned()
            } else if upper.starts_with("AUTH PLAIN") {
                current.auth = line.split_whitespace().nth(2).map(str::to_owned);
                reply("235 2.7.0 accepted")
            } else if upper.starts_with("MAIL FROM") {
                current.from = line;
                reply("250 ok")
            } else if upper.starts_with("RCPT TO") {
                current.to.push(line);
                reply("250 ok")
            } else if upper == "DATA" {
                write
                    .write_all(reply("354 go on").as_bytes())
                    .await
                    .unwrap();
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(&line);
                    data.push('\n');
                }
                current.data = data;
                let attempt = self.attempts.fetch_add(1, Ordering::SeqCst);
                if attempt < self.refuse_first {
                    // Real servers often echo the recipient in their refusal.
                    let refusal = format!(
                        "451 4.3.0 mailbox {} is busy, try again later\r\n",
                        current.to.join(", ")
                    );
                    current = Delivery::default();
                    refusal
                } else {
                    self.delivered
                        .lock()
                        .unwrap()
                        .push(std::mem::take(&mut current));
                    reply("250 queued")
                }
            } else if upper == "QUIT" {
                let _ = write.write_all(reply("221 bye").as_bytes()).await;
                return;
            } else {
                // RSET, NOOP and anything else.
                current = Delivery {
                    auth: current.auth.clone(),
                    ..Delivery::default()
                };
                reply("250 ok")
            };
            if write.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn wait_for(&self, count: usize) -> Vec<Delivery> {
        // Up to 30 s: a message queued before an outage waits out its backoff.
        for _ in 0..300 {
            let delivered = self.delivered.lock().unwrap().clone();
            if delivered.len() >= count {
                return delivered;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("nothing delivered over SMTP");
    }
}

mod mail_goes_out_over_smtp_with_credentials_and_is_retried {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::smtp_delivery(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::smtp_delivery(Backend::Postgres).await;
    }
}

async fn smtp_delivery(backend: Backend) {
    let (receiver, address) = Receiver::start(1).await;
    let url = format!("smtp://mailer:s3cret-pass@{address}");
    let Some(app) = spawn_app(
        backend,
        // The SMTP URL alone selects SMTP.
        &[
            ("SMTP_URL", &url),
            ("MAIL_FROM", "Bank Security <security@bank.example>"),
            ("PRODUCT_NAME", "Bank"),
        ],
    )
    .await
    else {
        return;
    };
    let email = unique_email();
    app.register(&email).await;

    let delivered = receiver.wait_for(1).await;
    assert_eq!(
        receiver.attempts.load(Ordering::SeqCst),
        2,
        "refused once, then retried"
    );
    let mail = &delivered[0];
    assert_eq!(
        mail.auth
            .as_deref()
            .map(|auth| STANDARD.decode(auth).unwrap()),
        Some(b"\0mailer\0s3cret-pass".to_vec())
    );
    assert!(
        mail.from.contains("<security@bank.example>"),
        "{}",
        mail.from
    );
    assert_eq!(mail.to, [format!("RCPT TO:<{email}>")]);
    assert!(
        mail.data
            .contains("Subject: Confirm your email address for Bank"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("multipart/alternative"));
    assert!(mail.data.contains("text/plain") && mail.data.contains("text/html"));
    // Nothing was written to the outbox instead.
    assert!(app.mails_to(&email).is_empty());
}

/// A refusal reaches the log by its reply code only: the server's words name the recipient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_refusals_are_logged_by_code_without_the_recipient() {
    let (receiver, address) = Receiver::start(1).await;
    let dir = crate::binary::TempDir::new("custodian-smtp");
    let database = format!("sqlite://{}/custodian.db", dir.0.display());
    let smtp = format!("smtp://{address}");
    let server = tokio::task::block_in_place(|| {
        crate::binary::start(
            &dir.0,
            &[
                ("CUSTODIAN_DATABASE_URL", database.as_str()),
                ("CUSTODIAN_SMTP_URL", smtp.as_str()),
            ],
        )
    })
    .unwrap_or_else(|log| panic!("server did not start: {log}"));
    let email = unique_email();
    let body: serde_json::Value = crate::helpers::new_client()
        .post(format!("{}/graphql", server.address))
        .json(&serde_json::json!({ "query": crate::helpers::REGISTER,
                                   "variables": { "input": crate::helpers::registration(&email) } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    crate::helpers::assert_no_errors(&body);
    let delivered = receiver.wait_for(1).await;
    assert!(delivered[0].to.iter().any(|to| to.contains(&email)));
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("reply code 451"), "{log}");
    assert!(
        !log.contains(&email),
        "the recipient reached the log: {log}"
    );
}

/// An email queued while the SMTP server is down survives the process being killed: the next
/// process sends it once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_email_survives_kill_9_and_an_smtp_outage() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = crate::binary::TempDir::new("custodian-outbox");
    let database = format!("sqlite://{}/custodian.db", dir.0.display());
    let key =
        base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let smtp = format!("smtp://127.0.0.1:{port}");
    let env = [
        ("CUSTODIAN_DATABASE_URL", database.as_str()),
        ("CUSTODIAN_ENCRYPTION_KEY", key.as_str()),
        ("CUSTODIAN_SMTP_URL", smtp.as_str()),
    ];
    let server = tokio::task::block_in_place(|| crate::binary::start(&dir.0, &env))
        .unwrap_or_else(|log| panic!("server did not start: {log}"));
    let email = unique_email();
    let post = |query: &str, variables: serde_json::Value| {
        crate::helpers::new_client()
            .post(format!("{}/graphql", server.address))
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
    };
    let registered: serde_json::Value = post(
        crate::helpers::REGISTER,
        serde_json::json!({ "input": crate::helpers::registration(&email) }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    crate::helpers::assert_no_errors(&registered);
    let reset: serde_json::Value = post(
        "mutation($email: String!) { requestPasswordReset(email: $email) }",
        serde_json::json!({ "email": email }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    crate::helpers::assert_no_errors(&reset);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("will retry"),
        "a delivery failed while SMTP was down: {log}"
    );
    drop(server); // SIGKILL: no chance to send anything on the way out

    let (receiver, _) = Receiver::start_on(&format!("127.0.0.1:{port}"), 0).await;
    let _restarted = tokio::task::block_in_place(|| crate::binary::start(&dir.0, &env))
        .unwrap_or_else(|log| panic!("server did not restart: {log}"));
    let delivered = receiver.wait_for(1).await;
    assert!(
        delivered
            .iter()
            .any(|mail| mail.to.iter().any(|to| to.contains(&email))),
        "the email queued before the kill arrived"
    );
}
