//! Planning one (account, region): keys, aliases, rotation, key policies,
//! tags, grants and key states.
//!
//! c3 writes only to a key tagged `c3:managed=true` whose `c3:name` is the
//! name it plans, and to `alias/<name>` when the alias is missing or points
//! at such a key (design.md, "Ownership"). Anything else that stands in the
//! way is a conflict, reported and never touched.

use std::collections::{BTreeMap, BTreeSet};

use super::action::{KeyRef, Operation};
use super::desired::{key_policy, key_policy_statements, KEY_POLICY_MAX_BYTES};
use super::{ActionKind, At, Changes, PolicyDiff, Resource, Severity};
use crate::model::{
    partition, tag, DesiredState, KeyOwner, KeySpec, KeyState, LiveKey, RegionSnapshot, Target,
};
use crate::policy::risk;
use crate::policy::{self, add_to_statement, compare_statement, glob_match, pretty, Document};

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
        let ctx = KeyContext {
            spec,
            target,
            snapshot,
            ignore_tags: &desired.settings.ignore_tags,
        };
        if let Some(generation) = plan_key(&ctx, changes) {
            created.push((spec.name.clone(), generation));
        }
    }
    report_orphans(desired, &declared, target, snapshot, changes);
    created
}

/// What planning one key of one target looks at.
struct KeyContext<'a> {
    spec: &'a KeySpec,
    target: &'a Target,
    snapshot: &'a RegionSnapshot,
    ignore_tags: &'a [String],
}

impl KeyContext<'_> {
    fn at(&self) -> At<'_> {
        At {
            account: &self.target.account,
            region: Some(&self.target.region),
            key: &self.spec.name,
        }
    }
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

/// Keys that carry `c3:name=<name>` but not `c3:managed=true`, by key id.
fn lost_keys<'a>(snapshot: &'a RegionSnapshot, name: &str) -> Vec<&'a LiveKey> {
    let mut keys: Vec<&LiveKey> = snapshot
        .keys
        .iter()
        .filter(|k| matches!(k.owner(), KeyOwner::LostManaged { name: n } if n == name))
        .collect();
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    keys
}

/// The ways out of a conflict, said the same way everywhere.
fn ways_out(name: &str) -> String {
    format!(
        "either rename the key in keys.toml, or, once you have reviewed what is there and want c3 to manage it, tag it {}=true and {}={name}",
        tag::MANAGED,
        tag::NAME
    )
}

/// Why a key that stands in the way is not c3's, in words.
fn not_ours(key: &LiveKey, name: &str) -> String {
    let id = &key.key_id;
    match key.owner() {
        KeyOwner::C3 { name: other } if other != name => {
            format!("key {id}, a c3 key of another name ({other})")
        }
        KeyOwner::C3 { .. } => format!("key {id}"),
        KeyOwner::LostManaged { .. } => format!(
            "key {id}, which carries {}={name} but not {}=true (the tag was removed or changed), so c3 no longer counts it as its own",
            tag::NAME,
            tag::MANAGED
        ),
        KeyOwner::C3Unnamed => format!(
            "key {id}, which is tagged {}=true but has no {} tag",
            tag::MANAGED,
            tag::NAME
        ),
        KeyOwner::Other => format!("key {id}, which c3 does not manage"),
    }
}

