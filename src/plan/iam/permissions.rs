//! Managed policies compared by what they grant: each plain `Allow`
//! statement expands into [`Permission`]s (one action on one resource under
//! one condition), and permissions regroup into statements.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::model::PolicyKind;
use crate::plan::desired::{grant_sid, kind_statements};
use crate::policy::{glob_match, Condition, Document};

/// One action on one resource under one condition block (or none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Permission {
    /// The action (a pattern in a live policy).
    pub action: String,
    /// The resource (a pattern in a live policy).
    pub resource: String,
    /// The condition, canonical.
    pub condition: Condition,
}

/// Every permission the plain `Allow` statements of a document give.
pub(super) fn permissions(doc: &Document) -> BTreeSet<Permission> {
    let mut out = BTreeSet::new();
    for s in doc.statements.iter().filter(|s| s.is_plain_allow()) {
        let (Some(actions), Some(resources)) = (&s.action, &s.resource) else {
            continue;
        };
        let condition = Condition::of(s);
        for a in actions.iter() {
            for r in resources {
                out.insert(Permission {
                    action: a.to_string(),
                    resource: r.clone(),
                    condition: condition.clone(),
                });
            }
        }
    }
    out
}

/// Whether `by` grants at least `p`: its action and resource patterns match
/// and its condition is the same (a different condition is not assumed wider).
pub(super) fn covered(p: &Permission, by: &BTreeSet<Permission>) -> bool {
    by.iter().any(|b| {
        b.condition == p.condition
            && glob_match(&b.action, &p.action, true)
            && glob_match(&b.resource, &p.resource, false)
    })
}

/// Regroups permissions into statements: per condition, resources with the
/// same action set share a statement. Deterministic.
pub(super) fn statements_from(permissions: &BTreeSet<Permission>, kind: PolicyKind) -> Vec<Value> {
    // c3's own statements keep their Sids, so a diff shows only what changed.
    let known: Vec<(BTreeSet<String>, Condition, String)> = kind_statements(kind)
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let actions = g.actions.iter().map(|a| a.to_ascii_lowercase()).collect();
            let condition = g
                .condition
                .as_ref()
                .map(|c| Condition::from_block(c, "aws"))
                .unwrap_or_default();
            (actions, condition, grant_sid(kind, i))
        })
        .collect();
    // condition -> resource -> actions
    let mut by_condition: BTreeMap<&Condition, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for p in permissions {
        by_condition
            .entry(&p.condition)
            .or_default()
            .entry(&p.resource)
            .or_default()
            .insert(&p.action);
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
                .map_or_else(
                    || format!("C3Grant{}", out.len() + 1),
                    |(_, _, sid)| sid.clone(),
                );
            let mut m = Map::new();
            m.insert("Sid".into(), Value::String(sid));
            m.insert("Effect".into(), "Allow".into());
            m.insert("Action".into(), json!(actions));
            m.insert("Resource".into(), json!(resources));
            if let Some(c) = condition.value() {
                m.insert("Condition".into(), c.clone());
            }
            out.push(Value::Object(m));
        }
    }
    out
}

/// `kms:Decrypt, kms:Encrypt on arn:..., ...`: what a list of permissions adds up to.
pub(super) fn describe(permissions: &[&Permission]) -> String {
    let resources: BTreeSet<&str> = permissions.iter().map(|p| p.resource.as_str()).collect();
    let actions: BTreeSet<&str> = permissions.iter().map(|p| p.action.as_str()).collect();
    if permissions.is_empty() {
        return String::new();
    }
    let list = |items: &BTreeSet<&str>| items.iter().copied().collect::<Vec<_>>().join(", ");
    format!("{} on {}", list(&actions), list(&resources))
}
