//! Test support for the trusted-cors workspace (never published): [`PgCluster`], a private,
//! throw-away PostgreSQL cluster that a test starts for itself.
//!
//! Tests run against a real PostgreSQL, never a mock. [`PgCluster::start`] uses the server
//! binaries of the installed PostgreSQL (`initdb` and `pg_ctl`; on Debian the `postgresql`
//! package puts them outside `PATH`, in `/usr/lib/postgresql/<version>/bin`), creates a cluster in
//! a new temporary directory, starts it on `127.0.0.1` on a free port (and on a Unix socket in
//! that directory), waits until it accepts connections and creates the database `trusted_cors`.
//! Dropping the [`PgCluster`] stops the server and removes the directory.
//!
//! - **Run as root** (as CI does): PostgreSQL refuses to run as root, so the server and its tools
//!   run as the `postgres` user (`runuser -u postgres --`, or `su` where `runuser` is missing),
//!   and the directory belongs to that user. Otherwise they run as the current user.
//! - **Where the binaries are**: `$TRUSTED_CORS_PG_BIN` when set (a directory holding `initdb`,
//!   `pg_ctl` and `psql`); else the highest version in `/usr/lib/postgresql/*/bin`; else `PATH`.
//! - **When PostgreSQL is not installed**, [`PgCluster::start`] prints a loud skip notice to
//!   standard error and returns `None`, so that a test can return early; unless the environment
//!   variable `CI` is `true`, where it panics, so that CI never passes without the PostgreSQL
//!   tests. (Install it with `apt-get install -y postgresql`.) Once PostgreSQL is found, any
//!   failure to start it panics with the server's log.
//! - **Faults**: [`stop`](PgCluster::stop) and [`start_again`](PgCluster::start_again) (same data,
//!   same port), [`kill_backends`](PgCluster::kill_backends) (ends every client connection, as a
//!   failover or an administrator would).
//!
//! Each cluster costs about a second to create; a test that stops its cluster should have one of
//! its own. A test process killed with `SIGKILL` leaves its server running (nothing can stop it
//! then); a later `pg_ctl -D <dir>/data stop` or a reboot does.
//!
//! ```no_run
//! use trusted_cors_testing::PgCluster;
//!
//! let Some(pg) = PgCluster::start() else { return }; // skipped, loudly
//! let url = pg.url(); // postgres://postgres@127.0.0.1:<port>/trusted_cors
//! // … connect with any driver: trust authentication, no password …
//! pg.stop();
//! pg.start_again();
//! drop(pg); // stopped and removed
//! ```
//!
//! Use it from a crate of this workspace as a dev-dependency:
//! `trusted-cors-testing.workspace = true` under `[dev-dependencies]`.
//!
//! The suites' shared origins, seeds and route policies are in [`fixtures`].

pub mod fixtures;

/// A `tracing` writer that appends to one shared buffer: for tests that read what was logged.
#[derive(Debug, Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line at INFO and above of this test binary, from the first call on: the first call
/// installs the global `tracing` subscriber, writing plain text (no colours) to one buffer.
///
/// # Panics
///
/// When another global subscriber was installed first.
pub fn global_log() -> &'static Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        log
    })
}

/// Cuts `file` to half its length, as a crash or a full disk may leave a file: for tests of
/// what a program does with a damaged file.
pub fn cut_in_half(file: &std::path::Path) {
    let length = std::fs::metadata(file).expect("the file to cut").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|opened| opened.set_len(length / 2))
        .expect("the file cut in half");
}

/// Skips a test whose component is missing (`notice` says which and how to install it), or
/// fails it under CI (`CI=true`), so that CI never passes without it. The notice is written to
/// the process's standard error itself, not through `eprintln!`, which the test harness captures
/// and shows only for failing tests: a skip is seen in a plain `cargo test`.
pub fn skip_or_fail(notice: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{notice}\nUnder CI (CI=true) this component is required: this is a failure, not a skip.");
    }
    use std::io::Write as _;
    let bar = "!".repeat(100);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n!! SKIPPED: {notice}\n{bar}\n");
}

