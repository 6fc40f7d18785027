//! From the parsed TOML to a [`KeysFile`]: syntax errors, types, unknown
//! and missing fields.
//!
//! Each field is read on its own, so that a mistake in one (a wrong type,
//! an unknown field) is reported and leaves only that field out: the rest
//! of the file is read, and validated, as if it were absent. The paths of
//! the fields that were there but unusable are kept in [`Read::invalid`],
//! for the few rules that must not take "unusable" for "absent".

mod sections;
mod value;

use std::collections::{BTreeSet, HashSet};

use toml::de::DeValue;
use toml::Spanned;

use super::file::KeysFile;
use super::locate::TomlSource;
use super::path::FieldPath;
use super::Issue;

/// The fields that were written but could not be read (wrong type).
pub(crate) type Invalid = BTreeSet<FieldPath>;

/// What the reader made of the file.
pub(crate) struct Read {
    /// Every field that could be read.
    pub(crate) file: KeysFile,
    /// The fields left out because their value has the wrong type.
    pub(crate) invalid: Invalid,
    /// Wrong types, unknown and missing fields.
    pub(crate) issues: Vec<Issue>,
}

/// Reads the parsed file into its mirror, with every problem of shape.
pub(crate) fn read(doc: &TomlSource<'_>) -> Read {
    let mut reader = Reader {
        source: doc.source(),
        invalid: Invalid::new(),
        issues: Vec::new(),
    };
    let file = reader.file(doc.root());
    Read {
        file,
        invalid: reader.invalid,
        issues: reader.issues,
    }
}

/// TOML syntax errors, at most one per line (later errors on a line are
/// usually the parser recovering from the first).
pub(crate) fn syntax_issues(doc: &TomlSource<'_>, errors: &[toml::de::Error]) -> Vec<Issue> {
    let mut lines = HashSet::new();
    let mut issues = Vec::new();
    for error in errors {
        let span = error.span().unwrap_or(0..0);
        if !lines.insert(doc.line_col(span.start).0) {
            continue;
        }
        let snippet = doc.source().get(span.clone()).unwrap_or("");
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

/// Walks the tree, collecting issues.
struct Reader<'s> {
    source: &'s str,
    invalid: Invalid,
    issues: Vec<Issue>,
}

/// Where the reader is: a field path that is only built (allocated) when
/// there is something to say about the field.
#[derive(Clone, Copy)]
enum Loc<'a> {
    /// The top-level table.
    Root,
    /// A key of the table at the first.
    Key(&'a Loc<'a>, &'a str),
    /// An element of the array at the first.
    Index(&'a Loc<'a>, usize),
}

impl Loc<'_> {
    fn key<'b>(&'b self, key: &'b str) -> Loc<'b> {
        Loc::Key(self, key)
    }

    fn index(&self, index: usize) -> Loc<'_> {
        Loc::Index(self, index)
    }

    fn path(&self) -> FieldPath {
        match self {
            Loc::Root => FieldPath::root(),
            Loc::Key(parent, key) => parent.path().key(*key),
            Loc::Index(parent, index) => parent.path().index(*index),
        }
    }
}

impl Reader<'_> {
    /// The source text of a value.
    fn snippet(&self, value: &Spanned<DeValue<'_>>) -> Option<&str> {
        self.source.get(value.span())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_source(source: &str) -> Read {
        let (doc, errors) = TomlSource::parse(source);
        assert!(errors.is_empty(), "{errors:?}");
        read(&doc)
    }

    /// Reading field by field gives what serde gives for the whole file.
    #[test]
    fn fields_read_like_serde_reads_the_whole_file() {
        for source in [
            include_str!("../../../tests/fixtures/valid/design.toml"),
            include_str!("../../../tests/fixtures/valid/targets.toml"),
            include_str!("../../../tests/fixtures/valid/inline.toml"),
            include_str!("../../../tests/fixtures/valid/settings.toml"),
            include_str!("../../../tests/fixtures/valid/classifications.toml"),
            include_str!("../../../tests/fixtures/valid/boundaries.toml"),
            include_str!("../../../tests/fixtures/valid/defaults.toml"),
            include_str!("../../../tests/fixtures/valid/allow_regions.toml"),
            include_str!("../../../tests/fixtures/valid/accept.toml"),
            include_str!("../../../tests/fixtures/valid/policy_content.toml"),
            include_str!("../../../tests/fixtures/valid/organization.toml"),
        ] {
            let whole: KeysFile = toml::from_str(source).unwrap_or_default();
            assert_ne!(whole, KeysFile::default());
            let read = read_source(source);
            assert!(read.issues.is_empty());
            assert_eq!(read.file, whole);
        }
    }

    #[test]
    fn a_wrong_type_leaves_only_that_field_out() {
        let read = read_source(
            "version = 1\n[[keys]]\nname = \"a\"\nclassification = \"c\"\nrotation_days = \"90\"\n\
             [[keys]]\nname = 7\nclassification = \"c\"\nregions = [\"eu-west-1\", 5]\n",
        );
        let fields: Vec<String> = read.issues.iter().map(|i| i.field.clone()).collect();
        assert_eq!(
            fields,
            [
                "keys[0].rotation_days",
                "keys[1].name",
                "keys[1].regions[1]"
            ]
        );
        let invalid: Vec<String> = read.invalid.iter().map(ToString::to_string).collect();
        assert_eq!(
            invalid,
            [
                "keys[0].rotation_days",
                "keys[1].name",
                "keys[1].regions",
                "keys[1].regions[1]"
            ]
        );
        let keys = &read.file.keys;
        assert_eq!(keys[0].name.as_deref(), Some("a"));
        assert_eq!(keys[0].rotation_days, None);
        assert_eq!(keys[1].name, None);
        assert_eq!(keys[1].classification.as_deref(), Some("c"));
        assert_eq!(keys[1].regions, None);
    }

    #[test]
    fn entries_of_the_wrong_type_keep_their_place() {
        let read = read_source("version = 1\nkeys = [1, { name = \"b\" }]\n");
        assert_eq!(read.file.keys.len(), 2);
        assert_eq!(read.file.keys[1].name.as_deref(), Some("b"));
        let fields: Vec<&str> = read.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["keys[0]", "keys[1].classification"]);
    }
}
