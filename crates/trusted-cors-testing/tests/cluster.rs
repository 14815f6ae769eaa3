//! The harness itself: a real cluster starts, stops, starts again, loses its connections and is
//! removed.

use std::time::{Duration, Instant};

use trusted_cors_testing::PgCluster;

#[test]
fn a_private_cluster_starts_stops_restarts_and_is_removed() {
    let Some(pg) = PgCluster::start() else { return };
    assert!(pg.url().starts_with("postgres://postgres@127.0.0.1:"));
    assert_eq!(pg.psql("trusted_cors", "SELECT 1 + 1").unwrap().trim(), "2");
    pg.psql(
        "trusted_cors",
        "CREATE TABLE kept (n INTEGER); INSERT INTO kept VALUES (7)",
    )
    .unwrap();

    pg.stop();
    assert!(!pg.is_running());
    assert!(
        pg.psql("trusted_cors", "SELECT 1").is_err(),
        "stopped, yet it answers"
    );
    pg.start_again();
    assert_eq!(
        pg.psql("trusted_cors", "SELECT n FROM kept")
            .unwrap()
            .trim(),
        "7"
    );

    pg.stop_immediate();
    pg.start_again();
    assert_eq!(
        pg.psql("trusted_cors", "SELECT n FROM kept")
            .unwrap()
            .trim(),
        "7"
    );

    // A client connection held open elsewhere is ended.
    let url = pg.create_database("other");
    assert!(url.ends_with("/other"));
    let mut held = std::process::Command::new(pg.bin_dir().join("psql"))
        .args([
            "-X",
            "-h",
            &pg.dir().display().to_string(),
            "-p",
            &pg.port().to_string(),
        ])
        .args(["-U", "postgres", "-d", "other", "-c", "SELECT pg_sleep(60)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg
        .psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'other'",
        )
        .unwrap()
        .trim()
        == "0"
    {
        assert!(Instant::now() < deadline, "psql did not connect");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(pg.kill_backends(), 1);
    let status = held.wait().unwrap();
    assert!(!status.success(), "the held connection was not ended");
    assert_eq!(pg.psql("other", "SELECT 3").unwrap().trim(), "3");

    let dir = pg.dir().to_path_buf();
    assert!(dir.join("data").is_dir());
    drop(pg);
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn two_clusters_run_side_by_side() {
    let (Some(one), Some(two)) = (PgCluster::start(), PgCluster::start()) else {
        return;
    };
    assert_ne!(one.port(), two.port());
    assert_ne!(one.dir(), two.dir());
    one.psql("trusted_cors", "CREATE TABLE only_here (n INTEGER)")
        .unwrap();
    assert!(two.psql("trusted_cors", "SELECT * FROM only_here").is_err());
}
