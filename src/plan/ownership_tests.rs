//! Planner unit tests of ownership, grants, tags and severity (design.md,
//! "Ownership" and "Severity"): c3 writes only to what is provably its own,
//! sees what other people and tools did, and ranks it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::tests::*;
use super::*;
use crate::model::*;

/// A policy of `name` at `path` in account A, as somebody else made it.
fn foreign_policy(
    name: &str,
    path: &str,
    document: &str,
    tags: BTreeMap<String, String>,
) -> LiveManagedPolicy {
    LiveManagedPolicy {
        name: name.into(),
        arn: format!("arn:aws:iam::{A}:policy{path}{name}"),
        path: path.into(),
        document: document.into(),
        versions: vec![PolicyVersion {
            id: "v1".into(),
            is_default: true,
            created_epoch: Some(1),
        }],
        tags: Some(tags),
        attachments: Some(3),
    }
}

const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#;

/// Every ARN an executable change writes to (policies) or names (keys).
fn written_policy_arns(p: &Plan) -> Vec<String> {
    p.executable()
        .filter_map(|c| match c.operation() {
            Some(Operation::UpdatePolicy { arn, .. }) => Some(arn.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_foreign_policy_of_a_declared_name_is_a_conflict_and_never_written() {
    let d = one_key();
    let mut live = converged(&d);
    let acc = account_mut(&mut live, A);
    acc.policies.retain(|p| p.name != "allow-decrypt-payments");
    acc.policies.push(foreign_policy(
        "allow-decrypt-payments",
        "/",
        S3_READ,
        BTreeMap::new(),
    ));
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::IamPolicy, ActionKind::Conflict, false)]
    );
    let c = &p.changes[0];
    assert_eq!(c.severity, Severity::High);
    for part in [
        "allow-decrypt-payments",
        "is not c3's: it has no tags",
        "attached to 3",
        "s3:GetObject",
        "rename the key",
        "set adopt = true on key payments",
        "tags it c3:managed=true and c3:name=payments",
    ] {
        assert!(c.detail.contains(part), "{part:?} not in {}", c.detail);
    }
    assert!(written_policy_arns(&p).is_empty());
}

#[test]
fn a_policy_tagged_for_another_name_or_without_c3_name_is_not_c3s() {
    for tags in [
        BTreeMap::from([("c3:managed".to_string(), "true".to_string())]),
        BTreeMap::from([
            ("c3:managed".to_string(), "true".to_string()),
            ("c3:name".to_string(), "orders".to_string()),
        ]),
        BTreeMap::from([
            ("c3:managed".to_string(), "false".to_string()),
            ("c3:name".to_string(), "payments".to_string()),
        ]),
    ] {
        let d = one_key();
        let mut live = converged(&d);
        for pol in &mut account_mut(&mut live, A).policies {
            if pol.name == "allow-encrypt-payments" {
                pol.tags = Some(tags.clone());
                // It lacks the key's ARN: c3 would update it if it were its own.
                pol.document = json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "arn:aws:kms:eu-west-1:111111111111:key/other"}
                ]})
                .to_string();
            }
        }
        let p = plan(&d, &live);
        assert_eq!(
            rows(&p),
            vec![(Resource::IamPolicy, ActionKind::Conflict, false)],
            "{tags:?}"
        );
        assert!(written_policy_arns(&p).is_empty());
    }
}

#[test]
fn a_policy_of_the_same_name_elsewhere_blocks_the_create_it_would_fail() {
    // IAM policy names are unique in an account whatever their path and
    // case: CreatePolicy would fail with EntityAlreadyExists on every run.
    for (name, path) in [
        ("allow-encrypt-payments", "/team/"),
        ("Allow-Encrypt-Payments", "/"),
    ] {
        let d = one_key();
        let mut live = converged(&d);
        let acc = account_mut(&mut live, A);
        acc.policies.retain(|p| p.name != "allow-encrypt-payments");
        acc.others.push(NamedPolicy {
            name: name.into(),
            arn: format!("arn:aws:iam::{A}:policy{path}{name}"),
            path: path.into(),
        });
        let p = plan(&d, &live);
        assert_eq!(
            rows(&p),
            vec![(Resource::IamPolicy, ActionKind::Conflict, false)],
            "{name} {path}"
        );
        assert!(p.changes[0].detail.contains(&format!("at path {path}")));
        assert!(p.changes[0].detail.contains("unique in an account"));
        // Moving c3's policy_path would move every c3 policy, and IAM
        // cannot move one: the ways out are a new key name or deleting it.
        assert!(!p.changes[0].detail.contains("policy_path"));
        assert!(p.changes[0].detail.contains("rename the key in keys.toml"));
    }
}

