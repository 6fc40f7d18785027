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

use aws_sdk_kms::Client;
use futures::future::try_join_all;

use super::{collect_pages, Calls, Page};
use crate::aws::AwsCallError;
use crate::model::{
    tag, KeyDetails, KeyState, KmsGrant, LiveAlias, LiveKey, RegionSnapshot, Rotation,
};

/// Page sizes: the maxima AWS allows.
const ALIASES_PAGE: i32 = 100;
const KEYS_PAGE: i32 = 1000;
const TAGS_PAGE: i32 = 50;
const GRANTS_PAGE: i32 = 100;

/// The prefix of AWS-managed aliases; c3 never lists, reads or describes them.
pub const AWS_ALIAS_PREFIX: &str = "alias/aws/";

/// An entry of ListAliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// `alias/<name>`.
    pub name: String,
    /// The key id it points at, when the API names one.
    pub target_key_id: Option<String>,
}

/// An entry of ListKeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
}

/// What DescribeKey says about a key (the parts c3 uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDescription {
    /// The key state.
    pub state: KeyState,
    /// The description.
    pub description: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    /// `SYMMETRIC_DEFAULT`, ...
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, ... (missing is read as `ENCRYPT_DECRYPT`).
    pub usage: String,
    /// Creation time, seconds since the epoch.
    pub creation_epoch: Option<i64>,
}