use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The database [`PgCluster::start`] creates, which [`PgCluster::url`] names.
pub const DATABASE: &str = "trusted_cors";

/// The superuser of the cluster (trust authentication: no password).
pub const USER: &str = "postgres";

/// The environment variable naming a directory of PostgreSQL server binaries to use.
pub const BIN_ENV: &str = "TRUSTED_CORS_PG_BIN";

/// Why a cluster could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PgError {
    /// PostgreSQL's server binaries were not found (the message says where they were looked for).
    NotInstalled(String),
    /// PostgreSQL is there but a step failed (the message has the command's output or the
    /// server's log).
    Failed(String),
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgError::NotInstalled(message) => write!(f, "PostgreSQL is not installed: {message}"),
            PgError::Failed(message) => write!(f, "PostgreSQL failed: {message}"),
        }
    }
}

impl std::error::Error for PgError {}

/// A private PostgreSQL cluster in a temporary directory, listening on `127.0.0.1` on a free
/// port; stopped and removed when dropped. See the [crate docs](crate).
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    runner: Runner,
    running: Mutex<bool>,
}

/// How the PostgreSQL tools are run.
#[derive(Debug, Clone)]
enum Runner {
    /// As the current user (not root).
    Direct,
    /// As `postgres`, through `runuser`.
    Runuser,
    /// As `postgres`, through `su` (where `runuser` is missing).
    Su,
}

impl PgCluster {
    /// Starts a private cluster with the database [`DATABASE`], or, when PostgreSQL is not
    /// installed, prints a loud skip notice to standard error and returns `None` (a test then
    /// returns early).
    ///
    /// # Panics
    ///
    /// When PostgreSQL is not installed and the environment variable `CI` is `true`; when it is
    /// installed but the cluster cannot be started (with the reason and the server's log).
    pub fn start() -> Option<PgCluster> {
        match PgCluster::try_start() {
            Ok(cluster) => Some(cluster),
            Err(PgError::NotInstalled(message)) => {
                skip_or_fail(&format!(
                    "this test needs PostgreSQL, which is not installed ({message}). Install it \
                     with `apt-get install -y postgresql`, or set {BIN_ENV} to its bin directory."
                ));
                None
            }
            Err(error) => panic!("{error}"),
        }
    }

