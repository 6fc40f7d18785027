//! Drift: what people, other tools and half-finished runs do to a converged
//! world, and the [`Case`] of a desired state and the drifted world.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::generators::{
    build_desired, desired_gen, mask, pick, shuffle, DesiredGen, Rng, IGNORE_GLOBS, NAMES,
};
use super::world::{
    c3_policy_tags, c3_world_key, converged, has_policy_named, key_arn, managed_world_policy,
    statements_mut, strings, World,
};
use crate::model::*;
use crate::policy::pretty;

const ORPHANS: [&str; 2] = ["old", "retired"];
const EXTRA_ACTIONS: [&str; 3] = ["kms:Sign", "kms:ScheduleKeyDeletion", "kms:Verify"];
/// Tags other tools put on keys and policies: the first two are undeclared
/// (reported unless `ignore_tags` matches), the last is AWS's own (never
/// compared).
const FOREIGN_TAGS: [(&str, &str); 3] = [
    ("created-by", "terraform"),
    ("backup-plan", "daily"),
    ("aws:cloudformation:stack-name", "base"),
];
/// An account outside the estate.
const STRANGER: &str = "444455556666";

// ----------------------------------------------------------------- mutations

/// One kind of drift. Indices are reduced modulo what exists; a mutation
/// with nothing to act on does nothing.
#[derive(Debug, Clone)]
pub(super) enum Mutation {
    /// The key is gone (and with it every alias pointing at it).
    RemoveKey {
        t: usize,
        k: usize,
    },
    RemoveAlias {
        t: usize,
        a: usize,
    },
    /// The alias points at a key c3 does not manage: one as the console or
    /// the CDK construct makes it, or (by `kind`) one c3 cannot adopt or
    /// that carries c3 tags.
    AliasToForeign {
        t: usize,
        a: usize,
        kind: u8,
        /// The c3 keys of the alias's name are gone too: the foreign key is
        /// all there is of the name (a brownfield estate).
        replace: bool,
    },
    /// The alias points at some other key of the region.
    AliasToKey {
        t: usize,
        a: usize,
        k: usize,
    },
    /// A c3 key of the same name and another generation.
    OtherGeneration {
        t: usize,
        k: usize,
        delta: u32,
        older: bool,
        alias: bool,
        in_policies: bool,
    },
    /// A second c3 key of the same name and generation.
    Duplicate {
        t: usize,
        k: usize,
        newer: bool,
        in_policies: bool,
    },
    /// A c3 key (maybe with alias and policies) of a name the file no longer
    /// declares, or of a declared name (maybe where it is not declared).
    Orphan {
        t: usize,
        name: usize,
        alias: bool,
        policies: bool,
    },
    State {
        t: usize,
        k: usize,
        state: u8,
    },
    Rotation {
        t: usize,
        k: usize,
        how: u8,
        days: u32,
    },
    Description {
        t: usize,
        k: usize,
    },
    DropStatement {
        t: usize,
        k: usize,
        s: usize,
    },
    DropAction {
        t: usize,
        k: usize,
        s: usize,
        a: usize,
    },
    ExtraAction {
        t: usize,
        k: usize,
        s: usize,
        x: usize,
    },
    AlterCondition {
        t: usize,
        k: usize,
        s: usize,
    },
    /// A statement (maybe one of c3's Sids) turned into a Deny.
    Deny {
        t: usize,
        k: usize,
        s: usize,
    },
    /// A key-policy statement keys.toml does not declare: 0 a role of the
    /// account, 1 one without a Sid, 2 a Deny of `*`, 3 principal `*` and no
    /// condition (public), 4 the same without a Sid and with `"*"` as a bare
    /// string (public), 5 principal `*` limited by `kms:CallerAccount` (not
    /// public).
    ForeignStatement {
        t: usize,
        k: usize,
        kind: u8,
    },
    Reformat {
        t: usize,
        k: usize,
        seed: u64,
    },
    TagRemove {
        t: usize,
        k: usize,
        i: usize,
    },
    TagChange {
        t: usize,
        k: usize,
        i: usize,
    },
    TagExtra {
        t: usize,
        k: usize,
    },
    PolicyRemove {
        a: usize,
        p: usize,
    },
    PolicyDropArn {
        a: usize,
        p: usize,
        i: usize,
    },
    PolicyExtraArn {
        a: usize,
        p: usize,
    },
    PolicyDropAction {
        a: usize,
        p: usize,
    },
    PolicyExtraAction {
        a: usize,
        p: usize,
    },
    PolicyFiveVersions {
        a: usize,
        p: usize,
        default: usize,
    },
    PolicyReformat {
        a: usize,
        p: usize,
        seed: u64,
    },
    /// Someone else's policy where c3's would be, or c3's from before
    /// (IAM names are unique in an account whatever their path and case, so
    /// any policy of that name is replaced): 0 untagged at the policy path,
    /// 1 only `c3:managed`, 2 tagged for another name, 3 at another path,
    /// 4 c3's at another path (a policy path that changed), 5 the key name
    /// in another case at the policy path (c3's tags), 6 the prefix in another
    /// case (untagged).
    ForeignPolicy {
        a: usize,
        name: usize,
        kind: usize,
        how: u8,
    },
    /// A c3 key loses `c3:managed` (0: removed, 1: set to `false`), keeping `c3:name`.
    LoseManaged {
        t: usize,
        k: usize,
        how: u8,
    },
    /// A c3 key's `c3:name` is changed (to a declared name or not).
    Rename {
        t: usize,
        k: usize,
        to: usize,
    },
    /// A grant on a key: 0 an AWS service's (expected), 1 another account's
    /// root, 2 a role of the same account, 3 a deleted principal (unique id).
    Grant {
        t: usize,
        k: usize,
        kind: u8,
    },
    /// A tag of [`FOREIGN_TAGS`] on a key.
    KeyForeignTag {
        t: usize,
        k: usize,
        which: usize,
    },
    /// A tag of [`FOREIGN_TAGS`] on a managed policy.
    PolicyForeignTag {
        a: usize,
        p: usize,
        which: usize,
    },
    /// A field AWS fixes at creation differs on a key: 0 another spec and
    /// usage (RSA_4096 SIGN_VERIFY), 1 multi-Region toggled, 2 key material
    /// from outside AWS (origin EXTERNAL), 3 another usage only.
    FixedField {
        t: usize,
        k: usize,
        which: u8,
    },
    /// A key-policy statement loses its condition block (a `*` statement of
    /// c3's becomes public).
    StripCondition {
        t: usize,
        k: usize,
        s: usize,
    },
}

