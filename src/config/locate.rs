//! Field paths, and where they are in the source: byte offset → line and
//! column, path → span (through `toml_edit`, which keeps spans), and
//! offset → path (through toml's spanned parse) for serde errors, which
//! carry only a span.

use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;
use toml_edit::Document;

/// One step of a field path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// An array index, from 0.
    Index(usize),
}

/// A path to a field, e.g. `keys[2].rotation_days`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Seg>);

impl FieldPath {
    /// The root of the document.
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a table key.
    pub(crate) fn key(&self, key: impl Into<String>) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        Self(segs)
    }

    /// This path extended by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    /// The steps of the path.
    pub(crate) fn segs(&self) -> &[Seg] {
        &self.0
    }

    /// The last table key of the path, if it ends in one.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The path with names of accounts, classifications and tags replaced
    /// by `*` and indices by `[]`: `keys[].tags.*`, `accounts.*.id`. Used to
    /// find what a field allows.
    pub(crate) fn shape(&self) -> String {
        let mut out = String::new();
        let mut previous: Option<&str> = None;
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(_) => out.push_str("[]"),
                Seg::Key(k) => {
                    if i > 0 {
                        out.push('.');
                    }
                    let is_name =
                        matches!((i, previous), (1, Some("accounts" | "classifications")))
                            || previous == Some("tags");
                    out.push_str(if is_name { "*" } else { k });
                }
            }
            previous = match seg {
                Seg::Key(k) => Some(k),
                Seg::Index(_) => previous,
            };
        }
        out
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(file)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Index(n) => write!(f, "[{n}]")?,
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The 1-based line and column (in characters) of a byte offset.
///
/// Offsets past the end, or inside a multi-byte character, are clamped; a
/// byte-order mark at the start does not count as a column. For many
/// offsets in one source, use [`Locator::line_col`], which indexes the lines
/// once.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(source).line_col(source, offset)
}

/// The byte offset where each line starts.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(source: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self(starts)
    }

    fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        // The number of line starts at or before the offset is the line.
        let line = self.0.partition_point(|&start| start <= offset).max(1);
        let line_start = self.0.get(line - 1).copied().unwrap_or(0);
        let mut column = source[line_start..offset].chars().count() + 1;
        if line_start == 0 && source.starts_with('\u{feff}') && column > 1 {
            column -= 1;
        }
        (line, column)
    }
}

/// Finds fields in the source through a `toml_edit` parse of it (path →
/// span) and toml's own spanned parse (offset → path), each made once and
/// only when needed, that is when there is an error to locate.
pub(crate) struct Locator<'s> {
    source: &'s str,
    doc: OnceCell<Option<Document<&'s str>>>,
    de: OnceCell<Option<Spanned<DeTable<'s>>>>,
    lines: OnceCell<LineIndex>,
}

impl<'s> Locator<'s> {
    /// A locator for this source.
    pub(crate) fn new(source: &'s str) -> Self {
        Self {
            source,
            doc: OnceCell::new(),
            de: OnceCell::new(),
            lines: OnceCell::new(),
        }
    }

