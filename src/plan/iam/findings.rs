//! Findings about managed policies that c3 reports and never changes.

use std::collections::BTreeSet;

use super::permissions::{covered, describe, Permission};
use super::PolicyContext;
use crate::model::{
    parse_key_arn, partition, tag, AccountSnapshot, DesiredState, KeySpec, LiveManagedPolicy,
    LiveState, NamedPolicy, PolicyKind,
};
use crate::plan::{At, Changes, Finding, Resource, Severity};
use crate::policy::Document;

/// The managed policies of a key name that do not exist wait while no key
/// of the name exists in the account or is being created: a policy must name
/// a resource, and AWS refuses one that names none.
pub(super) fn report_waiting(
    spec: &KeySpec,
    at: &At<'_>,
    snapshot: &AccountSnapshot,
    path: &str,
    changes: &mut Changes,
) {
    let missing: Vec<String> = PolicyKind::ALL
        .iter()
        .filter(|k| spec.keeps_policy(**k))
        .map(|k| k.policy_name(&spec.name))
        .filter(|n| snapshot.policy(n).is_none())
        .collect();
    if missing.is_empty() {
        return;
    }
    let why = if spec.enabled {
        format!(
            "no key of {} exists in this account and this plan creates none (see the rows of {} above)",
            spec.name, spec.name
        )
    } else {
        format!(
            "no key of {} exists in this account, and enabled = false, so c3 creates none",
            spec.name
        )
    };
    changes.report(
        at,
        Resource::IamPolicy,
        Severity::Info,
        format!(
            "{path}{{{}}} wait: {why}; a managed policy must name a key, so c3 creates them once one exists",
            missing.join(", ")
        ),
    );
}

/// Something not c3's holds the name of c3's policy: a conflict (high),
/// reported and never touched.
fn policy_conflict(at: &At<'_>, changes: &mut Changes, name: &str, detail: String) {
    let (resource, severity) = (Resource::IamPolicy, Severity::High);
    changes
        .finding(Finding::Conflict, at, resource, severity, detail)
        .about(name);
}

/// A policy of another path (or case) holds the name c3's would have.
pub(super) fn report_clash(
    other: &NamedPolicy,
    path: &str,
    name: &str,
    at: &At<'_>,
    changes: &mut Changes,
) {
    policy_conflict(
        at,
        changes,
        name,
        format!(
            "a policy named {} already exists at path {} ({}): IAM policy names are unique in an account whatever their path and case, so c3 cannot create {path}{name}; c3 leaves it alone. Either rename the key in keys.toml, or, once nothing needs that policy, delete it (c3 never deletes policies, and IAM cannot move a policy to another path)",
            other.name, other.path, other.arn
        ),
    );
}

