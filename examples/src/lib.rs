//! The example Okta-like org, shared by `org-server` (axum) and `org-server-actix`: its
//! configuration, users and sessions, and every endpoint as a framework-neutral function that
//! returns a [`Reply`]. The two binaries only translate requests and replies, so they behave
//! identically.
//!
//! - [`config`]: the configuration file (`examples/org.toml`, embedded as [`DEFAULT_CONFIG`]);
//! - [`org`]: the running [`Org`], its store and server-side endpoints;
//! - [`sessions`]: sign-in, sign-out and the session cookie;
//! - [`users`]: the users API, CORS-enabled; [`events`]: the WebSockets (the user's events, the
//!   console's changes);
//! - [`pages`]: the org's pages and their stylesheet;
//! - [`console`]: the admin console; [`explain`]: "why was this blocked?";
//! - [`cli`]: the binaries' flags.

pub mod cli;
pub mod config;
pub mod console;
pub mod events;
pub mod explain;
pub mod org;
pub mod pages;
pub mod reply;
pub mod sessions;
pub mod users;

pub use config::{
    listen_origin, ApiSettings, OrgConfig, ServerLimits, StartError, StoreLocation, UserConfig,
    DEFAULT_SNAPSHOT_DIR, DEFAULT_STORE,
};
pub use org::{me_policy, user_policy, Org};
pub use pages::html_escape;
pub use reply::{Reply, ReplyBody};
pub use sessions::{joined_cookies, session_cookie, LoginForm, RedirectParam};
pub use users::Credentials;

/// The embedded default configuration (`examples/org.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../org.toml");

/// Logs to stderr: the `trusted_cors` denials and the org's `handler ran` lines, at INFO. The
/// database driver (sqlx: a failed ping of an idle connection while the database is down, the
/// server's notices) only from WARN: the store's own lines (target `trusted_cors::store`) say
/// when the database is lost and when it is back.
pub fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish()
        .with(
            Targets::new()
                .with_default(tracing::Level::INFO)
                .with_target("sqlx", tracing::Level::WARN),
        )
        .init();
}