/// What adoption meets: a foreign key behind a declared alias (of every
/// kind), or a foreign policy where c3's would be; added to the drift of a
/// case so that `adopt = true` entries often have something to adopt.
pub(super) fn brownfield() -> impl Strategy<Value = Mutation> {
    let i = || prop_oneof![2 => Just(0usize), 1 => 0usize..16];
    prop_oneof![
        (i(), i(), 0u8..10).prop_map(|(t, a, kind)| Mutation::AliasToForeign {
            t,
            a,
            kind,
            replace: true
        }),
        (i(), i(), 0usize..3, 0u8..7).prop_map(|(a, name, kind, how)| Mutation::ForeignPolicy {
            a,
            name,
            kind,
            how
        }),
    ]
}

pub(super) fn mutation() -> impl Strategy<Value = Mutation> {
    // Biased to the first target and key, so that several kinds of drift
    // often hit the same key.
    let i = || prop_oneof![2 => Just(0usize), 1 => 0usize..16];
    prop_oneof![
        (i(), i()).prop_map(|(t, k)| Mutation::RemoveKey { t, k }),
        (i(), i()).prop_map(|(t, a)| Mutation::RemoveAlias { t, a }),
        (i(), i(), 0u8..10).prop_map(|(t, a, kind)| Mutation::AliasToForeign {
            t,
            a,
            kind,
            replace: false
        }),
        (i(), i(), i()).prop_map(|(t, a, k)| Mutation::AliasToKey { t, a, k }),
        (
            i(),
            i(),
            1u32..3,
            any::<bool>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(t, k, delta, older, alias, in_policies)| {
                Mutation::OtherGeneration {
                    t,
                    k,
                    delta,
                    older,
                    alias,
                    in_policies,
                }
            }),
        (i(), i(), any::<bool>(), any::<bool>()).prop_map(|(t, k, newer, in_policies)| {
            Mutation::Duplicate {
                t,
                k,
                newer,
                in_policies,
            }
        }),
        (
            i(),
            0..ORPHANS.len() + NAMES.len(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(t, name, alias, policies)| Mutation::Orphan {
                t,
                name,
                alias,
                policies
            }),
        (i(), i(), 0u8..3).prop_map(|(t, k, state)| Mutation::State { t, k, state }),
        (i(), i(), 0u8..3, 90u32..=2560).prop_map(|(t, k, how, days)| Mutation::Rotation {
            t,
            k,
            how,
            days
        }),
        (i(), i()).prop_map(|(t, k)| Mutation::Description { t, k }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::DropStatement { t, k, s }),
        (i(), i(), i(), i()).prop_map(|(t, k, s, a)| Mutation::DropAction { t, k, s, a }),
        (i(), i(), i(), 0..EXTRA_ACTIONS.len()).prop_map(|(t, k, s, x)| Mutation::ExtraAction {
            t,
            k,
            s,
            x
        }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::AlterCondition { t, k, s }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::Deny { t, k, s }),
        (i(), i(), 0u8..6).prop_map(|(t, k, kind)| Mutation::ForeignStatement { t, k, kind }),
        (i(), i(), any::<u64>()).prop_map(|(t, k, seed)| Mutation::Reformat { t, k, seed }),
        (i(), i(), i()).prop_map(|(t, k, i)| Mutation::TagRemove { t, k, i }),
        (i(), i(), i()).prop_map(|(t, k, i)| Mutation::TagChange { t, k, i }),
        (i(), i()).prop_map(|(t, k)| Mutation::TagExtra { t, k }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyRemove { a, p }),
        (i(), i(), i()).prop_map(|(a, p, i)| Mutation::PolicyDropArn { a, p, i }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyExtraArn { a, p }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyDropAction { a, p }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyExtraAction { a, p }),
        (i(), i(), 0usize..5).prop_map(|(a, p, default)| Mutation::PolicyFiveVersions {
            a,
            p,
            default
        }),
        (i(), i(), any::<u64>()).prop_map(|(a, p, seed)| Mutation::PolicyReformat { a, p, seed }),
        (i(), i(), 0usize..3, 0u8..7)
            .prop_map(|(a, name, kind, how)| { Mutation::ForeignPolicy { a, name, kind, how } }),
        (i(), i(), 0u8..2).prop_map(|(t, k, how)| Mutation::LoseManaged { t, k, how }),
        (i(), i(), 0..NAMES.len() + ORPHANS.len()).prop_map(|(t, k, to)| Mutation::Rename {
            t,
            k,
            to
        }),
        (i(), i(), 0u8..4).prop_map(|(t, k, kind)| Mutation::Grant { t, k, kind }),
        (i(), i(), 0..FOREIGN_TAGS.len()).prop_map(|(t, k, which)| Mutation::KeyForeignTag {
            t,
            k,
            which
        }),
        (i(), i(), 0..FOREIGN_TAGS.len()).prop_map(|(a, p, which)| Mutation::PolicyForeignTag {
            a,
            p,
            which
        }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::StripCondition { t, k, s }),
        (i(), i(), 0u8..4).prop_map(|(t, k, which)| Mutation::FixedField { t, k, which }),
    ]
}

fn foreign_key(w: &mut World, t: &Target) -> LiveKey {
    let id = w.new_id();
    LiveKey {
        last_usage: None,
        arn: key_arn(t, &id),
        key_id: id,
        tags: BTreeMap::from([("team".to_string(), "someone-else".to_string())]),
        details: Some(KeyDetails {
            primary_region: None,
            state: KeyState::Enabled,
            description: "not c3's".into(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: Some(w.epoch()),
            rotation: Some(Rotation {
                enabled: false,
                period_days: None,
            }),
            policy: Some(pretty(&json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{}:root", t.account)},
                "Action": "kms:*", "Resource": "*"}]}))),
            grants: Some(Vec::new()),
        }),
    }
}