#[test]
fn managed_policies_wait_while_no_key_exists_or_is_created() {
    // enabled = false and no key: nothing to name, nothing created.
    let mut d = one_key();
    d.keys[0].enabled = false;
    let p = plan(&d, &LiveState::default().tap(|l| empty_account(l, &d)));
    assert!(!p.has_executable(), "{:#?}", p.changes);
    let waits: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.resource == Resource::IamPolicy)
        .collect();
    assert_eq!(waits.len(), 1, "{:#?}", p.changes);
    assert_eq!(waits[0].action(), ActionKind::Report);
    assert_eq!(waits[0].severity, Severity::Info);
    assert!(waits[0].detail.contains("wait"), "{}", waits[0].detail);
    assert!(waits[0].detail.contains("enabled = false"));

    // An alias in conflict: no key is created, so no policy either.
    let d = one_key();
    let mut live = LiveState::default().tap(|l| empty_account(l, &d));
    let snap = region_mut(&mut live, A, R1);
    snap.keys.push(LiveKey {
        last_usage: None,
        key_id: "foreign".into(),
        arn: arn(&Target::new(A, R1), "foreign"),
        tags: BTreeMap::new(),
        details: None,
    });
    snap.aliases.push(LiveAlias {
        name: "alias/payments".into(),
        target_key_id: Some("foreign".into()),
    });
    let p = plan(&d, &live);
    assert!(!p.has_executable(), "{:#?}", p.changes);
    assert!(p
        .changes
        .iter()
        .any(|c| c.resource == Resource::IamPolicy && c.detail.contains("wait")));
}

#[test]
fn a_policy_names_a_key_of_one_region_while_another_waits() {
    // A key in two regions: one exists, the other is blocked by a foreign
    // alias. The policies are written with the ARN that exists.
    let d = desired(vec![spec("payments", &[(A, R1), (A, R2)])]);
    let mut live = converged(&d);
    account_mut(&mut live, A).policies.clear();
    let snap = region_mut(&mut live, A, R2);
    snap.keys.clear();
    snap.keys.push(LiveKey {
        last_usage: None,
        key_id: "foreign".into(),
        arn: arn(&Target::new(A, R2), "foreign"),
        tags: BTreeMap::new(),
        details: None,
    });
    snap.aliases[0].target_key_id = Some("foreign".into());
    let p = plan(&d, &live);
    let creates: Vec<&String> = p
        .executable()
        .filter_map(|c| match c.operation() {
            Some(Operation::CreatePolicy { document, .. }) => Some(document),
            _ => None,
        })
        .collect();
    assert_eq!(creates.len(), 3);
    for doc in creates {
        assert!(doc.contains(&key_id("payments", &Target::new(A, R1), 1)));
        assert!(!doc.contains("foreign"));
    }
}

/// Adds empty snapshots for every target and account of `d`.
fn empty_account(live: &mut LiveState, d: &DesiredState) {
    for t in d.targets() {
        live.regions.insert(t, Ok(RegionSnapshot::default()));
    }
    for a in &d.accounts {
        live.accounts
            .insert(a.id.clone(), Ok(AccountSnapshot::default()));
    }
}

/// `tap` for building values in one expression.
trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
impl<T> Tap for T {}

fn grant(id: &str, grantee: &str, issuer: &str) -> KmsGrant {
    KmsGrant {
        grant_id: id.into(),
        name: None,
        grantee: Some(grantee.into()),
        grantee_service: None,
        retiring: None,
        issuing_account: Some(issuer.into()),
        operations: vec!["Decrypt".into()],
        constraints: BTreeMap::new(),
        source_arn: None,
    }
}

