//! How the demo talks: section headings, short explanations, one line per call with its result
//! and the node that served it, progress lines, and the spinner while the cluster starts.
//!
//! Everything goes to stdout through [`output::emit`], in colour only on a terminal; the spinner
//! draws on stderr and only when stderr is a terminal. Nothing here runs a command.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::output;
use crate::style::Style;

/// The column where results start after the code of a call, so a section's results line up.
const CODE_WIDTH: usize = 52;

/// Explanations are wrapped to this width (indent included), to read well in an 100-column
/// terminal and in logs.
const TEXT_WIDTH: usize = 96;

/// The demo's voice.
#[derive(Debug)]
pub(super) struct Narrator {
    style: Style,
    started: Instant,
    sections: usize,
}

impl Narrator {
    /// A narrator for a walk-through of `sections` sections; its clock starts now.
    pub(super) fn new(sections: usize) -> Narrator {
        Narrator {
            style: Style::detect(),
            started: Instant::now(),
            sections,
        }
    }

    /// The styles, for callers that colour part of a line.
    pub(super) fn style(&self) -> &Style {
        &self.style
    }

    /// Time since the demo started.
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The heading of section `number`.
    pub(super) fn section(&self, number: usize, title: &str) {
        let heading = format!("[{number}/{}] {title}", self.sections);
        output::emit(&format!("\n{}\n", self.style.heading(&heading)));
    }

    /// An explanation, wrapped and indented.
    pub(super) fn say(&self, text: &str) {
        output::emit(&wrap(text, "  ", TEXT_WIDTH));
    }

    /// What the same thing is called in redis-py, for readers coming from it.
    pub(super) fn redis_py(&self, text: &str) {
        let line = wrap(&format!("redis-py: {text}"), "  ", TEXT_WIDTH);
        output::emit(&self.style.dim(&line));
    }

    /// One call: its code, its result, and (for a command) the node that served it.
    pub(super) fn call(&self, code: &str, result: &str, served: Option<&str>) {
        let pad = CODE_WIDTH.saturating_sub(code.chars().count()).max(1);
        let mut line = format!("  {}{}→ {result}", self.style.code(code), " ".repeat(pad));
        if let Some(served) = served {
            line.push_str("   ");
            line.push_str(&self.style.node(&format!("@ {served}")));
        }
        line.push('\n');
        output::emit(&line);
    }

    /// A detail under a call, indented further.
    pub(super) fn detail(&self, text: &str) {
        output::emit(&format!("      {text}\n"));
    }

    /// A plain line, indented like the calls.
    pub(super) fn line(&self, text: &str) {
        output::emit(&format!("  {text}\n"));
    }

    /// A line that goes at the left margin (the banner, the closing summary).
    pub(super) fn margin(&self, text: &str) {
        output::emit(&format!("{text}\n"));
    }

    /// A spinner with `message` while something slow runs, on a terminal; elsewhere the message
    /// as a plain line, so logs still say what the wait is for.
    pub(super) fn spinner(&self, message: &str) -> Option<ProgressBar> {
        if !std::io::stderr().is_terminal() {
            self.margin(&format!("{message} …"));
            return None;
        }
        let spinner = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        spinner.set_message(message.to_owned());
        // Ticking from its own thread keeps it moving while this thread waits.
        spinner.enable_steady_tick(Duration::from_millis(80));
        Some(spinner)
    }
}

/// `text` broken into lines of at most `width` characters (a longer word gets a line of its
/// own), each starting with `indent`, each ending in a newline.
fn wrap(text: &str, indent: &str, width: usize) -> String {
    let room = width.saturating_sub(indent.len()).max(1);
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_whole_and_indents_every_line() {
        assert_eq!(
            wrap("one two three four", "  ", 11),
            "  one two\n  three\n  four\n"
        );
        assert_eq!(wrap("", "  ", 11), "");
        assert_eq!(wrap("unbreakableword", "  ", 8), "  unbreakableword\n");
    }
}
