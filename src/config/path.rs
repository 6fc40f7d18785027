//! Field paths: where in `keys.toml` a problem is, as the user reads it
//! (`keys[2].rotation_days`, `accounts.prod.id`).

use std::fmt;

/// One step of a field path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    /// A table key.
    Key(String),
    /// An array index, from 0.
    Index(usize),
}

/// A path to a field, e.g. `keys[2].rotation_days`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
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
                    previous = Some(k);
                }
            }
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

/// A path from its steps, numbers being indices (for tests).
#[cfg(test)]
pub(crate) fn path(segs: &[&str]) -> FieldPath {
    segs.iter().fold(FieldPath::root(), |p, s| match s.parse() {
        Ok(i) => p.index(i),
        Err(_) => p.key(*s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(path(&["keys", "0"]).last_key(), None);
    }
}
