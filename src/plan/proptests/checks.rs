//! What the properties check of a plan: that it only adds
//! ([`check_additive`]), that one apply converges ([`check_converges`]),
//! that it writes only to what is c3's ([`check_ownership`]), that AWS would
//! accept its writes ([`check_no_doomed_writes`]), that it never opens a key
//! to anyone and says so when a key is ([`check_public_keys`]), and that
//! every change's severity fits what it is about ([`check_severity`]).

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use super::generators::{shuffle, Rng};
use super::simulate::{names_resources, simulate};
use super::world::{observe, World};
use crate::model::*;
use crate::plan::{plan, ActionKind, Change, KeyRef, Operation, Plan, Resource, Severity};
use crate::policy::risk::{classify, is_expected_service_grant, public_reason, Principal};
use crate::policy::{compare_statement, glob_match, Document, Statement};

// ------------------------------------------------- additive and convergence

fn spec_of<'a>(d: &'a DesiredState, name: &str) -> Result<&'a KeySpec, TestCaseError> {
    d.keys
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| TestCaseError::fail(format!("a change for undeclared key {name}")))
}

fn region_of<'a>(live: &'a LiveState, c: &Change) -> Result<&'a RegionSnapshot, TestCaseError> {
    let region = c
        .region
        .as_deref()
        .ok_or_else(|| TestCaseError::fail("a key operation without a region"))?;
    match live.regions.get(&Target::new(&c.account, region)) {
        Some(Ok(s)) => Ok(s),
        _ => Err(TestCaseError::fail(
            "a change for a target that was not read",
        )),
    }
}

/// The live state as the plan's adoptions leave it: c3's tags on each key
/// and policy the plan adopts. Each adoption is checked first against
/// design.md ("Import and adoption", "Ownership"), on what c3 read: only a
/// key with `adopt = true`, the key behind its alias, of no other name, one
/// c3 can keep (single-Region, symmetric, key material from KMS, not pending
/// deletion); only a policy of its names at the policy path that carries no
/// other name's tag. Only what is adopted so becomes c3's.
pub(super) fn adopted(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<LiveState, TestCaseError> {
    let mut after = live.clone();
    for c in p.executable() {
        match c.operation() {
            Some(Operation::AdoptKey { key_id, tags }) => {
                let spec = spec_of(d, &c.key)?;
                prop_assert!(
                    spec.adopt,
                    "AdoptKey for {} without adopt = true",
                    spec.name
                );
                prop_assert_eq!(tags, &adopt_tags(spec));
                let snap = region_of(live, c)?;
                let behind = snap
                    .alias(&spec.alias())
                    .and_then(|a| a.target_key_id.as_deref());
                prop_assert_eq!(
                    behind,
                    Some(key_id.as_str()),
                    "AdoptKey of a key not behind the alias"
                );
                let key = snap
                    .key(key_id)
                    .ok_or_else(|| TestCaseError::fail("AdoptKey of a key not read"))?;
                let owner = key.owner();
                prop_assert!(
                    owner == KeyOwner::Other || owner == KeyOwner::LostManaged { name: &spec.name },
                    "AdoptKey of {} owned by {:?}",
                    key_id,
                    owner
                );
                let det = key
                    .details
                    .as_ref()
                    .ok_or_else(|| TestCaseError::fail("AdoptKey of a key not read in full"))?;
                let kind_ok = crate::model::key_type::usages_of(&det.spec)
                    .is_some_and(|u| u.contains(&det.usage.as_str()));
                prop_assert!(
                    kind_ok
                        && det.origin == "AWS_KMS"
                        && det.custom_key_store_id.is_none()
                        && det.state != KeyState::PendingDeletion,
                    "AdoptKey of a key c3 cannot keep: {:?}",
                    det
                );
                let Some(Ok(snap)) = after.regions.get_mut(&Target::new(
                    &c.account,
                    c.region.as_deref().unwrap_or_default(),
                )) else {
                    return Err(TestCaseError::fail("no region"));
                };
                if let Some(k) = snap.keys.iter_mut().find(|k| &k.key_id == key_id) {
                    k.tags.extend(tags.clone());
                }
            }
            Some(Operation::AdoptPolicy { arn, name, tags }) => {
                let spec = spec_of(d, &c.key)?;
                prop_assert!(
                    spec.adopt,
                    "AdoptPolicy for {} without adopt = true",
                    spec.name
                );
                let kind = PolicyKind::parse_name(name).filter(|(_, k)| *k == spec.name);
                prop_assert!(
                    kind.is_some_and(|(kind, _)| spec.keeps_policy(kind)),
                    "AdoptPolicy of {}, not a listed policy of {}",
                    name,
                    spec.name
                );
                let acc = account_of(live, c)?;
                let policy = acc.policies.iter().find(|p| &p.arn == arn);
                prop_assert!(
                    policy.is_some_and(|p| p.path == d.settings.policy_path
                        && &p.name == name
                        && p.tags
                            .as_ref()
                            .is_some_and(|t| !tag::owned_by(t, &spec.name)
                                && t.get(tag::NAME).is_none_or(|n| *n == spec.name))),
                    "AdoptPolicy of {:?}",
                    policy
                );
                let Some(Ok(acc)) = after.accounts.get_mut(&c.account) else {
                    return Err(TestCaseError::fail("no account"));
                };
                if let Some(p) = acc.policies.iter_mut().find(|p| &p.arn == arn) {
                    p.tags
                        .get_or_insert_with(Default::default)
                        .extend(tags.clone());
                }
            }
            _ => {}
        }
    }
    Ok(after)
}

/// c3's four tags on a key adopted for `spec`.
fn adopt_tags(spec: &KeySpec) -> std::collections::BTreeMap<String, String> {
    spec.tags()
        .into_iter()
        .filter(|(k, _)| k.starts_with(tag::PREFIX))
        .collect()
}

/// The c3 key of this change's name with this id.
fn own_key<'a>(
    snap: &'a RegionSnapshot,
    c: &Change,
    id: &str,
) -> Result<&'a LiveKey, TestCaseError> {
    snap.key(id)
        .filter(|k| k.c3_name() == Some(c.key.as_str()))
        .ok_or_else(|| TestCaseError::fail(format!("{id} is not a c3 key named {}", c.key)))
}