    /// Starts a private cluster with the database [`DATABASE`]; says why it could not.
    pub fn try_start() -> Result<PgCluster, PgError> {
        let bin = find_bin()?;
        let runner = runner()?;
        let dir = make_dir(&runner)?;
        let mut cluster = PgCluster {
            bin,
            dir,
            port: 0,
            runner,
            running: Mutex::new(false),
        };
        // On an error from here on, dropping `cluster` stops and removes what was made.
        let data = cluster.data_dir();
        let output = cluster.run(
            "initdb",
            [
                "-D".into(),
                data.into_os_string(),
                "-U".into(),
                USER.into(),
                "-A".into(),
                "trust".into(),
                "-E".into(),
                "UTF8".into(),
                "--locale=C".into(),
                "--no-sync".into(),
            ],
        )?;
        check("initdb", &output)?;
        // A free port can be taken by someone else before the server binds it: try a few.
        let mut last = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(error) => {
                    let log = cluster.log();
                    last = Some(error);
                    if !log.contains("could not bind") && !log.contains("in use") {
                        break;
                    }
                }
            }
        }
        if let Some(error) = last {
            return Err(error);
        }
        cluster.psql("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
        Ok(cluster)
    }

    /// The URL of the database [`DATABASE`]: `postgres://postgres@127.0.0.1:<port>/trusted_cors`.
    pub fn url(&self) -> String {
        self.database_url(DATABASE)
    }

    /// The URL of another database of the cluster (see [`create_database`](Self::create_database)).
    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates another database (a plain identifier: letters, digits, `_`) and returns its URL.
    ///
    /// # Panics
    ///
    /// When the name is not a plain identifier, or the database cannot be created.
    pub fn create_database(&self, database: &str) -> String {
        assert!(
            !database.is_empty()
                && database
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "not a plain database name: {database:?}"
        );
        self.psql("postgres", &format!("CREATE DATABASE {database}"))
            .unwrap_or_else(|error| panic!("{error}"));
        self.database_url(database)
    }

    /// The TCP port, on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the cluster (`data/`), its log (`server.log`) and its Unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of the PostgreSQL binaries used (`initdb`, `pg_ctl`, `psql`, …).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Whether the server is running (as far as this handle knows).
    pub fn is_running(&self) -> bool {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the server (`pg_ctl stop -m fast`: client connections are ended, the data stays)
    /// and waits until it is down. Does nothing when it is not running.
    ///
    /// # Panics
    ///
    /// When `pg_ctl` fails.
    pub fn stop(&self) {
        self.stop_mode("fast")
            .unwrap_or_else(|error| panic!("{error}"));
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no shutdown checkpoint; the
    /// next start recovers from the write-ahead log). Does nothing when it is not running.
    ///
    /// # Panics
    ///
    /// When `pg_ctl` fails.
    pub fn stop_immediate(&self) {
        self.stop_mode("immediate")
            .unwrap_or_else(|error| panic!("{error}"));
    }

    /// Starts the stopped server again: same data, same port. Waits until it accepts
    /// connections. Does nothing when it is running.
    ///
    /// # Panics
    ///
    /// When it cannot be started (with its log).
    pub fn start_again(&self) {
        if self.is_running() {
            return;
        }
        self.pg_ctl_start()
            .unwrap_or_else(|error| panic!("{error}"));
    }

    /// Ends every client connection to every database of the cluster (`pg_terminate_backend`),
    /// as a failover or an administrator would; the server keeps running and accepts new
    /// connections at once. Returns how many were ended.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached.
    pub fn kill_backends(&self) -> usize {
        let output = self
            .psql(
                "postgres",
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )
            .unwrap_or_else(|error| panic!("{error}"));
        output.trim().parse().unwrap_or(0)
    }

    /// Runs SQL statements with `psql` in a database of the cluster, as the superuser, and
    /// returns what `psql` printed (unaligned, tuples only: one row a line, columns split by
    /// `|`).
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgError> {
        let output = self.run(
            "psql",
            [
                "-X".into(),
                "-q".into(),
                "-A".into(),
                "-t".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-h".into(),
                self.dir.clone().into_os_string(),
                "-p".into(),
                self.port.to_string().into(),
                "-U".into(),
                USER.into(),
                "-d".into(),
                database.into(),
                "-c".into(),
                sql.into(),
            ],
        )?;
        check("psql", &output)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl_start(&self) -> Result<(), PgError> {
        // pg_ctl hands `-o` to a shell: quote the directory.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k '{}' -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let output = self.run(
            "pg_ctl",
            [
                "-D".into(),
                self.data_dir().into_os_string(),
                "-l".into(),
                self.dir.join("server.log").into_os_string(),
                "-w".into(),
                "-t".into(),
                "60".into(),
                "-o".into(),
                options.into(),
                "start".into(),
            ],
        )?;
        if let Err(PgError::Failed(message)) = check("pg_ctl start", &output) {
            return Err(PgError::Failed(format!(
                "{message}\nserver log:\n{}",
                self.log()
            )));
        }
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = true;
        Ok(())
    }

    fn stop_mode(&self, mode: &str) -> Result<(), PgError> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if !*running {
            return Ok(());
        }
        let output = self.run(
            "pg_ctl",
            [
                "-D".into(),
                self.data_dir().into_os_string(),
                "-m".into(),
                mode.into(),
                "-w".into(),
                "-t".into(),
                "60".into(),
                "stop".into(),
            ],
        )?;
        check("pg_ctl stop", &output)?;
        *running = false;
        Ok(())
    }

    /// Runs one of the PostgreSQL programs, as the user that may run them.
    fn run<I>(&self, program: &str, args: I) -> Result<Output, PgError>
    where
        I: IntoIterator<Item = OsString>,
    {
        let program = self.bin.join(program);
        let mut command = match self.runner {
            Runner::Direct => {
                let mut command = Command::new(&program);
                command.args(args);
                command
            }
            Runner::Runuser => {
                let mut command = Command::new("runuser");
                command.args(["-u", USER, "--"]).arg(&program).args(args);
                command
            }
            Runner::Su => {
                let mut line = shell_quote(program.as_os_str());
                for arg in args {
                    line.push(' ');
                    line.push_str(&shell_quote(&arg));
                }
                let mut command = Command::new("su");
                command.args([USER, "-s", "/bin/sh", "-c"]).arg(line);
                command
            }
        };
        for name in [
            "PGDATA",
            "PGHOST",
            "PGHOSTADDR",
            "PGPORT",
            "PGUSER",
            "PGDATABASE",
            "PGPASSWORD",
            "PGOPTIONS",
            "PGSERVICE",
        ] {
            command.env_remove(name);
        }
        command
            .env("LC_ALL", "C")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| PgError::Failed(format!("cannot run {}: {error}", program.display())))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop_mode("immediate") {
            eprintln!(
                "trusted-cors-testing: could not stop the cluster in {}: {error}",
                self.dir.display()
            );
        }
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!(
                "trusted-cors-testing: could not remove {}: {error}",
                self.dir.display()
            );
        }
    }
}

