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
    grant_sid, managed_policy, pending_arn, pending_arn_sized, PolicyKind, MANAGED_POLICY_MAX_CHARS,
};
use super::policy::{glob_match, pretty, size_without_whitespace, Document, Statement};
use super::{ActionKind, At, Changes, PlanError, PolicyDiff, Resource};
use crate::model::{
    partition, tag, Account, AccountSnapshot, DesiredState, LiveManagedPolicy, LiveState, Target,
};

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
    let known: Vec<(BTreeSet<String>, String, String)> = kind
        .grants()
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
        let regions: Vec<&Target> = spec
            .targets
            .iter()
            .filter(|t| t.account == account.id)
            .collect();
        // A managed policy names the key's ARNs in every region: it is planned
        // only when all of them are in this run's scope.
        if regions.is_empty() || !regions.iter().all(|t| desired.scope.target(t)) {
            continue;
        }
        // Every region must have been read, or the ARN list would be incomplete.
        let mut arns = BTreeSet::new();
        // The same ARNs with every key to be created at its real length, for the size check.
        let mut sized = BTreeSet::new();
        let mut complete = true;
        for t in &regions {
            match live.regions.get(t) {
                Some(Ok(region)) => {
                    for k in region
                        .keys
                        .iter()
                        .filter(|k| k.c3_name() == Some(&spec.name))
                    {
                        arns.insert(k.arn.clone());
                        sized.insert(k.arn.clone());
                    }
                }
                _ => complete = false,
            }
        }
        if !complete {
            continue;
        }
        if let Some(new) = created.get(&(account.id.clone(), spec.name.clone())) {
            for (region, generation) in new {
                let t = Target::new(&account.id, region);
                arns.insert(pending_arn(&t, &spec.name, *generation));
                sized.insert(pending_arn_sized(&t, *generation));
            }
        }
        for kind in PolicyKind::ALL {
            let name = kind.policy_name(&spec.name);
            let text = pretty(&managed_policy(kind, &arns));
            let size = size_without_whitespace(&pretty(&managed_policy(kind, &sized)));
            if size > MANAGED_POLICY_MAX_CHARS {
                errors.push(PlanError {
                    account: account.id.clone(),
                    region: None,
                    message: format!(
                        "{name} would be {size} characters, over IAM's limit of {MANAGED_POLICY_MAX_CHARS}: key '{}' has too many key ARNs ({}) in this account; declare it in fewer regions or use a shorter name",
                        spec.name,
                        arns.len()
                    ),
                });
                continue;
            }
            let at = At {
                account: &account.id,
                region: None,
                key: &spec.name,
            };
            plan_policy(
                kind,
                &text,
                snapshot,
                &desired.settings.policy_path,
                &spec.name,
                &at,
                changes,
            );
        }
    }
    report_orphans(desired, snapshot, &declared, &account.id, changes);
}

fn plan_policy(
    kind: PolicyKind,
    text: &str,
    snapshot: &AccountSnapshot,
    path: &str,
    key: &str,
    at: &At<'_>,
    changes: &mut Changes,
) {
    let name = &kind.policy_name(key);
    let part = partition("");
    let Ok(want) = Document::parse(text, part) else {
        return;
    };
    let Some(live) = snapshot.policy(name) else {
        let tags = BTreeMap::from([
            (tag::MANAGED.to_string(), "true".to_string()),
            (tag::NAME.to_string(), key.to_string()),
        ]);
        changes.push(
            at,
            Resource::IamPolicy,
            ActionKind::Create,
            format!("create {path}{name}"),
            Some(Operation::CreatePolicy {
                name: name.to_string(),
                path: path.to_string(),
                document: text.to_string(),
                tags,
            }),
            Some(PolicyDiff {
                before: String::new(),
                after: want.normalized_text(),
            }),
        );
        return;
    };
    if live
        .tags
        .as_ref()
        .is_some_and(|t| t.get(tag::MANAGED).map(String::as_str) != Some("true"))
    {
        changes.push(
            at,
            Resource::IamPolicy,
            ActionKind::Conflict,
            format!(
                "{name} exists but is not tagged {}=true; c3 leaves it alone",
                tag::MANAGED
            ),
            None,
            None,
        );
        return;
    }
    let live_doc = match Document::parse(&live.document, part) {
        Ok(d) => d,
        Err(e) => {
            changes.report(
                at,
                Resource::IamPolicy,
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
    let extra: Vec<&Grant> = live_grants
        .iter()
        .filter(|g| !covered(g, &want_grants))
        .collect();
    let other_statements = live_doc
        .statements
        .iter()
        .filter(|s| !s.is_plain_allow())
        .count();

    if !extra.is_empty() || other_statements > 0 {
        let mut what = describe(&extra);
        if other_statements > 0 {
            if !what.is_empty() {
                what.push_str("; ");
            }
            what.push_str(&format!(
                "{other_statements} statement(s) that are not a plain Allow"
            ));
        }
        changes.report(
            at,
            Resource::IamPolicy,
            format!("{name} grants more than keys.toml needs: {what} (kept)"),
        );
    }
    if lacking.is_empty() {
        return;
    }
    // The new version: every live grant, every desired grant, and the live
    // statements that are not plain Allows, verbatim.
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
    let new_doc = json!({"Version": super::policy::POLICY_VERSION, "Statement": statements});
    let new_text = pretty(&new_doc);
    let size = size_without_whitespace(&new_text);
    if size > MANAGED_POLICY_MAX_CHARS {
        changes.report(
            at,
            Resource::IamPolicy,
            format!(
                "{name} lacks {} but the updated document would be {size} characters, over IAM's limit of {MANAGED_POLICY_MAX_CHARS}",
                describe(&lacking)
            ),
        );
        return;
    }
    let prune = if live.versions.len() >= MAX_POLICY_VERSIONS {
        live.versions
            .iter()
            .filter(|v| !v.is_default)
            .min_by_key(|v| (v.created_epoch, version_number(&v.id)))
            .map(|v| v.id.clone())
    } else {
        None
    };
    let mut detail = format!("{name}: add {}", describe(&lacking));
    if let Some(v) = &prune {
        detail.push_str(&format!(
            "; the policy has {MAX_POLICY_VERSIONS} versions, so its oldest non-default version {v} is deleted first"
        ));
    }
    let after = Document::parse(&new_text, part)
        .map(|d| d.normalized_text())
        .unwrap_or_else(|_| new_text.clone());
    changes.push(
        at,
        Resource::IamPolicy,
        ActionKind::Update,
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

fn version_number(id: &str) -> u64 {
    id.trim_start_matches(['v', 'V'])
        .parse()
        .unwrap_or(u64::MAX)
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
        // somebody else's (tags are read for exactly these candidates).
        let ours = p
            .tags
            .as_ref()
            .is_some_and(|t| t.get(tag::MANAGED).map(String::as_str) == Some("true"));
        if !ours {
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
            format!(
                "{} is no longer declared for this account in keys.toml; c3 never deletes policies",
                p.name
            ),
        );
    }
}
