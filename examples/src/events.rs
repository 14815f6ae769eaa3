//! The org's WebSockets, and the conversation they share ([`Events::run`]):
//!
//! - `GET /api/v1/users/me/events` ([`EVENTS_PATH`]): the signed-in user's profile when it opens
//!   (the JSON of `GET /api/v1/users/me`), then `{"type":"session_ended"}` when the session it
//!   was opened with is signed out elsewhere, then a normal closure;
//! - the admin console's socket ([`CONSOLE_EVENTS_PATH`](crate::console::CONSOLE_EVENTS_PATH),
//!   [`Org::console_events`]): a message for each change of the trusted origins this instance
//!   applies, its own and other instances' ([`changed`]), [`LAGGED`] when it fell too far behind
//!   to tell them one by one, and the same end as the user's socket when the session ends.
//!
//! The user's socket is authenticated as `/api/v1/users/me` is, before the upgrade: the session
//! cookie, or an access token (`Authorization: Bearer`, from clients other than browsers, which
//! cannot set headers on a WebSocket); without either, the same Okta error as
//! `/api/v1/users/me`, and no socket. Which pages may open a socket is not decided here: the
//! guard refuses a handshake from any origin that is not an ACTIVE trusted origin with the CORS
//! scope, before this runs (neither route is declared with `websocket_from_any_origin`), so a
//! page on another site never gets a socket carrying the user's cookie.
//!
//! The two servers wrap their framework's socket in an [`EventSocket`] and hand it to
//! [`Events::run`], which holds the socket's whole conversation.

use std::future::Future;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use trusted_cors::{AppliedChange, RouteCors};

use crate::sessions::{session_id, SessionEnd};
use crate::users::{handler_ran, no_session};
use crate::{Credentials, Org, Reply};

/// The path of the user's events socket.
pub const EVENTS_PATH: &str = "/api/v1/users/me/events";

/// The largest message (and frame) a socket reads from a client, which it expects nothing
/// from: a larger one ends the socket, so a client cannot make the server buffer megabytes
/// (the frameworks' defaults are 64 KiB on actix-ws and 64 MiB on axum).
pub const MAX_CLIENT_MESSAGE: usize = 4096;

/// The message sent when the socket's session is signed out.
pub const SESSION_ENDED: &str = r#"{"type":"session_ended"}"#;

/// The message sent when the console's socket fell too far behind the changes to tell them
/// one by one (more than `SUBSCRIPTION_CAPACITY` of them at once): re-read the whole list.
pub const LAGGED: &str = r#"{"type":"lagged"}"#;

/// The message for a change of the trusted origins: its revision, what it did (`create`,
/// `replace`, `activate`, `deactivate`, `delete`) and the entry's id, e.g.
/// `{"type":"changed","revision":7,"action":"create","id":"tos…"}`. The entry itself is the
/// API's to show.
pub fn changed(change: &AppliedChange) -> String {
    let id = change
        .after
        .as_ref()
        .or(change.before.as_ref())
        .map(|o| &o.id);
    serde_json::json!({
        "type": "changed",
        "revision": change.revision,
        "action": change.action.as_str(),
        "id": id,
    })
    .to_string()
}

/// The route policy of the events socket: trusted origins with cookies, like
/// `/api/v1/users/me`; WebSocket handshakes only from them (the global rule).
pub fn events_policy() -> RouteCors {
    RouteCors::builder()
        .name("users_me_events")
        .build()
        .expect("a valid policy")
}

/// A WebSocket as the events need it; each server wraps its framework's socket in one. (Not
/// `Send`: actix-web's sockets live on one thread.)
pub trait EventSocket {
    /// Sends a text message; `false` when the connection is gone.
    fn send_text(&mut self, text: String) -> impl Future<Output = bool>;
    /// Sends a ping, which the client answers: keeps the connection from being closed as idle
    /// by the server's idle timeout, and finds a client that went away. `false` when gone.
    fn ping(&mut self) -> impl Future<Output = bool>;
    /// Waits for the client's next message and drops it (answering a ping; answering a close
    /// and returning `false`); `false` when the connection ended. Cancel-safe.
    fn receive(&mut self) -> impl Future<Output = bool>;
    /// Closes the socket normally (code 1000, reason `session ended`).
    fn close(self) -> impl Future<Output = ()>;
}

