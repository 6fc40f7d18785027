//! `[organization]` and `[rollout]` as written (see `file`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{EXTERNAL_ID_PATTERN, REGION_PATTERN, ROLE_ARN_PATTERN};

/// AWS Organizations parents: an OU id or a root id.
pub(crate) const PARENT_PATTERN: &str = "^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$";
/// IAM role names.
pub(crate) const ROLE_NAME_PATTERN: &str = "^[A-Za-z0-9_+=,.@-]{1,64}$";

/// `[organization]`: accounts discovered from AWS Organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationFile {
    /// A role to assume for the Organizations calls, in the management
    /// account or a delegated administrator account. Without it the ambient
    /// credentials make them.
    #[schemars(regex(pattern = ROLE_ARN_PATTERN))]
    pub role_arn: Option<String>,
    /// ExternalId for assuming `role_arn`.
    #[schemars(length(min = 2, max = 1224), regex(pattern = EXTERNAL_ID_PATTERN))]
    pub external_id: Option<String>,
    /// OU ids (`ou-ab12-cd34ef56`) or root ids (`r-ab12`) whose accounts,
    /// sub-OUs included, are discovered. Either `parents` or `root = true`.
    #[schemars(inner(regex(pattern = PARENT_PATTERN)), extend("uniqueItems" = true))]
    pub parents: Option<Vec<String>>,
    /// `true`: every account of the organization (ListAccounts).
    pub root: Option<bool>,
    /// Only accounts that carry all these tags in Organizations.
    pub tags: Option<BTreeMap<String, String>>,
    /// The role c3 assumes in each discovered account
    /// (`arn:aws:iam::<id>:role/<role_name>`): 1 to 64 of
    /// `A-Z a-z 0-9 _ + = , . @ -`.
    #[schemars(required, length(min = 1, max = 64), regex(pattern = ROLE_NAME_PATTERN))]
    pub role_name: Option<String>,
    /// The regions c3 manages in every discovered account, as an account's.
    #[schemars(
        required,
        length(min = 1),
        inner(regex(pattern = REGION_PATTERN)),
        extend("uniqueItems" = true)
    )]
    pub regions: Option<Vec<String>>,
}

/// `[rollout]`: the waves `apply` goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutFile {
    /// The waves, in order: each a list of account selectors: a name, a
    /// 12-digit id, `ou:<OU or root id>`, `tag:<key>=<value>`, a glob on
    /// names (`prod-*`), or `*` (every account no other wave takes). Every
    /// account lands in exactly one wave.
    #[schemars(required, length(min = 1), inner(length(min = 1)))]
    pub waves: Option<Vec<Vec<String>>>,
    /// Accounts applied at the same time within a wave, 1 to 256. Default 10.
    #[schemars(range(min = 1, max = 256))]
    pub max_concurrent_accounts: Option<i64>,
    /// Failed accounts a wave may have and the rollout still go on to the
    /// next wave, 0 to 10000. Default 0.
    #[schemars(range(min = 0, max = 10000))]
    pub failure_tolerance: Option<i64>,
    /// Regions applied one after the other, in this order, within each
    /// account (regions not listed come last). Default: all at once.
    #[schemars(inner(regex(pattern = REGION_PATTERN)), extend("uniqueItems" = true))]
    pub region_order: Option<Vec<String>>,
}
