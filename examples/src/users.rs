//! The users API: "Get current user" and "Update current user" (`/api/v1/users/me`, CORS-enabled:
//! trusted origins with the session cookie, bearer tokens from any origin), "Get user"
//! (`/api/v1/users/{id}`, trusted origins with the session cookie) and "List users"
//! (`/api/v1/users`, server-side only, with an API token).

use std::sync::PoisonError;

use serde::Deserialize;
use serde_json::json;

use crate::org::Caller;
use crate::sessions::session_id;
use crate::{Org, Reply, UserConfig};

/// What a call to the users API presents: its cookies (only those the route's CORS outcome lets
/// a handler act on, see [`session_cookie`](crate::session_cookie)), its `Authorization`, and
/// its `Sec-Fetch-Site`, which tells why a session cookie is missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The cookies.
    pub cookie: Option<&'a str>,
    /// The `Authorization` value.
    pub authorization: Option<&'a str>,
    /// The `Sec-Fetch-Site` value a browser sends: `same-origin`, `same-site`, `cross-site` or
    /// `none`.
    pub sec_fetch_site: Option<&'a str>,
}

/// One user, as the org keeps it.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) config: UserConfig,
}

impl User {
    pub(crate) fn json(&self) -> serde_json::Value {
        json!({
            "id": self.config.id,
            "status": "ACTIVE",
            "profile": {
                "login": self.config.login,
                "firstName": self.config.first_name,
                "lastName": self.config.last_name,
                "email": self.config.email,
            }
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileUpdate {
    profile: ProfileFields,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileFields {
    first_name: String,
    last_name: String,
}

pub(crate) fn invalid_token() -> Reply {
    Reply::error(
        401,
        "E0000011",
        "Invalid token provided",
        Some("Send a valid access token as Bearer, or (server-side only) an API token as SSWS"),
    )
}

/// Logs that an application handler ran, so tests can tell that a refused request never did.
pub(crate) fn handler_ran(route: &str, authorization: Option<&str>) {
    let auth = match authorization.and_then(|a| a.split_whitespace().next()) {
        Some(scheme) if scheme.eq_ignore_ascii_case("ssws") => "api-token",
        Some(_) => "bearer",
        None => "session",
    };
    tracing::info!(target: "org", route, auth, "handler ran");
}

impl Org {
    pub(crate) fn user_caller(&self, credentials: Credentials<'_>) -> Result<usize, Reply> {
        match self.caller(credentials.cookie, credentials.authorization) {
            Caller::User(index) => Ok(index),
            Caller::Anonymous => Err(no_session(credentials)),
            Caller::ApiToken | Caller::BadToken => Err(invalid_token()),
        }
    }

    /// `GET /api/v1/users/me`.
    pub fn me(&self, credentials: Credentials<'_>) -> Reply {
        let index = match self.user_caller(credentials) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        handler_ran("GET /api/v1/users/me", credentials.authorization);
        Reply::json(200, self.user_json(index))
    }

    /// The user at `index`, as "Get current user" answers it.
    pub(crate) fn user_json(&self, index: usize) -> serde_json::Value {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users[index].json()
    }

    /// `PUT /api/v1/users/me` with `{"profile":{"firstName","lastName"}}`.
    pub fn update_me(&self, credentials: Credentials<'_>, body: &[u8]) -> Reply {
        let index = match self.user_caller(credentials) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        handler_ran("PUT /api/v1/users/me", credentials.authorization);
        let update: ProfileUpdate = match serde_json::from_slice(body) {
            Ok(update) => update,
            Err(e) => {
                return Reply::error(
                    400,
                    "E0000001",
                    "Api validation failed: profile",
                    Some(&format!(
                        "The body is not {{\"profile\":{{\"firstName\",\"lastName\"}}}}: {e}"
                    )),
                )
            }
        };
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users[index].config.first_name = update.profile.first_name;
        users[index].config.last_name = update.profile.last_name;
        Reply::json(200, users[index].json())
    }

    /// `GET /api/v1/users/{id}`.
    pub fn user(&self, credentials: Credentials<'_>, id: &str) -> Reply {
        match self.caller(credentials.cookie, credentials.authorization) {
            Caller::User(_) | Caller::ApiToken => {}
            Caller::Anonymous => return no_session(credentials),
            Caller::BadToken => return invalid_token(),
        }
        handler_ran("GET /api/v1/users/{id}", credentials.authorization);
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        match users.iter().find(|u| u.config.id == id) {
            Some(user) => Reply::json(200, user.json()),
            None => Reply::error(
                404,
                "E0000007",
                &format!("Not found: Resource not found: {id} (User)"),
                None,
            ),
        }
    }

    /// `GET /api/v1/users`: server-side callers with an API token only.
    pub fn list_users(&self, authorization: Option<&str>) -> Reply {
        match authorization.map(|a| self.caller(None, Some(a))) {
            Some(Caller::ApiToken) => {
                handler_ran("GET /api/v1/users", authorization);
                let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
                Reply::json(200, users.iter().map(User::json).collect())
            }
            _ => invalid_token(),
        }
    }
}

/// 403 `E0000005` for a call without a session, saying why there is none: a session cookie the
/// org does not know (signed out, or the org restarted), or no cookie at all; then, on a
/// cross-site call, that the browser does not send the session cookie (`SameSite=Lax`) there.
pub(crate) fn no_session(credentials: Credentials<'_>) -> Reply {
    let sent = session_id(credentials.cookie).is_some();
    let cause = match (sent, credentials.sec_fetch_site) {
        (true, _) => "The session cookie that came with this call is not a session of this org (signed out, or the org restarted): sign in again",
        (false, Some("cross-site")) => "No session cookie came with this call, and none can: the page is on another site than the org (Sec-Fetch-Site: cross-site), and the org's session cookie is SameSite=Lax, which browsers send only to the same site and on top-level navigations. Call with an access token (Authorization: Bearer), or serve the page from a trusted origin on the org's own site (such as another port of localhost)",
        (false, _) => "No session cookie came with this call: sign in to the org in this browser first",
    };
    Reply::error(403, "E0000005", "Invalid session", Some(cause))
}