fn plan_key(ctx: &KeyContext<'_>, changes: &mut Changes) -> Option<u32> {
    let spec = ctx.spec;
    let snapshot = ctx.snapshot;
    let at = ctx.at();
    let alias_name = spec.alias();
    let ours = c3_keys(snapshot, &spec.name);
    let lost = lost_keys(snapshot, &spec.name);
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
            Severity::Low,
            format!(
                "key {} is a second c3 key of generation {} (not used; c3 never deletes keys)",
                dup.key_id, spec.generation
            ),
        );
    }

    let alias_conflict = alias.is_some() && alias_on_ours.is_none();
    // A key that lost c3:managed but still carries this name is reported
    // once: by the alias conflict when the alias points at it, else here.
    for key in lost
        .iter()
        .filter(|k| Some(k.key_id.as_str()) != alias_target)
    {
        changes.conflict(
            &at,
            Resource::Key,
            Severity::High,
            format!(
                "{}; c3 will not write to it, and creates and adopts nothing for {} here while it is there: {}",
                not_ours(key, &spec.name),
                spec.name,
                ways_out(&spec.name)
            ),
        );
    }
    let mut creates = None;
    if alias_conflict {
        let what = match alias_target.and_then(|id| snapshot.key(id)) {
            Some(k) => not_ours(k, &spec.name),
            None => match alias_target {
                Some(id) => format!("key {id}, which c3 cannot see"),
                None => "no key".to_string(),
            },
        };
        changes.conflict(
            &at,
            Resource::Alias,
            Severity::High,
            format!(
                "{alias_name} points at {what}; c3 leaves the alias alone and creates nothing behind it: {}",
                ways_out(&spec.name)
            ),
        );
    } else if !lost.is_empty() && current.is_none() {
        // Nothing of this name to write to; the lost key's conflict says why.
    } else if let Some(key_ref) = key_to_alias(ctx, current, changes, &mut creates) {
        plan_alias(ctx, alias_on_ours, current, key_ref, changes);
    }

    // Every c3 key of this name is kept usable: restore Disabled / PendingDeletion.
    for key in &ours {
        let is_current = current.is_some_and(|c| c.key_id == key.key_id);
        plan_state(spec, key, is_current, &at, changes);
        plan_grants(&at, key, &ctx.target.account, changes);
        if !is_current {
            report_public_statements(ctx, key, changes);
        }
    }
    if let Some(cur) = current {
        if let Some(details) = &cur.details {
            plan_description(spec, cur, &details.description, &at, changes);
            plan_rotation(spec, cur, &at, changes);
            plan_key_policy(ctx, cur, changes);
            plan_tags(ctx, cur, changes);
        }
    }
    creates
}

/// The key the alias must point at: the current key, or one this plan
/// creates (recorded in `creates`); `None` when there is none to point at.
fn key_to_alias(
    ctx: &KeyContext<'_>,
    current: Option<&LiveKey>,
    changes: &mut Changes,
    creates: &mut Option<u32>,
) -> Option<KeyRef> {
    let spec = ctx.spec;
    let at = ctx.at();
    if let Some(k) = current {
        return Some(KeyRef::existing(&k.key_id));
    }
    if !spec.enabled {
        changes.report(
            &at,
            Resource::Key,
            Severity::Info,
            format!(
                "generation {} does not exist and enabled = false: c3 does not create disabled keys",
                spec.generation
            ),
        );
        return None;
    }
    let text = policy::pretty(&key_policy(spec, ctx.target));
    if text.len() > KEY_POLICY_MAX_BYTES {
        changes.report(
            &at,
            Resource::Key,
            Severity::Low,
            format!(
                "the key policy would be {} bytes, over AWS's limit of {KEY_POLICY_MAX_BYTES}: declare fewer services",
                text.len()
            ),
        );
        return None;
    }
    let after = Document::parse(&text, partition(&ctx.target.region))
        .map(|d| d.normalized_text())
        .unwrap_or_else(|_| text.clone());
    changes.push(
        &at,
        Resource::Key,
        ActionKind::Create,
        Severity::Info,
        format!(
            "create symmetric key, generation {}, rotation every {} days, {} key policy statements",
            spec.generation,
            spec.rotation_days,
            key_policy_statements(spec, ctx.target).len()
        ),
        Some(Operation::CreateKey {
            generation: spec.generation,
            description: spec.description.clone(),
            policy: text,
            tags: spec.tags(),
            rotation_days: spec.rotation_days,
        }),
        Some(PolicyDiff {
            before: String::new(),
            after,
        }),
    );
    *creates = Some(spec.generation);
    Some(KeyRef::New {
        generation: spec.generation,
    })
}

