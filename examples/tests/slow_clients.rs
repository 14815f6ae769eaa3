//! Both org servers as real processes: slow and idle clients are cut off by the `[server]`
//! limits (a head that never completes, a connection that sends nothing, a body that stalls, more
//! connections than the cap), and every `GET` endpoint answers `HEAD` alike on both.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::Proc;

const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_org-server"),
    env!("CARGO_BIN_EXE_org-server-actix"),
];

fn config(name: &str, limits: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = common::temp_dir(&format!("slow-{name}"));
    let path = dir.path().join("org.toml");
    let text = format!(
        "{}\nstore = \"memory\"\n\n[server]\n{limits}\n",
        // The embedded configuration up to its first table: the API token and no seeds.
        trusted_cors_examples::DEFAULT_CONFIG
            .split("\n[")
            .next()
            .unwrap()
    );
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn connect(base: &str) -> TcpStream {
    let stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
fn until_closed(mut stream: TcpStream, started: Instant) -> (String, Duration) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

const LIMITS: &str = "header_read_timeout_ms = 1000\nidle_timeout_ms = 1500\nrequest_timeout_ms = 1000\nmax_connections = 2";

#[test]
fn slow_and_idle_clients_are_cut_off() {
    for server in SERVERS {
        let (dir, config) = config("cut", LIMITS);
        let (_proc, base) = Proc::start_org(server, &config, &[]);

        // A head that never completes.
        let started = Instant::now();
        let mut partial = connect(&base);
        partial
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .unwrap();
        let (answer, after) = until_closed(partial, started);
        assert!(
            after < Duration::from_secs(4),
            "{server}: partial head kept {after:?}"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{server}: {answer}"
        );

        // A connection that sends nothing.
        let started = Instant::now();
        let (answer, after) = until_closed(connect(&base), started);
        assert!(
            after < Duration::from_secs(4),
            "{server}: idle connection kept {after:?}"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{server}: {answer}"
        );

        // A body that stalls.
        let started = Instant::now();
        let mut stalled = connect(&base);
        stalled
            .write_all(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nlogin=ada")
            .unwrap();
        let (answer, after) = until_closed(stalled, started);
        assert!(
            after < Duration::from_secs(4),
            "{server}: stalled body kept {after:?}"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{server}: {answer}"
        );
        // Cut off, not crashed: the server answers, and nothing panicked.
        let mut fine = connect(&base);
        fine.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (answer, _) = until_closed(fine, Instant::now());
        assert!(answer.starts_with("HTTP/1.1 200"), "{server}: {answer}");
        assert!(
            !_proc.log().contains("panicked"),
            "{server}: {}",
            _proc.log()
        );
        println!("{server}: partial head, idle connection and stalled body all cut off");
        drop(dir);
    }
}

#[test]
fn connections_past_the_cap_wait() {
    for server in SERVERS {
        let (dir, config) = config("cap", LIMITS);
        let (_proc, base) = Proc::start_org(server, &config, &[]);
        // Two idle connections take the two places.
        let held: Vec<TcpStream> = (0..2).map(|_| connect(&base)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let mut third = connect(&base);
        third
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (answer, after) = until_closed(third, started);
        assert!(answer.starts_with("HTTP/1.1 200"), "{server}: {answer}");
        // Served only once the idle ones were cut off.
        assert!(
            after >= Duration::from_millis(500),
            "{server}: a third connection was served at once ({after:?}) past a cap of 2"
        );
        assert!(after < Duration::from_secs(5), "{server}: {after:?}");
        drop(held);
        drop(dir);
    }
}

/// `GET` and `HEAD` give the same status on both servers, `HEAD` without a body.
#[test]
fn head_is_answered_like_get_on_both_servers() {
    let (dir, config) = config("head", "");
    let mut statuses = Vec::new();
    for server in SERVERS {
        let (_proc, base) = Proc::start_org(server, &config, &[]);
        let client = reqwest::blocking_client();
        let mut these = Vec::new();
        for path in [
            "/",
            "/login",
            "/health",
            "/api/v1/users/me",
            "/api/v1/users",
            "/api/v1/users/00u1ada",
        ] {
            let get = client(reqwest::Method::GET, &format!("{base}{path}"));
            assert_ne!(
                get.0,
                0,
                "{server} {path}: {}\n{}",
                String::from_utf8_lossy(&get.1),
                _proc.log()
            );
            let head = client(reqwest::Method::HEAD, &format!("{base}{path}"));
            assert_eq!(
                get.0, head.0,
                "{server} {path}: GET {} vs HEAD {}",
                get.0, head.0
            );
            assert!(head.1.is_empty(), "{server} {path}: HEAD has a body");
            these.push((path, get.0));
        }
        statuses.push(these);
    }
    assert_eq!(statuses[0], statuses[1], "the two servers differ");
    drop(dir);
}

mod reqwest {
    pub(crate) use ::reqwest::Method;

    /// A blocking request helper on a runtime of its own: (status, body).
    pub(crate) fn blocking_client() -> impl Fn(Method, &str) -> (u16, Vec<u8>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = ::reqwest::Client::new();
        move |method, url| {
            runtime.block_on(async {
                let response = match client.request(method, url).send().await {
                    Ok(response) => response,
                    Err(error) => return (0, format!("{error:?}").into_bytes()),
                };
                let status = response.status().as_u16();
                (status, response.bytes().await.unwrap().to_vec())
            })
        }
    }
}
