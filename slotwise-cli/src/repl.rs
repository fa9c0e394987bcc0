//! `slotwise cli` with no command: a prompt like `redis-cli -c`'s when stdin is a terminal
//! (line editing and history), else one command per line of stdin.
//!
//! Lines are split into words as redis-cli splits them ([`split_words`]): spaces separate,
//! `"…"` takes the escapes `\n`, `\r`, `\t`, `\b`, `\a`, `\\`, `\"` and `\xHH`, `'…'` takes `\'`.
//! The prompt names the node that served the last command (`3 nodes` for a fan-out). `help`
//! explains, `help CMD` shows the server's summary of a command, `quit` or `exit` (or Ctrl-D)
//! leaves.

use std::io::{BufRead, IsTerminal};

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use slotwise::protocol::Value;

use crate::output;
use crate::query::Session;
use crate::Failure;

const HELP: &str = "\
Type a command as for redis-cli, e.g. SET foo bar. Each is routed as the library routes it: by
its keys' slot, its routing tips, or to the default node; the prompt names the node that served
the last one. --target and --readonly, given on the command line, apply to every command.

  help CMD     the server's summary of CMD
  quit, exit   leave (Ctrl-D too)
";

/// Runs commands from the prompt, or from stdin when it is not a terminal. From stdin, every
/// line is run even after a failure; the exit code is 1 if any failed.
pub(crate) async fn run(session: &Session) -> Result<(), Failure> {
    if std::io::stdin().is_terminal() {
        prompt(session).await
    } else {
        piped(session).await
    }
}

/// What to do with one line.
enum Line {
    Nothing,
    Quit,
    Help(Option<String>),
    Command(Vec<Vec<u8>>),
}

fn parse_line(line: &str) -> Result<Line, String> {
    let words = split_words(line)?;
    let Some(first) = words.first().map(|w| String::from_utf8_lossy(w)) else {
        return Ok(Line::Nothing);
    };
    if first.eq_ignore_ascii_case("quit") || first.eq_ignore_ascii_case("exit") {
        return Ok(Line::Quit);
    }
    if first.eq_ignore_ascii_case("help") {
        let name = words
            .get(1)
            .map(|w| String::from_utf8_lossy(w).into_owned());
        return Ok(Line::Help(name));
    }
    Ok(Line::Command(words))
}

/// Runs `line`; the text to print, and whether it failed. `None` means quit.
async fn run_line(session: &Session, line: &str) -> Option<(String, bool)> {
    match parse_line(line) {
        Err(e) => Some((format!("(error) {e}\n"), true)),
        Ok(Line::Nothing) => Some((String::new(), false)),
        Ok(Line::Quit) => None,
        Ok(Line::Help(None)) => Some((HELP.to_owned(), false)),
        Ok(Line::Help(Some(name))) => {
            let words = [
                b"COMMAND".to_vec(),
                b"DOCS".to_vec(),
                name.clone().into_bytes(),
            ];
            Some(match session.query(&words).await {
                Ok(docs) => match describe(&name, &docs) {
                    Some(text) => (text, false),
                    // No docs: the server does not know the command.
                    None => (format!("(error) no command named {name}\n"), true),
                },
                Err(e) => (format!("{}\n", shown(&e)), true),
            })
        }
        Ok(Line::Command(words)) => Some(match session.run(&words).await {
            Ok(text) => (text, false),
            Err(e) => (format!("{}\n", shown(&e)), true),
        }),
    }
}

/// `help CMD` from a `COMMAND DOCS` reply (a map, or in RESP2 a flat array, of the command's
/// name to its fields): its summary, since, group and complexity, as redis-cli shows them.
fn describe(name: &str, docs: &Value) -> Option<String> {
    let fields = pairs(docs)?.into_iter().next()?.1;
    let mut text = format!("\n  {}\n", name.to_ascii_uppercase());
    for (field, value) in pairs(fields)? {
        let (Some(field), Some(value)) = (field.as_bytes(), value.as_bytes()) else {
            continue;
        };
        let field = String::from_utf8_lossy(field);
        if ["summary", "since", "group", "complexity"].contains(&field.as_ref()) {
            text.push_str(&format!("  {field}: {}\n", String::from_utf8_lossy(value)));
        }
    }
    text.push('\n');
    Some(text)
}

/// The key/value pairs of a RESP3 map or a RESP2 flat array.
fn pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    match value {
        Value::Map(pairs) => Some(pairs.iter().map(|(k, v)| (k, v)).collect()),
        Value::Array(items) if items.len() % 2 == 0 => {
            Some(items.chunks(2).map(|p| (&p[0], &p[1])).collect())
        }
        _ => None,
    }
}

/// A failure as the prompt shows it: an error reply as redis-cli does, others named.
fn shown(failure: &Failure) -> String {
    if failure.bare {
        failure.message.clone()
    } else {
        format!("(error) {}", failure.message)
    }
}

