//! A valid file → [`DesiredState`]: defaults applied, classifications
//! merged, targets computed.
//!
//! Only called when `read` and `validate` found nothing, so every required
//! field is there and every value in range; the fallbacks below are the
//! documented defaults, never a way around a problem.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::file::{
    AcceptFile, AccountFile, ClassificationFile, KeyFile, KeysFile, ManagedPoliciesFile,
    PrincipalFile, SettingsFile, StatementFile, Strings,
};
use crate::model::fleet::OrganizationSpec;
use crate::model::{
    AcceptEntry, Account, Date, DesiredState, Fleet, KeySpec, KeyType, PolicyKind, Scope, Settings,
    Target,
};

/// Rotation period when neither the key nor its classification sets one.
pub(crate) const DEFAULT_ROTATION_DAYS: u32 = 365;

/// The desired state a valid file declares.
pub(crate) fn expand(file: &KeysFile) -> DesiredState {
    let accounts: Vec<Account> = file
        .accounts
        .iter()
        .map(|(name, a)| account(name, a))
        .collect();
    let keys = file.keys.iter().map(|k| key(k, file, &accounts)).collect();
    let accept = file
        .accept
        .iter()
        .filter_map(|a| accept(a, &accounts))
        .collect();
    DesiredState {
        settings: settings(&file.settings),
        accounts,
        keys,
        scope: Scope::default(),
        accept,
        fleet: fleet(file),
    }
}

/// `[organization]` and `[rollout]` (their places in the file are the
/// caller's to fill in), and the keys that live in every account.
fn fleet(file: &KeysFile) -> Fleet {
    let organization = file.organization.as_ref().map(|o| {
        let regions: BTreeSet<&String> = o.regions.iter().flatten().collect();
        OrganizationSpec {
            role_arn: o.role_arn.clone(),
            external_id: o.external_id.clone(),
            parents: o.parents.clone().unwrap_or_default(),
            root: o.root.unwrap_or(false),
            tags: o.tags.clone().unwrap_or_default(),
            role_name: o.role_name.clone().unwrap_or_default(),
            regions: regions.into_iter().cloned().collect(),
            at: String::new(),
        }
    });
    let open_keys = file
        .keys
        .iter()
        .filter(|k| k.accounts.is_none())
        .map(|k| {
            let regions = k.regions.as_ref().map(|r| r.iter().cloned().collect());
            (k.name.clone().unwrap_or_default(), regions)
        })
        .collect();
    Fleet {
        organization,
        rollout: file.rollout.as_ref().map(super::validate::rollout_of),
        discovered: Vec::new(),
        declared_in_org: Vec::new(),
        open_keys,
    }
}