#[test]
fn grants_other_than_aws_services_are_reported_with_grantee_and_operations() {
    let d = one_key();
    let mut live = converged(&d);
    let here = format!("arn:aws:iam::{A}:root");
    details_mut(region_mut(&mut live, A, R1), 0).grants = Some(vec![
        grant(
            "g-ebs",
            "arn:aws:sts::111111111111:assumed-role/aws:ec2-infrastructure/i-1",
            &here,
        ),
        grant("g-rds", "rds.eu-west-1.amazonaws.com", &here),
        grant("g-other", "arn:aws:iam::999999999999:root", &here),
        grant("g-app", "arn:aws:iam::111111111111:role/app", &here),
        grant("g-gone", "AROAEXAMPLEEXAMPLE123", &here),
    ]);
    let p = plan(&d, &live);
    let grants: Vec<(&str, Severity)> = p
        .changes
        .iter()
        .filter(|c| c.resource == Resource::Grant)
        .map(|c| (c.detail.split(' ').nth(1).unwrap_or_default(), c.severity))
        .collect();
    assert_eq!(
        grants,
        vec![
            ("g-other", Severity::High),
            ("g-app", Severity::Medium),
            ("g-gone", Severity::Medium)
        ]
    );
    assert!(!p.has_executable());
    let other = p
        .changes
        .iter()
        .find(|c| c.detail.contains("g-other"))
        .map(|c| c.detail.clone())
        .unwrap_or_default();
    assert!(
        other.contains("to arn:aws:iam::999999999999:root for Decrypt"),
        "{other}"
    );
    assert!(other.contains("another account"), "{other}");
    let gone = p
        .changes
        .iter()
        .find(|c| c.detail.contains("g-gone"))
        .map(|c| c.detail.clone())
        .unwrap_or_default();
    assert!(gone.contains("no longer exists"), "{gone}");
}

#[test]
fn grants_not_read_are_not_claimed_and_the_plan_says_so() {
    let mut d = one_key();
    d.settings.read_grants = false;
    let mut live = converged(&d);
    details_mut(region_mut(&mut live, A, R1), 0).grants = None;
    let p = plan(&d, &live);
    assert!(p.is_empty(), "{:#?}", p.changes);
    assert_eq!(p.notes.len(), 1);
    assert!(p.notes[0].contains("read_grants = false"), "{:?}", p.notes);
}

#[test]
fn a_key_that_lost_c3_managed_is_a_conflict_that_says_so() {
    let d = one_key();
    let mut live = converged(&d);
    region_mut(&mut live, A, R1).keys[0]
        .tags
        .remove(tag::MANAGED);
    let p = plan(&d, &live);
    // The alias points at it: one conflict says what happened and what to do.
    let conflicts: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.action() == ActionKind::Conflict)
        .collect();
    assert_eq!(conflicts.len(), 1, "{:#?}", p.changes);
    let detail = &conflicts[0].detail;
    assert!(
        detail.contains("carries c3:name=payments but not c3:managed=true"),
        "{detail}"
    );
    assert!(detail.contains("set adopt = true"), "{detail}");
    // Nothing is created or written for the name while it lasts.
    assert!(!p.has_executable(), "{:#?}", p.changes);
    // The managed policies name the lost key: said with the reason, never
    // as a key "c3 does not manage".
    let iam: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.resource == Resource::IamPolicy)
        .collect();
    assert!(!iam.is_empty());
    for c in iam {
        assert!(c.detail.contains("lost c3:managed=true"), "{}", c.detail);
        assert_eq!(c.severity, Severity::Medium);
    }

    // Without the alias, the key is its own conflict and nothing is created.
    region_mut(&mut live, A, R1).aliases.clear();
    let p = plan(&d, &live);
    assert!(!p.has_executable(), "{:#?}", p.changes);
    assert!(p.changes.iter().any(|c| c.resource == Resource::Key
        && c.action() == ActionKind::Conflict
        && c.detail.contains("carries c3:name=payments")));
}

#[test]
fn undeclared_tags_on_c3_policies_are_reported_unless_ignored() {
    let mut d = one_key();
    let mut live = converged(&d);
    for pol in &mut account_mut(&mut live, A).policies {
        if let Some(t) = pol.tags.as_mut() {
            t.insert("owner".into(), "alice".into());
            t.insert("aws:cloudformation:stack-id".into(), "x".into());
        }
    }
    let p = plan(&d, &live);
    assert_eq!(p.changes.len(), 3, "{:#?}", p.changes);
    assert!(p.changes.iter().all(|c| c.resource == Resource::IamPolicy
        && c.action() == ActionKind::Report
        && c.severity == Severity::Low
        && c.detail.starts_with("tag owner=alice on allow-")));
    d.settings.ignore_tags = vec!["own*".into()];
    assert!(plan(&d, &live).is_empty());
}