/// A foreign policy where c3's would be: a conflict that says what is there,
/// why c3 leaves it alone and the ways out.
pub(super) fn report_foreign(
    p: &LiveManagedPolicy,
    key: &str,
    adopting: bool,
    at: &At<'_>,
    changes: &mut Changes,
) {
    let what = Document::parse(&p.document, partition("")).map_or_else(
        |e| format!("its document cannot be read ({e})"),
        |d| {
            let grants: Vec<String> = d
                .statements
                .iter()
                .map(crate::policy::risk::describe_statement)
                .collect();
            format!("it grants: {}", grants.join("; "))
        },
    );
    let attached = match p.attachments {
        Some(n) => format!(", attached to {n} user(s), group(s) or role(s)"),
        None => String::new(),
    };
    let tags = match &p.tags {
        Some(t) if t.is_empty() => "it has no tags".to_string(),
        Some(t) => format!(
            "its tags are {}",
            t.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "its tags could not be read".to_string(),
    };
    let way_out = if adopting {
        format!(
            "adopt = true does not take it: c3 adopts only a policy that carries no other key name's {} (and whose tags it could read). Rename the key in keys.toml, or fix the policy's tags once you have reviewed it",
            tag::NAME
        )
    } else {
        format!(
            "Either rename the key in keys.toml, or, once you have reviewed the policy and want c3 to manage it, set adopt = true on key {key} in keys.toml, so that apply tags it {}=true and {}={key}",
            tag::MANAGED,
            tag::NAME
        )
    };
    policy_conflict(
        at,
        changes,
        &p.name,
        format!(
            "{} ({}{attached}) is not c3's: {tags}, not {}=true and {}={key}; {what}. c3 never writes to a policy it does not own, since every principal it is attached to would gain what c3 writes. {way_out}",
            p.name,
            p.arn,
            tag::MANAGED,
            tag::NAME,
        ),
    );
}

/// Reports what a c3 policy grants beyond keys.toml: on `*` or on keys c3
/// does not declare is high, more actions on its keys medium, on keys that
/// no longer exist low.
pub(super) fn report_excess(
    ctx: &PolicyContext<'_>,
    live_doc: &Document,
    have: &BTreeSet<Permission>,
    want: &BTreeSet<Permission>,
    at: &At<'_>,
    changes: &mut Changes,
) {
    let name = ctx.kind.policy_name(ctx.key);
    let extra: Vec<&Permission> = have.iter().filter(|p| !covered(p, want)).collect();
    let other_statements = live_doc
        .statements
        .iter()
        .filter(|s| !s.is_plain_allow())
        .count();
    if extra.is_empty() && other_statements == 0 {
        return;
    }
    let known = |r: &str| ctx.keys.arns.contains(r) || ctx.keys.lost.contains_key(r);
    let gone = |r: &str| key_gone(ctx.live, r);
    // More actions on its own keys is medium; a key that no longer exists
    // (an older generation deleted by hand) can never be used again, so
    // naming it is low; anything else (`*`, keys c3 does not manage here) high.
    let severity = extra
        .iter()
        .map(|p| match p.resource.as_str() {
            r if known(r) => Severity::Medium,
            r if gone(r) => Severity::Low,
            _ => Severity::High,
        })
        .chain((other_statements > 0).then_some(Severity::Medium))
        .max()
        .unwrap_or(Severity::Medium);
    let mut what = describe(&extra);
    if other_statements > 0 {
        if !what.is_empty() {
            what.push_str("; ");
        }
        what.push_str(&format!(
            "{other_statements} statement(s) that are not a plain Allow"
        ));
    }
    let lost: Vec<String> = extra
        .iter()
        .filter_map(|g| ctx.keys.lost.get(&g.resource))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !lost.is_empty() {
        what.push_str(&format!(
            " (key(s) {} carry {}={} but lost {}=true: see their conflict rows)",
            lost.join(", "),
            tag::NAME,
            ctx.key,
            tag::MANAGED
        ));
    }
    let dead: BTreeSet<&str> = extra
        .iter()
        .filter(|p| gone(&p.resource))
        .filter_map(|p| parse_key_arn(&p.resource).map(|(_, id)| id))
        .collect();
    if !dead.is_empty() {
        what.push_str(&format!(
            " (key(s) {} no longer exist)",
            dead.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    changes
        .report(
            at,
            Resource::IamPolicy,
            severity,
            format!("{name} grants more than keys.toml needs: {what} (kept)"),
        )
        .about(name);
}

/// Whether an ARN names a key that does not exist: its region was read and
/// lists no key of that id. (A region not read in this run says nothing.)
fn key_gone(live: &LiveState, arn: &str) -> bool {
    let Some((target, id)) = parse_key_arn(arn) else {
        return false;
    };
    matches!(live.regions.get(&target), Some(Ok(snap)) if snap.key(id).is_none())
}

/// Reports the tags of a c3 policy that keys.toml does not declare.
pub(super) fn report_undeclared_tags(
    live: &LiveManagedPolicy,
    ignore: &[String],
    at: &At<'_>,
    changes: &mut Changes,
) {
    for (k, v) in live.tags.iter().flatten() {
        if k != tag::MANAGED && k != tag::NAME && !crate::plan::kms::tag_ignored(k, ignore) {
            changes.report(
                at,
                Resource::IamPolicy,
                Severity::Low,
                format!(
                    "tag {k}={v} on {} is not declared in keys.toml (kept; c3 never removes tags; [settings] ignore_tags stops comparing it)",
                    live.name
                ),
            )
            .about(k.as_str());
        }
    }
}

/// Reports c3 policies the file no longer declares for this account.
pub(super) fn report_orphans(
    desired: &DesiredState,
    snapshot: &AccountSnapshot,
    declared: &BTreeSet<&str>,
    account: &str,
    changes: &mut Changes,
) {
    // In name order, whatever order the snapshot lists them in: the plan must
    // not depend on it.
    let mut policies: Vec<&LiveManagedPolicy> = snapshot.policies.iter().collect();
    policies.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
    for p in policies {
        let Some((kind, key)) = PolicyKind::parse_name(&p.name) else {
            continue;
        };
        if !desired.scope.key(key) {
            continue;
        }
        // A declared key whose `managed_policies` leaves this kind out: its
        // policy of that kind is c3's but no longer kept.
        let unlisted = declared.contains(key)
            && desired
                .keys
                .iter()
                .filter(|k| k.name == key && k.targets.iter().any(|t| t.account == account))
                .all(|k| !k.keeps_policy(kind));
        if declared.contains(key) && !unlisted {
            continue;
        }
        // Only policies c3 tagged are c3's; untagged ones of the same shape are
        // somebody else's.
        if !p.is_owned_by(key) {
            continue;
        }
        let at = At {
            account,
            region: None,
            key,
        };
        changes
            .report(
                &at,
                Resource::IamPolicy,
                Severity::Low,
                if unlisted {
                    format!(
                        "{} is c3's, but managed_policies of {key} does not list {}; c3 leaves it as it is and never deletes policies",
                        p.name,
                        kind.word()
                    )
                } else {
                    format!(
                        "{} is no longer declared for this account in keys.toml; c3 never deletes policies",
                        p.name
                    )
                },
            )
            .about(p.name.as_str());
    }
}
