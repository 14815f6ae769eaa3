//! The org's own pages, in the admin console's look: one stylesheet ([`STYLE`], `org.css`)
//! shared by the home page, the sign-in form, the console and the tester page, sent inline under
//! a Content-Security-Policy nonce new on every answer, as the console's is.

use std::sync::PoisonError;

use crate::org::Caller;
use crate::sessions::random_token;
use crate::{console, Org, Reply};

/// The stylesheet every page of the example org and the tester page use.
pub const STYLE: &str = include_str!("org.css");

/// Escapes text for HTML.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A page of the org: `main` (HTML) under the org's header bar, styled by [`STYLE`]. It runs no
/// script and loads nothing; its only style is its own, by a nonce.
pub(crate) fn page(status: u16, title: &str, main_class: &str, main: &str) -> Reply {
    let nonce = random_token();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Example org</title><style nonce=\"{nonce}\">{STYLE}</style></head>\
         <body><header class=\"top\"><strong><a href=\"/\">Example org</a></strong></header>\
         <main class=\"{main_class}\">{main}</main></body></html>"
    );
    let mut reply = Reply::html(status, html);
    reply.headers.extend([
        (
            "content-security-policy".into(),
            format!(
                "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; base-uri 'none'"
            ),
        ),
        ("x-content-type-options".into(), "nosniff".to_owned()),
        ("cache-control".into(), "no-store".to_owned()),
    ]);
    reply
}

/// The sign-in form, with `error` above it when the last attempt failed; `login` and `redirect`
/// are kept from that attempt.
pub(crate) fn sign_in_form(
    status: u16,
    login: &str,
    redirect: Option<&str>,
    error: Option<&str>,
) -> Reply {
    let error = match error {
        Some(error) => format!(
            "<p id=\"sign-in-error\" class=\"message\" data-kind=\"error\" role=\"alert\">{}</p>",
            html_escape(error)
        ),
        None => String::new(),
    };
    let (login, redirect) = (html_escape(login), html_escape(redirect.unwrap_or("")));
    let autofocus = if login.is_empty() {
        "login"
    } else {
        "password"
    };
    let focus = |field: &str| if field == autofocus { " autofocus" } else { "" };
    page(
        status,
        "Sign in",
        "narrow",
        &format!(
            "<h1>Sign in</h1><section class=\"card\">{error}\
             <form method=\"post\" action=\"/login\">\
             <div class=\"field\"><label for=\"login\">Username</label>\
             <input id=\"login\" name=\"login\" type=\"text\" value=\"{login}\" autocomplete=\"username\" required{}></div>\
             <div class=\"field\"><label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{}></div>\
             <input type=\"hidden\" name=\"redirect\" value=\"{redirect}\">\
             <button id=\"sign-in\" class=\"primary wide\" type=\"submit\">Sign in</button></form></section>\
             <p class=\"muted\">The example org's users are in <code>examples/org.toml</code>.</p>",
            focus("login"),
            focus("password"),
        ),
    )
}

impl Org {
    /// `GET /`: who is signed in, with a way to the admin console for an administrator.
    pub fn home(&self, cookie: Option<&str>) -> Reply {
        let card = match self.caller(cookie, None) {
            Caller::User(index) => {
                let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
                let user = &users[index].config;
                let console = match user.admin {
                    true => format!(
                        "<a id=\"admin-console\" class=\"button primary\" href=\"{}\">Manage trusted origins</a> ",
                        console::CONSOLE_PATH
                    ),
                    false => String::new(),
                };
                format!(
                    "<p>Signed in as <strong id=\"who\">{}</strong> ({} {}).</p>\
                     <form method=\"post\" action=\"/logout\">{console}\
                     <button id=\"sign-out\" type=\"submit\">Sign out</button></form>",
                    html_escape(&user.login),
                    html_escape(&user.first_name),
                    html_escape(&user.last_name),
                )
            }
            _ => "<p>You are not signed in.</p>\
                  <p><a class=\"button primary\" href=\"/login\">Sign in</a></p>"
                .to_owned(),
        };
        page(
            200,
            "Home",
            "medium",
            &format!(
                "<h1>Example org</h1><section class=\"card\">{card}</section>\
                 <section class=\"card\"><h2>What this org serves</h2><ul>\
                 <li><code>GET /api/v1/users/me</code>: CORS-enabled for trusted origins with the \
                 session cookie, and for bearer tokens from any origin.</li>\
                 <li><code>GET /api/v1/cors/explain</code>: why a call from a page is allowed or \
                 blocked, rule by rule.</li>\
                 <li><code>/api/v1/trustedOrigins</code>: the Trusted Origins API, for servers \
                 (API tokens, access tokens) and the admin console.</li></ul></section>"
            ),
        )
    }

    /// `GET /login`: the sign-in form.
    pub fn login_page(&self, redirect: Option<&str>) -> Reply {
        sign_in_form(200, "", redirect, None)
    }
}