/// Turns a foreign key into one of the kinds adoption must tell apart
/// (`name`: the key name of the alias that will point at it).
fn make_foreign_kind(key: &mut LiveKey, kind: u8, name: &str) {
    let Some(det) = key.details.as_mut() else {
        return;
    };
    match kind {
        // As the CDK construct makes it: yearly rotation, root kms:*.
        1 => {
            det.rotation = Some(Rotation {
                enabled: true,
                period_days: Some(365),
            });
        }
        2 => {
            det.multi_region = true;
            key.key_id = format!("mrk-{}", key.key_id);
            key.arn = key.arn.replace(":key/", ":key/mrk-");
        }
        3 => {
            det.spec = "RSA_2048".into();
            det.rotation = None;
        }
        4 => {
            det.spec = "HMAC_256".into();
            det.usage = "GENERATE_VERIFY_MAC".into();
            det.rotation = None;
        }
        5 => det.origin = "EXTERNAL".into(),
        6 => {
            det.origin = "AWS_CLOUDHSM".into();
            det.custom_key_store_id = Some("cks-1234567890abcdef0".into());
        }
        7 => {
            det.state = KeyState::PendingDeletion;
        }
        // Another name's c3 tags.
        8 => {
            key.tags.insert(tag::MANAGED.into(), "true".into());
            key.tags.insert(tag::NAME.into(), format!("{name}-other"));
        }
        // This name's c3:name without c3:managed.
        9 => {
            key.tags.insert(tag::NAME.into(), name.to_string());
        }
        _ => {}
    }
}

