//! Planner unit tests of adoption and of what lets a plan leave a brownfield
//! key as it is (design.md, "Import and adoption", "Ownership", "Key policy
//! content"): `adopt = true`, the keys c3 will not adopt, `rotation = false`,
//! `managed_policies`, statements equal whatever their Sid, second aliases.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::tests::*;
use super::*;
use crate::model::*;

/// The console's default key policy (key-policy-default.html): root `kms:*`
/// under the Sid `Enable IAM User Permissions`.
fn console_default_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// The CDK construct's key policy (aws-cdk-lib's `kms.Key` default): root
/// `kms:*` without a Sid.
fn cdk_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// A key that keys.toml asks nothing of beyond what the CDK construct makes.
fn plain(name: &str, adopt: bool) -> KeySpec {
    let mut s = spec(name, &[(A, R1)]);
    s.via_services = BTreeSet::new();
    s.service_principals = BTreeSet::new();
    s.user_tags = BTreeMap::new();
    s.description = "made by the CDK".into();
    s.adopt = adopt;
    s
}

/// The estate the CDK construct leaves: the key keys.toml declares, with
/// the construct's key policy, and its managed policies at `/`, none of it
/// with a c3 tag.
fn brownfield(d: &DesiredState, policy: fn(&str) -> String) -> LiveState {
    let mut live = converged(d);
    for t in d.targets() {
        for key in &mut region_mut(&mut live, &t.account, &t.region).keys {
            key.tags.retain(|k, _| !k.starts_with(tag::PREFIX));
            key.tags
                .insert("aws:cloudformation:stack-name".into(), "keys".into());
            if let Some(det) = key.details.as_mut() {
                det.policy = Some(policy(&t.account));
            }
        }
    }
    for a in &d.accounts {
        for p in &mut account_mut(&mut live, &a.id).policies {
            p.tags = Some(BTreeMap::new());
        }
    }
    live
}

fn executable(p: &Plan) -> Vec<(Resource, ActionKind, String)> {
    p.executable()
        .map(|c| (c.resource, c.action(), c.subject.clone()))
        .collect()
}

#[test]
fn a_cdk_key_with_adopt_is_adopted_with_its_policies_and_nothing_else() {
    let d = desired(vec![plain("payments", true)]);
    let live = brownfield(&d, cdk_policy);
    let p = plan(&d, &live);
    let id = key_id("payments", &Target::new(A, R1), 1);
    assert_eq!(
        executable(&p),
        vec![
            (Resource::Key, ActionKind::Adopt, id.clone()),
            (
                Resource::IamPolicy,
                ActionKind::Adopt,
                "allow-encrypt-payments".into()
            ),
            (
                Resource::IamPolicy,
                ActionKind::Adopt,
                "allow-decrypt-payments".into()
            ),
            (
                Resource::IamPolicy,
                ActionKind::Adopt,
                "allow-crypto-payments".into()
            ),
        ],
        "{:#?}",
        p.changes
    );
    // Nothing reported either: the root statement is c3's EnableRootAccess.
    assert_eq!(p.changes.len(), 4, "{:#?}", p.changes);
    let key = &p.changes[0];
    assert_eq!(key.severity, Severity::Info);
    for part in [
        id.as_str(),
        "c3:managed=true",
        "c3:name=payments",
        "c3:classification=confidential",
        "c3:generation=1",
    ] {
        assert!(key.detail.contains(part), "{part:?} not in {}", key.detail);
    }
    match key.operation() {
        Some(Operation::AdoptKey { key_id, tags }) => {
            assert_eq!(key_id, &id);
            assert_eq!(tags.len(), 4);
        }
        other => panic!("{other:?}"),
    }
    assert!(p.changes.iter().all(|c| c.severity == Severity::Info));
}

