//! [`KmsRead`] over the AWS SDK's KMS client of one region: the only place
//! the plan's and the audit's KMS reads meet SDK types.

use std::collections::BTreeMap;

use aws_sdk_kms::Client;

use super::{KeyEntry, KmsRead, ALIASES_PAGE, GRANTS_PAGE, KEYS_PAGE, TAGS_PAGE};
use crate::aws::AwsCallError;
use crate::live::Page;
use crate::model::{KeyDetails, KeyState, KmsGrant, LiveAlias, Rotation};

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

    /// The client, for reads outside [`KmsRead`].
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

impl KmsRead for SdkKms {
    async fn list_aliases(&self, marker: Option<String>) -> Result<Page<LiveAlias>, AwsCallError> {
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
                    Some(LiveAlias {
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

    async fn describe(&self, key_id: &str) -> Result<KeyDetails, AwsCallError> {
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
        Ok(KeyDetails {
            state: meta.key_state().map_or_else(
                || KeyState::Other("Unknown".to_string()),
                |s| KeyState::parse(s.as_str()),
            ),
            description: meta.description().unwrap_or_default().to_string(),
            manager: meta
                .key_manager()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            // AWS documents SYMMETRIC_DEFAULT as the default KeySpec.
            spec: meta.key_spec().map_or_else(
                || crate::model::key_type::DEFAULT_SPEC.to_string(),
                |s| s.as_str().to_string(),
            ),
            usage: meta
                .key_usage()
                .map_or_else(|| "ENCRYPT_DECRYPT".to_string(), |u| u.as_str().to_string()),
            origin: meta
                .origin()
                .map(|o| o.as_str().to_string())
                .unwrap_or_default(),
            multi_region: meta.multi_region().unwrap_or(false),
            primary_region: meta
                .multi_region_configuration()
                .and_then(|c| c.primary_key())
                .and_then(|p| p.region())
                .map(str::to_string),
            custom_key_store_id: meta
                .custom_key_store_id()
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            deletion_epoch: meta
                .deletion_date()
                .map(aws_sdk_sts::primitives::DateTime::secs),
            creation_epoch: meta
                .creation_date()
                .map(aws_sdk_sts::primitives::DateTime::secs),
            rotation: None,
            policy: None,
            grants: None,
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
    async fn last_usage(&self, key_id: &str) -> Result<crate::model::LastUsage, AwsCallError> {
        self.get_last_usage(key_id).await
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
