//! The benchmark's floor: what a request costs with no GraphQL and no database.
//!
//! `serve` answers `POST /me` by verifying a Custodian access token (EdDSA, the key fetched
//! once from Custodian's JWKS, the same provider and checks as Custodian) and building the
//! answer from its claims; `POST /me-hs256` does the same with an HS256 token this server
//! signed; `POST /login` checks a password through Custodian's own hashing pool against
//! users held in memory and answers an HS256 token. `hash-time` prints the median time of one
//! password check at Custodian's parameters, on one thread.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, anyhow, bail};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use clap::{Parser, Subcommand};
use custodian::{
    crypto::{
        jwt,
        passwords::{PasswordHasher, Verified},
        random_bytes,
    },
    domain::{NewPassword, PasswordAttempt},
};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use uuid::Uuid;

/// As Custodian: the token type, and the clock difference tolerated.
const TOKEN_TYPE: &str = "at+jwt";
const LEEWAY_SECS: i64 = 5;
const TOKEN_TTL_SECS: i64 = 900;

#[derive(Parser)]
#[command(about = "The benchmark's floor: token checks and password hashing, no database")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /me, /me-hs256, /login and /healthz.
    Serve {
        #[arg(long, default_value = "127.0.0.1:18090")]
        listen: SocketAddr,
        /// Custodian's JWKS, fetched once at start (plain http).
        #[arg(long)]
        jwks: String,
        /// The `iss` Custodian's tokens carry (its public URL).
        #[arg(long)]
        issuer: String,
        #[arg(long, default_value = "custodian")]
        audience: String,
        /// The seeded users, one `id email` a line.
        #[arg(long)]
        users: PathBuf,
        /// Every seeded user's password.
        #[arg(long)]
        password: String,
        /// Callers that may wait for a hashing thread (as `CUSTODIAN_HASH_QUEUE`).
        #[arg(long, default_value_t = 1_000_000)]
        hash_queue: usize,
    },
    /// Print the median time, in milliseconds, of one password check at Custodian's
    /// parameters through Custodian's hashing pool, one check at a time.
    HashTime {
        #[arg(long, default_value_t = 21)]
        samples: usize,
    },
}

/// The claims of Custodian's access tokens.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: Uuid,
    sid: Uuid,
    jti: Uuid,
    iat: i64,
    exp: i64,
    role: String,
    amr: Vec<String>,
}

#[derive(Deserialize)]
struct Hs256Header {
    alg: String,
    typ: Option<String>,
}

struct User {
    id: Uuid,
    phc: String,
}

struct Floor {
    issuer: String,
    audience: String,
    /// Custodian's verifying keys by `kid`.
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    /// The key of the HS256 tokens this server signs.
    secret: [u8; 32],
    hasher: Arc<PasswordHasher>,
    by_email: HashMap<String, User>,
    emails: HashMap<Uuid, String>,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::HashTime { samples } => hash_time(samples).await,
        Command::Serve {
            listen,
            jwks,
            issuer,
            audience,
            users,
            password,
            hash_queue,
        } => {
            jwt::install();
            let keys = fetch_keys(&jwks).await?;
            let hasher = Arc::new(PasswordHasher::new(hash_queue).await?);
            let (by_email, emails) = seed(&hasher, &users, &password).await?;
            let mut validation = Validation::new(Algorithm::EdDSA);
            validation.set_audience(&[&audience]);
            validation.set_issuer(&[&issuer]);
            validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
            validation.validate_exp = false;
            let floor = Arc::new(Floor {
                issuer,
                audience,
                keys,
                validation,
                secret: random_bytes(),
                hasher,
                by_email,
                emails,
            });
            let app = Router::new()
                .route("/healthz", get(|| async { "ok" }))
                .route("/me", post(me))
                .route("/me-hs256", post(me_hs256))
                .route("/login", post(login))
                .with_state(floor);
            let listener = TcpListener::bind(listen).await?;
            axum::serve(listener, app).await?;
            Ok(())
        }
    }
}

async fn hash_time(samples: usize) -> anyhow::Result<()> {
    const PASSWORD: &str = "correct horse battery staple";
    let hasher = PasswordHasher::new(1).await?;
    let phc = hasher
        .hash(&NewPassword::parse(PASSWORD, "password", &[]).map_err(|err| anyhow!("{err}"))?)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    let attempt = PasswordAttempt::parse(PASSWORD);
    let mut times = Vec::with_capacity(samples);
    // Two checks first, to warm the thread's working memory.
    for round in 0..samples.max(1) + 2 {
        let start = Instant::now();
        let verdict = hasher
            .verify(&attempt, Some(&phc))
            .await
            .map_err(|err| anyhow!("{err}"))?;
        if verdict == Verified::No {
            bail!("the password does not match its own hash");
        }
        if round >= 2 {
            times.push(start.elapsed());
        }
    }
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    println!("{:.2}", median.as_secs_f64() * 1000.0);
    Ok(())
}

