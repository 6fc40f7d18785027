//! Planner unit tests: one or more per row of design.md's difference table,
//! built from plain values (no AWS, no emulator).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::desired::{key_policy, managed_policy};
use super::*;
use crate::model::*;

pub(super) const A: &str = "111111111111";
pub(super) const B: &str = "222222222222";
pub(super) const R1: &str = "eu-west-1";
pub(super) const R2: &str = "eu-central-1";

pub(super) fn spec(name: &str, targets: &[(&str, &str)]) -> KeySpec {
    KeySpec {
        key_type: crate::model::KeyType::default(),
        name: name.into(),
        classification: "confidential".into(),
        description: format!("Managed by c3: {name} (confidential)"),
        rotation_days: 365,
        generation: 1,
        enabled: true,
        via_services: BTreeSet::from(["secretsmanager".to_string()]),
        service_principals: BTreeSet::from(["logs".to_string()]),
        administrators: BTreeSet::new(),
        users: BTreeSet::new(),
        statements: Vec::new(),
        user_tags: BTreeMap::from([("team".to_string(), "core".to_string())]),
        targets: targets.iter().map(|(a, r)| Target::new(*a, *r)).collect(),
        adopt: false,
        rotation: true,
        managed_policies: PolicyKind::ENCRYPTION.into_iter().collect(),
    }
}

pub(super) fn desired(keys: Vec<KeySpec>) -> DesiredState {
    let mut accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for k in &keys {
        for t in &k.targets {
            accounts
                .entry(t.account.clone())
                .or_default()
                .insert(t.region.clone());
        }
    }
    DesiredState {
        settings: Settings::default(),
        accounts: accounts
            .into_iter()
            .map(|(id, regions)| Account {
                name: format!("acct{id}"),
                id,
                role_arn: None,
                external_id: None,
                regions: regions.into_iter().collect(),
            })
            .collect(),
        keys,
        scope: Scope::default(),
        accept: Vec::new(),
        fleet: crate::model::Fleet::default(),
    }
}

pub(super) fn key_id(name: &str, t: &Target, generation: u32) -> String {
    format!("{name}-{}-{}-g{generation}", t.account, t.region)
}

pub(super) fn arn(t: &Target, id: &str) -> String {
    format!("arn:aws:kms:{}:{}:key/{id}", t.region, t.account)
}

/// A c3 key exactly as keys.toml wants it, its policy formatted the way AWS
/// pretty-prints (other spacing, other key order than c3 writes).
pub(super) fn c3_key(spec: &KeySpec, t: &Target, generation: u32) -> LiveKey {
    let mut s = spec.clone();
    s.generation = generation;
    let policy = key_policy(&s, t);
    LiveKey {
        last_usage: None,
        key_id: key_id(&spec.name, t, generation),
        arn: arn(t, &key_id(&spec.name, t, generation)),
        tags: s.tags(),
        details: Some(KeyDetails {
            primary_region: None,
            state: KeyState::Enabled,
            description: spec.description.clone(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: Some(i64::from(generation)),
            rotation: Some(Rotation {
                enabled: true,
                period_days: Some(spec.rotation_days),
            }),
            policy: Some(aws_style(&policy)),
            grants: Some(Vec::new()),
        }),
    }
}

/// Re-serialises a document the way AWS's console does: two-space-colon
/// spacing, reversed statement order, single-element lists as strings.
fn aws_style(policy: &serde_json::Value) -> String {
    let mut p = policy.clone();
    if let Some(serde_json::Value::Array(items)) = p.get_mut("Statement") {
        items.reverse();
    }
    serde_json::to_string_pretty(&p)
        .unwrap_or_default()
        .replace("\": ", "\" : ")
}

/// The tags c3 puts on its managed policies of a key name.
pub(super) fn c3_policy_tags(key: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("c3:managed".to_string(), "true".to_string()),
        ("c3:name".to_string(), key.to_string()),
    ])
}