#[test]
fn a_public_foreign_statement_is_critical_and_named_and_c3_never_keeps_it_public() {
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).retain(|s| s["Sid"] != "AllowServiceLogs");
    statements_mut(&mut pol).push(json!({"Sid": "Open", "Effect": "Allow",
        "Principal": {"AWS": ["*"]}, "Action": "kms:Decrypt", "Resource": "*"}));
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    let critical: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.severity == Severity::Critical)
        .collect();
    assert_eq!(critical.len(), 1, "{:#?}", p.changes);
    assert!(
        critical[0].detail.contains("\"Open\""),
        "{}",
        critical[0].detail
    );
    assert!(
        critical[0].detail.contains("AWS *"),
        "{}",
        critical[0].detail
    );
    assert!(critical[0].detail.contains("usable by anyone"));
    // c3's own repair (the missing statement) is held back, not executable.
    assert!(!p.has_executable(), "{:#?}", p.changes);
    assert!(p.changes.iter().any(|c| c.detail.starts_with(
        "add statement AllowServiceLogs: not applied, held back while statement \"Open\""
    )));
    assert_eq!(p.summary().severity.critical, 1);
    assert!(
        p.summary().line().ends_with("; 1 critical, 1 low."),
        "{}",
        p.summary().line()
    );
}

#[test]
fn foreign_statements_show_principal_actions_and_conditions_and_rank_them() {
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).push(json!({"Sid": "Analytics", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}}));
    statements_mut(&mut pol).push(json!({"Sid": "Gone", "Effect": "Allow",
        "Principal": {"AWS": "AIDAEXAMPLEEXAMPLE12"}, "Action": "kms:Decrypt", "Resource": "*"}));
    statements_mut(&mut pol).push(json!({"Sid": "App", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:role/app"}, "Action": "kms:Decrypt", "Resource": "*"}));
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    let by_sid = |sid: &str| {
        p.changes
            .iter()
            .find(|c| c.detail.contains(&format!("\"{sid}\"")))
            .cloned()
            .unwrap_or_else(|| panic!("no row for {sid}: {:#?}", p.changes))
    };
    let analytics = by_sid("Analytics");
    assert_eq!(analytics.severity, Severity::High);
    assert!(analytics.detail.contains(
        "Allow AWS arn:aws:iam::999999999999:root → kms:Decrypt, kms:DescribeKey on * if StringEquals kms:ViaService=s3.eu-west-1.amazonaws.com"
    ), "{}", analytics.detail);
    let gone = by_sid("Gone");
    assert_eq!(gone.severity, Severity::Medium);
    assert!(gone.detail.contains("no longer exists"));
    assert_eq!(by_sid("App").severity, Severity::Medium);
}

#[test]
fn every_change_has_the_severity_of_what_it_reports() {
    let d = one_key();
    let mut live = converged(&d);
    let snap = region_mut(&mut live, A, R1);
    let det = details_mut(snap, 0);
    det.state = KeyState::PendingDeletion;
    det.rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    det.description = "other".into();
    let p = plan(&d, &live);
    let sev = |r: Resource| {
        p.changes
            .iter()
            .find(|c| c.resource == r)
            .map(|c| c.severity)
    };
    assert_eq!(sev(Resource::KeyState), Some(Severity::Critical));
    assert_eq!(sev(Resource::Rotation), Some(Severity::Medium));
    assert_eq!(sev(Resource::Key), Some(Severity::Low));
    details_mut(region_mut(&mut live, A, R1), 0).state = KeyState::Disabled;
    let p = plan(&d, &live);
    assert_eq!(
        p.changes
            .iter()
            .find(|c| c.resource == Resource::KeyState)
            .map(|c| c.severity),
        Some(Severity::High)
    );
    // A new key: everything it needs is info.
    let d = one_key();
    let live = LiveState::default().tap(|l| empty_account(l, &d));
    assert!(plan(&d, &live)
        .changes
        .iter()
        .all(|c| c.severity == Severity::Info));
}

#[test]
fn a_managed_policy_granting_on_keys_c3_does_not_declare_is_high() {
    let d = one_key();
    let mut live = converged(&d);
    for pol in &mut account_mut(&mut live, A).policies {
        if pol.name == "allow-decrypt-payments" {
            pol.document = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:ReEncryptFrom"], "Resource": "*"}
            ]})
            .to_string();
        }
    }
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::IamPolicy, ActionKind::Report, false)]
    );
    assert_eq!(p.changes[0].severity, Severity::High);
    assert!(
        p.changes[0].detail.contains("on *"),
        "{}",
        p.changes[0].detail
    );
}

