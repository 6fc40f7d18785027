//! Where things are in the source: the one parse of it (toml's own, which
//! keeps the span of every key and value), the span of a field path in it,
//! and byte offset → line and column.

use std::cell::OnceCell;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::path::{FieldPath, Seg};

/// The 1-based line and column (in characters) of a byte offset.
///
/// Offsets past the end, or inside a multi-byte character, are clamped; a
/// byte-order mark at the start does not count as a column. For many
/// offsets in one source, use [`TomlSource::line_col`], which indexes the
/// lines once.
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

/// A `keys.toml` parsed once: the tree that both the reader and the
/// locating of problems use.
pub(crate) struct TomlSource<'s> {
    source: &'s str,
    root: Spanned<DeValue<'s>>,
    lines: OnceCell<LineIndex>,
}

impl<'s> TomlSource<'s> {
    /// Parses the source; the errors are TOML syntax errors (the tree is
    /// then only what the parser recovered).
    pub(crate) fn parse(source: &'s str) -> (Self, Vec<toml::de::Error>) {
        let (root, errors) = DeTable::parse_recoverable(source);
        let span = root.span();
        let doc = Self {
            source,
            root: Spanned::new(span, DeValue::Table(root.into_inner())),
            lines: OnceCell::new(),
        };
        (doc, errors)
    }

    /// The source.
    pub(crate) fn source(&self) -> &'s str {
        self.source
    }

    /// The top-level table.
    pub(crate) fn root(&self) -> &Spanned<DeValue<'s>> {
        &self.root
    }

    /// The span of the field at `path` or, when it is absent, of its nearest
    /// existing parent (`0..0` for the root).
    ///
    /// Values give the span of the value, tables that of their header, and
    /// a table without a header (implicit, or a dotted key) that of its key.
    pub(crate) fn span_of(&self, path: &FieldPath) -> Range<usize> {
        let mut value = &self.root;
        let mut best = value.span();
        for seg in path.segs() {
            match child(value.get_ref(), seg) {
                Some(next) => value = next,
                None => break,
            }
            best = value.span();
        }
        best
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines
            .get_or_init(|| LineIndex::new(self.source))
            .line_col(self.source, offset)
    }

    /// The 1-based line and column of [`TomlSource::span_of`].
    pub(crate) fn line_col_of(&self, path: &FieldPath) -> (usize, usize) {
        self.line_col(self.span_of(path).start)
    }
}

/// The entry `seg` of a table or an array.
fn child<'a, 's>(value: &'a DeValue<'s>, seg: &Seg) -> Option<&'a Spanned<DeValue<'s>>> {
    match (seg, value) {
        (Seg::Key(k), DeValue::Table(table)) => table
            .iter()
            .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
            .map(|(_, v)| v),
        (Seg::Index(i), DeValue::Array(array)) => array.get(*i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::path::path;
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
sub.table = 1
";

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
        let (doc, errors) = TomlSource::parse(SOURCE);
        assert!(errors.is_empty());
        let at = |segs: &[&str]| doc.line_col_of(&path(segs));
        assert_eq!(at(&["version"]), (1, 11));
        // An implicit table: its key in the header.
        assert_eq!(at(&["accounts"]), (3, 2));
        assert_eq!(at(&["accounts", "prod"]), (3, 1));
        assert_eq!(at(&["accounts", "prod", "id"]), (4, 6));
        assert_eq!(at(&["accounts", "prod", "regions", "1"]), (6, 3));
        assert_eq!(at(&["keys"]), (8, 1));
        assert_eq!(at(&["keys", "1", "name"]), (12, 8));
        assert_eq!(at(&["keys", "1", "tags", "team"]), (13, 17));
        // A table made by a dotted key: the key.
        assert_eq!(at(&["keys", "1", "sub"]), (14, 1));
        // Absent: the nearest parent that exists.
        assert_eq!(at(&["keys", "1", "classification"]), (11, 1));
        assert_eq!(at(&["accounts", "prod", "role_arn"]), (3, 1));
        assert_eq!(at(&["keys", "7", "name"]), (8, 1));
        assert_eq!(at(&["keys", "1", "name", "0"]), (12, 8));
        assert_eq!(at(&["settings", "parallelism"]), (1, 1));
        assert_eq!(doc.line_col_of(&FieldPath::root()), (1, 1));
    }

    #[test]
    fn span_of_unparsable_source_is_the_start() {
        let (doc, errors) = TomlSource::parse("x = = 1");
        assert!(!errors.is_empty());
        assert_eq!(doc.line_col_of(&path(&["x"])), (1, 1));
    }
}
