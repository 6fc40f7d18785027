//! IAM reads of one account: the customer-managed policies that c3 may own,
//! found by path and name.
//!
//! Calls per account: GetAccountAuthorizationDetails (LocalManagedPolicy,
//! paged), which carries every version's document; ListPolicyTags (paged)
//! only for c3-named policies of keys not declared for the account (orphan
//! candidates); GetPolicyVersion only if a default document is missing.
//!
//! An alternative read path, for the benchmark only ([`ReadPath`], selected
//! by `C3_BENCH_IAM_READ=list`): ListPolicies (Scope=Local,
//! PathPrefix=policy_path, paged), then per c3-named policy GetPolicyVersion
//! of the default version, and ListPolicyVersions only for a policy whose
//! default version is not `v1`. docs/performance.md compares the two.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use aws_sdk_iam::types::{EntityType, PolicyScopeType};
use aws_sdk_iam::Client;
use futures::future::try_join_all;
use percent_encoding::percent_decode_str;

use super::{collect_pages, Calls, Page};
use crate::aws::AwsCallError;
use crate::model::{AccountSnapshot, LiveManagedPolicy, PolicyVersion};

/// Page sizes: the maxima AWS allows.
const DETAILS_PAGE: i32 = 1000;
const TAGS_PAGE: i32 = 1000;
const LIST_PAGE: i32 = 1000;
const VERSIONS_PAGE: i32 = 1000;

/// How the managed policies of an account are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadPath {
    /// GetAccountAuthorizationDetails(Filter=LocalManagedPolicy): every local
    /// policy of the account with every version's document, paged. The default.
    #[default]
    AuthorizationDetails,
    /// ListPolicies(Scope=Local, PathPrefix=policy_path), then GetPolicyVersion
    /// of the default version per c3-named policy, and ListPolicyVersions only
    /// where the default version is not `v1`. A policy whose default is `v1`
    /// is taken to have that one version: IAM numbers versions upwards, so
    /// only a later version created without becoming the default could be
    /// missed (c3 never creates one); at the five-version limit IAM would then
    /// refuse c3's new version (LimitExceeded) rather than anything be lost.
    /// For the benchmark only.
    ListPolicies,
}

impl ReadPath {
    /// The environment variable that selects the path: `list` for
    /// [`ReadPath::ListPolicies`], unset (or `gaad`) for the default.
    pub const ENV: &'static str = "C3_BENCH_IAM_READ";

    /// The path a value of [`ReadPath::ENV`] names; `None` for an unknown value.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.map(str::trim) {
            None | Some("") | Some("gaad") => Some(Self::AuthorizationDetails),
            Some("list") => Some(Self::ListPolicies),
            Some(_) => None,
        }
    }

    /// The path the environment selects; an unknown value is warned about
    /// and the default used.
    pub fn from_env() -> Self {
        let value = std::env::var(Self::ENV).ok();
        Self::parse(value.as_deref()).unwrap_or_else(|| {
            tracing::warn!(
                value = value.as_deref().unwrap_or_default(),
                "{} is neither `list` nor `gaad`; using GetAccountAuthorizationDetails",
                Self::ENV
            );
            Self::AuthorizationDetails
        })
    }
}

/// The name prefixes of c3's managed policies (`<prefix><key name>`).
pub const POLICY_PREFIXES: [&str; 3] = ["allow-encrypt-", "allow-decrypt-", "allow-crypto-"];

