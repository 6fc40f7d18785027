//! IAM reads of one account: the customer-managed policies that c3 may own,
//! found by path and name, with their tags, and every other policy whose
//! name collides with one of c3's.
//!
//! Calls per account: GetAccountAuthorizationDetails (LocalManagedPolicy,
//! paged), which carries every version's document; then, per policy at
//! `policy_path` named `allow-{encrypt,decrypt,crypto}-<n>`, one
//! ListPolicyTags (paged), because c3 writes only to a policy tagged as its
//! own and the listing carries no tags; GetPolicyVersion only if a default
//! document is missing. (ListPolicies with PathPrefix, then GetPolicyVersion
//! per policy, was measured as the alternative: 16 times the IAM calls on
//! 100 accounts and 1.6 times slower; docs/performance.md.)

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_iam::types::EntityType;
use aws_sdk_iam::Client;
use futures::future::try_join_all;
use percent_encoding::percent_decode_str;

use super::{collect_pages, Calls, Page};
use crate::aws::AwsCallError;
use crate::model::{
    version_order, AccountSnapshot, LiveManagedPolicy, NamedPolicy, PolicyKind, PolicyVersion,
};

/// Page sizes: the maxima AWS allows.
const DETAILS_PAGE: i32 = 1000;
const TAGS_PAGE: i32 = 1000;

/// A customer-managed policy as GetAccountAuthorizationDetails lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    /// The policy ARN.
    pub arn: String,
    /// The path, when listed.
    pub path: Option<String>,
    /// The default version's id, when listed.
    pub default_version_id: Option<String>,
    /// How many users, groups and roles it is attached to, when listed.
    pub attachments: Option<u32>,
    /// Every version.
    pub versions: Vec<VersionEntry>,
}

/// One version of a listed policy: the version, and its document as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    /// The version.
    pub version: PolicyVersion,
    /// The document as the API returned it (URL-encoded on AWS).
    pub document: Option<String>,
}