/// Rewrites a key policy; `f` returns the new text, or `None` to leave it.
fn edit_key_policy(
    w: &mut World,
    t: usize,
    k: usize,
    f: impl FnOnce(&Target, Value) -> Option<String>,
) {
    let Some((target, key)) = w.key_mut(t, k) else {
        return;
    };
    let Some(det) = key.details.as_mut() else {
        return;
    };
    let Some(v) = det
        .policy
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    else {
        return;
    };
    if let Some(text) = f(&target, v) {
        det.policy = Some(text);
    }
}

fn edit_managed(w: &mut World, a: usize, p: usize, f: impl FnOnce(&str, Value) -> Option<String>) {
    let Some(policy) = w.policy_mut(a, p) else {
        return;
    };
    let Ok(v) = serde_json::from_str::<Value>(&policy.document) else {
        return;
    };
    let account = policy.arn.split(':').nth(4).unwrap_or_default().to_string();
    if let Some(text) = f(&account, v) {
        policy.document = text;
    }
}

/// Reformats a document the way other tools write it: statements and lists
/// in another order, one-element lists as strings (or the reverse), object
/// keys in another order, a bare account id for a root principal, other
/// whitespace. The meaning is unchanged.
fn reformat(v: &Value, rng: &mut Rng, top: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m
                .iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Statement", Value::Array(items)) if top => {
                            let mut items: Vec<Value> =
                                items.iter().map(|s| reformat(s, rng, false)).collect();
                            shuffle(&mut items, rng);
                            if items.len() == 1 && rng.coin() {
                                items.remove(0)
                            } else {
                                Value::Array(items)
                            }
                        }
                        ("Sid" | "Effect" | "Version" | "Id", _) => v.clone(),
                        ("Action" | "Resource", Value::String(s)) if rng.coin() => json!([s]),
                        (_, other) => reformat(other, rng, false),
                    };
                    (k.clone(), v)
                })
                .collect();
            shuffle(&mut entries, rng);
            Value::Object(entries.into_iter().collect::<Map<String, Value>>())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|i| reformat(i, rng, false)).collect();
            shuffle(&mut items, rng);
            if items.len() == 1 && rng.coin() {
                items.remove(0)
            } else {
                Value::Array(items)
            }
        }
        Value::String(s) if rng.coin() => {
            // arn:aws:iam::<account>:root is stored by AWS as written; a bare
            // account id means the same.
            let bare = s
                .strip_prefix("arn:aws:iam::")
                .and_then(|r| r.strip_suffix(":root"));
            match bare {
                Some(id) => Value::String(id.to_string()),
                None => v.clone(),
            }
        }
        other => other.clone(),
    }
}

pub(super) fn render(v: &Value, rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => v.to_string(),
        1 => pretty(v),
        _ => pretty(v).replace("\": ", "\" : ").replace(",\n", " ,\n\n"),
    }
}

