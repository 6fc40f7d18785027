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
}

impl Selection {
    /// Whether the selection is the whole estate.
    pub fn is_everything(&self) -> bool {
        self.accounts.is_empty()
            && self.regions.is_empty()
            && self.keys.is_empty()
            && self.shard.is_none()
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
}
