//! Multi-Region keys: the primary is created in its region like any key
//! (with `MultiRegion=true`); each other region of the key in the same
//! account gets a replica made from it (ReplicateKey), with its own key
//! policy, tags and alias. Replica regions are planned after every primary
//! region ([`Phase`]), so a replica knows whether its primary exists or is
//! created by this plan.
//!
//! A primary that is missing while replicas of it exist is reported, never
//! re-created: a new primary would not be the replicas' primary, and making
//! a replica the primary (UpdatePrimaryRegion) is a person's decision.

use super::{c3_keys, KeyContext};
use crate::model::{KeySpec, KeyState, LiveKey, RegionSnapshot, Target};
use crate::plan::action::{KeyRef, Operation};
use crate::plan::{ActionKind, Changes, PolicyDiff, Resource, Severity};

/// Which keys of a target a pass plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Every key whose primary (or only) copy lives in the target; c3
    /// resources no longer declared are reported here.
    Primaries,
    /// The replicas of multi-Region keys whose primary lives elsewhere.
    Replicas,
}

impl Phase {
    /// Whether this pass plans `spec` in `target`.
    pub(crate) fn plans(self, spec: &KeySpec, target: &Target) -> bool {
        spec.key_type.is_replica_region(&target.region) == (self == Self::Replicas)
    }
}

/// The key of the declared generation in a snapshot: the one the alias
/// points at when it has that generation, else the oldest.
pub(crate) fn current_in<'a>(snapshot: &'a RegionSnapshot, spec: &KeySpec) -> Option<&'a LiveKey> {
    let ours: Vec<&LiveKey> = c3_keys(snapshot, &spec.name)
        .into_iter()
        .filter(|k| k.c3_generation() == Some(spec.generation))
        .collect();
    let alias_target = snapshot
        .alias(&spec.alias())
        .and_then(|a| a.target_key_id.as_deref());
    ours.iter()
        .copied()
        .find(|k| Some(k.key_id.as_str()) == alias_target)
        .or_else(|| ours.first().copied())
}

/// The primary a replica is made from.
enum Primary<'a> {
    /// It exists.
    Existing(&'a LiveKey),
    /// This plan creates it.
    New,
    /// Neither: why, in words.
    Missing(String),
    /// No replica can be made from it until a person or another row acts
    /// (its region is not the account's, or AWS cannot replicate it in its
    /// state): what to do, in words.
    Blocked(String),
}

fn primary<'a>(ctx: &KeyContext<'a>) -> Primary<'a> {
    let spec = ctx.spec;
    let region = spec.key_type.primary_region.as_deref().unwrap_or_default();
    let t = Target::new(&ctx.target.account, region);
    if !spec.targets.contains(&t) {
        return Primary::Blocked(format!(
            "no replica of generation {} can be made here: the primary region {region} is not a region of key {} in account {}, so this account has no key; add {region} to the account's regions, or set primary_region to a region every account of the key has",
            spec.generation, spec.name, ctx.target.account
        ));
    }
    let Some(Ok(snapshot)) = ctx.live.regions.get(&t) else {
        return Primary::Missing(format!("the primary's region {region} was not read"));
    };
    if let Some(k) = current_in(snapshot, spec) {
        let state = k.details.as_ref().map(|d| &d.state);
        return match state {
            Some(KeyState::Enabled | KeyState::Disabled) | None => Primary::Existing(k),
            Some(state) => Primary::Blocked(format!(
                "no replica of generation {} is made here yet: its primary, key {} in {region}, is {state} and AWS replicates only an Enabled or Disabled key; once the primary is restored (see its row there), the next apply makes the replica",
                spec.generation, k.key_id
            )),
        };
    }
    let created = ctx
        .created
        .get(&(ctx.target.account.clone(), spec.name.clone()))
        .is_some_and(|list| {
            list.iter()
                .any(|(r, g)| r == region && *g == spec.generation)
        });
    if created {
        Primary::New
    } else {
        Primary::Missing(format!(
            "this plan creates no primary of generation {} in {region} (see the rows of {region})",
            spec.generation
        ))
    }
}