/// The live state in which `desired` is fully converged.
pub(super) fn converged(d: &DesiredState) -> LiveState {
    let mut live = LiveState::default();
    for t in d.targets() {
        let mut snap = RegionSnapshot::default();
        for k in d.keys.iter().filter(|k| k.targets.contains(&t)) {
            let key = c3_key(k, &t, k.generation);
            snap.aliases.push(LiveAlias {
                name: k.alias(),
                target_key_id: Some(key.key_id.clone()),
            });
            snap.keys.push(key);
        }
        live.regions.insert(t, Ok(snap));
    }
    for a in &d.accounts {
        let mut acc = AccountSnapshot::default();
        for k in &d.keys {
            let arns: BTreeSet<String> = k
                .targets
                .iter()
                .filter(|t| t.account == a.id)
                .map(|t| arn(t, &key_id(&k.name, t, k.generation)))
                .collect();
            if arns.is_empty() {
                continue;
            }
            for kind in PolicyKind::ENCRYPTION {
                let name = kind.policy_name(&k.name);
                acc.policies.push(LiveManagedPolicy {
                    arn: format!("arn:aws:iam::{}:policy/{name}", a.id),
                    name,
                    path: "/".into(),
                    document: serde_json::to_string(&managed_policy(kind, &arns))
                        .unwrap_or_default(),
                    versions: vec![PolicyVersion {
                        id: "v1".into(),
                        is_default: true,
                        created_epoch: Some(1),
                    }],
                    tags: Some(c3_policy_tags(&k.name)),
                    attachments: None,
                });
            }
        }
        live.accounts.insert(a.id.clone(), Ok(acc));
    }
    live
}

pub(super) fn region_mut<'a>(
    live: &'a mut LiveState,
    account: &str,
    region: &str,
) -> &'a mut RegionSnapshot {
    match live.regions.get_mut(&Target::new(account, region)) {
        Some(Ok(s)) => s,
        _ => panic!("no snapshot for {account}/{region}"),
    }
}

pub(super) fn details_mut(snap: &mut RegionSnapshot, i: usize) -> &mut KeyDetails {
    match snap.keys[i].details.as_mut() {
        Some(d) => d,
        None => panic!("no details"),
    }
}

pub(super) fn account_mut<'a>(live: &'a mut LiveState, account: &str) -> &'a mut AccountSnapshot {
    match live.accounts.get_mut(account) {
        Some(Ok(s)) => s,
        _ => panic!("no account snapshot"),
    }
}

pub(super) fn rows(p: &Plan) -> Vec<(Resource, ActionKind, bool)> {
    p.changes
        .iter()
        .map(|c| (c.resource, c.action(), c.executable()))
        .collect()
}

pub(super) fn one_key() -> DesiredState {
    desired(vec![spec("payments", &[(A, R1)])])
}

#[test]
fn converged_state_plans_nothing() {
    let d = desired(vec![
        spec("payments", &[(A, R1), (A, R2), (B, R1)]),
        spec("logs", &[(A, R1)]),
    ]);
    let p = plan(&d, &converged(&d));
    assert!(p.is_empty(), "{:#?}", p.changes);
    assert!(p.errors.is_empty());
}

#[test]
fn moto_style_default_formatting_is_no_difference() {
    let d = one_key();
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let text = serde_json::to_string(&key_policy(&d.keys[0], &t)).unwrap_or_default();
    details_mut(region_mut(&mut live, A, R1), 0).policy = Some(text);
    assert!(plan(&d, &live).is_empty());
}

#[test]
fn missing_key_creates_key_alias_and_policies() {
    let d = one_key();
    let mut live = converged(&d);
    *region_mut(&mut live, A, R1) = RegionSnapshot::default();
    *account_mut(&mut live, A) = AccountSnapshot::default();
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![
            (Resource::Key, ActionKind::Create, true),
            (Resource::Alias, ActionKind::Create, true),
            (Resource::IamPolicy, ActionKind::Create, true),
            (Resource::IamPolicy, ActionKind::Create, true),
            (Resource::IamPolicy, ActionKind::Create, true),
        ]
    );
    assert!(p.changes[2].region.is_none());
    let Some(Operation::CreatePolicy { document, .. }) = &p.changes[2].operation() else {
        panic!("not a CreatePolicy");
    };
    assert!(
        document.contains("(new key payments, generation 1)"),
        "{document}"
    );
    let s = p.summary();
    assert_eq!((s.create, s.report), (5, 0));
    assert_eq!(
        s.line(),
        "Plan: 5 to create, 0 to update, 0 to repoint, 0 to restore, 0 to adopt, 0 reported (not applied); 5 info."
    );
}

