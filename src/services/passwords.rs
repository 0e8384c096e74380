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
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier,
    Version,
};
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, oneshot};
use zeroize::Zeroizing;

use crate::{
    crypto::random_token,
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
    /// Verified against when an email is unknown, so that answer takes as long as a wrong
    /// password and reveals nothing.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub async fn new() -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
            .map_err(|err| anyhow!("argon2 parameters: {err}"))?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut hasher = Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            workers: start_workers(cores)?,
            capacity: cores,
            waiting: Arc::default(),
            dummy_hash: Arc::from(""),
        };
        let dummy = random_token();
        hasher.dummy_hash = hasher
            .run(move |argon2| hash_with(&argon2, dummy.expose_secret()))
            .await
            .context("cannot compute the dummy password hash")??
            .into();
        Ok(hasher)
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: &NewPassword) -> AppResult<String> {
        let secret = Zeroizing::new(password.expose().to_owned());
        self.run(move |argon2| hash_with(&argon2, &secret)).await?
    }

    /// Checks `attempt` against `stored`, or against the dummy hash when there is no account,
    /// so both cases cost the same.
    pub async fn verify(
        &self,
        attempt: &PasswordAttempt,
        stored: Option<&str>,
    ) -> AppResult<Verified> {
        let secret = Zeroizing::new(attempt.expose().to_owned());
        let exists = stored.is_some();
        let phc: Arc<str> = stored.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let params = self.params.clone();
        let verified = self
            .run(move |argon2| {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return Verified::No;
                };
                if argon2.verify_password(secret.as_bytes(), &parsed).is_err() || !exists {
                    return Verified::No;
                }
                Verified::Yes {
                    needs_rehash: !uses_current_parameters(&parsed, &params),
                }
            })
            .await?;
        Ok(verified)
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
    async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(Argon2<'static>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let queued = Queued::join(&self.waiting);
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .context("password hashing pool closed")?;
        drop(queued);
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let span = tracing::Span::current();
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _entered = span.enter();
            let _permit = permit;
            let _ = reply.send(work(argon2));
        });
        self.workers
            .send(job)
            .map_err(|_| anyhow!("password hashing threads stopped"))?;
        Ok(answer.await.context("password hashing task failed")?)
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Starts `count` threads that run hashing jobs. A fixed set of threads, rather than tokio's
/// growing blocking pool, keeps the 19 MiB working memory of each hash in a fixed number of
/// allocator arenas: memory stays flat however long a login flood lasts.
fn start_workers(count: usize) -> anyhow::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok(job) = next else { return };
                    // A panicking job must not take the thread with it.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })
            .context("cannot start a password hashing thread")?;
    }
    Ok(sender)
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> AppResult<String> {
    argon2
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(anyhow!("argon2 hashing failed: {err}")))
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
        PasswordAttempt::parse(text).expect("short")
    }

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let hasher = PasswordHasher::new().await.expect("hasher");
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
    async fn weaker_parameters_ask_for_a_rehash() {
        let hasher = PasswordHasher::new().await.expect("hasher");
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).expect("params"),
        );
        let old = hash_with(&weak, "correct horse battery staple").expect("hash");
        let verdict = hasher
            .verify(&attempt("correct horse battery staple"), Some(&old))
            .await
            .expect("verify");
        assert_eq!(verdict, Verified::Yes { needs_rehash: true });
    }
}
