//! `GET /api/v1/users/me/events`: a WebSocket that sends the signed-in user's profile when it
//! opens (the JSON of `GET /api/v1/users/me`) and `{"type":"session_ended"}` when the session it
//! was opened with is signed out elsewhere, then closes.
//!
//! Authenticated as `/api/v1/users/me` is, before the upgrade: the session cookie, or an access
//! token (`Authorization: Bearer`, from clients other than browsers, which cannot set headers on
//! a WebSocket); without either, the same Okta error as `/api/v1/users/me`, and no socket. Which
//! pages may open it is not decided here: the guard refuses a handshake from any origin that is
//! not an ACTIVE trusted origin with the CORS scope, before this runs (the route is not declared
//! with `websocket_from_any_origin`), so a page on another site never gets a socket carrying the
//! user's cookie.
//!
//! The two servers wrap their framework's socket in an [`EventSocket`] and hand it to
//! [`UserEvents::run`], which holds the socket's whole conversation.

use std::future::Future;
use std::time::Duration;

use trusted_cors::RouteCors;

use crate::sessions::{cookie_value, SessionEnd, SESSION_COOKIE};
use crate::users::{handler_ran, no_session};
use crate::{Credentials, Org, Reply};

/// The path of the events socket.
pub const EVENTS_PATH: &str = "/api/v1/users/me/events";

/// The largest message (and frame) the socket reads from a client, which it expects nothing
/// from: a larger one ends the socket, so a client cannot make the server buffer megabytes
/// (the frameworks' defaults are 64 KiB on actix-ws and 64 MiB on axum).
pub const MAX_CLIENT_MESSAGE: usize = 4096;

/// The message sent when the socket's session is signed out.
pub const SESSION_ENDED: &str = r#"{"type":"session_ended"}"#;

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

/// An accepted events socket, before its upgrade: what it sends, and the session it follows.
#[derive(Debug)]
pub struct UserEvents {
    profile: String,
    /// `None` for an access token, which no sign-out ends.
    session: Option<SessionEnd>,
    ping_every: Duration,
}

impl UserEvents {
    /// The socket's conversation: the profile, then `{"type":"session_ended"}` and a normal
    /// closure when the session ends; until then, pings at half the server's idle timeout, and
    /// whatever the client sends is dropped. Ends when either side closes.
    pub async fn run(self, mut socket: impl EventSocket) {
        // A session signed out between the handshake and the upgrade gets no profile.
        let live = self
            .session
            .as_ref()
            .is_none_or(|session| !session.has_ended());
        if live && !socket.send_text(self.profile).await {
            return;
        }
        let ended = async move {
            match self.session {
                Some(session) => session.wait().await,
                None => std::future::pending().await,
            }
        };
        let mut ended = std::pin::pin!(ended);
        let start = tokio::time::Instant::now() + self.ping_every;
        let mut pings = tokio::time::interval_at(start, self.ping_every);
        loop {
            tokio::select! {
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
                open = socket.receive() => {
                    if !open {
                        return;
                    }
                }
            }
        }
    }
}

impl Org {
    /// `GET /api/v1/users/me/events`, before the upgrade: the socket to open for the caller, or
    /// the answer refusing it (the same as `GET /api/v1/users/me`'s: 403 `E0000005` without a
    /// session, 401 `E0000011` for a token that is not a user's access token).
    pub fn user_events(&self, credentials: Credentials<'_>) -> Result<UserEvents, Reply> {
        let (index, session) = match credentials.authorization {
            Some(_) => (self.user_caller(credentials)?, None),
            // The session is looked up and followed at once, so one that ends right after is
            // still seen ending.
            None => credentials
                .cookie
                .and_then(|cookie| cookie_value(cookie, SESSION_COOKIE))
                .and_then(|sid| self.sessions.follow(sid))
                .map(|(index, end)| (index, Some(end)))
                .ok_or_else(|| no_session(credentials))?,
        };
        handler_ran("GET /api/v1/users/me/events", credentials.authorization);
        let profile = self.user_json(index).to_string();
        Ok(UserEvents {
            profile,
            session,
            ping_every: self.limits().idle_timeout() / 2,
        })
    }
}

/// The answer to a request for the events socket that is not a WebSocket handshake (the same
/// on both servers, whatever their framework would say).
pub fn not_a_websocket() -> Reply {
    Reply::error(
        400,
        "E0000001",
        "Api validation failed: WebSocket handshake",
        Some(&format!(
            "{EVENTS_PATH} is a WebSocket: open it with new WebSocket(\"ws://…{EVENTS_PATH}\"), an HTTP/1.1 GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key"
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
