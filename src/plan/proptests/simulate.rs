//! A small pure model of apply and of the AWS rules its writes meet: the
//! executable operations of a plan, in apply's order
//! ([`Operation::step_order`]), with apply's own check before a key policy
//! is written ([`check_key_policy_text`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::world::{key_arn, World};
use crate::model::*;
use crate::plan::desired::{is_pending_arn, pending_arn, MANAGED_POLICY_MAX_CHARS};
use crate::plan::{Change, KeyRef, Operation, Plan};
use crate::policy::{check_key_policy_text, size_without_whitespace};

/// What one apply created: (account, region, key name) → (generation, key id, ARN).
pub(super) type NewKeys = BTreeMap<(String, String, String), (u32, String, String)>;

/// Applies the executable operations of a plan to the world, as apply and
/// AWS would; an error is something apply or AWS would refuse.
pub(super) fn simulate(w: &World, p: &Plan) -> Result<(World, NewKeys), String> {
    let mut w = w.clone();
    let mut steps: Vec<(&Change, &Operation)> = Vec::new();
    for c in p.executable() {
        let op = c
            .operation()
            .ok_or_else(|| format!("executable change without an operation: {c:?}"))?;
        steps.push((c, op));
    }
    // Key steps (per target, in apply's order) first, IAM last.
    // Replicas after every primary, as apply makes them.
    steps.sort_by_key(|(c, op)| {
        let replica = matches!(op, Operation::ReplicateKey { .. });
        (c.region.is_none(), op.step_order(), replica)
    });
    let mut new_keys = NewKeys::new();
    for (c, op) in steps {
        if let Some(region) = &c.region {
            let t = Target::new(&c.account, region);
            let mut next_id = w.new_id();
            if let Operation::ReplicateKey {
                primary,
                primary_region,
                ..
            } = op
            {
                // A replica has its primary's key id.
                next_id = match primary {
                    KeyRef::Existing { key_id } => key_id.clone(),
                    KeyRef::New { .. } => new_keys
                        .get(&(c.account.clone(), primary_region.clone(), c.key.clone()))
                        .map(|(_, id, _)| id.clone())
                        .ok_or_else(|| format!("{t} {}: ReplicateKey before its primary", c.key))?,
                };
            }
            let epoch = w.epoch();
            let Some(Ok(snap)) = w.live.regions.get_mut(&t) else {
                return Err(format!("{t}: no such target"));
            };
            key_step(&t, snap, &c.key, op, &mut new_keys, next_id, epoch)
                .map_err(|e| format!("{t} {}: {e}\n{op:?}", c.key))?;
        } else {
            let Some(Ok(acc)) = w.live.accounts.get_mut(&c.account) else {
                return Err(format!("{}: no such account", c.account));
            };
            iam_step(&c.account, acc, op, &new_keys)
                .map_err(|e| format!("{} {}: {e}\n{op:?}", c.account, c.key))?;
        }
    }
    Ok((w, new_keys))
}

fn key_index(snap: &RegionSnapshot, id: &str) -> Result<usize, String> {
    snap.keys
        .iter()
        .position(|k| k.key_id == id)
        .ok_or_else(|| format!("NotFoundException: key {id}"))
}

fn details(snap: &mut RegionSnapshot, i: usize) -> Result<&mut KeyDetails, String> {
    snap.keys[i]
        .details
        .as_mut()
        .ok_or_else(|| "a key without details".to_string())
}

