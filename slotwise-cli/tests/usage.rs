//! The command line itself: help, version and usage errors, with their exit codes. None of these
//! needs a server (running `slotwise` without arguments starts the demo: see `demo.rs`).

mod common;

use common::{slotwise, stderr, stdout};

#[test]
fn help_lists_every_command() {
    let output = slotwise(&["--help"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for command in ["demo", "cli", "nodes", "cluster"] {
        assert!(text.contains(command), "`{command}` missing from:\n{text}");
    }

    let output = slotwise(&["cluster", "--help"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for command in ["start", "status", "stop"] {
        assert!(text.contains(command), "`{command}` missing from:\n{text}");
    }

    let output = slotwise(&["cluster", "start", "--help"]);
    let text = stdout(&output);
    for option in ["--primaries", "--replicas", "--port", "[default: 7000]"] {
        assert!(text.contains(option), "`{option}` missing from:\n{text}");
    }

    let output = slotwise(&["cli", "--help"]);
    let text = stdout(&output);
    for option in [
        "--url",
        "[default: redis://127.0.0.1:7000]",
        "--target",
        "--readonly",
    ] {
        assert!(text.contains(option), "`{option}` missing from:\n{text}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let output = slotwise(&["--version"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["cluster", "start", "--bogus"][..],
        &["cluster", "start", "--primaries", "0"],
        &["cluster", "status", "--port", "not-a-port"],
        &["cluster", "stop", "--port", "60000"],
        &["cluster"],
        &["no-such-command"],
        &["cli", "--target", "nowhere", "PING"],
        &["nodes", "--bogus"],
    ] {
        let output = slotwise(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "`slotwise {}` should be a usage error; stderr: {}",
            args.join(" "),
            stderr(&output)
        );
        assert!(!stderr(&output).is_empty(), "no message for {args:?}");
    }
}