/// The close reason sent with code 1000 when the session ends.
pub const CLOSE_REASON: &str = "session ended";

/// An accepted socket, before its upgrade: what it sends first, the session it follows and the
/// changes it forwards.
#[derive(Debug)]
pub struct Events {
    /// Sent when the socket opens (the user's profile), if anything.
    first: Option<String>,
    /// `None` for an access token, which no sign-out ends.
    session: Option<SessionEnd>,
    /// The trusted origins' changes, subscribed to before the upgrade so that none made
    /// after the handshake is missed; `None` for the user's socket.
    changes: Option<broadcast::Receiver<AppliedChange>>,
    ping_every: Duration,
}

impl Events {
    /// The socket's conversation: the first message, then each change as it is applied, then
    /// `{"type":"session_ended"}` and a normal closure when the session ends; until then, pings
    /// at half the server's idle timeout, and whatever the client sends is dropped. Ends when
    /// either side closes.
    pub async fn run(self, mut socket: impl EventSocket) {
        let Events {
            first,
            session,
            mut changes,
            ping_every,
        } = self;
        // A session signed out between the handshake and the upgrade gets nothing more.
        let live = session.as_ref().is_none_or(|session| !session.has_ended());
        if let Some(first) = first.filter(|_| live) {
            if !socket.send_text(first).await {
                return;
            }
        }
        let ended = async move {
            match session {
                Some(session) => session.wait().await,
                None => std::future::pending().await,
            }
        };
        let mut ended = std::pin::pin!(ended);
        let start = tokio::time::Instant::now() + ping_every;
        let mut pings = tokio::time::interval_at(start, ping_every);
        loop {
            tokio::select! {
                // In this order: a signed-out session's socket sends no change after it, and a
                // burst of changes does not hold back the pings.
                biased;
                () = &mut ended => {
                    if socket.send_text(SESSION_ENDED.to_owned()).await {
                        socket.close().await;
                    }
                    return;
                }
                _ = pings.tick() => {
                    if !socket.ping().await {
                        return;
                    }
                }
                message = next_change(&mut changes) => {
                    // `None`: the registry is gone with the org.
                    let Some(message) = message else { return };
                    if !socket.send_text(message).await {
                        return;
                    }
                }
                open = socket.receive() => {
                    if !open {
                        return;
                    }
                }
            }
        }
    }
}

/// The message for the next change, [`LAGGED`] after changes were missed, `None` when no more
/// can come; never, without a subscription. Cancel-safe, as `recv` is.
async fn next_change(changes: &mut Option<broadcast::Receiver<AppliedChange>>) -> Option<String> {
    let Some(changes) = changes else {
        return std::future::pending().await;
    };
    match changes.recv().await {
        Ok(change) => Some(changed(&change)),
        Err(RecvError::Lagged(_)) => Some(LAGGED.to_owned()),
        Err(RecvError::Closed) => None,
    }
}

impl Org {
    /// `GET /api/v1/users/me/events`, before the upgrade: the socket to open for the caller, or
    /// the answer refusing it (the same as `GET /api/v1/users/me`'s: 403 `E0000005` without a
    /// session, 401 `E0000011` for a token that is not a user's access token).
    pub fn user_events(&self, credentials: Credentials<'_>) -> Result<Events, Reply> {
        let (index, session) = match credentials.authorization {
            Some(_) => (self.user_caller(credentials)?, None),
            // The session is looked up and followed at once, so one that ends right after is
            // still seen ending.
            None => session_id(credentials.cookie)
                .and_then(|sid| self.sessions.follow(sid))
                .map(|(index, end)| (index, Some(end)))
                .ok_or_else(|| no_session(credentials))?,
        };
        handler_ran("GET /api/v1/users/me/events", credentials.authorization);
        let profile = self.user_json(index).to_string();
        Ok(self.events(Some(profile), session, None))
    }

    /// A socket's events, pinging at half the server's idle timeout.
    pub(crate) fn events(
        &self,
        first: Option<String>,
        session: Option<SessionEnd>,
        changes: Option<broadcast::Receiver<AppliedChange>>,
    ) -> Events {
        Events {
            first,
            session,
            changes,
            ping_every: self.limits().idle_timeout() / 2,
        }
    }
}

