//! `c3 import`'s pure part: what was read from the accounts (plain values,
//! made by `live::import`) → keys.toml text. No I/O, no SDK.
//!
//! The rules (docs/import.md says them to users):
//!
//! - a key is imported under the name of its alias; a key with several
//!   aliases under the first in byte order, the others named in a comment
//!   and accepted as `alias` findings;
//! - a key name found in several accounts or regions is one `[[keys]]`
//!   entry (names are unique in keys.toml) whose fields are what every
//!   target shares; what only some targets have becomes `[[accept]]`
//!   entries for those targets, so nothing is added to any key;
//! - keys with the same rotation and services share a classification named
//!   `imported-rot<days>` or `imported-norotation`, then the services
//!   (`imported-rot365-logs`);
//! - what keys.toml cannot say becomes `[[accept]]` with reason `imported as
//!   is: …` and an expiry 90 days after today.

mod policies;
pub mod recognise;
mod text;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{key_type, Date, KeyDetails, KeyState, KeyType};

pub use write::write;

/// An account import reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAccount {
    /// Its name in keys.toml (`acct-<id>` when it comes from the command line).
    pub name: String,
    /// The 12-digit id.
    pub id: String,
    /// The role c3 assumes.
    pub role_arn: Option<String>,
    /// Its ExternalId.
    pub external_id: Option<String>,
    /// The regions read.
    pub regions: Vec<String>,
}

/// The name of an account given on the command line: `acct-<id>`.
pub fn account_name(id: &str) -> String {
    format!("acct-{id}")
}

/// A key that was read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundKey {
    /// The account id.
    pub account: String,
    /// The region.
    pub region: String,
    /// The key id.
    pub key_id: String,
    /// The names of its customer aliases (without `alias/`), sorted; empty
    /// for a key without alias.
    pub aliases: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// DescribeKey, rotation, key policy, grants.
    pub details: KeyDetails,
}

impl FoundKey {
    /// What the key is, in keys.toml's words: spec, usage, and the primary's
    /// region of a multi-Region key.
    pub fn key_type(&self) -> KeyType {
        let d = &self.details;
        KeyType {
            spec: if d.spec.is_empty() {
                key_type::DEFAULT_SPEC.to_string()
            } else {
                d.spec.clone()
            },
            usage: d.usage.clone(),
            primary_region: d.multi_region.then(|| {
                d.primary_region
                    .clone()
                    .unwrap_or_else(|| self.region.clone())
            }),
        }
    }

    /// Why c3 cannot take this key into its care, or `None`.
    pub fn unsupported(&self) -> Option<String> {
        let d = &self.details;
        if d.manager == "AWS" {
            return Some("an AWS-managed key".into());
        }
        let spec = if d.spec.is_empty() {
            key_type::DEFAULT_SPEC
        } else {
            d.spec.as_str()
        };
        if !key_type::usages_of(spec).is_some_and(|u| u.contains(&d.usage.as_str())) {
            return Some(format!(
                "key spec {spec} and usage {} (c3 creates no such keys: docs/config.md, Key types)",
                d.usage
            ));
        }
        if d.origin == "EXTERNAL" {
            return Some("imported key material (origin EXTERNAL)".into());
        }
        if let Some(store) = &d.custom_key_store_id {
            return Some(format!("a key in the custom key store {store}"));
        }
        if !d.origin.is_empty() && d.origin != "AWS_KMS" {
            return Some(format!("origin {}", d.origin));
        }
        match d.state {
            KeyState::Enabled | KeyState::Disabled => None,
            ref other => Some(format!("its state is {other}")),
        }
    }
}

/// An account or region that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The account id.
    pub account: String,
    /// The region; `None` for the account's IAM, or all of it.
    pub region: Option<String>,
    /// With no region: only IAM failed (the keys were read).
    pub iam_only: bool,
    /// Why.
    pub message: String,
}

/// Everything import read, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportInput {
    /// The accounts, as they go into `[accounts.*]`.
    pub accounts: Vec<ImportAccount>,
    /// `[settings] policy_path`.
    pub policy_path: String,
    /// Every key read, aliased or not.
    pub keys: Vec<FoundKey>,
    /// The managed policies named like c3's at `policy_path` (name →
    /// default document), by account id.
    pub policies: BTreeMap<String, BTreeMap<String, String>>,
    /// What could not be read.
    pub missing: Vec<Missing>,
    /// Key names the input file already declares (not imported again).
    pub declared: BTreeSet<String>,
    /// Today, for the `expires` of `[[accept]]` entries.
    pub today: Date,
}

impl ImportInput {
    /// Why a replica of a multi-Region key is not imported: its primary's
    /// region was not read, so keys.toml could not name it as the key's
    /// `primary_region` (one of the key's regions).
    pub fn primary_not_read(&self, key: &FoundKey) -> Option<String> {
        let primary = key.key_type().primary_region?;
        let read = self
            .accounts
            .iter()
            .any(|a| a.id == key.account && a.regions.contains(&primary));
        (!read).then(|| {
            format!(
                "a replica of a multi-Region key whose primary is in {primary}, a region not read: import with {primary} among the regions"
            )
        })
    }
}

/// How many days after today an import's `[[accept]]` entries expire.
pub const ACCEPT_DAYS: i64 = 90;

/// The `reason` prefix of an import's `[[accept]]` entries.
pub const REASON_PREFIX: &str = "imported as is: ";