/// Creates, adopts or repoints `alias/<name>` (the alias is missing or on a
/// c3 key of this name).
fn plan_alias(
    ctx: &KeyContext<'_>,
    alias_on_ours: Option<&LiveKey>,
    current: Option<&LiveKey>,
    key_ref: KeyRef,
    changes: &mut Changes,
) {
    let spec = ctx.spec;
    let at = ctx.at();
    let alias_name = spec.alias();
    let shown = match &key_ref {
        KeyRef::Existing { key_id } => key_id.clone(),
        KeyRef::New { .. } => "the new key".to_string(),
    };
    match (alias_on_ours, current) {
        (Some(on), Some(cur)) if on.key_id == cur.key_id => {}
        (Some(on), _) => changes.exec(
            &at,
            Resource::Alias,
            ActionKind::Repoint,
            // A generation bump realises a new declaration; an alias moved
            // to another key of the name by hand is drift.
            if matches!(key_ref, KeyRef::New { .. }) {
                Severity::Info
            } else {
                Severity::Low
            },
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
            Severity::Info,
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
            Severity::Info,
            format!("create {alias_name} → {shown}"),
            Operation::CreateAlias {
                alias: alias_name.clone(),
                key: key_ref,
            },
        ),
    }
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
            Severity::Low,
            format!(
                "key {id} is enabled but keys.toml says enabled = false: c3 never disables keys"
            ),
        ),
        (KeyState::Enabled, false) => {}
        (KeyState::Disabled, true) => changes.exec(
            at,
            Resource::KeyState,
            ActionKind::Restore,
            Severity::High,
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
            Severity::Critical,
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
            Severity::Medium,
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
            Severity::Low,
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
                Severity::Medium,
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
            Severity::Medium,
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
            Severity::Medium,
            format!("{detail} (not possible while the key is {})", details.state),
        );
    }
}

/// `"Sid"`, or `without a Sid`.
fn statement_name(s: &policy::Statement) -> String {
    s.sid
        .as_deref()
        .map_or("without a Sid".to_string(), |sid| format!("{sid:?}"))
}

/// Reports the statements of a key's policy that make it public (for keys
/// whose policy is not otherwise compared: older generations).
fn report_public_statements(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
    let Some(text) = key.details.as_ref().and_then(|d| d.policy.as_deref()) else {
        return;
    };
    let Ok(live) = Document::parse(text, partition(&ctx.target.region)) else {
        return;
    };
    for s in &live.statements {
        if let Some(why) = risk::public_reason(s) {
            changes.report(
                &ctx.at(),
                Resource::KeyPolicy,
                Severity::Critical,
                format!(
                    "statement {} of key {} (generation {}) makes the key usable by anyone: {why}: {} (kept; c3 never removes statements)",
                    statement_name(s),
                    key.key_id,
                    key.c3_generation().map_or("?".into(), |g| g.to_string()),
                    risk::describe_statement(s)
                ),
            );
        }
    }
}

/// What merging the desired statements into a live key policy gives.
struct Merge {
    /// The live document with what it lacks added.
    merged: serde_json::Value,
    /// What was added, for the detail (`add statement X`, `X gains …`).
    updates: Vec<String>,
}

fn plan_key_policy(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
    let at = ctx.at();
    let Some(text) = key.details.as_ref().and_then(|d| d.policy.as_deref()) else {
        return;
    };
    let part = partition(&ctx.target.region);
    let live = match Document::parse(text, part) {
        Ok(doc) => doc,
        Err(e) => {
            changes.report(
                &at,
                Resource::KeyPolicy,
                Severity::Medium,
                format!(
                    "the key policy of {} cannot be read ({e}); c3 will not rewrite it",
                    key.key_id
                ),
            );
            return;
        }
    };
    let merge = merge_statements(ctx, &live, changes);
    let declared: BTreeSet<String> = key_policy_statements(ctx.spec, ctx.target)
        .iter()
        .filter_map(|s| s.get("Sid").and_then(|v| v.as_str()).map(str::to_string))
        .collect();
    for s in &live.statements {
        if s.sid.as_ref().is_some_and(|sid| declared.contains(sid)) {
            // c3's own statements altered so that the key is public are
            // judged with the merge (below): its repair, or a finding.
            continue;
        }
        let assessment = risk::assess_statement(s, &ctx.target.account);
        let mut detail = format!(
            "statement {} is not declared in keys.toml (kept): {}",
            statement_name(s),
            risk::describe_statement(s)
        );
        if let Some(note) = &assessment.note {
            detail.push_str(&format!("; {note}"));
        }
        changes.report(&at, Resource::KeyPolicy, assessment.severity, detail);
    }
    let still_public = if merge.updates.is_empty() {
        c3_public_statements(ctx, &live)
    } else {
        write_merged_policy(ctx, key, &live, merge, changes)
    };
    report_public_c3_statements(ctx, &live, &still_public, changes);
}

