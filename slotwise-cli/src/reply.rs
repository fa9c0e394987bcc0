//! Replies printed the way `redis-cli` prints them on a terminal: `(integer) 1`, `(nil)`, bulk
//! strings quoted and escaped, aggregates numbered (`1) …`, `1~ …` for sets, `1# k => v` for
//! maps) with nested ones indented under their number.
//!
//! Two additions for a cluster: a reply that is one answer per node (a fan-out to several nodes
//! without a rule to merge them) is printed as `node => reply`, one node per line; and the text
//! replies that `redis-cli` prints raw (`INFO`, `CLUSTER NODES` …) are printed raw here too.
//!
//! Pure formatting: nothing here sends a command or decides whether a reply is an error.

use slotwise::protocol::Value;

/// Commands whose text reply `redis-cli` prints as it is rather than as a quoted string, because
/// it is a multi-line report meant for people. Each entry is the command name and, for a
/// container command, its subcommand.
const RAW_TEXT_COMMANDS: &[(&str, Option<&str>)] = &[
    ("info", None),
    ("lolwut", None),
    ("cluster", Some("info")),
    ("cluster", Some("nodes")),
    ("cluster", Some("myshardid")),
    ("client", Some("list")),
    ("client", Some("info")),
    ("memory", Some("doctor")),
    ("memory", Some("malloc-stats")),
    ("latency", Some("doctor")),
    ("latency", Some("graph")),
];

/// True if the reply of `command` (name, then arguments) is a report to print raw.
pub(crate) fn prints_raw(command: &[String]) -> bool {
    let Some(name) = command.first() else {
        return false;
    };
    let sub = command.get(1);
    RAW_TEXT_COMMANDS.iter().any(|(cmd, wanted)| {
        name.eq_ignore_ascii_case(cmd)
            && wanted.is_none_or(|w| sub.is_some_and(|s| s.eq_ignore_ascii_case(w)))
    })
}

/// `value` as `redis-cli` prints it, one line per row, each ending in a newline. With
/// `raw_text`, bulk strings are printed as they are instead of quoted.
pub(crate) fn format_reply(value: &Value, raw_text: bool) -> String {
    finish(lines(value, raw_text))
}

/// One reply per node, as `node => reply`, the arrows aligned and multi-line replies indented
/// under the first line. Multi-line raw text (an `INFO` report) starts on the line after its
/// node, indented by two spaces, so it stays readable.
pub(crate) fn format_per_node(replies: &[(String, &Value)], raw_text: bool) -> String {
    let width = replies
        .iter()
        .map(|(node, _)| node.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for (node, value) in replies {
        let body = lines(value, raw_text);
        let is_report = raw_text && body.len() > 1 && is_text(value);
        if is_report {
            out.push(format!("{node} =>"));
            out.extend(body.into_iter().map(|line| format!("  {line}")));
            continue;
        }
        let head = format!("{node:<width$} => ");
        let indent = " ".repeat(head.chars().count());
        for (index, line) in body.into_iter().enumerate() {
            if index == 0 {
                out.push(format!("{head}{line}"));
            } else {
                out.push(format!("{indent}{line}"));
            }
        }
    }
    finish(out)
}

/// The node-name keys of a reply that is one answer per node, when every key of the map is the
/// name of one of `nodes`; `None` for any other reply, which is then printed as it is.
pub(crate) fn per_node<'a>(value: &'a Value, nodes: &[String]) -> Option<Vec<(String, &'a Value)>> {
    let Value::Map(pairs) = value else {
        return None;
    };
    if pairs.is_empty() {
        return None;
    }
    pairs
        .iter()
        .map(|(key, reply)| {
            let name = key.as_bytes().and_then(|b| std::str::from_utf8(b).ok())?;
            nodes
                .iter()
                .any(|n| n == name)
                .then(|| (name.to_owned(), reply))
        })
        .collect()
}

fn is_text(value: &Value) -> bool {
    matches!(value, Value::Bulk(_) | Value::Verbatim { .. })
}