#[test]
fn what_an_adopted_key_lacks_is_planned_on_top_of_the_adoption() {
    let mut s = plain("payments", true);
    s.via_services = BTreeSet::from(["secretsmanager".to_string()]);
    s.user_tags = BTreeMap::from([("team".to_string(), "core".to_string())]);
    let d = desired(vec![s]);
    let mut live = brownfield(&d, console_default_policy);
    region_mut(&mut live, A, R1).keys[0].tags.remove("team");
    details_mut(region_mut(&mut live, A, R1), 0).rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    let p = plan(&d, &live);
    let kinds: Vec<(Resource, ActionKind)> =
        executable(&p).into_iter().map(|(r, a, _)| (r, a)).collect();
    for want in [
        (Resource::Key, ActionKind::Adopt),
        (Resource::Rotation, ActionKind::Update),
        (Resource::KeyPolicy, ActionKind::Update),
        (Resource::Tags, ActionKind::Update),
    ] {
        assert!(kinds.contains(&want), "{want:?} not in {kinds:?}");
    }
    // The key policy gains the via-service statement only: the console's
    // root statement already is EnableRootAccess.
    let put = p
        .executable()
        .find_map(|c| match c.operation() {
            Some(Operation::PutKeyPolicy { policy, .. }) => Some(policy.clone()),
            _ => None,
        })
        .unwrap_or_default();
    assert!(put.contains("Enable IAM User Permissions"), "{put}");
    assert!(!put.contains("EnableRootAccess"), "{put}");
    assert!(put.contains("AllowViaServiceSecretsmanager"), "{put}");
    // The tag update adds the user's tag only (c3's come with the adoption).
    let tags = p
        .executable()
        .find_map(|c| match c.operation() {
            Some(Operation::TagKey { tags, .. }) => Some(tags.clone()),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(
        tags,
        BTreeMap::from([("team".to_string(), "core".to_string())])
    );
    // Apply adopts first.
    let orders: Vec<u8> = p
        .executable()
        .filter(|c| c.region.is_some())
        .filter_map(|c| c.operation().map(Operation::step_order))
        .collect();
    assert_eq!(orders.iter().min(), Some(&0));
    assert!(!p.changes.iter().any(|c| c.action() == ActionKind::Conflict));
}

#[test]
fn without_adopt_the_key_and_policies_are_conflicts_that_name_adopt() {
    let d = desired(vec![plain("payments", false)]);
    let live = brownfield(&d, cdk_policy);
    let p = plan(&d, &live);
    assert!(!p.has_executable(), "{:#?}", p.changes);
    let conflicts: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.action() == ActionKind::Conflict)
        .collect();
    assert_eq!(conflicts.len(), 4, "{:#?}", p.changes);
    for c in conflicts {
        assert_eq!(c.severity, Severity::High);
        assert!(
            c.detail.contains("set adopt = true on key payments"),
            "{}",
            c.detail
        );
    }
}

/// One key c3 will not adopt, and what its conflict must say.
fn refused(change: impl Fn(&mut LiveKey)) -> Change {
    let d = desired(vec![plain("payments", true)]);
    let mut live = brownfield(&d, cdk_policy);
    change(&mut region_mut(&mut live, A, R1).keys[0]);
    let p = plan(&d, &live);
    assert!(
        !p.executable().any(|c| c.region.is_some()),
        "{:#?}",
        p.changes
    );
    let conflict = p
        .changes
        .iter()
        .find(|c| c.action() == ActionKind::Conflict && c.region.is_some())
        .unwrap_or_else(|| panic!("no conflict: {:#?}", p.changes))
        .clone();
    assert_eq!(conflict.severity, Severity::High);
    assert!(
        conflict
            .detail
            .contains("adopt = true, but c3 does not adopt it"),
        "{}",
        conflict.detail
    );
    conflict
}

/// A change to a live key, and what the conflict must then say.
type Case = (&'static str, Box<dyn Fn(&mut LiveKey)>);

fn details(k: &mut LiveKey) -> &mut KeyDetails {
    k.details.as_mut().unwrap_or_else(|| panic!("no details"))
}

#[test]
fn keys_c3_cannot_keep_are_conflicts_that_say_why() {
    let cases: Vec<Case> = vec![
        (
            "a ECC_NIST_P256 KEY_AGREEMENT key",
            Box::new(|k| {
                details(k).spec = "ECC_NIST_P256".into();
                details(k).usage = "KEY_AGREEMENT".into();
            }),
        ),
        (
            "imported (origin EXTERNAL)",
            Box::new(|k| details(k).origin = "EXTERNAL".into()),
        ),
        (
            "custom key store cks-1",
            Box::new(|k| {
                details(k).origin = "AWS_CLOUDHSM".into();
                details(k).custom_key_store_id = Some("cks-1".into());
            }),
        ),
        (
            "pending deletion",
            Box::new(|k| details(k).state = KeyState::PendingDeletion),
        ),
        (
            "cancel the deletion",
            Box::new(|k| details(k).state = KeyState::PendingDeletion),
        ),
        (
            "another key name's tag",
            Box::new(|k| {
                k.tags.insert(tag::MANAGED.into(), "true".into());
                k.tags.insert(tag::NAME.into(), "other".into());
            }),
        ),
        (
            "another key name's tag",
            Box::new(|k| {
                k.tags.insert(tag::NAME.into(), "other".into());
            }),
        ),
    ];
    for (why, change) in cases {
        let conflict = refused(change);
        assert!(
            conflict.detail.contains(why),
            "{why:?} not in {}",
            conflict.detail
        );
    }
}

#[test]
fn a_key_that_lost_c3_managed_under_this_name_is_adopted() {
    let d = desired(vec![plain("payments", true)]);
    let mut live = brownfield(&d, cdk_policy);
    region_mut(&mut live, A, R1).keys[0]
        .tags
        .insert(tag::NAME.into(), "payments".into());
    let p = plan(&d, &live);
    assert!(p
        .executable()
        .any(|c| matches!(c.operation(), Some(Operation::AdoptKey { .. }))));
    assert!(!p.changes.iter().any(|c| c.action() == ActionKind::Conflict));
}

#[test]
fn a_policy_tagged_for_another_name_is_never_adopted() {
    let d = desired(vec![plain("payments", true)]);
    let mut live = brownfield(&d, cdk_policy);
    for p in &mut account_mut(&mut live, A).policies {
        if p.name == "allow-crypto-payments" {
            p.tags = Some(BTreeMap::from([(
                tag::NAME.to_string(),
                "other".to_string(),
            )]));
        }
    }
    let p = plan(&d, &live);
    assert!(!p.executable().any(|c| c.subject == "allow-crypto-payments"));
    let c = p
        .changes
        .iter()
        .find(|c| c.subject == "allow-crypto-payments")
        .unwrap_or_else(|| panic!("{:#?}", p.changes));
    assert_eq!(c.action(), ActionKind::Conflict);
    assert!(
        c.detail.contains("adopt = true does not take it"),
        "{}",
        c.detail
    );
}

#[test]
fn a_policy_at_another_path_is_not_adopted_and_stays_a_clash() {
    let mut d = desired(vec![plain("payments", true)]);
    d.settings.policy_path = "/c3/".into();
    let mut live = brownfield(&d, cdk_policy);
    let acc = account_mut(&mut live, A);
    for p in std::mem::take(&mut acc.policies) {
        acc.others.push(NamedPolicy {
            name: p.name,
            arn: p.arn,
            path: p.path,
        });
    }
    let p = plan(&d, &live);
    assert!(
        !p.executable().any(|c| c.region.is_none()),
        "{:#?}",
        p.changes
    );
    let clashes = p
        .changes
        .iter()
        .filter(|c| c.action() == ActionKind::Conflict && c.resource == Resource::IamPolicy)
        .count();
    assert_eq!(clashes, 3, "{:#?}", p.changes);
}

#[test]
fn rotation_false_neither_enables_nor_reports_rotation() {
    let mut s = plain("payments", false);
    s.rotation = false;
    let d = desired(vec![s]);
    let mut live = converged(&d);
    details_mut(region_mut(&mut live, A, R1), 0).rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    let p = plan(&d, &live);
    assert!(p.is_empty(), "{:#?}", p.changes);
    let json = serde_json::to_string(&p).unwrap_or_default();
    assert!(!json.contains("rotation is off"), "{json}");
    // With rotation = true (the default) the same key gets a rotation row.
    let mut on = d.clone();
    on.keys[0].rotation = true;
    let p = plan(&on, &live);
    assert!(p.changes.iter().any(|c| c.resource == Resource::Rotation));
}

#[test]
fn managed_policies_plans_only_the_listed_kinds() {
    let mut s = plain("payments", true);
    s.managed_policies = BTreeSet::from([PolicyKind::Decrypt]);
    let d = desired(vec![s]);
    let mut live = brownfield(&d, cdk_policy);
    // The encrypt policy is c3's already, the crypto one somebody else's.
    for p in &mut account_mut(&mut live, A).policies {
        if p.name == "allow-encrypt-payments" {
            p.tags = Some(c3_policy_tags("payments"));
        }
    }
    let p = plan(&d, &live);
    let iam: Vec<(ActionKind, String)> = p
        .changes
        .iter()
        .filter(|c| c.resource == Resource::IamPolicy)
        .map(|c| (c.action(), c.subject.clone()))
        .collect();
    assert_eq!(
        iam,
        vec![
            (ActionKind::Adopt, "allow-decrypt-payments".to_string()),
            (ActionKind::Report, "allow-encrypt-payments".to_string()),
        ],
        "{:#?}",
        p.changes
    );
    let orphan = p
        .changes
        .iter()
        .find(|c| c.subject == "allow-encrypt-payments")
        .map(|c| (c.severity, c.detail.clone()));
    assert!(
        orphan.as_ref().is_some_and(|(s, d)| *s == Severity::Low
            && d.contains("managed_policies of payments does not list encrypt")),
        "{orphan:?}"
    );
    // managed_policies = false: no policy at all, and none created.
    let mut none = d.clone();
    none.keys[0].managed_policies = BTreeSet::new();
    let mut empty = live.clone();
    account_mut(&mut empty, A).policies.clear();
    let p = plan(&none, &empty);
    assert!(
        !p.changes.iter().any(|c| c.resource == Resource::IamPolicy),
        "{:#?}",
        p.changes
    );
}

#[test]
fn a_statement_granting_the_same_under_another_sid_satisfies_c3s() {
    for policy in [console_default_policy, cdk_policy] {
        let d = desired(vec![plain("payments", false)]);
        let mut live = converged(&d);
        details_mut(region_mut(&mut live, A, R1), 0).policy = Some(policy(A));
        let p = plan(&d, &live);
        assert!(p.is_empty(), "{:#?}", p.changes);
    }
    // A statement that grants less (or more) is not c3's: EnableRootAccess
    // is added, and the other is reported.
    let d = desired(vec![plain("payments", false)]);
    let mut live = converged(&d);
    let narrower = console_default_policy(A).replace("kms:*", "kms:Describe*");
    details_mut(region_mut(&mut live, A, R1), 0).policy = Some(narrower);
    let p = plan(&d, &live);
    assert!(p.changes.iter().any(|c| c.resource == Resource::KeyPolicy
        && c.executable()
        && c.detail.contains("add statement EnableRootAccess")));
    assert!(p.changes.iter().any(|c| c.resource == Resource::KeyPolicy
        && !c.executable()
        && c.subject == "Enable IAM User Permissions"));
}

#[test]
fn a_second_alias_of_a_c3_or_adopted_key_is_a_low_finding() {
    for adopt in [false, true] {
        let d = desired(vec![plain("payments", adopt)]);
        let mut live = if adopt {
            brownfield(&d, cdk_policy)
        } else {
            converged(&d)
        };
        let snap = region_mut(&mut live, A, R1);
        let id = snap.keys[0].key_id.clone();
        snap.aliases.push(LiveAlias {
            name: "alias/payments-legacy".into(),
            target_key_id: Some(id),
        });
        let p = plan(&d, &live);
        let second: Vec<&Change> = p
            .changes
            .iter()
            .filter(|c| c.subject == "alias/payments-legacy")
            .collect();
        assert_eq!(second.len(), 1, "{:#?}", p.changes);
        assert_eq!(second[0].severity, Severity::Low);
        assert_eq!(second[0].action(), ActionKind::Report);
        assert_eq!(second[0].resource, Resource::Alias);
        assert!(!p.executable().any(|c| c.detail.contains("payments-legacy")));
    }
}

#[test]
fn a_foreign_key_is_not_adopted_while_c3s_own_key_of_the_name_is_there() {
    let d = desired(vec![plain("payments", true)]);
    let mut live = converged(&d);
    let t = Target::new(A, R1);
    let mut foreign = c3_key(&d.keys[0], &t, 1);
    foreign.key_id = "foreign".into();
    foreign.arn = arn(&t, "foreign");
    foreign.tags.clear();
    let snap = region_mut(&mut live, A, R1);
    snap.aliases[0].target_key_id = Some("foreign".into());
    snap.keys.push(foreign);
    let p = plan(&d, &live);
    assert!(
        !p.executable()
            .any(|c| matches!(c.operation(), Some(Operation::AdoptKey { .. }))),
        "{:#?}",
        p.changes
    );
    assert!(p
        .changes
        .iter()
        .any(|c| c.action() == ActionKind::Conflict && c.detail.contains("while c3's own key")));
}

#[test]
fn keys_of_other_kinds_are_adopted_and_what_differs_from_the_file_is_reported() {
    // A multi-Region HMAC key declared as a symmetric key: c3 adopts it
    // (it keeps every kind of key now), and reports each field AWS fixed.
    let d = desired(vec![plain("payments", true)]);
    let mut live = brownfield(&d, cdk_policy);
    let key = &mut region_mut(&mut live, A, R1).keys[0];
    details(key).spec = "HMAC_256".into();
    details(key).usage = "GENERATE_VERIFY_MAC".into();
    details(key).multi_region = true;
    let p = plan(&d, &live);
    assert!(
        p.executable()
            .any(|c| matches!(c.operation(), Some(crate::plan::Operation::AdoptKey { .. }))),
        "{:#?}",
        p.changes
    );
    let fixed: Vec<&str> = p
        .changes
        .iter()
        .filter(|c| c.resource == crate::plan::Resource::Key && !c.executable())
        .filter(|c| c.detail.contains("needs a new key: bump `generation`"))
        .map(|c| c.detail.as_str())
        .collect();
    assert_eq!(fixed.len(), 3, "{fixed:#?}");
    assert!(fixed[0].contains("key_spec is HMAC_256, keys.toml says SYMMETRIC_DEFAULT"));
    assert!(fixed[1].contains("key_usage is GENERATE_VERIFY_MAC, keys.toml says ENCRYPT_DECRYPT"));
    assert!(fixed[2].contains("it is a multi-Region key, keys.toml says multi_region = false"));
}
