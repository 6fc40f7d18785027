//! Findings about a key that c3 reports and never changes: undeclared tags
//! and grants, public statements of older keys, and c3 resources the file
//! no longer declares.

use std::collections::{BTreeMap, BTreeSet};

use super::{statement_name, KeyContext};
use crate::model::{partition, tag, DesiredState, KeySpec, LiveKey, RegionSnapshot, Target};
use crate::plan::action::Operation;
use crate::plan::{ActionKind, At, Changes, Resource, Severity};
use crate::policy::{glob_match, risk, Document};

/// Reports the statements of a key's policy that make it public (for keys
/// whose policy is not otherwise compared: older generations).
pub(super) fn report_public_statements(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
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
            )
            .about(s.subject());
        }
    }
}

/// Whether a tag key is never compared: AWS's own, or matched by `[settings] ignore_tags`.
pub(crate) fn tag_ignored(key: &str, ignore: &[String]) -> bool {
    tag::is_aws(key) || ignore.iter().any(|g| glob_match(g, key, false))
}

/// Sets the declared tags a key lacks; reports the ones keys.toml does not declare.
pub(super) fn plan_tags(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
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
            )
            .about(k.as_str());
        }
    }
}

/// Reports every grant of a c3 key that is not an AWS service's grant for an
/// AWS resource of the account (those are expected).
pub(super) fn plan_grants(at: &At<'_>, key: &LiveKey, account: &str, changes: &mut Changes) {
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
        changes
            .report(at, Resource::Grant, assessment.severity, detail)
            .about(g.grant_id.as_str());
    }
}

/// Reports c3 keys and aliases of this target that keys.toml no longer declares here.
pub(super) fn report_orphans(
    desired: &DesiredState,
    declared: &[&KeySpec],
    target: &Target,
    snapshot: &RegionSnapshot,
    changes: &mut Changes,
) {
    let names: BTreeSet<&str> = declared.iter().map(|k| k.name.as_str()).collect();
    // A name the file no longer declares here, and that this run looks at.
    let orphan = |name: &str| !names.contains(name) && desired.scope.key(name);
    // In key id and alias name order, whatever order the snapshot lists them
    // in: the plan must not depend on it.
    let mut keys: Vec<&LiveKey> = snapshot.keys.iter().collect();
    keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    for key in keys {
        let Some(name) = key.c3_name().filter(|n| orphan(n)) else {
            continue;
        };
        changes.report(
            &At::of(target, name),
            Resource::Key,
            Severity::Low,
            format!(
                "c3 key {} (generation {}) is no longer declared here in keys.toml; c3 never deletes keys{}",
                key.key_id,
                key.tag(tag::GENERATION).unwrap_or("?"),
                key.last_usage
                    .as_ref()
                    .map_or_else(String::new, |u| format!("; {}", crate::audit::last_used_text(u)))
            ),
        )
        .about(key.key_id.as_str());
    }
    let mut aliases: Vec<&crate::model::LiveAlias> = snapshot.aliases.iter().collect();
    aliases.sort();
    for alias in aliases {
        let Some(name) = alias.name.strip_prefix("alias/").filter(|n| orphan(n)) else {
            continue;
        };
        let key = alias
            .target_key_id
            .as_deref()
            .and_then(|id| snapshot.key(id));
        let Some(key) = key.filter(|k| k.c3_name() == Some(name)) else {
            second_alias(&names, desired, target, alias, key, changes);
            continue;
        };
        changes
            .report(
                &At::of(target, name),
                Resource::Alias,
                Severity::Low,
                format!(
                    "{} → {} is no longer declared here in keys.toml; c3 never deletes aliases",
                    alias.name, key.key_id
                ),
            )
            .about(alias.name.as_str());
    }
}

/// A second alias of a c3 key (adopted ones included): an alias whose name
/// is no key declared here, pointing at a c3 key of a declared name. A
/// finding (low, its subject the alias), never touched: c3 manages only
/// `alias/<name>`.
fn second_alias(
    names: &BTreeSet<&str>,
    desired: &DesiredState,
    target: &Target,
    alias: &crate::model::LiveAlias,
    key: Option<&LiveKey>,
    changes: &mut Changes,
) {
    let Some((key, owner)) = key.and_then(|k| k.c3_name().map(|n| (k, n))) else {
        return;
    };
    if !names.contains(owner) || !desired.scope.key(owner) {
        return;
    }
    changes
        .report(
            &At::of(target, owner),
            Resource::Alias,
            Severity::Low,
            format!(
                "{} also points at key {} ({owner}'s key, behind alias/{owner}): a second alias, which c3 leaves as it is (c3 keeps only alias/{owner}; import takes a key under one name)",
                alias.name, key.key_id
            ),
        )
        .about(alias.name.as_str());
}