#[test]
fn missing_alias_on_existing_key_is_adopted() {
    let d = one_key();
    let mut live = converged(&d);
    region_mut(&mut live, A, R1).aliases.clear();
    let p = plan(&d, &live);
    assert_eq!(rows(&p), vec![(Resource::Alias, ActionKind::Adopt, true)]);
    let Some(Operation::CreateAlias { key, .. }) = &p.changes[0].operation() else {
        panic!("not CreateAlias");
    };
    assert_eq!(
        key,
        &KeyRef::existing(&key_id("payments", &Target::new(A, R1), 1))
    );
}

#[test]
fn generation_bump_creates_then_repoints_and_keeps_old_key() {
    let d1 = one_key();
    let live = converged(&d1);
    let mut d2 = d1.clone();
    d2.keys[0].generation = 2;
    let p = plan(&d2, &live);
    assert_eq!(
        rows(&p),
        vec![
            (Resource::Key, ActionKind::Create, true),
            (Resource::Alias, ActionKind::Repoint, true),
            (Resource::IamPolicy, ActionKind::Update, true),
            (Resource::IamPolicy, ActionKind::Update, true),
            (Resource::IamPolicy, ActionKind::Update, true),
        ]
    );
    let Some(Operation::UpdateAlias { key, .. }) = &p.changes[1].operation() else {
        panic!("not UpdateAlias");
    };
    assert_eq!(key, &KeyRef::New { generation: 2 });
    // The new policy version names both generations.
    let Some(Operation::UpdatePolicy { document, .. }) = &p.changes[2].operation() else {
        panic!("not UpdatePolicy");
    };
    assert!(
        document.contains("g1") && document.contains("generation 2"),
        "{document}"
    );
}

#[test]
fn alias_on_older_generation_repoints_to_existing_newer_key() {
    let mut d = one_key();
    d.keys[0].generation = 2;
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let old = c3_key(&d.keys[0], &t, 1);
    let snap = region_mut(&mut live, A, R1);
    snap.aliases[0].target_key_id = Some(old.key_id.clone());
    snap.keys.push(old.clone());
    // The managed policies already name both.
    let both: BTreeSet<String> = snap.keys.iter().map(|k| k.arn.clone()).collect();
    for p in &mut account_mut(&mut live, A).policies {
        let (kind, _) = PolicyKind::parse_name(&p.name).unwrap_or((PolicyKind::Crypto, ""));
        p.document = managed_policy(kind, &both).to_string();
    }
    let p = plan(&d, &live);
    assert_eq!(rows(&p), vec![(Resource::Alias, ActionKind::Repoint, true)]);
    assert!(p.changes[0].detail.contains(&old.key_id));
}

#[test]
fn older_generations_are_expected_and_restored_if_disabled() {
    let mut d = one_key();
    d.keys[0].generation = 2;
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let mut old = c3_key(&d.keys[0], &t, 1);
    let snap = region_mut(&mut live, A, R1);
    snap.keys.push(old.clone());
    let both: BTreeSet<String> = snap.keys.iter().map(|k| k.arn.clone()).collect();
    for p in &mut account_mut(&mut live, A).policies {
        let (kind, _) = PolicyKind::parse_name(&p.name).unwrap_or((PolicyKind::Crypto, ""));
        p.document = managed_policy(kind, &both).to_string();
    }
    assert!(plan(&d, &live).is_empty());
    if let Some(det) = old.details.as_mut() {
        det.state = KeyState::PendingDeletion;
    }
    let snap = region_mut(&mut live, A, R1);
    snap.keys.pop();
    snap.keys.push(old);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyState, ActionKind::Restore, true)]
    );
    assert_eq!(
        p.changes[0].operation().cloned(),
        Some(Operation::Restore {
            key_id: key_id("payments", &t, 1),
            cancel_deletion: true,
            enable: true
        })
    );
}

#[test]
fn rotation_off_or_other_period_is_updated() {
    let d = one_key();
    let mut live = converged(&d);
    details_mut(region_mut(&mut live, A, R1), 0).rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::Rotation, ActionKind::Update, true)]
    );
    details_mut(region_mut(&mut live, A, R1), 0).rotation = Some(Rotation {
        enabled: true,
        period_days: Some(180),
    });
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::Rotation, ActionKind::Update, true)]
    );
    assert!(
        p.changes[0].detail.contains("180"),
        "{}",
        p.changes[0].detail
    );
    assert_eq!(
        p.changes[0].operation().cloned(),
        Some(Operation::EnableRotation {
            key_id: key_id("payments", &Target::new(A, R1), 1),
            rotation_days: 365
        })
    );
}