/// An `[[accept]]` entry, its account as an id. Its place in the file
/// (`at`) is the caller's to fill in.
fn accept(a: &AcceptFile, accounts: &[Account]) -> Option<AcceptEntry> {
    let date = a.expires.and_then(|d| d.date)?;
    let expires = Date::new(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?;
    let account = a.account.as_ref().map(|n| {
        accounts
            .iter()
            .find(|acc| &acc.name == n)
            .map_or_else(|| n.clone(), |acc| acc.id.clone())
    });
    Some(AcceptEntry {
        account,
        region: a.region.clone(),
        key: a.key.clone(),
        resource: a.resource.clone(),
        subject: a.subject.clone(),
        reason: a.reason.clone().unwrap_or_default(),
        expires,
        at: String::new(),
    })
}

fn settings(s: &SettingsFile) -> Settings {
    let default = Settings::default();
    let number = |value: Option<i64>, default: u32| {
        value.and_then(|n| u32::try_from(n).ok()).unwrap_or(default)
    };
    Settings {
        policy_path: s.policy_path.clone().unwrap_or(default.policy_path),
        session_name: s.session_name.clone().unwrap_or(default.session_name),
        parallelism: s
            .parallelism
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(default.parallelism),
        writes_per_second: number(s.writes_per_second, default.writes_per_second),
        iam_writes_per_second: number(s.iam_writes_per_second, default.iam_writes_per_second),
        read_grants: s.read_grants.unwrap_or(default.read_grants),
        grant_reads_per_second: number(s.grant_reads_per_second, default.grant_reads_per_second),
        ignore_tags: s.ignore_tags.clone().unwrap_or(default.ignore_tags),
    }
}

fn account(name: &str, a: &AccountFile) -> Account {
    let regions: BTreeSet<&String> = a.regions.iter().flatten().collect();
    Account {
        name: name.to_string(),
        id: a.id.clone().unwrap_or_default(),
        role_arn: a.role_arn.clone(),
        external_id: a.external_id.clone(),
        regions: regions.into_iter().cloned().collect(),
    }
}

fn key(k: &KeyFile, file: &KeysFile, accounts: &[Account]) -> KeySpec {
    let name = k.name.clone().unwrap_or_default();
    let classification = k.classification.clone().unwrap_or_default();
    let class = file.classifications.get(&classification);
    let rotation_days = k
        .rotation_days
        .or_else(|| class.and_then(|c| c.rotation_days))
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(DEFAULT_ROTATION_DAYS);
    let targets = targets(k, accounts);
    let key_type = key_type(k, class, &targets);
    let services = |of: fn(&ClassificationFile) -> &Option<Vec<String>>,
                    own: &Option<Vec<String>>| {
        class
            .and_then(|c| of(c).as_ref())
            .into_iter()
            .chain(own)
            .flatten()
            .cloned()
            .collect::<BTreeSet<String>>()
    };
    KeySpec {
        description: k
            .description
            .clone()
            .unwrap_or_else(|| format!("Managed by c3: {name} ({classification})")),
        rotation_days,
        generation: k
            .generation
            .and_then(|g| u32::try_from(g).ok())
            .unwrap_or(1),
        enabled: k.enabled.unwrap_or(true),
        via_services: services(|c| &c.via_services, &k.via_services),
        service_principals: services(|c| &c.service_principals, &k.service_principals),
        administrators: services(|c| &c.administrators, &k.administrators),
        users: services(|c| &c.users, &k.users),
        statements: class
            .and_then(|c| c.statements.as_ref())
            .into_iter()
            .chain(&k.statements)
            .flatten()
            .map(statement_value)
            .collect(),
        user_tags: k.tags.clone().unwrap_or_default(),
        adopt: k.adopt.unwrap_or(false),
        managed_policies: managed_policies(
            k.managed_policies
                .as_ref()
                .or_else(|| class.and_then(|c| c.managed_policies.as_ref())),
            &key_type.usage,
        ),
        targets,
        // Keys AWS does not rotate have rotation neither enabled nor compared.
        rotation: key_type.supports_rotation()
            && k.rotation
                .or_else(|| class.and_then(|c| c.rotation))
                .unwrap_or(true),
        key_type,
        name,
        classification,
    }
}

/// The kind of a key: its own spec and usage, else its classification's,
/// else a symmetric encryption key; the primary region of a multi-Region
/// key (`primary_region`, else [`default_primary_region`]).
fn key_type(k: &KeyFile, class: Option<&ClassificationFile>, targets: &[Target]) -> KeyType {
    let default = KeyType::default();
    KeyType {
        spec: k
            .key_spec
            .clone()
            .or_else(|| class.and_then(|c| c.key_spec.clone()))
            .unwrap_or(default.spec),
        usage: k
            .key_usage
            .clone()
            .or_else(|| class.and_then(|c| c.key_usage.clone()))
            .unwrap_or(default.usage),
        primary_region: (k.multi_region == Some(true)).then(|| {
            k.primary_region.clone().unwrap_or_else(|| {
                let accounts: BTreeSet<&str> = targets.iter().map(|t| t.account.as_str()).collect();
                let per_account = accounts.into_iter().map(|a| {
                    targets
                        .iter()
                        .filter(move |t| t.account == a)
                        .map(|t| t.region.as_str())
                });
                default_primary_region(k.regions.as_deref(), per_account)
                    .unwrap_or_default()
                    .to_string()
            })
        }),
    }
}

/// The primary region of a multi-Region key that names no `primary_region`
/// (docs/config.md, `primary_region`): the first of its `regions` when
/// given, else the first region in alphabetical order that every one of its
/// accounts has among the key's regions. `None` when its accounts share no
/// region (validation rejects that). One home for validation and
/// expansion: `per_account` gives the key's regions in each of its accounts.
pub(crate) fn default_primary_region<'a, A, R>(
    regions: Option<&'a [String]>,
    per_account: A,
) -> Option<&'a str>
where
    A: IntoIterator<Item = R>,
    R: IntoIterator<Item = &'a str>,
{
    if let Some(first) = regions.and_then(<[String]>::first) {
        return Some(first);
    }
    let mut common: Option<BTreeSet<&str>> = None;
    for rs in per_account {
        let rs: BTreeSet<&str> = rs.into_iter().collect();
        common = Some(match common {
            None => rs,
            Some(c) => c.intersection(&rs).copied().collect(),
        });
    }
    common?.into_iter().next()
}

