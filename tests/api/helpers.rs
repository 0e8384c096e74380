use std::{
    path::PathBuf,
    sync::{Arc, LazyLock},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use custodian::{
    clock::ManualClock,
    config::{LogFormat, Settings},
    startup::Application,
    telemetry,
};
use reqwest::{Client, Response, header};
use serde_json::{Value, json};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        telemetry::init(LogFormat::Text);
    }
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the body of a database test on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL:
/// `db_test!(name)` turns `async fn name(app: TestApp)` into `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        db_test!($name, &[]);
    };
    ($name:ident, $settings:expr) => {
        mod $name {
            use $crate::helpers::{Backend, spawn_app};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = spawn_app(Backend::Sqlite, $settings).await {
                    super::$name(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = spawn_app(Backend::Postgres, $settings).await {
                    super::$name(app).await;
                }
            }
        }
    };
}

/// A running server on its own database, with a cookie-aware client and a movable clock.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    data_dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// `None` for PostgreSQL when `TEST_DATABASE_URL` is not set.
pub async fn spawn_app(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    LazyLock::force(&TRACING);
    let data_dir = std::env::temp_dir().join(format!("custodian-test-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&data_dir).expect("temp dir");
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}/test.db?mode=rwc", data_dir.display()),
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
                return None;
            };
            create_postgres_database(&admin_url).await
        }
    };
    let key = STANDARD.encode(Uuid::new_v4().as_bytes().repeat(2));
    let data = data_dir.display().to_string();
    let mut pairs = vec![
        ("LISTEN", "127.0.0.1:0"),
        ("DATABASE_URL", database_url.as_str()),
        ("DATA_DIR", data.as_str()),
        ("ENCRYPTION_KEY", key.as_str()),
        ("COOKIE_SECURE", "false"),
        // Links in emails, as tests read them; the server itself listens on a free port.
        ("PUBLIC_URL", "http://localhost:8080"),
        // Tests register and sign in far more often from one address than people do; the
        // per-email login limit keeps its default, which tests/api/limits.rs relies on.
        (
            "RATE_LIMITS",
            "register_ip=10000/3600,login_ip=10000/60,reset_ip=10000/3600,token_ip=10000/60,secret_account=10000/60,mfa_challenge=10000/300,mfa_account=10000/60,refresh_ip=10000/60,refresh_session=10000/60,passkey_ip=10000/60,passkey_account=10000/3600",
        ),
    ];
    pairs.extend_from_slice(extra);
    let settings = Settings::from_pairs(pairs).expect("test settings");
    let clock = Arc::new(ManualClock::new());
    let app = Application::build(settings.clone(), clock.clone())
        .await
        .expect("application builds");
    let address = format!("http://{}", app.local_addr().expect("bound"));
    tokio::spawn(app.run_until(std::future::pending()));
    Some(TestApp {
        address,
        client: new_client(),
        clock,
        settings,
        data_dir,
    })
}

pub async fn create_postgres_database(admin_url: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("custodian_test_{}", Uuid::now_v7().simple());
    let admin = Database::connect(admin_url)
        .await
        .expect("PostgreSQL at TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let base = base.rsplit_once('/').map_or(base, |(base, _)| base);
    format!("{base}/{name}")
}

/// A browser whose every request comes from `ip` (through a trusted proxy on loopback: the
/// app must trust `127.0.0.1/32`).
pub fn from_ip(ip: &str) -> Client {
    let mut headers = header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().expect("an IP address"));
    Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .expect("client")
}

/// A client with its own cookie jar: another browser.
pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

/// A unique address per call, so tests never collide.
pub fn unique_email() -> String {
    format!("user-{}@example.com", Uuid::now_v7().simple())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a GraphQL operation with this app's client (and its cookies).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(&self.client, None, query, variables).await
    }

    /// POSTs a GraphQL operation with `client`, adding a bearer token when given.
    pub async fn graphql_as(
        &self,
        client: &Client,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        self.post_graphql(client, token, query, variables)
            .await
            .json()
            .await
            .expect("JSON body")
    }

    pub async fn post_graphql(
        &self,
        client: &Client,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Response {
        let mut request = client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.send().await.expect("request sent")
    }

    /// Registers a new account with `client`; returns the `register` payload.
    pub async fn register_with(&self, client: &Client, email: &str) -> Value {
        let body = self
            .graphql_as(
                client,
                None,
                REGISTER,
                json!({ "input": registration(email) }),
            )
            .await;
        assert_no_errors(&body);
        body["data"]["register"].clone()
    }

    pub async fn register(&self, email: &str) -> Value {
        self.register_with(&self.client, email).await
    }

    /// Signs in with `client`; returns the whole response body.
    pub async fn login_with(&self, client: &Client, email: &str, password: &str) -> Value {
        self.graphql_as(
            client,
            None,
            LOGIN,
            json!({ "input": { "email": email, "password": password } }),
        )
        .await
    }

    pub async fn refresh_with(&self, client: &Client) -> Value {
        self.graphql_as(client, None, REFRESH, json!({})).await
    }

    /// `me` with a bearer token; the whole body.
    pub async fn me(&self, token: &str) -> Value {
        self.graphql_as(&new_client(), Some(token), ME, json!({}))
            .await
    }
}