    /// The source.
    pub(crate) fn source(&self) -> &'s str {
        self.source
    }

    fn doc(&self) -> Option<&Document<&'s str>> {
        self.doc
            .get_or_init(|| Document::parse(self.source).ok())
            .as_ref()
    }

    /// The span of the field at `path` or, when it is absent, of its nearest
    /// existing parent (`0..0` for the root).
    ///
    /// Values give the span of the value, tables that of their header, and
    /// a table without a header (implicit) that of its key.
    pub(crate) fn span_of(&self, path: &FieldPath) -> Range<usize> {
        let Some(doc) = self.doc() else {
            return 0..0;
        };
        let mut item = doc.as_item();
        let mut best = 0..0;
        for seg in path.segs() {
            let (child, key_span) = match seg {
                Seg::Key(k) => match item.as_table_like().and_then(|t| t.get_key_value(k)) {
                    Some((key, child)) => (child, key.span()),
                    None => break,
                },
                Seg::Index(i) => match item.get(*i) {
                    Some(child) => (child, None),
                    None => break,
                },
            };
            if let Some(span) = child.span().or(key_span) {
                best = span;
            }
            item = child;
        }
        best
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines
            .get_or_init(|| LineIndex::new(self.source))
            .line_col(self.source, offset)
    }

    /// The 1-based line and column of [`Locator::span_of`].
    pub(crate) fn line_col_of(&self, path: &FieldPath) -> (usize, usize) {
        self.line_col(self.span_of(path).start)
    }

    fn de(&self) -> Option<&Spanned<DeTable<'s>>> {
        self.de
            .get_or_init(|| DeTable::parse(self.source).ok())
            .as_ref()
    }

    /// The value at `path` in toml's own parse of the source.
    fn de_value(&self, path: &FieldPath) -> Option<&Spanned<DeValue<'s>>> {
        let (first, rest) = path.segs().split_first()?;
        let Seg::Key(first) = first else {
            return None;
        };
        let mut value = de_entry(self.de()?.get_ref(), first)?;
        for seg in rest {
            value = match (seg, value.get_ref()) {
                (Seg::Key(k), DeValue::Table(t)) => de_entry(t, k)?,
                (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// The TOML type (`string`, `integer`, `float`, `boolean`, `datetime`,
    /// `array`, `table`) of the value at `path`.
    pub(crate) fn kind_at(&self, path: &FieldPath) -> Option<&'static str> {
        self.de_value(path).map(|v| v.get_ref().type_str())
    }

    /// The deepest field under `within` whose key or value contains the byte
    /// `offset`; `within` itself when none does.
    ///
    /// This looks in toml's own parse of the source (the one serde errors
    /// come from), which also holds values `toml_edit` refuses, such as
    /// integers beyond 64 bits.
    pub(crate) fn path_at(&self, within: &FieldPath, offset: usize) -> FieldPath {
        let mut best: Best = None;
        if within.segs().is_empty() {
            if let Some(root) = self.de() {
                walk_table(root.get_ref(), within, offset, &mut best);
            }
        } else if let Some(value) = self.de_value(within) {
            walk(value.get_ref(), within, offset, &mut best);
        }
        best.map_or_else(|| within.clone(), |(_, path)| path)
    }
}

fn de_entry<'a, 's>(table: &'a DeTable<'s>, key: &str) -> Option<&'a Spanned<DeValue<'s>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

type Best = Option<(usize, FieldPath)>;

/// Records `path` in `best` if `span` contains `offset` and is no larger
/// than the best so far (a later, deeper field wins a tie).
fn consider(span: Range<usize>, path: &FieldPath, offset: usize, best: &mut Best) {
    if contains(&span, offset) && best.as_ref().is_none_or(|(len, _)| span.len() <= *len) {
        *best = Some((span.len(), path.clone()));
    }
}

/// Records in `best` the smallest span containing `offset` among the
/// descendants of `value`. Every table is walked: the span of a `[table]`
/// is only its header, not its body.
fn walk(value: &DeValue<'_>, path: &FieldPath, offset: usize, best: &mut Best) {
    match value {
        DeValue::Table(table) => walk_table(table, path, offset, best),
        DeValue::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                let child_path = path.index(i);
                consider(element.span(), &child_path, offset, best);
                walk(element.get_ref(), &child_path, offset, best);
            }
        }
        _ => {}
    }
}

