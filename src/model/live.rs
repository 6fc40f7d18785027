//! What c3 read from the accounts, as plain values: keys with their tags,
//! details and grants, aliases, managed policies, and why a target could not
//! be read. `live/` makes these from the SDK's answers; the planner reads them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{tag, Target};

/// The state of a KMS key as `DescribeKey` reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Disabled: `EnableKey` restores it.
    Disabled,
    /// Scheduled for deletion: `CancelKeyDeletion` then `EnableKey` restores it.
    PendingDeletion,
    /// Any other state (`Creating`, `PendingImport`, `Unavailable`, `Updating`, ...).
    Other(String),
}

impl KeyState {
    /// Whether the key is scheduled for deletion: PendingDeletion, or a
    /// multi-Region primary waiting for its replicas to go
    /// (PendingReplicaDeletion). `CancelKeyDeletion` then `EnableKey`
    /// restores either.
    pub fn scheduled_for_deletion(&self) -> bool {
        match self {
            Self::PendingDeletion => true,
            Self::Other(s) => s == "PendingReplicaDeletion",
            _ => false,
        }
    }

    /// Parses the API's state string.
    pub fn parse(s: &str) -> Self {
        match s {
            "Enabled" => Self::Enabled,
            "Disabled" => Self::Disabled,
            "PendingDeletion" => Self::PendingDeletion,
            other => Self::Other(other.to_string()),
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Enabled => f.write_str("Enabled"),
            Self::Disabled => f.write_str("Disabled"),
            Self::PendingDeletion => f.write_str("PendingDeletion"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// Rotation status of a key (`GetKeyRotationStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// Whether automatic rotation is on.
    pub enabled: bool,
    /// The period in days, when the API reports one.
    pub period_days: Option<u32>,
}

/// A KMS key as read from an account and region.
///
/// Only keys c3 has reason to look at are read in full (c3-tagged keys and
/// the targets of declared aliases); for the others `details` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveKey {
    /// The key id (a UUID, or `mrk-...`).
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// The key's tags (empty when they could not be read).
    pub tags: BTreeMap<String, String>,
    /// What `DescribeKey`, `GetKeyRotationStatus` and `GetKeyPolicy` said, for
    /// keys read in full.
    pub details: Option<KeyDetails>,
    /// When it was last used (GetKeyLastUsage), read for c3's orphans: keys
    /// tagged by c3 whose name keys.toml no longer declares for the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_usage: Option<super::LastUsage>,
}

/// The full read of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDetails {
    /// The key state.
    pub state: KeyState,
    /// The description.
    pub description: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    /// `SYMMETRIC_DEFAULT`, ...
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, ... (AWS always reports it; missing is read as `ENCRYPT_DECRYPT`).
    pub usage: String,
    /// Where the key material comes from: `AWS_KMS`, `EXTERNAL` (imported),
    /// `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`; empty when not reported.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
    /// Whether the key is a multi-Region key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multi_region: bool,
    /// The region of a multi-Region key's primary (`MultiRegionConfiguration`),
    /// when DescribeKey tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// The custom key store the key lives in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    /// When a PendingDeletion key will be deleted, seconds since the epoch
    /// (DescribeKey's `DeletionDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_epoch: Option<i64>,
    /// Creation time, seconds since the epoch (used only to order duplicates).
    pub creation_epoch: Option<i64>,
    /// Rotation status; `None` when it cannot be read (e.g. a PendingDeletion key).
    pub rotation: Option<Rotation>,
    /// The key policy named `default`, verbatim JSON text.
    pub policy: Option<String>,
    /// The key's grants (ListGrants); `None` when they were not read
    /// (`[settings] read_grants = false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<KmsGrant>>,
}

/// A grant on a KMS key, as ListGrants reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsGrant {
    /// The grant id.
    pub grant_id: String,
    /// The grant's friendly name, if it has one.
    pub name: Option<String>,
    /// Who may use the key through the grant (`GranteePrincipal`).
    pub grantee: Option<String>,
    /// The service principal that gets the permissions (`GranteeServicePrincipal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_service: Option<String>,
    /// Who may retire the grant (`RetiringPrincipal`).
    pub retiring: Option<String>,
    /// The account that created the grant (`IssuingAccount`, an ARN).
    pub issuing_account: Option<String>,
    /// The operations the grant allows (`Decrypt`, `GenerateDataKey`, ...).
    pub operations: Vec<String>,
    /// Constraints: `EncryptionContextSubset` / `EncryptionContextEquals` → pairs.
    pub constraints: BTreeMap<String, BTreeMap<String, String>>,
    /// The `SourceArn` constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}

impl LiveKey {
    /// The value of a tag.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// Whether c3 created this key (`c3:managed=true`).
    pub fn is_managed(&self) -> bool {
        tag::is_managed(&self.tags)
    }