pub(super) fn live_policy(live: &mut LiveState) -> serde_json::Value {
    let text = details_mut(region_mut(live, A, R1), 0)
        .policy
        .clone()
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

pub(super) fn set_live_policy(live: &mut LiveState, v: &serde_json::Value) {
    details_mut(region_mut(live, A, R1), 0).policy = Some(v.to_string());
}

pub(super) fn statements_mut(v: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    match v.get_mut("Statement") {
        Some(serde_json::Value::Array(items)) => items,
        _ => panic!("no statements"),
    }
}

#[test]
fn missing_statement_is_added_and_live_ones_kept() {
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).retain(|s| s["Sid"] != "AllowServiceLogs");
    statements_mut(&mut pol).push(json!({"Sid": "Foreign", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"}, "Action": "kms:Decrypt", "Resource": "*"}));
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![
            (Resource::KeyPolicy, ActionKind::Report, false),
            (Resource::KeyPolicy, ActionKind::Update, true),
        ],
        "{:#?}",
        p.changes
    );
    let update = &p.changes[1];
    assert!(update.detail.contains("add statement AllowServiceLogs"));
    let Some(Operation::PutKeyPolicy { policy, .. }) = update.operation() else {
        panic!("not PutKeyPolicy");
    };
    assert!(policy.contains("Foreign") && policy.contains("AllowServiceLogs"));
    let diff = update
        .diff
        .as_ref()
        .map(|d| (d.before.clone(), d.after.clone()));
    assert!(diff
        .is_some_and(|(b, a)| !b.contains("AllowServiceLogs") && a.contains("AllowServiceLogs")));
    assert!(p.changes[0].detail.contains("\"Foreign\""));

    // After applying, the foreign statement is still reported, nothing else.
    let mut after = live.clone();
    let merged: serde_json::Value = serde_json::from_str(policy).unwrap_or_default();
    set_live_policy(&mut after, &merged);
    assert_eq!(
        rows(&plan(&d, &after)),
        vec![(Resource::KeyPolicy, ActionKind::Report, false)]
    );
}

#[test]
fn statement_lacking_an_action_gains_it_and_extra_is_reported() {
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    for s in statements_mut(&mut pol) {
        if s["Sid"] == "AllowViaServiceSecretsmanager" {
            s["Action"] = json!([
                "kms:Encrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:CreateGrant",
                "kms:DescribeKey",
                "kms:Sign"
            ]);
        }
    }
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![
            (Resource::KeyPolicy, ActionKind::Report, false),
            (Resource::KeyPolicy, ActionKind::Update, true),
        ],
        "{:#?}",
        p.changes
    );
    assert!(p.changes[1].detail.contains("kms:Decrypt"));
    assert!(p.changes[0].detail.contains("kms:Sign"));
}

#[test]
fn c3_statement_granting_more_is_only_reported() {
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    for s in statements_mut(&mut pol) {
        if s["Sid"] == "AllowServiceLogs" {
            s["Condition"]["StringEquals"]["aws:SourceAccount"] = json!([A, B]);
        }
    }
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyPolicy, ActionKind::Report, false)]
    );
    assert!(p.changes[0].detail.contains(B));
}

#[test]
fn merged_policy_that_would_be_public_is_not_executable() {
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).retain(|s| s["Sid"] != "AllowServiceLogs");
    statements_mut(&mut pol).push(json!({"Sid": "Open", "Effect": "Allow", "Principal": "*",
        "Action": "kms:Decrypt", "Resource": "*"}));
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    assert!(!p.has_executable(), "{:#?}", p.changes);
    assert!(p.changes.iter().any(|c| c.detail.contains("public")));
}

