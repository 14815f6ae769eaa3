//! Serves the "Test your configuration" page; `cors-tester --help` lists its flags.

use std::process::ExitCode;

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use trusted_cors_examples::cli::{parse, TesterArgs};
use trusted_cors_examples::html_escape;
use trusted_cors_examples::pages::STYLE;
use trusted_cors_examples::sessions::random_token;

const ABOUT: &str = "Serves the \"Test your configuration\" page: from a browser, it calls the \
org's GET /api/v1/users/me as a page on this origin would (with the session cookie, an access \
token or an API token), or opens its WebSocket GET /api/v1/users/me/events, and, when the browser \
blocks the call or the socket fails, shows why, rule by rule, as the org explains it.";

const PAGE: &str = include_str!("../tester.html");

/// The page, with a new nonce for its script and style, and a policy that runs nothing else.
fn page(org: &str) -> impl IntoResponse {
    let nonce = random_token();
    let html = PAGE
        .replace("{{STYLE}}", STYLE)
        .replace("{{ORG}}", &html_escape(org))
        .replace("{{NONCE}}", &nonce);
    let policy = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
         connect-src http: https: ws: wss:; base-uri 'none'; form-action 'none'"
    );
    ([("content-security-policy", policy)], Html(html))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: TesterArgs = parse("cors-tester", ABOUT);
    let org = args.org;
    let app = Router::new().route("/", get(move || async move { page(&org) }));
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cors-tester: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on http://{addr}"),
        Err(error) => {
            eprintln!("cors-tester: {error}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(error) = axum::serve(listener, app).await {
        eprintln!("cors-tester: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
