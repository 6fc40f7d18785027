//! Run options resolved once from the command line and the environment:
//! colour (flag, `NO_COLOR`, terminal), table width.

use std::io::IsTerminal;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether a stream is coloured: `always`, `never`, or under `auto` only a
    /// terminal with `NO_COLOR` unset or empty.
    pub fn resolve(self, terminal: bool) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        }
    }
}

/// How output looks.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
    /// stdout is a terminal (tables fit its width; otherwise Markdown).
    pub terminal: bool,
    /// Terminal width, if known.
    pub width: Option<u16>,
}

impl Style {
    /// Resolves the style for stdout.
    pub fn for_stdout(choice: ColorChoice) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let color = choice.resolve(terminal);
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        Self {
            color,
            terminal,
            width,
        }
    }

    /// Plain style (tests, files).
    pub fn plain() -> Self {
        Self::default()
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Added lines.
    pub fn paint_added(&self, t: &str) -> String {
        self.paint("32", t)
    }

    /// Removed lines.
    pub fn paint_removed(&self, t: &str) -> String {
        self.paint("31", t)
    }

    /// Errors.
    pub fn paint_error(&self, t: &str) -> String {
        self.paint("1;31", t)
    }

    /// Success.
    pub fn paint_ok(&self, t: &str) -> String {
        self.paint("32", t)
    }

    /// Headings.
    pub fn paint_bold(&self, t: &str) -> String {
        self.paint("1", t)
    }

    /// Secondary text.
    pub fn paint_dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}