/// The KMS reads c3 makes, one page or one object per call.
pub trait KmsRead {
    /// One page of ListAliases.
    fn list_aliases(
        &self,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<AliasEntry>, AwsCallError>> + Send;
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
    /// DescribeKey.
    fn describe(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<KeyDescription, AwsCallError>> + Send;
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
    let (aliases, keys) = futures::try_join!(
        collect_pages("ListAliases", calls, |marker| kms.list_aliases(marker)),
        collect_pages("ListKeys", calls, |marker| kms.list_keys(marker)),
    )?;

    // Keys behind alias/aws/* are AWS-managed: never tagged, described or kept.
    let mut aws_managed = BTreeSet::new();
    let mut customer_aliases: BTreeMap<String, LiveAlias> = BTreeMap::new();
    for alias in aliases {
        let target = alias.target_key_id.filter(|id| !id.is_empty());
        if alias.name.starts_with(AWS_ALIAS_PREFIX) {
            aws_managed.extend(target);
            continue;
        }
        customer_aliases
            .entry(alias.name.clone())
            .or_insert(LiveAlias {
                name: alias.name,
                target_key_id: target,
            });
    }
    let keys: BTreeMap<String, KeyEntry> = keys
        .into_iter()
        .filter(|k| !aws_managed.contains(&k.key_id))
        .map(|k| (k.key_id.clone(), k))
        .collect();

    let declared_alias_targets: BTreeSet<&str> = customer_aliases
        .values()
        .filter(|a| {
            a.name
                .strip_prefix("alias/")
                .is_some_and(|name| declared.contains(name))
        })
        .filter_map(|a| a.target_key_id.as_deref())
        .collect();

    // Each key on its own: its tags, then (if it is to be read in full) its
    // details, so the reads of early keys (and the paced ListGrants) start
    // while later keys' tags are still being listed.
    let read = try_join_all(keys.values().map(|key| {
        let declared_alias_targets = &declared_alias_targets;
        async move {
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
            let full = wants_details(&key.key_id, &tags, declared, declared_alias_targets);
            let details = if full {
                match read_details(kms, calls, &key.key_id, grants).await? {
                    Some(details) => Some(details),
                    None => return Ok(None),
                }
            } else {
                None
            };
            Ok::<_, AwsCallError>(Some(LiveKey {
                key_id: key.key_id.clone(),
                arn: key.arn.clone(),
                tags,
                details,
            }))
        }
    }))
    .await?;

    Ok(RegionSnapshot {
        keys: read.into_iter().flatten().collect(),
        aliases: customer_aliases.into_values().collect(),
    })
}

/// Whether a key is read in full: it is c3-managed, and either its `c3:name`
/// is declared for this target or a declared alias points at it.
fn wants_details(
    key_id: &str,
    tags: &BTreeMap<String, String>,
    declared: &BTreeSet<String>,
    declared_alias_targets: &BTreeSet<&str>,
) -> bool {
    if !tag::is_managed(tags) {
        return false;
    }
    tags.get(tag::NAME).is_some_and(|n| declared.contains(n))
        || declared_alias_targets.contains(key_id)
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
    let (description, rotation, policy, grants) = Box::pin(async {
        futures::join!(
            calls.run("DescribeKey", || kms.describe(key_id)),
            calls.run("GetKeyRotationStatus", || kms.rotation(key_id)),
            calls.run("GetKeyPolicy", || kms.policy(key_id)),
            list_grants,
        )
    })
    .await;
    let description = match description {
        Ok(d) => d,
        Err(e) if e.is_not_found() => {
            tracing::debug!(key_id, "key vanished before DescribeKey");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    // The rotation status cannot be read in some states (PendingDeletion,
    // Disabled) or for some key types; that is not a failure of the read.
    let rotation = match rotation {
        Ok(r) => Some(r),
        Err(e)
            if e.has_code("KMSInvalidStateException")
                || e.has_code("DisabledException")
                || e.has_code("UnsupportedOperationException") =>
        {
            None
        }
        Err(e) => return Err(e),
    };
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
        state: description.state,
        description: description.description,
        manager: description.manager,
        spec: description.spec,
        usage: description.usage,
        creation_epoch: description.creation_epoch,
        rotation,
        policy,
        grants,
    }))
}

/// [`KmsRead`] over the SDK client of one region.
#[derive(Debug, Clone)]
pub struct SdkKms {
    client: Client,
}

impl SdkKms {
    /// Wraps a client (already set to its region).
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl KmsRead for SdkKms {
    async fn list_aliases(&self, marker: Option<String>) -> Result<Page<AliasEntry>, AwsCallError> {
        let out = self
            .client
            .list_aliases()
            .limit(ALIASES_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListAliases", &e))?;
        Ok(Page {
            items: out
                .aliases()
                .iter()
                .filter_map(|a| {
                    Some(AliasEntry {
                        name: a.alias_name()?.to_string(),
                        target_key_id: a.target_key_id().map(str::to_string),
                    })
                })
                .collect(),
            truncated: out.truncated(),
            next_marker: out.next_marker().map(str::to_string),
        })
    }

    async fn list_keys(&self, marker: Option<String>) -> Result<Page<KeyEntry>, AwsCallError> {
        let out = self
            .client
            .list_keys()
            .limit(KEYS_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListKeys", &e))?;
        Ok(Page {
            items: out
                .keys()
                .iter()
                .filter_map(|k| {
                    let key_id = k.key_id()?.to_string();
                    Some(KeyEntry {
                        arn: k.key_arn().unwrap_or_default().to_string(),
                        key_id,
                    })
                })
                .collect(),
            truncated: out.truncated(),
            next_marker: out.next_marker().map(str::to_string),
        })
    }

    async fn list_tags(
        &self,
        key_id: &str,
        marker: Option<String>,
    ) -> Result<Page<(String, String)>, AwsCallError> {
        let out = self
            .client
            .list_resource_tags()
            .key_id(key_id)
            .limit(TAGS_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListResourceTags", &e))?;
        Ok(Page {
            items: out
                .tags()
                .iter()
                .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
                .collect(),
            truncated: out.truncated(),
            next_marker: out.next_marker().map(str::to_string),
        })
    }

    async fn describe(&self, key_id: &str) -> Result<KeyDescription, AwsCallError> {
        let out = self
            .client
            .describe_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("DescribeKey", &e))?;
        let meta = out.key_metadata().ok_or_else(|| {
            AwsCallError::protocol("DescribeKey", format!("no KeyMetadata for key {key_id}"))
        })?;
        Ok(KeyDescription {
            state: meta
                .key_state()
                .map(|s| KeyState::parse(s.as_str()))
                .unwrap_or_else(|| KeyState::Other("Unknown".to_string())),
            description: meta.description().unwrap_or_default().to_string(),
            manager: meta
                .key_manager()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            spec: meta
                .key_spec()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            usage: meta
                .key_usage()
                .map(|u| u.as_str().to_string())
                .unwrap_or_else(|| "ENCRYPT_DECRYPT".to_string()),
            creation_epoch: meta.creation_date().map(|d| d.secs()),
        })
    }

    async fn rotation(&self, key_id: &str) -> Result<Rotation, AwsCallError> {
        let out = self
            .client
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("GetKeyRotationStatus", &e))?;
        Ok(Rotation {
            enabled: out.key_rotation_enabled(),
            period_days: out
                .rotation_period_in_days()
                .and_then(|d| u32::try_from(d).ok()),
        })
    }

    async fn policy(&self, key_id: &str) -> Result<Option<String>, AwsCallError> {
        // PolicyName is optional in the current API but mandatory in older
        // implementations (and in moto): always send it.
        let out = self
            .client
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("GetKeyPolicy", &e))?;
        Ok(out.policy().map(str::to_string))
    }

    async fn list_grants(
        &self,
        key_id: &str,
        marker: Option<String>,
    ) -> Result<Page<KmsGrant>, AwsCallError> {
        let out = self
            .client
            .list_grants()
            .key_id(key_id)
            .limit(GRANTS_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListGrants", &e))?;
        Ok(Page {
            items: out.grants().iter().map(grant_from_sdk).collect(),
            truncated: out.truncated(),
            next_marker: out.next_marker().map(str::to_string),
        })
    }
}

fn grant_from_sdk(g: &aws_sdk_kms::types::GrantListEntry) -> KmsGrant {
    let owned = |v: Option<&str>| v.map(str::to_string);
    let mut constraints = BTreeMap::new();
    let mut source_arn = None;
    if let Some(c) = g.constraints() {
        for (kind, pairs) in [
            ("EncryptionContextSubset", c.encryption_context_subset()),
            ("EncryptionContextEquals", c.encryption_context_equals()),
        ] {
            if let Some(pairs) = pairs {
                constraints.insert(
                    kind.to_string(),
                    pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                );
            }
        }
        source_arn = owned(c.source_arn());
    }
    KmsGrant {
        grant_id: g.grant_id().unwrap_or_default().to_string(),
        name: owned(g.name()).filter(|n| !n.is_empty()),
        grantee: owned(g.grantee_principal()),
        grantee_service: owned(g.grantee_service_principal()),
        retiring: owned(g.retiring_principal()),
        issuing_account: owned(g.issuing_account()),
        operations: g
            .operations()
            .iter()
            .map(|o| o.as_str().to_string())
            .collect(),
        constraints,
        source_arn,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use tokio::sync::Semaphore;

    fn err(operation: &'static str, code: &str) -> AwsCallError {
        AwsCallError::service(operation, code, "fake")
    }

    /// An in-memory region: pages of `page` items, markers are offsets.
    #[derive(Default)]
    struct FakeKms {
        page: usize,
        aliases: Vec<AliasEntry>,
        keys: Vec<KeyEntry>,
        tags: HashMap<String, Vec<(String, String)>>,
        tag_errors: HashMap<String, String>,
        describe_errors: HashMap<String, String>,
        rotation_errors: HashMap<String, String>,
        grants: HashMap<String, Vec<KmsGrant>>,
        grant_errors: HashMap<String, String>,
        /// Every (operation, key or marker) call made.
        log: Mutex<Vec<(String, String)>>,
        /// Calls in flight now, and the most seen at once.
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    impl FakeKms {
        fn new(page: usize) -> Self {
            Self {
                page,
                ..Self::default()
            }
        }

        fn key(&mut self, id: &str, tags: &[(&str, &str)]) -> &mut Self {
            self.keys.push(KeyEntry {
                key_id: id.to_string(),
                arn: format!("arn:aws:kms:eu-west-1:111111111111:key/{id}"),
            });
            self.tags.insert(
                id.to_string(),
                tags.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            self
        }

        fn c3_key(&mut self, id: &str, name: &str) -> &mut Self {
            self.key(
                id,
                &[
                    ("c3:managed", "true"),
                    ("c3:name", name),
                    ("c3:classification", "internal"),
                    ("c3:generation", "1"),
                ],
            )
        }

        fn alias(&mut self, name: &str, target: Option<&str>) -> &mut Self {
            self.aliases.push(AliasEntry {
                name: name.to_string(),
                target_key_id: target.map(str::to_string),
            });
            self
        }

        fn record(&self, op: &str, what: &str) {
            self.log
                .lock()
                .unwrap()
                .push((op.to_string(), what.to_string()));
        }

        fn calls(&self, op: &str) -> Vec<String> {
            self.log
                .lock()
                .unwrap()
                .iter()
                .filter(|(o, _)| o == op)
                .map(|(_, w)| w.clone())
                .collect()
        }

        fn paged<T: Clone>(&self, all: &[T], marker: Option<String>) -> Page<T> {
            let start: usize = marker.map(|m| m.parse().unwrap()).unwrap_or(0);
            let end = (start + self.page).min(all.len());
            let truncated = end < all.len();
            Page {
                items: all[start..end].to_vec(),
                truncated,
                next_marker: truncated.then(|| end.to_string()),
            }
        }
    }

    impl KmsRead for FakeKms {
        async fn list_aliases(
            &self,
            marker: Option<String>,
        ) -> Result<Page<AliasEntry>, AwsCallError> {
            self.record("ListAliases", marker.as_deref().unwrap_or("-"));
            Ok(self.paged(&self.aliases, marker))
        }

        async fn list_keys(&self, marker: Option<String>) -> Result<Page<KeyEntry>, AwsCallError> {
            self.record("ListKeys", marker.as_deref().unwrap_or("-"));
            Ok(self.paged(&self.keys, marker))
        }

        async fn list_tags(
            &self,
            key_id: &str,
            marker: Option<String>,
        ) -> Result<Page<(String, String)>, AwsCallError> {
            self.record("ListResourceTags", key_id);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if let Some(code) = self.tag_errors.get(key_id) {
                return Err(err("ListResourceTags", code));
            }
            let tags = self
                .tags
                .get(key_id)
                .ok_or_else(|| err("ListResourceTags", "NotFoundException"))?;
            Ok(self.paged(tags, marker))
        }

        async fn describe(&self, key_id: &str) -> Result<KeyDescription, AwsCallError> {
            self.record("DescribeKey", key_id);
            if let Some(code) = self.describe_errors.get(key_id) {
                return Err(err("DescribeKey", code));
            }
            Ok(KeyDescription {
                state: KeyState::Enabled,
                description: format!("key {key_id}"),
                manager: "CUSTOMER".into(),
                spec: "SYMMETRIC_DEFAULT".into(),
                usage: "ENCRYPT_DECRYPT".into(),
                creation_epoch: Some(1),
            })
        }

        async fn rotation(&self, key_id: &str) -> Result<Rotation, AwsCallError> {
            self.record("GetKeyRotationStatus", key_id);
            if let Some(code) = self.rotation_errors.get(key_id) {
                return Err(err("GetKeyRotationStatus", code));
            }
            Ok(Rotation {
                enabled: true,
                period_days: Some(365),
            })
        }

        async fn policy(&self, key_id: &str) -> Result<Option<String>, AwsCallError> {
            self.record("GetKeyPolicy", key_id);
            Ok(Some(format!("{{\"Id\":\"{key_id}\"}}")))
        }

        async fn list_grants(
            &self,
            key_id: &str,
            marker: Option<String>,
        ) -> Result<Page<KmsGrant>, AwsCallError> {
            self.record("ListGrants", key_id);
            if let Some(code) = self.grant_errors.get(key_id) {
                return Err(err("ListGrants", code));
            }
            let grants = self.grants.get(key_id).cloned().unwrap_or_default();
            Ok(self.paged(&grants, marker))
        }
    }

    fn names(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    async fn read(kms: &FakeKms, declared: &[&str]) -> Result<RegionSnapshot, AwsCallError> {
        let gate = Semaphore::new(4);
        let calls = Calls::new(&gate, "prod", "eu-west-1");
        read_region(kms, &calls, &names(declared), true).await
    }

    #[tokio::test]
    async fn pages_through_aliases_keys_and_tags() {
        let mut kms = FakeKms::new(2);
        for i in 0..5 {
            kms.c3_key(&format!("k{i}"), &format!("n{i}"));
        }
        for i in 0..7 {
            kms.alias(&format!("alias/a{i}"), Some("k0"));
        }
        let snap = read(&kms, &["n1"]).await.unwrap();
        assert_eq!(snap.aliases.len(), 7);
        assert_eq!(snap.keys.len(), 5);
        // 4 tags per key at 2 per page: 2 pages per key.
        assert!(snap.keys.iter().all(|k| k.tags.len() == 4));
        assert_eq!(kms.calls("ListAliases"), vec!["-", "2", "4", "6"]);
        assert_eq!(kms.calls("ListKeys"), vec!["-", "2", "4"]);
        assert_eq!(kms.calls("ListResourceTags").len(), 10);
    }

    #[tokio::test]
    async fn aws_aliases_are_skipped_and_never_described() {
        let mut kms = FakeKms::new(100);
        kms.key("aws-ebs-key", &[])
            .c3_key("c3-key", "payments")
            .alias("alias/aws/ebs", Some("aws-ebs-key"))
            .alias("alias/aws/s3", None)
            .alias("alias/payments", Some("c3-key"));
        let snap = read(&kms, &["payments"]).await.unwrap();
        assert_eq!(
            snap.aliases,
            vec![LiveAlias {
                name: "alias/payments".into(),
                target_key_id: Some("c3-key".into()),
            }]
        );
        assert_eq!(
            snap.keys
                .iter()
                .map(|k| k.key_id.as_str())
                .collect::<Vec<_>>(),
            vec!["c3-key"]
        );
        assert_eq!(kms.calls("ListResourceTags"), vec!["c3-key"]);
        assert_eq!(kms.calls("DescribeKey"), vec!["c3-key"]);
        assert!(!kms
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|(_, w)| w.contains("aws")));
    }

    #[tokio::test]
    async fn c3_keys_found_by_tags_without_alias() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("orphan-gen", "payments")
            .c3_key("other-name", "undeclared")
            .key("plain", &[("team", "x")]);
        let snap = read(&kms, &["payments"]).await.unwrap();
        let by_id = |id: &str| snap.key(id).unwrap();
        let found = by_id("orphan-gen");
        assert_eq!(found.c3_name(), Some("payments"));
        let details = found.details.as_ref().unwrap();
        assert_eq!(details.state, KeyState::Enabled);
        assert_eq!(details.policy.as_deref(), Some("{\"Id\":\"orphan-gen\"}"));
        assert_eq!(
            details.rotation,
            Some(Rotation {
                enabled: true,
                period_days: Some(365)
            })
        );
        // An undeclared c3 name is kept by tag only (orphan report), not read in full.
        assert_eq!(by_id("other-name").c3_name(), Some("undeclared"));
        assert!(by_id("other-name").details.is_none());
        assert!(by_id("plain").details.is_none());
        assert_eq!(kms.calls("DescribeKey"), vec!["orphan-gen"]);
        // Sorted by key id, whatever the listing order.
        let ids: Vec<_> = snap.keys.iter().map(|k| k.key_id.clone()).collect();
        assert_eq!(ids, vec!["orphan-gen", "other-name", "plain"]);
    }

    #[tokio::test]
    async fn declared_alias_target_read_in_full_only_when_c3() {
        let mut kms = FakeKms::new(100);
        kms.key("foreign", &[("owner", "someone")])
            .c3_key("c3-other", "orders")
            .alias("alias/payments", Some("foreign"))
            .alias("alias/ledger", Some("c3-other"))
            .alias("alias/empty", None);
        let snap = read(&kms, &["payments", "ledger"]).await.unwrap();
        let foreign = snap.key("foreign").unwrap();
        assert_eq!(foreign.tag("owner"), Some("someone"));
        assert!(foreign.details.is_none());
        // c3 key of another name behind a declared alias: read in full.
        assert!(snap.key("c3-other").unwrap().details.is_some());
        assert_eq!(snap.alias("alias/empty").unwrap().target_key_id, None);
    }

    #[tokio::test]
    async fn vanished_key_is_dropped() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("here", "payments").c3_key("gone", "payments");
        kms.tag_errors
            .insert("gone".into(), "NotFoundException".into());
        kms.c3_key("gone-later", "payments");
        kms.describe_errors
            .insert("gone-later".into(), "NotFoundException".into());
        let snap = read(&kms, &["payments"]).await.unwrap();
        let ids: Vec<_> = snap.keys.iter().map(|k| k.key_id.as_str()).collect();
        assert_eq!(ids, vec!["here"]);
    }

    #[tokio::test]
    async fn other_tag_failure_fails_the_region() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("here", "payments").key("locked", &[]);
        kms.tag_errors
            .insert("locked".into(), "AccessDeniedException".into());
        let e = read(&kms, &["payments"]).await.unwrap_err();
        assert_eq!(e.operation, "ListResourceTags");
        assert_eq!(e.code.as_deref(), Some("AccessDeniedException"));
    }

    #[tokio::test]
    async fn rotation_unreadable_in_some_states_is_none() {
        for code in [
            "KMSInvalidStateException",
            "DisabledException",
            "UnsupportedOperationException",
        ] {
            let mut kms = FakeKms::new(100);
            kms.c3_key("pending", "payments");
            kms.rotation_errors.insert("pending".into(), code.into());
            let snap = read(&kms, &["payments"]).await.unwrap();
            let details = snap.key("pending").unwrap().details.clone().unwrap();
            assert_eq!(details.rotation, None, "{code}");
            assert!(details.policy.is_some());
        }
    }

    #[tokio::test]
    async fn other_rotation_failure_fails_the_region() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("broken", "payments");
        kms.rotation_errors
            .insert("broken".into(), "KMSInternalException".into());
        let e = read(&kms, &["payments"]).await.unwrap_err();
        assert_eq!(e.operation, "GetKeyRotationStatus");
    }

    fn grant(id: &str, grantee: &str) -> KmsGrant {
        KmsGrant {
            grant_id: id.to_string(),
            name: None,
            grantee: Some(grantee.to_string()),
            grantee_service: None,
            retiring: None,
            issuing_account: Some("arn:aws:iam::111111111111:root".into()),
            operations: vec!["Decrypt".into()],
            constraints: BTreeMap::new(),
            source_arn: None,
        }
    }

    #[tokio::test]
    async fn grants_of_keys_read_in_full_are_paged_and_sorted() {
        let mut kms = FakeKms::new(2);
        kms.c3_key("k", "payments").key("foreign", &[]);
        kms.grants.insert(
            "k".into(),
            ["g3", "g1", "g2"]
                .iter()
                .map(|id| grant(id, "arn:aws:iam::999999999999:root"))
                .collect(),
        );
        let snap = read(&kms, &["payments"]).await.unwrap();
        let grants = snap
            .key("k")
            .unwrap()
            .details
            .as_ref()
            .unwrap()
            .grants
            .clone();
        let ids: Vec<String> = grants.unwrap().into_iter().map(|g| g.grant_id).collect();
        assert_eq!(ids, vec!["g1", "g2", "g3"]);
        // two pages of two; the foreign key's grants are never listed
        assert_eq!(kms.calls("ListGrants"), vec!["k", "k"]);
    }

    #[tokio::test]
    async fn unreadable_grants_fail_the_region_never_an_empty_list() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("k", "payments");
        kms.grant_errors
            .insert("k".into(), "AccessDeniedException".into());
        let e = read(&kms, &["payments"]).await.unwrap_err();
        assert_eq!(e.operation, "ListGrants");
        assert_eq!(e.code.as_deref(), Some("AccessDeniedException"));
    }