/// The IAM reads c3 makes, one page or one object per call.
pub trait IamRead {
    /// One page of GetAccountAuthorizationDetails(Filter=LocalManagedPolicy).
    fn local_policies(
        &self,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<PolicyEntry>, AwsCallError>> + Send;
    /// GetPolicyVersion: the document of one version, as returned.
    fn policy_document(
        &self,
        arn: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsCallError>> + Send;
    /// One page of ListPolicyTags: (key, value) pairs.
    fn policy_tags(
        &self,
        arn: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<(String, String)>, AwsCallError>> + Send;
}

/// Reads the managed policies of one account that c3 may own: those whose
/// path is `policy_path` exactly and whose name is `allow-encrypt-<n>`,
/// `allow-decrypt-<n>` or `allow-crypto-<n>`, each with its tags (c3 decides
/// from them whether the policy is its own). Policies of such names (ignoring
/// case) elsewhere are listed by name only, in [`AccountSnapshot::others`].
pub async fn read_account<I: IamRead>(
    iam: &I,
    calls: &Calls<'_>,
    policy_path: &str,
) -> Result<AccountSnapshot, AwsCallError> {
    let entries = collect_pages("GetAccountAuthorizationDetails", calls, |marker| {
        iam.local_policies(marker)
    })
    .await?;

    let mut candidates = Vec::new();
    let mut others = Vec::new();
    for entry in entries {
        let Some(path) = entry.path.clone().or_else(|| path_from_arn(&entry.arn)) else {
            continue;
        };
        let Some(name) = policy_name_from_arn(&entry.arn, &path) else {
            continue;
        };
        if path == policy_path && PolicyKind::parse_name(&name).is_some() {
            candidates.push((entry, path, name));
        } else if PolicyKind::is_c3_like(&name) {
            others.push(NamedPolicy {
                name,
                arn: entry.arn,
                path,
            });
        }
    }

    let read = try_join_all(
        candidates
            .into_iter()
            .map(|(entry, path, name)| async move {
                let (document, tags) = futures::join!(
                    default_document(iam, calls, &entry),
                    collect_pages("ListPolicyTags", calls, |marker| {
                        iam.policy_tags(&entry.arn, marker)
                    })
                );
                let (document, tags) = match (document, tags) {
                    (Ok(d), Ok(t)) => (d, t),
                    // Deleted while being read: it is not there.
                    (Err(e), _) | (_, Err(e)) if e.is_not_found() => return Ok(None),
                    (Err(e), _) | (_, Err(e)) => return Err(e),
                };
                let mut versions: Vec<PolicyVersion> =
                    entry.versions.into_iter().map(|v| v.version).collect();
                versions.sort_by(|a, b| version_order(&a.id).cmp(&version_order(&b.id)));
                Ok(Some(LiveManagedPolicy {
                    name,
                    arn: entry.arn,
                    path,
                    document,
                    versions,
                    tags: Some(tags.into_iter().collect::<BTreeMap<_, _>>()),
                    attachments: entry.attachments,
                }))
            }),
    )
    .await?;

    let mut policies: Vec<LiveManagedPolicy> = read.into_iter().flatten().collect();
    policies.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
    others.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
    Ok(AccountSnapshot { policies, others })
}

/// The default version's document, decoded: from the listing, or from
/// GetPolicyVersion when the listing has none.
async fn default_document<I: IamRead>(
    iam: &I,
    calls: &Calls<'_>,
    entry: &PolicyEntry,
) -> Result<String, AwsCallError> {
    let default = entry
        .versions
        .iter()
        .find(|v| v.version.is_default)
        .or_else(|| {
            entry
                .versions
                .iter()
                .find(|v| Some(&v.version.id) == entry.default_version_id.as_ref())
        });
    if let Some(text) = default.and_then(|v| v.document.as_deref()) {
        return decode_document("GetAccountAuthorizationDetails", text);
    }
    let version_id = default
        .map(|v| v.version.id.clone())
        .or_else(|| entry.default_version_id.clone())
        .ok_or_else(|| {
            AwsCallError::protocol(
                "GetAccountAuthorizationDetails",
                format!("policy {} has no default version", entry.arn),
            )
        })?;
    let text = calls
        .run("GetPolicyVersion", || {
            iam.policy_document(&entry.arn, &version_id)
        })
        .await?
        .ok_or_else(|| {
            AwsCallError::protocol(
                "GetPolicyVersion",
                format!("policy {} version {version_id} has no document", entry.arn),
            )
        })?;
    decode_document("GetPolicyVersion", &text)
}

/// A policy document as JSON text. AWS returns documents URL-encoded
/// (RFC 3986); some implementations return raw JSON. A document is decoded
/// only when it does not already start with `{`, so a raw document with a
/// literal `%` stays as it is.
pub fn decode_document(operation: &'static str, text: &str) -> Result<String, AwsCallError> {
    if text.trim_start().starts_with('{') {
        return Ok(text.to_string());
    }
    percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| {
            AwsCallError::protocol(operation, format!("a policy document is not UTF-8: {e}"))
        })
}

/// The policy name from its ARN, `arn:<partition>:iam::<account>:policy<path><name>`
/// (the listing may omit `PolicyName`).
pub fn policy_name_from_arn(arn: &str, path: &str) -> Option<String> {
    let rest = arn.splitn(6, ':').nth(5)?.strip_prefix("policy")?;
    let name = rest
        .strip_prefix(path)
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .or_else(|| rest.rsplit('/').next().filter(|n| !n.is_empty()))?;
    Some(name.to_string())
}

/// The path from a policy ARN (everything from `policy` to the last `/`).
fn path_from_arn(arn: &str) -> Option<String> {
    let rest = arn.splitn(6, ':').nth(5)?.strip_prefix("policy")?;
    let end = rest.rfind('/')?;
    Some(rest[..=end].to_string())
}

/// [`IamRead`] over the SDK client.
#[derive(Debug, Clone)]
pub struct SdkIam {
    client: Client,
}

impl SdkIam {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl IamRead for SdkIam {
    async fn local_policies(
        &self,
        marker: Option<String>,
    ) -> Result<Page<PolicyEntry>, AwsCallError> {
        let out = self
            .client
            .get_account_authorization_details()
            .filter(EntityType::LocalManagedPolicy)
            .max_items(DETAILS_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("GetAccountAuthorizationDetails", &e))?;
        Ok(Page {
            items: out
                .policies()
                .iter()
                .filter_map(|p| {
                    Some(PolicyEntry {
                        arn: p.arn()?.to_string(),
                        path: p.path().map(str::to_string),
                        default_version_id: p.default_version_id().map(str::to_string),
                        attachments: p.attachment_count().and_then(|n| u32::try_from(n).ok()),
                        versions: p
                            .policy_version_list()
                            .iter()
                            .filter_map(|v| {
                                Some(VersionEntry {
                                    version: PolicyVersion {
                                        id: v.version_id()?.to_string(),
                                        is_default: v.is_default_version(),
                                        created_epoch: v
                                            .create_date()
                                            .map(aws_sdk_sts::primitives::DateTime::secs),
                                    },
                                    document: v.document().map(str::to_string),
                                })
                            })
                            .collect(),
                    })
                })
                .collect(),
            truncated: out.is_truncated(),
            next_marker: out.marker().map(str::to_string),
        })
    }

    async fn policy_document(
        &self,
        arn: &str,
        version_id: &str,
    ) -> Result<Option<String>, AwsCallError> {
        let out = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version_id)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("GetPolicyVersion", &e))?;
        Ok(out
            .policy_version()
            .and_then(|v| v.document())
            .map(str::to_string))
    }

    async fn policy_tags(
        &self,
        arn: &str,
        marker: Option<String>,
    ) -> Result<Page<(String, String)>, AwsCallError> {
        let out = self
            .client
            .list_policy_tags()
            .policy_arn(arn)
            .max_items(TAGS_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListPolicyTags", &e))?;
        Ok(Page::from(&out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