/// A GraphQL request to the instance at `address` (another process, a sibling) with `client`
/// and, when given, a bearer token; `null` when the instance cannot be reached (killed).
pub async fn graphql_at(
    address: &str,
    client: &Client,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

pub fn registration(email: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace" })
}

pub const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken accessTokenExpiresAt account { id email firstName lastName role kycStatus emailVerified mfaEnabled } session { id current mfaVerified } } }";
pub const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { __typename ... on AuthPayload { accessToken account { id email } session { id } } } }";
pub const REFRESH: &str = "mutation { refreshToken { accessToken account { id } session { id } } }";
pub const ME: &str = "{ me { id email firstName lastName role } }";

pub fn assert_no_errors(body: &Value) {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {body}"))
}

/// The value of cookie `name` set by `response`, if any.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value part of a `Set-Cookie` line.
pub fn cookie_value(line: &str) -> String {
    line.split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default()
}

impl TestApp {
    /// A second instance on the same database and keys, as in a multi-instance deployment.
    pub async fn spawn_sibling(&self) -> String {
        self.try_spawn_sibling().await.expect("sibling builds")
    }

    /// [`TestApp::spawn_sibling`], or why it would not start.
    pub async fn try_spawn_sibling(&self) -> anyhow::Result<String> {
        let app = Application::build(self.settings.clone(), self.clock.clone()).await?;
        let address = format!("http://{}", app.local_addr()?);
        tokio::spawn(app.run_until(std::future::pending()));
        Ok(address)
    }

    /// A direct connection to this app's database, for grey-box checks.
    pub async fn database(&self) -> sea_orm::DatabaseConnection {
        custodian::db::connect(&self.settings.database_url)
            .await
            .expect("database")
    }

    /// Seals the events awaiting sealing, as the app's sealer does within moments: for checks
    /// that read the chain directly.
    pub async fn seal(&self) {
        let sealed =
            custodian::services::audit::seal(&self.database().await, &self.data_keys().await)
                .await
                .expect("the pending events seal");
        assert!(sealed.refused.is_empty(), "{sealed:?}");
    }

    /// The data keys this app encrypts and hashes with (the test chose its master key).
    pub async fn data_keys(&self) -> custodian::crypto::envelope::DataKeys {
        let masters = custodian::startup::master_keys(&self.settings).expect("master keys");
        custodian::services::data_keys::load(
            &self.database().await,
            masters,
            custodian::clock::Clock::now(self.clock.as_ref()),
        )
        .await
        .expect("data keys")
    }
}

impl TestApp {
    /// Runs the `custodian` binary against this app's database and keys, as an operator would.
    pub fn cli(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::{io::Write, process::Stdio};

        use secrecy::ExposeSecret;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_custodian"))
            .args(args)
            .env(
                "CUSTODIAN_DATABASE_URL",
                self.settings.database_url.expose_secret(),
            )
            .env(
                "CUSTODIAN_ENCRYPTION_KEY",
                self.settings
                    .crypto
                    .encryption_key
                    .as_ref()
                    .unwrap()
                    .expose_secret(),
            )
            .env("CUSTODIAN_DATA_DIR", &self.settings.server.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Creates an administrator with the command line and signs in; returns the access token.
    pub async fn admin_token(&self) -> String {
        let email = unique_email();
        let password = "a long admin passphrase nobody guesses";
        let output = tokio::task::block_in_place(|| {
            self.cli(
                &["admin", "create", "--email", &email],
                &format!("{password}\n"),
            )
        });
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let login = self.login_with(&new_client(), &email, password).await;
        assert_no_errors(&login);
        login["data"]["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// An email as the file transport wrote it, with its text decoded.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl SentMail {
    /// The token of the link in the email.
    pub fn token(&self) -> String {
        let start = self.text.find("token=").expect("a link with a token") + "token=".len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// Decodes quoted-printable: soft line breaks and `=XX` escapes.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every email in an outbox folder, oldest first.
pub fn outbox_mails(folder: &std::path::Path) -> Vec<SentMail> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut mails: Vec<(std::time::SystemTime, SentMail)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
        .filter_map(|entry| {
            let raw = std::fs::read_to_string(entry.path()).ok()?;
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, parse_eml(&raw)))
        })
        .collect();
    mails.sort_by_key(|(modified, _)| *modified);
    mails.into_iter().map(|(_, mail)| mail).collect()
}

fn parse_eml(raw: &str) -> SentMail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    };
    SentMail {
        to: header("To"),
        subject: header("Subject"),
        text: quoted_printable(body),
    }
}

impl TestApp {
    /// Every email in the outbox addressed to `email`, oldest first.
    pub fn mails_to(&self, email: &str) -> Vec<SentMail> {
        outbox_mails(&self.settings.mail.outbox)
            .into_iter()
            .filter(|mail| mail.to.contains(&format!("<{email}>")) || mail.to == email)
            .collect()
    }

    /// Waits (up to ten seconds) until `count` emails to `email` whose subject contains
    /// `subject` are in the outbox; returns them, oldest first.
    pub async fn wait_for_mails(&self, email: &str, subject: &str, count: usize) -> Vec<SentMail> {
        for _ in 0..100 {
            let found: Vec<SentMail> = self
                .mails_to(email)
                .into_iter()
                .filter(|mail| mail.subject.contains(subject))
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no {count} emails \"{subject}\" to {email}; outbox holds {:#?}",
            self.mails_to(email)
        );
    }

    /// The one email with `subject` to `email`.
    pub async fn wait_for_mail(&self, email: &str, subject: &str) -> SentMail {
        self.wait_for_mails(email, subject, 1).await.remove(0)
    }
}
