//! From TOML text to a [`KeysFile`]: syntax, types, unknown and missing
//! fields. Each section (settings, each account, each classification, each
//! key) is read on its own, so that a mistake in one does not hide the
//! mistakes in the others.

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::file::KeysFile;
use super::hints;
use super::locate::{FieldPath, Locator};
use super::Issue;

/// The top-level fields of `keys.toml`.
pub(crate) const TOP_LEVEL_FIELDS: [&str; 5] =
    ["version", "settings", "accounts", "classifications", "keys"];

/// Parses the source into the file mirror, or says everything that stops it.
pub(crate) fn read(loc: &Locator<'_>) -> Result<KeysFile, Vec<Issue>> {
    let source = loc.source();
    let (root, errors) = DeTable::parse_recoverable(source);
    if !errors.is_empty() {
        return Err(syntax_issues(loc, &errors));
    }
    let mut file = KeysFile::default();
    let mut issues = Vec::new();
    let mut has_version = false;
    let root_path = FieldPath::root();
    for (key, value) in root.into_inner() {
        let name: &str = key.get_ref();
        let path = root_path.key(name);
        match name {
            "version" => {
                has_version = true;
                if let Some(version) = section(loc, &path, value, &mut issues) {
                    file.version = version;
                }
            }
            "settings" => {
                if let Some(settings) = section(loc, &path, value, &mut issues) {
                    file.settings = settings;
                }
            }
            "accounts" => file.accounts = named_tables(loc, &path, value, &mut issues),
            "classifications" => {
                file.classifications = named_tables(loc, &path, value, &mut issues);
            }
            "keys" => file.keys = array_of_tables(loc, &path, value, &mut issues),
            other => issues.push(Issue::at_offset(
                key.span().start,
                &path,
                format!(
                    "unknown field `{other}`; allowed: {}",
                    TOP_LEVEL_FIELDS.map(|f| format!("`{f}`")).join(", ")
                ),
            )),
        }
    }
    if !has_version {
        issues.push(Issue::at_path(
            &root_path.key("version"),
            format!("`version` is required; allowed: {}", hints::VERSION),
        ));
    }
    if issues.is_empty() {
        Ok(file)
    } else {
        Err(issues)
    }
}

/// TOML syntax errors, at most one per line (later errors on a line are
/// usually the parser recovering from the first).
fn syntax_issues(loc: &Locator<'_>, errors: &[toml::de::Error]) -> Vec<Issue> {
    let source = loc.source();
    let mut issues: Vec<Issue> = Vec::new();
    let mut lines = std::collections::BTreeSet::new();
    for error in errors {
        let span = error.span().unwrap_or(0..0);
        let (line, _) = loc.line_col(span.start);
        if !lines.insert(line) {
            continue;
        }
        let snippet = source.get(span.clone()).unwrap_or("");
        let message = if error.message() == "duplicate key" {
            format!(
                "`{snippet}` is defined more than once; allowed: each key and table once \
                 (write [[keys]] for every key; merge repeated tables)"
            )
        } else {
            format!("invalid TOML: {}", error.message())
        };
        issues.push(Issue::syntax(span.start, message));
    }
    issues
}

/// Deserializes one section, recording its error.
fn section<T: DeserializeOwned>(
    loc: &Locator<'_>,
    path: &FieldPath,
    value: Spanned<DeValue<'_>>,
    issues: &mut Vec<Issue>,
) -> Option<T> {
    match T::deserialize(value.into_deserializer()) {
        Ok(v) => Some(v),
        Err(e) => {
            issues.push(translate(loc, path, &e));
            None
        }
    }
}

/// `[accounts.<name>]` / `[classifications.<name>]`: each entry on its own.
fn named_tables<T: DeserializeOwned>(
    loc: &Locator<'_>,
    path: &FieldPath,
    value: Spanned<DeValue<'_>>,
    issues: &mut Vec<Issue>,
) -> std::collections::BTreeMap<String, T> {
    let mut out = std::collections::BTreeMap::new();
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(table) => {
            for (name, entry) in table {
                let name = name.into_inner().into_owned();
                if let Some(v) = section(loc, &path.key(name.as_str()), entry, issues) {
                    out.insert(name, v);
                }
            }
        }
        other => issues.push(wrong_kind(path, span.start, &other)),
    }
    out
}

/// `[[keys]]`: each entry on its own.
fn array_of_tables<T: DeserializeOwned>(
    loc: &Locator<'_>,
    path: &FieldPath,
    value: Spanned<DeValue<'_>>,
    issues: &mut Vec<Issue>,
) -> Vec<T> {
    let mut out = Vec::new();
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(array) => {
            for (i, entry) in array.into_iter().enumerate() {
                if let Some(v) = section(loc, &path.index(i), entry, issues) {
                    out.push(v);
                }
            }
        }
        other => issues.push(wrong_kind(path, span.start, &other)),
    }
    out
}

