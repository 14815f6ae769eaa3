//! Every example binary's command line: `--help` prints the flags, the values they take and
//! their defaults on standard output and exits 0; a flag it does not know prints the usage and
//! that flag on standard error and exits 2, before anything starts.

use std::process::{Command, Output};

/// What the org servers' help names: their flags, the values `--store` takes, the default
/// address.
const ORG_SERVER: &[&str] = &[
    "--addr <HOST:PORT>",
    "127.0.0.1:8080",
    "--config <PATH>",
    "--store <LOCATION>",
    "memory",
    "postgres://",
];

const BINARIES: [(&str, &str, &[&str]); 4] = [
    ("org-server", env!("CARGO_BIN_EXE_org-server"), ORG_SERVER),
    (
        "org-server-actix",
        env!("CARGO_BIN_EXE_org-server-actix"),
        ORG_SERVER,
    ),
    (
        "cors-tester",
        env!("CARGO_BIN_EXE_cors-tester"),
        &[
            "--addr <HOST:PORT>",
            "127.0.0.1:8081",
            "--org <URL>",
            "http://localhost:8080",
        ],
    ),
    (
        "cors-explain",
        env!("CARGO_BIN_EXE_cors-explain"),
        &[
            "--origin <ORIGIN>",
            "--path <PATH>",
            "--method <METHOD>",
            "[default: GET]",
            "--header <NAME>",
            "--credentials",
            "--json",
            "--store <LOCATION>",
            "Exit status: 0",
        ],
    ),
];

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap()
}

#[test]
fn help_lists_the_flags_on_stdout() {
    for (name, program, expected) in BINARIES {
        for flag in ["--help", "-h"] {
            let output = run(program, &[flag]);
            assert_eq!(output.status.code(), Some(0), "{name} {flag}: {output:?}");
            assert!(output.stderr.is_empty(), "{name} {flag}: {output:?}");
            let help = String::from_utf8(output.stdout).unwrap();
            assert!(help.contains(&format!("Usage: {name}")), "{name}:\n{help}");
            for text in expected {
                assert!(help.contains(text), "{name}: no `{text}` in:\n{help}");
            }
        }
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    for (name, program, _) in BINARIES {
        let output = run(program, &["--colour", "blue"]);
        assert_eq!(output.status.code(), Some(2), "{name}: {output:?}");
        assert!(output.stdout.is_empty(), "{name}: {output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("'--colour'"), "{name}:\n{stderr}");
        assert!(
            stderr.contains(&format!("Usage: {name}")),
            "{name}:\n{stderr}"
        );
    }
    let output = run(env!("CARGO_BIN_EXE_org-server"), &["--addr", "localhost"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--addr <HOST:PORT>"), "{stderr}");
}

#[test]
fn a_configuration_that_cannot_be_used_exits_2_naming_the_problem() {
    for (name, program) in [
        ("org-server", env!("CARGO_BIN_EXE_org-server")),
        ("org-server-actix", env!("CARGO_BIN_EXE_org-server-actix")),
    ] {
        let output = run(
            program,
            &["--addr", "127.0.0.1:0", "--store", "mysql://db/org"],
        );
        assert_eq!(output.status.code(), Some(2), "{name}: {output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains(&format!("{name}: config: store: `mysql`")),
            "{stderr}"
        );
    }
}
