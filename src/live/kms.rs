//! KMS reads of one (account, region): aliases, keys, tags, and the full
//! read (DescribeKey, GetKeyRotationStatus, GetKeyPolicy, ListGrants) of the
//! keys c3 has reason to look at.
//!
//! Calls per region: ListAliases and ListKeys (paged), one ListResourceTags
//! per key (paged; AWS-managed keys excluded), then four calls per key read
//! in full (three with `read_grants = false`), so at most five calls per c3
//! key. ListGrants is paced under its own quota ([`super::PACED_READS`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures::future::try_join_all;

use super::{collect_pages, Calls, Page};
use crate::aws::AwsCallError;
use crate::model::{tag, KeyDetails, KmsGrant, LiveAlias, LiveKey, RegionSnapshot, Rotation};

/// Page sizes: the maxima AWS allows.
const ALIASES_PAGE: i32 = 100;
const KEYS_PAGE: i32 = 1000;
const TAGS_PAGE: i32 = 50;
const GRANTS_PAGE: i32 = 100;

/// The prefix of AWS-managed aliases; c3 never lists, reads or describes them.
pub const AWS_ALIAS_PREFIX: &str = "alias/aws/";

/// An entry of ListKeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
}

/// The KMS reads c3 makes, one page or one object per call.
pub trait KmsRead {
    /// One page of ListAliases, as listed (`alias/aws/*` included, a target
    /// possibly empty).
    fn list_aliases(
        &self,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<LiveAlias>, AwsCallError>> + Send;
    /// One page of ListKeys.
    fn list_keys(
        &self,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<KeyEntry>, AwsCallError>> + Send;
    /// One page of ListResourceTags of a key: (key, value) pairs.
    fn list_tags(
        &self,
        key_id: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<(String, String)>, AwsCallError>> + Send;
    /// DescribeKey: the key's details as DescribeKey alone tells them, with
    /// `rotation`, `policy` and `grants` left `None` for their own calls.
    fn describe(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<KeyDetails, AwsCallError>> + Send;
    /// GetKeyRotationStatus.
    fn rotation(&self, key_id: &str)
        -> impl Future<Output = Result<Rotation, AwsCallError>> + Send;
    /// GetKeyPolicy of the policy named `default`, verbatim.
    fn policy(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsCallError>> + Send;
    /// One page of ListGrants of a key.
    fn list_grants(
        &self,
        key_id: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<KmsGrant>, AwsCallError>> + Send;
    /// GetKeyLastUsage of a key. By default unsupported (so the last use
    /// is "unknown"); [`SdkKms`] calls AWS (src/live/audit.rs).
    fn last_usage(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<crate::model::LastUsage, AwsCallError>> + Send {
        let _ = key_id;
        async {
            Err(AwsCallError::protocol(
                "GetKeyLastUsage",
                "not supported by this reader",
            ))
        }
    }
}

/// Reads one (account, region).
///
/// `declared` holds the names of the keys declared for this target: c3 keys
/// of those names, and c3 keys that their aliases point at, are read in
/// full. Every other key is kept with its tags only (so the planner can tell
/// a foreign alias target from a c3 key and report orphans by tag).
///
/// With `grants`, the grants of every key read in full are listed too.
///
/// A key that vanishes between ListKeys and a read of it (NotFound) is
/// dropped; any other failure fails the whole region, because planning on a
/// partial listing could re-create a key that exists (and a grant list that
/// cannot be read is never taken for an empty one).
pub async fn read_region<K: KmsRead>(
    kms: &K,
    calls: &Calls<'_>,
    declared: &BTreeSet<String>,
    grants: bool,
) -> Result<RegionSnapshot, AwsCallError> {
    read_region_adopting(kms, calls, declared, &BTreeSet::new(), grants).await
}

/// [`read_region`], where `adopting` names the declared keys with
/// `adopt = true`: the key their alias points at is read in full whoever it
/// belongs to, so the planner can tell whether c3 can adopt it. Every other
/// key is read exactly as [`read_region`] reads it.
pub async fn read_region_adopting<K: KmsRead>(
    kms: &K,
    calls: &Calls<'_>,
    declared: &BTreeSet<String>,
    adopting: &BTreeSet<String>,
    grants: bool,
) -> Result<RegionSnapshot, AwsCallError> {
    let (aliases, keys) = futures::try_join!(
        collect_pages("ListAliases", calls, |marker| kms.list_aliases(marker)),
        collect_pages("ListKeys", calls, |marker| kms.list_keys(marker)),
    )?;
    let aliases = RegionAliases::split(aliases);
    let keys: BTreeMap<String, KeyEntry> = keys
        .into_iter()
        .filter(|k| !aliases.aws_managed.contains(&k.key_id))
        .map(|k| (k.key_id.clone(), k))
        .collect();
    let full_reads = FullReads::new(declared, adopting, &aliases.customer);

    // Each key on its own: its tags, then (if it is to be read in full) its
    // details, so the reads of early keys (and the paced ListGrants) start
    // while later keys' tags are still being listed.
    let read = try_join_all(
        keys.values()
            .map(|key| read_key(kms, calls, key, &full_reads, grants)),
    )
    .await?;

    Ok(RegionSnapshot {
        keys: read.into_iter().flatten().collect(),
        aliases: aliases.customer.into_values().collect(),
    })
}

/// The aliases of a region: the customer's, and the keys behind AWS's.
struct RegionAliases {
    /// Customer aliases by name (the first listed of a name is kept).
    customer: BTreeMap<String, LiveAlias>,
    /// The keys behind `alias/aws/*`: AWS-managed, so never tagged,
    /// described or kept.
    aws_managed: BTreeSet<String>,
}

impl RegionAliases {
    /// Splits the listed aliases; an empty target is read as none.
    fn split(listed: Vec<LiveAlias>) -> Self {
        let mut aliases = Self {
            customer: BTreeMap::new(),
            aws_managed: BTreeSet::new(),
        };
        for mut alias in listed {
            alias.target_key_id = alias.target_key_id.filter(|id| !id.is_empty());
            if alias.name.starts_with(AWS_ALIAS_PREFIX) {
                aliases.aws_managed.extend(alias.target_key_id);
                continue;
            }
            aliases.customer.entry(alias.name.clone()).or_insert(alias);
        }
        aliases
    }
}

/// Every key of a region that is not behind an `alias/aws/*` alias, with
/// its alias names (`alias/<name>`, sorted): ListAliases and ListKeys,
/// paged, concurrently. What the audit and import start from.
pub(crate) async fn keys_with_aliases<K: KmsRead>(
    kms: &K,
    calls: &Calls<'_>,
) -> Result<Vec<(KeyEntry, Vec<String>)>, AwsCallError> {
    let (aliases, keys) = futures::try_join!(
        collect_pages("ListAliases", calls, |marker| kms.list_aliases(marker)),
        collect_pages("ListKeys", calls, |marker| kms.list_keys(marker)),
    )?;
    let (aws_managed, mut by_key) = aliases_by_key(aliases);
    Ok(keys
        .into_iter()
        .filter(|k| !aws_managed.contains(&k.key_id))
        .map(|k| {
            let names = by_key.remove(&k.key_id).unwrap_or_default();
            (k, names)
        })
        .collect())
}

/// The aliases of a region by the key they point at: the keys behind
/// `alias/aws/*` (AWS-managed), and each other key's alias names
/// (`alias/<name>`, sorted). Aliases without a target are left out.
fn aliases_by_key(listed: Vec<LiveAlias>) -> (BTreeSet<String>, BTreeMap<String, Vec<String>>) {
    let mut aws_managed = BTreeSet::new();
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for alias in listed {
        let Some(id) = alias.target_key_id.filter(|id| !id.is_empty()) else {
            continue;
        };
        if alias.name.starts_with(AWS_ALIAS_PREFIX) {
            aws_managed.insert(id);
        } else {
            by_key.entry(id).or_default().push(alias.name);
        }
    }
    for names in by_key.values_mut() {
        names.sort();
    }
    (aws_managed, by_key)
}

/// Which keys of a region are read in full.
struct FullReads<'a> {
    /// The names of the keys declared for the target.
    declared: &'a BTreeSet<String>,
    /// The keys that the aliases of declared names point at.
    alias_targets: BTreeSet<&'a str>,
    /// The keys that the aliases of declared `adopt = true` names point at.
    adoptable: BTreeSet<&'a str>,
}

impl<'a> FullReads<'a> {
    /// For the keys `declared` for a target with these customer aliases.
    fn new(
        declared: &'a BTreeSet<String>,
        adopting: &BTreeSet<String>,
        aliases: &'a BTreeMap<String, LiveAlias>,
    ) -> Self {
        let targets_of = |names: &BTreeSet<String>| -> BTreeSet<&'a str> {
            aliases
                .values()
                .filter(|a| a.key_name().is_some_and(|name| names.contains(name)))
                .filter_map(|a| a.target_key_id.as_deref())
                .collect()
        };
        let adopting: BTreeSet<String> = adopting.intersection(declared).cloned().collect();
        Self {
            declared,
            alias_targets: targets_of(declared),
            adoptable: targets_of(&adopting),
        }
    }

    /// Whether a key is read in full: a declared `adopt = true` alias points
    /// at it, or it is c3-managed and either its `c3:name` is declared for
    /// this target or a declared alias points at it.
    fn wants(&self, key_id: &str, tags: &BTreeMap<String, String>) -> bool {
        if self.adoptable.contains(key_id) {
            return true;
        }
        if !tag::is_managed(tags) {
            return false;
        }
        tags.get(tag::NAME)
            .is_some_and(|n| self.declared.contains(n))
            || self.alias_targets.contains(key_id)
    }
}

/// One key: its tags, then, if `full_reads` wants it, its details. `None` when
/// the key vanished while it was read.
async fn read_key<K: KmsRead>(
    kms: &K,
    calls: &Calls<'_>,
    key: &KeyEntry,
    full_reads: &FullReads<'_>,
    grants: bool,
) -> Result<Option<LiveKey>, AwsCallError> {
    let tags = collect_pages("ListResourceTags", calls, |marker| {
        kms.list_tags(&key.key_id, marker)
    })
    .await;
    let tags: BTreeMap<String, String> = match tags {
        Ok(tags) => tags.into_iter().collect(),
        Err(e) if e.is_not_found() => {
            tracing::debug!(key_id = %key.key_id, "key vanished while listing its tags");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let details = if full_reads.wants(&key.key_id, &tags) {
        match read_details(kms, calls, &key.key_id, grants).await? {
            Some(details) => Some(details),
            None => return Ok(None),
        }
    } else {
        None
    };
    // A c3 orphan: its last use goes into the plan's report of it, so
    // nobody retires a key that still decrypts data.
    let orphan = tag::is_managed(&tags)
        && tags
            .get(tag::NAME)
            .is_some_and(|n| !full_reads.declared.contains(n));
    let last_usage = if orphan {
        Some(super::audit::last_usage_of(kms, calls, &key.key_id).await)
    } else {
        None
    };
    Ok(Some(LiveKey {
        key_id: key.key_id.clone(),
        arn: key.arn.clone(),
        tags,
        details,
        last_usage,
    }))
}

/// DescribeKey, GetKeyRotationStatus, GetKeyPolicy and (with `grants`)
/// ListGrants of one key, concurrently. `None` when DescribeKey says the key
/// does not exist.
async fn read_details<K: KmsRead>(
    kms: &K,
    calls: &Calls<'_>,
    key_id: &str,
    grants: bool,
) -> Result<Option<KeyDetails>, AwsCallError> {
    let list_grants = async {
        if grants {
            collect_pages("ListGrants", calls, |marker| {
                kms.list_grants(key_id, marker)
            })
            .await
            .map(Some)
        } else {
            Ok(None)
        }
    };
    // On the heap: every key's read is queued at once, so the queued future
    // must stay small (see `queued_reads_hold_no_sdk_future`).
    let (described, rotation, policy, grants) = Box::pin(async {
        futures::join!(
            calls.run("DescribeKey", || kms.describe(key_id)),
            calls.run("GetKeyRotationStatus", || kms.rotation(key_id)),
            calls.run("GetKeyPolicy", || kms.policy(key_id)),
            list_grants,
        )
    })
    .await;
    let described = match described {
        Ok(d) => d,
        Err(e) if e.is_not_found() => {
            tracing::debug!(key_id, "key vanished before DescribeKey");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let rotation = rotation_if_readable(rotation)?;
    let policy = match policy {
        Ok(p) => p,
        Err(e) if e.has_code("KMSInvalidStateException") => None,
        Err(e) => return Err(e),
    };
    let grants = match grants {
        Ok(g) => g.map(|mut g| {
            g.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
            g
        }),
        Err(e) if e.is_not_found() => {
            tracing::debug!(key_id, "key vanished before ListGrants");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    Ok(Some(KeyDetails {
        rotation,
        policy,
        grants,
        ..described
    }))
}

/// The rotation status, or `None` where it cannot be read: in some key
/// states (PendingDeletion, Disabled) and for some key types. That is not a
/// failure of the read.
pub(crate) fn rotation_if_readable<T>(
    read: Result<T, AwsCallError>,
) -> Result<Option<T>, AwsCallError> {
    match read {
        Ok(r) => Ok(Some(r)),
        Err(e)
            if e.has_code("KMSInvalidStateException")
                || e.has_code("DisabledException")
                || e.has_code("UnsupportedOperationException") =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

mod sdk;
pub use sdk::SdkKms;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
