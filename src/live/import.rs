//! `c3 import`'s reads of one (account, region): every customer key, each
//! read in full when an alias points at it (tags, DescribeKey,
//! GetKeyRotationStatus, GetKeyPolicy, ListGrants, concurrently like
//! plan's reads), and described only when none does (to list it).

use std::collections::BTreeMap;

use aws_sdk_kms::Client;
use futures::future::try_join_all;

use super::kms::{KeyEntry, KmsRead, SdkKms};
use super::{collect_pages, Calls};
use crate::aws::AwsCallError;
use crate::import::FoundKey;
use crate::model::Target;

/// Reads every customer key of a region.
pub async fn read_region(
    client: &Client,
    calls: &Calls<'_>,
    target: &Target,
    grants: bool,
) -> Result<Vec<FoundKey>, AwsCallError> {
    let kms = SdkKms::new(client.clone());
    let keys = super::kms::keys_with_aliases(&kms, calls).await?;
    let kms = &kms;
    let read = try_join_all(keys.into_iter().map(|(k, aliases)| async move {
        // Names without `alias/`, sorted.
        let names: Vec<String> = aliases
            .iter()
            .filter_map(|a| a.strip_prefix("alias/").map(str::to_string))
            .collect();
        read_key(kms, calls, &k, names, target, grants).await
    }))
    .await?;
    Ok(read.into_iter().flatten().collect())
}

/// One key; `None` when it vanished while it was read.
async fn read_key(
    kms: &SdkKms,
    calls: &Calls<'_>,
    key: &KeyEntry,
    aliases: Vec<String>,
    target: &Target,
    grants: bool,
) -> Result<Option<FoundKey>, AwsCallError> {
    let key_id = key.key_id.as_str();
    let described = calls.run("DescribeKey", || kms.describe(key_id)).await;
    let mut details = match described {
        Ok(d) => d,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let full = !aliases.is_empty() && details.manager != "AWS";
    let mut tags = BTreeMap::new();
    if full {
        let list_grants = async {
            if grants {
                collect_pages("ListGrants", calls, |m| kms.list_grants(key_id, m))
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        };
        let (t, rotation, policy, g) = Box::pin(async {
            futures::join!(
                collect_pages("ListResourceTags", calls, |m| kms.list_tags(key_id, m)),
                calls.run("GetKeyRotationStatus", || kms.rotation(key_id)),
                calls.run("GetKeyPolicy", || kms.policy(key_id)),
                list_grants,
            )
        })
        .await;
        match t {
            Ok(t) => tags = t.into_iter().collect(),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        }
        details.rotation = super::kms::rotation_if_readable(rotation)?;
        details.policy = match policy {
            Ok(p) => p,
            Err(e) if e.has_code("KMSInvalidStateException") => None,
            Err(e) => return Err(e),
        };
        details.grants = match g {
            Ok(g) => g,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
    }
    Ok(Some(FoundKey {
        account: target.account.clone(),
        region: target.region.clone(),
        key_id: key.key_id.clone(),
        aliases,
        tags,
        details,
    }))
}