/// Adds to a copy of the live policy what the desired statements lack, and
/// reports what c3's own statements (by Sid) grant beyond them.
fn merge_statements(ctx: &KeyContext<'_>, live: &Document, changes: &mut Changes) -> Merge {
    let at = ctx.at();
    let part = partition(&ctx.target.region);
    let mut merge = Merge {
        merged: live.raw.clone(),
        updates: Vec::new(),
    };
    for raw in key_policy_statements(ctx.spec, ctx.target) {
        let Ok(desired) =
            Document::from_value(serde_json::json!({"Statement": [raw.clone()]}), part)
        else {
            continue;
        };
        let Some(want) = desired.statements.first() else {
            continue;
        };
        let sid = want.sid.clone().unwrap_or_default();
        let Some(i) = live
            .statements
            .iter()
            .position(|s| s.sid.as_deref() == Some(sid.as_str()))
        else {
            merge.updates.push(format!("add statement {sid}"));
            append_statement(&mut merge.merged, raw);
            continue;
        };
        let found = &live.statements[i];
        let (lacks, excess) = compare_statement(found, want);
        if !lacks.is_empty() {
            if found.effect != "Allow" {
                changes.report(
                    &at,
                    Resource::KeyPolicy,
                    Severity::Medium,
                    format!(
                        "statement {sid} is not an Allow: {}; c3 will not change it",
                        risk::describe_statement(found)
                    ),
                );
            } else {
                merge
                    .updates
                    .push(format!("{sid} gains {}", lacks.describe()));
                if let Some(stmt) = statement_mut(&mut merge.merged, i) {
                    add_to_statement(stmt, &lacks);
                }
            }
        }
        if !excess.is_empty() {
            let assessment = risk::assess_statement(found, &ctx.target.account);
            let mut detail = format!(
                "statement {sid} grants more than keys.toml asks for: {} (kept)",
                excess.describe()
            );
            if let Some(note) = assessment.note {
                detail.push_str(&format!("; {note}"));
            }
            changes.report(
                &at,
                Resource::KeyPolicy,
                assessment.severity.max(Severity::Medium),
                detail,
            );
        }
    }
    merge
}

/// The PutKeyPolicy of a merge, or why it is held back: c3 never writes a
/// key policy that would lock the account out, leave the key usable by
/// anyone, or exceed AWS's size limit.
/// Returns the statements of c3's that stay public: all of them when the
/// write is held back, none when it repairs them.
fn write_merged_policy(
    ctx: &KeyContext<'_>,
    key: &LiveKey,
    live: &Document,
    merge: Merge,
    changes: &mut Changes,
) -> Vec<String> {
    let at = ctx.at();
    let part = partition(&ctx.target.region);
    let Merge {
        mut merged,
        updates,
    } = merge;
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
                &at,
                Resource::KeyPolicy,
                Severity::Medium,
                format!("merged policy is invalid: {e}"),
            );
            return c3_public_statements(ctx, live);
        }
    };
    let diff = Some(PolicyDiff {
        before: live.normalized_text(),
        after: after.normalized_text(),
    });
    let mut detail = updates.join("; ");
    // A statement c3 keeps (it never removes one) that leaves the key public.
    let public: Vec<String> = after
        .statements
        .iter()
        .filter(|s| risk::public_reason(s).is_some())
        .map(statement_name)
        .collect();
    // c3's own statements that make the key public now and that this write
    // repairs (their conditions restored): the update is critical.
    let repaired: Vec<String> = c3_public_statements(ctx, live)
        .into_iter()
        .filter(|name| !public.contains(name))
        .collect();
    let severity = if repaired.is_empty() {
        Severity::Low
    } else {
        detail.push_str(&format!(
            "; until then statement {} makes the key usable by anyone",
            repaired.join(", ")
        ));
        Severity::Critical
    };
    let refusal = if public.is_empty() {
        policy::check_key_policy(&after, &ctx.target.account, part)
            .err()
            .or_else(|| {
                (text.len() > KEY_POLICY_MAX_BYTES).then(|| {
                    format!(
                        "the merged policy would be {} bytes, over AWS's limit of {KEY_POLICY_MAX_BYTES}",
                        text.len()
                    )
                })
            })
    } else {
        Some(format!(
            "held back while statement {} makes the key usable by anyone (see its row): c3 never writes a key policy that leaves a key public",
            public.join(", ")
        ))
    };
    match refusal {
        None => changes.push(
            &at,
            Resource::KeyPolicy,
            ActionKind::Update,
            severity,
            detail,
            Some(Operation::PutKeyPolicy {
                key_id: key.key_id.clone(),
                policy: text,
            }),
            diff,
        ),
        Some(why) => {
            changes.push(
                &at,
                Resource::KeyPolicy,
                ActionKind::Report,
                Severity::Low,
                format!("{detail}: not applied, {why}"),
                None,
                diff,
            );
            return c3_public_statements(ctx, live);
        }
    }
    // Written: c3's statements that stay public are those the merge keeps public.
    c3_public_statements(ctx, live)
        .into_iter()
        .filter(|name| public.contains(name))
        .collect()
}

