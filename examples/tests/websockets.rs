//! The events WebSocket (`GET /api/v1/users/me/events`) on BOTH example servers, over loopback:
//! handshakes written as exact bytes on a Tokio `TcpStream` and judged by their status line,
//! then, once upgraded, the frames read with tokio-tungstenite on the same connection.
//!
//! The guard's global rule: a handshake without `Origin` or from the org itself passes; one from
//! an ACTIVE trusted origin with the CORS scope passes; any other origin (`null`, several
//! `Origin` fields, an origin added and then deactivated) is refused with 403 and the reason
//! `websocket_origin_not_trusted`, cookies or not. Then the org's own authentication: the session
//! cookie or an access token, else the error of `GET /api/v1/users/me`, before any upgrade.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Proc;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_org-server"),
    env!("CARGO_BIN_EXE_org-server-actix"),
];
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/org.toml");
const EVENTS: &str = "/api/v1/users/me/events";
/// The admin console's socket.
const CONSOLE_EVENTS: &str = "/admin/trusted-origins/events";
/// The shipped configuration's trusted origin (CORS, REDIRECT).
const TRUSTED: &str = "http://localhost:8081";
const EVIL: &str = "https://evil.example";
const API_TOKEN: &str = "00example-api-token";
const ADA_TOKEN: &str = "at-ada-example";
const REASON: &str = "websocket_origin_not_trusted";
/// RFC 6455's example key, and the `Sec-WebSocket-Accept` it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// A handshake's own fields, as browsers send them.
const UPGRADE: [&str; 2] = ["Upgrade: websocket", "Connection: Upgrade"];
/// How long a frame or an answer may take to arrive.
const WAIT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<TcpStream>;

/// The answer to a handshake: the status and head, and the body of a refusal or the socket.
struct Answer {
    status: u16,
    head: String,
    body: Value,
    socket: Option<Socket>,
}

impl Answer {
    /// The one value of `name` in the head, if any.
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        assert!(values.len() <= 1, "several {name}: {}", self.head);
        values.first().map(|v| (*v).to_owned())
    }
}

/// Writes a handshake for the events socket to `host` (`127.0.0.1:port`): `GET`, `Host`, the key
/// and version, then `lines` as they are. Reads the status line and head; a 101 gives the socket
/// (with anything already read after the head), any other status its body.
async fn handshake(host: &str, lines: &[&str]) -> Answer {
    handshake_to(host, EVENTS, lines).await
}

/// [`handshake`] to `path`.
async fn handshake_to(host: &str, path: &str, lines: &[&str]) -> Answer {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
    );
    for line in lines {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(host).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut received = Vec::new();
    let end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_some(&mut stream, &mut received).await;
    };
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {head}"));
    let mut answer = Answer {
        status,
        head,
        body: Value::Null,
        socket: None,
    };
    let rest = received.split_off(end);
    if status == 101 {
        assert_eq!(
            answer.header("sec-websocket-accept").as_deref(),
            Some(ACCEPT)
        );
        let socket = WebSocketStream::from_partially_read(stream, rest, Role::Client, None).await;
        answer.socket = Some(socket);
        return answer;
    }
    let length: usize = answer
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("a refusal without Content-Length: {}", answer.head));
    let mut body = rest;
    while body.len() < length {
        read_some(&mut stream, &mut body).await;
    }
    answer.body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer
}

async fn read_some(stream: &mut TcpStream, into: &mut Vec<u8>) {
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buffer))
        .await
        .expect("an answer in time")
        .expect("read");
    assert!(read > 0, "closed after {:?}", String::from_utf8_lossy(into));
    into.extend_from_slice(&buffer[..read]);
}

/// The next text frame, as JSON, past any ping (answered as it is read) and pong.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).expect("JSON"),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            other => panic!("no text frame: {other:?}"),
        }
    }
}

/// A running org server and a session of ada@example.com on it.
struct Org {
    name: &'static str,
    proc: Proc,
    base: String,
    host: String,
    sid: String,
}

impl Org {
    async fn start(server: &'static str) -> Org {
        Org::start_with(server, Path::new(CONFIG)).await
    }