    /// The `c3:name` of a c3-managed key.
    pub fn c3_name(&self) -> Option<&str> {
        if self.is_managed() {
            self.tag(tag::NAME)
        } else {
            None
        }
    }

    /// Whom a key belongs to, by its tags (design.md, "Ownership").
    pub fn owner(&self) -> KeyOwner<'_> {
        match (self.is_managed(), self.tag(tag::NAME)) {
            (true, Some(name)) => KeyOwner::C3 { name },
            (true, None) => KeyOwner::C3Unnamed,
            (false, Some(name)) => KeyOwner::LostManaged { name },
            (false, None) => KeyOwner::Other,
        }
    }

    /// The `c3:generation` of a c3-managed key, when it parses.
    pub fn c3_generation(&self) -> Option<u32> {
        if self.is_managed() {
            self.tag(tag::GENERATION).and_then(|g| g.parse().ok())
        } else {
            None
        }
    }
}

/// Whom a key belongs to: c3 writes only to a key tagged `c3:managed=true`
/// whose `c3:name` is the name it plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner<'a> {
    /// `c3:managed=true` and `c3:name=<name>`: c3's key of that name.
    C3 {
        /// Its `c3:name`.
        name: &'a str,
    },
    /// `c3:managed=true` without `c3:name`: not provably any name's key.
    C3Unnamed,
    /// `c3:name=<name>` without `c3:managed=true`: it was c3's (or someone
    /// copied the tag); c3 no longer writes to it.
    LostManaged {
        /// Its `c3:name`.
        name: &'a str,
    },
    /// No c3 tag: somebody else's key.
    Other,
}

/// A KMS alias (a [`RegionSnapshot`] never includes `alias/aws/*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LiveAlias {
    /// `alias/<name>`.
    pub name: String,
    /// The key id it points at; `None` when the API gives none.
    pub target_key_id: Option<String>,
}

impl LiveAlias {
    /// The key name the alias stands for: `<name>` of `alias/<name>`.
    pub fn key_name(&self) -> Option<&str> {
        self.name.strip_prefix("alias/")
    }
}

/// Everything read from one (account, region).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSnapshot {
    /// Keys c3 looked at, sorted by key id.
    pub keys: Vec<LiveKey>,
    /// Customer aliases, sorted by name.
    pub aliases: Vec<LiveAlias>,
}

impl RegionSnapshot {
    /// The key with this id.
    pub fn key(&self, key_id: &str) -> Option<&LiveKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// The alias with this name (`alias/...`).
    pub fn alias(&self, name: &str) -> Option<&LiveAlias> {
        self.aliases.iter().find(|a| a.name == name)
    }
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub id: String,
    /// Whether it is the default version.
    pub is_default: bool,
    /// Creation time, seconds since the epoch.
    pub created_epoch: Option<i64>,
}

