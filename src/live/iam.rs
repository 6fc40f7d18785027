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

/// One version of a listed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    /// `v1`, `v2`, ...
    pub id: String,
    /// Whether it is the default version.
    pub is_default: bool,
    /// Creation time, seconds since the epoch.
    pub created_epoch: Option<i64>,
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
                let mut versions: Vec<PolicyVersion> = entry
                    .versions
                    .iter()
                    .map(|v| PolicyVersion {
                        id: v.id.clone(),
                        is_default: v.is_default,
                        created_epoch: v.created_epoch,
                    })
                    .collect();
                versions.sort_by(|a, b| version_order(&a.id).cmp(&version_order(&b.id)));
                Ok(Some(LiveManagedPolicy {
                    name,
                    arn: entry.arn.clone(),
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
    let default = entry.versions.iter().find(|v| v.is_default).or_else(|| {
        entry
            .versions
            .iter()
            .find(|v| Some(&v.id) == entry.default_version_id.as_ref())
    });
    if let Some(text) = default.and_then(|v| v.document.as_deref()) {
        return decode_document("GetAccountAuthorizationDetails", text);
    }
    let version_id = default
        .map(|v| v.id.clone())
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
        .map(|decoded| decoded.into_owned())
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
                                    id: v.version_id()?.to_string(),
                                    is_default: v.is_default_version(),
                                    created_epoch: v.create_date().map(|d| d.secs()),
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
        Ok(Page {
            items: out
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            truncated: out.is_truncated(),
            next_marker: out.marker().map(str::to_string),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use tokio::sync::Semaphore;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
    const DOC_ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3ADecrypt%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";

    #[derive(Default)]
    struct FakeIam {
        page: usize,
        policies: Vec<PolicyEntry>,
        documents: HashMap<(String, String), String>,
        tags: HashMap<String, Vec<(String, String)>>,
        log: Mutex<Vec<(String, String)>>,
    }

    impl FakeIam {
        fn arn(path: &str, name: &str) -> String {
            format!("arn:aws:iam::111111111111:policy{path}{name}")
        }

        fn policy(&mut self, path: &str, name: &str, versions: &[(&str, bool, Option<&str>)]) {
            let arn = Self::arn(path, name);
            self.tags.entry(arn.clone()).or_default();
            self.policies.push(PolicyEntry {
                arn,
                path: Some(path.to_string()),
                default_version_id: versions.iter().find(|v| v.1).map(|v| v.0.to_string()),
                attachments: Some(2),
                versions: versions
                    .iter()
                    .map(|(id, is_default, doc)| VersionEntry {
                        id: id.to_string(),
                        is_default: *is_default,
                        created_epoch: Some(10),
                        document: doc.map(str::to_string),
                    })
                    .collect(),
            });
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

    impl IamRead for FakeIam {
        async fn local_policies(
            &self,
            marker: Option<String>,
        ) -> Result<Page<PolicyEntry>, AwsCallError> {
            self.log.lock().unwrap().push((
                "GetAccountAuthorizationDetails".into(),
                marker.clone().unwrap_or_default(),
            ));
            Ok(self.paged(&self.policies, marker))
        }

        async fn policy_document(
            &self,
            arn: &str,
            version_id: &str,
        ) -> Result<Option<String>, AwsCallError> {
            self.log
                .lock()
                .unwrap()
                .push(("GetPolicyVersion".into(), arn.into()));
            Ok(self
                .documents
                .get(&(arn.to_string(), version_id.to_string()))
                .cloned())
        }

        async fn policy_tags(
            &self,
            arn: &str,
            marker: Option<String>,
        ) -> Result<Page<(String, String)>, AwsCallError> {
            self.log
                .lock()
                .unwrap()
                .push(("ListPolicyTags".into(), arn.into()));
            match self.tags.get(arn) {
                Some(tags) => Ok(self.paged(tags, marker)),
                None => Err(AwsCallError::service(
                    "ListPolicyTags",
                    "NoSuchEntity",
                    "gone",
                )),
            }
        }
    }

    async fn read(iam: &FakeIam, path: &str) -> AccountSnapshot {
        let gate = Semaphore::new(2);
        let calls = Calls::new(&gate, "prod", "global");
        read_account(iam, &calls, path).await.unwrap()
    }

    #[test]
    fn name_comes_from_the_arn() {
        assert_eq!(
            policy_name_from_arn(
                "arn:aws:iam::111111111111:policy/c3/allow-encrypt-payments",
                "/c3/"
            )
            .as_deref(),
            Some("allow-encrypt-payments")
        );
        assert_eq!(
            policy_name_from_arn("arn:aws:iam::111111111111:policy/allow-crypto-x", "/").as_deref(),
            Some("allow-crypto-x")
        );
        assert_eq!(
            policy_name_from_arn(
                "arn:aws-cn:iam::111111111111:policy/a/b/allow-decrypt-y",
                "/a/b/"
            )
            .as_deref(),
            Some("allow-decrypt-y")
        );
        assert_eq!(policy_name_from_arn("not-an-arn", "/"), None);
        assert_eq!(
            path_from_arn("arn:aws:iam::1:policy/a/b/n").as_deref(),
            Some("/a/b/")
        );
    }

    #[test]
    fn documents_decode_in_both_forms() {
        assert_eq!(decode_document("x", DOC).unwrap(), DOC);
        assert_eq!(decode_document("x", DOC_ENCODED).unwrap(), DOC);
        // A raw document keeps a literal percent sign; "+" is not a space.
        let raw = r#"{"Sid":"a%20b+c"}"#;
        assert_eq!(decode_document("x", raw).unwrap(), raw);
        assert_eq!(
            decode_document("x", "%7B%22a%22%3A%22b+c%22%7D").unwrap(),
            r#"{"a":"b+c"}"#
        );
    }

    #[tokio::test]
    async fn filters_by_path_and_name_reads_tags_and_decodes() {
        let mut iam = FakeIam {
            page: 2,
            ..FakeIam::default()
        };
        iam.policy(
            "/c3/",
            "allow-encrypt-payments",
            &[("v1", true, Some(DOC_ENCODED))],
        );
        iam.policy(
            "/c3/",
            "allow-decrypt-payments",
            &[
                ("v10", true, Some(DOC)),
                ("v2", false, Some("{}")),
                ("v9", false, Some("{}")),
            ],
        );
        iam.tags.insert(
            FakeIam::arn("/c3/", "allow-decrypt-payments"),
            vec![
                ("c3:managed".into(), "true".into()),
                ("c3:name".into(), "payments".into()),
                ("team".into(), "x".into()),
            ],
        );
        iam.policy("/", "allow-crypto-payments", &[("v1", true, Some(DOC))]);
        iam.policy(
            "/c3/sub/",
            "allow-crypto-payments",
            &[("v1", true, Some(DOC))],
        );
        iam.policy("/c3/", "Allow-Crypto-Orders", &[("v1", true, Some(DOC))]);
        iam.policy("/c3/", "something-else", &[("v1", true, Some(DOC))]);
        let snap = read(&iam, "/c3/").await;
        let names: Vec<_> = snap.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["allow-decrypt-payments", "allow-encrypt-payments"]
        );
        assert!(snap.policies.iter().all(|p| p.document == DOC));
        assert!(snap.policies[0].is_owned_by("payments"));
        assert_eq!(snap.policies[0].tags.as_ref().unwrap().len(), 3);
        assert!(!snap.policies[1].is_owned_by("payments"));
        assert_eq!(snap.policies[1].tags, Some(BTreeMap::new()));
        assert_eq!(snap.policies[1].attachments, Some(2));
        let versions: Vec<_> = snap.policies[0]
            .versions
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(versions, vec!["v2", "v9", "v10"]);
        // Same names elsewhere, and another spelling, are listed by name only.
        let others: Vec<_> = snap
            .others
            .iter()
            .map(|p| (p.path.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(
            others,
            vec![
                ("/c3/", "Allow-Crypto-Orders"),
                ("/", "allow-crypto-payments"),
                ("/c3/sub/", "allow-crypto-payments"),
            ]
        );
        // Four pages of two; tags of both candidates, nothing else.
        assert_eq!(iam.calls("GetAccountAuthorizationDetails").len(), 3);
        assert_eq!(iam.calls("ListPolicyTags").len(), 3);
        assert!(iam.calls("GetPolicyVersion").is_empty());
    }

    #[tokio::test]
    async fn a_policy_deleted_while_read_is_dropped() {
        let mut iam = FakeIam {
            page: 100,
            ..FakeIam::default()
        };
        iam.policy("/", "allow-encrypt-old", &[("v1", true, Some(DOC))]);
        iam.policy("/", "allow-decrypt-gone", &[("v1", true, Some(DOC))]);
        iam.tags.remove(&FakeIam::arn("/", "allow-decrypt-gone"));
        let snap = read(&iam, "/").await;
        assert_eq!(snap.policies.len(), 1);
        assert_eq!(snap.policies[0].name, "allow-encrypt-old");
    }

    #[tokio::test]
    async fn missing_default_document_is_fetched() {
        let mut iam = FakeIam {
            page: 100,
            ..FakeIam::default()
        };
        iam.policy("/", "allow-encrypt-payments", &[("v3", true, None)]);
        iam.documents.insert(
            (FakeIam::arn("/", "allow-encrypt-payments"), "v3".into()),
            DOC.into(),
        );
        let snap = read(&iam, "/").await;
        assert_eq!(snap.policies[0].document, DOC);
        assert_eq!(iam.calls("GetPolicyVersion").len(), 1);
    }
}
