//! The command-line flags of the example binaries, in one place. Every binary answers `--help`
//! (its flags, the values they take and their defaults, on standard output, exit status 0) and
//! refuses a flag it does not know (the usage and the flag on standard error, exit status 2).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser};

use crate::{init_logging, Org, OrgConfig, StartError};

/// Where an org's configuration and trusted origins come from (`org-server`,
/// `org-server-actix`, `cors-explain`).
#[derive(Debug, Clone, Default, Args)]
pub struct OrgSource {
    /// The org's configuration file (TOML; see examples/org.toml) [default: the embedded
    /// examples/org.toml]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where the trusted origins are kept: `memory` (nothing kept), a SQLite file path, or a
    /// postgres://user:password@host/db URL [default: the configuration's `store`, else
    /// trusted-origins.db in the working directory]
    #[arg(long, value_name = "LOCATION")]
    pub store: Option<String>,
}

impl OrgSource {
    /// The configuration (the embedded one without `--config`), with `--store` applied.
    pub fn load(&self) -> Result<OrgConfig, StartError> {
        let mut config = OrgConfig::load(self.config.as_deref())?;
        if let Some(store) = &self.store {
            config.store = Some(store.clone());
        }
        Ok(config)
    }
}

/// The flags of `org-server` and `org-server-actix`.
#[derive(Debug, Clone, Parser)]
pub struct OrgServerArgs {
    /// The address to listen on; port 0 takes a free port. The server prints
    /// `listening on http://HOST:PORT` on standard output once it listens
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// `--config` and `--store`.
    #[command(flatten)]
    pub source: OrgSource,
    /// With a PostgreSQL store: the directory of this instance's last-known-good copy of the
    /// trusted origins, which it serves when it starts while the database is down (one
    /// directory per instance) [default: the configuration's `snapshot_dir`, else
    /// trusted-origins-snapshot in the working directory]
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
}

/// The flags of `cors-tester`.
#[derive(Debug, Clone, Parser)]
pub struct TesterArgs {
    /// The address to listen on; port 0 takes a free port
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,
    /// The org the page calls, pre-filled in the page (it can be changed there)
    #[arg(long, value_name = "URL", default_value = "http://localhost:8080")]
    pub org: String,
}

/// The flags of `cors-explain`.
#[derive(Debug, Clone, Parser)]
#[command(
    after_help = "Exit status: 0 when the call gets through (allowed, or no CORS rule \
applies), 1 when it is refused or blocked, 2 on a usage or configuration error."
)]
pub struct ExplainArgs {
    /// The origin of the page that makes the call.
    #[arg(
        long,
        value_name = "ORIGIN",
        help = "The origin of the page that makes the call, e.g. https://shop.example.com"
    )]
    pub origin: String,
    /// The path called, e.g. /api/v1/users/me
    #[arg(long, value_name = "PATH")]
    pub path: String,
    /// The method of the call
    #[arg(long, value_name = "METHOD", default_value = "GET")]
    pub method: String,
    /// A request header the page sets (repeat the flag, or separate names with commas)
    #[arg(
        long = "header",
        alias = "headers",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub headers: Vec<String>,
    /// The page sends cookies (fetch's credentials: 'include')
    #[arg(long)]
    pub credentials: bool,
    /// The page opens a WebSocket to PATH (new WebSocket(url)) rather than calling it; --method
    /// and --header are then not used
    #[arg(long)]
    pub websocket: bool,
    /// Print the explanation as JSON (the body of GET /api/v1/cors/explain)
    #[arg(long)]
    pub json: bool,
    /// `--config` and `--store`.
    #[command(flatten)]
    pub source: OrgSource,
}

/// Parses the process's arguments as `T` for the program `name`, described by `about`. On
/// `--help` it prints the help and exits 0; on a usage error it prints the error and the usage
/// to standard error and exits 2.
pub fn parse<T: Parser>(name: &'static str, about: &'static str) -> T {
    let matches = T::command().name(name).about(about).get_matches();
    T::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

/// What both org servers do first: read their flags, load the configuration (the embedded one
/// by default), listen on the address (so that the API's links can name it) and build the org.
/// On failure it prints why and returns the exit code (2 for a configuration that cannot be
/// used).
pub async fn start_org(
    name: &'static str,
    about: &'static str,
) -> Result<(OrgServerArgs, Arc<Org>, std::net::TcpListener), ExitCode> {
    let args: OrgServerArgs = parse(name, about);
    init_logging();
    let fail = |error: StartError| {
        eprintln!("{name}: {error}");
        ExitCode::from(2)
    };
    let mut config = args.source.load().map_err(fail)?;
    if let Some(dir) = &args.snapshot_dir {
        config.snapshot_dir = Some(dir.clone());
    }
    let listener = std::net::TcpListener::bind(args.addr)
        .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
        .map_err(|error| {
            eprintln!("{name}: cannot listen on {}: {error}", args.addr);
            ExitCode::FAILURE
        })?;
    config.listen_addr = listener.local_addr().ok();
    let org = Org::open(config).await.map_err(fail)?;
    Ok((args, org, listener))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_flags_are_well_formed() {
        OrgServerArgs::command().debug_assert();
        TesterArgs::command().debug_assert();
        ExplainArgs::command().debug_assert();
    }
}