    /// Starts `server` with the configuration file `config`, its trusted origins in memory.
    async fn start_with(server: &'static str, config: &Path) -> Org {
        let (proc, base) = Proc::start_org(server, config, &["--store", "memory"]);
        let host = base.trim_start_matches("http://").to_owned();
        let name = if server.ends_with("actix") {
            "actix"
        } else {
            "axum"
        };
        let sid = sign_in(&base).await;
        Org {
            name,
            proc,
            base,
            host,
            sid,
        }
    }

    fn cookie(&self) -> String {
        format!("Cookie: theme=dark; sid={}", self.sid)
    }

    /// Signs the session out, as another tab would.
    async fn sign_out(&self) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let signed_out = client
            .post(format!("{}/logout", self.base))
            .header("cookie", format!("sid={}", self.sid))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_out.status(), 303, "{}: sign-out", self.name);
    }

    /// A handshake with the browser's `Upgrade` and `Connection`, and `lines`.
    async fn open(&self, lines: &[&str]) -> Answer {
        handshake(&self.host, &[&UPGRADE[..], lines].concat()).await
    }

    /// A handshake that must open: `101`, then ada@example.com's profile. The socket.
    async fn open_with_profile(&self, lines: &[&str]) -> Socket {
        let answer = self.open(lines).await;
        assert_eq!(answer.status, 101, "{}: {}", self.name, answer.head);
        let mut socket = answer.socket.unwrap();
        assert_eq!(
            next_json(&mut socket).await["profile"]["login"],
            "ada@example.com"
        );
        socket
    }

    /// The Trusted Origins API with the API token.
    async fn api(&self, path: &str, body: Option<Value>) -> Value {
        let client = reqwest::Client::new();
        let request = match body {
            Some(body) => client.post(format!("{}{path}", self.base)).json(&body),
            None => client.post(format!("{}{path}", self.base)),
        };
        let response = request
            .header("authorization", format!("SSWS {API_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}: POST {path}", self.name);
        response.json().await.unwrap()
    }
}

/// Signs in as ada@example.com; returns the session id.
async fn sign_in(base: &str) -> String {
    sign_in_as(base, "ada@example.com", "correct horse battery staple").await
}

/// Signs in as `login`; returns the session id.
async fn sign_in_as(base: &str, login: &str, password: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(format!("{base}/login"))
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie
        .strip_prefix("sid=")
        .and_then(|c| c.split(';').next())
        .expect("sid=")
        .to_owned()
}

