//! Argon2id hashing on a bounded pool of its own threads.
//!
//! Hashing costs 19 MiB and tens of milliseconds per call. Running it on the async workers
//! would stall every other request during a login flood, and running it unbounded would let
//! the flood allocate without limit; so at most one hash per core runs at a time, on one
//! thread per core, and the rest wait their turn. The hashing threads run at a lower priority
//! than the request workers: under a flood of sign-ins, authenticated requests keep their
//! latency, and hashing still gets every moment of CPU that requests leave idle.

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
};

use anyhow::{Context, anyhow};
use argon2_rust::{
    Algorithm, Argon2, Decoded, Hasher, Params, Version, decode_phc,
    params::{Memory, TagLen},
};
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, oneshot};
use zeroize::Zeroizing;

use super::{random_bytes, random_token};
use crate::{
    domain::{NewPassword, PasswordAttempt},
    error::{AppError, AppResult},
};

/// The niceness of the hashing threads (0 is the default, 19 the lowest priority): at 10, a
/// request worker that wants a core gets about nine tenths of it against a hashing thread.
const HASHING_NICENESS: i32 = 10;

/// OWASP's first choice: m = 19 MiB, t = 2, p = 1, and a 256-bit output.
const MEMORY_KIB: u64 = 19_456;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;
const OUTPUT_BYTES: u64 = 32;

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
///
/// The Argon2 implementation is `argon2-rust`: it picks its SIMD code (AVX-512, AVX2, SSE2,
/// NEON) by the CPU it runs on, so one build runs anywhere at the speed of the machine. At
/// these parameters it hashes in about half the time the `argon2` crate takes on an AVX-512
/// server, which doubles the logins a core can check per second. Its output is bit-identical:
/// hashes stored before verify unchanged, and the tests below hold it to RFC 9106 and to
/// that crate both ways.
pub struct PasswordHasher {
    argon2: Argon2,
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
        let params = Params::builder()
            .memory(Memory::kib(MEMORY_KIB))
            .passes(ITERATIONS)
            .lanes(LANES)
            .tag_len(TagLen::bytes(OUTPUT_BYTES))
            .build()
            .map_err(|err| anyhow!("argon2 parameters: {err}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut hasher = Self {
            argon2,
            permits: Arc::new(Semaphore::new(cores)),
            workers: start_workers(cores, argon2)?,
            capacity: cores,
            waiting: Arc::default(),
            queue_limit,
            dummy_hash: Arc::from(""),
        };
        let dummy = random_token();
        hasher.dummy_hash = hasher
            .run(move |worker| hash_with(worker, argon2, dummy.expose_secret()))
            .await
            .context("cannot compute the dummy password hash")??
            .into();
        Ok(hasher)
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: &NewPassword) -> AppResult<String> {
        let secret = Zeroizing::new(password.expose().to_owned());
        let argon2 = self.argon2;
        self.run(move |worker| hash_with(worker, argon2, &secret))
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
        let current = self.argon2;
        let verified = self
            .run(move |worker| {
                let Ok(parsed) = decode_phc(&phc) else {
                    return Verified::No;
                };
                if !matches(&parsed, worker, current, secret.as_bytes()) || !exists {
                    return Verified::No;
                }
                Verified::Yes {
                    needs_rehash: !uses_current_parameters(&parsed, &current),
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
        F: FnOnce(&mut Hasher) -> T + Send + 'static,
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
        let job: Job = Box::new(move |worker| {
            let _entered = span.enter();
            let _permit = permit;
            let _ = reply.send(work(worker));
        });
        self.workers
            .send(job)
            .map_err(|_| anyhow!("password hashing threads stopped"))?;
        Ok(answer.await.context("password hashing task failed")?)
    }
}

/// A hashing job, given the thread's hasher and the working memory it keeps.
type Job = Box<dyn FnOnce(&mut Hasher) + Send>;

/// Starts `count` threads that run hashing jobs. Each thread keeps one Argon2 working memory
/// (19 MiB, inside its [`Hasher`]) and reuses it for every hash: allocating it afresh per hash
/// lets the allocator keep hundreds of MiB around under a login flood, while this keeps memory
/// flat at `count` × 19 MiB however long the flood lasts. The memory is wiped after each hash.
fn start_workers(count: usize, argon2: Argon2) -> anyhow::Result<mpsc::Sender<Job>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("argon2-{index}"))
            .spawn(move || {
                yield_to_requests();
                let mut worker = argon2.hasher();
                loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok(job) = next else { return };
                    // A panicking job must not take the thread with it.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut worker)));
                }
            })
            .context("cannot start a password hashing thread")?;
    }
    Ok(sender)
}

