//! Serves the "Test your configuration" page. `--addr HOST:PORT` (default 127.0.0.1:8081),
//! `--org URL` (default http://localhost:8080, pre-filled in the page).

use std::process::ExitCode;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use trusted_cors_examples::{html_escape, Flags};

const PAGE: &str = include_str!("../tester.html");

#[tokio::main]
async fn main() -> ExitCode {
    let flags = match Flags::parse("127.0.0.1:8081", &["--addr", "--org"]) {
        Ok(flags) => flags,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let org = flags
        .org
        .unwrap_or_else(|| "http://localhost:8080".to_owned());
    let page = PAGE.replace("{{ORG}}", &html_escape(&org));
    let app = Router::new().route("/", get(move || async move { Html(page) }));
    let listener = match tokio::net::TcpListener::bind(flags.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cors-tester: cannot listen on {}: {error}", flags.addr);
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