#[test]
fn tags_missing_or_different_are_updated_undeclared_ones_reported_unless_ignored() {
    let mut d = one_key();
    let mut live = converged(&d);
    let snap = region_mut(&mut live, A, R1);
    snap.keys[0].tags.insert("team".into(), "other".into());
    snap.keys[0].tags.remove(tag::CLASSIFICATION);
    snap.keys[0].tags.insert("cost-center".into(), "42".into());
    snap.keys[0]
        .tags
        .insert("aws:cloudformation:stack-name".into(), "s".into());
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![
            (Resource::Tags, ActionKind::Update, true),
            (Resource::Tags, ActionKind::Report, false)
        ]
    );
    // aws:* tags are never compared; an undeclared one is low.
    assert!(p.changes[1].detail.starts_with("tag cost-center=42 on key"));
    assert_eq!(p.changes[1].severity, Severity::Low);
    d.settings.ignore_tags = vec!["cost-*".into()];
    let p = plan(&d, &live);
    assert_eq!(rows(&p), vec![(Resource::Tags, ActionKind::Update, true)]);
    let Some(Operation::TagKey { tags, .. }) = &p.changes[0].operation() else {
        panic!("not TagKey");
    };
    assert_eq!(
        tags,
        &BTreeMap::from([
            (tag::CLASSIFICATION.to_string(), "confidential".to_string()),
            ("team".to_string(), "core".to_string())
        ])
    );
}

#[test]
fn disabled_and_pending_deletion_keys_are_restored() {
    let d = one_key();
    let mut live = converged(&d);
    details_mut(region_mut(&mut live, A, R1), 0).state = KeyState::Disabled;
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyState, ActionKind::Restore, true)]
    );
    details_mut(region_mut(&mut live, A, R1), 0).state = KeyState::PendingDeletion;
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyState, ActionKind::Restore, true)]
    );
    assert!(matches!(
        p.changes[0].operation().cloned(),
        Some(Operation::Restore {
            cancel_deletion: true,
            enable: true,
            ..
        })
    ));
}

#[test]
fn enabled_false_is_reported_never_executed() {
    let mut d = one_key();
    d.keys[0].enabled = false;
    let live = converged(&d);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyState, ActionKind::Report, false)]
    );

    // Missing and enabled = false: not created, reported.
    let mut empty = live.clone();
    *region_mut(&mut empty, A, R1) = RegionSnapshot::default();
    let p = plan(&d, &empty);
    assert!(!p.has_executable() || p.changes.iter().all(|c| c.resource == Resource::IamPolicy));
    assert!(p
        .changes
        .iter()
        .any(|c| c.resource == Resource::Key && c.action() == ActionKind::Report));

    // Existing and disabled: no change.
    let mut disabled = live;
    details_mut(region_mut(&mut disabled, A, R1), 0).state = KeyState::Disabled;
    assert!(plan(&d, &disabled).is_empty());
}

#[test]
fn foreign_alias_is_a_conflict_that_blocks_create_and_adopt() {
    let d = one_key();
    let mut live = converged(&d);
    let snap = region_mut(&mut live, A, R1);
    snap.keys.push(LiveKey {
        last_usage: None,
        key_id: "foreign".into(),
        arn: arn(&Target::new(A, R1), "foreign"),
        tags: BTreeMap::new(),
        details: None,
    });
    snap.aliases[0].target_key_id = Some("foreign".into());
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::Alias, ActionKind::Conflict, false)]
    );
    // With no c3 key at all, nothing is created either.
    let snap = region_mut(&mut live, A, R1);
    snap.keys.retain(|k| k.key_id == "foreign");
    let p = plan(&d, &live);
    assert!(p.changes.iter().all(
        |c| c.resource != Resource::Key && c.resource != Resource::Alias
            || c.action() == ActionKind::Conflict
    ));
    assert!(!p
        .changes
        .iter()
        .any(|c| matches!(c.operation(), Some(Operation::CreateKey { .. }))));
}

#[test]
fn managed_policy_missing_is_created_lacking_is_updated_extra_is_reported() {
    let d = one_key();
    let mut live = converged(&d);
    let acc = account_mut(&mut live, A);
    acc.policies.retain(|p| p.name != "allow-encrypt-payments");
    for p in &mut acc.policies {
        if p.name == "allow-decrypt-payments" {
            p.document = managed_policy(PolicyKind::Decrypt, &BTreeSet::new()).to_string();
        }
        if p.name == "allow-crypto-payments" {
            let mut arns: BTreeSet<String> = BTreeSet::from([arn(
                &Target::new(A, R1),
                &key_id("payments", &Target::new(A, R1), 1),
            )]);
            arns.insert("arn:aws:kms:eu-west-1:111111111111:key/retired".into());
            p.document = managed_policy(PolicyKind::Crypto, &arns).to_string();
        }
    }
    let p = plan(&d, &live);
    let got: Vec<(String, ActionKind)> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.detail
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .split(' ')
                    .next_back()
                    .unwrap_or_default()
                    .to_string(),
                c.action(),
            )
        })
        .collect();
    assert_eq!(p.changes.len(), 3, "{got:?}");
    assert!(p
        .changes
        .iter()
        .any(|c| c.action() == ActionKind::Create && c.detail.contains("allow-encrypt-payments")));
    assert!(p
        .changes
        .iter()
        .any(|c| c.action() == ActionKind::Update && c.detail.contains("allow-decrypt-payments")));
    assert!(p
        .changes
        .iter()
        .any(|c| c.action() == ActionKind::Report && c.detail.contains("retired")));
}

