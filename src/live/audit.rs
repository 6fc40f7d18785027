//! `c3 audit`'s reads of one (account, region): every customer-managed key,
//! each read as far as the controls need it (design.md, "Audit").
//!
//! Calls per region: ListAliases and ListKeys (paged). Per key: DescribeKey
//! (AWS-managed keys stop there, and keys behind `alias/aws/*` are not even
//! described); then, concurrently, ListResourceTags (paged), GetKeyPolicy,
//! GetKeyRotationStatus only for keys whose rotation KMS.4 judges, ListGrants
//! (paged, paced) unless `read_grants = false`; then GetKeyLastUsage for
//! keys c3 does not manage and c3's orphans. So at most 6 calls per key.
//!
//! A read that AWS denies for one key (its key policy may leave the caller
//! out) is recorded on the key, so the controls that need it say "unknown";
//! any other failure fails the region, like plan's reads.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

use super::kms::{KeyEntry, KmsRead, SdkKms};
use super::{collect_pages, Calls};
use crate::aws::AwsCallError;
use crate::model::{tag, AuditedKey, KeyDetails, KeyState, LastUsage};

impl SdkKms {
    /// GetKeyLastUsage of a key ([`KmsRead::last_usage`]).
    pub(crate) async fn get_last_usage(&self, key_id: &str) -> Result<LastUsage, AwsCallError> {
        let out = self
            .client()
            .get_key_last_usage()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("GetKeyLastUsage", &e))?;
        let secs = |d: Option<&aws_sdk_kms::primitives::DateTime>| {
            d.map(aws_sdk_kms::primitives::DateTime::secs)
        };
        let used = out.key_last_usage().and_then(|u| {
            Some(LastUsage::Used {
                operation: u.operation()?.as_str().to_string(),
                at_epoch: secs(u.timestamp())?,
                cloudtrail_event_id: u.cloud_trail_event_id().map(str::to_string),
                kms_request_id: u.kms_request_id().map(str::to_string),
            })
        });
        Ok(used.unwrap_or(LastUsage::NoneRecorded {
            tracking_start_epoch: secs(out.tracking_start_date()),
        }))
    }
}

/// GetKeyLastUsage under a permit: what it said, or `Unknown` with why when
/// the call was denied, is unsupported or failed (never "unused": that
/// would be a lie that gets keys deleted). A vanished key reads `Unknown`
/// too; the next read drops it.
pub(crate) async fn last_usage_of<K: KmsRead>(
    kms: &K,
    calls: &Calls<'_>,
    key_id: &str,
) -> LastUsage {
    match calls
        .run("GetKeyLastUsage", || kms.last_usage(key_id))
        .await
    {
        Ok(u) => u,
        Err(e) => LastUsage::Unknown { reason: reason(&e) },
    }
}

/// What the audit reads besides the key itself.
#[derive(Debug, Clone)]
pub struct AuditReads<'a> {
    /// The names of the keys declared for this target: a c3 key of another
    /// name is an orphan, whose last use is read too.
    pub declared: &'a BTreeSet<String>,
    /// Whether grants are read (`[settings] read_grants`).
    pub grants: bool,
}

/// Reads every customer-managed key of one (account, region).
pub async fn read_region<K: KmsRead + Sync>(
    kms: &K,
    calls: &Calls<'_>,
    reads: &AuditReads<'_>,
) -> Result<Vec<AuditedKey>, AwsCallError> {
    let keys = super::kms::keys_with_aliases(kms, calls).await?;
    let read = try_join_all(
        keys.into_iter()
            .map(|(k, names)| async move { read_key(kms, calls, &k, names, reads).await }),
    )
    .await?;
    Ok(read.into_iter().flatten().collect())
}

/// Whether a read's failure is the key's own (AWS denied this caller this
/// key), rather than the region's.
fn denied_for_key(e: &AwsCallError) -> bool {
    e.is_access_denied()
}

/// `Code: message` of a failed call.
fn reason(e: &AwsCallError) -> String {
    match &e.code {
        Some(code) => format!("{code}: {}", e.message),
        None => e.message.clone(),
    }
}

