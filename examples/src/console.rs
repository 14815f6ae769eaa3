//! The admin console, as in Okta's Admin Console → Security → API → Trusted Origins: one page,
//! [`CONSOLE_PATH`] (plain HTML, CSS and JavaScript in `console.html`, no build step), that
//! lists, searches, pages, adds, edits, activates, deactivates and deletes trusted origins through
//! the Trusted Origins API, same-origin, with the signed-in user's session cookie. No token is
//! ever in the page.
//!
//! Every call to the API reaches [`Org::trusted_origins_call`]:
//!
//! | credentials | answer |
//! |---|---|
//! | `Authorization` (`SSWS`, `Bearer`) | the API's, by the token; a session cookie is then not read |
//! | an administrator's session ([`UserConfig::admin`](crate::UserConfig::admin)), from the org's own pages | manage access, changes recorded as made by the user's login |
//! | another user's session, from the org's own pages | 403 `E0000006`: not an administrator |
//! | a session, from anywhere else | 403 `E0000006`, and logged |
//! | a session, with a body that is not `application/json` | 415 `E0000001` |
//! | neither | 401 `E0000011` (the page then sends the browser to `/login`) |
//!
//! A session cookie is an ambient credential: the browser attaches it to requests that pages on
//! other origins make, and `SameSite=Lax` does not stop a page on the same site (another port of
//! `localhost`, a sibling subdomain) nor a top-level form post. So a session is accepted only on
//! a call from the org's own pages: `Sec-Fetch-Site: same-origin`; where a browser sends no
//! fetch metadata, an `Origin` that the CORS layers count as this org's own (a public origin, or
//! `Host`), or no `Origin` on a `GET`. And a body must be `application/json`, a type no form can
//! send. The API is never CORS-enabled, so a trusted origin cannot read its answers either.
//!
//! The page keeps its table live through a WebSocket of its own, [`CONSOLE_EVENTS_PATH`]
//! ([`Org::console_events`]): a message for each change of the trusted origins this instance
//! applies, made here or by another instance sharing the store (`{"type":"changed",…}`, see
//! [`events`](crate::events)), on which the page reloads the page of the table it shows. It is
//! under the console's path rather than the API's: it is the console's, not Okta's, and
//! `/api/v1/trustedOrigins/…` names entries by id. It takes only what the console has, an
//! administrator's session from the org's own pages, by the same rules and answers as the API
//! (401, 403), before the upgrade; a token is not read (a server follows changes through the API,
//! or in process with `TrustedOrigins::subscribe`). The socket is not declared open to any
//! origin, so the guard refuses a cross-origin handshake from an untrusted origin first, and one
//! from a trusted origin then fails the own-pages rule. The socket ends with the session, as
//! the user's events socket does. Should it fail, the page works as without it.

use std::sync::PoisonError;

use trusted_cors::admin::{ApiRequest, ApiScope, Grant};
use trusted_cors::decision::{Decision, RouteScope};
use trusted_cors::{Cors, HeaderInput, RequestFacts};

use crate::events::Events;
use crate::org::Caller;
use crate::sessions::{random_token, session_id};
use crate::users::handler_ran;
use crate::{Org, Reply};

/// Where the admin console is served.
pub const CONSOLE_PATH: &str = "/admin/trusted-origins";

/// The console's WebSocket: the changes of the trusted origins, as they are applied.
pub const CONSOLE_EVENTS_PATH: &str = "/admin/trusted-origins/events";

/// The page; `{{NONCE}}` is the nonce of its script and style, new on every answer.
const PAGE: &str = include_str!("console.html");

/// One call to the Trusted Origins API, or a handshake of the console's socket, as the org
/// servers receive it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiCall<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path, starting with `/api/v1/trustedOrigins` (or [`CONSOLE_EVENTS_PATH`]).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The first `Authorization` value.
    pub authorization: Option<&'a [u8]>,
    /// The cookies ([`joined_cookies`](crate::joined_cookies)).
    pub cookie: Option<&'a str>,
    /// `Origin`.
    pub origin: HeaderInput<'a>,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: HeaderInput<'a>,
    /// The host the request is addressed to ([`trusted_cors::RequestFacts::request_host`]).
    pub host: HeaderInput<'a>,
    /// `Content-Type`.
    pub content_type: HeaderInput<'a>,
    /// The body.
    pub body: &'a [u8],
}

/// The sign-in page, coming back to the console.
const SIGN_IN_FIRST: &str = "/login?redirect=%2Fadmin%2Ftrusted-origins";