async fn prompt(session: &Session) -> Result<(), Failure> {
    let mut editor =
        DefaultEditor::new().map_err(|e| Failure::new(format!("no line editor: {e}")))?;
    let history = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".slotwise_history"));
    if let Some(path) = &history {
        // No history yet is fine.
        let _ = editor.load_history(path);
    }
    let mut node = session.cluster.default_node().name().to_owned();
    loop {
        let line = match editor.readline(&format!("{node}> ")) {
            Ok(line) => line,
            // Ctrl-C drops the line, as in redis-cli; Ctrl-D leaves.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::new(format!("cannot read the prompt: {e}"))),
        };
        if !line.trim().is_empty() && !carries_secret(&line) {
            let _ = editor.add_history_entry(line.as_str());
        }
        let Some((text, _)) = run_line(session, &line).await else {
            break;
        };
        output::emit(&text);
        if let Ok(Line::Command(words)) = parse_line(&line) {
            if let Some(served) = session.served_by(&words).await {
                node = served;
            }
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

async fn piped(session: &Session) -> Result<(), Failure> {
    let mut failed = 0usize;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Failure::new(format!("cannot read stdin: {e}")))?;
        let Some((text, bad)) = run_line(session, &line).await else {
            break;
        };
        output::emit(&text);
        failed += usize::from(bad);
    }
    match failed {
        0 => Ok(()),
        n => Err(Failure::new(format!(
            "{n} {} failed",
            output::plural(n, "command", "commands")
        ))),
    }
}

/// True for a line that may hold a password (`AUTH`, `HELLO … AUTH`, `MIGRATE … AUTH2`,
/// `ACL SETUSER`, `CONFIG SET requirepass`/`masterauth`): it is kept out of the history file.
fn carries_secret(line: &str) -> bool {
    let words: Vec<String> = line
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    has("auth")
        || has("auth2")
        || (has("acl") && has("setuser"))
        || (has("config")
            && words
                .iter()
                .any(|w| w.contains("pass") || w.contains("auth")))
}

/// Splits a line into words as redis-cli does; an unbalanced quote, or a closing quote not
/// followed by a space, is an error.
pub(crate) fn split_words(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let invalid = || "Invalid argument(s)".to_owned();
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word: Vec<u8> = Vec::new();
        match first {
            '"' => {
                chars.next();
                loop {
                    match chars.next().ok_or_else(invalid)? {
                        '"' => break,
                        '\\' => match chars.next().ok_or_else(invalid)? {
                            'n' => word.push(b'\n'),
                            'r' => word.push(b'\r'),
                            't' => word.push(b'\t'),
                            'b' => word.push(8),
                            'a' => word.push(7),
                            'x' => {
                                let hex: String = chars.by_ref().take(2).collect();
                                match u8::from_str_radix(&hex, 16) {
                                    Ok(byte) if hex.len() == 2 => word.push(byte),
                                    _ => {
                                        word.push(b'x');
                                        word.extend_from_slice(hex.as_bytes());
                                    }
                                }
                            }
                            other => push(&mut word, other),
                        },
                        c => push(&mut word, c),
                    }
                }
                if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                    return Err(invalid());
                }
            }
            '\'' => {
                chars.next();
                loop {
                    match chars.next().ok_or_else(invalid)? {
                        '\'' => break,
                        '\\' if chars.peek() == Some(&'\'') => {
                            chars.next();
                            word.push(b'\'');
                        }
                        c => push(&mut word, c),
                    }
                }
                if chars.peek().is_some_and(|c| !c.is_whitespace()) {
                    return Err(invalid());
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    push(&mut word, c);
                    chars.next();
                }
            }
        }
        words.push(word);
    }
}

/// Appends `c`, UTF-8 encoded.
fn push(word: &mut Vec<u8>, c: char) {
    word.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_redis_cli_splits_them() {
        let w = |line: &str| -> Vec<String> {
            split_words(line)
                .unwrap()
                .into_iter()
                .map(|w| String::from_utf8(w).unwrap())
                .collect()
        };
        assert_eq!(w("  SET foo  bar "), ["SET", "foo", "bar"]);
        assert_eq!(w(r#"SET k "hello world""#), ["SET", "k", "hello world"]);
        assert_eq!(
            w(r#"SET k "a\nb\t\"c\"\x41""#),
            ["SET", "k", "a\nb\t\"c\"A"]
        );
        assert_eq!(w(r"SET k 'it\'s \n'"), ["SET", "k", "it's \\n"]);
        assert_eq!(w(r#"SET k """#), ["SET", "k", ""]);
        assert_eq!(w("SET k é"), ["SET", "k", "é"]);
        assert_eq!(split_words(r#"SET k "\xff""#).unwrap()[2], [0xff]);
        assert!(w("").is_empty());
        for bad in [r#"SET k "open"#, "SET k 'open", r#"SET k "a"b"#] {
            assert!(split_words(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_with_secrets_stay_out_of_the_history() {
        for line in [
            "AUTH s3cr3t",
            "auth user s3cr3t",
            "HELLO 3 AUTH user s3cr3t",
            "MIGRATE h 1 k 0 5000 AUTH2 u p",
            "ACL SETUSER app on >s3cr3t",
            "CONFIG SET requirepass s3cr3t",
            "config set masterauth s3cr3t",
        ] {
            assert!(carries_secret(line), "{line}");
        }
        for line in ["GET author", "SET k v", "CONFIG GET maxmemory"] {
            assert!(!carries_secret(line), "{line}");
        }
    }

    #[test]
    fn lines_become_actions() {
        assert!(matches!(parse_line("  "), Ok(Line::Nothing)));
        assert!(matches!(parse_line("QUIT"), Ok(Line::Quit)));
        assert!(matches!(parse_line("exit"), Ok(Line::Quit)));
        assert!(matches!(parse_line("help"), Ok(Line::Help(None))));
        assert!(matches!(parse_line("help get"), Ok(Line::Help(Some(n))) if n == "get"));
        assert!(
            matches!(parse_line("GET k"), Ok(Line::Command(w)) if w == [b"GET".to_vec(), b"k".to_vec()])
        );
    }
}