/// Whether a key reference names a c3 key of this change's name: an existing
/// one, or the one this plan creates for the same target.
fn refers_to_own_key(p: &Plan, snap: &RegionSnapshot, c: &Change, key: &KeyRef) -> bool {
    match key {
        KeyRef::Existing { key_id } => snap
            .key(key_id)
            .is_some_and(|k| k.c3_name() == Some(c.key.as_str())),
        KeyRef::New { generation } => p.changes.iter().any(|o| {
            o.account == c.account
                && o.region == c.region
                && o.key == c.key
                && matches!(
                    o.operation(),
                    Some(
                        Operation::CreateKey { generation: g, .. }
                            | Operation::ReplicateKey { generation: g, .. }
                    ) if g == generation
                )
        }),
    }
}

/// (action, resource, condition) of every plain Allow of a document.
fn grants(doc: &Document) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for s in doc.statements.iter().filter(|s| s.is_plain_allow()) {
        let (Some(actions), Some(resources)) = (&s.action, &s.resource) else {
            continue;
        };
        let condition = s
            .to_value()
            .get("Condition")
            .map(Value::to_string)
            .unwrap_or_default();
        for a in actions.iter() {
            for r in resources {
                out.insert((a.to_string(), r.clone(), condition.clone()));
            }
        }
    }
    out
}

