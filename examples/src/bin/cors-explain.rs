//! Why a call from a page would be allowed, refused or blocked by the example org, from a
//! terminal: the same explanation as `GET /api/v1/cors/explain`. `cors-explain --help` lists its
//! flags and exit statuses.
//!
//! ```sh
//! cargo run -p trusted-cors-examples --bin cors-explain -- --config examples/org.toml \
//!     --origin https://shop.example.com --path /api/v1/users/me --method PUT \
//!     --header content-type --credentials
//! ```
//!
//! It reads the org's store without changing it (a SQLite file is opened read-only and never
//! created); without one, it explains against the configuration's trusted origins and says so
//! on standard error.

use std::process::ExitCode;

use trusted_cors_examples::cli::{parse, ExplainArgs};
use trusted_cors_examples::explain::{
    explain, explanation_text, explanation_value, read_only_cors, CallSpec,
};

const ABOUT: &str = "Explains whether a call from a page on ORIGIN to the example org is \
allowed, refused or blocked by the browser: the preflight the browser sends first when it needs \
one, then the call, each rule checked in order, and the fix. It reads the org's configuration \
and its store, and changes nothing.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: ExplainArgs = parse("cors-explain", ABOUT);
    let spec = CallSpec {
        origin: args.origin,
        path: args.path,
        method: args.method,
        headers: args
            .headers
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect(),
        credentials: args.credentials,
        websocket: args.websocket,
    }
    .checked();
    let spec = match spec {
        Ok(spec) => spec,
        Err(message) => {
            eprintln!("cors-explain: --{message}");
            return ExitCode::from(2);
        }
    };
    let cors = match read_only_cors(&args.source).await {
        Ok((cors, note)) => {
            if let Some(note) = note {
                eprintln!("cors-explain: {note}");
            }
            cors
        }
        Err(error) => {
            eprintln!("cors-explain: {error}");
            return ExitCode::from(2);
        }
    };
    let explained = explain(&cors, &spec);
    if args.json {
        println!("{:#}", explanation_value(&spec, &explained));
    } else {
        print!("{}", explanation_text(&spec, &explained));
    }
    match explained.gets_through() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}
