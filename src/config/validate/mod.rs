//! The rules of `keys.toml` beyond its shape: every rule is checked on what
//! `read` could read, and every violation recorded with the path of the
//! field at fault. Building the desired state is `expand`'s, once nothing
//! is found here.
//!
//! A field that was missing or of the wrong type is `None` in the file, and
//! each rule that needs it is skipped, so one mistake is reported once.

mod accept;
mod accounts;
mod classifications;
mod fleet;
mod key_type;
mod keys;
pub(crate) mod names;
pub(crate) use fleet::rollout_of;
pub use fleet::wave_message;
mod policy;
mod settings;
mod tags;

use std::collections::BTreeSet;

use super::file::KeysFile;
use super::hints;
use super::path::FieldPath;
use super::read::Invalid;
use super::Issue;
use names::show;

/// Every rule violation of the file.
pub(crate) fn check(file: &KeysFile, invalid: &Invalid) -> Vec<Issue> {
    let root = FieldPath::root();
    let mut v = Checker::new(file, invalid);
    if let Some(version) = file.version.filter(|&n| n != 1) {
        v.err(
            &root.key("version"),
            format!(
                "version = {version} is not supported; allowed: {}",
                hints::VERSION
            ),
        );
    }
    v.settings(&file.settings, &root.key("settings"));
    let mut accounts = v.accounts(&file.accounts, &root.key("accounts"));
    if let Some(o) = &file.organization {
        accounts.push(v.organization(o, &root.key("organization")));
    }
    if let Some(r) = &file.rollout {
        v.rollout(file, r, &root.key("rollout"));
    }
    v.classifications(&file.classifications, &root.key("classifications"));
    v.keys(file, &accounts, &root.key("keys"));
    v.accept(file, &root.key("accept"));
    v.issues
}

/// Collects the violations.
struct Checker<'f> {
    issues: Vec<Issue>,
    /// The fields that were there but could not be read.
    invalid: &'f Invalid,
    /// The region names `[settings] allow_regions` adds to the known ones.
    allow_regions: BTreeSet<&'f str>,
    /// Whether the file has `[organization]` (then `[accounts]` may be empty).
    discovering: bool,
}

impl<'f> Checker<'f> {
    fn new(file: &'f KeysFile, invalid: &'f Invalid) -> Self {
        let allow_regions = file
            .settings
            .allow_regions
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|r| names::is_region(r))
            .collect();
        Self {
            issues: Vec::new(),
            invalid,
            allow_regions,
            discovering: file.organization.is_some(),
        }
    }

    fn err(&mut self, path: &FieldPath, message: String) {
        self.issues.push(Issue::at_path(path, message));
    }

    /// Checks that a number, when there is one, is in `min..=max`.
    fn range(
        &mut self,
        path: &FieldPath,
        value: Option<i64>,
        (min, max): (i64, i64),
        allowed: &str,
    ) {
        let Some(value) = value else {
            return;
        };
        if value < min || value > max {
            let name = path.last_key().unwrap_or("value");
            self.err(
                path,
                format!("{name} = {value} is out of range; allowed: {allowed}"),
            );
        }
    }

    /// Each entry of a list must be `ok`, or it "{prefix}{entry} is not
    /// {kind}; allowed: {allowed}".
    fn entries(
        &mut self,
        list: &[String],
        path: &FieldPath,
        ok: fn(&str) -> bool,
        (prefix, kind, allowed): (&str, &str, &str),
    ) {
        for (i, entry) in list.iter().enumerate() {
            if !ok(entry) {
                self.err(
                    &path.index(i),
                    format!("{prefix}{} is not {kind}; allowed: {allowed}", show(entry)),
                );
            }
        }
    }
}