fn finish(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The rows of one value, without a trailing newline.
fn lines(value: &Value, raw_text: bool) -> Vec<String> {
    match value {
        Value::Nil => vec!["(nil)".to_owned()],
        Value::SimpleString(text) => vec![String::from_utf8_lossy(text).into_owned()],
        Value::Error(e) => vec![format!("(error) {}", e.message())],
        Value::Int(n) => vec![format!("(integer) {n}")],
        Value::Bulk(bytes) if raw_text => raw_lines(bytes),
        Value::Bulk(bytes) => vec![quote(bytes)],
        Value::Verbatim { text, .. } => raw_lines(text),
        Value::Double(x) => vec![format!("(double) {x}")],
        Value::Boolean(b) => vec![format!("({b})")],
        Value::BigNumber(digits) => {
            vec![format!("(big number) {}", String::from_utf8_lossy(digits))]
        }
        Value::Array(items) => numbered(items, ')', "(empty array)", raw_text),
        Value::Push(items) => numbered(items, ')', "(empty push)", raw_text),
        Value::Set(items) => numbered(items, '~', "(empty set)", raw_text),
        Value::Map(pairs) => map(pairs, raw_text),
        // The attribute is metadata about the reply; redis-cli shows the reply.
        Value::Attribute { value, .. } => lines(value, raw_text),
    }
}

/// `1) a`, `2) b` …: the index right-aligned to the widest one, nested rows indented to line up
/// under the first row of their item.
fn numbered(items: &[Value], separator: char, empty: &str, raw_text: bool) -> Vec<String> {
    if items.is_empty() {
        return vec![empty.to_owned()];
    }
    let width = digits(items.len());
    let indent = " ".repeat(width + 2);
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        for (row, line) in lines(item, raw_text).into_iter().enumerate() {
            if row == 0 {
                out.push(format!("{:>width$}{separator} {line}", index + 1));
            } else {
                out.push(format!("{indent}{line}"));
            }
        }
    }
    out
}

/// `1# key => value` per pair; a nested value's further rows are indented under the number.
fn map(pairs: &[(Value, Value)], raw_text: bool) -> Vec<String> {
    if pairs.is_empty() {
        return vec!["(empty hash)".to_owned()];
    }
    let width = digits(pairs.len());
    let indent = " ".repeat(width + 2);
    let mut out = Vec::new();
    for (index, (key, value)) in pairs.iter().enumerate() {
        let key = lines(key, false).join(" ");
        for (row, line) in lines(value, raw_text).into_iter().enumerate() {
            if row == 0 {
                out.push(format!("{:>width$}# {key} => {line}", index + 1));
            } else {
                out.push(format!("{indent}{line}"));
            }
        }
    }
    out
}

fn digits(mut n: usize) -> usize {
    let mut count = 1;
    while n >= 10 {
        n /= 10;
        count += 1;
    }
    count
}

/// Text printed as it is, one row per line; the `\r` of `\r\n` line ends (as `INFO` has them)
/// is dropped, and so is the empty row after a final newline.
fn raw_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<String> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
        .collect();
    if rows.len() > 1 && rows.last().is_some_and(String::is_empty) {
        rows.pop();
    }
    rows
}