/// The policy kinds `managed_policies` selects (every kind of the usage
/// when not given).
fn managed_policies(mp: Option<&ManagedPoliciesFile>, usage: &str) -> BTreeSet<PolicyKind> {
    match mp {
        None | Some(ManagedPoliciesFile::All(true)) => {
            PolicyKind::for_usage(usage).iter().copied().collect()
        }
        Some(ManagedPoliciesFile::All(false)) => BTreeSet::new(),
        Some(ManagedPoliciesFile::Some(list)) => list
            .iter()
            .filter_map(|w| PolicyKind::from_word(w))
            .collect(),
    }
}

/// Every (account, region) of a key: each of its accounts (every account
/// when it names none), in each of that account's regions that its
/// `regions` (when given) lists too; sorted.
fn targets(k: &KeyFile, accounts: &[Account]) -> Vec<Target> {
    let selected: Vec<&Account> = match &k.accounts {
        None => accounts.iter().collect(),
        Some(names) => names
            .iter()
            .filter_map(|n| accounts.iter().find(|a| &a.name == n))
            .collect(),
    };
    let wanted = |r: &String| k.regions.as_ref().is_none_or(|rs| rs.contains(r));
    let targets: BTreeSet<Target> = selected
        .iter()
        .flat_map(|a| {
            a.regions
                .iter()
                .filter(|r| wanted(r))
                .map(|r| Target::new(&a.id, r))
        })
        .collect();
    targets.into_iter().collect()
}

/// A declared statement in IAM's JSON, as c3 writes it (placeholders not yet
/// replaced; `resource` defaults to `"*"`; a boolean condition value is the
/// string IAM compares).
pub(crate) fn statement_value(st: &StatementFile) -> Value {
    let strings = |s: &Strings| match s {
        Strings::One(one) => Value::String(one.clone()),
        Strings::Many(list) => Value::Array(list.iter().cloned().map(Value::String).collect()),
    };
    let mut m = Map::new();
    if let Some(sid) = &st.sid {
        m.insert("Sid".into(), Value::String(sid.clone()));
    }
    if let Some(effect) = &st.effect {
        m.insert("Effect".into(), Value::String(effect.clone()));
    }
    match &st.principal {
        Some(PrincipalFile::Anyone(any)) => {
            m.insert("Principal".into(), Value::String(any.clone()));
        }
        Some(PrincipalFile::Typed(typed)) => {
            let p: Map<String, Value> =
                typed.iter().map(|(k, v)| (k.clone(), strings(v))).collect();
            m.insert("Principal".into(), Value::Object(p));
        }
        None => {}
    }
    if let Some(action) = &st.action {
        m.insert("Action".into(), strings(action));
    }
    let resource = st
        .resource
        .as_ref()
        .map_or_else(|| Value::String("*".into()), strings);
    m.insert("Resource".into(), resource);
    if let Some(condition) = st.condition.as_ref().filter(|c| !c.is_empty()) {
        let blocks: Map<String, Value> = condition
            .iter()
            .map(|(op, block)| {
                let keys: Map<String, Value> = block
                    .iter()
                    .map(|(k, v)| {
                        let mut values = v.values();
                        let value = if values.len() == 1 {
                            Value::String(values.remove(0))
                        } else {
                            Value::Array(values.into_iter().map(Value::String).collect())
                        };
                        (k.clone(), value)
                    })
                    .collect();
                (op.clone(), Value::Object(keys))
            })
            .collect();
        m.insert("Condition".into(), Value::Object(blocks));
    }
    Value::Object(m)
}