pub(super) fn mutate(d: &DesiredState, w: &mut World, m: &Mutation) {
    match *m {
        Mutation::RemoveKey { t, k } => {
            if let Some((_, snap)) = w.snap_mut(t) {
                if let Some(i) = pick(snap.keys.len(), k) {
                    let gone = snap.keys.remove(i);
                    snap.aliases
                        .retain(|a| a.target_key_id.as_deref() != Some(gone.key_id.as_str()));
                }
            }
        }
        Mutation::RemoveAlias { t, a } => {
            if let Some((_, snap)) = w.snap_mut(t) {
                if let Some(i) = pick(snap.aliases.len(), a) {
                    snap.aliases.remove(i);
                }
            }
        }
        Mutation::AliasToForeign {
            t,
            a,
            kind,
            replace,
        } => {
            let targets = w.targets();
            let Some(target) = pick(targets.len(), t).map(|i| targets[i].clone()) else {
                return;
            };
            let mut key = foreign_key(w, &target);
            if let Some((_, snap)) = w.snap_mut(t) {
                if let Some(i) = pick(snap.aliases.len(), a) {
                    let name = snap.aliases[i].key_name().unwrap_or_default().to_string();
                    make_foreign_kind(&mut key, kind, &name);
                    snap.aliases[i].target_key_id = Some(key.key_id.clone());
                    if replace {
                        snap.keys.retain(|k| k.c3_name() != Some(name.as_str()));
                    }
                    snap.keys.push(key);
                }
            }
        }
        Mutation::AliasToKey { t, a, k } => {
            if let Some((_, snap)) = w.snap_mut(t) {
                if let (Some(i), Some(j)) = (pick(snap.aliases.len(), a), pick(snap.keys.len(), k))
                {
                    snap.aliases[i].target_key_id = Some(snap.keys[j].key_id.clone());
                }
            }
        }
        Mutation::OtherGeneration {
            t,
            k,
            delta,
            older,
            alias,
            in_policies,
        } => {
            let Some((target, key)) = w.key_mut(t, k) else {
                return;
            };
            let (Some(name), Some(g)) = (key.c3_name().map(str::to_string), key.c3_generation())
            else {
                return;
            };
            let Some(spec) = d.keys.iter().find(|s| s.name == name) else {
                return;
            };
            let other = if older && g > 1 {
                g - delta.min(g - 1)
            } else {
                g + delta
            };
            let new = c3_world_key(w, spec, &target, other, KeyState::Enabled);
            let (id, arn) = (new.key_id.clone(), new.arn.clone());
            if let Some((_, snap)) = w.snap_mut(t) {
                snap.keys.push(new);
                if alias {
                    for a in snap
                        .aliases
                        .iter_mut()
                        .filter(|a| a.name == format!("alias/{name}"))
                    {
                        a.target_key_id = Some(id.clone());
                    }
                }
            }
            if in_policies {
                w.name_in_policies(&target.account, &name, &arn);
            }
        }
        Mutation::Duplicate {
            t,
            k,
            newer,
            in_policies,
        } => {
            let id = w.new_id();
            let Some((target, key)) = w.key_mut(t, k) else {
                return;
            };
            let Some(name) = key.c3_name().map(str::to_string) else {
                return;
            };
            let mut dup = key.clone();
            dup.arn = key_arn(&target, &id);
            dup.key_id = id;
            if let Some(det) = dup.details.as_mut() {
                let shift = if newer { 1000 } else { -1000 };
                det.creation_epoch = det.creation_epoch.map(|e| e + shift);
            }
            let arn = dup.arn.clone();
            if let Some((_, snap)) = w.snap_mut(t) {
                snap.keys.push(dup);
            }
            if in_policies {
                w.name_in_policies(&target.account, &name, &arn);
            }
        }
        Mutation::Orphan {
            t,
            name,
            alias,
            policies,
        } => {
            let targets = w.targets();
            let Some(target) = pick(targets.len(), t).map(|i| targets[i].clone()) else {
                return;
            };
            // A name the file does not declare at all, or a declared one (maybe
            // not declared for this target).
            let name = ORPHANS
                .get(name)
                .copied()
                .unwrap_or_else(|| NAMES[(name - ORPHANS.len()) % NAMES.len()]);
            let spec = KeySpec {
                key_type: crate::model::KeyType::default(),
                name: name.to_string(),
                classification: "internal".into(),
                description: format!("Managed by c3: {name} (internal)"),
                rotation_days: 365,
                generation: 1,
                enabled: true,
                via_services: BTreeSet::new(),
                service_principals: BTreeSet::new(),
                administrators: BTreeSet::new(),
                users: BTreeSet::new(),
                statements: Vec::new(),
                user_tags: BTreeMap::new(),
                targets: vec![target.clone()],
                adopt: false,
                rotation: true,
                managed_policies: PolicyKind::ENCRYPTION.into_iter().collect(),
            };
            let key = c3_world_key(w, &spec, &target, 1, KeyState::Enabled);
            let arns = BTreeSet::from([key.arn.clone()]);
            if let Some((_, snap)) = w.snap_mut(t) {
                if alias && snap.alias(&spec.alias()).is_none() {
                    snap.aliases.push(LiveAlias {
                        name: spec.alias(),
                        target_key_id: Some(key.key_id.clone()),
                    });
                }
                snap.keys.push(key);
            }
            if policies {
                let path = d.settings.policy_path.clone();
                if let Some(Ok(acc)) = w.live.accounts.get_mut(&target.account) {
                    for kind in PolicyKind::ENCRYPTION {
                        if !has_policy_named(acc, &kind.policy_name(name)) {
                            acc.policies.push(managed_world_policy(
                                &target.account,
                                &path,
                                (kind, false),
                                name,
                                &arns,
                            ));
                        }
                    }
                }
            }
        }
        Mutation::State { t, k, state } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.state = match state {
                        0 => KeyState::Enabled,
                        1 => KeyState::Disabled,
                        _ => KeyState::PendingDeletion,
                    };
                }
            }
        }
        Mutation::Rotation { t, k, how, days } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.rotation = match how {
                        0 => Some(Rotation {
                            enabled: false,
                            period_days: None,
                        }),
                        1 => Some(Rotation {
                            enabled: true,
                            period_days: Some(days),
                        }),
                        // GetKeyRotationStatus unsupported for this key.
                        _ => None,
                    };
                }
            }
        }
        Mutation::Description { t, k } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.description = "changed by hand".into();
                }
            }
        }
        Mutation::DropStatement { t, k, s } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            // A key policy keeps at least one statement (AWS refuses none).
            if items.len() < 2 {
                return None;
            }
            let i = pick(items.len(), s)?;
            items.remove(i);
            Some(pretty(&v))
        }),
        Mutation::DropAction { t, k, s, a } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            let mut actions = strings(&items[i]["Action"]);
            if actions.len() > 1 {
                let j = pick(actions.len(), a)?;
                actions.remove(j);
            } else if actions.first().map(String::as_str) != Some("kms:DescribeKey") {
                // kms:* narrowed to one action (AWS refuses an empty Action).
                actions = vec!["kms:DescribeKey".into()];
            } else {
                return None;
            }
            items[i]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::ExtraAction { t, k, s, x } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            let mut actions = strings(&items[i]["Action"]);
            actions.push(EXTRA_ACTIONS[x].to_string());
            items[i]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::AlterCondition { t, k, s } => edit_key_policy(w, t, k, |target, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            let cond = items[i].get_mut("Condition")?.as_object_mut()?;
            let (_, keys) = cond.iter_mut().next()?;
            let (key, value) = keys.as_object_mut()?.iter_mut().next()?;
            *value = if key.eq_ignore_ascii_case("kms:ViaService") {
                json!(format!("ec2.{}.amazonaws.com", target.region))
            } else {
                json!("999999999999")
            };
            Some(pretty(&v))
        }),
        Mutation::Deny { t, k, s } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            items[i]["Effect"] = json!("Deny");
            Some(pretty(&v))
        }),
        Mutation::ForeignStatement { t, k, kind } => edit_key_policy(w, t, k, |target, mut v| {
            let statement = match kind {
                0 => json!({"Sid": "AllowAppRole", "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{}:role/app", target.account)},
                    "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}),
                1 => json!({"Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{}:role/ops", target.account)},
                    "Action": "kms:DescribeKey", "Resource": "*"}),
                2 => json!({"Sid": "DenyDeletion", "Effect": "Deny", "Principal": "*",
                    "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}),
                // Public: any write of this policy is refused, so it is only reported.
                3 => json!({"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"},
                    "Action": "kms:Decrypt", "Resource": "*"}),
                // Public too, without a Sid, principal "*" as a bare string.
                4 => json!({"Effect": "Allow", "Principal": "*",
                    "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}),
                // Anyone, but only callers of this account: not public.
                _ => json!({"Sid": "AllowAccountCallers", "Effect": "Allow",
                    "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": target.account}}}),
            };
            statements_mut(&mut v)?.push(statement);
            Some(pretty(&v))
        }),
        Mutation::Reformat { t, k, seed } => edit_key_policy(w, t, k, |_, v| {
            let mut rng = Rng(seed);
            let out = reformat(&v, &mut rng, true);
            Some(render(&out, &mut rng))
        }),
        Mutation::TagRemove { t, k, i } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                let names: Vec<String> = key.tags.keys().cloned().collect();
                if let Some(j) = pick(names.len(), i) {
                    key.tags.remove(&names[j]);
                }
            }
        }
        Mutation::TagChange { t, k, i } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                let names: Vec<String> = key.tags.keys().cloned().collect();
                if let Some(j) = pick(names.len(), i) {
                    key.tags.insert(names[j].clone(), "changed".into());
                }
            }
        }
        Mutation::TagExtra { t, k } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                key.tags.insert("owner".into(), "someone".into());
            }
        }
        Mutation::PolicyRemove { a, p } => {
            if let Some((_, acc)) = w.account_mut(a) {
                if let Some(i) = pick(acc.policies.len(), p) {
                    acc.policies.remove(i);
                }
            }
        }
        Mutation::PolicyDropArn { a, p, i } => edit_managed(w, a, p, |account, mut v| {
            let items = statements_mut(&mut v)?;
            let first = strings(&items.first()?["Resource"]);
            let gone = first.get(pick(first.len(), i)?)?.clone();
            for s in items.iter_mut() {
                let mut r = strings(&s["Resource"]);
                r.retain(|x| *x != gone);
                if r.is_empty() {
                    // IAM refuses a statement without resources.
                    r.push(format!("arn:aws:kms:eu-west-1:{account}:key/retired"));
                }
                s["Resource"] = json!(r);
            }
            Some(pretty(&v))
        }),
        Mutation::PolicyExtraArn { a, p } => edit_managed(w, a, p, |account, mut v| {
            for s in statements_mut(&mut v)?.iter_mut() {
                let mut r = strings(&s["Resource"]);
                r.push(format!("arn:aws:kms:eu-west-1:{account}:key/retired"));
                s["Resource"] = json!(r);
            }
            Some(pretty(&v))
        }),
        Mutation::PolicyDropAction { a, p } => edit_managed(w, a, p, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let mut actions = strings(&items.first()?["Action"]);
            if actions.len() < 2 {
                return None;
            }
            actions.pop();
            items[0]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::PolicyExtraAction { a, p } => edit_managed(w, a, p, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let mut actions = strings(&items.first()?["Action"]);
            actions.push("kms:ListResourceTags".into());
            items[0]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::PolicyFiveVersions { a, p, default } => {
            if let Some(policy) = w.policy_mut(a, p) {
                policy.versions = (1..=5)
                    .map(|n| PolicyVersion {
                        id: format!("v{n}"),
                        is_default: n == default + 1,
                        created_epoch: Some(i64::try_from(n).unwrap_or(0)),
                    })
                    .collect();
            }
        }
        Mutation::PolicyReformat { a, p, seed } => edit_managed(w, a, p, |_, v| {
            let mut rng = Rng(seed);
            let out = reformat(&v, &mut rng, true);
            Some(render(&out, &mut rng))
        }),
        Mutation::ForeignPolicy { a, name, kind, how } => foreign_policy(d, w, a, name, kind, how),
        Mutation::LoseManaged { t, k, how } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if key.tag(tag::NAME).is_some() {
                    if how == 0 {
                        key.tags.remove(tag::MANAGED);
                    } else {
                        key.tags.insert(tag::MANAGED.into(), "false".into());
                    }
                }
            }
        }
        Mutation::Rename { t, k, to } => {
            let names: Vec<&str> = NAMES.iter().chain(ORPHANS.iter()).copied().collect();
            if let Some((_, key)) = w.key_mut(t, k) {
                let Some(old) = key.tag(tag::NAME).map(str::to_string) else {
                    return;
                };
                let new = names
                    .iter()
                    .cycle()
                    .skip(to)
                    .take(names.len())
                    .find(|n| **n != old)
                    .copied()
                    .unwrap_or("old");
                key.tags.insert(tag::NAME.into(), new.to_string());
            }
        }
        Mutation::Grant { t, k, kind } => {
            let n = w.serial();
            if let Some((target, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.grants
                        .get_or_insert_with(Vec::new)
                        .push(world_grant(&target, kind, n));
                }
            }
        }
        Mutation::KeyForeignTag { t, k, which } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                let (name, value) = FOREIGN_TAGS[which % FOREIGN_TAGS.len()];
                key.tags.insert(name.into(), value.into());
            }
        }
        Mutation::PolicyForeignTag { a, p, which } => {
            if let Some(policy) = w.policy_mut(a, p) {
                let (name, value) = FOREIGN_TAGS[which % FOREIGN_TAGS.len()];
                policy
                    .tags
                    .get_or_insert_with(BTreeMap::new)
                    .insert(name.into(), value.into());
            }
        }
        Mutation::FixedField { t, k, which } => {
            if let Some((target, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    match which {
                        0 => {
                            det.spec = "RSA_4096".into();
                            det.usage = "SIGN_VERIFY".into();
                        }
                        1 => {
                            det.multi_region = !det.multi_region;
                            det.primary_region = det.multi_region.then(|| target.region.clone());
                        }
                        2 => det.origin = "EXTERNAL".into(),
                        _ => {
                            det.usage = if det.usage == "ENCRYPT_DECRYPT" {
                                "SIGN_VERIFY".into()
                            } else {
                                "ENCRYPT_DECRYPT".into()
                            };
                        }
                    }
                }
            }
        }
        Mutation::StripCondition { t, k, s } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            items[i].as_object_mut()?.remove("Condition")?;
            Some(pretty(&v))
        }),
    }
}

