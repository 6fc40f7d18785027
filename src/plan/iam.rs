//! Planning one account's managed policies (IAM is global).
//!
//! Managed policies are compared by what they grant, not by how statements
//! are split or named: each plain `Allow` statement is expanded into grants
//! (action, resource, condition). A live policy that lacks a desired grant is
//! updated to a new default version holding the union of both; a live grant
//! the file does not need is reported and kept.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::action::Operation;
use super::desired::{
    grant_sid, is_pending_arn, kind_grants, managed_policy, pending_arn, pending_arn_sized,
    MANAGED_POLICY_MAX_CHARS,
};
use super::{ActionKind, At, Changes, PlanError, PolicyDiff, Resource, Severity};
use crate::model::{
    partition, tag, version_order, Account, AccountSnapshot, DesiredState, KeyOwner,
    LiveManagedPolicy, LiveState, PolicyKind, Target,
};
use crate::policy::{glob_match, pretty, size_without_whitespace, Document, Statement};

/// IAM keeps at most five versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// A single grant: one action on one resource under one condition block
/// (canonical JSON text, empty for none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    action: String,
    resource: String,
    condition: String,
}

fn condition_text(s: &Statement) -> String {
    if s.condition.is_empty() {
        String::new()
    } else {
        s.to_value()
            .get("Condition")
            .map(|c| c.to_string())
            .unwrap_or_default()
    }
}

fn grants(doc: &Document) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for s in doc.statements.iter().filter(|s| s.is_plain_allow()) {
        let (Some(actions), Some(resources)) = (&s.action, &s.resource) else {
            continue;
        };
        let condition = condition_text(s);
        for a in actions.iter() {
            for r in resources {
                out.insert(Grant {
                    action: a.to_string(),
                    resource: r.clone(),
                    condition: condition.clone(),
                });
            }
        }
    }
    out
}

/// Whether `by` grants at least `g`: its action and resource patterns match
/// and its condition is the same (a different condition is not assumed wider).
fn covered(g: &Grant, by: &BTreeSet<Grant>) -> bool {
    by.iter().any(|b| {
        b.condition == g.condition
            && glob_match(&b.action, &g.action, true)
            && glob_match(&b.resource, &g.resource, false)
    })
}

/// Regroups grants into statements: per condition, resources with the same
/// action set share a statement. Deterministic.
fn statements_from(grants: &BTreeSet<Grant>, kind: PolicyKind) -> Vec<Value> {
    // c3's own grants keep their Sids, so a diff shows only what changed.
    let known: Vec<(BTreeSet<String>, String, String)> = kind_grants(kind)
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let actions = g.actions.iter().map(|a| a.to_ascii_lowercase()).collect();
            let condition = g
                .condition
                .as_ref()
                .and_then(|c| {
                    let doc = json!({"Statement": [{"Effect": "Allow", "Condition": c}]});
                    Document::from_value(doc, "aws").ok()
                })
                .and_then(|d| d.statements.first().map(condition_text))
                .unwrap_or_default();
            (actions, condition, grant_sid(kind, i))
        })
        .collect();
    // condition -> resource -> actions
    let mut by_condition: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for g in grants {
        by_condition
            .entry(&g.condition)
            .or_default()
            .entry(&g.resource)
            .or_default()
            .insert(&g.action);
    }
    let mut out = Vec::new();
    for (condition, resources) in by_condition {
        let mut by_actions: BTreeMap<BTreeSet<&str>, BTreeSet<&str>> = BTreeMap::new();
        for (resource, actions) in resources {
            by_actions.entry(actions).or_default().insert(resource);
        }
        for (actions, resources) in by_actions {
            let lower: BTreeSet<String> = actions.iter().map(|a| a.to_ascii_lowercase()).collect();
            let sid = known
                .iter()
                .find(|(a, c, _)| *a == lower && c == condition)
                .map(|(_, _, sid)| sid.clone())
                .unwrap_or_else(|| format!("C3Grant{}", out.len() + 1));
            let mut m = Map::new();
            m.insert("Sid".into(), Value::String(sid));
            m.insert("Effect".into(), "Allow".into());
            m.insert("Action".into(), json!(actions));
            m.insert("Resource".into(), json!(resources));
            if !condition.is_empty() {
                if let Ok(c) = serde_json::from_str::<Value>(condition) {
                    m.insert("Condition".into(), c);
                }
            }
            out.push(Value::Object(m));
        }
    }
    out
}

