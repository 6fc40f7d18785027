//! Planning one (account, region): keys, aliases, rotation, key policies,
//! tags, grants and key states.
//!
//! c3 writes only to a key tagged `c3:managed=true` whose `c3:name` is the
//! name it plans, and to `alias/<name>` when the alias is missing or points
//! at such a key (design.md, "Ownership"). Anything else that stands in the
//! way is a conflict, reported and never touched.
//!
//! Each key is first looked at ([`KeyView`]: which keys of its name are
//! c3's, which lost the tag, where the alias points, which key is current),
//! then each part is planned from that view: the key and its alias
//! ([`alias`]), its state, description and rotation ([`state`]), its policy
//! ([`key_policy`]), its tags and grants, and what the file no longer
//! declares ([`findings`]).

mod alias;
mod findings;
mod immutable;
mod key_policy;
mod replica;
mod state;

use super::desired::WantedKeyPolicy;
use super::iam::KeysToCreate;
use super::{At, Changes, Resource, Severity};
use crate::model::{
    DesiredState, KeyOwner, KeySpec, LiveAlias, LiveKey, LiveState, RegionSnapshot, Target,
};

pub(crate) use findings::tag_ignored;
pub(crate) use replica::{current_in, Phase};

/// What every key of a target is planned against: the whole live state (a
/// replica looks at its primary's region) and the keys the first pass
/// ([`Phase::Primaries`]) creates.
pub(crate) struct Around<'a> {
    pub(crate) live: &'a LiveState,
    pub(crate) created: &'a KeysToCreate,
    pub(crate) phase: Phase,
}

/// Plans every declared key of one target, then reports c3 resources the file
/// no longer declares there. Returns the (key name, generation) of every key
/// the plan creates.
pub(crate) fn plan_target(
    desired: &DesiredState,
    target: &Target,
    snapshot: &RegionSnapshot,
    around: &Around<'_>,
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
    for spec in declared
        .iter()
        .filter(|k| desired.scope.key(&k.name) && around.phase.plans(k, target))
    {
        let wanted = WantedKeyPolicy::new(spec, target);
        let ctx = KeyContext {
            spec,
            target,
            snapshot,
            wanted: &wanted,
            ignore_tags: &desired.settings.ignore_tags,
            live: around.live,
            created: around.created,
        };
        if let Some(generation) = plan_key(&ctx, changes) {
            created.push((spec.name.clone(), generation));
        }
    }
    if around.phase == Phase::Primaries {
        findings::report_orphans(desired, &declared, target, snapshot, changes);
    }
    created
}

/// What planning one key of one target looks at.
struct KeyContext<'a> {
    spec: &'a KeySpec,
    target: &'a Target,
    snapshot: &'a RegionSnapshot,
    /// The key policy c3 wants here, built once.
    wanted: &'a WantedKeyPolicy,
    ignore_tags: &'a [String],
    /// Everything read (a replica's primary lives in another region).
    live: &'a LiveState,
    /// The keys the first pass creates, per (account, key name).
    created: &'a KeysToCreate,
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

/// What stands under one key name in one target: the decision every part
/// of the key's plan starts from.
struct KeyView<'a> {
    /// The c3 keys of the name, oldest first.
    ours: Vec<&'a LiveKey>,
    /// Keys that carry `c3:name=<name>` but not `c3:managed=true`, by key id.
    lost: Vec<&'a LiveKey>,
    /// `alias/<name>`, if it exists.
    alias: Option<&'a LiveAlias>,
    /// The key id the alias points at.
    alias_target: Option<&'a str>,
    /// The c3 key of the name the alias points at.
    alias_on_ours: Option<&'a LiveKey>,
    /// The key of the declared generation: the alias target if it has it,
    /// else the oldest.
    current: Option<&'a LiveKey>,
    /// Other c3 keys of the declared generation (not used).
    duplicates: Vec<&'a LiveKey>,
}

impl<'a> KeyView<'a> {
    fn look(ctx: &KeyContext<'a>) -> Self {
        let spec = ctx.spec;
        let ours = c3_keys(ctx.snapshot, &spec.name);
        let alias = ctx.snapshot.alias(&spec.alias());
        let alias_target = alias.and_then(|a| a.target_key_id.as_deref());
        let alias_on_ours =
            alias_target.and_then(|id| ours.iter().copied().find(|k| k.key_id == id));
        let mut of_generation: Vec<&LiveKey> = ours
            .iter()
            .copied()
            .filter(|k| k.c3_generation() == Some(spec.generation))
            .collect();
        let current = alias_on_ours
            .filter(|k| k.c3_generation() == Some(spec.generation))
            .or_else(|| of_generation.first().copied());
        of_generation.retain(|k| Some(k.key_id.as_str()) != current.map(|c| c.key_id.as_str()));
        Self {
            lost: lost_keys(ctx.snapshot, &spec.name),
            ours,
            alias,
            alias_target,
            alias_on_ours,
            current,
            duplicates: of_generation,
        }
    }

    /// Whether `key` is the current key.
    fn is_current(&self, key: &LiveKey) -> bool {
        self.current.is_some_and(|c| c.key_id == key.key_id)
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

/// Plans one key of one target; returns the generation it creates, if any.
fn plan_key(ctx: &KeyContext<'_>, changes: &mut Changes) -> Option<u32> {
    let at = ctx.at();
    let view = KeyView::look(ctx);
    for dup in &view.duplicates {
        changes
            .report(
                &at,
                Resource::Key,
                Severity::Low,
                format!(
                    "key {} is a second c3 key of generation {} (not used; c3 never deletes keys)",
                    dup.key_id, ctx.spec.generation
                ),
            )
            .about(dup.key_id.as_str());
    }
    let creates = alias::plan(ctx, &view, changes);
    // Every c3 key of this name is kept usable: restore Disabled / PendingDeletion.
    for key in &view.ours {
        let is_current = view.is_current(key);
        state::plan_state(ctx.spec, key, is_current, &at, changes);
        findings::plan_grants(&at, key, &ctx.target.account, changes);
        if !is_current {
            findings::report_public_statements(ctx, key, changes);
        }
    }
    if let Some(cur) = view.current {
        if let Some(details) = &cur.details {
            state::plan_description(ctx.spec, cur, &details.description, &at, changes);
            // A replica shares its primary's rotation, set on the primary only:
            // not in a replica region, nor on a key that is live a replica
            // (after UpdatePrimaryRegion; reported by immutable::report).
            let live_replica = details.multi_region
                && details
                    .primary_region
                    .as_deref()
                    .is_some_and(|r| r != ctx.target.region);
            if !ctx.spec.key_type.is_replica_region(&ctx.target.region) && !live_replica {
                state::plan_rotation(ctx.spec, cur, &at, changes);
            }
            immutable::report(ctx, cur, changes);
            key_policy::plan(ctx, cur, changes);
            findings::plan_tags(ctx, cur, changes);
        }
    }
    creates
}

/// `"Sid"`, or `without a Sid`.
fn statement_name(s: &crate::policy::Statement) -> String {
    s.sid
        .as_deref()
        .map_or("without a Sid".to_string(), |sid| format!("{sid:?}"))
}
