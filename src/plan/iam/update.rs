//! A new default version of a c3 policy: every live permission, every
//! desired one, and the live statements that are not plain Allows, verbatim.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::permissions::{describe, statements_from, Permission};
use super::{PolicyContext, MAX_POLICY_VERSIONS};
use crate::model::{partition, version_order, LiveManagedPolicy};
use crate::plan::action::Operation;
use crate::plan::desired::{is_pending_arn, MANAGED_POLICY_MAX_CHARS};
use crate::plan::{ActionKind, At, Changes, PolicyDiff, Resource, Severity};
use crate::policy::{pretty, size_without_whitespace, Document, POLICY_VERSION};

/// Plans the update of a c3 policy that lacks `lacking`.
pub(super) fn plan(
    ctx: &PolicyContext<'_>,
    live: &LiveManagedPolicy,
    live_doc: &Document,
    have: &BTreeSet<Permission>,
    lacking: &[&Permission],
    at: &At<'_>,
    changes: &mut Changes,
) {
    let name = &ctx.wanted.name;
    let new_doc = union_document(ctx, live_doc, have, lacking);
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
        )
        .about(name.as_str());
        return;
    }
    let prune = version_to_prune(live);
    let mut detail = format!("{name}: add {}", describe(lacking));
    if let Some(v) = &prune {
        detail.push_str(&format!(
            "; the policy has {MAX_POLICY_VERSIONS} versions, so its oldest non-default version {v} is deleted first"
        ));
    }
    let after = Document::from_value(new_doc, partition(""))
        .map_or_else(|_| new_text.clone(), |d| d.normalized_text());
    // Naming only keys this plan creates realises a new declaration.
    let severity = if lacking.iter().all(|p| is_pending_arn(&p.resource)) {
        Severity::Info
    } else {
        Severity::Low
    };
    let operation = Operation::UpdatePolicy {
        arn: live.arn.clone(),
        document: new_text,
        prune_version: prune,
    };
    let update = changes.exec(
        at,
        Resource::IamPolicy,
        ActionKind::Update,
        severity,
        detail,
        operation,
    );
    update.about(name.as_str());
    update.diff = Some(PolicyDiff {
        before: live_doc.normalized_text(),
        after,
    });
}

/// The new document: the live and the lacking permissions regrouped, then
/// the live statements that are not plain Allows, verbatim.
fn union_document(
    ctx: &PolicyContext<'_>,
    live_doc: &Document,
    have: &BTreeSet<Permission>,
    lacking: &[&Permission],
) -> Value {
    let mut union = have.clone();
    union.extend(lacking.iter().map(|p| (*p).clone()));
    let mut statements = statements_from(&union, ctx.kind);
    if let Some(Value::Array(raw)) = live_doc.raw.get("Statement") {
        for (i, s) in live_doc.statements.iter().enumerate() {
            if !s.is_plain_allow() {
                if let Some(r) = raw.get(i) {
                    statements.push(r.clone());
                }
            }
        }
    }
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// The version to delete first when the policy has the most IAM keeps: its
/// oldest non-default one.
fn version_to_prune(live: &LiveManagedPolicy) -> Option<String> {
    if live.versions.len() < MAX_POLICY_VERSIONS {
        return None;
    }
    live.versions
        .iter()
        .filter(|v| !v.is_default)
        .min_by_key(|v| (v.created_epoch, version_order(&v.id)))
        .map(|v| v.id.clone())
}
