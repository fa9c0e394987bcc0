//! Colour for what the `slotwise` commands print: ANSI styles when stdout is a terminal, plain
//! text otherwise.
//!
//! Piped or captured output (tests, `| less`, CI logs) stays free of escape codes, and so does a
//! terminal whose user asked for none with `NO_COLOR` or `TERM=dumb`. This module only wraps
//! text; what to print and where is decided by its callers.

use std::io::IsTerminal;

/// Whether and how to colour text for stdout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    enabled: bool,
}

impl Style {
    /// Colour when stdout is a terminal and neither `NO_COLOR` (set to anything non-empty) nor
    /// `TERM=dumb` says otherwise: the convention of <https://no-color.org>.
    pub(crate) fn detect() -> Style {
        let asked_for_none = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
            || std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Style {
            enabled: std::io::stdout().is_terminal() && !asked_for_none,
        }
    }

    /// No colour at all.
    #[cfg(test)]
    pub(crate) fn plain() -> Style {
        Style { enabled: false }
    }

    /// A section heading: bold.
    pub(crate) fn heading(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// A line of Rust, as a user would write it: yellow.
    pub(crate) fn code(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// A node's address or the node that served a command: cyan.
    pub(crate) fn node(&self, text: &str) -> String {
        self.paint("36", text)
    }

    /// Something that went as hoped: green.
    pub(crate) fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// An error or a fault injected on purpose: red.
    pub(crate) fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Secondary detail (slots, timings): dim.
    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_style_leaves_text_alone() {
        let style = Style::plain();
        assert_eq!(style.heading("Target nodes"), "Target nodes");
        assert_eq!(style.node("127.0.0.1:7000"), "127.0.0.1:7000");
    }

    #[test]
    fn enabled_style_wraps_and_resets() {
        let style = Style { enabled: true };
        assert_eq!(style.good("ok"), "\x1b[32mok\x1b[0m");
    }
}