/// The unique id AWS shows for a deleted role: `AROA` and 16 characters.
fn unique_id(n: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = Rng(n);
    let tail: String = (0..16)
        .map(|_| char::from(ALPHABET[rng.below(ALPHABET.len())]))
        .collect();
    format!("AROA{tail}")
}

/// A grant issued in the key's account (see [`Mutation::Grant`]).
fn world_grant(t: &Target, kind: u8, n: u64) -> KmsGrant {
    let service = kind.is_multiple_of(4);
    let grantee = match kind % 4 {
        0 => format!("rds.{}.amazonaws.com", t.region),
        1 => format!("arn:aws:iam::{STRANGER}:root"),
        2 => format!("arn:aws:iam::{}:role/app", t.account),
        _ => unique_id(n),
    };
    let constraints = if service {
        BTreeMap::from([(
            "EncryptionContextSubset".to_string(),
            BTreeMap::from([("aws:rds:db-id".to_string(), format!("db-{n}"))]),
        )])
    } else {
        BTreeMap::new()
    };
    KmsGrant {
        grant_id: format!("grant-{n:04}"),
        name: service.then(|| format!("rds-{n}")),
        grantee: Some(grantee),
        grantee_service: None,
        retiring: None,
        issuing_account: Some(format!("arn:aws:iam::{}:root", t.account)),
        operations: vec!["Decrypt".into(), "GenerateDataKey".into()],
        constraints,
        source_arn: None,
    }
}

