//! Sign-in, sign-out and sessions: the `/login` form and its answer, the session cookie, and
//! where the browser may be sent afterwards.
//!
//! The session cookie is `HttpOnly; SameSite=Lax`: browsers send it to the org on same-site
//! requests (a page on another port of `localhost` is same-site) and on top-level navigations,
//! never on a cross-site `fetch`, whatever the CORS answer says. So a page on another site can
//! call the org's CORS-enabled APIs with a bearer token, not with the session.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde::Deserialize;
use tokio::sync::watch;
use trusted_cors::CorsOutcome;

use crate::org::secrets_match;
use crate::pages::sign_in_form;
use crate::{Org, Reply};

/// The name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "sid";

/// The org's sessions, by session id: whose each is, and who is waiting for it to end.
#[derive(Debug, Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, Session>>);

#[derive(Debug)]
struct Session {
    /// The index of the signed-in user.
    user: usize,
    /// Never sent on: dropped with the session, which is how its [`SessionEnd`]s learn that it
    /// ended, whatever ended it.
    ended: watch::Sender<()>,
}

impl Sessions {
    /// Opens a session for the user at `user`; returns its new id.
    fn open(&self, user: usize) -> String {
        let sid = random_token();
        let (ended, _) = watch::channel(());
        self.lock().insert(sid.clone(), Session { user, ended });
        sid
    }

    /// Ends the session `sid`, if it is one: its [`SessionEnd`]s resolve.
    fn end(&self, sid: &str) {
        self.lock().remove(sid);
    }

    /// The user whose session `sid` is.
    pub(crate) fn user(&self, sid: &str) -> Option<usize> {
        self.lock().get(sid).map(|session| session.user)
    }

    /// The user whose session `sid` is, and a way to wait for that session to end; `None` when
    /// `sid` is not a session (any more).
    pub(crate) fn follow(&self, sid: &str) -> Option<(usize, SessionEnd)> {
        let sessions = self.lock();
        let session = sessions.get(sid)?;
        Some((session.user, SessionEnd(session.ended.subscribe())))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The end of one session, to wait for (see [`Sessions::follow`]).
#[derive(Debug)]
pub(crate) struct SessionEnd(watch::Receiver<()>);

impl SessionEnd {
    /// Whether the session has ended already.
    pub(crate) fn has_ended(&self) -> bool {
        self.0.has_changed().is_err()
    }

    /// Resolves when the session ends (signed out, from any tab or client): at once if it
    /// already has. No polling: the session's end wakes it.
    pub(crate) async fn wait(mut self) {
        // Nothing is ever sent, so this waits for the sender to go with the session.
        while self.0.changed().await.is_ok() {}
    }
}

/// The sign-in form.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginForm {
    /// Sign-in name.
    pub login: String,
    /// Password.
    pub password: String,
    /// Where to go after signing in.
    #[serde(default)]
    pub redirect: Option<String>,
}

/// The optional `redirect` of `/login` and `/logout`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RedirectParam {
    /// Where to go afterwards.
    #[serde(default)]
    pub redirect: Option<String>,
}

/// The session cookie a handler may act on: on a cross-origin call only when the route's CORS
/// outcome allows credentials (the `CorsContext` extractor of either adapter), so a handler never
/// honours a cookie the CORS policy did not grant, whatever the layers in front of it.
pub fn session_cookie<'a>(cookie: Option<&'a str>, cors: &CorsOutcome) -> Option<&'a str> {
    cookie.filter(|_| !cors.is_cross_origin() || cors.allows_credentials())
}

