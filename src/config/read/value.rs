//! Values of one type each: the value if it has the type, else an issue
//! that says what was expected, what was found and what is allowed.

use std::collections::BTreeMap;

use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

use super::super::file::{ConditionValue, ManagedPoliciesFile, PrincipalFile, Strings};
use super::super::hints;
use super::super::suggest;
use super::super::Issue;
use super::{Loc, Reader};

impl Reader<'_> {
    pub(super) fn integer(&mut self, at: &Loc<'_>, value: &Spanned<DeValue<'_>>) -> Option<i64> {
        let n = self.typed(at, value, "an integer", DeValue::as_integer)?;
        if let Ok(n) = i64::from_str_radix(n.as_str(), n.radix()) {
            return Some(n);
        }
        let shown = self.snippet(value).unwrap_or("the number").to_string();
        let message = format!(
            "{shown} does not fit in a 64-bit integer; allowed: {}",
            allowed(at, "an integer")
        );
        self.reject(at, message)
    }

    pub(super) fn string(&mut self, at: &Loc<'_>, value: &Spanned<DeValue<'_>>) -> Option<String> {
        self.typed(at, value, "a string", DeValue::as_str)
            .map(str::to_string)
    }

    pub(super) fn boolean(&mut self, at: &Loc<'_>, value: &Spanned<DeValue<'_>>) -> Option<bool> {
        self.typed(at, value, "a boolean", DeValue::as_bool)
    }

    /// A bare TOML date (`2027-03-01`): not a string, not a date with a time.
    pub(super) fn date(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<toml::value::Datetime> {
        match value.get_ref().as_datetime() {
            Some(d) if d.date.is_some() && d.time.is_none() && d.offset.is_none() => Some(*d),
            _ => self.mismatch(at, value, "a date"),
        }
    }

    /// A table (`[settings]`, an account, a key).
    pub(super) fn table<'v, 's>(
        &mut self,
        at: &Loc<'_>,
        value: &'v Spanned<DeValue<'s>>,
    ) -> Option<&'v DeTable<'s>> {
        self.typed(at, value, "a table", DeValue::as_table)
    }

    /// The value as `get` finds it, or (reported) `None` when it is not
    /// `expected`.
    fn typed<'v, 's, T>(
        &mut self,
        at: &Loc<'_>,
        value: &'v Spanned<DeValue<'s>>,
        expected: &str,
        get: fn(&'v DeValue<'s>) -> Option<T>,
    ) -> Option<T> {
        let found = get(value.get_ref());
        if found.is_none() {
            self.mismatch::<()>(at, value, expected);
        }
        found
    }

    /// An array of strings; every element that is not one is reported, and
    /// then the whole array is left out.
    pub(super) fn strings(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Vec<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            return self.mismatch(at, value, "an array");
        };
        let all: Option<Vec<String>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.string(&at.index(i), item))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        self.whole(at, all)
    }

    /// `waves`: an array of arrays of strings; like [`Reader::strings`].
    pub(super) fn waves(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Vec<Vec<String>>> {
        let DeValue::Array(items) = value.get_ref() else {
            return self.mismatch(at, value, "an array of arrays of strings");
        };
        let all: Option<Vec<Vec<String>>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.strings(&at.index(i), item))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        self.whole(at, all)
    }

    /// A table of strings (`tags`); like [`Reader::strings`].
    pub(super) fn string_map(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<BTreeMap<String, String>> {
        let table = self.table(at, value)?;
        let all: Option<BTreeMap<String, String>> = table
            .iter()
            .map(|(key, item)| {
                let key = key.get_ref().to_string();
                let item = self.string(&at.key(&key), item);
                item.map(|item| (key, item))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        self.whole(at, all)
    }

    /// A string or an array of strings (`action`, `resource`).
    pub(super) fn one_or_many(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Strings> {
        if let Some(s) = value.get_ref().as_str() {
            return Some(Strings::One(s.to_string()));
        }
        if value.get_ref().as_array().is_some() {
            return self.strings(at, value).map(Strings::Many);
        }
        self.mismatch(at, value, "a string or an array of strings")
    }

    /// `managed_policies`: a boolean or an array of strings.
    pub(super) fn managed_policies(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<ManagedPoliciesFile> {
        if let Some(b) = value.get_ref().as_bool() {
            return Some(ManagedPoliciesFile::All(b));
        }
        if value.get_ref().as_array().is_some() {
            return self.strings(at, value).map(ManagedPoliciesFile::Some);
        }
        self.mismatch(at, value, "a boolean or an array of strings")
    }

    /// A statement's principal: `"*"` or a table of principals by type.
    pub(super) fn principal(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<PrincipalFile> {
        if let Some(s) = value.get_ref().as_str() {
            return Some(PrincipalFile::Anyone(s.to_string()));
        }
        let Some(table) = value.get_ref().as_table() else {
            return self.mismatch(at, value, "a table such as { AWS = \"arn:…\" }");
        };
        let mut all = Some(BTreeMap::new());
        for (key, item) in table {
            let key = key.get_ref().to_string();
            let read = self.one_or_many(&at.key(&key), item);
            match (read, all.as_mut()) {
                (Some(read), Some(map)) => {
                    map.insert(key, read);
                }
                _ => all = None,
            }
        }
        self.whole(at, all).map(PrincipalFile::Typed)
    }

    /// A statement's condition: operator → key → value(s).
    pub(super) fn condition(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<BTreeMap<String, BTreeMap<String, ConditionValue>>> {
        let table = self.table(at, value)?;
        let mut all = Some(BTreeMap::new());
        for (op, block) in table {
            let op = op.get_ref().to_string();
            let here = at.key(&op);
            let read = self.condition_block(&here, block);
            match (read, all.as_mut()) {
                (Some(read), Some(map)) => {
                    map.insert(op, read);
                }
                _ => all = None,
            }
        }
        self.whole(at, all)
    }

    /// One operator's block of a condition: key → value(s).
    fn condition_block(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<BTreeMap<String, ConditionValue>> {
        let table = self.table(at, value)?;
        let mut all = Some(BTreeMap::new());
        for (key, item) in table {
            let key = key.get_ref().to_string();
            let here = at.key(&key);
            let read = match item.get_ref().as_bool() {
                Some(b) => Some(ConditionValue::Flag(b)),
                None => match self.one_or_many(&here, item) {
                    Some(Strings::One(s)) => Some(ConditionValue::One(s)),
                    Some(Strings::Many(list)) => Some(ConditionValue::Many(list)),
                    None => None,
                },
            };
            match (read, all.as_mut()) {
                (Some(read), Some(map)) => {
                    map.insert(key, read);
                }
                _ => all = None,
            }
        }
        self.whole(at, all)
    }

    /// `accounts`, `classifications` or `keys` as `get` finds it; their
    /// hint says what kind of value is expected.
    pub(super) fn collection<'v, 's, C>(
        &mut self,
        at: &Loc<'_>,
        value: &'v Spanned<DeValue<'s>>,
        get: fn(&'v DeValue<'s>) -> Option<&'v C>,
    ) -> Option<&'v C> {
        let found = get(value.get_ref());
        if found.is_none() {
            let expected = hints::allowed(&at.path().shape()).unwrap_or_default();
            let found = found_text(value.get_ref().type_str(), None);
            self.reject::<()>(at, format!("expected {expected}, found {found}"));
        }
        found
    }

    /// A field that the table has but should not.
    pub(super) fn unknown(&mut self, key: &Spanned<DeString<'_>>, at: &Loc<'_>, fields: &[&str]) {
        let name = key.get_ref().as_ref();
        let allowed = fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>();
        let message = format!(
            "unknown field `{name}`{}; allowed: {}",
            suggest::did_you_mean(name, fields.iter().copied()),
            allowed.join(", ")
        );
        self.issues
            .push(Issue::at_offset(key.span().start, &at.path(), message));
    }

    /// Reports the `fields` that the table lacks.
    pub(super) fn require(&mut self, table: &DeTable<'_>, at: &Loc<'_>, fields: &[&str]) {
        for field in fields {
            if table
                .iter()
                .any(|(key, _)| key.get_ref().as_ref() == *field)
            {
                continue;
            }
            let p = at.path().key(*field);
            let message = match hints::allowed(&p.shape()) {
                Some(allowed) => format!("`{field}` is required; allowed: {allowed}"),
                None => format!("`{field}` is required"),
            };
            self.issues.push(Issue::at_path(&p, message));
        }
    }

    /// A value of another type than `expected`.
    fn mismatch<T>(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
        expected: &str,
    ) -> Option<T> {
        let found = found_text(value.get_ref().type_str(), self.snippet(value));
        let message = format!(
            "expected {expected}, found {found}; allowed: {}",
            allowed(at, expected)
        );
        self.reject(at, message)
    }

    /// Reports the field and leaves it out.
    fn reject<T>(&mut self, at: &Loc<'_>, message: String) -> Option<T> {
        let path = at.path();
        self.issues.push(Issue::at_path(&path, message));
        self.invalid.insert(path);
        None
    }

    /// A list or table whose elements were each read: all of it, or (when
    /// an element could not be read) none of it.
    fn whole<T>(&mut self, at: &Loc<'_>, all: Option<T>) -> Option<T> {
        if all.is_none() {
            self.invalid.insert(at.path());
        }
        all
    }
}

/// What the field at `at` allows, else the type it expects.
fn allowed(at: &Loc<'_>, expected: &str) -> String {
    hints::allowed(&at.path().shape()).unwrap_or_else(|| expected.to_string())
}

/// The type toml names (`string`, `integer`, `float`, `boolean`,
/// `datetime`, `array`, `table`) in words, with the value when it is short.
fn found_text(kind: &str, snippet: Option<&str>) -> String {
    let kind = match kind {
        "float" => "a float",
        "integer" => "an integer",
        "string" => "a string",
        "boolean" => "a boolean",
        "array" => "an array",
        "table" => "a table",
        "datetime" => "a date/time",
        other => other,
    };
    match snippet {
        Some(s) if !s.contains('\n') && s.chars().count() <= 40 && kind != "a table" => {
            format!("{kind} {s}")
        }
        _ => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_in_toml_words() {
        assert_eq!(found_text("float", Some("1e30")), "a float 1e30");
        assert_eq!(found_text("integer", Some("5")), "an integer 5");
        assert_eq!(found_text("table", Some("{ a = 1 }")), "a table");
        assert_eq!(
            found_text("datetime", Some("1979-05-27")),
            "a date/time 1979-05-27"
        );
        assert_eq!(found_text("array", Some("[1,\n2]")), "an array");
        assert_eq!(
            found_text("string", Some(&format!("\"{}\"", "x".repeat(40)))),
            "a string"
        );
    }
}
