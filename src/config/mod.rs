//! `keys.toml` → [`DesiredState`]: a strict parse, then every rule checked,
//! then defaults applied, classifications merged and targets expanded.
//!
//! Nothing here does I/O except [`load`] reading the file, and nothing
//! calls AWS. Every problem is reported (not only the first) with the file,
//! line, column and field, and says what is allowed:
//!
//! ```text
//! keys.toml:12:17: keys[0].rotation_days: rotation_days = 80 is out of range; allowed: 90 to 2560 days
//! 1 error(s) in keys.toml
//! ```
//!
//! The stages. Past a syntax error nothing else is looked at (the rest of
//! the file cannot be read reliably); otherwise each stage goes on past the
//! problems of the one before, so that one run reports everything:
//! - `locate`: the one TOML parse (toml's, which keeps every span), and
//!   where a field path or a byte offset is in it;
//! - `read`: syntax, types, unknown and missing fields, into `file`, the
//!   mirror of the file (also the source of the JSON Schema); a field of the
//!   wrong type is reported and left out;
//! - `validate`: every rule, on what could be read;
//! - `expand`: when nothing was found, defaults, classifications merged and
//!   targets computed, into a [`DesiredState`].
//!
//! Beside them: `path` (field paths), `hints` (what each field allows, in
//! words), `regions` (the AWS regions c3 knows) and `suggest` ("did you
//! mean …?").

mod error;
mod expand;
mod file;
mod hints;
mod lines;
mod locate;
mod path;
mod read;
mod regions;
mod suggest;
mod validate;

use std::io::Read;
use std::path::Path;

pub use error::{ConfigError, Diagnostic};
pub use lines::{declaration_lines, DeclarationLines};
pub use validate::wave_message;

use crate::model::DesiredState;
use locate::TomlSource;
use path::FieldPath;

/// The largest `keys.toml` accepted, in bytes (4 MiB: tens of thousands of keys).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Reads and parses `keys.toml`.
///
/// The file name in messages is `path` as given. A file that is not UTF-8,
/// or larger than [`MAX_FILE_BYTES`], is `Invalid` with one diagnostic.
pub fn load(path: &Path) -> Result<DesiredState, ConfigError> {
    let file_name = path.display().to_string();
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_FILE_BYTES).unwrap_or(u64::MAX);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(&file_name));
    }
    match std::str::from_utf8(&bytes) {
        Ok(source) => parse(source, &file_name),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            // The prefix is valid UTF-8 by construction.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = locate::line_col(prefix, prefix.len());
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            Err(ConfigError::Invalid {
                file: file_name,
                diagnostics: vec![Diagnostic {
                    line,
                    column,
                    field: "(file)".into(),
                    message: format!(
                        "the file is not valid UTF-8 (byte 0x{byte:02X} at offset {}); \
                         allowed: UTF-8 text, as TOML requires",
                        e.valid_up_to()
                    ),
                }],
            })
        }
    }
}

/// Parses and validates the text of a `keys.toml`; `file_name` is used in
/// messages only.
pub fn parse(source: &str, file_name: &str) -> Result<DesiredState, ConfigError> {
    if source.len() > MAX_FILE_BYTES {
        return Err(too_large(file_name));
    }
    let (doc, syntax_errors) = TomlSource::parse(source);
    let issues = if syntax_errors.is_empty() {
        let read = read::read(&doc);
        let mut issues = read.issues;
        issues.extend(validate::check(&read.file, &read.invalid));
        if issues.is_empty() {
            let mut desired = expand::expand(&read.file);
            let accept = FieldPath::root().key("accept");
            for (i, entry) in desired.accept.iter_mut().enumerate() {
                let (line, _) = doc.line_col_of(&accept.index(i));
                entry.at = format!("{file_name}:{line}");
            }
            let at = |path: &FieldPath| format!("{file_name}:{}", doc.line_col_of(path).0);
            if let Some(o) = &mut desired.fleet.organization {
                o.at = at(&FieldPath::root().key("organization"));
            }
            if let Some(r) = &mut desired.fleet.rollout {
                let waves = FieldPath::root().key("rollout").key("waves");
                r.at = at(&waves);
                for (w, wave) in r.waves.iter_mut().enumerate() {
                    for (s, selector) in wave.iter_mut().enumerate() {
                        selector.at = at(&waves.index(w).index(s));
                    }
                }
            }
            return Ok(desired);
        }
        issues
    } else {
        read::syntax_issues(&doc, &syntax_errors)
    };
    let mut diagnostics: Vec<Diagnostic> = issues
        .into_iter()
        .map(|issue| {
            let (line, column) = match &issue.at {
                Spot::Offset(offset) => doc.line_col(*offset),
                Spot::Path(path) => doc.line_col_of(path),
            };
            Diagnostic {
                line,
                column,
                field: issue.field,
                message: issue.message,
            }
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Err(ConfigError::Invalid {
        file: file_name.to_string(),
        diagnostics,
    })
}

/// The JSON Schema of `keys.toml`, pretty-printed, ending in a newline.
/// `schema/keys.schema.json` is this text.
pub fn schema_json() -> String {
    format!("{:#}\n", file::schema())
}

fn too_large(file_name: &str) -> ConfigError {
    ConfigError::Invalid {
        file: file_name.to_string(),
        diagnostics: vec![Diagnostic {
            line: 1,
            column: 1,
            field: "(file)".into(),
            message: format!(
                "the file is larger than {MAX_FILE_BYTES} bytes; allowed: at most \
                 {MAX_FILE_BYTES} bytes (4 MiB)"
            ),
        }],
    }
}

/// Where an issue is: a byte offset (syntax errors, unknown keys), or a
/// field path to look up in the parsed file (everything else).
#[derive(Debug, Clone)]
enum Spot {
    Offset(usize),
    Path(FieldPath),
}

/// One problem before it is located.
#[derive(Debug, Clone)]
struct Issue {
    field: String,
    message: String,
    at: Spot,
}

impl Issue {
    fn at_path(path: &FieldPath, message: String) -> Self {
        Self {
            field: path.to_string(),
            message,
            at: Spot::Path(path.clone()),
        }
    }

    fn at_offset(offset: usize, path: &FieldPath, message: String) -> Self {
        Self {
            field: path.to_string(),
            message,
            at: Spot::Offset(offset),
        }
    }

    fn syntax(offset: usize, message: String) -> Self {
        Self {
            field: "(syntax)".into(),
            message,
            at: Spot::Offset(offset),
        }
    }
}
