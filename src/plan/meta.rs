//! What a plan document says about itself (format 2): the c3 that wrote
//! it, when, from which keys.toml (path and SHA-256 of its bytes), and the
//! selection the run was limited to. Pure: the caller reads the file and
//! the clock; this module only hashes bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The metadata of a plan (the top-level `c3_version`, `created_at`,
/// `config` and `selection` fields of a format 2 document). `None` on a
/// plan read from a format 1 document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMeta {
    /// The version of c3 that wrote the plan (`CARGO_PKG_VERSION`).
    pub c3_version: String,
    /// When the plan was made, RFC 3339 in UTC (`2026-11-30T15:04:05Z`).
    pub created_at: String,
    /// The keys.toml the plan was made from.
    pub config: ConfigRef,
    /// What the run was limited to.
    pub selection: Selection,
}

/// A keys.toml: its path as given to c3 and the SHA-256 of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRef {
    /// The path as given (`-c`, `C3_CONFIG`, or `keys.toml`).
    pub path: String,
    /// The SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

impl ConfigRef {
    /// The reference of a file's bytes read from `path`.
    pub fn of(path: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            path: path.into(),
            sha256: sha256_hex(bytes),
        }
    }
}

/// The selection of a run: empty lists and a null shard mean everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Selection {
    /// `--accounts`, as 12-digit ids, sorted; empty: every account.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// `--regions`, sorted; empty: every region.
    #[serde(default)]
    pub regions: Vec<String>,
    /// `--keys`, sorted; empty: every key.
    #[serde(default)]
    pub keys: Vec<String>,
    /// `--shard I/N`; null: no sharding.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// `--wave N` of `[rollout]` (from 1); absent: every wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<u16>,
}

impl Selection {
    /// Whether the selection is the whole estate.
    pub fn is_everything(&self) -> bool {
        self.accounts.is_empty()
            && self.regions.is_empty()
            && self.keys.is_empty()
            && self.shard.is_none()
            && self.wave.is_none()
    }

    /// The selection without its shard (what shards of one run share).
    #[must_use]
    pub fn without_shard(&self) -> Self {
        Self {
            shard: None,
            ..self.clone()
        }
    }
}

