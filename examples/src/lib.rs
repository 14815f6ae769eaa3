//! The example Okta-like org, shared by `org-server` (axum) and `org-server-actix`: its
//! configuration, users and sessions, and every endpoint as a framework-neutral function that
//! returns a [`Reply`]. The two binaries only translate requests and replies, so they behave
//! identically.
//!
//! - [`config`]: the configuration file (`examples/org.toml`, embedded as [`DEFAULT_CONFIG`]);
//! - [`org`]: the running [`Org`], its store and server-side endpoints;
//! - [`sessions`]: sign-in, sign-out and the session cookie;
//! - [`users`]: the users API, CORS-enabled;
//! - [`pages`]: the org's pages and their stylesheet;
//! - [`console`]: the admin console; [`explain`]: "why was this blocked?";
//! - [`cli`]: the binaries' flags.

pub mod cli;
pub mod config;
pub mod console;
pub mod explain;
pub mod org;
pub mod pages;
pub mod reply;
pub mod sessions;
pub mod users;

pub use config::{OrgConfig, ServerLimits, StartError, StoreLocation, UserConfig, DEFAULT_STORE};
pub use org::{me_policy, user_policy, Org};
pub use pages::html_escape;
pub use reply::{Reply, ReplyBody};
pub use sessions::{joined_cookies, session_cookie, LoginForm, RedirectParam};
pub use users::Credentials;

/// The embedded default configuration (`examples/org.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../org.toml");

/// Logs to stderr: the `trusted_cors` denials and the org's `handler ran` lines.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
}
