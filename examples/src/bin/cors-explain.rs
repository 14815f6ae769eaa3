//! Why a call from a page would be allowed, refused or blocked by the example org, from a
//! terminal: the same explanation as `GET /api/v1/cors/explain`.
//!
//! ```sh
//! cargo run -p trusted-cors-examples --bin cors-explain -- --config examples/org.toml \
//!     --origin https://shop.example.com --path /api/v1/users/me --method PUT \
//!     --header content-type --credentials
//! ```
//!
//! Flags: `--origin ORIGIN` and `--path PATH` (required), `--method METHOD` (default `GET`),
//! `--header NAME` (repeatable, or comma-separated), `--credentials` (the page sends cookies),
//! `--config PATH` (default: the embedded `examples/org.toml`), `--store LOCATION` (where the
//! trusted origins are: the configuration's store by default), `--json`. Exits 0 when the call
//! is allowed, 1 when it is refused or blocked, 2 on a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use trusted_cors_examples::explain::{explain, explanation_text, explanation_value, CallSpec};
use trusted_cors_examples::{Org, OrgConfig};

const USAGE: &str = "usage: cors-explain --origin ORIGIN --path PATH [--method METHOD] \
[--header NAME]... [--credentials] [--config PATH] [--store LOCATION] [--json]";

struct Args {
    spec: CallSpec,
    config: Option<PathBuf>,
    store: Option<String>,
    json: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut origin, mut path, mut method) = (None, None, None);
    let (mut headers, mut credentials, mut json) = (Vec::new(), false, false);
    let (mut config, mut store) = (None, None);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--origin" => origin = Some(value("--origin")?),
            "--path" => path = Some(value("--path")?),
            "--method" => method = Some(value("--method")?),
            "--header" | "--headers" => headers.extend(
                value("--header")?
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned),
            ),
            "--credentials" => credentials = true,
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--store" => store = Some(value("--store")?),
            "--json" => json = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let spec = CallSpec {
        origin: origin.ok_or(format!("--origin is required\n{USAGE}"))?,
        path: path.ok_or(format!("--path is required\n{USAGE}"))?,
        method: method.unwrap_or_else(|| "GET".to_owned()),
        headers,
        credentials,
    }
    .checked()?;
    Ok(Args {
        spec,
        config,
        store,
        json,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut config = match OrgConfig::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("cors-explain: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(store) = args.store {
        config.store = Some(store);
    }
    let org = match Org::open(config).await {
        Ok(org) => org,
        Err(error) => {
            eprintln!("cors-explain: {error}");
            return ExitCode::FAILURE;
        }
    };
    let explained = explain(org.cors(), &args.spec);
    if args.json {
        println!("{:#}", explanation_value(&args.spec, &explained));
    } else {
        print!("{}", explanation_text(&args.spec, &explained));
    }
    match explained.gets_through() {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}