/// Property (a): every executable change only adds.
pub(super) fn check_additive(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<(), TestCaseError> {
    let adopted = adopted(d, live, p)?;
    let live = &adopted;
    for c in &p.changes {
        prop_assert_eq!(c.executable(), c.operation().is_some(), "{:?}", c);
        if !c.executable() {
            prop_assert!(
                matches!(c.action(), ActionKind::Report | ActionKind::Conflict),
                "a non-executable change that is not a report: {:?}",
                c
            );
            continue;
        }
        prop_assert!(
            !matches!(c.action(), ActionKind::Report | ActionKind::Conflict),
            "an executable report: {:?}",
            c
        );
        let Some(op) = c.operation() else {
            continue;
        };
        let spec = spec_of(d, &c.key)?;
        match op {
            // Checked (and made c3's) by `adopted`.
            Operation::AdoptKey { .. } | Operation::AdoptPolicy { .. } => {}
            Operation::CreateKey {
                generation, tags, ..
            }
            | Operation::ReplicateKey {
                generation, tags, ..
            } => {
                let snap = region_of(live, c)?;
                prop_assert!(spec.enabled, "CreateKey for a key with enabled = false");
                prop_assert_eq!(*generation, spec.generation);
                prop_assert_eq!(tags, &spec.tags());
                prop_assert!(
                    !snap
                        .keys
                        .iter()
                        .any(|k| k.c3_name() == Some(spec.name.as_str())
                            && k.c3_generation() == Some(*generation)),
                    "CreateKey while a c3 key of {} generation {} exists",
                    spec.name,
                    generation
                );
                let alias = snap.alias(&spec.alias());
                prop_assert!(
                    alias.is_none_or(|a| a
                        .target_key_id
                        .as_deref()
                        .and_then(|id| snap.key(id))
                        .is_some_and(|k| k.c3_name() == Some(spec.name.as_str()))),
                    "CreateKey behind an alias that c3 does not own"
                );
            }
            Operation::CreateAlias { alias, key } => {
                let snap = region_of(live, c)?;
                prop_assert_eq!(alias, &spec.alias());
                prop_assert!(
                    snap.alias(alias).is_none(),
                    "CreateAlias of an existing alias"
                );
                prop_assert!(
                    refers_to_own_key(p, snap, c, key),
                    "alias to another key: {:?}",
                    key
                );
            }
            Operation::UpdateAlias { alias, key } => {
                let snap = region_of(live, c)?;
                prop_assert_eq!(alias, &spec.alias());
                let from = snap
                    .alias(alias)
                    .and_then(|a| a.target_key_id.as_deref())
                    .and_then(|id| snap.key(id));
                prop_assert!(
                    from.is_some_and(|k| k.c3_name() == Some(spec.name.as_str())),
                    "UpdateAlias takes an alias c3 does not own"
                );
                prop_assert!(
                    refers_to_own_key(p, snap, c, key),
                    "alias to another key: {:?}",
                    key
                );
                if let (Some(from), KeyRef::Existing { key_id }) = (from, key) {
                    prop_assert_ne!(&from.key_id, key_id, "UpdateAlias to where it points");
                }
            }
            Operation::EnableRotation {
                key_id,
                rotation_days,
            } => {
                own_key(region_of(live, c)?, c, key_id)?;
                prop_assert_eq!(*rotation_days, spec.rotation_days);
            }
            Operation::PutKeyPolicy { key_id, policy } => {
                let key = own_key(region_of(live, c)?, c, key_id)?;
                let region = c.region.as_deref().unwrap_or_default();
                let part = partition(region);
                let old_text = key
                    .details
                    .as_ref()
                    .and_then(|det| det.policy.as_deref())
                    .ok_or_else(|| {
                        TestCaseError::fail("PutKeyPolicy on a key whose policy was not read")
                    })?;
                let old = Document::parse(old_text, part)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let new = Document::parse(policy, part)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(new.statements.len() >= old.statements.len());
                for s in &old.statements {
                    let kept = new.statements.iter().any(|n| {
                        n.sid == s.sid
                            && n.effect == s.effect
                            && n.not_principal == s.not_principal
                            && n.not_action == s.not_action
                            && n.not_resource == s.not_resource
                            && compare_statement(n, s).0.is_empty()
                    });
                    prop_assert!(
                        kept,
                        "statement {:?} is lost or narrowed in\n{}",
                        s.to_value(),
                        policy
                    );
                }
                // A statement added to a live policy only grants: a Deny
                // (declared in keys.toml or not) would take permissions away.
                for n in &new.statements {
                    if !old.statements.iter().any(|s| s.sid == n.sid) {
                        prop_assert!(
                            n.effect == "Allow",
                            "PutKeyPolicy adds {:?}, which takes permissions away",
                            n.to_value()
                        );
                    }
                }
            }
            Operation::TagKey { key_id, tags } => {
                let key = own_key(region_of(live, c)?, c, key_id)?;
                prop_assert!(!tags.is_empty(), "TagKey with no tag");
                let wanted = spec.tags();
                for (k, v) in tags {
                    prop_assert_eq!(wanted.get(k), Some(v), "tag {} is not declared", k);
                    prop_assert!(
                        k != tag::MANAGED && k != tag::NAME,
                        "TagKey rewrites {} of {}",
                        k,
                        key.key_id
                    );
                }
            }
            Operation::UpdateDescription {
                key_id,
                description,
            } => {
                own_key(region_of(live, c)?, c, key_id)?;
                prop_assert_eq!(description, &spec.description);
            }
            Operation::Restore {
                key_id,
                cancel_deletion,
                enable,
            } => {
                let key = own_key(region_of(live, c)?, c, key_id)?;
                let state = key.details.as_ref().map(|det| det.state.clone());
                prop_assert_eq!(*cancel_deletion, state == Some(KeyState::PendingDeletion));
                prop_assert!(!*enable || spec.enabled, "EnableKey with enabled = false");
                prop_assert!(
                    matches!(state, Some(KeyState::Disabled | KeyState::PendingDeletion)),
                    "Restore of a {:?} key",
                    state
                );
            }
            Operation::CreatePolicy {
                name, path, tags, ..
            } => {
                prop_assert!(c.region.is_none());
                let Some(Ok(acc)) = live.accounts.get(&c.account) else {
                    return Err(TestCaseError::fail("no account snapshot"));
                };
                prop_assert!(
                    acc.policy(name).is_none(),
                    "CreatePolicy of an existing policy"
                );
                prop_assert_eq!(
                    PolicyKind::parse_name(name).map(|(_, k)| k),
                    Some(c.key.as_str())
                );
                prop_assert_eq!(path, &d.settings.policy_path);
                prop_assert_eq!(tags.get(tag::MANAGED).map(String::as_str), Some("true"));
            }
            Operation::UpdatePolicy {
                arn,
                document,
                prune_version,
            } => {
                prop_assert!(c.region.is_none());
                let Some(Ok(acc)) = live.accounts.get(&c.account) else {
                    return Err(TestCaseError::fail("no account snapshot"));
                };
                let live_policy = acc
                    .policies
                    .iter()
                    .find(|p| &p.arn == arn)
                    .ok_or_else(|| TestCaseError::fail("UpdatePolicy of an unknown policy"))?;
                prop_assert_eq!(
                    PolicyKind::parse_name(&live_policy.name).map(|(_, k)| k),
                    Some(c.key.as_str())
                );
                let old = Document::parse(&live_policy.document, "aws")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let new = Document::parse(document, "aws")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let new_grants = grants(&new);
                for (a, r, cond) in grants(&old) {
                    let covered = new_grants.iter().any(|(na, nr, nc)| {
                        *nc == cond && glob_match(na, &a, true) && glob_match(nr, &r, false)
                    });
                    prop_assert!(
                        covered,
                        "UpdatePolicy drops {} on {} ({})\n{}",
                        a,
                        r,
                        cond,
                        document
                    );
                }
                let new_values: Vec<Value> =
                    new.statements.iter().map(Statement::to_value).collect();
                for s in old.statements.iter().filter(|s| !s.is_plain_allow()) {
                    prop_assert!(
                        new_values.contains(&s.to_value()),
                        "UpdatePolicy drops {:?}",
                        s.to_value()
                    );
                }
                match prune_version {
                    None => {
                        prop_assert!(live_policy.versions.len() < 5, "no prune at five versions");
                    }
                    Some(v) => {
                        prop_assert!(
                            live_policy.versions.len() >= 5,
                            "a prune below five versions"
                        );
                        prop_assert!(
                            live_policy
                                .versions
                                .iter()
                                .any(|x| &x.id == v && !x.is_default),
                            "prune of {} which is not a non-default version",
                            v
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

type Row = (String, Option<String>, String, Resource, ActionKind, String);

fn reported(p: &Plan, ignore: &[String]) -> BTreeSet<Row> {
    p.changes
        .iter()
        .filter(|c| !c.executable())
        .filter(|c| !ignore.iter().any(|id| c.detail.contains(id.as_str())))
        .map(|c| {
            (
                c.account.clone(),
                c.region.clone(),
                c.key.clone(),
                c.resource,
                c.action(),
                c.detail.clone(),
            )
        })
        .collect()
}

pub(super) fn show(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| {
            format!(
                "  {} {} {} {} {} exec={} {} {}",
                c.account,
                c.region.as_deref().unwrap_or("iam"),
                c.key,
                c.resource,
                c.action(),
                c.executable(),
                c.severity,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Property (b): applying a plan once leaves nothing executable, and the same
/// findings (except about keys the apply created).
pub(super) fn check_converges(d: &DesiredState, w: &World, p1: &Plan) -> Result<(), TestCaseError> {
    let (after, created) = simulate(w, p1)
        .map_err(|e| TestCaseError::fail(format!("apply fails: {e}\nplan:\n{}", show(p1))))?;
    let p2 = plan(d, &observe(d, &after));
    prop_assert!(p2.errors.is_empty(), "{:?}", p2.errors);
    prop_assert!(
        !p2.has_executable(),
        "a second apply is needed:\nfirst plan:\n{}\nsecond plan:\n{}",
        show(p1),
        show(&p2)
    );
    let ids: Vec<String> = created.values().map(|(_, id, _)| id.clone()).collect();
    let (r1, mut r2) = (reported(p1, &ids), reported(&p2, &ids));
    // A restore makes readable what was not (rotation of a PendingDeletion
    // key): findings about it may appear, nothing executable.
    let before = observe(d, w);
    r2.retain(|row| {
        let (account, region, key, resource, _, _) = row;
        let unreadable = *resource == Resource::Rotation
            && region.as_ref().is_some_and(|r| {
                matches!(before.regions.get(&Target::new(account, r)), Some(Ok(snap))
                    if snap.keys.iter().any(|k| k.c3_name() == Some(key.as_str())
                        && k.details.as_ref().is_some_and(|det| det.rotation.is_none())))
            });
        !unreadable || r1.contains(row)
    });
    prop_assert_eq!(
        &r1,
        &r2,
        "findings differ after apply:\nfirst plan:\n{}\nsecond plan:\n{}",
        show(p1),
        show(&p2)
    );
    Ok(())
}

pub(super) fn permuted(live: &LiveState, seed: u64) -> LiveState {
    let mut rng = Rng(seed);
    let mut out = live.clone();
    for snap in out.regions.values_mut().flatten() {
        shuffle(&mut snap.keys, &mut rng);
        shuffle(&mut snap.aliases, &mut rng);
    }
    for acc in out.accounts.values_mut().flatten() {
        shuffle(&mut acc.policies, &mut rng);
        shuffle(&mut acc.others, &mut rng);
    }
    out
}

// ------------------------------------------------------------------ ownership

/// Every (target, declared key, snapshot) of a target that was read.
fn declared_targets<'a>(
    d: &'a DesiredState,
    live: &'a LiveState,
) -> Vec<(&'a Target, &'a KeySpec, &'a RegionSnapshot)> {
    d.keys
        .iter()
        .flat_map(|spec| spec.targets.iter().map(move |t| (t, spec)))
        .filter_map(|(t, spec)| match live.regions.get(t) {
            Some(Ok(snap)) => Some((t, spec, snap)),
            _ => None,
        })
        .collect()
}

/// The c3 keys of a key name in a snapshot, as the ownership rule has it.
fn ours<'a>(snap: &'a RegionSnapshot, name: &'a str) -> impl Iterator<Item = &'a LiveKey> {
    snap.keys
        .iter()
        .filter(move |k| k.owner() == KeyOwner::C3 { name })
}

fn account_of<'a>(live: &'a LiveState, c: &Change) -> Result<&'a AccountSnapshot, TestCaseError> {
    match live.accounts.get(&c.account) {
        Some(Ok(a)) => Ok(a),
        _ => Err(TestCaseError::fail("no account snapshot")),
    }
}

/// Whom the key an alias points at belongs to (`None`: no such key in view).
fn alias_owner<'a>(snap: &'a RegionSnapshot, alias: &str) -> Option<KeyOwner<'a>> {
    snap.alias(alias)
        .and_then(|a| a.target_key_id.as_deref())
        .and_then(|id| snap.key(id))
        .map(LiveKey::owner)
}

/// c3 writes only to what is provably its own (design.md, "Ownership"),
/// judged on what it read; everything else in the way is a conflict, never
/// executable, at least high.
pub(super) fn check_ownership(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<(), TestCaseError> {
    // What the plan adopts (each adoption checked) is c3's from then on;
    // nothing else is.
    let adopted = adopted(d, live, p)?;
    let live = &adopted;
    for c in p
        .changes
        .iter()
        .filter(|c| c.action() == ActionKind::Conflict)
    {
        prop_assert!(!c.executable(), "an executable conflict: {:?}", c);
        prop_assert!(
            c.severity >= Severity::High,
            "a conflict below high: {:?}",
            c
        );
    }
    for c in p.executable() {
        let Some(op) = c.operation() else {
            continue;
        };
        let mine = KeyOwner::C3 { name: &c.key };
        match op {
            // Checked (and made c3's) by `adopted`.
            Operation::AdoptKey { .. } | Operation::AdoptPolicy { .. } => {}
            Operation::EnableRotation { key_id, .. }
            | Operation::PutKeyPolicy { key_id, .. }
            | Operation::TagKey { key_id, .. }
            | Operation::UpdateDescription { key_id, .. }
            | Operation::Restore { key_id, .. } => {
                let snap = region_of(live, c)?;
                let owner = snap.key(key_id).map(LiveKey::owner);
                prop_assert_eq!(
                    owner,
                    Some(mine),
                    "{} writes to key {}, which is not c3's key {}",
                    op.api_name(),
                    key_id,
                    &c.key
                );
            }
            Operation::CreateKey { .. } | Operation::ReplicateKey { .. } => {
                let snap = region_of(live, c)?;
                let alias = format!("alias/{}", c.key);
                if snap.alias(&alias).is_some() {
                    prop_assert_eq!(
                        alias_owner(snap, &alias),
                        Some(mine),
                        "CreateKey while {} points at a key that is not c3's",
                        alias
                    );
                }
                let lost: Vec<&str> = snap
                    .keys
                    .iter()
                    .filter(|k| k.owner() == KeyOwner::LostManaged { name: &c.key })
                    .map(|k| k.key_id.as_str())
                    .collect();
                prop_assert!(
                    lost.is_empty(),
                    "CreateKey while {:?} carry {}={} without {}=true",
                    lost,
                    tag::NAME,
                    &c.key,
                    tag::MANAGED
                );
            }
            Operation::CreateAlias { alias, .. } => {
                let snap = region_of(live, c)?;
                prop_assert!(
                    snap.alias(alias).is_none(),
                    "CreateAlias of an existing {}",
                    alias
                );
            }
            Operation::UpdateAlias { alias, .. } => {
                let snap = region_of(live, c)?;
                prop_assert_eq!(
                    alias_owner(snap, alias),
                    Some(mine),
                    "UpdateAlias of {}, which does not point at a c3 key of {}",
                    alias,
                    &c.key
                );
            }
            Operation::UpdatePolicy { arn, .. } => {
                let acc = account_of(live, c)?;
                let policy = acc.policies.iter().find(|p| &p.arn == arn);
                prop_assert!(
                    policy.is_some_and(|p| p.path == d.settings.policy_path
                        && p.is_owned_by(&c.key)
                        && PolicyKind::parse_name(&p.name).is_some_and(|(_, k)| k == c.key)),
                    "UpdatePolicy of {}, which is not c3's policy of {}: {:?}",
                    arn,
                    &c.key,
                    policy
                );
            }
            Operation::CreatePolicy { name, .. } => {
                let acc = account_of(live, c)?;
                let taken: Vec<&str> = acc
                    .policies
                    .iter()
                    .map(|p| (&p.name, &p.arn))
                    .chain(acc.others.iter().map(|p| (&p.name, &p.arn)))
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, arn)| arn.as_str())
                    .collect();
                prop_assert!(
                    taken.is_empty(),
                    "CreatePolicy {} while {:?} exist (EntityAlreadyExists)",
                    name,
                    taken
                );
            }
        }
    }
    check_obstacles_are_conflicts(d, live, p)
}

/// What stands where c3 would write is a conflict that names it: an alias on
/// a key that is not c3's of the name, a key that lost `c3:managed`, a policy
/// of c3's name at the policy path that is not c3's.
fn check_obstacles_are_conflicts(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<(), TestCaseError> {
    let conflict = |account: &str, region: Option<&str>, key: &str, resource, what: &str| {
        p.changes.iter().any(|c| {
            c.action() == ActionKind::Conflict
                && c.account == account
                && c.region.as_deref() == region
                && c.key == key
                && c.resource == resource
                && c.detail.contains(what)
        })
    };
    for (t, spec, snap) in declared_targets(d, live) {
        let alias = spec.alias();
        let region = Some(t.region.as_str());
        if snap.alias(&alias).is_some()
            && alias_owner(snap, &alias) != Some(KeyOwner::C3 { name: &spec.name })
        {
            prop_assert!(
                conflict(&t.account, region, &spec.name, Resource::Alias, &alias),
                "{} in {} points at a key that is not c3's, and no conflict says so:\n{}",
                alias,
                t,
                show(p)
            );
        }
        let aliased = snap.alias(&alias).and_then(|a| a.target_key_id.as_deref());
        for k in snap
            .keys
            .iter()
            .filter(|k| k.owner() == KeyOwner::LostManaged { name: &spec.name })
        {
            let resource = if aliased == Some(k.key_id.as_str()) {
                Resource::Alias
            } else {
                Resource::Key
            };
            prop_assert!(
                conflict(&t.account, region, &spec.name, resource, &k.key_id),
                "key {} in {} lost {}, and no conflict names it:\n{}",
                &k.key_id,
                t,
                tag::MANAGED,
                show(p)
            );
        }
    }
    for a in &d.accounts {
        let Some(Ok(acc)) = live.accounts.get(&a.id) else {
            continue;
        };
        for spec in d
            .keys
            .iter()
            .filter(|k| k.targets.iter().any(|t| t.account == a.id))
        {
            for kind in PolicyKind::ALL
                .into_iter()
                .filter(|k| spec.keeps_policy(*k))
            {
                let Some(policy) = acc.policy(&kind.policy_name(&spec.name)) else {
                    continue;
                };
                if !policy.is_owned_by(&spec.name) {
                    prop_assert!(
                        conflict(&a.id, None, &spec.name, Resource::IamPolicy, &policy.arn),
                        "{} is not c3's, and no conflict names it:\n{}",
                        &policy.arn,
                        show(p)
                    );
                }
            }
        }
    }
    Ok(())
}

// --------------------------------------------------------------- doomed writes

/// No executable managed-policy write that IAM would refuse as malformed: a
/// document without statements, or a statement that names no resource.
pub(super) fn check_no_doomed_writes(p: &Plan) -> Result<(), TestCaseError> {
    for c in p.executable() {
        if let Some(
            Operation::CreatePolicy { document, .. } | Operation::UpdatePolicy { document, .. },
        ) = c.operation()
        {
            names_resources(document).map_err(|e| TestCaseError::fail(format!("{e}\n{c:?}")))?;
        }
    }
    Ok(())
}

// ----------------------------------------------------------------- public keys

/// c3 never writes a key policy that opens a key to anyone; and every
/// statement that does so in the policy of a c3 key of a declared name is a
/// critical change that names it: a report, or the update that closes it
/// (severity is the risk of the live state, not the size of the fix).
pub(super) fn check_public_keys(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<(), TestCaseError> {
    for c in p.executable() {
        let (
            Some(region),
            Some(Operation::CreateKey { policy, .. } | Operation::PutKeyPolicy { policy, .. }),
        ) = (c.region.as_deref(), c.operation())
        else {
            continue;
        };
        let doc = Document::parse(policy, partition(region))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{policy}")))?;
        for s in &doc.statements {
            prop_assert!(
                public_reason(s).is_none(),
                "{} writes a public statement {:?}",
                c.operation().map_or("?", Operation::api_name),
                s.to_value()
            );
        }
    }
    for (t, spec, snap) in declared_targets(d, live) {
        for key in ours(snap, &spec.name) {
            let Some(text) = key.details.as_ref().and_then(|det| det.policy.as_deref()) else {
                continue;
            };
            let Ok(doc) = Document::parse(text, partition(&t.region)) else {
                continue;
            };
            for s in doc.statements.iter().filter(|s| public_reason(s).is_some()) {
                let named = s.sid.clone().unwrap_or_else(|| "without a Sid".into());
                let reported = p.changes.iter().any(|c| {
                    c.account == t.account
                        && c.region.as_deref() == Some(t.region.as_str())
                        && c.key == spec.name
                        && c.resource == Resource::KeyPolicy
                        && matches!(c.action(), ActionKind::Report | ActionKind::Update)
                        && c.severity == Severity::Critical
                        && c.detail.contains(&named)
                });
                prop_assert!(
                    reported,
                    "statement {} of key {} in {} makes it public, and no critical report names it:\n{}\npolicy:\n{}",
                    named,
                    &key.key_id,
                    t,
                    show(p),
                    text
                );
            }
        }
    }
    Ok(())
}

// -------------------------------------------------------------------- severity

/// Every change's severity fits what it is about (design.md, "Severity").
pub(super) fn check_severity(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<(), TestCaseError> {
    for c in &p.changes {
        let want = match (c.action(), c.resource, c.operation()) {
            (ActionKind::Create, _, _) => Some(Severity::Info),
            (
                _,
                _,
                Some(Operation::Restore {
                    cancel_deletion, ..
                }),
            ) => Some(if *cancel_deletion {
                Severity::Critical
            } else {
                Severity::High
            }),
            (_, Resource::Rotation, _) => Some(Severity::Medium),
            (_, Resource::Tags, _) => Some(Severity::Low),
            _ => None,
        };
        if let Some(want) = want {
            prop_assert_eq!(c.severity, want, "{:?}", c);
        }
        if c.action() == ActionKind::Conflict {
            prop_assert!(c.severity >= Severity::High, "{:?}", c);
        }
        // Tags that are never compared are never reported.
        if let Some(rest) = c.detail.strip_prefix("tag ") {
            let name = rest.split('=').next().unwrap_or_default();
            prop_assert!(
                !tag::is_aws(name)
                    && !d
                        .settings
                        .ignore_tags
                        .iter()
                        .any(|g| glob_match(g, name, false)),
                "a tag that is never compared is reported: {:?}",
                c
            );
        }
    }
    for (t, spec, snap) in declared_targets(d, live) {
        for key in ours(snap, &spec.name) {
            let Some(grants) = key.details.as_ref().and_then(|det| det.grants.as_ref()) else {
                continue;
            };
            for g in grants {
                let id = format!("grant {} ", g.grant_id);
                let rows: Vec<&Change> = p
                    .changes
                    .iter()
                    .filter(|c| {
                        c.account == t.account
                            && c.region.as_deref() == Some(t.region.as_str())
                            && c.key == spec.name
                            && c.resource == Resource::Grant
                            && c.detail.contains(&id)
                            && c.detail.contains(&key.key_id)
                    })
                    .collect();
                if is_expected_service_grant(g, &t.account) {
                    prop_assert!(
                        rows.is_empty(),
                        "an AWS service's grant is reported: {:?}",
                        rows
                    );
                    continue;
                }
                prop_assert_eq!(
                    rows.len(),
                    1,
                    "grant {:?} of {}: {:?}",
                    g,
                    &key.key_id,
                    rows
                );
                let grantee = g.grantee.as_deref().unwrap_or_default();
                let want = match classify("AWS", grantee, &t.account) {
                    Principal::OtherAccount(_) => Some(Severity::High),
                    Principal::SameAccount | Principal::Deleted => Some(Severity::Medium),
                    _ => None,
                };
                if let Some(want) = want {
                    prop_assert_eq!(rows[0].severity, want, "{:?}", rows[0]);
                }
                prop_assert!(!rows[0].executable());
            }
        }
    }
    // Every grant row is about a grant that was read.
    for c in p.changes.iter().filter(|c| c.resource == Resource::Grant) {
        prop_assert!(!c.executable(), "{:?}", c);
        let region = c.region.as_deref().unwrap_or_default();
        let known = match live.regions.get(&Target::new(&c.account, region)) {
            Some(Ok(snap)) => snap.keys.iter().any(|k| {
                // c3's key of that name, or the key this plan adopts for it.
                let taken = k.owner() == KeyOwner::C3 { name: &c.key }
                    || p.changes.iter().any(|a| {
                        a.resource == Resource::Key
                            && a.action() == ActionKind::Adopt
                            && a.key == c.key
                            && a.key_id.as_deref() == Some(k.key_id.as_str())
                    });
                taken
                    && c.detail.contains(&k.key_id)
                    && k.details
                        .as_ref()
                        .and_then(|det| det.grants.as_ref())
                        .is_some_and(|gs| {
                            gs.iter()
                                .any(|g| c.detail.contains(&format!("grant {} ", g.grant_id)))
                        })
            }),
            _ => false,
        };
        prop_assert!(known, "a grant row about no grant that was read: {:?}", c);
    }
    Ok(())
}

/// The words of the report of each field of `details` that AWS fixed and
/// that differs from `spec` (as `kms::immutable` says them).
fn fixed_differences(spec: &KeySpec, details: &KeyDetails) -> Vec<String> {
    let want = &spec.key_type;
    let mut out = Vec::new();
    if details.spec != want.spec {
        out.push(format!("key_spec is {}", details.spec));
    }
    if details.usage != want.usage {
        out.push(format!("key_usage is {}", details.usage));
    }
    if details.multi_region != want.multi_region() {
        out.push(if details.multi_region {
            "it is a multi-Region key".to_string()
        } else {
            "it is a single-Region key".to_string()
        });
    }
    if details.origin != "AWS_KMS" {
        out.push(format!("origin is {}", details.origin));
    }
    out
}

/// What AWS fixes when it creates a key is never written: each difference
/// on a declared key's current key (the only c3 key of its name and
/// generation, behind its alias) is a `key` report that says a new key is
/// needed, `low` or `medium`; and every such report is about a c3 key of the
/// name whose field does differ.
pub(super) fn check_fixed_fields(
    d: &DesiredState,
    live: &LiveState,
    p: &Plan,
) -> Result<(), TestCaseError> {
    const NEW_KEY: &str = "needs a new key: bump `generation`";
    for c in p.changes.iter().filter(|c| c.detail.contains(NEW_KEY)) {
        prop_assert!(!c.executable(), "{:?}", c);
        prop_assert_eq!(c.resource, Resource::Key, "{:?}", c);
        prop_assert!(
            matches!(c.severity, Severity::Low | Severity::Medium),
            "{:?}",
            c
        );
        let region = c.region.as_deref().unwrap_or_default();
        let Some(Ok(snap)) = live.regions.get(&Target::new(&c.account, region)) else {
            return Err(TestCaseError::fail(format!("a report of no target: {c:?}")));
        };
        let spec = spec_of(d, &c.key)?;
        let key = snap.key(&c.subject);
        let differs = key
            .and_then(|k| k.details.as_ref())
            .map(|det| fixed_differences(spec, det))
            .is_some_and(|found| found.iter().any(|f| c.detail.contains(f.as_str())));
        prop_assert!(differs, "a report of no difference: {:?}", c);
    }
    for (t, spec, snap) in declared_targets(d, live) {
        if !d.scope.key(&spec.name)
            || snap
                .keys
                .iter()
                .any(|k| matches!(k.owner(), KeyOwner::LostManaged { .. }))
        {
            continue;
        }
        let of_generation: Vec<&LiveKey> = ours(snap, &spec.name)
            .filter(|k| k.c3_generation() == Some(spec.generation))
            .collect();
        let [key] = of_generation.as_slice() else {
            continue;
        };
        let behind = snap
            .alias(&spec.alias())
            .and_then(|a| a.target_key_id.as_deref());
        if behind != Some(key.key_id.as_str()) {
            continue;
        }
        let Some(det) = key.details.as_ref() else {
            continue;
        };
        for field in fixed_differences(spec, det) {
            let reported = p.changes.iter().any(|c| {
                c.account == t.account
                    && c.region.as_deref() == Some(t.region.as_str())
                    && c.key == spec.name
                    && c.subject == key.key_id
                    && c.detail.contains(NEW_KEY)
                    && c.detail.contains(field.as_str())
            });
            prop_assert!(
                reported,
                "{} of key {} is not reported:\n{}",
                field,
                key.key_id,
                show(p)
            );
        }
    }
    Ok(())
}