fn key_step(
    t: &Target,
    snap: &mut RegionSnapshot,
    name: &str,
    op: &Operation,
    new_keys: &mut NewKeys,
    next_id: String,
    epoch: i64,
) -> Result<(), String> {
    let slot = (t.account.clone(), t.region.clone(), name.to_string());
    let resolve = |key: &KeyRef, new_keys: &NewKeys| -> Result<String, String> {
        match key {
            KeyRef::Existing { key_id } => Ok(key_id.clone()),
            KeyRef::New { generation } => match new_keys.get(&slot) {
                Some((g, id, _)) if g == generation => Ok(id.clone()),
                _ => Err(format!(
                    "the key of generation {generation} was not created"
                )),
            },
        }
    };
    match op {
        Operation::ReplicateKey {
            generation,
            description,
            policy,
            tags,
            ..
        } => {
            check_key_policy_text(policy, t)?;
            if new_keys.contains_key(&slot) {
                return Err("a second key for one key name in one target".into());
            }
            let mut details = new_details(description, policy, epoch, None);
            details.multi_region = true;
            let arn = key_arn(t, &next_id);
            snap.keys.push(LiveKey {
                key_id: next_id.clone(),
                arn: arn.clone(),
                tags: tags.clone(),
                details: Some(details),
                last_usage: None,
            });
            new_keys.insert(slot, (*generation, next_id, arn));
        }
        Operation::CreateKey {
            generation,
            description,
            policy,
            tags,
            rotation_days,
            key_spec,
            key_usage,
            multi_region,
        } => {
            check_key_policy_text(policy, t)?;
            if !(90..=2560).contains(rotation_days) {
                return Err(format!("rotation period {rotation_days}"));
            }
            if new_keys.contains_key(&slot) {
                return Err("a second CreateKey for one key in one target".into());
            }
            let symmetric =
                key_spec == key_type::DEFAULT_SPEC && key_usage == key_type::ENCRYPT_DECRYPT;
            let mut details = new_details(
                description,
                policy,
                epoch,
                symmetric.then_some(*rotation_days),
            );
            details.spec.clone_from(key_spec);
            details.usage.clone_from(key_usage);
            details.multi_region = *multi_region;
            let arn = key_arn(t, &next_id);
            snap.keys.push(LiveKey {
                last_usage: None,
                key_id: next_id.clone(),
                arn: arn.clone(),
                tags: tags.clone(),
                details: Some(details),
            });
            new_keys.insert(slot, (*generation, next_id, arn));
        }
        Operation::CreateAlias { alias, key: r } => {
            let id = resolve(r, new_keys)?;
            let i = key_index(snap, &id)?;
            if details(snap, i)?.state == KeyState::PendingDeletion {
                return Err("KMSInvalidStateException: alias to a key pending deletion".into());
            }
            if snap.alias(alias).is_some() {
                return Err(format!("AlreadyExistsException: {alias}"));
            }
            snap.aliases.push(LiveAlias {
                name: alias.clone(),
                target_key_id: Some(id),
            });
        }
        Operation::UpdateAlias { alias, key: r } => {
            let id = resolve(r, new_keys)?;
            let i = key_index(snap, &id)?;
            if details(snap, i)?.state == KeyState::PendingDeletion {
                return Err("KMSInvalidStateException: alias to a key pending deletion".into());
            }
            let a = snap
                .aliases
                .iter_mut()
                .find(|a| &a.name == alias)
                .ok_or_else(|| format!("NotFoundException: {alias}"))?;
            a.target_key_id = Some(id);
        }
        Operation::EnableRotation {
            key_id,
            rotation_days,
        } => {
            let i = key_index(snap, key_id)?;
            let det = details(snap, i)?;
            if det.state != KeyState::Enabled {
                return Err(format!(
                    "DisabledException: EnableKeyRotation on a {} key",
                    det.state
                ));
            }
            if !(90..=2560).contains(rotation_days) {
                return Err(format!("rotation period {rotation_days}"));
            }
            det.rotation = Some(Rotation {
                enabled: true,
                period_days: Some(*rotation_days),
            });
        }
        Operation::PutKeyPolicy { key_id, policy } => {
            check_key_policy_text(policy, t)?;
            let i = key_index(snap, key_id)?;
            details(snap, i)?.policy = Some(policy.clone());
        }
        Operation::TagKey { key_id, tags } | Operation::AdoptKey { key_id, tags } => {
            let i = key_index(snap, key_id)?;
            snap.keys[i]
                .tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Operation::UpdateDescription {
            key_id,
            description,
        } => {
            let i = key_index(snap, key_id)?;
            details(snap, i)?.description = description.clone();
        }
        Operation::Restore {
            key_id,
            cancel_deletion,
            enable,
        } => {
            let i = key_index(snap, key_id)?;
            let det = details(snap, i)?;
            if *cancel_deletion {
                if det.state != KeyState::PendingDeletion {
                    return Err("KMSInvalidStateException: CancelKeyDeletion".into());
                }
                det.state = KeyState::Disabled;
            }
            if *enable {
                if det.state == KeyState::PendingDeletion {
                    return Err("KMSInvalidStateException: EnableKey".into());
                }
                det.state = KeyState::Enabled;
            }
        }
        Operation::CreatePolicy { .. }
        | Operation::UpdatePolicy { .. }
        | Operation::AdoptPolicy { .. } => {
            return Err("an IAM operation in a regional change".into());
        }
    }
    Ok(())
}

fn iam_step(
    account: &str,
    acc: &mut AccountSnapshot,
    op: &Operation,
    new_keys: &NewKeys,
) -> Result<(), String> {
    let resolve = |document: &str| -> Result<String, String> {
        let mut text = document.to_string();
        for ((a, region, name), (generation, _, arn)) in new_keys {
            if a == account {
                text = text.replace(
                    &pending_arn(&Target::new(a, region), name, *generation),
                    arn,
                );
            }
        }
        if is_pending_arn(&text) {
            return Err("a key this policy names was not created".into());
        }
        let size = size_without_whitespace(&text);
        if size > MANAGED_POLICY_MAX_CHARS {
            return Err(format!("{size} characters"));
        }
        names_resources(&text)?;
        Ok(text)
    };
    match op {
        Operation::CreatePolicy {
            name,
            path,
            document,
            tags,
        } => {
            let document = resolve(document)?;
            // Policy names are unique in an account, whatever their path and case.
            if let Some(p) = acc
                .policies
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
            {
                return Err(format!("EntityAlreadyExists: {name} ({})", p.arn));
            }
            acc.policies.push(LiveManagedPolicy {
                name: name.clone(),
                arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
                path: path.clone(),
                document,
                versions: vec![PolicyVersion {
                    id: "v1".into(),
                    is_default: true,
                    created_epoch: Some(100),
                }],
                tags: Some(tags.clone()),
                attachments: None,
            });
        }
        Operation::AdoptPolicy { arn, tags, .. } => {
            let p = acc
                .policies
                .iter_mut()
                .find(|p| &p.arn == arn)
                .ok_or_else(|| format!("NoSuchEntity: {arn}"))?;
            let live = p.tags.get_or_insert_with(BTreeMap::new);
            // apply's check before TagPolicy.
            if live
                .get(tag::NAME)
                .is_some_and(|n| Some(n) != tags.get(tag::NAME))
            {
                return Err(format!("TagPolicy refused: {arn} is another name's"));
            }
            live.extend(tags.clone());
        }
        Operation::UpdatePolicy {
            arn,
            document,
            prune_version,
        } => {
            let document = resolve(document)?;
            let p = acc
                .policies
                .iter_mut()
                .find(|p| &p.arn == arn)
                .ok_or_else(|| format!("NoSuchEntity: {arn}"))?;
            if let Some(v) = prune_version {
                let i = p
                    .versions
                    .iter()
                    .position(|x| &x.id == v)
                    .ok_or_else(|| format!("NoSuchEntity: version {v}"))?;
                if p.versions[i].is_default {
                    return Err(format!("DeleteConflict: {v} is the default version"));
                }
                p.versions.remove(i);
            }
            if p.versions.len() >= 5 {
                return Err("LimitExceeded: five versions".into());
            }
            let n = p
                .versions
                .iter()
                .filter_map(|v| v.id.trim_start_matches('v').parse::<i64>().ok())
                .max()
                .unwrap_or(0)
                + 1;
            for v in &mut p.versions {
                v.is_default = false;
            }
            p.versions.push(PolicyVersion {
                id: format!("v{n}"),
                is_default: true,
                created_epoch: Some(1000 + n),
            });
            p.document = document;
        }
        _ => return Err("a key operation in an IAM change".into()),
    }
    Ok(())
}

/// IAM's MalformedPolicyDocument: a document must parse, hold a statement,
/// and every statement must name a resource.
pub(super) fn names_resources(text: &str) -> Result<(), String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("MalformedPolicyDocument: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err("MalformedPolicyDocument: no Statement".into()),
    };
    if statements.is_empty() {
        return Err("MalformedPolicyDocument: no statement".into());
    }
    for s in &statements {
        let names = |field: &str| match s.get(field) {
            Some(Value::String(r)) => !r.is_empty(),
            Some(Value::Array(items)) => !items.is_empty(),
            _ => false,
        };
        if !names("Resource") && !names("NotResource") {
            return Err(format!(
                "MalformedPolicyDocument: a statement names no resource: {s}"
            ));
        }
    }
    Ok(())
}

/// A key as CreateKey or ReplicateKey leaves it; `rotation`: the period a
/// symmetric encryption key is rotated at (others are not rotated).
fn new_details(description: &str, policy: &str, epoch: i64, rotation: Option<u32>) -> KeyDetails {
    KeyDetails {
        primary_region: None,
        state: KeyState::Enabled,
        description: description.to_string(),
        manager: "CUSTOMER".into(),
        spec: "SYMMETRIC_DEFAULT".into(),
        usage: "ENCRYPT_DECRYPT".into(),
        origin: "AWS_KMS".into(),
        multi_region: false,
        custom_key_store_id: None,
        deletion_epoch: None,
        creation_epoch: Some(epoch),
        rotation: Some(Rotation {
            enabled: rotation.is_some(),
            period_days: rotation,
        }),
        policy: Some(policy.to_string()),
        grants: Some(Vec::new()),
    }
}