#[test]
fn a_partial_selection_says_what_it_left_out() {
    let mut d = desired(vec![
        spec("payments", &[(A, R1), (A, R2)]),
        spec("local", &[(A, R1)]),
    ]);
    d.scope.regions = Some(BTreeSet::from([R1.to_string()]));
    let live = converged(&d);
    let p = plan(&d, &live);
    assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
    assert!(p.notes[0].contains("payments"), "{}", p.notes[0]);
    assert!(!p.notes[0].contains("local"), "{}", p.notes[0]);
    assert!(p.notes[0].contains("--regions"));
    d.scope.regions = None;
    d.scope.keys = Some(BTreeSet::from(["payments".to_string()]));
    let p = plan(&d, &live);
    assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
    assert!(p.notes[0].contains("--keys"));
}

#[test]
fn a_c3_statement_stripped_of_its_conditions_is_a_critical_repair() {
    // Found by the property tests: a c3 statement that lost its conditions
    // makes the key public; the update that restores them is critical.
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    for s in statements_mut(&mut pol).iter_mut() {
        if s["Sid"] == "AllowViaServiceSecretsmanager" {
            if let Some(m) = s.as_object_mut() {
                m.remove("Condition");
            }
        }
    }
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyPolicy, ActionKind::Update, true)],
        "{:#?}",
        p.changes
    );
    assert_eq!(p.changes[0].severity, Severity::Critical);
    assert!(p.changes[0].detail.contains(
        "until then statement \"AllowViaServiceSecretsmanager\" makes the key usable by anyone"
    ));
}

#[test]
fn what_a_repaired_statement_keeps_beyond_keys_toml_is_judged_as_repaired() {
    // Found by the property tests: a c3 statement without its conditions and
    // with an extra action. The update restores the conditions (critical
    // until then); the extra action is kept and reported as it will stand
    // after apply, so the finding is the same before and after.
    let d = one_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    for s in statements_mut(&mut pol).iter_mut() {
        if s["Sid"] == "AllowViaServiceSecretsmanager" {
            if let Some(m) = s.as_object_mut() {
                m.remove("Condition");
                if let Some(serde_json::Value::Array(actions)) = m.get_mut("Action") {
                    actions.push("kms:Sign".into());
                }
            }
        }
    }
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    let excess = p
        .changes
        .iter()
        .find(|c| c.detail.contains("grants more than keys.toml asks for"))
        .expect("an excess finding");
    assert_eq!(excess.severity, Severity::Medium, "{excess:?}");
    assert!(!excess.detail.contains("usable by anyone"), "{excess:?}");
    let update = p.executable().next().expect("the repair");
    assert_eq!(update.severity, Severity::Critical);
}

#[test]
fn a_policy_naming_a_deleted_key_is_low_and_one_naming_a_foreign_key_high() {
    // After a generation bump, the old key is deleted by hand: the policies
    // still name its ARN. That key can never be used again (key ids are
    // never reused), so the finding is low and says the key is gone. An
    // ARN of a key that exists and is not c3's stays high.
    let d = one_key();
    let t = Target::new(A, R1);
    for (present, want) in [(false, Severity::Low), (true, Severity::High)] {
        let mut live = converged(&d);
        let old = "0ld00000-0000-0000-0000-000000000000";
        if present {
            region_mut(&mut live, A, R1).keys.push(LiveKey {
                last_usage: None,
                key_id: old.into(),
                arn: arn(&t, old),
                tags: BTreeMap::new(),
                details: None,
            });
        }
        for p in &mut account_mut(&mut live, A).policies {
            let mut doc: serde_json::Value = serde_json::from_str(&p.document).unwrap_or_default();
            for s in statements_mut(&mut doc).iter_mut() {
                if let Some(serde_json::Value::Array(r)) = s.get_mut("Resource") {
                    r.push(arn(&t, old).into());
                }
            }
            p.document = doc.to_string();
        }
        let p = plan(&d, &live);
        assert_eq!(p.changes.len(), 3, "{:#?}", p.changes);
        for c in &p.changes {
            assert_eq!(c.severity, want, "{c:?}");
            assert_eq!(c.detail.contains("no longer exist"), !present, "{c:?}");
        }
    }
}