/// See [`Mutation::ForeignPolicy`].
fn foreign_policy(d: &DesiredState, w: &mut World, a: usize, name: usize, kind: usize, how: u8) {
    let Some(key) = pick(d.keys.len(), name).map(|i| d.keys[i].name.clone()) else {
        return;
    };
    let c3_name = PolicyKind::ENCRYPTION[kind % PolicyKind::ENCRYPTION.len()].policy_name(&key);
    let path = d.settings.policy_path.clone();
    let elsewhere = if path == "/" { "/legacy/" } else { "/" }.to_string();
    let other_name = d
        .keys
        .iter()
        .map(|k| k.name.as_str())
        .find(|n| *n != key)
        .unwrap_or("old");
    let (name, path, tags) = match how % 7 {
        0 => (c3_name, path, BTreeMap::new()),
        1 => (
            c3_name,
            path,
            BTreeMap::from([(tag::MANAGED.to_string(), "true".to_string())]),
        ),
        2 => (c3_name, path, c3_policy_tags(other_name)),
        3 => (c3_name, elsewhere, BTreeMap::new()),
        4 => (c3_name, elsewhere, c3_policy_tags(&key)),
        5 => {
            let prefix = &c3_name[..c3_name.len() - key.len()];
            let shouted = format!("{prefix}{}", key.to_ascii_uppercase());
            if shouted == c3_name {
                return;
            }
            (shouted, path, c3_policy_tags(&key))
        }
        _ => {
            let mut capital = c3_name.clone();
            capital.replace_range(..1, "A");
            (capital, path, BTreeMap::new())
        }
    };
    let Some((account, acc)) = w.account_mut(a) else {
        return;
    };
    let before = acc
        .policies
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(&name))
        .map(|i| acc.policies.remove(i));
    let document = match &before {
        Some(p) => p.document.clone(),
        None => pretty(&json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "TeamKeys", "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": format!("arn:aws:kms:*:{account}:key/*")}]})),
    };
    acc.policies.push(LiveManagedPolicy {
        arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
        name,
        path,
        document,
        versions: before.map_or_else(
            || {
                vec![PolicyVersion {
                    id: "v1".into(),
                    is_default: true,
                    created_epoch: Some(1),
                }]
            },
            |p| p.versions,
        ),
        tags: Some(tags),
        attachments: Some(2),
    });
}

