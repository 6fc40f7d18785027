//! Snapshots of what users read of a plan: the table with its diffs and
//! summary (`c3 plan`), the JSON document (`--output json`, a contract:
//! docs/output-json.md) and a policy diff. The plan comes from the pure
//! planner over a fixed estate with drift of every kind, so a change of
//! wording, order or format shows up here as a reviewed snapshot diff.

use super::tests::{
    converged, desired, live_policy, region_mut, set_live_policy, spec, A, B, R1, R2,
};
use super::*;
use crate::model::{KmsGrant, LiveState};
use crate::options::Style;

/// `payments` in two accounts, `logs` in one; drift: rotation off, a foreign
/// statement, an undeclared tag and a grant to another account on one key;
/// the other account's `payments` key is gone (created again, its policies
/// name the new key).
pub(super) fn drifted() -> (DesiredState, LiveState) {
    let d = desired(vec![
        spec("payments", &[(A, R1), (B, R1)]),
        spec("logs", &[(A, R2)]),
    ]);
    let mut live = converged(&d);
    {
        let snap = region_mut(&mut live, A, R1);
        let key = &mut snap.keys[0];
        key.tags.insert("owner".into(), "someone".into());
        if let Some(details) = key.details.as_mut() {
            if let Some(r) = details.rotation.as_mut() {
                r.enabled = false;
            }
            details.grants = Some(vec![KmsGrant {
                grant_id: "0123456789abcdef".into(),
                name: None,
                grantee: Some("arn:aws:iam::999999999999:root".into()),
                grantee_service: None,
                retiring: None,
                issuing_account: Some(format!("arn:aws:iam::{A}:root")),
                operations: vec!["Decrypt".into()],
                constraints: std::collections::BTreeMap::default(),
                source_arn: None,
            }]);
        }
    }
    let mut policy = live_policy(&mut live);
    if let Some(serde_json::Value::Array(items)) = policy.get_mut("Statement") {
        items.push(serde_json::json!({
            "Sid": "AllowAnalytics",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{A}:role/analytics")},
            "Action": "kms:Decrypt",
            "Resource": "*"
        }));
    }
    set_live_policy(&mut live, &policy);
    let gone = region_mut(&mut live, B, R1);
    gone.keys.clear();
    gone.aliases.clear();
    (d, live)
}

#[test]
fn the_plan_table() {
    let (d, live) = drifted();
    insta::assert_snapshot!(crate::render::human(&plan(&d, &live), &Style::plain()));
}

#[test]
fn the_json_plan() {
    let (d, live) = drifted();
    let mut p = plan(&d, &live);
    p.meta = Some(crate::plan::PlanMeta {
        c3_version: "0.1.0".to_string(),
        created_at: "2026-11-30T12:00:00Z".to_string(),
        config: crate::plan::ConfigRef::of("keys.toml", b"version = 1\n"),
        selection: crate::plan::Selection {
            shard: Some(crate::plan::Shard { index: 1, count: 3 }),
            ..crate::plan::Selection::default()
        },
    });
    insta::assert_snapshot!(crate::render::json::to_string(&p));
}

#[test]
fn a_policy_diff() {
    let (d, live) = drifted();
    let p = plan(&d, &live);
    let Some(update) = p
        .changes
        .iter()
        .find(|c| c.resource == Resource::IamPolicy && c.action() == ActionKind::Update)
    else {
        panic!("no policy update in {:#?}", p.changes);
    };
    insta::assert_snapshot!(crate::render::diff::render(update, &Style::plain()));
}

/// The drifted estate with `[[accept]]`: the foreign statement and the
/// undeclared tag accepted, an entry for the grant that has expired, and one
/// that matches nothing.
#[test]
fn the_plan_table_with_accepted_findings() {
    let (d, live) = drifted();
    let mut p = plan(&d, &live);
    let date = |s: &str| crate::model::Date::parse(s).unwrap_or_else(|e| panic!("{e}"));
    let entry =
        |line: usize, resource: &str, subject: &str, expires: &str| crate::model::AcceptEntry {
            account: Some(A.into()),
            region: None,
            key: Some("payments".into()),
            resource: Some(resource.into()),
            subject: Some(subject.into()),
            reason: format!("reviewed ({line})"),
            expires: date(expires),
            at: format!("keys.toml:{line}"),
        };
    let entries = [
        entry(40, "key_policy", "AllowAnalytics", "2027-03-01"),
        entry(47, "tags", "own*", "2027-03-01"),
        entry(54, "grant", "*", "2026-01-31"),
        entry(61, "alias", "alias/payments", "2027-03-01"),
    ];
    accept::accept(&mut p, &entries, &d.scope, date("2026-11-30"));
    let mut text = crate::render::human(&p, &Style::plain());
    for w in &p.warnings {
        text.push_str(&format!("warning: {w}\n"));
    }
    insta::assert_snapshot!(text);
}