/// What a handshake must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 101, then the profile.
    Profile,
    /// 403 from the guard, with the reason `websocket_origin_not_trusted`.
    Refused,
    /// The org's own error (no upgrade, no CORS reason): status and Okta error code.
    Error(u16, &'static str),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_are_judged_by_their_origin_on_both_servers() {
    for server in SERVERS {
        let org = Org::start(server).await;
        let cookie = org.cookie();
        let bearer = format!("Authorization: Bearer {ADA_TOKEN}");
        let same_origin = format!("Origin: http://{}", org.host);
        let trusted = format!("Origin: {TRUSTED}");
        let evil = format!("Origin: {EVIL}");
        let me = reqwest::Client::new()
            .get(format!("{}/api/v1/users/me", org.base))
            .header("authorization", format!("Bearer {ADA_TOKEN}"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let cases: Vec<(&str, Vec<&str>, Expect)> = vec![
            // Clients other than browsers send no Origin.
            ("no Origin, session", vec![&cookie], Expect::Profile),
            ("no Origin, access token", vec![&bearer], Expect::Profile),
            ("no Origin, nothing", vec![], Expect::Error(403, "E0000005")),
            (
                "no Origin, a wrong token",
                vec!["Authorization: Bearer at-nobody"],
                Expect::Error(401, "E0000011"),
            ),
            (
                "same origin, session",
                vec![&same_origin, &cookie],
                Expect::Profile,
            ),
            ("trusted, session", vec![&trusted, &cookie], Expect::Profile),
            (
                "trusted, no session",
                vec![&trusted],
                Expect::Error(403, "E0000005"),
            ),
            // Cross-site WebSocket hijacking: the cookie comes along, the socket never opens.
            ("untrusted, session", vec![&evil, &cookie], Expect::Refused),
            ("untrusted, nothing", vec![&evil], Expect::Refused),
            (
                "untrusted, access token",
                vec![&evil, &bearer],
                Expect::Refused,
            ),
            (
                "null, session",
                vec!["Origin: null", &cookie],
                Expect::Refused,
            ),
            (
                "the trusted origin with a trailing slash",
                vec!["Origin: http://localhost:8081/", &cookie],
                Expect::Refused,
            ),
            (
                "two Origin fields, both trusted",
                vec![&trusted, &trusted, &cookie],
                Expect::Refused,
            ),
            (
                "two Origin fields, trusted then not",
                vec![&trusted, &evil, &cookie],
                Expect::Refused,
            ),
        ];
        for (name, lines, expect) in cases {
            let answer = org.open(&lines).await;
            check(&org, name, answer, expect, &me).await;
        }
        // Firefox's `Connection: keep-alive, Upgrade` and other spellings are judged the same.
        for (upgrade, connection) in [
            ("Upgrade: WebSocket", "Connection: keep-alive, Upgrade"),
            ("Upgrade: WEBSOCKET", "Connection: upgrade"),
            ("Upgrade: websocket", "Connection: Upgrade, HTTP2-Settings"),
        ] {
            for (origin, expect) in [(&trusted, Expect::Profile), (&evil, Expect::Refused)] {
                let lines = [upgrade, connection, origin, &cookie];
                let answer = handshake(&org.host, &lines).await;
                let name = format!("{upgrade} / {connection} / {origin}");
                check(&org, &name, answer, expect, &me).await;
            }
        }
        // Not a handshake at all: the org's answer, not a socket.
        let answer = handshake(&org.host, &[&cookie]).await;
        check(
            &org,
            "no Upgrade",
            answer,
            Expect::Error(400, "E0000001"),
            &me,
        )
        .await;
        // Each refusal is logged with its reason and origin.
        org.proc.wait_for_log(&[REASON, &format!("origin={EVIL}")]);
        println!("{}: every handshake judged as expected", org.name);
    }
}

async fn check(org: &Org, name: &str, answer: Answer, expect: Expect, me: &Value) {
    let at = format!("{}: {name}", org.name);
    match expect {
        Expect::Profile => {
            assert_eq!(answer.status, 101, "{at}: {}{}", answer.head, answer.body);
            let mut socket = answer.socket.expect("a socket");
            assert_eq!(&next_json(&mut socket).await, me, "{at}: the profile");
            socket.close(None).await.unwrap();
        }
        Expect::Refused => {
            assert_eq!(answer.status, 403, "{at}: {}", answer.head);
            assert_eq!(answer.body["reason"], REASON, "{at}: {}", answer.body);
            assert_eq!(answer.body["errorCode"], "E0000006", "{at}");
            assert_eq!(
                answer.header("x-trusted-cors-reason").as_deref(),
                Some(REASON)
            );
            assert_eq!(answer.header("upgrade"), None, "{at}");
        }
        Expect::Error(status, code) => {
            assert_eq!(
                answer.status, status,
                "{at}: {}{}",
                answer.head, answer.body
            );
            assert_eq!(answer.body["errorCode"], code, "{at}: {}", answer.body);
            assert_eq!(answer.body.get("reason"), None, "{at}: {}", answer.body);
            assert_eq!(answer.header("upgrade"), None, "{at}");
        }
    }
}

/// Retries `handshake` until its status is `status`, for at most a second; returns how long it
/// took and the last answer.
async fn within_a_second(org: &Org, lines: &[&str], status: u16) -> (Duration, Answer) {
    let start = Instant::now();
    loop {
        let answer = org.open(lines).await;
        if answer.status == status || start.elapsed() > Duration::from_secs(1) {
            return (start.elapsed(), answer);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_added_then_deactivated_through_the_api_is_judged_live() {
    const LIVE: &str = "https://live.example";
    for server in SERVERS {
        let org = Org::start(server).await;
        let cookie = org.cookie();
        let origin = format!("Origin: {LIVE}");
        let lines = [origin.as_str(), &cookie];
        let answer = org.open(&lines).await;
        assert_eq!(answer.status, 403, "{}: before", org.name);
        assert_eq!(answer.body["reason"], REASON);

        // An origin trusted for redirects only is refused.
        let redirects = "https://redirects.example";
        let redirect_only =
            json!({ "name": "Redirects", "origin": redirects, "scopes": [{ "type": "REDIRECT" }] });
        org.api("/api/v1/trustedOrigins", Some(redirect_only)).await;
        let answer = org.open(&[&format!("Origin: {redirects}"), &cookie]).await;
        assert_eq!(answer.status, 403, "{}: REDIRECT only", org.name);
        assert_eq!(answer.body["reason"], REASON);

        // Added with the CORS scope: accepted.
        let cors = json!({ "name": "Live", "origin": LIVE, "scopes": [{ "type": "CORS" }] });
        let created = org.api("/api/v1/trustedOrigins", Some(cors)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let (took, answer) = within_a_second(&org, &lines, 101).await;
        assert_eq!(answer.status, 101, "{}: added, after {took:?}", org.name);
        let mut socket = answer.socket.unwrap();
        assert_eq!(
            next_json(&mut socket).await["profile"]["login"],
            "ada@example.com"
        );
        println!("{}: {LIVE} accepted {took:?} after it was added", org.name);

        // Deactivated: refused.
        org.api(
            &format!("/api/v1/trustedOrigins/{id}/lifecycle/deactivate"),
            None,
        )
        .await;
        let (took, answer) = within_a_second(&org, &lines, 403).await;
        assert_eq!(
            answer.status, 403,
            "{}: deactivated, after {took:?}",
            org.name
        );
        assert_eq!(answer.body["reason"], REASON);
        println!(
            "{}: {LIVE} refused {took:?} after it was deactivated",
            org.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_elsewhere_ends_the_sessions_sockets() {
    for server in SERVERS {
        let org = Org::start(server).await;
        let cookie = org.cookie();
        let trusted = format!("Origin: {TRUSTED}");
        let bearer = format!("Authorization: Bearer {ADA_TOKEN}");
        // Two sockets on the session (a trusted page's, a client's without Origin), and one on
        // the access token, which no sign-out ends.
        let mut sockets = Vec::new();
        let session_lines: [Vec<&str>; 3] = [vec![&trusted, &cookie], vec![&cookie], vec![&bearer]];
        for lines in session_lines {
            sockets.push(org.open_with_profile(&lines).await);
        }
        let mut token_socket = sockets.pop().unwrap();

        // Another tab signs out.
        org.sign_out().await;

        for mut socket in sockets {
            assert_eq!(
                next_json(&mut socket).await,
                json!({ "type": "session_ended" })
            );
            match tokio::time::timeout(WAIT, socket.next()).await {
                Ok(Some(Ok(Message::Close(Some(frame))))) => {
                    assert_eq!(frame.code, CloseCode::Normal, "{}", org.name);
                    assert_eq!(frame.reason, "session ended");
                }
                other => panic!("{}: no close frame: {other:?}", org.name),
            }
        }
        // The token's socket is still open: it answers a ping, with nothing before the pong.
        token_socket
            .send(Message::Ping("still there".into()))
            .await
            .unwrap();
        match tokio::time::timeout(WAIT, token_socket.next()).await {
            Ok(Some(Ok(Message::Pong(payload)))) => assert_eq!(&payload[..], b"still there"),
            other => panic!("{}: no pong: {other:?}", org.name),
        }
        token_socket.close(None).await.unwrap();

        // The session is over: no new socket with it.
        let answer = org.open(&[&trusted, &cookie]).await;
        assert_eq!(answer.status, 403, "{}: {}", org.name, answer.head);
        assert_eq!(answer.body["errorCode"], "E0000005");
        println!(
            "{}: sign-out ended both session sockets, not the token's",
            org.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_socket_outlives_the_idle_timeout() {
    // The server closes a connection that sends nothing for the idle timeout; a socket waiting
    // for its session to end sends nothing for long. The server's pings keep it open.
    const IDLE_MS: u64 = 300;
    let dir = common::temp_dir("websockets-idle");
    let config = dir.path().join("org.toml");
    let shipped = trusted_cors_examples::DEFAULT_CONFIG;
    assert!(shipped.contains("idle_timeout_ms = 60000"));
    let short = shipped.replace(
        "idle_timeout_ms = 60000",
        &format!("idle_timeout_ms = {IDLE_MS}"),
    );
    std::fs::write(&config, short).unwrap();
    for server in SERVERS {
        let org = Org::start_with(server, &config).await;
        let mut socket = org.open_with_profile(&[&org.cookie()]).await;
        // Five idle timeouts, reading (tungstenite answers each ping as it reads it).
        let until = tokio::time::Instant::now() + Duration::from_millis(5 * IDLE_MS);
        let mut pings = 0;
        while let Ok(frame) = tokio::time::timeout_at(until, socket.next()).await {
            match frame {
                Some(Ok(Message::Ping(_))) => pings += 1,
                other => panic!("{}: after {pings} pings: {other:?}", org.name),
            }
        }
        assert!(pings >= 4, "{}: {pings} pings", org.name);
        org.sign_out().await;
        assert_eq!(
            next_json(&mut socket).await,
            json!({ "type": "session_ended" })
        );
        println!(
            "{}: open for {} ms ({pings} pings), then ended by the sign-out",
            org.name,
            5 * IDLE_MS
        );
    }
}

/// The status line a request with `method` and a browser's handshake fields from an untrusted
/// origin, with the session, gets from `host`.
async fn status_with_method(host: &str, method: &str, cookie: &str) -> String {
    let request = format!(
        "{method} {EVENTS} HTTP/1.1\r\nHost: {host}\r\nOrigin: {EVIL}\r\n{cookie}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
    );
    let mut stream = TcpStream::connect(host).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut received = Vec::new();
    while !received.windows(2).any(|w| w == b"\r\n") {
        read_some(&mut stream, &mut received).await;
    }
    let line = String::from_utf8_lossy(&received).into_owned();
    line.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_with_handshake_fields_never_open_a_socket() {
    // Only a `GET` is upgraded (RFC 6455; both frameworks check it); the guard judges only
    // those. A `HEAD` or a lower-case `get` from an untrusted origin, with the session, gets
    // something else than `101` on both servers.
    for server in SERVERS {
        let org = Org::start(server).await;
        for method in ["HEAD", "get", "POST"] {
            let status = status_with_method(&org.host, method, &org.cookie()).await;
            assert!(
                status.starts_with("HTTP/1.1 ") && !status.contains(" 101"),
                "{}: {method}: {status}",
                org.name
            );
            println!("{}: {method} with handshake fields: {status}", org.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sockets_count_against_the_connection_cap() {
    // An open socket keeps its connection's place under `max_connections`: past the cap, a new
    // connection waits until a socket closes.
    let dir = common::temp_dir("websockets-cap");
    let config = dir.path().join("org.toml");
    let shipped = trusted_cors_examples::DEFAULT_CONFIG;
    assert!(shipped.contains("max_connections = 1024"));
    std::fs::write(
        &config,
        shipped.replace("max_connections = 1024", "max_connections = 2"),
    )
    .unwrap();
    for server in SERVERS {
        let org = Org::start_with(server, &config).await;
        let mut sockets = Vec::new();
        for _ in 0..2 {
            sockets.push(org.open_with_profile(&[&org.cookie()]).await);
        }
        let mut third = TcpStream::connect(&org.host).await.unwrap();
        third
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 64];
        let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut answer)).await;
        assert!(
            early.is_err(),
            "{}: a third connection was served past a cap of 2 while two sockets were open",
            org.name
        );
        let mut closing = sockets.pop().unwrap();
        closing.close(None).await.unwrap();
        drop(closing);
        let read = tokio::time::timeout(WAIT, third.read(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{}: not served after a socket closed", org.name))
            .unwrap();
        assert!(
            answer[..read].starts_with(b"HTTP/1.1 200"),
            "{}: {}",
            org.name,
            String::from_utf8_lossy(&answer[..read])
        );
        println!(
            "{}: two open sockets held the cap of 2 until one closed",
            org.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_servers_about_handshakes() {
    let client = reqwest::Client::new();
    for server in SERVERS {
        let org = Org::start(server).await;
        let cookie = org.cookie();
        // (Explain knows no request's Host, so it cannot tell the org's own origin: the
        // same-origin handshake is in the first test.) A socket on a route that declares none is judged by the same global rule.
        for (origin, path, outcome, reason) in [
            (TRUSTED, EVENTS, "allowed", None),
            (EVIL, EVENTS, "refused", Some(REASON)),
            ("null", EVENTS, "refused", Some(REASON)),
            (EVIL, "/api/v1/users", "refused", Some(REASON)),
            (EVIL, "/health", "refused", Some(REASON)),
        ] {
            let name = format!("{}: {origin} {path}", org.name);
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("origin", origin)
                .append_pair("path", path)
                .append_pair("credentials", "true")
                .append_pair("websocket", "true")
                .finish();
            let url = format!("{}/api/v1/cors/explain?{query}", org.base);
            let why: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(why["outcome"], outcome, "{name}: {why:#}");
            assert_eq!(why["reason"].as_str(), reason, "{name}: {why:#}");
            assert_eq!(why["call"]["websocket"], true, "{name}");
            assert_eq!(
                why["preflight"],
                Value::Null,
                "{name}: no preflight for a socket"
            );
            let answer = handshake_to(
                &org.host,
                path,
                &[&UPGRADE[..], &[&format!("Origin: {origin}"), &cookie]].concat(),
            )
            .await;
            match reason {
                None => assert_eq!(answer.status, 101, "{name}: {}", answer.head),
                Some(reason) => {
                    assert_eq!(answer.status, 403, "{name}: {}", answer.head);
                    assert_eq!(
                        answer.body["reason"], reason,
                        "{name}: the server disagrees"
                    );
                }
            }
        }
    }
    // cors-explain says the same from a terminal, with the shipped configuration.
    for (origin, exit, words) in [
        (EVIL, 1, "Refused (websocket_origin_not_trusted)"),
        (TRUSTED, 0, "Allowed: the page can open this WebSocket"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cors-explain"))
            .args(["--config", CONFIG, "--store", "memory", "--origin", origin])
            .args(["--path", EVENTS, "--websocket"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(exit), "{origin}: {text}");
        assert!(
            text.starts_with(&format!("WebSocket {EVENTS} from {origin}")),
            "{text}"
        );
        assert!(text.contains(words), "{origin}: {text}");
        assert!(
            text.contains("handshake (GET with Upgrade: websocket)"),
            "{text}"
        );
        println!("cors-explain --websocket from {origin}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_message_too_large_ends_the_socket() {
    use trusted_cors_examples::events::MAX_CLIENT_MESSAGE;
    for server in SERVERS {
        let org = Org::start(server).await;
        for size in [MAX_CLIENT_MESSAGE, MAX_CLIENT_MESSAGE + 1, 1 << 20] {
            let answer = org.open(&[&org.cookie()]).await;
            assert_eq!(answer.status, 101, "{}: {}", org.name, answer.head);
            let mut socket = answer.socket.unwrap();
            next_json(&mut socket).await;
            let sent = socket.send(Message::Text("x".repeat(size).into())).await;
            // What the server does next: a small message is read and dropped, and the socket
            // answers a ping; a larger one ends the connection.
            let open = sent.is_ok() && socket.send(Message::Ping("open?".into())).await.is_ok();
            let mut pong = false;
            while open && !pong {
                match tokio::time::timeout(WAIT, socket.next()).await {
                    Ok(Some(Ok(Message::Pong(_)))) => pong = true,
                    Ok(Some(Ok(Message::Ping(_)))) => {}
                    Ok(Some(Ok(Message::Text(text)))) => panic!("{}: {text}", org.name),
                    Ok(_) => break,
                    Err(_) => panic!("{}: neither a pong nor an end", org.name),
                }
            }
            assert_eq!(
                pong,
                size <= MAX_CLIENT_MESSAGE,
                "{}: {size} bytes",
                org.name
            );
        }
        println!(
            "{}: a message over {MAX_CLIENT_MESSAGE} bytes ends the socket",
            org.name
        );
    }
}

/// A handshake for the console's socket with the browser's `Upgrade` and `Connection`, and
/// `lines`.
async fn console(org: &Org, lines: &[&str]) -> Answer {
    handshake_to(&org.host, CONSOLE_EVENTS, &[&UPGRADE[..], lines].concat()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consoles_socket_tells_an_administrator_of_each_change() {
    for server in SERVERS {
        let org = Org::start(server).await;
        let cookie = org.cookie();
        let own_page = format!("Origin: http://{}", org.host);
        let same_origin = "Sec-Fetch-Site: same-origin";
        let answer = console(&org, &[&own_page, same_origin, &cookie]).await;
        assert_eq!(answer.status, 101, "{}: {}", org.name, answer.head);
        let mut socket = answer.socket.unwrap();

        // A change through the API, with a token: the message within a second.
        let shop = json!({ "name": "Shop", "origin": "https://shop.example", "scopes": [{ "type": "CORS" }] });
        let start = Instant::now();
        let created = org.api("/api/v1/trustedOrigins", Some(shop)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let message = next_json(&mut socket).await;
        let took = start.elapsed();
        assert_eq!(message["type"], "changed", "{}: {message}", org.name);
        assert_eq!(message["action"], "create");
        assert_eq!(message["id"], id.as_str());
        assert!(
            took < Duration::from_secs(1),
            "{}: after {took:?}",
            org.name
        );
        println!(
            "{}: the console's socket told of a create {took:?} after the API call began",
            org.name
        );
        org.api(
            &format!("/api/v1/trustedOrigins/{id}/lifecycle/deactivate"),
            None,
        )
        .await;
        let message = next_json(&mut socket).await;
        assert_eq!(message["action"], "deactivate", "{}: {message}", org.name);

        // Refused before the upgrade: no session, another user's, a page elsewhere.
        let grace = sign_in_as(&org.base, "grace@example.com", "cobol forever").await;
        let grace = format!("Cookie: sid={grace}");
        let trusted = format!("Origin: {TRUSTED}");
        let evil = format!("Origin: {EVIL}");
        let bearer = format!("Authorization: SSWS {API_TOKEN}");
        let cases: Vec<(&str, Vec<&str>, Expect)> = vec![
            (
                "no session",
                vec![&own_page, same_origin],
                Expect::Error(401, "E0000011"),
            ),
            (
                "a token, which the console's socket does not read",
                vec![&bearer],
                Expect::Error(401, "E0000011"),
            ),
            (
                "not an administrator",
                vec![&own_page, same_origin, &grace],
                Expect::Error(403, "E0000006"),
            ),
            // The guard lets a trusted origin through; the console's own-pages rule does not.
            (
                "a trusted origin on the same site",
                vec![&trusted, "Sec-Fetch-Site: same-site", &cookie],
                Expect::Error(403, "E0000006"),
            ),
            // Cross-site WebSocket hijacking: the guard refuses it.
            (
                "an untrusted origin",
                vec![&evil, "Sec-Fetch-Site: cross-site", &cookie],
                Expect::Refused,
            ),
        ];
        for (name, lines, expect) in cases {
            check(
                &org,
                name,
                console(&org, &lines).await,
                expect,
                &Value::Null,
            )
            .await;
        }
        let answer = handshake_to(&org.host, CONSOLE_EVENTS, &[&cookie]).await;
        check(
            &org,
            "no Upgrade",
            answer,
            Expect::Error(400, "E0000001"),
            &Value::Null,
        )
        .await;

        // Signed out elsewhere: the socket ends.
        org.sign_out().await;
        assert_eq!(
            next_json(&mut socket).await,
            json!({ "type": "session_ended" })
        );
        println!(
            "{}: the console's socket refused every other caller",
            org.name
        );
    }
}
