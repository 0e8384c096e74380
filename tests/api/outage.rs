//! A database outage under a running instance of the real binary, on a throwaway PostgreSQL of
//! the test's own (never the shared one): requests fail fast and say so, `/readyz` says so,
//! `/healthz` stays up, and service resumes by itself when the database is back.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    binary::{self, TempDir},
    helpers::{REGISTER, new_client, registration, unique_email},
};

/// A PostgreSQL server in a folder of its own, run as the `postgres` user (PostgreSQL refuses
/// to run as root), stopped when dropped.
struct Throwaway {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

fn as_postgres(command: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false);
    let status = if root {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", command])
            .status()
    } else {
        Command::new("sh").args(["-c", command]).status()
    };
    status.is_ok_and(|status| status.success())
}

impl Throwaway {
    fn start(dir: &Path) -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("initdb").exists())?;
        let data = dir.join("pg");
        std::fs::create_dir_all(&data).ok()?;
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres", dir.to_str()?])
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let server = Self { bin, data, port };
        let initdb = format!(
            "{}/initdb -D {} -A trust -U postgres --no-sync >/dev/null",
            server.bin.display(),
            server.data.display()
        );
        (as_postgres(&initdb) && server.up()).then_some(server)
    }

    fn ctl(&self, action: &str) -> bool {
        as_postgres(&format!(
            "{}/pg_ctl -D {} -w -t 30 -m immediate -l {}/log -o '-p {} -k {} -c listen_addresses=127.0.0.1' {action} >/dev/null",
            self.bin.display(),
            self.data.display(),
            self.data.display(),
            self.port,
            self.data.display()
        ))
    }

    fn up(&self) -> bool {
        self.ctl("start")
    }

    fn down(&self) -> bool {
        self.ctl("stop")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.down();
    }
}

async fn me(address: &str, token: &str) -> (Duration, Value) {
    let started = Instant::now();
    let body = new_client()
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(20))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (started.elapsed(), body)
}

async fn status(address: &str, path: &str) -> u16 {
    new_client()
        .get(format!("{address}{path}"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map(|response| response.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_costs_errors_for_its_duration_only() {
    let dir = TempDir::new("custodian-outage");
    let Some(postgres) = tokio::task::block_in_place(|| Throwaway::start(&dir.0)) else {
        eprintln!("no PostgreSQL binaries to run a throwaway server: the outage test is skipped");
        return;
    };
    let url = postgres.url();
    let server = tokio::task::block_in_place(|| {
        binary::start(&dir.0, &[("CUSTODIAN_DATABASE_URL", url.as_str())])
    })
    .unwrap_or_else(|log| panic!("server did not start: {log}"));
    let address = server.address.clone();
    let registered: Value = new_client()
        .post(format!("{address}/graphql"))
        .json(
            &json!({ "query": REGISTER, "variables": { "input": registration(&unique_email()) } }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["data"]["register"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{registered}"))
        .to_owned();

    assert!(
        tokio::task::block_in_place(|| postgres.down()),
        "PostgreSQL stopped"
    );
    // Under load: forty requests at once each fail fast, saying why.
    let answers = futures::future::join_all((0..40).map(|_| me(&address, &token))).await;
    for (took, body) in &answers {
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["reason"], "DATABASE_UNAVAILABLE",
            "{body}"
        );
        assert!(*took < Duration::from_secs(10), "no pile-up: {took:?}");
    }
    assert_eq!(status(&address, "/readyz").await, 503);
    assert_eq!(status(&address, "/healthz").await, 200);

    assert!(
        tokio::task::block_in_place(|| postgres.up()),
        "PostgreSQL back"
    );
    let mut back = false;
    for _ in 0..60 {
        if me(&address, &token).await.1["data"]["me"]["id"].is_string() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(back, "serving again without a restart");
    assert_eq!(status(&address, "/readyz").await, 200);
}
