//! The one place that writes to the terminal.
//!
//! Commands get a [`Printer`] and never touch stdout or stderr themselves
//! (clippy.toml bans the print macros elsewhere). stdout carries only what
//! was asked for (the table, the JSON document, the schema); every error,
//! warning, note and progress line goes to stderr. `--quiet` leaves only
//! errors on stderr. Colour and progress are decided once, from the flags,
//! `NO_COLOR` and whether each stream is a terminal (as ripgrep and uv do).

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use crate::cli::{ColorChoice, ProgressChoice};
use crate::options::Style;

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing (not a terminal, `--quiet`, or `--progress never`).
    Off,
    /// One line redrawn in place (stderr is a terminal).
    Live,
    /// One line per target as it finishes, for CI logs (`--progress plain`).
    Plain,
}

impl ProgressMode {
    /// Resolves `--progress` for a stderr that is (or is not) a terminal.
    pub fn resolve(choice: ProgressChoice, quiet: bool, terminal: bool) -> Self {
        match (choice, quiet) {
            (_, true) | (ProgressChoice::Never, _) => Self::Off,
            (ProgressChoice::Plain, _) => Self::Plain,
            (ProgressChoice::Auto, _) if terminal => Self::Live,
            (ProgressChoice::Auto, _) => Self::Off,
        }
    }
}

/// Where output goes, and how it looks.
pub struct Printer {
    out: Mutex<Box<dyn Write + Send>>,
    err: Arc<Mutex<Box<dyn Write + Send>>>,
    /// The style of stdout (colour, terminal width, Markdown tables off a terminal).
    pub style: Style,
    /// The style of stderr.
    pub err_style: Style,
    /// `--quiet`: nothing but errors on stderr.
    pub quiet: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
}

impl Printer {
    /// The printer of the process: stdout and stderr, styles resolved from
    /// the flags, `NO_COLOR` and the terminals.
    #[allow(clippy::disallowed_methods)] // The one place that opens the streams.
    pub fn terminal(color: ColorChoice, quiet: bool, progress: ProgressChoice) -> Self {
        let err_terminal = io::stderr().is_terminal();
        Self {
            out: Mutex::new(Box::new(io::stdout())),
            err: Arc::new(Mutex::new(Box::new(io::stderr()))),
            style: Style::for_stream(color, io::stdout().is_terminal()),
            err_style: Style::for_stream(color, err_terminal),
            quiet,
            progress: ProgressMode::resolve(progress, quiet, err_terminal),
        }
    }

    /// A printer into two buffers (tests), plain style.
    pub fn into_buffers(out: SharedBuffer, err: SharedBuffer) -> Self {
        Self {
            out: Mutex::new(Box::new(out)),
            err: Arc::new(Mutex::new(Box::new(err))),
            style: Style::plain(),
            err_style: Style::plain(),
            quiet: false,
            progress: ProgressMode::Off,
        }
    }

    /// Writes to stdout (the requested output).
    pub fn out(&self, text: &str) -> io::Result<()> {
        let mut out = lock(&self.out);
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Writes a line to stdout.
    pub fn out_line(&self, text: &str) -> io::Result<()> {
        self.out(&format!("{text}\n"))
    }

    /// An error on stderr (always shown): `error: …`, then indented lines.
    pub fn error(&self, text: &str) {
        let first = self.err_style.paint_error("error:");
        self.err_line(&format!("{first} {}", indent_rest(text)));
    }

    /// A line that belongs to the errors above it (always shown, no prefix).
    pub fn error_note(&self, text: &str) {
        self.err_line(text);
    }

    /// A warning on stderr (not with `--quiet`).
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            let first = self.err_style.paint_warn("warning:");
            self.err_line(&format!("{first} {}", indent_rest(text)));
        }
    }

    /// A line of information on stderr (not with `--quiet`).
    pub fn info(&self, text: &str) {
        if !self.quiet {
            self.err_line(text);
        }
    }

    /// A progress line: redrawn in place (`Live`), or its own line (`Plain`).
    pub fn progress_line(&self, text: &str, last: bool) {
        match self.progress {
            ProgressMode::Off => {}
            ProgressMode::Plain => self.err_line(text),
            ProgressMode::Live => {
                let mut err = lock(&self.err);
                // Carriage return and padding redraw the line without any escape sequence.
                let _ = if last {
                    writeln!(err, "\r{text:<72}")
                } else {
                    write!(err, "\r{text:<72}")
                };
                let _ = err.flush();
            }
        }
    }

    /// Asks a yes/no question on stderr and reads the answer from stdin.
    pub fn confirm(&self, question: &str) -> io::Result<bool> {
        {
            let mut err = lock(&self.err);
            write!(err, "{question} [y/N] ")?;
            err.flush()?;
        }
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line)?;
        let answer = line.trim().to_ascii_lowercase();
        Ok(answer == "y" || answer == "yes")
    }

    fn err_line(&self, text: &str) {
        self.stderr_lines().line(text);
    }

    /// A handle that writes lines to this printer's stderr, for callbacks
    /// that must own what they use (a read's per-target observer).
    pub fn stderr_lines(&self) -> StderrLines {
        StderrLines {
            err: Arc::clone(&self.err),
        }
    }
}

/// Lines to a printer's stderr, from anywhere (see [`Printer::stderr_lines`]).
#[derive(Clone)]
pub struct StderrLines {
    err: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl StderrLines {
    /// Writes one line.
    pub fn line(&self, text: &str) {
        let mut err = lock(&self.err);
        let _ = writeln!(err, "{text}");
        let _ = err.flush();
    }
}

use std::io::BufRead;

/// Later lines of a message, indented under its first.
fn indent_rest(text: &str) -> String {
    text.replace('\n', "\n  ")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while printing poisons nothing worth keeping: print anyway.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A cloneable in-memory writer (tests, snapshots).
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(std::sync::Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