/// A desired state and the world it meets: converged, then drifted.
#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) desired: DesiredGen,
    pub(super) rotation_hidden_when_disabled: bool,
    /// `[settings] ignore_tags`, a bit mask of [`IGNORE_GLOBS`].
    pub(super) ignore_tags: u8,
    /// `[settings] read_grants`.
    pub(super) read_grants: bool,
    pub(super) mutations: Vec<Mutation>,
}

pub(super) fn case() -> impl Strategy<Value = Case> {
    (
        desired_gen(),
        any::<bool>(),
        (0u8..8, prop::bool::weighted(0.9)),
        prop::collection::vec(mutation(), 0..8),
        prop::collection::vec(brownfield(), 0..3),
    )
        .prop_map(
            |(
                desired,
                rotation_hidden_when_disabled,
                (ignore_tags, read_grants),
                mut mutations,
                brownfield,
            )| {
                mutations.extend(brownfield);
                Case {
                    desired,
                    rotation_hidden_when_disabled,
                    ignore_tags,
                    read_grants,
                    mutations,
                }
            },
        )
}

pub(super) fn build(c: &Case) -> (DesiredState, World) {
    let mut d = build_desired(&c.desired);
    d.settings.ignore_tags = mask(&IGNORE_GLOBS, c.ignore_tags)
        .into_iter()
        .map(str::to_string)
        .collect();
    d.settings.read_grants = c.read_grants;
    let mut w = converged(&d, &c.desired.older(), c.rotation_hidden_when_disabled);
    for m in &c.mutations {
        mutate(&d, &mut w, m);
    }
    (d, w)
}
