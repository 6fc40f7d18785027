//! Planning one (account, region): keys, aliases, rotation, key policies,
//! tags and key states.

use std::collections::BTreeSet;

use super::action::{KeyRef, Operation};
use super::desired::{key_policy, key_policy_statements, KEY_POLICY_MAX_BYTES};
use super::policy::{self, add_to_statement, compare_statement, pretty, Document};
use super::{ActionKind, At, Changes, PolicyDiff, Resource};
use crate::model::{partition, DesiredState, KeySpec, KeyState, LiveKey, RegionSnapshot, Target};

/// Plans every declared key of one target, then reports c3 resources the file
/// no longer declares there. Returns the (key name, generation) of every key
/// the plan creates.
pub(crate) fn plan_target(
    desired: &DesiredState,
    target: &Target,
    snapshot: &RegionSnapshot,
    changes: &mut Changes,
) -> Vec<(String, u32)> {
    let mut created = Vec::new();
    // Every key the file declares here, in scope or not: a key left out of
    // this run by --keys is not a resource the file no longer declares.
    let declared: Vec<&KeySpec> = desired
        .keys
        .iter()
        .filter(|k| k.targets.contains(target))
        .collect();
    for spec in declared.iter().filter(|k| desired.scope.key(&k.name)) {
        if let Some(generation) = plan_key(spec, target, snapshot, changes) {
            created.push((spec.name.clone(), generation));
        }
    }
    report_orphans(desired, &declared, target, snapshot, changes);
    created
}

/// The c3 keys of one name in a snapshot, oldest first.
fn c3_keys<'a>(snapshot: &'a RegionSnapshot, name: &str) -> Vec<&'a LiveKey> {
    let mut keys: Vec<&LiveKey> = snapshot
        .keys
        .iter()
        .filter(|k| k.c3_name() == Some(name))
        .collect();
    keys.sort_by_key(|k| {
        (
            k.c3_generation(),
            k.details.as_ref().and_then(|d| d.creation_epoch),
            k.key_id.clone(),
        )
    });
    keys
}