/// The names of c3's own statements (by Sid) that make the live key public.
fn c3_public_statements(ctx: &KeyContext<'_>, live: &Document) -> Vec<String> {
    let declared: BTreeSet<String> = key_policy_statements(ctx.spec, ctx.target)
        .iter()
        .filter_map(|s| s.get("Sid").and_then(|v| v.as_str()).map(str::to_string))
        .collect();
    live.statements
        .iter()
        .filter(|s| s.sid.as_ref().is_some_and(|sid| declared.contains(sid)))
        .filter(|s| risk::public_reason(s).is_some())
        .map(statement_name)
        .collect()
}

/// A critical finding for each of c3's own statements named in
/// `still_public`: they make the key public and no write of this plan
/// repairs them.
fn report_public_c3_statements(
    ctx: &KeyContext<'_>,
    live: &Document,
    still_public: &[String],
    changes: &mut Changes,
) {
    for s in &live.statements {
        let name = statement_name(s);
        let Some(why) = risk::public_reason(s) else {
            continue;
        };
        if still_public.contains(&name) {
            changes.report(
                &ctx.at(),
                Resource::KeyPolicy,
                Severity::Critical,
                format!(
                    "statement {name} makes the key usable by anyone: {why}: {} (c3 never writes a key policy that leaves a key public)",
                    risk::describe_statement(s)
                ),
            );
        }
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

/// Whether a tag key is never compared: AWS's own, or matched by `[settings] ignore_tags`.
pub(crate) fn tag_ignored(key: &str, ignore: &[String]) -> bool {
    tag::is_aws(key) || ignore.iter().any(|g| glob_match(g, key, false))
}

fn plan_tags(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
    let at = ctx.at();
    let wanted = ctx.spec.tags();
    let missing: BTreeMap<String, String> = wanted
        .iter()
        .filter(|(k, v)| key.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .map(|(k, v)| match key.tags.get(k) {
                Some(old) => format!("{k}={v} (was {old})"),
                None => format!("{k}={v}"),
            })
            .collect();
        changes.exec(
            &at,
            Resource::Tags,
            ActionKind::Update,
            Severity::Low,
            format!("set {}", shown.join(", ")),
            Operation::TagKey {
                key_id: key.key_id.clone(),
                tags: missing,
            },
        );
    }
    for (k, v) in &key.tags {
        if !wanted.contains_key(k) && !tag_ignored(k, ctx.ignore_tags) {
            changes.report(
                &at,
                Resource::Tags,
                Severity::Low,
                format!(
                    "tag {k}={v} on key {} is not declared in keys.toml (kept; c3 never removes tags; [settings] ignore_tags stops comparing it)",
                    key.key_id
                ),
            );
        }
    }
}

/// Reports every grant of a c3 key that is not an AWS service's grant for an
/// AWS resource of the account (those are expected).
fn plan_grants(at: &At<'_>, key: &LiveKey, account: &str, changes: &mut Changes) {
    let Some(grants) = key.details.as_ref().and_then(|d| d.grants.as_ref()) else {
        return;
    };
    for g in grants
        .iter()
        .filter(|g| !risk::is_expected_service_grant(g, account))
    {
        let assessment = risk::assess_grant(g, account);
        let mut detail = format!(
            "{} on key {} is not an AWS service's grant (kept; c3 never revokes grants)",
            risk::describe_grant(g),
            key.key_id
        );
        if let Some(note) = assessment.note {
            detail.push_str(&format!("; {note}"));
        }
        changes.report(at, Resource::Grant, assessment.severity, detail);
    }
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
            Severity::Low,
            format!(
                "c3 key {} (generation {}) is no longer declared here in keys.toml; c3 never deletes keys",
                key.key_id,
                key.tag(tag::GENERATION).unwrap_or("?")
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
            Severity::Low,
            format!(
                "{} → {} is no longer declared here in keys.toml; c3 never deletes aliases",
                alias.name, key.key_id
            ),
        );
    }
}