/// The directory of the PostgreSQL server binaries.
fn find_bin() -> Result<PathBuf, PgError> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "psql"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(PgError::NotInstalled(format!(
                "{BIN_ENV}={} does not hold initdb, pg_ctl and psql",
                dir.display()
            )))
        };
    }
    let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u64>>>()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| complete(dir)) {
            return Ok(dir);
        }
    }
    Err(PgError::NotInstalled(
        "no initdb, pg_ctl and psql in /usr/lib/postgresql/*/bin or on PATH".into(),
    ))
}

/// Root must run PostgreSQL as `postgres`; anyone else runs it as themselves.
fn runner() -> Result<Runner, PgError> {
    if !is_root() {
        return Ok(Runner::Direct);
    }
    let known = Command::new("id")
        .args(["-u", USER])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !known {
        return Err(PgError::Failed(format!(
            "running as root, PostgreSQL must run as the user `{USER}`, which does not exist \
             (the postgresql package creates it)"
        )));
    }
    let runuser = Command::new("runuser")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    Ok(if runuser { Runner::Runuser } else { Runner::Su })
}

fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|line| line.starts_with("Uid:")) {
            return line.split_whitespace().nth(1) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A new, empty temporary directory that the user running PostgreSQL owns (mode 0700).
fn make_dir(runner: &Runner) -> Result<PathBuf, PgError> {
    use std::os::unix::fs::PermissionsExt as _;
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "trusted-cors-pg-{}-{}-{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let fail = |what: &str, error: std::io::Error| {
        PgError::Failed(format!("cannot {what} {}: {error}", dir.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail("create", e))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| fail("set the mode of", e))?;
    if !matches!(runner, Runner::Direct) {
        let id = |flag: &str| -> Result<u32, PgError> {
            let output = Command::new("id")
                .args([flag, USER])
                .output()
                .map_err(|e| PgError::Failed(format!("cannot run id: {e}")))?;
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .map_err(|_| PgError::Failed(format!("no id {flag} for {USER}")))
        };
        let (uid, gid) = (id("-u")?, id("-g")?);
        if let Err(error) = std::os::unix::fs::chown(&dir, Some(uid), Some(gid)) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(fail("give to postgres", error));
        }
    }
    Ok(dir)
}

/// A port on `127.0.0.1` that nothing listens on (now).
fn free_port() -> Result<u16, PgError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()) {
            Ok(address) => return Ok(address.port()),
            Err(error) if Instant::now() > deadline => {
                return Err(PgError::Failed(format!("no free port: {error}")))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn check(what: &str, output: &Output) -> Result<(), PgError> {
    if output.status.success() {
        return Ok(());
    }
    Err(PgError::Failed(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// `value` as one word for `/bin/sh`.
fn shell_quote(value: &std::ffi::OsStr) -> String {
    format!("'{}'", value.to_string_lossy().replace('\'', r"'\''"))
}
