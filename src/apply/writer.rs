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
use std::future::Future;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag as KmsTag};

use super::error::PolicyWriteError;
use super::retry;
use crate::aws::pages::{collect_pages, Page};
use crate::aws::AwsCallError;
use crate::model::tag;

/// Sends one request and names its failure after `operation`: what every
/// call below shares. (Whether the SDK retries it is [`retry`]'s decision.)
async fn send<T, E>(
    operation: &'static str,
    request: impl Future<Output = Result<T, SdkError<E>>>,
) -> Result<T, AwsCallError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    request
        .await
        .map_err(|e| AwsCallError::from_sdk(operation, &e))
}

/// [`send`] for a write whose answer c3 does not need.
async fn write<T, E>(
    operation: &'static str,
    request: impl Future<Output = Result<T, SdkError<E>>>,
) -> Result<(), AwsCallError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    send(operation, request).await.map(drop)
}

/// Tags in the SDK's form, built by `build` (a `BuildError` when a key or
/// value is missing is reported as an error of `operation`).
fn sdk_tags<T, E: std::fmt::Display>(
    tags: &BTreeMap<String, String>,
    operation: &'static str,
    build: impl Fn(&str, &str) -> Result<T, E>,
) -> Result<Vec<T>, AwsCallError> {
    tags.iter()
        .map(|(k, v)| build(k, v).map_err(|e| AwsCallError::protocol(operation, e.to_string())))
        .collect()
}

/// Tags in KMS's form, for `operation`.
fn kms_tags(
    tags: &BTreeMap<String, String>,
    operation: &'static str,
) -> Result<Vec<KmsTag>, AwsCallError> {
    sdk_tags(tags, operation, |k, v| {
        KmsTag::builder().tag_key(k).tag_value(v).build()
    })
}

/// The per-call configuration of `operation` on KMS: [`retry::sdk_override`].
fn kms_call_config(operation: &str) -> aws_sdk_kms::config::Builder {
    let mut config = aws_sdk_kms::config::Builder::default();
    config.set_retry_config(retry::sdk_override(operation));
    config
}

/// The per-call configuration of `operation` on IAM: [`retry::sdk_override`].
fn iam_call_config(operation: &str) -> aws_sdk_iam::config::Builder {
    let mut config = aws_sdk_iam::config::Builder::default();
    config.set_retry_config(retry::sdk_override(operation));
    config
}

/// A key CreateKey made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedKey {
    /// Its key id.
    pub key_id: String,
    /// Its ARN.
    pub arn: String,
}

/// The kind of key CreateKey makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewKeyKind<'a> {
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ...
    pub spec: &'a str,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`.
    pub usage: &'a str,
    /// Whether it is the primary of a multi-Region key.
    pub multi_region: bool,
}

