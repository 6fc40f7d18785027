//! The errors `config` returns, and how they are shown.

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::Serialize;

/// Why `keys.toml` could not be turned into a desired state.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a valid `keys.toml`.
    ///
    /// `Display` prints one line per diagnostic, sorted by line, then a last
    /// line `"{n} error(s) in {file}"`.
    #[error("{}", render_invalid(file, diagnostics))]
    Invalid {
        /// The file name used in every message.
        file: String,
        /// Every problem found, sorted by line and column.
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The diagnostics of an `Invalid` error (empty for `Read`).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

/// One problem in `keys.toml`, located at a line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The field at fault, e.g. `keys[2].rotation_days` or `accounts.prod.id`
    /// (`keys[i]` counts from 0). `(syntax)` for TOML syntax errors and
    /// `(file)` for problems with the file as a whole.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Diagnostic {
    /// The diagnostic as one line, `"{file}:{line}:{column}: {field}: {message}"`.
    pub fn render(&self, file: &str) -> String {
        format!(
            "{file}:{}:{}: {}: {}",
            self.line, self.column, self.field, self.message
        )
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.field, self.message
        )
    }
}

fn render_invalid(file: &str, diagnostics: &[Diagnostic]) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| (d.line, d.column));
    let mut out = String::new();
    for d in sorted {
        out.push_str(&d.render(file));
        out.push('\n');
    }
    out.push_str(&format!("{} error(s) in {file}", diagnostics.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: usize, field: &str) -> Diagnostic {
        Diagnostic {
            line,
            column: 3,
            field: field.into(),
            message: "bad; allowed: good".into(),
        }
    }

    #[test]
    fn invalid_display_sorts_by_line_and_counts() {
        let err = ConfigError::Invalid {
            file: "keys.toml".into(),
            diagnostics: vec![diag(9, "b"), diag(2, "a")],
        };
        assert_eq!(
            err.to_string(),
            "keys.toml:2:3: a: bad; allowed: good\n\
             keys.toml:9:3: b: bad; allowed: good\n\
             2 error(s) in keys.toml"
        );
    }
}
