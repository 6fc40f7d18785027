//! The only code that writes to AWS.
//!
//! Two small traits, one per permission set, and their SDK implementations.
//! Neither has a method that deletes or disables anything: no
//! ScheduleKeyDeletion, DeleteAlias, DisableKey, DisableKeyRotation,
//! UntagResource, DeletePolicy or detach. Both writes to an existing managed
//! policy, [`PolicyWriter::create_default_version`] and the one deletion IAM
//! needs to stay under its five-version limit, [`PolicyWriter::prune_version`],
//! first check with AWS that the policy is c3's (tagged `c3:managed=true` and
//! `c3:name=<key name>`), and pruning that the version is not the default one.

use std::collections::BTreeMap;

use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag as KmsTag};

use crate::aws::AwsCallError;
use crate::model::tag;

/// Calls that are not idempotent (CreateKey, CreatePolicyVersion) are not
/// retried by the SDK: after a reset connection or a lost answer AWS may have
/// done the work, and a blind retry would make a second key or a second,
/// identical policy version. The executor retries them only on throttling
/// (a request AWS refused); anything else fails the step, and the next run
/// finds what was made by its `c3:` tags or its document.
fn no_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::disabled()
}

/// A key CreateKey made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedKey {
    /// Its key id.
    pub key_id: String,
    /// Its ARN.
    pub arn: String,
}

/// KMS writes in one (account, region).
#[allow(async_fn_in_trait)]
pub trait KeyWriter {
    /// CreateKey: symmetric, encrypt/decrypt, with the policy, description
    /// and tags; the policy lockout safety check is never bypassed.
    async fn create_key(
        &self,
        description: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<CreatedKey, AwsCallError>;
    /// EnableKeyRotation with a period in days.
    async fn enable_rotation(&self, key_id: &str, days: u32) -> Result<(), AwsCallError>;
    /// CreateAlias.
    async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsCallError>;
    /// UpdateAlias.
    async fn update_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsCallError>;
    /// PutKeyPolicy (policy name `default`), lockout check not bypassed.
    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), AwsCallError>;
    /// TagResource.
    async fn tag_key(
        &self,
        key_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsCallError>;
    /// UpdateKeyDescription.
    async fn update_description(&self, key_id: &str, description: &str)
        -> Result<(), AwsCallError>;
    /// CancelKeyDeletion.
    async fn cancel_deletion(&self, key_id: &str) -> Result<(), AwsCallError>;
    /// EnableKey.
    async fn enable_key(&self, key_id: &str) -> Result<(), AwsCallError>;
}

/// IAM writes in one account.
#[allow(async_fn_in_trait)]
pub trait PolicyWriter {
    /// CreatePolicy under a path, with tags; returns its ARN.
    async fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsCallError>;
    /// CreatePolicyVersion, set as default, of the policy of key name `key`;
    /// refuses unless AWS says the policy is c3's policy of that name.
    async fn create_default_version(
        &self,
        arn: &str,
        document: &str,
        key: &str,
    ) -> Result<(), AwsCallError>;
    /// DeletePolicyVersion of a non-default version of c3's policy of key name
    /// `key`, to make room under the five-version limit. Checks both first.
    async fn prune_version(&self, arn: &str, version: &str, key: &str) -> Result<(), AwsCallError>;
}

/// [`KeyWriter`] on the SDK's KMS client.
#[derive(Debug, Clone)]
pub struct SdkKeyWriter {
    client: aws_sdk_kms::Client,
}

impl SdkKeyWriter {
    /// A writer on a client for one account and region.
    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Self { client }
    }
}

fn kms_tags(
    tags: &BTreeMap<String, String>,
    operation: &'static str,
) -> Result<Vec<KmsTag>, AwsCallError> {
    tags.iter()
        .map(|(k, v)| {
            KmsTag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| AwsCallError::protocol(operation, e.to_string()))
        })
        .collect()
}

impl KeyWriter for SdkKeyWriter {
    async fn create_key(
        &self,
        description: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<CreatedKey, AwsCallError> {
        let out = self
            .client
            .create_key()
            .description(description)
            .policy(policy)
            .key_spec(KeySpec::SymmetricDefault)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .multi_region(false)
            .bypass_policy_lockout_safety_check(false)
            .set_tags(Some(kms_tags(tags, "CreateKey")?))
            .customize()
            .config_override(aws_sdk_kms::config::Builder::default().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("CreateKey", &e))?;
        let meta = out
            .key_metadata()
            .ok_or_else(|| AwsCallError::protocol("CreateKey", "the answer has no KeyMetadata"))?;
        Ok(CreatedKey {
            key_id: meta.key_id().to_string(),
            arn: meta.arn().unwrap_or_default().to_string(),
        })
    }

    async fn enable_rotation(&self, key_id: &str, days: u32) -> Result<(), AwsCallError> {
        let days = i32::try_from(days)
            .map_err(|_| AwsCallError::protocol("EnableKeyRotation", "period out of range"))?;
        self.client
            .enable_key_rotation()
            .key_id(key_id)
            .rotation_period_in_days(days)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("EnableKeyRotation", &e))?;
        Ok(())
    }