#[test]
fn policy_update_at_five_versions_prunes_oldest_non_default() {
    let d = one_key();
    let mut live = converged(&d);
    for p in &mut account_mut(&mut live, A).policies {
        if p.name == "allow-decrypt-payments" {
            p.document = managed_policy(PolicyKind::Decrypt, &BTreeSet::new()).to_string();
            p.versions = (1..=5)
                .map(|i| PolicyVersion {
                    id: format!("v{i}"),
                    is_default: i == 3,
                    created_epoch: Some(i),
                })
                .collect();
        }
    }
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::IamPolicy, ActionKind::Update, true)]
    );
    let Some(Operation::UpdatePolicy { prune_version, .. }) = &p.changes[0].operation() else {
        panic!("not UpdatePolicy");
    };
    assert_eq!(prune_version.as_deref(), Some("v1"));
    assert!(p.changes[0].detail.contains("v1"));
}

#[test]
fn managed_policy_split_differently_is_no_difference() {
    let d = one_key();
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let a = arn(&t, &key_id("payments", &t, 1));
    for p in &mut account_mut(&mut live, A).policies {
        if p.name == "allow-crypto-payments" {
            p.document = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": a},
                {"Sid": "x", "Effect": "Allow", "Action": ["kms:encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": [a]},
                {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": a,
                 "Condition": {"Bool": {"kms:GrantIsForAWSResource": true}}}
            ]})
            .to_string();
        }
    }
    let p = plan(&d, &live);
    assert!(p.is_empty(), "{:#?}", p.changes);
}

#[test]
fn orphans_are_reported_with_resource_key_alias_and_policy() {
    let d = desired(vec![spec("payments", &[(A, R1)]), spec("old", &[(A, R1)])]);
    let live = converged(&d);
    let d2 = desired(vec![spec("payments", &[(A, R1)])]);
    let p = plan(&d2, &live);
    let mut got: Vec<(Resource, ActionKind)> =
        p.changes.iter().map(|c| (c.resource, c.action())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (Resource::Key, ActionKind::Report),
            (Resource::Alias, ActionKind::Report),
            (Resource::IamPolicy, ActionKind::Report),
            (Resource::IamPolicy, ActionKind::Report),
            (Resource::IamPolicy, ActionKind::Report),
        ]
    );
    assert!(p.changes.iter().all(|c| c.key == "old"));
}

#[test]
fn untagged_lookalike_policies_are_not_orphans() {
    let d = one_key();
    let mut live = converged(&d);
    account_mut(&mut live, A).policies.push(LiveManagedPolicy {
        name: "allow-encrypt-someone-else".into(),
        arn: format!("arn:aws:iam::{A}:policy/allow-encrypt-someone-else"),
        path: "/".into(),
        document: "{}".into(),
        versions: vec![],
        tags: Some(BTreeMap::new()),
        attachments: None,
    });
    assert!(plan(&d, &live).is_empty());
}

#[test]
fn duplicate_key_of_a_generation_is_reported_not_recreated() {
    let d = one_key();
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let mut dup = c3_key(&d.keys[0], &t, 1);
    dup.key_id = "dup".into();
    dup.arn = arn(&t, "dup");
    if let Some(det) = dup.details.as_mut() {
        det.creation_epoch = Some(99);
    }
    region_mut(&mut live, A, R1).keys.push(dup);
    let p = plan(&d, &live);
    assert!(p.changes.iter().any(|c| c.resource == Resource::Key
        && c.action() == ActionKind::Report
        && c.detail.contains("dup")));
    assert!(!p
        .changes
        .iter()
        .any(|c| matches!(c.operation(), Some(Operation::CreateKey { .. }))));
}