/// A customer-managed policy as GetAccountAuthorizationDetails lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    /// The policy ARN.
    pub arn: String,
    /// The path, when listed.
    pub path: Option<String>,
    /// The default version's id, when listed.
    pub default_version_id: Option<String>,
    /// Creation time of the policy (and so of its `v1`), seconds since the epoch.
    pub created_epoch: Option<i64>,
    /// Every version (GetAccountAuthorizationDetails); empty from ListPolicies.
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
    /// One page of ListPolicies(Scope=Local, PathPrefix=`path_prefix`), without versions.
    fn list_policies(
        &self,
        path_prefix: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<PolicyEntry>, AwsCallError>> + Send;
    /// One page of ListPolicyVersions (documents only where the API returns them).
    fn policy_versions(
        &self,
        arn: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<VersionEntry>, AwsCallError>> + Send;
    /// One page of ListPolicyTags: (key, value) pairs.
    fn policy_tags(
        &self,
        arn: &str,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Page<(String, String)>, AwsCallError>> + Send;
}

/// Reads the managed policies of one account that c3 may own: those whose
/// path is `policy_path` exactly and whose name is `allow-encrypt-<n>`,
/// `allow-decrypt-<n>` or `allow-crypto-<n>`. Tags are read only when `<n>`
/// is not in `declared` (the key names declared for this account), so the
/// planner can report only c3-tagged orphans. `read_path` picks the listing.
pub async fn read_account<I: IamRead>(
    iam: &I,
    calls: &Calls<'_>,
    policy_path: &str,
    declared: &BTreeSet<String>,
    read_path: ReadPath,
) -> Result<AccountSnapshot, AwsCallError> {
    let entries = match read_path {
        ReadPath::AuthorizationDetails => {
            collect_pages("GetAccountAuthorizationDetails", calls, |marker| {
                iam.local_policies(marker)
            })
            .await?
        }
        ReadPath::ListPolicies => {
            collect_pages("ListPolicies", calls, |marker| {
                iam.list_policies(policy_path, marker)
            })
            .await?
        }
    };

    let candidates = entries.into_iter().filter_map(|entry| {
        let path = entry.path.clone().or_else(|| path_from_arn(&entry.arn))?;
        if path != policy_path {
            return None;
        }
        let name = policy_name_from_arn(&entry.arn, &path)?;
        let key_name = c3_key_name(&name)?.to_string();
        Some((entry, path, name, key_name))
    });

    let read = try_join_all(
        candidates.map(|(mut entry, path, name, key_name)| async move {
            if read_path == ReadPath::ListPolicies {
                entry.versions = match listed_versions(iam, calls, &entry).await {
                    Ok(versions) => versions,
                    Err(e) if e.is_not_found() => return Ok(None),
                    Err(e) => return Err(e),
                };
            }
            let document = match default_document(iam, calls, &entry).await {
                Ok(document) => document,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            };
            let tags = if declared.contains(&key_name) {
                None
            } else {
                let tags = collect_pages("ListPolicyTags", calls, |marker| {
                    iam.policy_tags(&entry.arn, marker)
                })
                .await;
                match tags {
                    Ok(tags) => Some(tags.into_iter().collect::<BTreeMap<_, _>>()),
                    Err(e) if e.is_not_found() => return Ok(None),
                    Err(e) => return Err(e),
                }
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
            versions.sort_by_key(|v| version_order(&v.id));
            Ok(Some(LiveManagedPolicy {
                name,
                arn: entry.arn.clone(),
                path,
                document,
                versions,
                tags,
            }))
        }),
    )
    .await?;

    let mut policies: Vec<LiveManagedPolicy> = read.into_iter().flatten().collect();
    policies.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
    Ok(AccountSnapshot { policies })
}

/// The versions of a policy listed by ListPolicies (which lists none): only
/// `v1` when that is the default (see [`ReadPath::ListPolicies`]), else
/// ListPolicyVersions.
async fn listed_versions<I: IamRead>(
    iam: &I,
    calls: &Calls<'_>,
    entry: &PolicyEntry,
) -> Result<Vec<VersionEntry>, AwsCallError> {
    if !entry.versions.is_empty() {
        return Ok(entry.versions.clone());
    }
    if entry.default_version_id.as_deref() == Some("v1") {
        return Ok(vec![VersionEntry {
            id: "v1".to_string(),
            is_default: true,
            created_epoch: entry.created_epoch,
            document: None,
        }]);
    }
    collect_pages("ListPolicyVersions", calls, |marker| {
        iam.policy_versions(&entry.arn, marker)
    })
    .await
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

/// `<n>` of a policy named `allow-{encrypt,decrypt,crypto}-<n>`.
pub fn c3_key_name(policy_name: &str) -> Option<&str> {
    POLICY_PREFIXES
        .iter()
        .find_map(|p| policy_name.strip_prefix(p))
        .filter(|n| !n.is_empty())
}

/// Sort key of a version id: by number (`v2` before `v10`), then by text.
fn version_order(id: &str) -> (u64, String) {
    let number = id
        .strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    (number, id.to_string())
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
                        created_epoch: p.create_date().map(|d| d.secs()),
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

    async fn list_policies(
        &self,
        path_prefix: &str,
        marker: Option<String>,
    ) -> Result<Page<PolicyEntry>, AwsCallError> {
        let out = self
            .client
            .list_policies()
            .scope(PolicyScopeType::Local)
            .path_prefix(path_prefix)
            .max_items(LIST_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListPolicies", &e))?;
        Ok(Page {
            items: out
                .policies()
                .iter()
                .filter_map(|p| {
                    Some(PolicyEntry {
                        arn: p.arn()?.to_string(),
                        path: p.path().map(str::to_string),
                        default_version_id: p.default_version_id().map(str::to_string),
                        created_epoch: p.create_date().map(|d| d.secs()),
                        versions: Vec::new(),
                    })
                })
                .collect(),
            truncated: out.is_truncated(),
            next_marker: out.marker().map(str::to_string),
        })
    }

    async fn policy_versions(
        &self,
        arn: &str,
        marker: Option<String>,
    ) -> Result<Page<VersionEntry>, AwsCallError> {
        let out = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .max_items(VERSIONS_PAGE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListPolicyVersions", &e))?;
        Ok(Page {
            items: out
                .versions()
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
    use crate::aws::CallErrorKind;
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
        /// Whether ListPolicyVersions returns documents (moto does, AWS does not).
        versions_with_documents: bool,
        log: Mutex<Vec<(String, String)>>,
    }

    impl FakeIam {
        fn policy(&mut self, path: &str, name: &str, versions: &[(&str, bool, Option<&str>)]) {
            let arn = format!("arn:aws:iam::111111111111:policy{path}{name}");
            self.policies.push(PolicyEntry {
                arn,
                path: Some(path.to_string()),
                default_version_id: versions.iter().find(|v| v.1).map(|v| v.0.to_string()),
                created_epoch: Some(10),
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

        async fn list_policies(
            &self,
            path_prefix: &str,
            marker: Option<String>,
        ) -> Result<Page<PolicyEntry>, AwsCallError> {
            self.log.lock().unwrap().push((
                "ListPolicies".into(),
                format!("{path_prefix} {}", marker.clone().unwrap_or_default()),
            ));
            let listed: Vec<PolicyEntry> = self
                .policies
                .iter()
                .filter(|p| p.path.as_deref().unwrap_or("/").starts_with(path_prefix))
                .map(|p| PolicyEntry {
                    versions: Vec::new(),
                    ..p.clone()
                })
                .collect();
            Ok(self.paged(&listed, marker))
        }

        async fn policy_versions(
            &self,
            arn: &str,
            marker: Option<String>,
        ) -> Result<Page<VersionEntry>, AwsCallError> {
            self.log
                .lock()
                .unwrap()
                .push(("ListPolicyVersions".into(), arn.into()));
            let versions: Vec<VersionEntry> = self
                .policies
                .iter()
                .find(|p| p.arn == arn)
                .map(|p| p.versions.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|v| VersionEntry {
                    document: v.document.filter(|_| self.versions_with_documents),
                    ..v
                })
                .collect();
            Ok(self.paged(&versions, marker))
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
            // A document given explicitly, else the stored version's.
            let stored = self
                .policies
                .iter()
                .find(|p| p.arn == arn)
                .and_then(|p| p.versions.iter().find(|v| v.id == version_id))
                .and_then(|v| v.document.clone());
            Ok(self
                .documents
                .get(&(arn.to_string(), version_id.to_string()))
                .cloned()
                .or(stored))
        }

        async fn policy_tags(
            &self,
            arn: &str,
            _marker: Option<String>,
        ) -> Result<Page<(String, String)>, AwsCallError> {
            self.log
                .lock()
                .unwrap()
                .push(("ListPolicyTags".into(), arn.into()));
            match self.tags.get(arn) {
                Some(tags) => Ok(Page::last(tags.clone())),
                None => Err(AwsCallError {
                    operation: "ListPolicyTags",
                    code: Some("NoSuchEntity".into()),
                    message: "gone".into(),
                    request_id: None,
                    kind: CallErrorKind::Service,
                }),
            }
        }
    }

    async fn read(iam: &FakeIam, path: &str, declared: &[&str]) -> AccountSnapshot {
        read_by(iam, path, declared, ReadPath::AuthorizationDetails).await
    }

    async fn read_by(
        iam: &FakeIam,
        path: &str,
        declared: &[&str],
        read_path: ReadPath,
    ) -> AccountSnapshot {
        let gate = Semaphore::new(2);
        let calls = Calls::new(&gate, "prod", "global");
        let declared = declared.iter().map(|s| s.to_string()).collect();
        read_account(iam, &calls, path, &declared, read_path)
            .await
            .unwrap()
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

    #[test]
    fn c3_names_only() {
        assert_eq!(c3_key_name("allow-encrypt-payments"), Some("payments"));
        assert_eq!(c3_key_name("allow-crypto-a-b"), Some("a-b"));
        assert_eq!(c3_key_name("allow-encrypt-"), None);
        assert_eq!(c3_key_name("allow-sign-x"), None);
        assert_eq!(c3_key_name("deny-encrypt-x"), None);
    }

    #[tokio::test]
    async fn filters_by_path_and_name_and_decodes() {
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
        iam.policy("/", "allow-crypto-payments", &[("v1", true, Some(DOC))]);
        iam.policy(
            "/c3/sub/",
            "allow-crypto-payments",
            &[("v1", true, Some(DOC))],
        );
        iam.policy("/c3/", "something-else", &[("v1", true, Some(DOC))]);
        let snap = read(&iam, "/c3/", &["payments"]).await;
        let names: Vec<_> = snap.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["allow-decrypt-payments", "allow-encrypt-payments"]
        );
        assert!(snap.policies.iter().all(|p| p.document == DOC));
        assert!(snap.policies.iter().all(|p| p.tags.is_none()));
        let versions: Vec<_> = snap.policies[0]
            .versions
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(versions, vec!["v2", "v9", "v10"]);
        // Three pages of two.
        assert_eq!(iam.calls("GetAccountAuthorizationDetails").len(), 3);
        assert!(iam.calls("ListPolicyTags").is_empty());
        assert!(iam.calls("GetPolicyVersion").is_empty());
    }

    #[tokio::test]
    async fn orphan_candidates_get_tags_and_vanished_ones_are_dropped() {
        let mut iam = FakeIam {
            page: 100,
            ..FakeIam::default()
        };
        iam.policy("/", "allow-encrypt-old", &[("v1", true, Some(DOC))]);
        iam.policy("/", "allow-decrypt-gone", &[("v1", true, Some(DOC))]);
        iam.tags.insert(
            "arn:aws:iam::111111111111:policy/allow-encrypt-old".into(),
            vec![("c3:managed".into(), "true".into())],
        );
        let snap = read(&iam, "/", &["payments"]).await;
        assert_eq!(snap.policies.len(), 1);
        let tags = snap.policies[0].tags.as_ref().unwrap();
        assert_eq!(tags.get("c3:managed").map(String::as_str), Some("true"));
    }

    #[tokio::test]
    async fn missing_default_document_is_fetched() {
        let mut iam = FakeIam {
            page: 100,
            ..FakeIam::default()
        };
        iam.policy("/", "allow-encrypt-payments", &[("v3", true, None)]);
        iam.documents.insert(
            (
                "arn:aws:iam::111111111111:policy/allow-encrypt-payments".into(),
                "v3".into(),
            ),
            DOC.into(),
        );
        let snap = read(&iam, "/", &["payments"]).await;
        assert_eq!(snap.policies[0].document, DOC);
        assert_eq!(iam.calls("GetPolicyVersion").len(), 1);
    }

    #[test]
    fn read_path_from_its_variable() {
        assert_eq!(ReadPath::parse(None), Some(ReadPath::AuthorizationDetails));
        assert_eq!(
            ReadPath::parse(Some("")),
            Some(ReadPath::AuthorizationDetails)
        );
        assert_eq!(
            ReadPath::parse(Some("gaad")),
            Some(ReadPath::AuthorizationDetails)
        );
        assert_eq!(ReadPath::parse(Some("list")), Some(ReadPath::ListPolicies));
        assert_eq!(ReadPath::parse(Some("List")), None);
    }

    /// A mixed account: c3 policies at v1, one updated to v3 (older versions
    /// kept), one orphan candidate, one under another path, one foreign name.
    fn mixed_account(page: usize, versions_with_documents: bool) -> FakeIam {
        let mut iam = FakeIam {
            page,
            versions_with_documents,
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
                ("v1", false, Some("{}")),
                ("v3", true, Some(DOC)),
                ("v2", false, Some("{}")),
            ],
        );
        iam.policy("/c3/", "allow-crypto-payments", &[("v1", true, Some(DOC))]);
        iam.policy("/c3/", "allow-crypto-old", &[("v1", true, Some(DOC))]);
        iam.tags.insert(
            "arn:aws:iam::111111111111:policy/c3/allow-crypto-old".into(),
            vec![("c3:managed".into(), "true".into())],
        );
        iam.policy(
            "/c3/sub/",
            "allow-crypto-payments",
            &[("v1", true, Some(DOC))],
        );
        iam.policy("/c3/", "something-else", &[("v1", true, Some(DOC))]);
        iam.policy("/", "allow-encrypt-payments", &[("v1", true, Some(DOC))]);
        iam
    }

    #[tokio::test]
    async fn list_path_reads_what_authorization_details_reads() {
        for (page, with_docs) in [(2, false), (100, true)] {
            let gaad = read(&mixed_account(page, with_docs), "/c3/", &["payments"]).await;
            let iam = mixed_account(page, with_docs);
            let listed = read_by(&iam, "/c3/", &["payments"], ReadPath::ListPolicies).await;
            assert_eq!(listed, gaad, "page {page}, documents {with_docs}");
            assert!(iam.calls("GetAccountAuthorizationDetails").is_empty());
            // Only /c3/ and below is listed: 6 policies.
            assert_eq!(
                iam.calls("ListPolicies").len(),
                6_usize.div_ceil(page),
                "{:?}",
                iam.calls("ListPolicies")
            );
            // ListPolicyVersions only for the policy whose default is not v1
            // (three versions: two pages of two).
            assert_eq!(
                iam.calls("ListPolicyVersions"),
                vec![
                    "arn:aws:iam::111111111111:policy/c3/allow-decrypt-payments";
                    3_usize.div_ceil(page)
                ]
            );
            // GetPolicyVersion for every c3 policy at the path, except where
            // ListPolicyVersions already returned the default document.
            let mut fetched = iam.calls("GetPolicyVersion");
            fetched.sort();
            let mut want = vec![
                "arn:aws:iam::111111111111:policy/c3/allow-crypto-old",
                "arn:aws:iam::111111111111:policy/c3/allow-crypto-payments",
                "arn:aws:iam::111111111111:policy/c3/allow-encrypt-payments",
            ];
            if !with_docs {
                want.push("arn:aws:iam::111111111111:policy/c3/allow-decrypt-payments");
                want.sort();
            }
            assert_eq!(fetched, want);
            assert_eq!(iam.calls("ListPolicyTags").len(), 1);
        }
    }

    #[tokio::test]
    async fn list_path_assumes_a_lone_v1_and_sorts_listed_versions() {
        let iam = mixed_account(100, false);
        let snap = read_by(&iam, "/c3/", &["payments"], ReadPath::ListPolicies).await;
        let by_name = |n: &str| snap.policies.iter().find(|p| p.name == n).unwrap();
        let encrypt = by_name("allow-encrypt-payments");
        assert_eq!(encrypt.document, DOC);
        assert_eq!(
            encrypt.versions,
            vec![PolicyVersion {
                id: "v1".into(),
                is_default: true,
                created_epoch: Some(10),
            }]
        );
        let decrypt = by_name("allow-decrypt-payments");
        let ids: Vec<_> = decrypt.versions.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, vec!["v1", "v2", "v3"]);
        assert_eq!(decrypt.document, DOC);
        assert!(by_name("allow-crypto-old").tags.is_some());
    }
}