    async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsCallError> {
        self.client
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("CreateAlias", &e))?;
        Ok(())
    }

    async fn update_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsCallError> {
        self.client
            .update_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("UpdateAlias", &e))?;
        Ok(())
    }

    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), AwsCallError> {
        self.client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(policy)
            .bypass_policy_lockout_safety_check(false)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("PutKeyPolicy", &e))?;
        Ok(())
    }

    async fn tag_key(
        &self,
        key_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsCallError> {
        self.client
            .tag_resource()
            .key_id(key_id)
            .set_tags(Some(kms_tags(tags, "TagResource")?))
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("TagResource", &e))?;
        Ok(())
    }

    async fn update_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), AwsCallError> {
        self.client
            .update_key_description()
            .key_id(key_id)
            .description(description)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("UpdateKeyDescription", &e))?;
        Ok(())
    }

    async fn cancel_deletion(&self, key_id: &str) -> Result<(), AwsCallError> {
        self.client
            .cancel_key_deletion()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("CancelKeyDeletion", &e))?;
        Ok(())
    }

    async fn enable_key(&self, key_id: &str) -> Result<(), AwsCallError> {
        self.client
            .enable_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("EnableKey", &e))?;
        Ok(())
    }
}

/// [`PolicyWriter`] on the SDK's IAM client.
#[derive(Debug, Clone)]
pub struct SdkPolicyWriter {
    client: aws_sdk_iam::Client,
}

impl SdkPolicyWriter {
    /// A writer on a client for one account.
    pub fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }
}

impl SdkPolicyWriter {
    /// Refuses `operation` unless the policy's tags (ListPolicyTags, every
    /// page) say it is c3's policy of key name `key`.
    async fn ensure_ours(
        &self,
        arn: &str,
        key: &str,
        operation: &'static str,
    ) -> Result<(), AwsCallError> {
        let mut tags = std::collections::BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_policy_tags()
                .policy_arn(arn)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| AwsCallError::from_sdk("ListPolicyTags", &e))?;
            tags.extend(
                out.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string())),
            );
            match out.marker() {
                Some(next) if out.is_truncated() => marker = Some(next.to_string()),
                _ => break,
            }
        }
        if tag::owned_by(&tags, key) {
            Ok(())
        } else {
            Err(AwsCallError::protocol(
                operation,
                format!(
                    "refused: {arn} is not tagged {}=true and {}={key}, so it is not c3's",
                    tag::MANAGED,
                    tag::NAME
                ),
            ))
        }
    }
}

impl PolicyWriter for SdkPolicyWriter {
    async fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsCallError> {
        let tags = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| AwsCallError::protocol("CreatePolicy", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document)
            .description("Managed by c3")
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("CreatePolicy", &e))?;
        Ok(out
            .policy()
            .and_then(|p| p.arn())
            .unwrap_or_default()
            .to_string())
    }

    async fn create_default_version(
        &self,
        arn: &str,
        document: &str,
        key: &str,
    ) -> Result<(), AwsCallError> {
        self.ensure_ours(arn, key, "CreatePolicyVersion").await?;
        self.client
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .customize()
            .config_override(aws_sdk_iam::config::Builder::default().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("CreatePolicyVersion", &e))?;
        Ok(())
    }

    async fn prune_version(&self, arn: &str, version: &str, key: &str) -> Result<(), AwsCallError> {
        // 1. The policy must be c3's.
        self.ensure_ours(arn, key, "DeletePolicyVersion").await?;
        // 2. The version must exist and not be the default.
        let versions = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListPolicyVersions", &e))?;
        let found = versions
            .versions()
            .iter()
            .find(|v| v.version_id() == Some(version));
        match found {
            None => {
                return Err(AwsCallError::protocol(
                    "DeletePolicyVersion",
                    format!("refused: {arn} has no version {version}"),
                ))
            }
            Some(v) if v.is_default_version() => {
                return Err(AwsCallError::protocol(
                    "DeletePolicyVersion",
                    format!("refused: {version} is the default version of {arn}"),
                ))
            }
            Some(_) => {}
        }
        self.client
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("DeletePolicyVersion", &e))?;
        Ok(())
    }
}