/// Fetches the JWKS over plain HTTP/1.0 (the benchmark's Custodian is on loopback) and keeps
/// its Ed25519 keys, built as Custodian builds its own.
async fn fetch_keys(url: &str) -> anyhow::Result<HashMap<String, DecodingKey>> {
    let rest = url
        .strip_prefix("http://")
        .context("--jwks must be an http:// URL")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host)
        .await
        .with_context(|| format!("cannot reach {host}"))?;
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let answer = String::from_utf8(answer).context("the JWKS answer is not UTF-8")?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .context("the JWKS answer has no body")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        bail!("{url} answered {}", head.lines().next().unwrap_or_default());
    }
    let jwks: Value = serde_json::from_str(body).context("the JWKS is not JSON")?;
    let mut keys = HashMap::new();
    for key in jwks["keys"].as_array().into_iter().flatten() {
        if key["alg"] != "EdDSA" {
            continue;
        }
        let (Some(kid), Some(x)) = (key["kid"].as_str(), key["x"].as_str()) else {
            continue;
        };
        let public = URL_SAFE_NO_PAD
            .decode(x)
            .context("a JWKS key is malformed")?;
        keys.insert(kid.to_owned(), DecodingKey::from_ed_der(&public));
    }
    if keys.is_empty() {
        bail!("{url} lists no EdDSA key");
    }
    Ok(keys)
}

type Users = (HashMap<String, User>, HashMap<Uuid, String>);

/// Reads `id email` lines and hashes the password once per user (each with its own salt, as
/// in Custodian's table), on every hashing thread at once.
async fn seed(
    hasher: &Arc<PasswordHasher>,
    path: &PathBuf,
    password: &str,
) -> anyhow::Result<Users> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let password =
        Arc::new(NewPassword::parse(password, "password", &[]).map_err(|err| anyhow!("{err}"))?);
    let mut emails = HashMap::new();
    let mut hashes = JoinSet::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let (id, email) = line
            .split_once(' ')
            .with_context(|| format!("not `id email`: {line}"))?;
        let id: Uuid = id.parse().with_context(|| format!("not a UUID: {id}"))?;
        let email = email.trim().to_owned();
        emails.insert(id, email.clone());
        let (hasher, password) = (Arc::clone(hasher), Arc::clone(&password));
        hashes.spawn(async move { (email, id, hasher.hash(&password).await) });
    }
    let mut by_email = HashMap::new();
    while let Some(joined) = hashes.join_next().await {
        let (email, id, phc) = joined?;
        let phc = phc.map_err(|err| anyhow!("{err}"))?;
        by_email.insert(email, User { id, phc });
    }
    Ok((by_email, emails))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Custodian's lifetime checks, with its leeway.
fn in_time(claims: Claims) -> Option<Claims> {
    let now = now();
    (claims.iat - LEEWAY_SECS <= now && claims.exp + LEEWAY_SECS > now).then_some(claims)
}

impl Floor {
    /// As Custodian's `access_tokens::verify`: EdDSA and `at+jwt` only, the key by `kid`
    /// among the JWKS's, then signature, issuer, audience and lifetime.
    fn verify_eddsa(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return None;
        }
        let key = self.keys.get(header.kid.as_deref()?)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .ok()?
            .claims;
        in_time(claims)
    }

    /// The same checks for an HS256 token signed with this server's secret.
    fn verify_hs256(&self, token: &str) -> Option<Claims> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        let header: Hs256Header =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.alg != "HS256" || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return None;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).ok()?;
        mac.update(signed.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
            .ok()?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (claims.iss == self.issuer && claims.aud == self.audience).then_some(())?;
        in_time(claims)
    }

    fn sign_hs256(&self, account: Uuid) -> anyhow::Result<String> {
        let now = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account,
            sid: Uuid::now_v7(),
            jti: Uuid::now_v7(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            role: "USER".into(),
            amr: vec!["pwd".into()],
        };
        let header =
            URL_SAFE_NO_PAD.encode(json!({ "alg": "HS256", "typ": TOKEN_TYPE }).to_string());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
        let signed = format!("{header}.{payload}");
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)?;
        mac.update(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{signed}.{signature}"))
    }

    /// The `me` answer, from the claims and the in-memory users.
    fn me(&self, claims: Option<Claims>) -> Response {
        let Some(claims) = claims else {
            return error("UNAUTHENTICATED", "the access token is invalid or expired");
        };
        Json(json!({ "data": { "me": {
            "id": claims.sub,
            "email": self.emails.get(&claims.sub),
        } } }))
        .into_response()
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// An error as GraphQL answers it: HTTP 200, `errors`.
fn error(code: &str, message: &str) -> Response {
    Json(json!({ "data": null, "errors": [{
        "message": message,
        "extensions": { "code": code },
    }] }))
    .into_response()
}

async fn me(State(floor): State<Arc<Floor>>, headers: HeaderMap, _body: Bytes) -> Response {
    floor.me(bearer(&headers).and_then(|token| floor.verify_eddsa(token)))
}

async fn me_hs256(State(floor): State<Arc<Floor>>, headers: HeaderMap, _body: Bytes) -> Response {
    floor.me(bearer(&headers).and_then(|token| floor.verify_hs256(token)))
}

async fn login(State(floor): State<Arc<Floor>>, Json(body): Json<LoginBody>) -> Response {
    let user = floor.by_email.get(&body.email);
    let attempt = PasswordAttempt::parse(&body.password);
    let verdict = floor
        .hasher
        .verify(&attempt, user.map(|user| user.phc.as_str()))
        .await;
    match (verdict, user) {
        (Ok(Verified::Yes { .. }), Some(user)) => match floor.sign_hs256(user.id) {
            Ok(token) => {
                Json(json!({ "data": { "login": { "accessToken": token } } })).into_response()
            }
            Err(err) => error("INTERNAL_SERVER_ERROR", &err.to_string()),
        },
        (Err(err), _) => error("SERVICE_UNAVAILABLE", &err.to_string()),
        _ => error("UNAUTHENTICATED", "wrong email or password"),
    }
}
