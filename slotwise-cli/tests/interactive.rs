//! `slotwise cli` with no command: at a prompt through a pseudo-terminal (line editing,
//! redis-cli style replies, the prompt naming the node that served the last command, `help`,
//! history kept), and with commands piped in (one per line, exit code 1 if any failed). On the
//! shared cluster, keys of their own.
// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use slotwise::RedisCluster;
use slotwise_testkit::LocalCluster;

fn cluster() -> &'static LocalCluster {
    slotwise_testkit::shared()
}

/// `host:port` of the node serving `key`.
fn owner(key: &str) -> String {
    let port = cluster()
        .node_for_slot(RedisCluster::keyslot(key))
        .unwrap()
        .port;
    format!("127.0.0.1:{port}")
}

/// Runs `slotwise cli -u <seed>` with `input` on stdin; its exit code and stdout.
fn piped(input: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slotwise"))
        .args(["cli", "-u", cluster().seed_url().as_str()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn piped_commands_run_one_per_line() {
    let (code, out, err) = piped(
        "SET repl:piped \"hello world\"\nGET repl:piped\n\n  \nGET repl:piped:missing\nDEL repl:piped\n",
    );
    assert_eq!(code, Some(0), "stderr: {err}");
    assert_eq!(out, "OK\n\"hello world\"\n(nil)\n(integer) 1\n");
    // A failing line does not stop the rest; the exit code says one failed.
    let (code, out, err) = piped("NOSUCHCOMMAND x\nSET repl:after 1\nGET \"unbalanced\n");
    assert_eq!(code, Some(1));
    assert!(out.starts_with("(error) ERR unknown command"), "{out}");
    assert!(out.contains("OK\n"), "{out}");
    assert!(out.contains("(error) Invalid argument(s)"), "{out}");
    assert!(err.contains("2 commands failed"), "{err}");
    // `quit` ends the input early.
    let (code, out, _) = piped("SET repl:quit 1\nquit\nSET repl:quit 2\n");
    assert_eq!(code, Some(0));
    assert_eq!(out, "OK\n");
}

#[test]
fn the_prompt_edits_lines_and_names_the_serving_node() {
    let home = std::env::temp_dir().join(format!("slotwise-repl-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_slotwise"));
    command
        .args(["cli", "-u", cluster().seed_url().as_str()])
        .env("HOME", &home)
        .env("TERM", "dumb");
    let mut session = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    // The first prompt names the default node.
    session.exp_regex(r"127\.0\.0\.1:\d+> ").unwrap();

    let key = "repl:{prompt}:k";
    session
        .send_line(&format!("SET {key} 'hello there'"))
        .unwrap();
    session.exp_string("OK").unwrap();
    session.exp_string(&format!("{}> ", owner(key))).unwrap();
    session.send_line(&format!("GET {key}")).unwrap();
    session.exp_string("\"hello there\"").unwrap();

    // An error reply is shown, and the prompt goes on.
    session.send_line("INCR repl:{prompt}:k").unwrap();
    session
        .exp_string("(error) ERR value is not an integer")
        .unwrap();
    // A fan-out: the prompt counts the nodes.
    session.send_line("DBSIZE").unwrap();
    session.exp_regex(r"\d+ nodes> ").unwrap();

    session.send_line("help").unwrap();
    session.exp_string("quit, exit").unwrap();
    session.send_line("help GET").unwrap();
    session.exp_string("summary").unwrap();
    session.send_line("help NOSUCHCOMMAND").unwrap();
    session
        .exp_string("(error) no command named NOSUCHCOMMAND")
        .unwrap();

    session.send_line("quit").unwrap();
    session.exp_eof().unwrap();
    // What was typed is kept for the next session.
    let history = std::fs::read_to_string(home.join(".slotwise_history")).unwrap();
    assert!(history.contains(&format!("GET {key}")), "{history}");
    let _ = std::fs::remove_dir_all(&home);
}