    #[tokio::test]
    async fn grants_are_not_read_when_switched_off() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("k", "payments");
        let gate = Semaphore::new(4);
        let calls = Calls::new(&gate, "prod", "eu-west-1");
        let snap = read_region(&kms, &calls, &names(&["payments"]), false)
            .await
            .unwrap();
        assert_eq!(
            snap.key("k").unwrap().details.as_ref().unwrap().grants,
            None
        );
        assert!(kms.calls("ListGrants").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn list_grants_is_paced_per_account_and_region() {
        let mut kms = FakeKms::new(100);
        for i in 0..5 {
            kms.c3_key(&format!("k{i}"), "payments");
        }
        let gate = Semaphore::new(16);
        let pacer = crate::aws::Pacer::per_second(2);
        let calls = Calls::new(&gate, "prod", "eu-west-1").with_pacer(&pacer);
        let start = tokio::time::Instant::now();
        read_region(&kms, &calls, &names(&["payments"]), true)
            .await
            .unwrap();
        // five ListGrants at two per second: the last one starts 2 s after the first
        assert!(
            start.elapsed() >= std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn at_most_five_calls_per_c3_key() {
        let mut kms = FakeKms::new(100);
        kms.c3_key("k", "payments")
            .alias("alias/payments", Some("k"));
        read(&kms, &["payments"]).await.unwrap();
        let per_key: Vec<_> = kms
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, w)| w == "k")
            .map(|(o, _)| o.clone())
            .collect();
        assert_eq!(per_key.len(), 5, "{per_key:?}");
    }

    #[tokio::test]
    async fn calls_run_concurrently_within_the_permits() {
        let mut kms = FakeKms::new(100);
        for i in 0..20 {
            kms.key(&format!("k{i:02}"), &[]);
        }
        let gate = Semaphore::new(3);
        let calls = Calls::new(&gate, "prod", "eu-west-1");
        let snap = read_region(&kms, &calls, &names(&[]), true).await.unwrap();
        assert_eq!(snap.keys.len(), 20);
        assert_eq!(kms.max_in_flight.load(Ordering::SeqCst), 3);
    }

    /// Every key of a region has its reads queued at once; a queued read must
    /// not hold an SDK future (~5 KB each), or 10,000 keys take hundreds of MB.
    #[test]
    fn queued_reads_hold_no_sdk_future() {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("eu-west-1"))
            .build();
        let kms = SdkKms::new(Client::from_conf(conf));
        let sdk_call = std::mem::size_of_val(&kms.describe("k"));
        let gate = Semaphore::new(1);
        let calls = Calls::new(&gate, "prod", "eu-west-1");
        let details = std::mem::size_of_val(&read_details(&kms, &calls, "k", true));
        let tags = std::mem::size_of_val(&collect_pages("ListResourceTags", &calls, |m| {
            kms.list_tags("k", m)
        }));
        assert!(sdk_call > 1024, "an SDK call future is {sdk_call} bytes");
        assert!(details < 1024, "read_details future is {details} bytes");
        assert!(tags < 1024, "a tag listing future is {tags} bytes");
    }
}
