//! Domain types shared by `config`, `live`, `plan` and `apply`.
//!
//! Nothing here knows about files, the AWS SDK or async: the desired state is
//! what `config` makes of `keys.toml` (defaults applied, classifications
//! merged, targets expanded), the live state is what `live` read from the
//! accounts, reduced to plain values. The planner compares the two.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

mod accept;
mod audit;
pub mod fleet;
pub mod key_type;
mod live;
pub mod names;
pub mod tag;

pub use accept::{AcceptEntry, Date};
pub use audit::{AuditState, AuditedKey, LastUsage};
pub use fleet::Fleet;
pub use key_type::KeyType;
pub use live::*;
pub use names::{dns_suffix, key_arn, parse_key_arn, partition, version_order, PolicyKind};

/// One (account, region) pair: the unit c3 reads, plans and applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The 12-digit account id.
    pub account: String,
    /// The region name, e.g. `eu-west-1`.
    pub region: String,
}

impl Target {
    /// A target from an account id and a region.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// Run-wide settings from `[settings]`, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// IAM path of the managed policies; begins and ends with `/`.
    pub policy_path: String,
    /// STS role session name.
    pub session_name: String,
    /// Concurrent API calls at most.
    pub parallelism: usize,
    /// Key-creating and alias writes per second per (account, region).
    pub writes_per_second: u32,
    /// IAM writes per second per account and operation.
    pub iam_writes_per_second: u32,
    /// Whether the grants of managed keys are read (ListGrants).
    pub read_grants: bool,
    /// ListGrants calls per second per (account, region).
    pub grant_reads_per_second: u32,
    /// Tag keys (globs: `*` any run, `?` one character) never compared.
    pub ignore_tags: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy_path: "/".into(),
            session_name: "c3".into(),
            parallelism: 16,
            writes_per_second: 3,
            iam_writes_per_second: 10,
            read_grants: true,
            grant_reads_per_second: 50,
            ignore_tags: Vec::new(),
        }
    }
}

/// One declared account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The name chosen in `keys.toml` (`[accounts.<name>]`).
    pub name: String,
    /// The 12-digit account id.
    pub id: String,
    /// A role to assume for this account; `None` uses the ambient credentials.
    pub role_arn: Option<String>,
    /// ExternalId for AssumeRole.
    pub external_id: Option<String>,
    /// The regions of this account, sorted, unique.
    pub regions: Vec<String>,
}

/// One declared key with every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySpec {
    /// The key name: `alias/<name>`, `allow-*-<name>`.
    pub name: String,
    /// The classification name.
    pub classification: String,
    /// The key description.
    pub description: String,
    /// AWS-managed rotation period in days, 90..=2560.
    pub rotation_days: u32,
    /// The generation behind the alias (>= 1).
    pub generation: u32,
    /// Whether the key should be enabled.
    pub enabled: bool,
    /// Services allowed through `kms:ViaService` (classification's plus the key's).
    pub via_services: BTreeSet<String>,
    /// Services allowed as service principals (classification's plus the
    /// key's): short names of `policy::services::SERVICES` or full
    /// principals (`delivery.logs.amazonaws.com`).
    pub service_principals: BTreeSet<String>,
    /// Principals of `AllowKeyAdministrators` (classification's plus the
    /// key's), `{account}` and `{region}` not yet replaced.
    pub administrators: BTreeSet<String>,
    /// Principals of `AllowKeyUsers` and `AllowKeyUsersGrants`, like
    /// `administrators`.
    pub users: BTreeSet<String>,
    /// Further key-policy statements in IAM's JSON (classification's first,
    /// then the key's), `{account}` and `{region}` not yet replaced.
    pub statements: Vec<serde_json::Value>,
    /// The user's tags (no `c3:` tag; c3 adds its own, see [`KeySpec::tags`]).
    pub user_tags: BTreeMap<String, String>,
    /// Every (account, region) the key lives in, sorted.
    pub targets: Vec<Target>,
    /// `adopt = true`: an existing key behind `alias/<name>` that c3 does
    /// not manage, and existing managed policies of its names at
    /// `policy_path`, are adopted (c3's tags added) instead of being
    /// conflicts.
    pub adopt: bool,
    /// Whether c3 enables and compares rotation (`rotation = false`: neither).
    pub rotation: bool,
    /// The managed policies c3 keeps for the key (by default every kind
    /// of its usage, [`PolicyKind::for_usage`]).
    pub managed_policies: BTreeSet<PolicyKind>,
    /// Key spec, key usage and multi-Region: what AWS fixes at creation.
    #[serde(skip_serializing_if = "KeyType::is_default")]
    pub key_type: KeyType,
}