#[test]
fn a_failed_target_is_an_error_and_others_are_planned() {
    let d = desired(vec![spec("payments", &[(A, R1), (B, R1)])]);
    let mut live = converged(&d);
    live.regions.insert(
        Target::new(A, R1),
        Err(ReadFailure::new("ListKeys: AccessDeniedException: no")),
    );
    *region_mut(&mut live, B, R1) = RegionSnapshot::default();
    let p = plan(&d, &live);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].region.as_deref(), Some(R1));
    assert!(p.changes.iter().all(|c| c.account == B));
    assert!(p
        .changes
        .iter()
        .any(|c| c.resource == Resource::Key && c.action() == ActionKind::Create));
    // IAM for the failed account is not planned on partial data.
    assert!(!p.changes.iter().any(|c| c.account == A));
}

#[test]
fn plan_is_deterministic_whatever_the_listing_order() {
    let d = desired(vec![spec("a", &[(A, R1), (A, R2)]), spec("b", &[(A, R1)])]);
    let live = converged(&d);
    let mut empty = live.clone();
    for s in empty.regions.values_mut() {
        *s = Ok(RegionSnapshot::default());
    }
    let p1 = plan(&d, &empty);
    let mut shuffled = live.clone();
    for s in shuffled.regions.values_mut().flatten() {
        s.keys.reverse();
        s.aliases.reverse();
        for k in &mut s.keys {
            if let Some(det) = k.details.as_mut() {
                det.state = KeyState::Disabled;
            }
        }
    }
    let mut base = live;
    for s in base.regions.values_mut().flatten() {
        for k in &mut s.keys {
            if let Some(det) = k.details.as_mut() {
                det.state = KeyState::Disabled;
            }
        }
    }
    assert_eq!(plan(&d, &shuffled), plan(&d, &base));
    assert_eq!(p1, plan(&d, &empty));
}

#[test]
fn no_operation_removes_anything() {
    // Every operation the planner can emit, across all the cases above, is one
    // of the additive kinds; this walks a plan with every kind of drift.
    let d = one_key();
    let mut live = converged(&d);
    details_mut(region_mut(&mut live, A, R1), 0).state = KeyState::PendingDeletion;
    details_mut(region_mut(&mut live, A, R1), 0).rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    region_mut(&mut live, A, R1).keys[0]
        .tags
        .remove(tag::CLASSIFICATION);
    for c in plan(&d, &live).executable() {
        match c.operation() {
            Some(
                Operation::Restore { .. }
                | Operation::EnableRotation { .. }
                | Operation::TagKey { .. }
                | Operation::AdoptKey { .. }
                | Operation::AdoptPolicy { .. }
                | Operation::CreateKey { .. }
                | Operation::ReplicateKey { .. }
                | Operation::CreateAlias { .. }
                | Operation::UpdateAlias { .. }
                | Operation::PutKeyPolicy { .. }
                | Operation::UpdateDescription { .. }
                | Operation::CreatePolicy { .. }
                | Operation::UpdatePolicy { .. },
            ) => {}
            None => panic!("executable without operation"),
        }
    }
}