/// The replica of a multi-Region key in a replica region that has none;
/// returns the generation it creates.
pub(super) fn create(ctx: &KeyContext<'_>, changes: &mut Changes) -> Option<u32> {
    let spec = ctx.spec;
    let at = ctx.at();
    let region = spec.key_type.primary_region.clone().unwrap_or_default();
    let (primary, shown) = match primary(ctx) {
        Primary::Existing(k) if !k.details.as_ref().is_some_and(|d| d.multi_region) => {
            changes.report(
                &at,
                Resource::Key,
                Severity::Low,
                format!(
                    "no replica of generation {} can be made here: key {} in {region} is not a multi-Region key (see its row there); needs a new key: bump `generation`",
                    spec.generation, k.key_id
                ),
            );
            return None;
        }
        Primary::Existing(k) => (KeyRef::existing(&k.key_id), format!("key {}", k.key_id)),
        Primary::New => (
            KeyRef::New {
                generation: spec.generation,
            },
            "the new primary".to_string(),
        ),
        Primary::Blocked(what) => {
            changes.report(&at, Resource::Key, Severity::Medium, what);
            return None;
        }
        Primary::Missing(why) => {
            changes.report(
                &at,
                Resource::Key,
                Severity::Info,
                format!(
                    "no replica of generation {} is made here yet: {why}",
                    spec.generation
                ),
            );
            return None;
        }
    };
    let wanted = ctx.wanted;
    let replicate = changes.exec(
        &at,
        Resource::Key,
        ActionKind::Create,
        Severity::Info,
        format!(
            "replicate {} key from {region} ({shown}), generation {}, {} key policy statements{}",
            spec.key_type.words(),
            spec.generation,
            wanted.statements.len(),
            super::alias::other_accounts(wanted, &ctx.target.account)
        ),
        Operation::ReplicateKey {
            generation: spec.generation,
            primary_region: region,
            primary,
            description: spec.description.clone(),
            policy: wanted.text.clone(),
            tags: spec.tags(),
        },
    );
    replicate.diff = Some(PolicyDiff {
        before: String::new(),
        after: wanted.normalized.clone(),
    });
    Some(spec.generation)
}

/// Why the primary of a multi-Region key is not created in its region
/// although none is there: replicas of that generation exist elsewhere in
/// the account. `None` when it may be created.
pub(super) fn primary_missing(ctx: &KeyContext<'_>) -> Option<String> {
    let spec = ctx.spec;
    spec.key_type.primary_region.as_ref()?;
    let replicas: Vec<String> = spec
        .targets
        .iter()
        .filter(|t| t.account == ctx.target.account && t.region != ctx.target.region)
        .filter_map(|t| match ctx.live.regions.get(t) {
            Some(Ok(snapshot)) => current_in(snapshot, spec)
                .filter(|k| k.details.as_ref().is_some_and(|d| d.multi_region))
                .map(|k| format!("{} in {}", k.key_id, t.region)),
            _ => None,
        })
        .collect();
    if replicas.is_empty() {
        return None;
    }
    Some(format!(
        "the primary of multi-Region key {} (generation {}) is missing here while its replicas exist ({}): c3 creates no other primary, whose replicas these would not be; make a replica the primary (UpdatePrimaryRegion, a person's decision that c3 never makes) and set primary_region to its region, or bump `generation`",
        spec.name,
        spec.generation,
        replicas.join(", ")
    ))
}

/// `" (primary; replicas in eu-central-1, us-east-1)"` for the primary of a
/// multi-Region key; empty otherwise.
pub(super) fn replicas_note(ctx: &KeyContext<'_>) -> String {
    if !ctx.spec.key_type.multi_region() {
        return String::new();
    }
    let others: Vec<&str> = ctx
        .spec
        .targets
        .iter()
        .filter(|t| t.account == ctx.target.account && t.region != ctx.target.region)
        .map(|t| t.region.as_str())
        .collect();
    if others.is_empty() {
        " (primary; no replica)".to_string()
    } else {
        format!(" (primary; replicas in {})", others.join(", "))
    }
}