/// A customer-managed IAM policy that c3 may own (by path and name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveManagedPolicy {
    /// The policy name, taken from the ARN.
    pub name: String,
    /// The policy ARN.
    pub arn: String,
    /// The policy's path.
    pub path: String,
    /// The default version's document, decoded JSON text.
    pub document: String,
    /// All versions, sorted by version number.
    pub versions: Vec<PolicyVersion>,
    /// Tags, when they were read (`None`: not read).
    pub tags: Option<BTreeMap<String, String>>,
    /// How many users, groups and roles it is attached to, when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<u32>,
}

impl LiveManagedPolicy {
    /// Whether the policy is provably c3's policy of key name `key`: tagged
    /// `c3:managed=true` and `c3:name=<key>` (design.md, "Ownership").
    pub fn is_owned_by(&self, key: &str) -> bool {
        self.tags.as_ref().is_some_and(|t| tag::owned_by(t, key))
    }

    /// Whether the policy carries `c3:managed=true`.
    pub fn is_managed(&self) -> bool {
        self.tags.as_ref().is_some_and(tag::is_managed)
    }
}

/// A customer-managed policy whose name is one of c3's names (ignoring case)
/// but which is not at `policy_path` under exactly that spelling: IAM policy
/// names are unique in an account whatever their path and case, so it stands
/// where c3 would create its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedPolicy {
    /// The policy name, from the ARN.
    pub name: String,
    /// The policy ARN.
    pub arn: String,
    /// Its path.
    pub path: String,
}

/// Everything read from one account (IAM is global).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// Managed policies under `policy_path` named like c3's, sorted by name.
    pub policies: Vec<LiveManagedPolicy>,
    /// Other policies whose names collide with c3's names, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<NamedPolicy>,
}

impl AccountSnapshot {
    /// The policy with this name.
    pub fn policy(&self, name: &str) -> Option<&LiveManagedPolicy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// A policy, other than one named exactly `name` at the policy path, whose
    /// name equals `name` ignoring case (IAM would refuse to create `name`).
    pub fn clash(&self, name: &str) -> Option<NamedPolicy> {
        self.policies
            .iter()
            .filter(|p| p.name != name && p.name.eq_ignore_ascii_case(name))
            .map(|p| NamedPolicy {
                name: p.name.clone(),
                arn: p.arn.clone(),
                path: p.path.clone(),
            })
            .chain(
                self.others
                    .iter()
                    .filter(|p| p.name.eq_ignore_ascii_case(name))
                    .cloned(),
            )
            .next()
    }
}

/// Why a target or an account could not be read: the failed call, in the
/// words a person needs to act on it. The account and region are the plan's
/// to say (they are the keys of [`LiveState`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadFailure {
    /// `Operation [resource]: Code: message`, e.g.
    /// `ListGrants: AccessDeniedException: User … is not authorized …`.
    pub message: String,
    /// The API operation that failed, when one did.
    #[serde(default)]
    pub operation: Option<String>,
    /// AWS's error code, when AWS answered.
    #[serde(default)]
    pub code: Option<String>,
    /// The cause without the operation: `Code: message`, or the message.
    #[serde(default)]
    pub cause: String,
    /// What to do about it, when c3 knows.
    #[serde(default)]
    pub hint: Option<String>,
    /// The request id, for AWS support.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The whole account could not be reached (its credentials or identity
    /// failed), so every one of its targets failed for this one reason.
    #[serde(default)]
    pub account_wide: bool,
}

impl ReadFailure {
    /// A failure that is not a failed call (e.g. a target that was not read).
    pub fn new(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            cause: message.clone(),
            message,
            operation: None,
            code: None,
            hint: None,
            request_id: None,
            account_wide: false,
        }
    }
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The live state of every account and region of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveState {
    /// Per (account, region): the snapshot, or why it could not be read.
    pub regions: BTreeMap<Target, Result<RegionSnapshot, ReadFailure>>,
    /// Per account id: the IAM snapshot, or why it could not be read.
    pub accounts: BTreeMap<String, Result<AccountSnapshot, ReadFailure>>,
}