fn wrong_kind(path: &FieldPath, offset: usize, found: &DeValue<'_>) -> Issue {
    let allowed = hints::allowed(&path.shape()).unwrap_or_default();
    let found = found_text(found.type_str(), None);
    Issue::at_offset(offset, path, format!("expected {allowed}, found {found}"))
}

/// A serde error of one section as an issue: the field it is about, and a
/// message that says what is allowed.
pub(crate) fn translate(loc: &Locator<'_>, within: &FieldPath, error: &toml::de::Error) -> Issue {
    let span = error.span();
    let message = error.message();
    let mut path = match &span {
        Some(span) => loc.path_at(within, span.start),
        None => within.clone(),
    };
    let text = if let Some(field) = between(message, "missing field `", "`") {
        path = path.key(field);
        match hints::allowed(&path.shape()) {
            Some(allowed) => format!("`{field}` is required; allowed: {allowed}"),
            None => format!("`{field}` is required"),
        }
    } else if let Some(field) = between(message, "unknown field `", "`") {
        if path.last_key() != Some(field) {
            path = path.key(field);
        }
        let allowed = match message.split_once(", expected ") {
            Some((_, list)) => list.trim_start_matches("one of ").to_string(),
            None => "no fields here".to_string(),
        };
        format!("unknown field `{field}`; allowed: {allowed}")
    } else if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let snippet = span.as_ref().and_then(|s| loc.source().get(s.clone()));
        let allowed = hints::allowed(&path.shape()).unwrap_or_else(|| expected_text(expected));
        if found.contains(" as i128") || found.contains(" as u64") {
            format!(
                "{} does not fit in a 64-bit integer; allowed: {allowed}",
                snippet.unwrap_or("the number")
            )
        } else {
            format!(
                "expected {}, found {}; allowed: {allowed}",
                expected_text(expected),
                found_text(loc.kind_at(&path).unwrap_or(found), snippet)
            )
        }
    } else {
        match hints::allowed(&path.shape()) {
            Some(allowed) => format!("{message}; allowed: {allowed}"),
            None => message.to_string(),
        }
    };
    match span {
        Some(span) => Issue::at_offset(span.start, &path, text),
        None => Issue::at_path(&path, text),
    }
}

fn between<'a>(text: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    let end = rest.find(suffix)?;
    Some(&rest[..end])
}

/// serde's "expected ..." in words a TOML user knows.
fn expected_text(expected: &str) -> String {
    let e = expected.trim();
    if matches!(
        e,
        "i8" | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "u8"
            | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
    ) {
        "an integer".into()
    } else if e.starts_with("struct ") || e == "a map" {
        "a table".into()
    } else if e == "a sequence" {
        "an array".into()
    } else if e.is_empty() {
        "another type".into()
    } else {
        e.to_string()
    }
}

/// serde's (or toml's) "found" in words a TOML user knows, with the value
/// when it is short.
fn found_text(found: &str, snippet: Option<&str>) -> String {
    let kind = found.split(['`', '"']).next().unwrap_or(found).trim();
    let kind = match kind {
        "floating point" | "float" => "a float",
        "integer" => "an integer",
        "string" => "a string",
        "boolean" => "a boolean",
        "sequence" | "array" => "an array",
        "map" | "table" => "a table",
        "datetime" | "offset datetime" | "local datetime" | "local date" | "local time" => {
            "a date/time"
        }
        other => other,
    };
    match snippet {
        Some(s) if !s.contains('\n') && s.chars().count() <= 40 && !matches!(kind, "a table") => {
            format!("{kind} {s}")
        }
        _ => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading section by section gives what serde gives for the whole file.
    #[test]
    fn sections_read_like_the_whole_file() {
        for source in [
            include_str!("../../tests/fixtures/valid/design.toml"),
            include_str!("../../tests/fixtures/valid/targets.toml"),
            include_str!("../../tests/fixtures/valid/inline.toml"),
            include_str!("../../tests/fixtures/valid/settings.toml"),
            include_str!("../../tests/fixtures/valid/classifications.toml"),
        ] {
            let whole: KeysFile = toml::from_str(source).unwrap_or_default();
            assert_ne!(whole, KeysFile::default());
            let by_section = read(&Locator::new(source)).unwrap_or_default();
            assert_eq!(by_section, whole);
        }
    }

    #[test]
    fn expected_and_found_in_toml_words() {
        assert_eq!(expected_text("i64"), "an integer");
        assert_eq!(expected_text("a sequence"), "an array");
        assert_eq!(expected_text("struct KeyFile"), "a table");
        assert_eq!(expected_text("a string"), "a string");
        assert_eq!(
            found_text("floating point `1e30`", Some("1e30")),
            "a float 1e30"
        );
        assert_eq!(found_text("integer `5`", Some("5")), "an integer 5");
        assert_eq!(found_text("map", Some("{ a = 1 }")), "a table");
    }
}
