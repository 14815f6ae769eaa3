//! The core hostile cases over HTTP/2 (issue 11, item 5): h2c with prior knowledge against
//! `org-server` (axum, served by hyper-util's auto builder, which speaks HTTP/1.1 and h2c).
//!
//! `org-server-actix` is not tested here: actix-web serves HTTP/2 only over TLS (ALPN), not h2c
//! with prior knowledge on a plain socket, so there is no HTTP/2 to test on loopback.
//!
//! The client is the `h2` crate, so the frames carry exactly the fields given: `:authority` and no
//! `host`, a cookie split across several `cookie` fields (RFC 9113 §8.2.3 lets a client do so),
//! several `origin` fields.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::raw::exchange;
use common::Proc;
use http::{Method, Request};

const SERVER: &str = env!("CARGO_BIN_EXE_org-server");
const T: &str = "http://localhost:8081";
const E: &str = "https://evil.example";
const API_TOKEN: &str = "00example-api-token";
const ADA_TOKEN: &str = "at-ada-example";

/// An answer over HTTP/2.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The only value of `name`, if any.
    fn one(&self, name: &str) -> Option<&str> {
        let all: Vec<_> = self.headers.get_all(name).iter().collect();
        assert!(all.len() <= 1, "several `{name}` fields: {all:?}");
        all.first().map(|v| v.to_str().expect("a text value"))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    fn reason(&self) -> Option<&str> {
        self.one("x-trusted-cors-reason")
    }
}

/// One HTTP/2 connection with prior knowledge.
struct H2 {
    send: h2::client::SendRequest<bytes::Bytes>,
    /// `127.0.0.1:port`.
    addr: String,
}