fn plan_key(
    spec: &KeySpec,
    target: &Target,
    snapshot: &RegionSnapshot,
    changes: &mut Changes,
) -> Option<u32> {
    let at = At {
        account: &target.account,
        region: Some(&target.region),
        key: &spec.name,
    };
    let alias_name = spec.alias();
    let ours = c3_keys(snapshot, &spec.name);
    let alias = snapshot.alias(&alias_name);
    let alias_target: Option<&str> = alias.and_then(|a| a.target_key_id.as_deref());
    let alias_on_ours = alias_target.and_then(|id| ours.iter().copied().find(|k| k.key_id == id));

    // The key of the current generation: the alias target if it has it, else the oldest.
    let of_generation: Vec<&LiveKey> = ours
        .iter()
        .copied()
        .filter(|k| k.c3_generation() == Some(spec.generation))
        .collect();
    let current: Option<&LiveKey> = alias_on_ours
        .filter(|k| k.c3_generation() == Some(spec.generation))
        .or_else(|| of_generation.first().copied());

    for dup in of_generation
        .iter()
        .filter(|k| Some(k.key_id.as_str()) != current.map(|c| c.key_id.as_str()))
    {
        changes.report(
            &at,
            Resource::Key,
            format!(
                "key {} is a second c3 key of generation {} (not used; c3 never deletes keys)",
                dup.key_id, spec.generation
            ),
        );
    }

    let mut creates = None;
    let conflict = alias.is_some() && alias_on_ours.is_none();
    if conflict {
        let what = match alias_target {
            None => "no key".to_string(),
            Some(id) => match snapshot.key(id) {
                Some(k) if k.c3_name().is_some() => format!(
                    "key {id}, a c3 key of another name ({})",
                    k.c3_name().unwrap_or_default()
                ),
                _ => format!("key {id}, which c3 does not manage"),
            },
        };
        changes.push(
            &at,
            Resource::Alias,
            ActionKind::Conflict,
            format!(
                "{alias_name} points at {what}; c3 leaves it alone and creates nothing behind it"
            ),
            None,
            None,
        );
    } else {
        let key_ref = match current {
            Some(k) => Some(KeyRef::existing(&k.key_id)),
            None if spec.enabled => {
                let text = policy::pretty(&key_policy(spec, target));
                if text.len() > KEY_POLICY_MAX_BYTES {
                    changes.report(
                        &at,
                        Resource::Key,
                        format!(
                            "the key policy would be {} bytes, over AWS's limit of {KEY_POLICY_MAX_BYTES}: declare fewer services",
                            text.len()
                        ),
                    );
                    None
                } else {
                    changes.push(
                        &at,
                        Resource::Key,
                        ActionKind::Create,
                        format!(
                            "create symmetric key, generation {}, rotation every {} days, {} key policy statements",
                            spec.generation,
                            spec.rotation_days,
                            key_policy_statements(spec, target).len()
                        ),
                        Some(Operation::CreateKey {
                            generation: spec.generation,
                            description: spec.description.clone(),
                            policy: text.clone(),
                            tags: spec.tags(),
                            rotation_days: spec.rotation_days,
                        }),
                        Some(PolicyDiff {
                            before: String::new(),
                            after: Document::parse(&text, partition(&target.region))
                                .map(|d| d.normalized_text())
                                .unwrap_or(text),
                        }),
                    );
                    creates = Some(spec.generation);
                    Some(KeyRef::New {
                        generation: spec.generation,
                    })
                }
            }
            None => {
                changes.report(
                    &at,
                    Resource::Key,
                    format!(
                        "generation {} does not exist and enabled = false: c3 does not create disabled keys",
                        spec.generation
                    ),
                );
                None
            }
        };
        if let Some(key_ref) = key_ref {
            let shown = match (&key_ref, current) {
                (KeyRef::Existing { key_id }, _) => key_id.clone(),
                (KeyRef::New { .. }, _) => "the new key".to_string(),
            };
            match (alias_on_ours, current) {
                (Some(on), Some(cur)) if on.key_id == cur.key_id => {}
                (Some(on), _) => changes.exec(
                    &at,
                    Resource::Alias,
                    ActionKind::Repoint,
                    format!(
                        "{alias_name}: {} (generation {}) → {shown} (generation {}); the old key stays enabled",
                        on.key_id,
                        on.c3_generation().map_or("?".into(), |g| g.to_string()),
                        spec.generation
                    ),
                    Operation::UpdateAlias {
                        alias: alias_name.clone(),
                        key: key_ref,
                    },
                ),
                (None, Some(cur)) => changes.exec(
                    &at,
                    Resource::Alias,
                    ActionKind::Adopt,
                    format!(
                        "{alias_name} → {} (a c3 key of generation {} that no alias points at)",
                        cur.key_id, spec.generation
                    ),
                    Operation::CreateAlias {
                        alias: alias_name.clone(),
                        key: key_ref,
                    },
                ),
                (None, None) => changes.exec(
                    &at,
                    Resource::Alias,
                    ActionKind::Create,
                    format!("create {alias_name} → {shown}"),
                    Operation::CreateAlias {
                        alias: alias_name.clone(),
                        key: key_ref,
                    },
                ),
            }
        }
    }

    // Every c3 key of this name is kept usable: restore Disabled / PendingDeletion.
    for key in &ours {
        let is_current = current.is_some_and(|c| c.key_id == key.key_id);
        plan_state(spec, key, is_current, &at, changes);
    }
    if let Some(cur) = current {
        if let Some(details) = &cur.details {
            plan_description(spec, cur, &details.description, &at, changes);
            plan_rotation(spec, cur, &at, changes);
            plan_key_policy(spec, target, cur, &at, changes);
            plan_tags(spec, cur, &at, changes);
        }
    }
    creates
}

