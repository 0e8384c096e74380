//! The real `custodian` binary, run as an operator runs it: a server on loopback, stopped by
//! pid when dropped, and one-shot commands.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use uuid::Uuid;

/// A folder of its own, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server; killed and reaped when dropped.
pub struct Server {
    child: Child,
    pub address: String,
    pub log: PathBuf,
}

impl Server {
    /// Sends SIGTERM, as an orchestrator stopping it would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Kills the process at once (SIGKILL), as a crash or `kill -9` would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (at most `limit`) for the process to end; its exit status, if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The settings every run shares: a free loopback port, `dir` for data, plain-HTTP cookies.
fn command(dir: &Path, env: &[(&str, &str)]) -> Command {
    limited_command(dir, env, None)
}

/// [`command`], under a limit of `open_files` file descriptors when given.
fn limited_command(dir: &Path, env: &[(&str, &str)], open_files: Option<u32>) -> Command {
    let binary = env!("CARGO_BIN_EXE_custodian");
    let mut command = match open_files {
        Some(limit) => {
            let mut shell = Command::new("bash");
            shell.args(["-c", &format!("ulimit -n {limit} && exec \"$0\""), binary]);
            shell
        }
        None => Command::new(binary),
    };
    command
        .env("CUSTODIAN_LISTEN", "127.0.0.1:0")
        .env("CUSTODIAN_DATA_DIR", dir)
        .env("CUSTODIAN_COOKIE_SECURE", "false")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

/// Starts `custodian serve` and waits (at most 30 s) for it to say where it serves; the log
/// of a server that stopped instead is the error.
pub fn start(dir: &Path, env: &[(&str, &str)]) -> Result<Server, String> {
    start_limited(dir, env, None)
}

/// [`start`] from an async test: the server, or a panic with its log.
pub fn start_in_test(dir: &TempDir, env: &[(&str, &str)]) -> Server {
    tokio::task::block_in_place(|| start(&dir.0, env))
        .unwrap_or_else(|log| panic!("server did not start: {log}"))
}

/// A fresh master key, for instances that must share one.
pub fn master_key() -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Uuid::new_v4().as_bytes().repeat(2),
    )
}

/// [`start`], with at most `open_files` file descriptors when given.
pub fn start_limited(
    dir: &Path,
    env: &[(&str, &str)],
    open_files: Option<u32>,
) -> Result<Server, String> {
    let log = dir.join(format!("server-{}.log", Uuid::now_v7().simple()));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = limited_command(dir, env, open_files)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    for _ in 0..300 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let address = text.lines().find_map(|line| {
            let rest = line.strip_prefix("Custodian is serving on ")?;
            Some(rest.split('/').take(3).collect::<Vec<_>>().join("/"))
        });
        if let Some(address) = address {
            return Ok(Server {
                child,
                address,
                log,
            });
        }
        if child.try_wait().unwrap().is_some() {
            return Err(text);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!(
        "server did not start within 30 s: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    ))
}

/// Runs one `custodian` command to completion.
pub fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env).args(args).output().unwrap()
}

/// A database for a test of the binary: a SQLite file in `dir`, or a fresh PostgreSQL database
/// (`None` without `TEST_DATABASE_URL`).
pub async fn database_url(backend: crate::helpers::Backend, dir: &TempDir) -> Option<String> {
    match backend {
        crate::helpers::Backend::Sqlite => Some(format!(
            "sqlite://{}/custodian.db?mode=rwc",
            dir.0.display()
        )),
        crate::helpers::Backend::Postgres => {
            let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                eprintln!("TEST_DATABASE_URL is not set: PostgreSQL variant skipped");
                return None;
            };
            Some(crate::helpers::create_postgres_database(&admin_url).await)
        }
    }
}

/// `binary_test!(name)` turns `async fn name(database_url: &str, dir: &TempDir)` into
/// `name::sqlite` and `name::postgres`, each with a folder and a database of its own.
#[macro_export]
macro_rules! binary_test {
    ($name:ident) => {
        mod $name {
            use $crate::{
                binary::{TempDir, database_url},
                helpers::Backend,
            };

            async fn run(backend: Backend) {
                let dir = TempDir::new(concat!("custodian-", stringify!($name)));
                if let Some(url) = database_url(backend, &dir).await {
                    super::$name(&url, &dir).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres).await;
            }
        }
    };
}