/// Whether KMS.4 judges a key's rotation, so GetKeyRotationStatus is worth
/// a call: a symmetric encryption key with key material from KMS, outside a
/// custom key store, not scheduled for deletion.
pub fn rotation_applies(d: &KeyDetails) -> bool {
    crate::audit::controls::rotation_not_applicable(d).is_none()
}

/// A key DescribeKey was denied for: what ListKeys said, and why the rest
/// is unknown.
fn undescribed(key: &KeyEntry, aliases: Vec<String>, e: &AwsCallError) -> AuditedKey {
    AuditedKey {
        key_id: key.key_id.clone(),
        arn: key.arn.clone(),
        aliases,
        tags: BTreeMap::new(),
        details: KeyDetails {
            state: KeyState::Other("Unknown".to_string()),
            description: String::new(),
            manager: String::new(),
            spec: String::new(),
            usage: String::new(),
            origin: String::new(),
            multi_region: false,
            primary_region: None,
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: None,
            rotation: None,
            policy: None,
            grants: None,
        },
        unread: [("DescribeKey".to_string(), reason(e))].into(),
        last_usage: None,
    }
}

/// One key; `None` when it vanished while it was read, or it is AWS-managed.
async fn read_key<K: KmsRead + Sync>(
    kms: &K,
    calls: &Calls<'_>,
    key: &KeyEntry,
    aliases: Vec<String>,
    reads: &AuditReads<'_>,
) -> Result<Option<AuditedKey>, AwsCallError> {
    let key_id = key.key_id.as_str();
    let details = match calls.run("DescribeKey", || kms.describe(key_id)).await {
        Ok(d) if d.manager == "AWS" => return Ok(None),
        Ok(d) => d,
        Err(e) if e.is_not_found() => return Ok(None),
        // The key's policy may leave the audit role out: the key is
        // reported with every control unknown, the region goes on.
        Err(e) if denied_for_key(&e) => return Ok(Some(undescribed(key, aliases, &e))),
        Err(e) => return Err(e),
    };
    let mut audited = AuditedKey {
        key_id: key.key_id.clone(),
        arn: key.arn.clone(),
        aliases,
        tags: BTreeMap::new(),
        details,
        unread: BTreeMap::new(),
        last_usage: None,
    };
    if !read_parts(kms, calls, &mut audited, reads.grants).await? {
        return Ok(None);
    }
    let orphan = tag::is_managed(&audited.tags)
        && !audited
            .tags
            .get(tag::NAME)
            .is_some_and(|n| reads.declared.contains(n));
    if !tag::is_managed(&audited.tags) || orphan {
        audited.last_usage = Some(last_usage_of(kms, calls, key_id).await);
    }
    Ok(Some(audited))
}

/// The four reads of [`read_parts`], concurrently, on the heap (every
/// key's read is queued at once: see `Calls::run`).
#[allow(clippy::type_complexity)]
async fn fetch_parts<K: KmsRead + Sync>(
    kms: &K,
    calls: &Calls<'_>,
    key: &AuditedKey,
    grants: bool,
) -> (
    Result<Vec<(String, String)>, AwsCallError>,
    Result<Option<String>, AwsCallError>,
    Option<Result<crate::model::Rotation, AwsCallError>>,
    Option<Result<Vec<crate::model::KmsGrant>, AwsCallError>>,
) {
    let key_id = key.key_id.as_str();
    let rotation = rotation_applies(&key.details);
    Box::pin(async {
        futures::join!(
            collect_pages("ListResourceTags", calls, |m| kms.list_tags(key_id, m)),
            calls.run("GetKeyPolicy", || kms.policy(key_id)),
            async {
                if rotation {
                    Some(
                        calls
                            .run("GetKeyRotationStatus", || kms.rotation(key_id))
                            .await,
                    )
                } else {
                    None
                }
            },
            async {
                if grants {
                    Some(collect_pages("ListGrants", calls, |m| kms.list_grants(key_id, m)).await)
                } else {
                    None
                }
            },
        )
    })
    .await
}