fn plan_state(spec: &KeySpec, key: &LiveKey, is_current: bool, at: &At<'_>, changes: &mut Changes) {
    let Some(details) = &key.details else {
        return;
    };
    let which = if is_current {
        String::new()
    } else {
        format!(
            " (generation {})",
            key.c3_generation().map_or("?".into(), |g| g.to_string())
        )
    };
    let id = &key.key_id;
    match (&details.state, spec.enabled) {
        (KeyState::Enabled, true) => {}
        (KeyState::Enabled, false) if is_current => changes.report(
            at,
            Resource::KeyState,
            format!(
                "key {id} is enabled but keys.toml says enabled = false: c3 never disables keys"
            ),
        ),
        (KeyState::Enabled, false) => {}
        (KeyState::Disabled, true) => changes.exec(
            at,
            Resource::KeyState,
            ActionKind::Restore,
            format!("key {id}{which} is Disabled: enable it"),
            Operation::Restore {
                key_id: id.clone(),
                cancel_deletion: false,
                enable: true,
            },
        ),
        (KeyState::Disabled, false) => {}
        (KeyState::PendingDeletion, enabled) => changes.exec(
            at,
            Resource::KeyState,
            ActionKind::Restore,
            if enabled {
                format!("key {id}{which} is PendingDeletion: cancel the deletion and enable it")
            } else {
                format!(
                    "key {id}{which} is PendingDeletion: cancel the deletion (it stays disabled)"
                )
            },
            Operation::Restore {
                key_id: id.clone(),
                cancel_deletion: true,
                enable: enabled,
            },
        ),
        (KeyState::Other(state), _) => changes.report(
            at,
            Resource::KeyState,
            format!("key {id}{which} is in state {state}, which c3 does not change"),
        ),
    }
}

fn plan_description(spec: &KeySpec, key: &LiveKey, live: &str, at: &At<'_>, changes: &mut Changes) {
    if live != spec.description {
        changes.exec(
            at,
            Resource::Key,
            ActionKind::Update,
            format!("description {live:?} → {:?}", spec.description),
            Operation::UpdateDescription {
                key_id: key.key_id.clone(),
                description: spec.description.clone(),
            },
        );
    }
}

fn plan_rotation(spec: &KeySpec, key: &LiveKey, at: &At<'_>, changes: &mut Changes) {
    let Some(details) = &key.details else {
        return;
    };
    let want = spec.rotation_days;
    let Some(rotation) = &details.rotation else {
        // GetKeyRotationStatus fails while a key is PendingDeletion (and on some
        // endpoints while it is Disabled). When the same apply restores the key,
        // set rotation anyway (EnableKeyRotation is idempotent): otherwise a
        // rotation that is off would take a second apply to be seen and fixed.
        let restored = spec.enabled
            && matches!(
                details.state,
                KeyState::Disabled | KeyState::PendingDeletion
            );
        if restored {
            changes.exec(
                at,
                Resource::Rotation,
                ActionKind::Update,
                format!(
                    "rotation cannot be read while the key is {}: enable it every {want} days once the key is restored",
                    details.state
                ),
                Operation::EnableRotation {
                    key_id: key.key_id.clone(),
                    rotation_days: want,
                },
            );
        }
        return;
    };
    let detail = if !rotation.enabled {
        format!("rotation is off: enable it every {want} days")
    } else {
        match rotation.period_days {
            Some(p) if p != want => format!("rotation every {p} days → every {want} days"),
            // AWS always reports the period; when an endpoint does not, nothing is claimed.
            _ => return,
        }
    };
    let usable = match details.state {
        KeyState::Enabled => true,
        // A restore in the same apply enables the key before rotation is set.
        KeyState::Disabled | KeyState::PendingDeletion => spec.enabled,
        KeyState::Other(_) => false,
    };
    if usable {
        changes.exec(
            at,
            Resource::Rotation,
            ActionKind::Update,
            detail,
            Operation::EnableRotation {
                key_id: key.key_id.clone(),
                rotation_days: want,
            },
        );
    } else {
        changes.report(
            at,
            Resource::Rotation,
            format!("{detail} (not possible while the key is {})", details.state),
        );
    }
}