/// The answer to a request for the socket at `path` that is not a WebSocket handshake (the
/// same on both servers, whatever their framework would say).
pub fn not_a_websocket(path: &str) -> Reply {
    Reply::error(
        400,
        "E0000001",
        "Api validation failed: WebSocket handshake",
        Some(&format!(
            "{path} is a WebSocket: open it with new WebSocket(\"ws://…{path}\"), an HTTP/1.1 GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrgConfig;
    use std::sync::{Arc, Mutex};

    /// A socket that records what is sent, and whose client closes when told to.
    #[derive(Clone, Default)]
    struct Recorder {
        sent: Arc<Mutex<Vec<String>>>,
        client_gone: Arc<tokio::sync::Notify>,
    }

    impl EventSocket for Recorder {
        async fn send_text(&mut self, text: String) -> bool {
            self.sent.lock().unwrap().push(text);
            true
        }
        async fn ping(&mut self) -> bool {
            true
        }
        async fn receive(&mut self) -> bool {
            self.client_gone.notified().await;
            false
        }
        async fn close(self) {
            self.sent.lock().unwrap().push("(closed)".to_owned());
        }
    }

    async fn org() -> Arc<Org> {
        let mut config = OrgConfig::load(None).unwrap();
        config.store = Some("memory".into());
        Org::open(config).await.unwrap()
    }

    fn sign_in(org: &Org) -> String {
        let form = crate::LoginForm {
            login: "ada@example.com".into(),
            password: "correct horse battery staple".into(),
            redirect: None,
        };
        let reply = org.login(&form, None);
        let cookie = &reply
            .headers
            .iter()
            .find(|(n, _)| n == "set-cookie")
            .unwrap()
            .1;
        cookie.split(';').next().unwrap().to_owned()
    }

    /// The credentials of a browser with the session cookie `cookie` (`sid=…`).
    fn with_session(cookie: &str) -> Credentials<'_> {
        Credentials {
            cookie: Some(cookie),
            ..Credentials::default()
        }
    }

    #[tokio::test]
    async fn a_session_ended_before_the_upgrade_gets_no_profile() {
        let org = org().await;
        let cookie = sign_in(&org);
        let credentials = with_session(&cookie);
        let events = org.user_events(credentials).unwrap();
        // Signed out between the handshake and the upgrade.
        assert_eq!(org.logout(Some(&cookie), None).status, 303);
        let socket = Recorder::default();
        events.run(socket.clone()).await;
        let sent = socket.sent.lock().unwrap().clone();
        assert_eq!(sent, [SESSION_ENDED, "(closed)"]);
    }

    #[tokio::test]
    async fn a_sign_out_elsewhere_ends_the_socket() {
        let org = org().await;
        let cookie = sign_in(&org);
        let credentials = with_session(&cookie);
        let events = org.user_events(credentials).unwrap();
        let socket = Recorder::default();
        let running = tokio::spawn(events.run(socket.clone()));
        // The profile first (a bounded wait).
        for _ in 0..1000 {
            if !socket.sent.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // Another tab signs out.
        assert_eq!(org.logout(Some(&cookie), None).status, 303);
        running.await.unwrap();
        let sent = socket.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3, "{sent:?}");
        let profile: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(profile["profile"]["login"], "ada@example.com");
        assert_eq!(sent[1..], [SESSION_ENDED, "(closed)"]);
        // The session is gone: no new socket.
        let refused = org.user_events(credentials).unwrap_err();
        assert_eq!(refused.status, 403);
    }

    /// Waits (boundedly) until `socket` has sent `count` messages; what it sent.
    async fn sent(socket: &Recorder, count: usize) -> Vec<String> {
        for _ in 0..5000 {
            if socket.sent.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        socket.sent.lock().unwrap().clone()
    }

    /// The console's socket for Ada's session (an administrator), from the console page.
    fn console_socket(org: &Org, cookie: &str) -> Events {
        use trusted_cors::HeaderInput;
        let call = crate::console::ApiCall {
            method: "GET",
            path: crate::console::CONSOLE_EVENTS_PATH,
            cookie: Some(cookie),
            origin: HeaderInput::One(b"http://localhost:8080"),
            sec_fetch_site: HeaderInput::One(b"same-origin"),
            host: HeaderInput::One(b"localhost:8080"),
            ..crate::console::ApiCall::default()
        };
        org.console_events(call).unwrap()
    }

    /// A change through the Trusted Origins API with the API token; the entry's id.
    async fn api(org: &Org, method: &str, path: &str, body: &[u8]) -> String {
        let reply = org
            .api()
            .handle(trusted_cors::admin::ApiRequest {
                method,
                path,
                authorization: Some(b"SSWS 00example-api-token"),
                body,
                ..trusted_cors::admin::ApiRequest::default()
            })
            .await;
        assert_eq!(reply.status(), 200, "{method} {path}");
        let entry: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        entry["id"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_consoles_socket_tells_each_change_until_the_session_ends() {
        let org = org().await;
        let cookie = sign_in(&org);
        let events = console_socket(&org, &cookie);
        // Made between the handshake and the upgrade: not missed.
        let shop =
            br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#;
        let id = api(&org, "POST", "/api/v1/trustedOrigins", shop).await;
        let socket = Recorder::default();
        let running = tokio::spawn(events.run(socket.clone()));
        assert_eq!(sent(&socket, 1).await.len(), 1);
        let path = format!("/api/v1/trustedOrigins/{id}/lifecycle/deactivate");
        api(&org, "POST", &path, b"").await;
        assert_eq!(sent(&socket, 2).await.len(), 2);
        // Signed out elsewhere: the end, and nothing after it.
        assert_eq!(org.logout(Some(&cookie), None).status, 303);
        running.await.unwrap();
        let sent = socket.sent.lock().unwrap().clone();
        let changes: Vec<serde_json::Value> = sent[..2]
            .iter()
            .map(|text| serde_json::from_str(text).unwrap())
            .collect();
        let revision = changes[0]["revision"].as_u64().unwrap();
        assert_eq!(
            changes[0],
            serde_json::json!({"type": "changed", "revision": revision, "action": "create", "id": id})
        );
        assert_eq!(
            changes[1],
            serde_json::json!({"type": "changed", "revision": revision + 1, "action": "deactivate", "id": id})
        );
        assert_eq!(sent[2..], [SESSION_ENDED, "(closed)"]);
    }

    #[tokio::test]
    async fn a_console_socket_that_fell_behind_is_told_it_lagged() {
        use trusted_cors::admin::SUBSCRIPTION_CAPACITY;
        use trusted_cors::{ChangeRequest, NewTrustedOrigin, ScopeType};
        let org = org().await;
        let cookie = sign_in(&org);
        let events = console_socket(&org, &cookie);
        // One change more than the subscription holds, before the socket reads any.
        for i in 0..=SUBSCRIPTION_CAPACITY {
            let origin = NewTrustedOrigin::new(
                format!("O{i}"),
                format!("https://o{i}.example"),
                [ScopeType::Cors],
            );
            org.api()
                .origins()
                .change(&ChangeRequest::Create(origin), Some("test"))
                .await
                .unwrap();
        }
        let socket = Recorder::default();
        let running = tokio::spawn(events.run(socket.clone()));
        // Lagged, then the changes still held, the last one last.
        let sent = sent(&socket, 1 + SUBSCRIPTION_CAPACITY).await;
        socket.client_gone.notify_one();
        running.await.unwrap();
        assert_eq!(sent.len(), 1 + SUBSCRIPTION_CAPACITY);
        assert_eq!(sent[0], LAGGED);
        let last: serde_json::Value = serde_json::from_str(&sent[SUBSCRIPTION_CAPACITY]).unwrap();
        assert_eq!(
            last["revision"].as_u64(),
            Some(org.api().origins().revision())
        );
    }

    #[tokio::test]
    async fn an_access_token_socket_ends_when_its_client_goes() {
        let org = org().await;
        let credentials = Credentials {
            authorization: Some("Bearer at-ada-example"),
            ..Credentials::default()
        };
        let events = org.user_events(credentials).unwrap();
        let socket = Recorder::default();
        let running = tokio::spawn(events.run(socket.clone()));
        socket.client_gone.notify_one();
        running.await.unwrap();
        assert_eq!(socket.sent.lock().unwrap().len(), 1);
        let bad = Credentials {
            authorization: Some("Bearer at-nobody"),
            ..Credentials::default()
        };
        assert_eq!(org.user_events(bad).unwrap_err().status, 401);
        assert_eq!(
            org.user_events(Credentials::default()).unwrap_err().status,
            403
        );
    }
}