/// Tags, key policy, rotation (where KMS.4 judges it) and grants of a key,
/// concurrently, into `key`. `false` when the key vanished meanwhile.
async fn read_parts<K: KmsRead + Sync>(
    kms: &K,
    calls: &Calls<'_>,
    key: &mut AuditedKey,
    grants: bool,
) -> Result<bool, AwsCallError> {
    let (tags, policy, rotation, grants) = fetch_parts(kms, calls, key, grants).await;
    let mut unread = BTreeMap::new();
    let mut keep = |operation: &str, e: AwsCallError| -> Result<bool, AwsCallError> {
        if e.is_not_found() {
            return Ok(false);
        }
        if denied_for_key(&e) {
            unread.insert(operation.to_string(), reason(&e));
            return Ok(true);
        }
        Err(e)
    };
    let mut alive = true;
    let tags = match tags {
        Ok(t) => t.into_iter().collect(),
        Err(e) => {
            alive &= keep("ListResourceTags", e)?;
            BTreeMap::new()
        }
    };
    let policy = match policy {
        Ok(p) => p,
        Err(e) if e.has_code("KMSInvalidStateException") => None,
        Err(e) => {
            alive &= keep("GetKeyPolicy", e)?;
            None
        }
    };
    let rotation = match rotation.map(super::kms::rotation_if_readable) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(r))) => Some(r),
        Some(Err(e)) => {
            alive &= keep("GetKeyRotationStatus", e)?;
            None
        }
    };
    let grants = match grants {
        None => None,
        Some(Ok(mut g)) => {
            g.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
            Some(g)
        }
        Some(Err(e)) => {
            alive &= keep("ListGrants", e)?;
            None
        }
    };
    key.tags = tags;
    key.details.policy = policy;
    key.details.rotation = rotation;
    key.details.grants = grants;
    key.unread = unread;
    Ok(alive)
}

/// Reads every customer-managed key of every account and region in scope,
/// counting targets and calls into `progress`. A failed connect fails every
/// target of its account; a failed region read fails that target only.
pub async fn read(
    desired: &crate::model::DesiredState,
    base: &aws_config::SdkConfig,
    progress: &super::ReadProgress,
) -> crate::model::AuditState {
    use std::sync::atomic::Ordering;
    let gate = tokio::sync::Semaphore::new(desired.settings.parallelism.max(1));
    let pacer = crate::aws::Pacer::per_second(desired.settings.grant_reads_per_second);
    let accounts = desired.accounts_in_scope();
    progress.targets.store(
        accounts.iter().map(|a| a.regions.len()).sum(),
        Ordering::Relaxed,
    );
    let shared = super::Shared {
        gate: &gate,
        pacer: &pacer,
        progress,
    };
    let reads = accounts
        .iter()
        .map(|account| read_account(desired, base, account, shared));
    let mut state = crate::model::AuditState::default();
    for regions in futures::future::join_all(reads).await {
        state.regions.extend(regions);
    }
    state
}

/// One account's regions.
async fn read_account(
    desired: &crate::model::DesiredState,
    base: &aws_config::SdkConfig,
    account: &crate::model::Account,
    shared: super::Shared<'_>,
) -> Vec<(
    crate::model::Target,
    Result<Vec<AuditedKey>, crate::model::ReadFailure>,
)> {
    let session = {
        let _permit = shared.gate.acquire().await.ok();
        crate::aws::connect(base, account, &desired.settings).await
    };
    let session = match session {
        Ok(session) => session,
        Err(call) => {
            for region in &account.regions {
                shared.progress.target_done(&account.name, region, false);
            }
            // Every target fails for the connect's one reason.
            let failed = super::not_connected(account, call).regions.into_iter();
            return failed.map(|(t, r)| (t, r.map(|_| Vec::new()))).collect();
        }
    };
    futures::future::join_all(account.regions.iter().map(|region| {
        let session = &session;
        async move {
            let target = crate::model::Target::new(&account.id, region);
            let calls = Calls::observed(shared.gate, &account.name, region, shared.progress)
                .with_pacer(shared.pacer);
            let client = SdkKms::new(session.kms(region));
            let declared = super::declared_in_target(desired, &target);
            let reads = AuditReads {
                declared: &declared,
                grants: desired.settings.read_grants,
            };
            let keys = read_region(&client, &calls, &reads).await.map_err(|call| {
                let part = super::ReadPart::Region(region.clone());
                super::ReadError::new(account, part, call).into()
            });
            shared
                .progress
                .target_done(&account.name, region, keys.is_ok());
            (target, keys)
        }
    }))
    .await
}
