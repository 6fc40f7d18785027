//! Adoption (design.md, "Import and adoption"): a `[[keys]]` entry with
//! `adopt = true` takes the existing key behind `alias/<name>` that c3 does
//! not manage, and the existing managed policies of its names at
//! `policy_path`, into c3's care by adding c3's tags.
//!
//! Adoption is decided before anything else is planned: each adoption is an
//! executable `adopt` change, and the live state the rest of the planner sees
//! is the one apply leaves behind, with c3's tags on the adopted resources.
//! So whatever an adopted key or policy lacks is planned in the same plan as
//! the usual additive update, and apply runs the adoption first.
//!
//! Only what `adopt = true` names is adopted, and only when c3 can keep it:
//! a key that carries another name's c3 tags, a multi-Region, asymmetric,
//! HMAC, imported-material or custom-key-store key, or one pending deletion
//! stays the conflict it is without `adopt = true` (the alias conflict says
//! why, see [`refusal`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::action::Operation;
use super::{ActionKind, At, Changes, Resource, Severity};
use crate::model::{
    key_type, tag, AccountSnapshot, DesiredState, KeyOwner, KeySpec, KeyState, LiveKey,
    LiveManagedPolicy, LiveState, RegionSnapshot,
};

/// The live state as it will be once the adoptions of this plan are
/// applied; the adoptions are added to `changes`.
pub(crate) fn adopt<'a>(
    desired: &DesiredState,
    live: &'a LiveState,
    changes: &mut Changes,
) -> Cow<'a, LiveState> {
    let adopting: Vec<&KeySpec> = desired
        .keys
        .iter()
        .filter(|k| k.adopt && desired.scope.key(&k.name))
        .collect();
    if adopting.is_empty() {
        return Cow::Borrowed(live);
    }
    let mut after = live.clone();
    for (target, snapshot) in &mut after.regions {
        let Ok(snapshot) = snapshot else { continue };
        if !desired.scope.target(target) {
            continue;
        }
        for spec in adopting.iter().filter(|k| k.targets.contains(target)) {
            let at = At::of(target, &spec.name);
            adopt_key(spec, snapshot, &at, changes);
        }
    }
    for (account, snapshot) in &mut after.accounts {
        let Ok(snapshot) = snapshot else { continue };
        if !desired.scope.account(account) {
            continue;
        }
        for spec in adopting
            .iter()
            .filter(|k| k.targets.iter().any(|t| &t.account == account))
        {
            let at = At {
                account,
                region: None,
                key: &spec.name,
            };
            adopt_policies(spec, snapshot, &desired.settings.policy_path, &at, changes);
        }
    }
    Cow::Owned(after)
}

/// c3's four tags for an adopted key of `spec`.
fn key_tags(spec: &KeySpec) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tag::MANAGED.to_string(), "true".to_string()),
        (tag::NAME.to_string(), spec.name.clone()),
        (tag::CLASSIFICATION.to_string(), spec.classification.clone()),
        (tag::GENERATION.to_string(), spec.generation.to_string()),
    ])
}

/// c3's two tags for an adopted managed policy of key name `name`.
fn policy_tags(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tag::MANAGED.to_string(), "true".to_string()),
        (tag::NAME.to_string(), name.to_string()),
    ])
}

/// The key behind `alias/<name>` that `spec` may adopt in this snapshot, if
/// any: not c3's, not another name's, one c3 can keep, and no c3 key of the
/// name already there.
pub(crate) fn adoptable<'s>(spec: &KeySpec, snapshot: &'s RegionSnapshot) -> Option<&'s LiveKey> {
    let id = snapshot.alias(&spec.alias())?.target_key_id.as_deref()?;
    let key = snapshot.key(id)?;
    let ours = snapshot
        .keys
        .iter()
        .any(|k| k.c3_name() == Some(spec.name.as_str()));
    (spec.adopt && !ours && refusal(key, &spec.name).is_none()).then_some(key)
}