impl H2 {
    async fn connect(addr: &str) -> H2 {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (send, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        H2 {
            send,
            addr: addr.to_owned(),
        }
    }

    /// Sends `method path` with `fields` (repeats kept as separate fields) to `authority`
    /// (default: the server's address), and reads the whole answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        authority: Option<&str>,
        fields: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let authority = authority.unwrap_or(&self.addr);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{authority}{path}"));
        for (name, value) in fields {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(()).expect("a request");
        let mut send = self.send.clone().ready().await.expect("ready");
        let (response, mut stream) = send.send_request(request, body.is_none()).expect("send");
        if let Some(body) = body {
            stream
                .send_data(bytes::Bytes::from(body.to_owned()), true)
                .expect("send body");
        }
        let response = response.await.expect("a response");
        let (parts, mut recv) = response.into_parts();
        let mut body = Vec::new();
        while let Some(chunk) = recv.data().await {
            let chunk = chunk.expect("body");
            let _ = recv.flow_control().release_capacity(chunk.len());
            body.extend_from_slice(&chunk);
        }
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

fn config() -> (tempfile::TempDir, PathBuf) {
    config_named("axum")
}

fn config_named(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = common::temp_dir(&format!("h2-{name}"));
    let path = dir.path().join("org.toml");
    std::fs::write(&path, trusted_cors_examples::DEFAULT_CONFIG).unwrap();
    (dir, path)
}

/// Signs ada@example.com in (over HTTP/1.1) and returns the `sid` value.
fn sign_in(addr: &str) -> String {
    let body = "login=ada%40example.com&password=correct+horse+battery+staple";
    let answer = exchange(
        addr,
        format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 303);
    let cookie = answer.one("set-cookie").expect("a session cookie");
    cookie
        .strip_prefix("sid=")
        .and_then(|c| c.split(';').next())
        .expect("sid=")
        .to_owned()
}

const ME: &str = "/api/v1/users/me";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_cases_over_h2c() {
    let started = Instant::now();
    let (dir, config) = config();
    let (proc, base) = Proc::start_org(SERVER, &config, &["--store", "memory"]);
    let addr = base.trim_start_matches("http://").to_owned();
    let sid = sign_in(&addr);
    let sid_cookie = format!("sid={sid}");
    let own_origin = format!("http://{addr}");
    let bearer = format!("Bearer {ADA_TOKEN}");
    let ssws = format!("SSWS {API_TOKEN}");
    let h2 = H2::connect(&addr).await;

    // The profile as the session sees it, read over h2 with no Origin.
    let profile = || async {
        let answer = h2
            .send(
                Method::GET,
                ME,
                None,
                &[("cookie", sid_cookie.as_str())],
                None,
            )
            .await;
        assert_eq!(
            answer.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.json()["profile"]["firstName"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let update =
        |name: &str| format!(r#"{{"profile":{{"firstName":"{name}","lastName":"Lovelace"}}}}"#);

    // A CORS request from the trusted origin, with the session cookie: answered, with
    // credentials.
    let answer = h2
        .send(
            Method::GET,
            ME,
            None,
            &[("origin", T), ("cookie", &sid_cookie)],
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.one("access-control-allow-origin"), Some(T));
    assert_eq!(answer.one("access-control-allow-credentials"), Some("true"));
    assert_eq!(answer.json()["profile"]["login"], "ada@example.com");

    // Same-origin by `:authority` (there is no `host` field in HTTP/2): a write passes
    // untouched.
    let answer = h2
        .send(
            Method::PUT,
            ME,
            None,
            &[("origin", &own_origin), ("cookie", &sid_cookie)],
            Some(&update("SameOrigin")),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer);
    assert_eq!(answer.one("access-control-allow-origin"), None);
    assert_eq!(answer.reason(), None);
    assert_eq!(profile().await, "SameOrigin");

    // The same Origin to another `:authority` is cross-origin: the write is refused, nothing
    // changes.
    let answer = h2
        .send(
            Method::PUT,
            ME,
            Some("other.example"),
            &[("origin", &own_origin), ("cookie", &sid_cookie)],
            Some(&update("OtherAuthority")),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("untrusted_cross_origin_write"));
    assert_eq!(answer.one("access-control-allow-origin"), None);
    assert_eq!(profile().await, "SameOrigin");

    // A cookie split across several `cookie` fields (RFC 9113 §8.2.3): the session is found
    // wherever its field is, and from the trusted origin the answer allows credentials.
    for origin in [None, Some(T)] {
        let mut fields = vec![("cookie", "theme=dark"), ("cookie", sid_cookie.as_str())];
        fields.extend(origin.map(|o| ("origin", o)));
        let answer = h2.send(Method::GET, ME, None, &fields, None).await;
        assert_eq!(
            answer.status,
            200,
            "split cookie from {origin:?}: {:?}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.json()["profile"]["login"], "ada@example.com");
        assert_eq!(answer.one("access-control-allow-origin"), origin);
    }

    // Cookies in any `cookie` field count as cookies: a bearer write from an untrusted origin
    // with a cookie in a second field is refused.
    let answer = h2
        .send(
            Method::PUT,
            ME,
            None,
            &[
                ("origin", E),
                ("authorization", &bearer),
                ("cookie", "theme=dark"),
                ("cookie", &sid_cookie),
            ],
            Some(&update("SplitCookie")),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("untrusted_cross_origin_write"));
    assert_eq!(profile().await, "SameOrigin");

    // Several `origin` fields: malformed, never trusted, even when both are the trusted
    // origin.
    let answer = h2
        .send(
            Method::GET,
            ME,
            None,
            &[("origin", T), ("origin", T), ("cookie", &sid_cookie)],
            None,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("origin_not_trusted"));
    assert_eq!(answer.one("access-control-allow-origin"), None);
    assert_eq!(answer.one("access-control-allow-credentials"), None);
    let answer = h2
        .send(
            Method::PUT,
            ME,
            None,
            &[("origin", T), ("origin", E), ("cookie", &sid_cookie)],
            Some(&update("TwoOrigins")),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("untrusted_cross_origin_write"));
    assert_eq!(profile().await, "SameOrigin");

    // A preflight from the trusted origin is answered, without the handler.
    let answer = h2
        .send(
            Method::OPTIONS,
            ME,
            None,
            &[
                ("origin", T),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type"),
            ],
            None,
        )
        .await;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.one("access-control-allow-origin"), Some(T));
    assert_eq!(answer.one("access-control-allow-credentials"), Some("true"));
    assert_eq!(answer.one("access-control-allow-methods"), Some("GET, PUT"));

    // A preflight from elsewhere, and one to a route that declared nothing: refused with a
    // reason.
    let answer = h2
        .send(
            Method::OPTIONS,
            ME,
            None,
            &[("origin", E), ("access-control-request-method", "PUT")],
            None,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("origin_not_trusted"));
    assert_eq!(answer.one("access-control-allow-origin"), None);
    assert_eq!(answer.json()["errorCode"], "E0000006");
    let answer = h2
        .send(
            Method::OPTIONS,
            "/api/v1/trustedOrigins",
            None,
            &[("origin", T), ("access-control-request-method", "POST")],
            None,
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("route_not_cors_enabled"));

    // Bearer tokens from any origin on /users/me; API tokens from a browser never.
    let answer = h2
        .send(
            Method::GET,
            ME,
            None,
            &[("origin", E), ("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.one("access-control-allow-origin"), Some(E));
    assert_eq!(answer.one("access-control-allow-credentials"), None);
    let listed = || async {
        h2.send(
            Method::GET,
            "/api/v1/trustedOrigins",
            None,
            &[("authorization", &ssws)],
            None,
        )
        .await
        .json()
        .as_array()
        .map(Vec::len)
    };
    let before = listed().await;
    let answer = h2
        .send(
            Method::POST,
            "/api/v1/trustedOrigins",
            None,
            &[("origin", E), ("authorization", &ssws)],
            Some(r#"{"name":"Evil","origin":"https://evil.example","scopes":[{"type":"CORS"}]}"#),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("api_token_cross_origin"));
    assert_eq!(listed().await, before);

    // No Origin, but fetch metadata says another site: an unsafe request is refused.
    let answer = h2
        .send(
            Method::PUT,
            ME,
            None,
            &[("sec-fetch-site", "cross-site"), ("cookie", &sid_cookie)],
            Some(&update("NoOrigin")),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.reason(), Some("untrusted_cross_origin_write"));
    assert_eq!(profile().await, "SameOrigin");

    // A `host` field naming another authority than `:authority` is malformed (RFC 9113
    // §8.3.1), refused before the CORS layers, whose same-origin fallback reads `host` first:
    // otherwise it would make a forged `Origin` same-origin.
    let answer = h2
        .send(
            Method::PUT,
            ME,
            None,
            &[
                ("host", "evil.example"),
                ("origin", "http://evil.example"),
                ("cookie", &sid_cookie),
            ],
            Some(&update("ForgedHost")),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.one("access-control-allow-origin"), None);
    assert_eq!(profile().await, "SameOrigin");
    // A `host` field equal to `:authority` is fine.
    let answer = h2
        .send(
            Method::PUT,
            ME,
            None,
            &[
                ("host", &addr),
                ("origin", &own_origin),
                ("cookie", &sid_cookie),
            ],
            Some(&update("HostField")),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(profile().await, "HostField");

    assert!(!proc.log().contains("panicked"), "{}", proc.log());
    drop(proc);
    drop(dir);
    println!("h2c cases in {:?}", started.elapsed());
}

/// The reason the actix-web example is not tested over HTTP/2: it does not speak h2c with prior
/// knowledge (actix-web's `HttpServer::bind` serves HTTP/1.x on plain TCP), so the connection
/// fails. If this starts to pass, run `core_cases_over_h2c` against it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_example_does_not_speak_h2c() {
    let (dir, config) = config_named("actix");
    let (proc, base) = Proc::start_org(
        env!("CARGO_BIN_EXE_org-server-actix"),
        &config,
        &["--store", "memory"],
    );
    let addr = base.trim_start_matches("http://");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let answered = match h2::client::handshake(tcp).await {
        Err(_) => false,
        Ok((send, connection)) => {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let request = Request::builder()
                .uri(format!("http://{addr}/health"))
                .body(())
                .expect("a request");
            match send.ready().await {
                Err(_) => false,
                Ok(mut send) => match send.send_request(request, true) {
                    Err(_) => false,
                    Ok((response, _)) => response.await.is_ok(),
                },
            }
        }
    };
    assert!(
        !answered,
        "org-server-actix answered over h2c: test it in core_cases_over_h2c"
    );
    drop(proc);
    drop(dir);
}