impl KeySpec {
    /// Whether c3 keeps the managed policy of this kind for the key.
    pub fn keeps_policy(&self, kind: PolicyKind) -> bool {
        self.managed_policies.contains(&kind)
    }

    /// The alias name, `alias/<name>`.
    pub fn alias(&self) -> String {
        format!("alias/{}", self.name)
    }

    /// Every tag the key must carry: c3's own plus the user's.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.user_tags.clone();
        tags.insert(tag::MANAGED.into(), "true".into());
        tags.insert(tag::NAME.into(), self.name.clone());
        tags.insert(tag::CLASSIFICATION.into(), self.classification.clone());
        tags.insert(tag::GENERATION.into(), self.generation.to_string());
        tags
    }
}

/// Which part of the declared estate a run covers (`--accounts`, `--regions`,
/// `--keys`, `--shard`). `None` means everything.
///
/// The declared state itself is never cut down: the planner still knows every
/// key of the file, so keys outside the scope are neither planned nor
/// mistaken for resources the file no longer declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scope {
    /// Account ids in scope.
    pub accounts: Option<BTreeSet<String>>,
    /// Regions in scope.
    pub regions: Option<BTreeSet<String>>,
    /// Key names in scope.
    pub keys: Option<BTreeSet<String>>,
}

impl Scope {
    /// Whether an account is in scope.
    pub fn account(&self, id: &str) -> bool {
        self.accounts.as_ref().is_none_or(|a| a.contains(id))
    }

    /// Whether a target is in scope.
    pub fn target(&self, t: &Target) -> bool {
        self.account(&t.account) && self.regions.as_ref().is_none_or(|r| r.contains(&t.region))
    }

    /// Whether a key name is in scope.
    pub fn key(&self, name: &str) -> bool {
        self.keys.as_ref().is_none_or(|k| k.contains(name))
    }

    /// Whether the scope is the whole estate.
    pub fn is_everything(&self) -> bool {
        self.accounts.is_none() && self.regions.is_none() && self.keys.is_none()
    }
}

/// The desired state: what `keys.toml` declares, validated and expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredState {
    /// Run-wide settings.
    pub settings: Settings,
    /// Declared accounts, in file order.
    pub accounts: Vec<Account>,
    /// Declared keys, in file order.
    pub keys: Vec<KeySpec>,
    /// The part of the estate this run covers.
    pub scope: Scope,
    /// `[[accept]]`: reviewed findings accepted until a date, in file order.
    pub accept: Vec<AcceptEntry>,
    /// `[organization]` and `[rollout]`, and the accounts discovered.
    pub fleet: Fleet,
}

impl DesiredState {
    /// Every target in scope, sorted, unique.
    pub fn targets(&self) -> Vec<Target> {
        let set: BTreeSet<Target> = self
            .accounts
            .iter()
            .flat_map(|a| a.regions.iter().map(|r| Target::new(&a.id, r)))
            .filter(|t| self.scope.target(t))
            .collect();
        set.into_iter().collect()
    }

    /// The accounts in scope, each with only its regions in scope.
    pub fn accounts_in_scope(&self) -> Vec<Account> {
        self.accounts
            .iter()
            .filter(|a| self.scope.account(&a.id))
            .map(|a| {
                let mut a = a.clone();
                a.regions
                    .retain(|r| self.scope.regions.as_ref().is_none_or(|s| s.contains(r)));
                a
            })
            .collect()
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Adds the accounts AWS Organizations listed (see [`Fleet::join`]):
    /// a declared id wins; keys that name no account target the new ones
    /// too. Without `[organization]`, nothing changes.
    pub fn join_discovered(&mut self, found: Vec<fleet::OrgAccount>) {
        let Some(spec) = self.fleet.organization.clone() else {
            return;
        };
        self.fleet.join(&spec, found, &mut self.accounts);
        for key in &mut self.keys {
            let extra = self.fleet.open_targets(&key.name);
            if extra.is_empty() {
                continue;
            }
            let all: BTreeSet<Target> = key.targets.drain(..).chain(extra).collect();
            key.targets = all.into_iter().collect();
        }
    }

    /// Every account as the waves see it.
    pub fn members(&self) -> Vec<fleet::Member<'_>> {
        static NONE: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
        let none = NONE.get_or_init(BTreeMap::new);
        self.accounts
            .iter()
            .map(|a| match self.fleet.org_facts(&a.id) {
                Some(org) => fleet::Member {
                    name: &a.name,
                    id: &a.id,
                    ous: &org.ous,
                    tags: &org.tags,
                },
                None => fleet::Member {
                    name: &a.name,
                    id: &a.id,
                    ous: &[],
                    tags: none,
                },
            })
            .collect()
    }
}