/// Lowers the calling thread's priority to [`HASHING_NICENESS`]. Raising niceness needs no
/// privilege; if it fails anyway, hashing runs at the normal priority.
#[cfg(target_os = "linux")]
fn yield_to_requests() {
    let thread = rustix::thread::gettid();
    if let Err(err) = rustix::process::setpriority_process(Some(thread), HASHING_NICENESS) {
        tracing::warn!(error = %err, "cannot lower the priority of a password hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_requests() {}

/// A new PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a random 128-bit salt.
fn hash_with(worker: &mut Hasher, argon2: Argon2, password: &str) -> AppResult<String> {
    worker.set_argon2(argon2);
    let salt = random_bytes::<16>();
    worker
        .hash_password(password.as_bytes(), &salt)
        .map_err(|err| AppError::Internal(anyhow!("argon2 hashing failed: {err}")))
}

/// Whether `password` hashes to `stored` under the stored algorithm, version and parameters;
/// the outputs are compared in constant time. A stored hash that needs no more memory than
/// `current` runs in the thread's memory; a larger one gets memory of its own, freed after,
/// so no stored string can make a thread keep more than the current parameters need.
fn matches(stored: &Decoded, worker: &mut Hasher, current: Argon2, password: &[u8]) -> bool {
    let argon2 = Argon2::new(stored.algorithm, stored.version, stored.params);
    let (salt, hash, data) = (&stored.salt, &stored.hash, &stored.ad);
    if stored.params.memory_blocks() > current.params().memory_blocks() {
        return argon2
            .verify_with_ad(password, salt, &[], data, hash)
            .is_ok();
    }
    worker.set_argon2(argon2);
    let verdict = worker
        .verify_with_ad(password, salt, &[], data, hash)
        .is_ok();
    worker.set_argon2(current);
    verdict
}

fn uses_current_parameters(hash: &Decoded, current: &Argon2) -> bool {
    let (stored, wanted) = (&hash.params, current.params());
    hash.algorithm == Algorithm::Argon2id
        && hash.version == Version::V0x13
        && stored.memory_kib() == wanted.memory_kib()
        && stored.passes() == wanted.passes()
        && stored.lanes() == wanted.lanes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hex;

    fn new_password(text: &str) -> NewPassword {
        NewPassword::parse(text, "password", &[]).expect("strong")
    }

    fn attempt(text: &str) -> PasswordAttempt {
        PasswordAttempt::parse(text)
    }

    /// A thread's niceness, from `/proc/…/stat` (the 19th field; the 3rd follows the command).
    #[cfg(target_os = "linux")]
    fn niceness(stat: &std::path::Path) -> i32 {
        let stat = std::fs::read_to_string(stat).expect("stat");
        let (_, fields) = stat.rsplit_once(')').expect("command");
        fields
            .split_whitespace()
            .nth(16)
            .and_then(|nice| nice.parse().ok())
            .expect("niceness")
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_yield_to_requests_and_only_they_do() {
        let _hasher = PasswordHasher::new(64).await.expect("hasher");
        let mut hashing = 0;
        for task in std::fs::read_dir("/proc/self/task").expect("tasks") {
            let path = task.expect("task").path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if name.starts_with("argon2-") {
                assert_eq!(niceness(&path.join("stat")), HASHING_NICENESS, "{name}");
                hashing += 1;
            }
        }
        assert!(hashing > 0);
        assert_eq!(niceness(std::path::Path::new("/proc/thread-self/stat")), 0);
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

    /// RFC 9106, section 5.3: Argon2id with a secret and associated data, 4 lanes.
    #[test]
    fn rfc_9106_argon2id_test_vector() {
        let params = Params::builder()
            .memory(Memory::kib(32))
            .passes(3)
            .lanes(4)
            .tag_len(TagLen::bytes(32))
            .build()
            .expect("params");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let (password, salt, secret, data) = ([1u8; 32], [2u8; 16], [3u8; 8], [4u8; 12]);
        let expected = "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659";
        let mut tag = [0u8; 32];
        argon2
            .hash_into_with_ad(&password, &salt, &secret, &data, &mut tag)
            .expect("hash");
        assert_eq!(hex(&tag), expected);
        // The same through a reused working memory, as the hashing threads run it, after a
        // hash at our parameters has left that memory larger and used.
        let mut worker = argon2.hasher();
        let ours = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::builder()
                .memory(Memory::kib(MEMORY_KIB))
                .passes(ITERATIONS)
                .build()
                .expect("params"),
        );
        hash_with(&mut worker, ours, "correct horse battery staple").expect("hash");
        worker.set_argon2(argon2);
        let mut again = [0u8; 32];
        worker
            .hash_into_with_ad(&password, &salt, &secret, &data, &mut again)
            .expect("hash");
        assert_eq!(hex(&again), expected);
    }

    /// Made by the `argon2` crate (RustCrypto, 0.6.0), which hashed passwords here before:
    /// stored hashes keep verifying.
    #[tokio::test]
    async fn hashes_stored_by_the_previous_implementation_verify() {
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let current = "$argon2id$v=19$m=19456,t=2,p=1$CzBVep/E6Q4zWH2ix+wRNg$a1O5hvr4CARQEAuPlhO6f01DugWGNZJfSATE5vIKhko";
        let older = "$argon2id$v=19$m=8192,t=1,p=1$CzBVep/E6Q4zWH2ix+wRNg$Q0zUf3Ui8C6gNuYZ3H/w8X+muYWs4FgeJhhMhRnN6I8";
        let right = attempt("correct horse battery staple");
        let wrong = attempt("correct horse battery stapler");
        assert_eq!(
            hasher.verify(&right, Some(current)).await.expect("verify"),
            Verified::Yes {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify(&right, Some(older)).await.expect("verify"),
            Verified::Yes { needs_rehash: true }
        );
        assert_eq!(
            hasher.verify(&wrong, Some(current)).await.expect("verify"),
            Verified::No
        );
        assert_eq!(
            hasher.verify(&wrong, Some(older)).await.expect("verify"),
            Verified::No
        );
    }

    /// Hashes cross both ways between this implementation and the `argon2` crate.
    #[tokio::test]
    async fn hashes_agree_with_the_previous_implementation() {
        use argon2::{PasswordHash, PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let ours = hasher
            .hash(&new_password("correct horse battery staple"))
            .await
            .expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        let previous = argon2::Argon2::default();
        assert!(
            previous
                .verify_password(b"correct horse battery staple", &parsed)
                .is_ok()
        );
        assert!(previous.verify_password(b"wrong", &parsed).is_err());
        let theirs = previous
            .hash_password(b"correct horse battery staple")
            .expect("hash")
            .to_string();
        assert!(
            theirs.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{theirs}"
        );
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
        let wrong = hasher
            .verify(&attempt("correct horse battery stapl"), Some(&theirs))
            .await
            .expect("verify");
        assert_eq!(wrong, Verified::No);
    }

    /// A stored hash that needs more memory than today's parameters still verifies, on memory
    /// of its own, and asks for a rehash.
    #[tokio::test]
    async fn stronger_parameters_verify_and_ask_for_a_rehash() {
        use argon2::PasswordHasher as _;
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let stronger = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(32_768, 2, 1, None).expect("params"),
        )
        .hash_password(b"correct horse battery staple")
        .expect("hash")
        .to_string();
        let verdict = hasher
            .verify(&attempt("correct horse battery staple"), Some(&stronger))
            .await
            .expect("verify");
        assert_eq!(verdict, Verified::Yes { needs_rehash: true });
        let wrong = hasher
            .verify(&attempt("correct horse battery stapl"), Some(&stronger))
            .await
            .expect("verify");
        assert_eq!(wrong, Verified::No);
    }

    #[tokio::test]
    async fn weaker_parameters_ask_for_a_rehash() {
        use argon2::PasswordHasher as _;
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        let weak = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 1, 1, None).expect("params"),
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

    #[tokio::test]
    async fn malformed_hashes_do_not_verify() {
        let hasher = PasswordHasher::new(64).await.expect("hasher");
        for stored in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$CzBVep/E6Q4zWH2ix+wRNg",
            "$argon2id$v=19$m=19456,t=2,p=1$CzBVep/E6Q4zWH2ix+wRNg$a1O5hvr4CARQEAuPlhO6f01DugWGNZJfSATE5vIKhkp",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        ] {
            let verdict = hasher
                .verify(&attempt("correct horse battery staple"), Some(stored))
                .await
                .expect("verify");
            assert_eq!(verdict, Verified::No, "{stored}");
        }
    }
}
