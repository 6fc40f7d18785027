//! Accounts discovered from AWS Organizations (`[organization]`).
//!
//! From each parent (an OU or a root; with `root = true`, each root that
//! ListRoots names), level by level: ListAccountsForParent and
//! ListOrganizationalUnitsForParent, then the same for every sub-OU. Only
//! ACTIVE accounts are kept (`State`, else the older `Status`); suspended,
//! closed and closing accounts are skipped and counted. Tags
//! (ListTagsForResource, per account) are read only when `[organization]
//! tags` or a `tag:` wave selector needs them. Every listing is followed to
//! its last page: Organizations may answer a page with no item and a
//! NextToken, and that is not the end.
//!
//! The SDK sits behind [`OrgRead`], one page per method, so the walk is
//! tested without AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_organizations::Client;
use futures::future::try_join_all;

use super::{collect_pages, Calls, Page};
use crate::aws::AwsCallError;
use crate::model::fleet::{OrgAccount, OrganizationSpec};

/// One account as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The 12-digit id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`, … (State, else Status).
    pub state: String,
}

/// The Organizations reads c3 makes, one page per call.
pub trait OrgRead {
    /// ListRoots: (root id, root ARN); the ARN names the management account.
    fn roots(
        &self,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page<(String, String)>, AwsCallError>> + Send;
    /// ListAccountsForParent.
    fn accounts(
        &self,
        parent: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page<AccountRow>, AwsCallError>> + Send;
    /// ListOrganizationalUnitsForParent: OU ids.
    fn ous(
        &self,
        parent: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page<String>, AwsCallError>> + Send;
    /// ListTagsForResource of an account.
    fn tags(
        &self,
        account: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<Page<(String, String)>, AwsCallError>> + Send;
}

/// What discovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The ACTIVE accounts under the parents that carry the wanted tags,
    /// sorted by id.
    pub accounts: Vec<OrgAccount>,
    /// The accounts skipped because they are not ACTIVE: (id, name, state).
    pub inactive: Vec<(String, String, String)>,
    /// The ACTIVE accounts skipped for lack of the wanted tags.
    pub untagged: usize,
    /// With `root = true`: the management account's id (from the roots'
    /// ARNs), which discovery from the root lists like any other.
    pub management: Option<String>,
}

/// A page of Organizations: truncated exactly when a NextToken follows,
/// whether or not the page has items.
pub fn page<T>(items: Vec<T>, next_token: Option<&str>) -> Page<T> {
    let next = next_token.filter(|t| !t.is_empty()).map(str::to_string);
    Page {
        items,
        truncated: next.is_some(),
        next_marker: next,
    }
}

/// Walks the organization from `[organization]`'s parents (see the module
/// doc); `need_tags`: read every account's tags even without a tag filter.
pub async fn discover<O: OrgRead + Sync>(
    org: &O,
    calls: &Calls<'_>,
    spec: &OrganizationSpec,
    need_tags: bool,
) -> Result<Discovery, AwsCallError> {
    let mut management = None;
    let starts: Vec<String> = if spec.root {
        let roots = collect_pages("ListRoots", calls, |t| org.roots(t)).await?;
        // arn:<partition>:organizations::<management account id>:root/o-…/r-…
        management = roots
            .iter()
            .find_map(|(_, arn)| arn.split(':').nth(4).filter(|id| !id.is_empty()))
            .map(str::to_string);
        roots.into_iter().map(|(id, _)| id).collect()
    } else {
        spec.parents.clone()
    };
    // Level by level, each parent read once; an OU's parent is remembered
    // as it is listed, so a path is whole even when a parent listed in
    // `parents` sits under another one (read first at its own level).
    let mut level = starts;
    let mut parent_of: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: BTreeMap<String, (AccountRow, String)> = BTreeMap::new();
    let mut visited = BTreeSet::new();
    while !level.is_empty() {
        level.retain(|p| visited.insert(p.clone()));
        let reads = level.iter().map(|parent| async move {
            let accounts =
                collect_pages("ListAccountsForParent", calls, |t| org.accounts(parent, t));
            let ous = collect_pages("ListOrganizationalUnitsForParent", calls, |t| {
                org.ous(parent, t)
            });
            let (accounts, ous) = futures::try_join!(accounts, ous)?;
            Ok::<_, AwsCallError>((parent, accounts, ous))
        });
        let mut next = Vec::new();
        for (parent, accounts, ous) in try_join_all(reads).await? {
            for row in accounts {
                seen.insert(row.id.clone(), (row, parent.clone()));
            }
            for ou in ous {
                parent_of.insert(ou.clone(), parent.clone());
                next.push(ou);
            }
        }
        level = next;
    }
    let mut found = Discovery {
        management,
        ..Discovery::default()
    };
    let mut active = Vec::new();
    for (id, (row, parent)) in seen {
        if row.state == "ACTIVE" {
            active.push(OrgAccount {
                id,
                org_name: row.name,
                ous: path_to(&parent, &parent_of),
                tags: BTreeMap::new(),
            });
        } else {
            found.inactive.push((id, row.name, row.state));
        }
    }
    if need_tags || !spec.tags.is_empty() {
        let tagged = try_join_all(active.into_iter().map(|mut a| async move {
            let tags = collect_pages("ListTagsForResource", calls, |t| org.tags(&a.id, t)).await?;
            a.tags = tags.into_iter().collect();
            Ok::<_, AwsCallError>(a)
        }))
        .await?;
        let (keep, drop): (Vec<_>, Vec<_>) = tagged
            .into_iter()
            .partition(|a| spec.tags.iter().all(|(k, v)| a.tags.get(k) == Some(v)));
        found.untagged = drop.len();
        active = keep;
    }
    found.accounts = active;
    Ok(found)
}

/// The parents from the outermost one read down to `parent`, itself included.
fn path_to(parent: &str, parent_of: &BTreeMap<String, String>) -> Vec<String> {
    let mut path = vec![parent.to_string()];
    let mut at = parent;
    while let Some(up) = parent_of.get(at) {
        if path.contains(up) {
            break;
        }
        path.push(up.clone());
        at = up;
    }
    path.reverse();
    path
}

/// Discovers the accounts of `[organization]` with the SDK: through
/// `role_arn` when set (assumed once, its account checked like any
/// account's), else with the base credentials. `need_tags`: read tags even
/// without a tag filter (a `tag:` wave selector needs them).
pub async fn discover_with_sdk(
    base: &SdkConfig,
    spec: &OrganizationSpec,
    settings: &crate::model::Settings,
    need_tags: bool,
) -> Result<Discovery, AwsCallError> {
    let home = spec
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_string());
    let config = match &spec.role_arn {
        None => base.clone(),
        Some(role) => {
            let id = role.split(':').nth(4).unwrap_or_default().to_string();
            let account = crate::model::Account {
                name: "organization".into(),
                id,
                role_arn: Some(role.clone()),
                external_id: spec.external_id.clone(),
                regions: spec.regions.clone(),
            };
            crate::aws::connect(base, &account, settings)
                .await?
                .config()
                .clone()
        }
    };
    let org = SdkOrg::new(&config, &home);
    let gate = tokio::sync::Semaphore::new(settings.parallelism.clamp(1, 4));
    let calls = Calls::new(&gate, "organization", "global");
    discover(&org, &calls, spec, need_tags).await
}

/// [`OrgRead`] with the SDK.
pub struct SdkOrg {
    client: Client,
}

impl SdkOrg {
    /// Organizations calls with `config`'s credentials; signed for the
    /// partition's global region (Organizations is global, like IAM).
    pub fn new(config: &SdkConfig, home_region: &str) -> Self {
        let conf = aws_sdk_organizations::config::Builder::from(config)
            .region(aws_config::Region::new(crate::aws::iam_region(home_region)))
            .build();
        Self {
            client: Client::from_conf(conf),
        }
    }
}

impl OrgRead for SdkOrg {
    async fn roots(&self, token: Option<String>) -> Result<Page<(String, String)>, AwsCallError> {
        let out = self
            .client
            .list_roots()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("ListRoots", &e))?;
        let ids = out
            .roots()
            .iter()
            .filter_map(|r| {
                let id = r.id()?.to_string();
                Some((id, r.arn().unwrap_or_default().to_string()))
            })
            .collect();
        Ok(page(ids, out.next_token()))
    }

    async fn accounts(
        &self,
        parent: &str,
        token: Option<String>,
    ) -> Result<Page<AccountRow>, AwsCallError> {
        let out = self
            .client
            .list_accounts_for_parent()
            .parent_id(parent)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                AwsCallError::from_sdk("ListAccountsForParent", &e).about(parent.to_string())
            })?;
        let rows = out
            .accounts()
            .iter()
            .filter_map(|a| {
                let state = a
                    .state()
                    .map(|s| s.as_str().to_string())
                    .or_else(|| a.status().map(|s| s.as_str().to_string()))
                    .unwrap_or_default();
                Some(AccountRow {
                    id: a.id()?.to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    state,
                })
            })
            .collect();
        Ok(page(rows, out.next_token()))
    }

    async fn ous(&self, parent: &str, token: Option<String>) -> Result<Page<String>, AwsCallError> {
        let out = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                AwsCallError::from_sdk("ListOrganizationalUnitsForParent", &e)
                    .about(parent.to_string())
            })?;
        let ids = out
            .organizational_units()
            .iter()
            .filter_map(|o| o.id().map(str::to_string))
            .collect();
        Ok(page(ids, out.next_token()))
    }

    async fn tags(
        &self,
        account: &str,
        token: Option<String>,
    ) -> Result<Page<(String, String)>, AwsCallError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_id(account)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                AwsCallError::from_sdk("ListTagsForResource", &e).about(account.to_string())
            })?;
        let tags = out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        Ok(page(tags, out.next_token()))
    }
}

#[cfg(test)]
#[path = "org_tests.rs"]
mod tests;