#[test]
fn new_keys_of_different_names_get_distinct_pending_arns() {
    let d = desired(vec![spec("a", &[(A, R1)]), spec("b", &[(A, R1)])]);
    let mut live = converged(&d);
    *region_mut(&mut live, A, R1) = RegionSnapshot::default();
    *account_mut(&mut live, A) = AccountSnapshot::default();
    let p = plan(&d, &live);
    let docs: Vec<(String, String)> = p
        .changes
        .iter()
        .filter_map(|c| match c.operation() {
            Some(Operation::CreatePolicy { document, .. }) => {
                Some((c.key.clone(), document.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(docs.len(), 6);
    for (key, doc) in docs {
        let other = if key == "a" { "b" } else { "a" };
        assert!(
            doc.contains(&format!("(new key {key}, generation 1)")),
            "{doc}"
        );
        assert!(!doc.contains(&format!("(new key {other}, ")), "{doc}");
    }
}

#[test]
fn keys_out_of_scope_are_neither_planned_nor_orphans() {
    let d = desired(vec![spec("a", &[(A, R1)]), spec("b", &[(A, R1)])]);
    let live = converged(&d);
    let mut missing = live.clone();
    // b's key is gone; a run scoped to a says nothing about b.
    region_mut(&mut missing, A, R1)
        .keys
        .retain(|k| k.c3_name() != Some("b"));
    region_mut(&mut missing, A, R1)
        .aliases
        .retain(|a| a.name != "alias/b");
    let mut scoped = d.clone();
    scoped.scope.keys = Some(BTreeSet::from(["a".to_string()]));
    assert!(plan(&scoped, &missing).is_empty());
    assert!(!plan(&d, &missing).is_empty());
}

#[test]
fn managed_policies_are_planned_only_when_all_their_regions_are_in_scope() {
    let d = desired(vec![spec("a", &[(A, R1), (A, R2)])]);
    let mut live = converged(&d);
    *account_mut(&mut live, A) = AccountSnapshot::default();
    let mut scoped = d.clone();
    scoped.scope.regions = Some(BTreeSet::from([R1.to_string()]));
    live.regions.remove(&Target::new(A, R2));
    let p = plan(&scoped, &live);
    assert!(p.is_empty(), "{:#?}", p.changes);
    assert!(p.errors.is_empty(), "{:#?}", p.errors);
}

#[test]
fn merged_shards_equal_the_whole_plan_and_overlaps_are_refused() {
    let d = desired(vec![spec("a", &[(A, R1), (B, R1)])]);
    let mut live = converged(&d);
    for s in live.regions.values_mut() {
        *s = Ok(RegionSnapshot::default());
    }
    let whole = plan(&d, &live);
    let shard = |id: &str| {
        let mut s = d.clone();
        s.scope.accounts = Some(BTreeSet::from([id.to_string()]));
        plan(&s, &live)
    };
    let merged = Plan::merge(vec![shard(B), shard(A)]);
    assert_eq!(merged.as_ref().ok(), Some(&whole));
    assert!(Plan::merge(vec![shard(A), shard(A)]).is_err());
}

#[test]
fn unreadable_rotation_of_a_key_being_restored_is_set_in_the_same_apply() {
    // GetKeyRotationStatus fails while a key is PendingDeletion (and on some
    // endpoints while it is Disabled), so the plan cannot see that rotation
    // is off. The restore enables the key; rotation is set in the same apply
    // rather than by a second one.
    for state in [KeyState::PendingDeletion, KeyState::Disabled] {
        let d = one_key();
        let mut live = converged(&d);
        let det = details_mut(region_mut(&mut live, A, R1), 0);
        det.state = state.clone();
        det.rotation = None;
        let p = plan(&d, &live);
        assert_eq!(
            rows(&p),
            vec![
                (Resource::Rotation, ActionKind::Update, true),
                (Resource::KeyState, ActionKind::Restore, true),
            ],
            "{state}: {:#?}",
            p.changes
        );
        assert_eq!(
            p.changes[0].operation().cloned(),
            Some(Operation::EnableRotation {
                key_id: key_id("payments", &Target::new(A, R1), 1),
                rotation_days: 365
            })
        );
        // enabled = false: the key stays disabled, rotation cannot be set.
        let mut off = d.clone();
        off.keys[0].enabled = false;
        assert!(!plan(&off, &live)
            .changes
            .iter()
            .any(|c| c.resource == Resource::Rotation));
    }
}

#[test]
fn orphan_reports_do_not_depend_on_listing_order() {
    // Found by the property tests: reports of the same (account, region, key,
    // resource) followed the order the snapshot listed keys and policies in.
    let d = desired(vec![spec("payments", &[(A, R1)]), spec("old", &[(A, R1)])]);
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let mut second = c3_key(&d.keys[1], &t, 2);
    second.key_id = "0-second-old".into();
    region_mut(&mut live, A, R1).keys.push(second);
    let d2 = desired(vec![spec("payments", &[(A, R1)])]);
    let p = plan(&d2, &live);
    let mut reversed = live.clone();
    for s in reversed.regions.values_mut().flatten() {
        s.keys.reverse();
        s.aliases.reverse();
    }
    for a in reversed.accounts.values_mut().flatten() {
        a.policies.reverse();
    }
    assert_eq!(p, plan(&d2, &reversed));
    let iam: Vec<&str> = p
        .changes
        .iter()
        .filter(|c| c.resource == Resource::IamPolicy)
        .map(|c| c.detail.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        iam,
        vec!["allow-crypto-old", "allow-decrypt-old", "allow-encrypt-old"]
    );
}