/// A request's cookies as one value: every `Cookie` field that is text, joined with `"; "`. An
/// HTTP/2 client may split the cookie into several `cookie` fields (RFC 9113 §8.2.3; browsers do,
/// for better header compression), which are one cookie-string; reading only the first would
/// lose the session.
pub fn joined_cookies<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> Option<String> {
    let texts: Vec<&str> = fields
        .into_iter()
        .filter_map(|field| std::str::from_utf8(field).ok())
        .collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// The session id among a request's cookies, if it sent one.
pub(crate) fn session_id(cookie: Option<&str>) -> Option<&str> {
    cookie.and_then(|cookie| cookie_value(cookie, SESSION_COOKIE))
}

pub(crate) fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// A new random token, 24 bytes from the operating system in hex: a session id, or a
/// Content-Security-Policy nonce.
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a sign-in was refused: the Okta error, for API clients, and the same in words on the
/// form, for browsers.
struct Refusal {
    status: u16,
    code: &'static str,
    summary: &'static str,
    cause: String,
}

impl Refusal {
    fn bad_redirect(target: &str) -> Refusal {
        Refusal {
            status: 400,
            code: "E0000001",
            summary: "Api validation failed: redirect",
            cause: format!(
                "{target} is not a path on this org nor on an ACTIVE trusted origin with the REDIRECT scope: add its origin under trusted origins with the Redirect scope"
            ),
        }
    }

    fn json(&self) -> Reply {
        Reply::error(self.status, self.code, self.summary, Some(&self.cause))
    }
}

/// Whether `Accept` asks for a page (a browser's form post) rather than JSON.
fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|item| {
            let media = item.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("text/html")
        })
    })
}

