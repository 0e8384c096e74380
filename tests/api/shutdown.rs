//! Stopping the real binary with SIGTERM: requests in flight finish, `/readyz` says it is
//! going, nothing new is accepted, and the process exits 0.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use serde_json::json;

use crate::{
    binary::{self, TempDir},
    helpers::{REGISTER, registration, unique_email},
};

/// Everything the server answers on `stream` until it closes the connection.
fn read_all(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    let dir = TempDir::new("custodian-shutdown");
    let database = format!("sqlite://{}/custodian.db", dir.0.display());
    let mut server = binary::start(
        &dir.0,
        &[
            ("CUSTODIAN_DATABASE_URL", database.as_str()),
            ("CUSTODIAN_SHUTDOWN_GRACE_SECS", "10"),
        ],
    )
    .unwrap_or_else(|log| panic!("server did not start: {log}"));
    let host = server.address.trim_start_matches("http://").to_owned();

    // A registration whose body is still arriving, and a readiness check whose headers are.
    let body =
        json!({ "query": REGISTER, "variables": { "input": registration(&unique_email()) } })
            .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut slow = TcpStream::connect(&host).unwrap();
    write!(
        slow,
        "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    let mut ready = TcpStream::connect(&host).unwrap();
    write!(
        ready,
        "GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(&host).is_err(),
        "no new connection is accepted once shutdown began"
    );

    ready.write_all(b"\r\n").unwrap();
    let readiness = read_all(&mut ready);
    assert!(readiness.starts_with("HTTP/1.1 503"), "{readiness}");
    assert!(readiness.contains("shutting down"), "{readiness}");

    std::thread::sleep(Duration::from_secs(1));
    slow.write_all(rest.as_bytes()).unwrap();
    let answer = read_all(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("accessToken"),
        "the registration completed: {answer}"
    );

    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("the process ends once nothing is in flight");
    assert!(status.success(), "{status:?}");
}
