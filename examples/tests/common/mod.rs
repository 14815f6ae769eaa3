//! Helpers shared by the example tests: the org binaries as real processes.
#![allow(dead_code, unreachable_pub)]

pub mod raw;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A new, empty directory for one test, named `trusted-cors-{name}-…` in the system's temporary
/// directory and removed with everything in it when dropped, whether the test passes or fails.
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("trusted-cors-{name}-"))
        .tempdir()
        .expect("create a temporary directory")
}

/// A child process, killed when dropped; its stderr is kept for assertions.
pub struct Proc {
    pub child: Child,
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `program` and waits for its `listening on http://HOST:PORT` line.
    pub fn start(program: &Path, args: &[&str]) -> (Proc, String) {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let proc = Proc { child, stderr: log };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => (proc, url),
            Err(_) => panic!(
                "{} did not print `listening on`: {}",
                program.display(),
                proc.log()
            ),
        }
    }

    /// Starts an org server on a free loopback port with `config`, and `extra` flags.
    pub fn start_org(server: &str, config: &Path, extra: &[&str]) -> (Proc, String) {
        let mut args = vec!["--addr", "127.0.0.1:0", "--config"];
        args.push(config.to_str().expect("a UTF-8 path"));
        args.extend_from_slice(extra);
        Proc::start(Path::new(server), &args)
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the process has logged a line containing every one of `needles`.
    pub fn wait_for_log(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if let Some(line) = log
                .lines()
                .find(|line| needles.iter().all(|n| line.contains(n)))
            {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?} in:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Every name, following `Link: rel="next"` across pages.
pub async fn list_names(client: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let listed = list_origins(client, base, token).await;
    listed
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Every trusted origin, as the API lists it with the API token `token`, following
/// `Link: rel="next"` across pages.
pub async fn list_origins(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> Vec<serde_json::Value> {
    let mut listed = Vec::new();
    let mut next = Some(format!("{base}/api/v1/trustedOrigins?limit=200"));
    while let Some(url) = next.take() {
        let response = client
            .get(&url)
            .header("authorization", format!("SSWS {token}"))
            .send()
            .await
            .unwrap();
        next = response
            .headers()
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|l| l.ends_with("rel=\"next\""))
            .and_then(|l| Some(format!("{base}{}", l.get(1..l.find('>')?)?)));
        let body: serde_json::Value = response.json().await.unwrap();
        listed.extend(body.as_array().unwrap().iter().cloned());
    }
    listed
}