impl Org {
    /// Where to send the browser after sign-in or sign-out: a path on this org, or a URL on an
    /// ACTIVE trusted origin with the REDIRECT scope. The answer is the parsed URL's own
    /// serialization, so tabs, newlines and backslashes that browsers would reinterpret never
    /// reach `Location`.
    fn redirect_target(&self, redirect: Option<&str>) -> Result<String, Refusal> {
        let Some(target) = redirect.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok("/".to_owned());
        };
        let refuse = || Refusal::bad_redirect(target);
        if target.chars().any(|c| c.is_control() || c == '\\') {
            return Err(refuse());
        }
        if target.starts_with('/') {
            // Resolve against a stand-in origin: anything that leaves it (`//host`) is refused.
            let base = url::Url::parse("http://org.invalid/").expect("a valid base");
            return match base.join(target) {
                Ok(url) if url.origin() == base.origin() => {
                    Ok(url[url::Position::BeforePath..].to_owned())
                }
                _ => Err(refuse()),
            };
        }
        match url::Url::parse(target) {
            Ok(url)
                if self
                    .cors
                    .registry()
                    .snapshot()
                    .redirect_allowed(url.as_str()) =>
            {
                Ok(url.into())
            }
            _ => Err(refuse()),
        }
    }

    /// `POST /login`: checks the password, opens a session and redirects. When the password is
    /// wrong or the redirect is not allowed, a browser (`Accept: text/html…`) gets the form
    /// again with the error on it, and an API client the Okta error as JSON (401 `E0000004`,
    /// 400 `E0000001`).
    pub fn login(&self, form: &LoginForm, accept: Option<&str>) -> Reply {
        match self.sign_in(form) {
            Ok(reply) => reply,
            Err(refusal) if wants_html(accept) => sign_in_form(
                refusal.status,
                &form.login,
                form.redirect.as_deref(),
                Some(&format!("{}.", refusal.cause)),
            ),
            Err(refusal) => refusal.json(),
        }
    }

    fn sign_in(&self, form: &LoginForm) -> Result<Reply, Refusal> {
        let target = self.redirect_target(form.redirect.as_deref())?;
        let index = {
            let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
            // Every password is compared, so the time taken does not tell which logins exist.
            users.iter().enumerate().fold(None, |found, (index, u)| {
                let password = secrets_match(&u.config.password, &form.password);
                let login = u.config.login.eq_ignore_ascii_case(form.login.trim());
                found.or((password && login).then_some(index))
            })
        };
        let Some(index) = index else {
            return Err(Refusal {
                status: 401,
                code: "E0000004",
                summary: "Authentication failed",
                cause: "The username or password is wrong".to_owned(),
            });
        };
        let sid = self.sessions.open(index);
        let mut reply = Reply::redirect(target);
        reply.headers.push((
            "set-cookie".into(),
            format!("{SESSION_COOKIE}={sid}; HttpOnly; SameSite=Lax; Path=/"),
        ));
        Ok(reply)
    }

    /// `POST /logout`: ends the session, redirects. Events sockets following the session (see
    /// [`events`](crate::events)) send `{"type":"session_ended"}` and close.
    pub fn logout(&self, cookie: Option<&str>, redirect: Option<&str>) -> Reply {
        let target = match self.redirect_target(redirect) {
            Ok(target) => target,
            Err(refusal) => return refusal.json(),
        };
        if let Some(sid) = session_id(cookie) {
            // Ends it everywhere: the user's events sockets say so and close.
            self.sessions.end(sid);
        }
        let mut reply = Reply::redirect(target);
        reply.headers.push((
            "set-cookie".into(),
            format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"),
        ));
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrgConfig;

    async fn org() -> std::sync::Arc<Org> {
        let mut config = OrgConfig::load(None).unwrap();
        config.store = Some("memory".into());
        Org::open(config).await.unwrap()
    }

    #[tokio::test]
    async fn redirects_are_checked() {
        let org = org().await;
        let form = |redirect: &str| LoginForm {
            login: "ada@example.com".into(),
            password: "correct horse battery staple".into(),
            redirect: Some(redirect.into()),
        };
        assert_eq!(org.login(&form("http://localhost:8081/"), None).status, 303);
        assert_eq!(org.login(&form("/home"), None).status, 303);
        assert_eq!(org.login(&form("//evil.example/"), None).status, 400);
        assert_eq!(org.login(&form("/\t/evil.example"), None).status, 400);
        assert_eq!(org.login(&form("/\\evil.example"), None).status, 400);
        assert_eq!(
            org.login(&form("/%09/evil.example"), None).headers[0].1,
            "/%09/evil.example"
        );
        assert_eq!(
            org.login(&form("http://localhost:8081/\r\nx: y"), None)
                .status,
            400
        );
        assert_eq!(
            org.login(&form("http://LOCALHOST:8081/after"), None)
                .headers[0]
                .1,
            "http://localhost:8081/after"
        );
        assert_eq!(org.login(&form("http://127.0.0.1:8081/"), None).status, 400);
        let wrong = LoginForm {
            password: "nope".into(),
            ..form("/")
        };
        assert_eq!(org.login(&wrong, None).status, 401);
    }

    #[tokio::test]
    async fn browsers_get_the_form_again_with_the_error() {
        let org = org().await;
        let wrong = LoginForm {
            login: "ada@example.com".into(),
            password: "nope".into(),
            redirect: Some("http://localhost:8081/".into()),
        };
        let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let page = org.login(&wrong, Some(html));
        assert_eq!(page.status, 401);
        let crate::ReplyBody::Html(text) = &page.body else {
            panic!("not a page: {page:?}")
        };
        assert!(text.contains("id=\"sign-in-error\""), "{text}");
        assert!(
            text.contains("The username or password is wrong."),
            "{text}"
        );
        assert!(
            text.contains("value=\"ada@example.com\""),
            "the login is kept"
        );
        assert!(
            text.contains("value=\"http://localhost:8081/\""),
            "the redirect is kept"
        );
        for accept in [None, Some("application/json"), Some("*/*")] {
            let reply = org.login(&wrong, accept);
            assert_eq!(reply.status, 401);
            assert_eq!(reply.content_type(), Some("application/json"), "{accept:?}");
        }
        let bad = LoginForm {
            password: "correct horse battery staple".into(),
            redirect: Some("https://evil.example/".into()),
            ..wrong
        };
        let page = org.login(&bad, Some(html));
        assert_eq!(page.status, 400);
        assert!(format!("{:?}", page.body).contains("REDIRECT scope"));
        assert!(!page.headers.iter().any(|(name, _)| name == "set-cookie"));
    }
}