/// A header's value for the log: its text, `(several)` or `(none)`.
fn printed(value: HeaderInput<'_>) -> String {
    match value {
        HeaderInput::One(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        HeaderInput::Many => "(several)".to_owned(),
        HeaderInput::Absent => "(none)".to_owned(),
    }
}

/// Whether a call comes from the org's own pages (see the module docs).
fn from_own_pages(call: &ApiCall<'_>, cors: &Cors) -> bool {
    match call.sec_fetch_site {
        HeaderInput::One(site) => site == b"same-origin",
        HeaderInput::Many => false,
        // A browser without fetch metadata: what the CORS layers count as same-origin.
        HeaderInput::Absent => {
            let facts = RequestFacts {
                method: call.method,
                path: call.path,
                origin: call.origin,
                host: call.host,
                ..RequestFacts::default()
            };
            match cors.decide(&facts, RouteScope::Unrouted) {
                Decision::SameOrigin => true,
                Decision::NotCors => matches!(call.method, "GET" | "HEAD"),
                _ => false,
            }
        }
    }
}

/// Whether the body, if any, is declared `application/json` (parameters such as `charset`
/// allowed).
fn body_is_json(call: &ApiCall<'_>) -> bool {
    if call.body.is_empty() {
        return true;
    }
    let HeaderInput::One(value) = call.content_type else {
        return false;
    };
    let essence = value.split(|b| *b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

/// Whether the session of `login` may be used on `call`: only from the org's own pages (else
/// 403, logged), and only an administrator's (else 403).
fn console_session(call: &ApiCall<'_>, cors: &Cors, login: &str, admin: bool) -> Result<(), Reply> {
    if !from_own_pages(call, cors) {
        let (origin, site) = (printed(call.origin), printed(call.sec_fetch_site));
        tracing::warn!(
            target: "org",
            method = call.method,
            path = call.path,
            origin,
            sec_fetch_site = site,
            user = login,
            "session call to the Trusted Origins API refused: not from this org's own pages"
        );
        return Err(Reply::error(
            403,
            "E0000006",
            trusted_cors::OktaError::PERMISSION_DENIED_SUMMARY,
            Some("A session is accepted by the Trusted Origins API only on calls from this org's own pages (same-origin); from elsewhere, send an access token as Authorization: Bearer <token>"),
        ));
    }
    if !admin {
        return Err(Reply::error(
            403,
            "E0000006",
            trusted_cors::OktaError::PERMISSION_DENIED_SUMMARY,
            Some(&format!(
                "{login} is signed in but is not an administrator of this org: only administrators (admin = true in the configuration) manage trusted origins here. An access token keeps the scopes the configuration grants it"
            )),
        ));
    }
    Ok(())
}

impl Org {
    /// `GET /admin/trusted-origins`: the admin console, to a signed-in user (whether they may
    /// use it is the API's answer, shown in the page); without a session, a redirect to sign in
    /// and come back.
    ///
    /// The page may not be framed by anyone (a framed admin page invites clickjacking), runs
    /// only its own script and style (by a nonce new on every answer), talks only to this org,
    /// and is not cached.
    pub fn console_page(&self, cookie: Option<&str>) -> Reply {
        if !matches!(self.caller(cookie, None), Caller::User(_)) {
            return Reply::redirect(SIGN_IN_FIRST.to_owned());
        }
        let nonce = random_token();
        let page = PAGE
            .replace("{{STYLE}}", crate::pages::STYLE)
            .replace("{{NONCE}}", &nonce);
        let mut reply = Reply::html(200, page);
        reply.headers.extend([
            (
                "content-security-policy".into(),
                format!(
                    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
                     connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
                     frame-ancestors 'none'"
                ),
            ),
            ("x-frame-options".into(), "DENY".to_owned()),
            ("cache-control".into(), "no-store".to_owned()),
            ("x-content-type-options".into(), "nosniff".to_owned()),
            ("referrer-policy".into(), "same-origin".to_owned()),
        ]);
        reply
    }

    /// Any call to the Trusted Origins API (`/api/v1/trustedOrigins…`): with a token, the API's
    /// answer; with a session from the org's own pages, the API's answer to the session's
    /// grant; see the [module docs](self).
    pub async fn trusted_origins_call(&self, call: ApiCall<'_>) -> Reply {
        let request = ApiRequest {
            method: call.method,
            path: call.path,
            query: call.query,
            authorization: call.authorization,
            body: call.body,
        };
        let session = match call.authorization {
            Some(_) => None,
            None => self.session_user(call.cookie),
        };
        let Some((login, admin)) = session else {
            // A token, or nothing the API accepts (401).
            return Reply::from_api(self.api.handle(request).await);
        };
        if let Err(refused) = console_session(&call, &self.cors, &login, admin) {
            return refused;
        }
        if !body_is_json(&call) {
            return Reply::error(
                415,
                "E0000001",
                "Api validation failed: Content-Type",
                Some("Send the body as JSON, with Content-Type: application/json"),
            );
        }
        // An administrator's session manages, and the changes are the user's login's.
        let grant = Grant::new(&login, [ApiScope::Manage]);
        Reply::from_api(self.api.handle_with_grant(request, &grant).await)
    }

    /// [`CONSOLE_EVENTS_PATH`], before the upgrade: the socket to open for an administrator's
    /// session from the org's own pages, following the trusted origins' changes from now on and
    /// the session's end; or the answer refusing it (see the [module docs](self)).
    pub fn console_events(&self, call: ApiCall<'_>) -> Result<Events, Reply> {
        // The session is looked up and followed at once, so one that ends right after is still
        // seen ending.
        let followed = session_id(call.cookie).and_then(|sid| self.sessions.follow(sid));
        let Some(((login, admin), end)) =
            followed.and_then(|(index, end)| Some((self.user_login(index)?, end)))
        else {
            return Err(Reply::error(
                401,
                "E0000011",
                "Invalid token provided",
                Some("The admin console's socket takes the session of an administrator signed in to this org: sign in first"),
            ));
        };
        console_session(&call, &self.cors, &login, admin)?;
        handler_ran(&format!("GET {CONSOLE_EVENTS_PATH}"), None);
        Ok(self.events(None, Some(end), Some(self.api.origins().subscribe())))
    }

    /// The login of the user signed in with `cookie`, and whether they are an administrator.
    fn session_user(&self, cookie: Option<&str>) -> Option<(String, bool)> {
        let Caller::User(index) = self.caller(cookie, None) else {
            return None;
        };
        self.user_login(index)
    }

    /// The login of the user at `index`, and whether they are an administrator.
    fn user_login(&self, index: usize) -> Option<(String, bool)> {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let user = &users.get(index)?.config;
        Some((user.login.clone(), user.admin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoginForm, OrgConfig, ReplyBody};
    use serde_json::Value;
    use std::sync::Arc;

    const SHOP: &[u8] =
        br#"{"name":"Shop","origin":"https://shop.example.com","scopes":[{"type":"CORS"}]}"#;

    async fn org() -> Arc<Org> {
        let mut config = OrgConfig::load(None).unwrap();
        config.store = Some("memory".into());
        Org::open(config).await.unwrap()
    }

    /// Signs in; the `Cookie` value of the session.
    fn sign_in(org: &Org, login: &str, password: &str) -> String {
        let reply = org.login(
            &LoginForm {
                login: login.into(),
                password: password.into(),
                redirect: None,
            },
            None,
        );
        let set_cookie = reply
            .headers
            .iter()
            .find(|(name, _)| name == "set-cookie")
            .map(|(_, value)| value.clone())
            .unwrap();
        set_cookie.split(';').next().unwrap().to_owned()
    }

    fn ada(org: &Org) -> String {
        sign_in(org, "ada@example.com", "correct horse battery staple")
    }

    fn grace(org: &Org) -> String {
        sign_in(org, "grace@example.com", "cobol forever")
    }

    /// A same-origin `fetch` from the console page, as Chromium sends it.
    fn from_page<'a>(method: &'a str, cookie: &'a str, body: &'a [u8]) -> ApiCall<'a> {
        ApiCall {
            method,
            path: "/api/v1/trustedOrigins",
            cookie: Some(cookie),
            origin: if method == "GET" {
                HeaderInput::Absent
            } else {
                HeaderInput::One(b"http://localhost:8080")
            },
            sec_fetch_site: HeaderInput::One(b"same-origin"),
            host: HeaderInput::One(b"localhost:8080"),
            content_type: if body.is_empty() {
                HeaderInput::Absent
            } else {
                HeaderInput::One(b"application/json")
            },
            body,
            ..ApiCall::default()
        }
    }

    fn json(reply: &Reply) -> Value {
        match &reply.body {
            ReplyBody::JsonBytes(bytes) => serde_json::from_slice(bytes).unwrap(),
            ReplyBody::Json(value) => value.clone(),
            other => panic!("not JSON: {other:?}"),
        }
    }

    fn shops(org: &Org) -> usize {
        org.trusted_origins()
            .iter()
            .filter(|o| &*o.name == "Shop")
            .count()
    }

    #[tokio::test]
    async fn an_administrators_session_manages_from_the_console() {
        let org = org().await;
        let cookie = ada(&org);
        let reply = org
            .trusted_origins_call(from_page("POST", &cookie, SHOP))
            .await;
        assert_eq!(reply.status, 200, "{:?}", json(&reply));
        assert_eq!(json(&reply)["createdBy"], "ada@example.com");
        assert_eq!(reply.content_type(), Some("application/json"));
        let reply = org
            .trusted_origins_call(from_page("GET", &cookie, b""))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(json(&reply).as_array().map(Vec::len), Some(2));
        assert!(
            reply
                .headers
                .iter()
                .any(|(name, value)| name == "link" && value.ends_with("rel=\"self\"")),
            "{:?}",
            reply.headers
        );
        // Without fetch metadata, `Origin` (or none, on a GET) says where the call is from.
        let mut old = from_page("GET", &cookie, b"");
        old.sec_fetch_site = HeaderInput::Absent;
        assert_eq!(org.trusted_origins_call(old).await.status, 200);
        old.method = "DELETE";
        old.path = "/api/v1/trustedOrigins/nothing-here";
        old.origin = HeaderInput::One(b"http://localhost:8080");
        assert_eq!(org.trusted_origins_call(old).await.status, 404);
        // JSON with a charset is JSON.
        let mut call = from_page("POST", &cookie, br#"{"name":"x"}"#);
        call.content_type = HeaderInput::One(b"Application/JSON; charset=utf-8");
        assert_eq!(org.trusted_origins_call(call).await.status, 400);
    }

    #[tokio::test]
    async fn other_users_sessions_are_forbidden_and_no_session_is_unauthorized() {
        let org = org().await;
        let cookie = grace(&org);
        for (method, body) in [("GET", &b""[..]), ("POST", SHOP)] {
            let reply = org
                .trusted_origins_call(from_page(method, &cookie, body))
                .await;
            assert_eq!(reply.status, 403, "{method}");
            let error = json(&reply);
            assert_eq!(error["errorCode"], "E0000006");
            assert!(
                error["errorCauses"][0]["errorSummary"]
                    .as_str()
                    .is_some_and(|cause| cause
                        .starts_with("grace@example.com is signed in but is not an administrator")),
                "{error}"
            );
        }
        for cookie in ["sid=not-a-session", "other=1"] {
            let reply = org
                .trusted_origins_call(from_page("POST", cookie, SHOP))
                .await;
            assert_eq!(reply.status, 401);
            assert_eq!(json(&reply)["errorCode"], "E0000011");
        }
        assert_eq!(shops(&org), 0);
    }

    #[tokio::test]
    async fn sessions_are_refused_from_anywhere_but_the_orgs_own_pages() {
        let org = org().await;
        let cookie = ada(&org);
        let attempts: [(&str, HeaderInput<'_>, HeaderInput<'_>); 8] = [
            // A trusted origin on the same site (another port), by fetch or a form post.
            (
                "POST",
                HeaderInput::One(b"same-site"),
                HeaderInput::One(b"http://localhost:8081"),
            ),
            (
                "POST",
                HeaderInput::One(b"cross-site"),
                HeaderInput::One(b"https://evil.example"),
            ),
            // Typed in the address bar: no page, but no console either.
            ("POST", HeaderInput::One(b"none"), HeaderInput::Absent),
            ("GET", HeaderInput::One(b"cross-site"), HeaderInput::Absent),
            ("POST", HeaderInput::Many, HeaderInput::Absent),
            // No fetch metadata: by Origin.
            (
                "POST",
                HeaderInput::Absent,
                HeaderInput::One(b"http://localhost:8081"),
            ),
            ("POST", HeaderInput::Absent, HeaderInput::Many),
            // An unsafe method that names no origin at all.
            ("POST", HeaderInput::Absent, HeaderInput::Absent),
        ];
        for (method, site, origin) in attempts {
            let mut call = from_page(method, &cookie, SHOP);
            call.sec_fetch_site = site;
            call.origin = origin;
            let reply = org.trusted_origins_call(call).await;
            assert_eq!(reply.status, 403, "{method} {site:?} {origin:?}");
            let error = json(&reply);
            assert_eq!(error["errorCode"], "E0000006");
            assert!(error.to_string().contains("own pages"), "{error}");
        }
        // A form's content type, even same-origin.
        for content_type in [
            HeaderInput::One(&b"text/plain"[..]),
            HeaderInput::One(b"application/x-www-form-urlencoded"),
            HeaderInput::One(b"application/jsonx"),
            HeaderInput::Absent,
            HeaderInput::Many,
        ] {
            let mut call = from_page("POST", &cookie, SHOP);
            call.content_type = content_type;
            let reply = org.trusted_origins_call(call).await;
            assert_eq!(reply.status, 415, "{content_type:?}");
            assert_eq!(json(&reply)["errorCode"], "E0000001");
        }
        assert_eq!(shops(&org), 0);
    }

    #[tokio::test]
    async fn the_consoles_socket_takes_an_administrators_session_from_its_own_pages() {
        let org = org().await;
        fn socket(cookie: &str) -> ApiCall<'_> {
            ApiCall {
                path: CONSOLE_EVENTS_PATH,
                ..from_page("GET", cookie, b"")
            }
        }
        let (ada, grace) = (ada(&org), grace(&org));
        assert!(org.console_events(socket(&ada)).is_ok());
        let refused = |call: ApiCall<'_>| {
            let reply = org.console_events(call).unwrap_err();
            (reply.status, json(&reply)["errorCode"].clone())
        };
        assert_eq!(refused(socket(&grace)), (403, "E0000006".into()));
        assert_eq!(
            refused(socket("sid=not-a-session")),
            (401, "E0000011".into())
        );
        // A token is not read: the console has none.
        let mut token = socket("other=1");
        token.authorization = Some(b"SSWS 00example-api-token");
        assert_eq!(refused(token), (401, "E0000011".into()));
        // From a trusted origin on the same site (which the guard lets through): not the
        // console's own page.
        let mut sibling = socket(&ada);
        sibling.origin = HeaderInput::One(b"http://localhost:8081");
        sibling.sec_fetch_site = HeaderInput::One(b"same-site");
        let (status, code) = refused(sibling);
        assert_eq!((status, code), (403, "E0000006".into()));
    }

    #[tokio::test]
    async fn a_token_is_read_before_a_session() {
        let org = org().await;
        let cookie = ada(&org);
        // Grace's token reads only, whoever's session comes with it.
        let mut call = from_page("POST", &cookie, SHOP);
        call.authorization = Some(b"Bearer at-grace-example");
        let reply = org.trusted_origins_call(call).await;
        assert_eq!(reply.status, 403);
        assert!(json(&reply).to_string().contains("The access token lacks"));
        // A token works cross-origin (the CORS layers keep API tokens out of browsers).
        call.authorization = Some(b"SSWS 00example-api-token");
        call.sec_fetch_site = HeaderInput::One(b"cross-site");
        let reply = org.trusted_origins_call(call).await;
        assert_eq!(reply.status, 200);
        assert_eq!(json(&reply)["createdBy"], "apiToken1");
    }

    #[tokio::test]
    async fn the_console_page_needs_a_session_and_runs_only_its_own_script() {
        let org = org().await;
        let reply = org.console_page(None);
        assert_eq!(reply.status, 303);
        assert_eq!(reply.headers[0].1, SIGN_IN_FIRST);
        let cookie = grace(&org);
        let page = |reply: &Reply| match &reply.body {
            ReplyBody::Html(html) => html.clone(),
            other => panic!("not HTML: {other:?}"),
        };
        let header = |reply: &Reply, name: &str| {
            reply
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let (first, second) = (
            org.console_page(Some(&cookie)),
            org.console_page(Some(&cookie)),
        );
        assert_eq!(first.status, 200);
        let csp = header(&first, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert!(nonce.len() >= 32, "{csp}");
        let html = page(&first);
        assert!(html.contains(&format!("<script nonce=\"{nonce}\">")));
        assert!(html.contains(&format!("<style nonce=\"{nonce}\">")));
        assert!(!html.contains("{{NONCE}}"));
        assert_ne!(csp, header(&second, "content-security-policy"));
        assert_eq!(header(&first, "x-frame-options"), "DENY");
        assert_eq!(header(&first, "cache-control"), "no-store");
        // The page escapes what it shows: it never parses data as HTML.
        assert!(!html.contains("innerHTML") && !html.contains("insertAdjacentHTML"));
    }

    #[test]
    fn the_shipped_config_has_one_administrator() {
        let config = OrgConfig::load(None).unwrap();
        let admins: Vec<_> = config
            .users
            .iter()
            .filter(|u| u.admin)
            .map(|u| u.login.as_str())
            .collect();
        assert_eq!(admins, ["ada@example.com"]);
        assert!(config.users.iter().any(|u| !u.admin));
    }
}