fn plan_key_policy(
    spec: &KeySpec,
    target: &Target,
    key: &LiveKey,
    at: &At<'_>,
    changes: &mut Changes,
) {
    let Some(text) = key.details.as_ref().and_then(|d| d.policy.as_deref()) else {
        return;
    };
    let part = partition(&target.region);
    let live = match Document::parse(text, part) {
        Ok(doc) => doc,
        Err(e) => {
            changes.report(
                at,
                Resource::KeyPolicy,
                format!(
                    "the key policy of {} cannot be read ({e}); c3 will not rewrite it",
                    key.key_id
                ),
            );
            return;
        }
    };
    let wanted = key_policy_statements(spec, target);
    let mut merged = live.raw.clone();
    let mut updates: Vec<String> = Vec::new();
    let mut declared_sids = BTreeSet::new();
    for raw in &wanted {
        let desired =
            match Document::from_value(serde_json::json!({"Statement": [raw.clone()]}), part) {
                Ok(d) => d,
                Err(_) => continue,
            };
        let Some(want) = desired.statements.first() else {
            continue;
        };
        let sid = want.sid.clone().unwrap_or_default();
        declared_sids.insert(sid.clone());
        let position = live
            .statements
            .iter()
            .position(|s| s.sid.as_deref() == Some(sid.as_str()));
        match position {
            None => {
                updates.push(format!("add statement {sid}"));
                append_statement(&mut merged, raw.clone());
            }
            Some(i) => {
                let (lacks, excess) = compare_statement(&live.statements[i], want);
                if !lacks.is_empty() {
                    if live.statements[i].effect != "Allow" {
                        changes.report(
                            at,
                            Resource::KeyPolicy,
                            format!("statement {sid} is not an Allow; c3 will not change it"),
                        );
                    } else {
                        updates.push(format!("{sid} gains {}", lacks.describe()));
                        if let Some(stmt) = statement_mut(&mut merged, i) {
                            add_to_statement(stmt, &lacks);
                        }
                    }
                }
                if !excess.is_empty() {
                    changes.report(
                        at,
                        Resource::KeyPolicy,
                        format!(
                            "statement {sid} grants more than keys.toml asks for: {} (kept)",
                            excess.describe()
                        ),
                    );
                }
            }
        }
    }
    for s in &live.statements {
        let declared = s
            .sid
            .as_ref()
            .is_some_and(|sid| declared_sids.contains(sid));
        if !declared {
            let name = s
                .sid
                .as_deref()
                .map_or("without a Sid".to_string(), |sid| format!("{sid:?}"));
            changes.report(
                at,
                Resource::KeyPolicy,
                format!("statement {name} is not declared in keys.toml (kept)"),
            );
        }
    }
    if updates.is_empty() {
        return;
    }
    if merged.get("Version").is_none() {
        if let Some(m) = merged.as_object_mut() {
            m.insert("Version".into(), policy::POLICY_VERSION.into());
        }
    }
    let text = pretty(&merged);
    let after = match Document::from_value(merged, part) {
        Ok(d) => d,
        Err(e) => {
            changes.report(
                at,
                Resource::KeyPolicy,
                format!("merged policy is invalid: {e}"),
            );
            return;
        }
    };
    let diff = Some(PolicyDiff {
        before: live.normalized_text(),
        after: after.normalized_text(),
    });
    let detail = updates.join("; ");
    let refusal = policy::check_key_policy(&after, &target.account, part)
        .err()
        .or_else(|| {
            (text.len() > KEY_POLICY_MAX_BYTES).then(|| {
                format!(
                "the merged policy would be {} bytes, over AWS's limit of {KEY_POLICY_MAX_BYTES}",
                text.len()
            )
            })
        });
    match refusal {
        None => changes.push(
            at,
            Resource::KeyPolicy,
            ActionKind::Update,
            detail,
            Some(Operation::PutKeyPolicy {
                key_id: key.key_id.clone(),
                policy: text,
            }),
            diff,
        ),
        Some(why) => changes.push(
            at,
            Resource::KeyPolicy,
            ActionKind::Report,
            format!("{detail}: not applied, {why}"),
            None,
            diff,
        ),
    }
}

