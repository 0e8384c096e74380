//! The README's walkthrough, run as written against a fresh server of the real binary: the
//! commands a newcomer copies must keep working.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::binary::{self, TempDir};

const README: &str = include_str!("../../README.md");
const SECTION: &str = "## Try it: every flow with curl";

/// The shell blocks of the walkthrough, in order.
fn walkthrough() -> String {
    let section = README
        .split(SECTION)
        .nth(1)
        .expect("the README has the walkthrough")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    section
        .split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let script = walkthrough();
    for flow in [
        "register",
        "verifyEmail",
        "refreshToken",
        "resetPassword",
        "confirmMfa",
        "verifyMfa",
        "logout",
    ] {
        assert!(script.contains(flow), "the walkthrough shows {flow}");
    }
    let dir = TempDir::new("custodian-walkthrough");
    let database = format!("sqlite://{}/custodian.db", dir.0.display());
    std::fs::create_dir_all(dir.0.join("data")).unwrap();
    // As `cargo run` serves it: default settings, Secure cookies, mail kept in data/outbox.
    let server = binary::start(
        &dir.0.join("data"),
        &[
            ("CUSTODIAN_DATABASE_URL", database.as_str()),
            ("CUSTODIAN_COOKIE_SECURE", "true"),
        ],
    )
    .unwrap_or_else(|log| panic!("server did not start: {log}"));
    let port = server.address.rsplit(':').next().unwrap().to_owned();
    let script = format!(
        "set -euo pipefail\n{}",
        script.replace("http://localhost:8080", &format!("http://localhost:{port}"))
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the walkthrough failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
}
