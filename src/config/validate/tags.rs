//! Tags: a key's `tags`, `[settings] ignore_tags`, and the two together.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::super::hints;
use super::super::path::FieldPath;
use super::names::{characters, is_tag_char, show};
use super::Checker;
use crate::model;

impl Checker<'_> {
    /// `[settings] ignore_tags`: tag-key globs, not of c3's own tags.
    pub(super) fn ignore_tags(&mut self, globs: &[String], path: &FieldPath) {
        for (i, glob) in globs.iter().enumerate() {
            let len = glob.chars().count();
            let problem = if !(1..=128).contains(&len) {
                format!("is {} long", characters(len))
            } else if let Some(c) = glob
                .chars()
                .find(|c| !is_tag_char(*c) && *c != '*' && *c != '?')
            {
                format!("contains {c:?}")
            } else if glob.to_lowercase().starts_with(model::tag::PREFIX) {
                "names c3's own tags, which are always compared".to_string()
            } else {
                continue;
            };
            self.err(
                &path.index(i),
                format!(
                    "ignore_tags entry {} {problem}; allowed: {}",
                    show(glob),
                    hints::IGNORE_TAG
                ),
            );
        }
    }

    /// A key's `tags`: how many, and each key and value.
    pub(super) fn tags(&mut self, tags: &BTreeMap<String, String>, path: &FieldPath) {
        if tags.len() > hints::MAX_USER_TAGS {
            self.err(
                path,
                format!(
                    "{} tags is too many; allowed: at most {} (KMS allows 50 tags per key \
                     and c3 adds its own 4: c3:managed, c3:name, c3:classification, \
                     c3:generation)",
                    tags.len(),
                    hints::MAX_USER_TAGS
                ),
            );
        }
        for (key, value) in tags {
            let p = path.key(key.as_str());
            if let Some(problem) = tag_key_problem(key) {
                self.err(&p, problem);
            }
            if let Some(problem) = tag_prefix_problem(key) {
                self.err(&p, problem);
            }
            if let Some(problem) = tag_value_problem(value) {
                self.err(&p, problem);
            }
        }
    }

    /// A declared tag that `[settings] ignore_tags` matches would be set but
    /// never compared: one of the two is a mistake.
    pub(super) fn declared_but_ignored(
        &mut self,
        tags: &BTreeMap<String, String>,
        globs: &[String],
        path: &FieldPath,
    ) {
        for key in tags.keys() {
            let glob = globs
                .iter()
                .find(|g| crate::policy::glob_match(g, key, false));
            if let Some(glob) = glob {
                self.err(
                    &path.key(key.as_str()),
                    format!(
                        "tag {} is declared, but [settings] ignore_tags entry {} says never \
                         to compare it; allowed: declare the tag or ignore it, not both",
                        show(key),
                        show(glob)
                    ),
                );
            }
        }
    }
}

/// Why a tag key is not 1 to 128 tag characters.
fn tag_key_problem(key: &str) -> Option<String> {
    let label = format!("tag key {}", show(key));
    tag_text_problem(&label, key, 1..=128, "1 to 128")
}

/// Why a tag key is reserved (`aws:`, `c3:`, in any case).
fn tag_prefix_problem(key: &str) -> Option<String> {
    let lower = key.to_lowercase();
    if lower.starts_with("aws:") {
        Some(format!(
            "tag key {} begins with aws:, which AWS reserves (in any case); allowed: any \
             other key",
            show(key)
        ))
    } else if lower.starts_with(model::tag::PREFIX) {
        Some(format!(
            "tag key {} begins with c3:, which is reserved for c3's own tags (c3:managed, \
             c3:name, c3:classification, c3:generation); allowed: any other key",
            show(key)
        ))
    } else {
        None
    }
}

/// Why a tag value is not 0 to 256 tag characters.
fn tag_value_problem(value: &str) -> Option<String> {
    let label = format!("tag value {}", show(value));
    tag_text_problem(&label, value, 0..=256, "at most 256")
}

/// Why a tag key or value (`label`) is not `len` tag characters.
fn tag_text_problem(
    label: &str,
    text: &str,
    len: RangeInclusive<usize>,
    allowed_len: &str,
) -> Option<String> {
    let n = text.chars().count();
    if !len.contains(&n) {
        return Some(format!(
            "{label} is {} long; allowed: {allowed_len}",
            characters(n)
        ));
    }
    let c = text.chars().find(|c| !is_tag_char(*c))?;
    Some(format!(
        "{label} contains {c:?}; allowed: {}",
        hints::TAG_CHARS
    ))
}