fn append_statement(doc: &mut serde_json::Value, statement: serde_json::Value) {
    let Some(m) = doc.as_object_mut() else {
        return;
    };
    match m.get_mut("Statement") {
        Some(serde_json::Value::Array(items)) => items.push(statement),
        Some(single) => {
            let one = single.take();
            *single = serde_json::Value::Array(vec![one, statement]);
        }
        None => {
            m.insert(
                "Statement".into(),
                serde_json::Value::Array(vec![statement]),
            );
        }
    }
}

fn statement_mut(doc: &mut serde_json::Value, index: usize) -> Option<&mut serde_json::Value> {
    match doc.get_mut("Statement")? {
        serde_json::Value::Array(items) => items.get_mut(index),
        single @ serde_json::Value::Object(_) if index == 0 => Some(single),
        _ => None,
    }
}

fn plan_tags(spec: &KeySpec, key: &LiveKey, at: &At<'_>, changes: &mut Changes) {
    let wanted = spec.tags();
    let missing: std::collections::BTreeMap<String, String> = wanted
        .into_iter()
        .filter(|(k, v)| key.tags.get(k) != Some(v))
        .collect();
    if missing.is_empty() {
        return;
    }
    let shown: Vec<String> = missing
        .iter()
        .map(|(k, v)| match key.tags.get(k) {
            Some(old) => format!("{k}={v} (was {old})"),
            None => format!("{k}={v}"),
        })
        .collect();
    changes.exec(
        at,
        Resource::Tags,
        ActionKind::Update,
        format!("set {}", shown.join(", ")),
        Operation::TagKey {
            key_id: key.key_id.clone(),
            tags: missing,
        },
    );
}

fn report_orphans(
    desired: &DesiredState,
    declared: &[&KeySpec],
    target: &Target,
    snapshot: &RegionSnapshot,
    changes: &mut Changes,
) {
    let names: BTreeSet<&str> = declared.iter().map(|k| k.name.as_str()).collect();
    // In key id and alias name order, whatever order the snapshot lists them
    // in: the plan must not depend on it.
    let mut keys: Vec<&LiveKey> = snapshot.keys.iter().collect();
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    let mut aliases: Vec<&crate::model::LiveAlias> = snapshot.aliases.iter().collect();
    aliases.sort();
    for key in keys {
        let Some(name) = key.c3_name() else {
            continue;
        };
        if names.contains(name) || !desired.scope.key(name) {
            continue;
        }
        let at = At {
            account: &target.account,
            region: Some(&target.region),
            key: name,
        };
        changes.report(
            &at,
            Resource::Key,
            format!(
                "c3 key {} (generation {}) is no longer declared here in keys.toml; c3 never deletes keys",
                key.key_id,
                key.tag(crate::model::tag::GENERATION).unwrap_or("?")
            ),
        );
    }
    for alias in aliases {
        let Some(name) = alias.name.strip_prefix("alias/") else {
            continue;
        };
        if names.contains(name) || !desired.scope.key(name) {
            continue;
        }
        let Some(key) = alias
            .target_key_id
            .as_deref()
            .and_then(|id| snapshot.key(id))
        else {
            continue;
        };
        if key.c3_name() != Some(name) {
            continue;
        }
        let at = At {
            account: &target.account,
            region: Some(&target.region),
            key: name,
        };
        changes.report(
            &at,
            Resource::Alias,
            format!(
                "{} → {} is no longer declared here in keys.toml; c3 never deletes aliases",
                alias.name, key.key_id
            ),
        );
    }
}