/// Plans the managed policies of every key declared in an account, then
/// reports c3 policies the file no longer declares there.
pub(crate) fn plan_account(
    desired: &DesiredState,
    account: &Account,
    snapshot: &AccountSnapshot,
    live: &LiveState,
    created: &BTreeMap<(String, String), Vec<(String, u32)>>,
    changes: &mut Changes,
    errors: &mut Vec<PlanError>,
) {
    // Every key the file declares in this account, in scope or not.
    let declared: BTreeSet<&str> = desired
        .keys
        .iter()
        .filter(|k| k.targets.iter().any(|t| t.account == account.id))
        .map(|k| k.name.as_str())
        .collect();
    for spec in desired.keys.iter().filter(|k| desired.scope.key(&k.name)) {
        let Some(keys) = key_arns(desired, account, spec, live, created) else {
            continue;
        };
        let at = At {
            account: &account.id,
            region: None,
            key: &spec.name,
        };
        if keys.arns.is_empty() {
            report_waiting(spec, &at, snapshot, &desired.settings.policy_path, changes);
        }
        for kind in PolicyKind::ALL {
            let name = kind.policy_name(&spec.name);
            let text = pretty(&managed_policy(kind, &keys.arns));
            let size = size_without_whitespace(&pretty(&managed_policy(kind, &keys.sized)));
            if size > MANAGED_POLICY_MAX_CHARS {
                errors.push(PlanError::new(
                    &account.id,
                    None,
                    format!(
                        "{name} would be {size} characters, over IAM's limit of {MANAGED_POLICY_MAX_CHARS}: key '{}' has too many key ARNs ({}) in this account; declare it in fewer regions or use a shorter name",
                        spec.name,
                        keys.arns.len()
                    ),
                ));
                continue;
            }
            // With no key to name, an existing policy is still checked (what
            // it grants, whose it is), but a missing one waits (above).
            if keys.arns.is_empty() && snapshot.policy(&name).is_none() {
                continue;
            }
            let ctx = PolicyContext {
                kind,
                text: &text,
                snapshot,
                path: &desired.settings.policy_path,
                key: &spec.name,
                keys: &keys,
                ignore_tags: &desired.settings.ignore_tags,
            };
            plan_policy(&ctx, &at, changes);
        }
    }
    report_orphans(desired, snapshot, &declared, &account.id, changes);
}

/// The key ARNs the managed policies of a key name must name in an account.
struct KeyArns {
    /// Every c3 key of the name in every region, and the keys this plan creates.
    arns: BTreeSet<String>,
    /// The same, with each key to be created at a real ARN's length (for the size check).
    sized: BTreeSet<String>,
    /// Whether any ARN is one this plan creates.
    pending: bool,
    /// Keys carrying the name without `c3:managed=true`, by ARN → key id.
    lost: BTreeMap<String, String>,
}

/// The ARNs of a key name's keys in an account, or `None` when the managed
/// policies cannot be planned in this run: a region of the key is outside
/// the selection (`--regions`) or could not be read, so the list would be
/// incomplete.
fn key_arns(
    desired: &DesiredState,
    account: &Account,
    spec: &crate::model::KeySpec,
    live: &LiveState,
    created: &BTreeMap<(String, String), Vec<(String, u32)>>,
) -> Option<KeyArns> {
    let regions: Vec<&Target> = spec
        .targets
        .iter()
        .filter(|t| t.account == account.id)
        .collect();
    if regions.is_empty() || !regions.iter().all(|t| desired.scope.target(t)) {
        return None;
    }
    let mut keys = KeyArns {
        arns: BTreeSet::new(),
        sized: BTreeSet::new(),
        pending: false,
        lost: BTreeMap::new(),
    };
    for t in &regions {
        let Some(Ok(region)) = live.regions.get(t) else {
            return None;
        };
        for k in &region.keys {
            match k.owner() {
                KeyOwner::C3 { name } if name == spec.name => {
                    keys.arns.insert(k.arn.clone());
                    keys.sized.insert(k.arn.clone());
                }
                KeyOwner::LostManaged { name } if name == spec.name => {
                    keys.lost.insert(k.arn.clone(), k.key_id.clone());
                }
                _ => {}
            }
        }
    }
    if let Some(new) = created.get(&(account.id.clone(), spec.name.clone())) {
        for (region, generation) in new {
            let t = Target::new(&account.id, region);
            keys.arns.insert(pending_arn(&t, &spec.name, *generation));
            keys.sized.insert(pending_arn_sized(&t, *generation));
            keys.pending = true;
        }
    }
    Some(keys)
}

/// The managed policies of a key name that do not exist wait while no key
/// of the name exists in the account or is being created: a policy must name
/// a resource, and AWS refuses one that names none.
fn report_waiting(
    spec: &crate::model::KeySpec,
    at: &At<'_>,
    snapshot: &AccountSnapshot,
    path: &str,
    changes: &mut Changes,
) {
    let missing: Vec<String> = PolicyKind::ALL
        .iter()
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

/// What planning one managed policy looks at.
struct PolicyContext<'a> {
    kind: PolicyKind,
    text: &'a str,
    snapshot: &'a AccountSnapshot,
    path: &'a str,
    key: &'a str,
    keys: &'a KeyArns,
    ignore_tags: &'a [String],
}

