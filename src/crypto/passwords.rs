//! Argon2id hashing on a bounded pool of its own threads.
//!
//! Hashing costs 19 MiB and tens of milliseconds per call. Running it on the async workers
//! would stall every other request during a login flood, and running it unbounded would let
//! the flood allocate without limit; so at most one hash per core runs at a time, on one
//! thread per core, and the rest wait their turn.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
};

use anyhow::{Context, anyhow};
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::phc::{Output, ParamsString, Salt},
};
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, oneshot};
use zeroize::Zeroizing;

use super::{constant_time_eq, random_bytes, random_token};
use crate::{
    domain::{NewPassword, PasswordAttempt},
    error::{AppError, AppResult},
};

/// OWASP's first choice: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// Outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    /// Correct; `needs_rehash` when the stored hash used other parameters than today's.
    Yes {
        needs_rehash: bool,
    },
}

/// A snapshot of the hashing pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolLoad {
    pub capacity: usize,
    pub in_use: usize,
    pub waiting: usize,
}

/// Counts a caller in the queue until it is dropped, also when the caller is cancelled.
struct Queued(Arc<AtomicUsize>);

impl Queued {
    fn join(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(counter))
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Hashes and verifies passwords with Argon2id, one permit per core.
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    workers: mpsc::Sender<Job>,
    capacity: usize,
    /// Callers queued for a permit, for the metrics.
    waiting: Arc<AtomicUsize>,
    /// Callers that may wait for a turn; past them, a hash is refused at once.
    queue_limit: usize,
    /// Verified against when an email is unknown, so that answer takes as long as a wrong
    /// password and reveals nothing.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// A pool of one hashing thread per core, with at most `queue_limit` callers waiting.
    pub async fn new(queue_limit: usize) -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
            .map_err(|err| anyhow!("argon2 parameters: {err}"))?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut hasher = Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            workers: start_workers(cores)?,
            capacity: cores,
            waiting: Arc::default(),
            queue_limit,
            dummy_hash: Arc::from(""),
        };
        let dummy = random_token();
        let params = hasher.params.clone();
        hasher.dummy_hash = hasher
            .run(move |memory| hash_with(&params, memory, dummy.expose_secret()))
            .await
            .context("cannot compute the dummy password hash")??
            .into();
        Ok(hasher)
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: &NewPassword) -> AppResult<String> {
        let secret = Zeroizing::new(password.expose().to_owned());
        let params = self.params.clone();
        self.run(move |memory| hash_with(&params, memory, &secret))
            .await?
    }

    /// Checks `attempt` against `stored`, or against the dummy hash when there is no account,
    /// so both cases cost the same. An attempt too long to be anyone's password costs nothing.
    pub async fn verify(
        &self,
        attempt: &PasswordAttempt,
        stored: Option<&str>,
    ) -> AppResult<Verified> {
        let Some(secret) = attempt.expose() else {
            return Ok(Verified::No);
        };
        let secret = Zeroizing::new(secret.to_owned());
        let exists = stored.is_some();
        let phc: Arc<str> = stored.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let params = self.params.clone();
        let verified = self
            .run(move |memory| {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return Verified::No;
                };
                if !matches(&parsed, memory, secret.as_bytes()) || !exists {
                    return Verified::No;
                }
                Verified::Yes {
                    needs_rehash: !uses_current_parameters(&parsed, &params),
                }
            })
            .await?;
        Ok(verified)
    }

    /// Whether `password`, as typed, is the one `stored` was made from: the re-check before a
    /// signed-in person changes something that matters.
    pub async fn matches(&self, attempt: &PasswordAttempt, stored: &str) -> AppResult<bool> {
        Ok(self.verify(attempt, Some(stored)).await? != Verified::No)
    }

    /// How busy the pool is: hashes running, and callers waiting for a turn.
    pub fn load(&self) -> PoolLoad {
        PoolLoad {
            capacity: self.capacity,
            in_use: self.capacity - self.permits.available_permits(),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` on one of the hashing threads once a permit is free.
    ///
    /// With every thread busy and the queue full, it is refused at once (`OVERLOADED`): a flood
    /// then costs its senders their requests, and a person signing in waits behind a bounded
    /// queue, not behind the flood.
    async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(&mut Vec<Block>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let queued = Queued::join(&self.waiting);
                if queued.0.load(Ordering::Relaxed) > self.queue_limit {
                    return Err(AppError::Overloaded);
                }
                Arc::clone(&self.permits)
                    .acquire_owned()
                    .await
                    .context("password hashing pool closed")?
            }
        };
        let span = tracing::Span::current();
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _entered = span.enter();
            let _permit = permit;
            let _ = reply.send(work(memory));
        });
        self.workers
            .send(job)
            .map_err(|_| anyhow!("password hashing threads stopped"))?;
        Ok(answer.await.context("password hashing task failed")?)
    }
}

/// A hashing job, given the thread's working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Starts `count` threads that run hashing jobs. Each thread keeps one Argon2 working memory
/// (19 MiB) and reuses it for every hash: allocating it afresh per hash lets the allocator
/// keep hundreds of MiB around under a login flood, while this keeps memory flat at
/// `count` × 19 MiB however long the flood lasts.
fn start_workers(count: usize) -> anyhow::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                let mut memory = Vec::new();
                loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok(job) = next else { return };
                    // A panicking job must not take the thread with it.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                }
            })
            .context("cannot start a password hashing thread")?;
    }
    Ok(sender)
}

/// Runs Argon2 in `memory`, growing it once if these parameters need more.
fn hash_into(
    argon2: &Argon2<'_>,
    memory: &mut Vec<Block>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon2.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// A new PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a random 128-bit salt.
fn hash_with(params: &Params, memory: &mut Vec<Block>, password: &str) -> AppResult<String> {
    let failed =
        |err: &dyn std::fmt::Display| AppError::Internal(anyhow!("argon2 hashing failed: {err}"));
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = random_bytes::<16>();
    let mut out = [0u8; 32];
    hash_into(&argon2, memory, password.as_bytes(), &salt, &mut out).map_err(|err| failed(&err))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|err| failed(&err))?,
        salt: Some(Salt::new(&salt).map_err(|err| failed(&err))?),
        hash: Some(Output::new(&out).map_err(|err| failed(&err))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to `stored` under the stored algorithm, version and parameters;
/// the outputs are compared in constant time.
fn matches(stored: &PasswordHash, memory: &mut Vec<Block>, password: &[u8]) -> bool {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    hash_into(&argon2, memory, password, salt, &mut out).is_ok()
        && constant_time_eq(&out, expected.as_bytes())
}

fn uses_current_parameters(hash: &PasswordHash, current: &Params) -> bool {
    let Ok(stored) = Params::try_from(hash) else {
        return false;
    };
    hash.algorithm == ARGON2ID_IDENT
        && hash.version == Some(Version::V0x13.into())
        && stored.m_cost() == current.m_cost()
        && stored.t_cost() == current.t_cost()
        && stored.p_cost() == current.p_cost()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_password(text: &str) -> NewPassword {
        NewPassword::parse(text, "password", &[]).expect("strong")
    }

    fn attempt(text: &str) -> PasswordAttempt {
        PasswordAttempt::parse(text)
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let a = hasher
            .hash(&new_password("correct horse battery staple"))
            .await
            .expect("hash");
        let b = hasher
            .hash(&new_password("correct horse battery staple"))
            .await
            .expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        let ok = hasher
            .verify(&attempt("correct horse battery staple"), Some(&a))
            .await
            .expect("verify");
        assert_eq!(
            ok,
            Verified::Yes {
                needs_rehash: false
            }
        );
        let wrong = hasher
            .verify(&attempt("correct horse battery stapl"), Some(&a))
            .await
            .expect("verify");
        assert_eq!(wrong, Verified::No);
        let missing = hasher
            .verify(&attempt("correct horse battery staple"), None)
            .await
            .expect("verify");
        assert_eq!(missing, Verified::No);
    }

    #[tokio::test]
    async fn hashes_agree_with_the_reference_implementation() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let ours = hasher
            .hash(&new_password("correct horse battery staple"))
            .await
            .expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        let reference = Argon2::default();
        assert!(
            reference
                .verify_password(b"correct horse battery staple", &parsed)
                .is_ok()
        );
        assert!(reference.verify_password(b"wrong", &parsed).is_err());
        let theirs = reference
            .hash_password(b"correct horse battery staple")
            .expect("hash")
            .to_string();
        let verdict = hasher
            .verify(&attempt("correct horse battery staple"), Some(&theirs))
            .await
            .expect("verify");
        assert_eq!(
            verdict,
            Verified::Yes {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn weaker_parameters_ask_for_a_rehash() {
        use argon2::PasswordHasher as _;
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).expect("params"),
        );
        let old = weak
            .hash_password(b"correct horse battery staple")
            .expect("hash")
            .to_string();
        let verdict = hasher
            .verify(&attempt("correct horse battery staple"), Some(&old))
            .await
            .expect("verify");
        assert_eq!(verdict, Verified::Yes { needs_rehash: true });
    }
}