/// Why c3 will not adopt `key` for key name `name`, with what to do about
/// it; `None` when it can.
pub(crate) fn refusal(key: &LiveKey, name: &str) -> Option<String> {
    match key.owner() {
        KeyOwner::Other => {}
        KeyOwner::LostManaged { name: n } if n == name => {}
        KeyOwner::C3 { name: n } if n == name => {
            return Some("it is already c3's".to_string());
        }
        KeyOwner::C3 { name: n } | KeyOwner::LostManaged { name: n } => {
            return Some(format!(
                "it carries {}={n}, another key name's tag: c3 never adopts a key of another name; point alias/{name} at another key, or rename the key in keys.toml",
                tag::NAME
            ));
        }
        KeyOwner::C3Unnamed => {
            return Some(format!(
                "it is tagged {}=true without {}, so c3 cannot tell whose it is; tag it {}={name} by hand once you have reviewed it",
                tag::MANAGED,
                tag::NAME,
                tag::NAME
            ));
        }
    }
    let Some(d) = &key.details else {
        return Some("c3 could not read it in full".to_string());
    };
    let keep = "c3 keeps only keys with key material from KMS, of the kinds docs/config.md lists (Key types)";
    let spec = if d.spec.is_empty() {
        key_type::DEFAULT_SPEC
    } else {
        d.spec.as_str()
    };
    let why = if d.custom_key_store_id.is_some()
        || matches!(d.origin.as_str(), "AWS_CLOUDHSM" | "EXTERNAL_KEY_STORE")
    {
        format!(
            "it lives in custom key store {}; {keep}. Leave it out of keys.toml (or rename the key)",
            d.custom_key_store_id.as_deref().unwrap_or("(unnamed)")
        )
    } else if d.origin == "EXTERNAL" {
        format!("its key material is imported (origin EXTERNAL), and c3 cannot rotate it; {keep}. Leave it out of keys.toml (or rename the key)")
    } else if !key_type::usages_of(spec).is_some_and(|u| u.contains(&d.usage.as_str())) {
        format!(
            "it is a {spec} {} key; {keep}. Leave it out of keys.toml (or rename the key)",
            d.usage
        )
    } else if d.state == KeyState::PendingDeletion {
        "it is pending deletion: someone scheduled it to be deleted, and c3 does not overrule that by adopting it. If the key is still wanted, cancel the deletion (aws kms cancel-key-deletion) and plan again".to_string()
    } else {
        return None;
    };
    Some(why)
}

/// Adopts the key behind `alias/<name>` when `spec` may.
fn adopt_key(spec: &KeySpec, snapshot: &mut RegionSnapshot, at: &At<'_>, changes: &mut Changes) {
    let Some(key_id) = adoptable(spec, snapshot).map(|k| k.key_id.clone()) else {
        return;
    };
    let tags = key_tags(spec);
    let shown: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    changes
        .exec(
            at,
            Resource::Key,
            ActionKind::Adopt,
            Severity::Info,
            format!(
                "adopt key {key_id} behind {} (adopt = true): add c3's tags {}; nothing else of the key changes by this step",
                spec.alias(),
                shown.join(", ")
            ),
            Operation::AdoptKey {
                key_id: key_id.clone(),
                tags: tags.clone(),
            },
        )
        .about(key_id.as_str());
    if let Some(key) = snapshot.keys.iter_mut().find(|k| k.key_id == key_id) {
        key.tags.extend(tags);
    }
}

/// Whether c3 may adopt a managed policy for key name `name`: its tags were
/// read, and it is neither c3's already nor tagged for another name.
pub(crate) fn policy_adoptable(p: &LiveManagedPolicy, name: &str) -> bool {
    p.tags
        .as_ref()
        .is_some_and(|t| !tag::owned_by(t, name) && t.get(tag::NAME).is_none_or(|n| n == name))
}

/// Adopts the existing managed policies of `spec`'s names at `path`.
fn adopt_policies(
    spec: &KeySpec,
    snapshot: &mut AccountSnapshot,
    path: &str,
    at: &At<'_>,
    changes: &mut Changes,
) {
    for kind in &spec.managed_policies {
        let name = kind.policy_name(&spec.name);
        let Some(policy) = snapshot
            .policies
            .iter_mut()
            .find(|p| p.name == name && p.path == path)
        else {
            continue;
        };
        if !policy_adoptable(policy, &spec.name) {
            continue;
        }
        let tags = policy_tags(&spec.name);
        changes
            .exec(
                at,
                Resource::IamPolicy,
                ActionKind::Adopt,
                Severity::Info,
                format!(
                    "adopt {path}{name} ({}) (adopt = true): add c3's tags {}=true, {}={}; its document changes only where another row of this plan says so",
                    policy.arn,
                    tag::MANAGED,
                    tag::NAME,
                    spec.name
                ),
                Operation::AdoptPolicy {
                    arn: policy.arn.clone(),
                    name: name.clone(),
                    tags: tags.clone(),
                },
            )
            .about(name.as_str());
        policy.tags.get_or_insert_with(BTreeMap::new).extend(tags);
    }
}