/// A foreign policy where c3's would be: a conflict that says what is there,
/// why c3 leaves it alone and the ways out.
fn report_foreign(p: &LiveManagedPolicy, key: &str, at: &At<'_>, changes: &mut Changes) {
    let what = Document::parse(&p.document, partition(""))
        .map(|d| {
            let grants: Vec<String> = d
                .statements
                .iter()
                .map(crate::policy::risk::describe_statement)
                .collect();
            format!("it grants: {}", grants.join("; "))
        })
        .unwrap_or_else(|e| format!("its document cannot be read ({e})"));
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
    changes.conflict(
        at,
        Resource::IamPolicy,
        Severity::High,
        format!(
            "{} ({}{attached}) is not c3's: {tags}, not {}=true and {}={key}; {what}. c3 never writes to a policy it does not own, since every principal it is attached to would gain what c3 writes. Either rename the key in keys.toml, or, once you have reviewed the policy and want c3 to manage it, tag it {}=true and {}={key}",
            p.name,
            p.arn,
            tag::MANAGED,
            tag::NAME,
            tag::MANAGED,
            tag::NAME
        ),
    );
}

fn plan_policy(ctx: &PolicyContext<'_>, at: &At<'_>, changes: &mut Changes) {
    let kind = ctx.kind;
    let name = &kind.policy_name(ctx.key);
    let part = partition("");
    let Ok(want) = Document::parse(ctx.text, part) else {
        return;
    };
    let Some(live) = ctx.snapshot.policy(name) else {
        if let Some(other) = ctx.snapshot.clash(name) {
            changes.conflict(
                at,
                Resource::IamPolicy,
                Severity::High,
                format!(
                    "a policy named {} already exists at path {} ({}): IAM policy names are unique in an account whatever their path and case, so c3 cannot create {}{name}; c3 leaves it alone. Either rename the key in keys.toml, or move c3's policy_path to {}",
                    other.name, other.path, other.arn, ctx.path, other.path
                ),
            );
            return;
        }
        let tags = BTreeMap::from([
            (tag::MANAGED.to_string(), "true".to_string()),
            (tag::NAME.to_string(), ctx.key.to_string()),
        ]);
        changes.push(
            at,
            Resource::IamPolicy,
            ActionKind::Create,
            Severity::Info,
            format!("create {}{name}", ctx.path),
            Some(Operation::CreatePolicy {
                name: name.to_string(),
                path: ctx.path.to_string(),
                document: ctx.text.to_string(),
                tags,
            }),
            Some(PolicyDiff {
                before: String::new(),
                after: want.normalized_text(),
            }),
        );
        return;
    };
    if !live.is_owned_by(ctx.key) {
        report_foreign(live, ctx.key, at, changes);
        return;
    }
    report_undeclared_tags(live, ctx.ignore_tags, at, changes);
    let live_doc = match Document::parse(&live.document, part) {
        Ok(d) => d,
        Err(e) => {
            changes.report(
                at,
                Resource::IamPolicy,
                Severity::Medium,
                format!("{name}: the default version cannot be read ({e}); c3 will not change it"),
            );
            return;
        }
    };
    let want_grants = grants(&want);
    let live_grants = grants(&live_doc);
    let lacking: Vec<&Grant> = want_grants
        .iter()
        .filter(|g| !covered(g, &live_grants))
        .collect();
    report_excess(ctx, &live_doc, &live_grants, &want_grants, at, changes);
    if lacking.is_empty() {
        return;
    }
    update_policy(ctx, live, &live_doc, &live_grants, &lacking, at, changes);
}

/// Reports what a c3 policy grants beyond keys.toml: on `*` or on keys c3
/// does not declare is high, more actions on its keys medium.
fn report_excess(
    ctx: &PolicyContext<'_>,
    live_doc: &Document,
    live_grants: &BTreeSet<Grant>,
    want_grants: &BTreeSet<Grant>,
    at: &At<'_>,
    changes: &mut Changes,
) {
    let name = ctx.kind.policy_name(ctx.key);
    let extra: Vec<&Grant> = live_grants
        .iter()
        .filter(|g| !covered(g, want_grants))
        .collect();
    let other_statements = live_doc
        .statements
        .iter()
        .filter(|s| !s.is_plain_allow())
        .count();
    if extra.is_empty() && other_statements == 0 {
        return;
    }
    let known = |r: &str| ctx.keys.arns.contains(r) || ctx.keys.lost.contains_key(r);
    let severity = if extra.iter().any(|g| !known(&g.resource)) {
        Severity::High
    } else {
        Severity::Medium
    };
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
        .map(|id| id.to_string())
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
    changes.report(
        at,
        Resource::IamPolicy,
        severity,
        format!("{name} grants more than keys.toml needs: {what} (kept)"),
    );
}

