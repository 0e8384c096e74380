//! Connections that try to outlast the server, through the real binary on loopback, each
//! bounded in time: slow headers, idle keep-alive, more connections than allowed, and more
//! than the process has file descriptors for.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use crate::binary::{self, Server, TempDir};

fn start(dir: &TempDir, env: &[(&str, &str)], open_files: Option<u32>) -> Server {
    let database = format!("sqlite://{}/custodian.db", dir.0.display());
    let mut settings = vec![("CUSTODIAN_DATABASE_URL", database.as_str())];
    settings.extend_from_slice(env);
    binary::start_limited(&dir.0, &settings, open_files)
        .unwrap_or_else(|log| panic!("server did not start: {log}"))
}

fn host(server: &Server) -> String {
    server.address.trim_start_matches("http://").to_owned()
}

/// Whether the server closed `stream` within `limit` (reading gives end of file or an error).
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) => {
                return !matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

/// `GET /healthz` on a new connection; whether it answered 200 within `limit`.
fn healthy_within(host: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(mut stream) = TcpStream::connect(host) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let asked = write!(
                stream,
                "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            );
            let mut answer = String::new();
            if asked.is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn slow_headers_and_idle_connections_are_closed() {
    let dir = TempDir::new("custodian-abuse");
    let server = start(&dir, &[("CUSTODIAN_HEADER_TIMEOUT_SECS", "2")], None);
    let host = host(&server);

    // One header line every half second never finishes the request: closed at the deadline.
    let mut slow = TcpStream::connect(&host).unwrap();
    write!(slow, "GET /healthz HTTP/1.1\r\nHost: {host}\r\n").unwrap();
    let started = Instant::now();
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(8) {
        if write!(slow, "X-Slow: {}\r\n", started.elapsed().as_millis()).is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(500)) {
            cut = true;
            break;
        }
    }
    assert!(cut, "a slow-header connection was still open after 8 s");

    // A keep-alive connection answered once and then left idle is closed too.
    let mut idle = TcpStream::connect(&host).unwrap();
    write!(idle, "GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut answer = [0u8; 256];
    let read = idle.read(&mut answer).unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut idle, Duration::from_secs(6)),
        "an idle keep-alive connection was still open after 6 s"
    );
}

#[test]
fn more_connections_than_allowed_wait_their_turn() {
    let dir = TempDir::new("custodian-abuse");
    let server = start(
        &dir,
        &[
            ("CUSTODIAN_HEADER_TIMEOUT_SECS", "2"),
            ("CUSTODIAN_MAX_CONNECTIONS", "3"),
        ],
        None,
    );
    let host = host(&server);
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut stream = TcpStream::connect(&host).unwrap();
            write!(stream, "GET /healthz HTTP/1.1\r\n").unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The fourth waits while three are held...
    let mut fourth = TcpStream::connect(&host).unwrap();
    write!(
        fourth,
        "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_millis(800)))
        .unwrap();
    let mut early = [0u8; 64];
    assert!(
        fourth.read(&mut early).is_err(),
        "a fourth connection was served while three were held"
    );
    // ...and is served once the held ones reach their deadline.
    fourth
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let mut answer = String::new();
    let _ = fourth.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
}

#[test]
fn running_out_of_file_descriptors_does_not_stop_the_server() {
    let dir = TempDir::new("custodian-abuse");
    let server = start(&dir, &[("CUSTODIAN_HEADER_TIMEOUT_SECS", "2")], Some(96));
    let host = host(&server);
    // More idle sockets than the process can hold: accepting fails until they are closed.
    let flood: Vec<TcpStream> = (0..150)
        .filter_map(|_| TcpStream::connect(&host).ok())
        .collect();
    assert!(flood.len() > 96, "the flood connected ({})", flood.len());
    assert!(
        healthy_within(&host, Duration::from_secs(15)),
        "the server did not serve again: {}",
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
    drop(flood);
    assert!(healthy_within(&host, Duration::from_secs(5)));
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(
        log.contains("cannot accept a connection"),
        "the flood did exhaust the descriptors: {log}"
    );
}