fn walk_table(table: &DeTable<'_>, path: &FieldPath, offset: usize, best: &mut Best) {
    for (key, child) in table.iter() {
        let child_path = path.key(key.get_ref().as_ref());
        consider(key.span(), &child_path, offset, best);
        consider(child.span(), &child_path, offset, best);
        walk(child.get_ref(), &child_path, offset, best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
version = 1

[accounts.prod]
id = \"111111111111\"
regions = [\"eu-west-1\",
  \"eu-central-1\"]

[[keys]]
name = \"a\"

[[keys]]
name = \"b\"
tags = { team = \"x\" }
";

    fn path(segs: &[&str]) -> FieldPath {
        segs.iter().fold(FieldPath::root(), |p, s| match s.parse() {
            Ok(i) => p.index(i),
            Err(_) => p.key(*s),
        })
    }

    #[test]
    fn line_col_counts_from_one_in_characters() {
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 2), (1, 3));
        assert_eq!(line_col("ab\ncd", 3), (2, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab\ncd", 99), (2, 3));
        // "é" is two bytes, one column; an offset inside it is clamped.
        assert_eq!(line_col("é = 1", 3), (1, 3));
        assert_eq!(line_col("é = 1", 1), (1, 1));
        assert_eq!(line_col("\u{feff}a = 1", 3), (1, 1));
        assert_eq!(line_col("a\r\nb", 3), (2, 1));
    }

    #[test]
    fn span_of_finds_values_headers_and_nearest_parent() {
        let loc = Locator::new(SOURCE);
        assert_eq!(loc.line_col_of(&path(&["version"])), (1, 11));
        assert_eq!(loc.line_col_of(&path(&["accounts", "prod"])), (3, 1));
        assert_eq!(loc.line_col_of(&path(&["accounts", "prod", "id"])), (4, 6));
        assert_eq!(
            loc.line_col_of(&path(&["accounts", "prod", "regions", "1"])),
            (6, 3)
        );
        assert_eq!(loc.line_col_of(&path(&["keys", "1", "name"])), (12, 8));
        assert_eq!(
            loc.line_col_of(&path(&["keys", "1", "tags", "team"])),
            (13, 17)
        );
        // Absent: the nearest parent that exists.
        assert_eq!(
            loc.line_col_of(&path(&["keys", "1", "classification"])),
            (11, 1)
        );
        assert_eq!(
            loc.line_col_of(&path(&["accounts", "prod", "role_arn"])),
            (3, 1)
        );
        assert_eq!(loc.line_col_of(&path(&["keys", "7", "name"])), (8, 1));
        assert_eq!(loc.line_col_of(&path(&["settings", "parallelism"])), (1, 1));
        assert_eq!(loc.line_col_of(&FieldPath::root()), (1, 1));
    }

    #[test]
    fn span_of_unparsable_source_is_the_start() {
        let loc = Locator::new("x = = 1");
        assert_eq!(loc.line_col_of(&path(&["x"])), (1, 1));
    }

    #[test]
    fn path_at_finds_the_deepest_field() {
        let loc = Locator::new(SOURCE);
        let at = |needle: &str| SOURCE.find(needle).unwrap_or(usize::MAX);
        let root = FieldPath::root();
        assert_eq!(
            loc.path_at(&root, at("\"111")).to_string(),
            "accounts.prod.id"
        );
        assert_eq!(
            loc.path_at(&root, at("\"eu-central")).to_string(),
            "accounts.prod.regions[1]"
        );
        assert_eq!(
            loc.path_at(&root, at("\"x\"")).to_string(),
            "keys[1].tags.team"
        );
        assert_eq!(
            loc.path_at(&root, at("team")).to_string(),
            "keys[1].tags.team"
        );
        let keys1 = path(&["keys", "1"]);
        assert_eq!(
            loc.path_at(&keys1, at("name = \"b\"")).to_string(),
            "keys[1].name"
        );
        // The header of the table itself: no child contains it.
        assert_eq!(
            loc.path_at(&keys1, at("[[keys]]\nname = \"b\""))
                .to_string(),
            "keys[1]"
        );
    }

    #[test]
    fn display_and_shape() {
        let p = path(&["keys", "2", "rotation_days"]);
        assert_eq!(p.to_string(), "keys[2].rotation_days");
        assert_eq!(p.shape(), "keys[].rotation_days");
        let p = path(&["accounts", "my.acct", "id"]);
        assert_eq!(p.to_string(), "accounts.\"my.acct\".id");
        assert_eq!(p.shape(), "accounts.*.id");
        assert_eq!(path(&["keys", "0", "tags", "a b"]).shape(), "keys[].tags.*");
        assert_eq!(
            path(&["classifications", "c", "via_services", "0"]).shape(),
            "classifications.*.via_services[]"
        );
        assert_eq!(FieldPath::root().to_string(), "(file)");
    }
}