/// Reports the tags of a c3 policy that keys.toml does not declare.
fn report_undeclared_tags(
    live: &LiveManagedPolicy,
    ignore: &[String],
    at: &At<'_>,
    changes: &mut Changes,
) {
    for (k, v) in live.tags.iter().flatten() {
        if k != tag::MANAGED && k != tag::NAME && !super::kms::tag_ignored(k, ignore) {
            changes.report(
                at,
                Resource::IamPolicy,
                Severity::Low,
                format!(
                    "tag {k}={v} on {} is not declared in keys.toml (kept; c3 never removes tags; [settings] ignore_tags stops comparing it)",
                    live.name
                ),
            );
        }
    }
}

/// A new default version of a c3 policy: every live grant, every desired
/// grant, and the live statements that are not plain Allows, verbatim.
#[allow(clippy::too_many_arguments)]
fn update_policy(
    ctx: &PolicyContext<'_>,
    live: &LiveManagedPolicy,
    live_doc: &Document,
    live_grants: &BTreeSet<Grant>,
    lacking: &[&Grant],
    at: &At<'_>,
    changes: &mut Changes,
) {
    let kind = ctx.kind;
    let name = kind.policy_name(ctx.key);
    let part = partition("");
    let mut union = live_grants.clone();
    union.extend(lacking.iter().map(|g| (*g).clone()));
    let mut statements = statements_from(&union, kind);
    if let Some(Value::Array(raw)) = live_doc.raw.get("Statement") {
        for (i, s) in live_doc.statements.iter().enumerate() {
            if !s.is_plain_allow() {
                if let Some(r) = raw.get(i) {
                    statements.push(r.clone());
                }
            }
        }
    }
    let new_doc = json!({"Version": crate::policy::POLICY_VERSION, "Statement": statements});
    let new_text = pretty(&new_doc);
    let size = size_without_whitespace(&new_text);
    if size > MANAGED_POLICY_MAX_CHARS {
        changes.report(
            at,
            Resource::IamPolicy,
            Severity::Low,
            format!(
                "{name} lacks {} but the updated document would be {size} characters, over IAM's limit of {MANAGED_POLICY_MAX_CHARS}",
                describe(lacking)
            ),
        );
        return;
    }
    let prune = if live.versions.len() >= MAX_POLICY_VERSIONS {
        live.versions
            .iter()
            .filter(|v| !v.is_default)
            .min_by_key(|v| (v.created_epoch, version_order(&v.id)))
            .map(|v| v.id.clone())
    } else {
        None
    };
    let mut detail = format!("{name}: add {}", describe(lacking));
    if let Some(v) = &prune {
        detail.push_str(&format!(
            "; the policy has {MAX_POLICY_VERSIONS} versions, so its oldest non-default version {v} is deleted first"
        ));
    }
    let after = Document::parse(&new_text, part)
        .map(|d| d.normalized_text())
        .unwrap_or_else(|_| new_text.clone());
    // Naming only keys this plan creates realises a new declaration.
    let severity = if lacking.iter().all(|g| is_pending_arn(&g.resource)) {
        Severity::Info
    } else {
        Severity::Low
    };
    changes.push(
        at,
        Resource::IamPolicy,
        ActionKind::Update,
        severity,
        detail,
        Some(Operation::UpdatePolicy {
            arn: live.arn.clone(),
            document: new_text,
            prune_version: prune,
        }),
        Some(PolicyDiff {
            before: live_doc.normalized_text(),
            after,
        }),
    );
}

/// `3 key ARNs (arn:..., ...)` and/or `actions kms:Decrypt`: what a list of grants adds up to.
fn describe(grants: &[&Grant]) -> String {
    let resources: BTreeSet<&str> = grants.iter().map(|g| g.resource.as_str()).collect();
    let actions: BTreeSet<&str> = grants.iter().map(|g| g.action.as_str()).collect();
    if grants.is_empty() {
        return String::new();
    }
    let list = |items: &BTreeSet<&str>| items.iter().copied().collect::<Vec<_>>().join(", ");
    format!("{} on {}", list(&actions), list(&resources))
}

fn report_orphans(
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
        let Some((_, key)) = PolicyKind::parse_name(&p.name) else {
            continue;
        };
        if declared.contains(key) || !desired.scope.key(key) {
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
        changes.report(
            &at,
            Resource::IamPolicy,
            Severity::Low,
            format!(
                "{} is no longer declared for this account in keys.toml; c3 never deletes policies",
                p.name
            ),
        );
    }
}