/// A bulk string in double quotes with the escapes redis-cli uses: `\"`, `\\`, `\n`, `\r`,
/// `\t`, `\a`, `\b`, and `\xHH` for every other byte outside printable ASCII (so UTF-8 text
/// shows as its bytes, exactly as redis-cli shows it).
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &byte in bytes {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotwise::protocol::ServerError;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec().into())
    }

    #[test]
    fn scalars_look_like_redis_cli() {
        assert_eq!(format_reply(&Value::Int(1), false), "(integer) 1\n");
        assert_eq!(format_reply(&Value::Nil, false), "(nil)\n");
        assert_eq!(
            format_reply(&Value::SimpleString("OK".into()), false),
            "OK\n"
        );
        assert_eq!(format_reply(&bulk("bar"), false), "\"bar\"\n");
        assert_eq!(format_reply(&Value::Double(1.5), false), "(double) 1.5\n");
        assert_eq!(format_reply(&Value::Boolean(true), false), "(true)\n");
        let err = Value::Error(ServerError::new("ERR wrong number of arguments".into()));
        assert_eq!(
            format_reply(&err, false),
            "(error) ERR wrong number of arguments\n"
        );
    }

    #[test]
    fn bulk_strings_are_escaped() {
        assert_eq!(quote(b"a\"b\\c\n\x01"), r#""a\"b\\c\n\x01""#);
        assert_eq!(quote("é".as_bytes()), r#""\xc3\xa9""#);
    }

    #[test]
    fn arrays_are_numbered_and_nested_rows_indented() {
        let nested = Value::Array(vec![
            Value::Array(vec![bulk("a"), bulk("b")]),
            Value::Int(3),
        ]);
        assert_eq!(
            format_reply(&nested, false),
            "1) 1) \"a\"\n   2) \"b\"\n2) (integer) 3\n"
        );
        assert_eq!(
            format_reply(&Value::Array(vec![]), false),
            "(empty array)\n"
        );
    }

    #[test]
    fn indexes_are_right_aligned_to_the_widest() {
        let items: Vec<Value> = (0..10).map(Value::Int).collect();
        let text = format_reply(&Value::Array(items), false);
        assert!(text.starts_with(" 1) (integer) 0\n"), "{text}");
        assert!(text.ends_with("10) (integer) 9\n"), "{text}");
    }

    #[test]
    fn sets_and_maps_have_their_own_markers() {
        let set = Value::Set(vec![bulk("x")]);
        assert_eq!(format_reply(&set, false), "1~ \"x\"\n");
        let map = Value::Map(vec![(
            bulk("field"),
            Value::Array(vec![bulk("a"), bulk("b")]),
        )]);
        assert_eq!(
            format_reply(&map, false),
            "1# \"field\" => 1) \"a\"\n   2) \"b\"\n"
        );
    }

    #[test]
    fn reports_print_raw() {
        let info = bulk("# Server\r\nredis_version:7.0.15\r\n");
        assert_eq!(
            format_reply(&info, true),
            "# Server\nredis_version:7.0.15\n"
        );
        assert!(prints_raw(&["INFO".to_owned()]));
        assert!(prints_raw(&["cluster".to_owned(), "NODES".to_owned()]));
        assert!(!prints_raw(&["cluster".to_owned(), "slots".to_owned()]));
        assert!(!prints_raw(&["GET".to_owned(), "info".to_owned()]));
    }

    #[test]
    fn per_node_replies_align_their_arrows() {
        let pong = Value::SimpleString("PONG".into());
        let keys = Value::Array(vec![bulk("a"), bulk("b")]);
        let text = format_per_node(
            &[
                ("127.0.0.1:7000".to_owned(), &pong),
                ("10.0.0.1:7001".to_owned(), &keys),
            ],
            false,
        );
        assert_eq!(
            text,
            "127.0.0.1:7000 => PONG\n\
             10.0.0.1:7001  => 1) \"a\"\n                  2) \"b\"\n"
        );
    }

    #[test]
    fn per_node_reports_start_below_their_node() {
        let info = bulk("# Server\r\nredis_version:7.0.15\r\n");
        let text = format_per_node(&[("127.0.0.1:7000".to_owned(), &info)], true);
        assert_eq!(
            text,
            "127.0.0.1:7000 =>\n  # Server\n  redis_version:7.0.15\n"
        );
    }

    #[test]
    fn only_maps_keyed_by_node_names_are_per_node() {
        let nodes = vec!["127.0.0.1:7000".to_owned(), "127.0.0.1:7001".to_owned()];
        let by_node = Value::Map(vec![(bulk("127.0.0.1:7000"), Value::Int(1))]);
        assert_eq!(per_node(&by_node, &nodes).map(|v| v.len()), Some(1));
        let hash = Value::Map(vec![(bulk("field"), Value::Int(1))]);
        assert!(per_node(&hash, &nodes).is_none());
        assert!(per_node(&Value::Int(1), &nodes).is_none());
    }
}