impl std::fmt::Display for Selection {
    /// `--accounts 111111111111 --shard 1/3`, or `everything`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_everything() {
            return f.write_str("everything");
        }
        let mut parts = Vec::new();
        for (flag, list) in [
            ("--accounts", &self.accounts),
            ("--regions", &self.regions),
            ("--keys", &self.keys),
        ] {
            if !list.is_empty() {
                parts.push(format!("{flag} {}", list.join(",")));
            }
        }
        if let Some(s) = &self.shard {
            parts.push(format!("--shard {s}"));
        }
        if let Some(w) = self.wave {
            parts.push(format!("--wave {w}"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// `--shard I/N`: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// I, from 1.
    pub index: u32,
    /// N.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The SHA-256 of some bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// RFC 3339 in UTC, to the second, of seconds since the Unix epoch.
pub fn rfc3339_utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let date = crate::model::Date::from_days_since_epoch(days);
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A plan given to `c3 merge`: the name it was given by, and its metadata
/// (`None` for a format 1 document).
pub struct MergeInput<'a> {
    /// The file name, for messages.
    pub name: &'a str,
    /// Its metadata.
    pub meta: Option<&'a PlanMeta>,
}

/// Whether plans may be merged, and the metadata of the merge: plans of one
/// keys.toml, no selection given twice, and when they are shards, every
/// shard of one `--shard I/N` run. Format 1 plans (no metadata) merge only
/// with each other, unchecked. `Err` is one line.
pub fn merge_meta(inputs: &[MergeInput<'_>]) -> Result<Option<PlanMeta>, String> {
    let with: Vec<(&str, &PlanMeta)> = inputs
        .iter()
        .filter_map(|i| i.meta.map(|m| (i.name, m)))
        .collect();
    if with.is_empty() {
        return Ok(None);
    }
    if let Some(old) = inputs.iter().find(|i| i.meta.is_none()) {
        return Err(format!(
            "{} is a format 1 plan (it records neither its keys.toml nor its selection) and cannot be merged with format 2 plans: make it again with `c3 plan --out`",
            old.name
        ));
    }
    let (first, head) = with[0];
    if let Some((name, m)) = with
        .iter()
        .find(|(_, m)| m.config.sha256 != head.config.sha256)
    {
        return Err(format!(
            "{first} and {name} were made from different keys.toml files ({} sha256 {}, {} sha256 {}): merge the plans of one keys.toml, made again from it with `c3 plan --out`",
            head.config.path,
            short(&head.config.sha256),
            m.config.path,
            short(&m.config.sha256)
        ));
    }
    for (i, (a, ma)) in with.iter().enumerate() {
        if let Some((b, _)) = with[i + 1..]
            .iter()
            .find(|(_, mb)| mb.selection == ma.selection)
        {
            let what = ma.selection.shard.map_or_else(
                || format!("the plan of {}", ma.selection),
                |s| format!("shard {s}"),
            );
            return Err(format!(
                "{a} and {b} are both {what}: give each shard's plan once"
            ));
        }
    }
    check_shards(&with)?;
    let oldest = with
        .iter()
        .map(|(_, m)| m.created_at.as_str())
        .min()
        .unwrap_or_default();
    Ok(Some(PlanMeta {
        c3_version: head.c3_version.clone(),
        created_at: oldest.to_string(),
        config: head.config.clone(),
        selection: union(with.iter().map(|(_, m)| &m.selection)),
    }))
}

/// Shards merge only with the other shards of their run, all of them.
fn check_shards(with: &[(&str, &PlanMeta)]) -> Result<(), String> {
    let Some((first, head)) = with.iter().find(|(_, m)| m.selection.shard.is_some()) else {
        return Ok(());
    };
    let base = head.selection.without_shard();
    let count = head.selection.shard.map_or(0, |s| s.count);
    for (name, m) in with {
        let same_run = m.selection.without_shard() == base
            && m.selection.shard.is_some_and(|s| s.count == count);
        if !same_run {
            return Err(format!(
                "{first} is {} but {name} is {}: merge the plans of one `--shard I/{count}` run",
                head.selection, m.selection
            ));
        }
    }
    let given: std::collections::BTreeSet<u32> = with
        .iter()
        .filter_map(|(_, m)| m.selection.shard.map(|s| s.index))
        .collect();
    let missing: Vec<String> = (1..=count)
        .filter(|i| !given.contains(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "shard {} of --shard I/{count} is missing: merge the plans of all {count} shards (a merge of some shards would hide the others' findings)",
        missing.join(", ")
    ))
}

/// The selection that covers every one of these: each list the union of
/// theirs, empty (everything) when any of them is; no shard.
fn union<'a>(selections: impl Iterator<Item = &'a Selection>) -> Selection {
    fn join(into: &mut Option<std::collections::BTreeSet<String>>, list: &[String]) {
        match (into.as_mut(), list.is_empty()) {
            (_, true) => *into = None,
            (Some(set), false) => set.extend(list.iter().cloned()),
            (None, false) => {}
        }
    }
    let mut acc: [Option<std::collections::BTreeSet<String>>; 3] =
        std::array::from_fn(|_| Some(std::collections::BTreeSet::new()));
    let mut any = false;
    let mut waves = std::collections::BTreeSet::new();
    for s in selections {
        any = true;
        waves.insert(s.wave);
        join(&mut acc[0], &s.accounts);
        join(&mut acc[1], &s.regions);
        join(&mut acc[2], &s.keys);
    }
    let [accounts, regions, keys] = acc.map(|set| {
        set.filter(|_| any)
            .unwrap_or_default()
            .into_iter()
            .collect()
    });
    Selection {
        accounts,
        regions,
        keys,
        shard: None,
        // The wave they share, if they all have the same one.
        wave: if waves.len() == 1 {
            waves.into_iter().next().flatten()
        } else {
            None
        },
    }
}

/// The first 12 hex digits of a SHA-256, for messages.
pub fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_times_are_spelled_as_documented() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_796_051_045), "2026-11-30T15:04:05Z");
    }

    #[test]
    fn a_selection_reads_as_its_flags() {
        let s = Selection {
            accounts: vec!["111111111111".into()],
            shard: Some(Shard { index: 1, count: 3 }),
            ..Selection::default()
        };
        assert_eq!(s.to_string(), "--accounts 111111111111 --shard 1/3");
        assert_eq!(Selection::default().to_string(), "everything");
    }

    fn meta(sha: &str, shard: Option<(u32, u32)>) -> PlanMeta {
        PlanMeta {
            c3_version: "0.1.0".into(),
            created_at: "2026-11-30T12:00:00Z".into(),
            config: ConfigRef {
                path: "keys.toml".into(),
                sha256: sha.repeat(64),
            },
            selection: Selection {
                shard: shard.map(|(index, count)| Shard { index, count }),
                ..Selection::default()
            },
        }
    }

    fn merged(metas: &[(&str, Option<&PlanMeta>)]) -> Result<Option<PlanMeta>, String> {
        let inputs: Vec<MergeInput<'_>> = metas
            .iter()
            .map(|(name, meta)| MergeInput { name, meta: *meta })
            .collect();
        merge_meta(&inputs)
    }

    #[test]
    fn merge_wants_every_shard_once_of_one_keys_toml() {
        let (s1, s2, s3) = (
            meta("a", Some((1, 3))),
            meta("a", Some((2, 3))),
            meta("a", Some((3, 3))),
        );
        let all = merged(&[("1", Some(&s1)), ("2", Some(&s2)), ("3", Some(&s3))]);
        let selection = all.map(|m| m.map(|m| m.selection));
        assert_eq!(selection, Ok(Some(Selection::default())));
        let twice = merged(&[("s3.json", Some(&s3)), ("s3.json", Some(&s3))]);
        assert_eq!(
            twice.err().as_deref(),
            Some("s3.json and s3.json are both shard 3/3: give each shard's plan once")
        );
        let missing = merged(&[("1", Some(&s1)), ("2", Some(&s2))]).unwrap_err();
        assert!(
            missing.starts_with("shard 3/3 of --shard I/3 is missing"),
            "{missing}"
        );
        let other = meta("b", Some((3, 3)));
        let files = merged(&[("1", Some(&s1)), ("2", Some(&s2)), ("3", Some(&other))]);
        assert!(
            files.is_err_and(|e| e.starts_with("1 and 3 were made from different keys.toml files"))
        );
        let other_n = meta("a", Some((1, 2)));
        let runs = merged(&[("1", Some(&s1)), ("x", Some(&other_n))]).unwrap_err();
        assert!(
            runs.contains("merge the plans of one `--shard I/3` run"),
            "{runs}"
        );
        let old = merged(&[("1", Some(&s1)), ("old.json", None)]).unwrap_err();
        assert!(old.starts_with("old.json is a format 1 plan"), "{old}");
        assert_eq!(merged(&[("a", None), ("b", None)]), Ok(None));
    }
}