/// KMS writes in one (account, region).
#[allow(async_fn_in_trait)]
pub trait KeyWriter {
    /// CreateKey of a kind, with the policy, description and tags; the
    /// policy lockout safety check is never bypassed.
    async fn create_key(
        &self,
        kind: NewKeyKind<'_>,
        description: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<CreatedKey, AwsCallError>;
    /// ReplicateKey of a multi-Region primary of this region into
    /// `replica_region`, with the replica's own policy, description and
    /// tags; the lockout check is never bypassed. The answer names the
    /// replica.
    async fn replicate_key(
        &self,
        key_id: &str,
        replica_region: &str,
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
    ) -> Result<(), PolicyWriteError>;
    /// TagPolicy with c3's tags, adopting the policy at `arn` for key name
    /// `key`; refuses unless AWS says (GetPolicy) the policy is still at
    /// `arn` and (ListPolicyTags) it carries no other name's `c3:name`.
    async fn adopt_policy(
        &self,
        arn: &str,
        key: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), PolicyWriteError>;
    /// DeletePolicyVersion of a non-default version of c3's policy of key name
    /// `key`, to make room under the five-version limit. Checks both first.
    async fn prune_version(
        &self,
        arn: &str,
        version: &str,
        key: &str,
    ) -> Result<(), PolicyWriteError>;
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

impl KeyWriter for SdkKeyWriter {
    async fn create_key(
        &self,
        kind: NewKeyKind<'_>,
        description: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<CreatedKey, AwsCallError> {
        let request = self
            .client
            .create_key()
            .description(description)
            .policy(policy)
            .key_spec(KeySpec::from(kind.spec))
            .key_usage(KeyUsageType::from(kind.usage))
            .multi_region(kind.multi_region)
            .bypass_policy_lockout_safety_check(false)
            .set_tags(Some(kms_tags(tags, "CreateKey")?))
            .customize()
            .config_override(kms_call_config("CreateKey"));
        let out = send("CreateKey", request.send()).await?;
        let meta = out
            .key_metadata()
            .ok_or_else(|| AwsCallError::protocol("CreateKey", "the answer has no KeyMetadata"))?;
        Ok(CreatedKey {
            key_id: meta.key_id().to_string(),
            arn: meta.arn().unwrap_or_default().to_string(),
        })
    }

    async fn replicate_key(
        &self,
        key_id: &str,
        replica_region: &str,
        description: &str,
        policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<CreatedKey, AwsCallError> {
        let request = self
            .client
            .replicate_key()
            .key_id(key_id)
            .replica_region(replica_region)
            .description(description)
            .policy(policy)
            .bypass_policy_lockout_safety_check(false)
            .set_tags(Some(kms_tags(tags, "ReplicateKey")?))
            .customize()
            .config_override(kms_call_config("ReplicateKey"));
        let out = send("ReplicateKey", request.send()).await?;
        let meta = out.replica_key_metadata().ok_or_else(|| {
            AwsCallError::protocol("ReplicateKey", "the answer has no ReplicaKeyMetadata")
        })?;
        Ok(CreatedKey {
            key_id: meta.key_id().to_string(),
            arn: meta.arn().unwrap_or_default().to_string(),
        })
    }

    async fn enable_rotation(&self, key_id: &str, days: u32) -> Result<(), AwsCallError> {
        let days = i32::try_from(days)
            .map_err(|_| AwsCallError::protocol("EnableKeyRotation", "period out of range"))?;
        let request = self.client.enable_key_rotation().key_id(key_id);
        let request = request.rotation_period_in_days(days);
        write("EnableKeyRotation", request.send()).await
    }

    async fn create_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsCallError> {
        let request = self.client.create_alias().alias_name(alias);
        write("CreateAlias", request.target_key_id(key_id).send()).await
    }

    async fn update_alias(&self, alias: &str, key_id: &str) -> Result<(), AwsCallError> {
        let request = self.client.update_alias().alias_name(alias);
        write("UpdateAlias", request.target_key_id(key_id).send()).await
    }

    async fn put_key_policy(&self, key_id: &str, policy: &str) -> Result<(), AwsCallError> {
        let request = self
            .client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(policy)
            .bypass_policy_lockout_safety_check(false);
        write("PutKeyPolicy", request.send()).await
    }

    async fn tag_key(
        &self,
        key_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsCallError> {
        let request = self.client.tag_resource().key_id(key_id);
        let tags = kms_tags(tags, "TagResource")?;
        write("TagResource", request.set_tags(Some(tags)).send()).await
    }

    async fn update_description(
        &self,
        key_id: &str,
        description: &str,
    ) -> Result<(), AwsCallError> {
        let request = self.client.update_key_description().key_id(key_id);
        write(
            "UpdateKeyDescription",
            request.description(description).send(),
        )
        .await
    }

    async fn cancel_deletion(&self, key_id: &str) -> Result<(), AwsCallError> {
        let request = self.client.cancel_key_deletion().key_id(key_id);
        write("CancelKeyDeletion", request.send()).await
    }

    async fn enable_key(&self, key_id: &str) -> Result<(), AwsCallError> {
        write("EnableKey", self.client.enable_key().key_id(key_id).send()).await
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

    /// The policy's tags (ListPolicyTags, every page).
    async fn tags_of(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsCallError> {
        let tags = collect_pages("ListPolicyTags", |marker| async move {
            let request = self.client.list_policy_tags().policy_arn(arn);
            let out = send("ListPolicyTags", request.set_marker(marker).send()).await?;
            Ok(Page::from(&out))
        })
        .await?;
        Ok(tags.into_iter().collect())
    }

    /// Refuses `operation` unless the policy's tags (ListPolicyTags, every
    /// page) say it is c3's policy of key name `key`.
    async fn ensure_ours(
        &self,
        arn: &str,
        key: &str,
        operation: &'static str,
    ) -> Result<(), PolicyWriteError> {
        let tags = self.tags_of(arn).await?;
        if tag::owned_by(&tags, key) {
            Ok(())
        } else {
            Err(PolicyWriteError::NotOurs {
                operation,
                arn: arn.to_string(),
                key: key.to_string(),
            })
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
        let tags = sdk_tags(tags, "CreatePolicy", |k, v| {
            aws_sdk_iam::types::Tag::builder().key(k).value(v).build()
        })?;
        let request = self
            .client
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document)
            .description("Managed by c3")
            .set_tags(Some(tags));
        let out = send("CreatePolicy", request.send()).await?;
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
    ) -> Result<(), PolicyWriteError> {
        self.ensure_ours(arn, key, "CreatePolicyVersion").await?;
        let request = self
            .client
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .customize()
            .config_override(iam_call_config("CreatePolicyVersion"));
        Ok(write("CreatePolicyVersion", request.send()).await?)
    }

    async fn adopt_policy(
        &self,
        arn: &str,
        key: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), PolicyWriteError> {
        // 1. The policy must still be at the ARN the plan saw.
        let request = self.client.get_policy().policy_arn(arn);
        match send("GetPolicy", request.send()).await {
            Ok(out) if out.policy().and_then(|p| p.arn()) == Some(arn) => {}
            Ok(_) => return Err(moved(arn, key)),
            Err(e) if e.has_code("NoSuchEntity") => return Err(moved(arn, key)),
            Err(e) => return Err(e.into()),
        }
        // 2. It must not carry another name's tag.
        let live = self.tags_of(arn).await?;
        if let Some(other) = live.get(tag::NAME).filter(|n| *n != key) {
            return Err(PolicyWriteError::OtherName {
                arn: arn.to_string(),
                key: key.to_string(),
                other: other.clone(),
            });
        }
        let tags = sdk_tags(tags, "TagPolicy", |k, v| {
            aws_sdk_iam::types::Tag::builder().key(k).value(v).build()
        })?;
        let request = self
            .client
            .tag_policy()
            .policy_arn(arn)
            .set_tags(Some(tags));
        Ok(write("TagPolicy", request.send()).await?)
    }

    async fn prune_version(
        &self,
        arn: &str,
        version: &str,
        key: &str,
    ) -> Result<(), PolicyWriteError> {
        // 1. The policy must be c3's.
        self.ensure_ours(arn, key, "DeletePolicyVersion").await?;
        // 2. The version must exist and not be the default.
        let request = self.client.list_policy_versions().policy_arn(arn);
        let versions = send("ListPolicyVersions", request.send()).await?;
        let found = versions
            .versions()
            .iter()
            .find(|v| v.version_id() == Some(version));
        let refusal = match found {
            None => Some(PolicyWriteError::NoSuchVersion {
                arn: arn.to_string(),
                version: version.to_string(),
            }),
            Some(v) if v.is_default_version() => Some(PolicyWriteError::DefaultVersion {
                arn: arn.to_string(),
                version: version.to_string(),
            }),
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let request = self.client.delete_policy_version().policy_arn(arn);
        let request = request.version_id(version);
        Ok(write("DeletePolicyVersion", request.send()).await?)
    }
}

/// The refusal to adopt a policy that is no longer at `arn`.
fn moved(arn: &str, key: &str) -> PolicyWriteError {
    PolicyWriteError::Moved {
        arn: arn.to_string(),
        key: key.to_string(),
    }
}
