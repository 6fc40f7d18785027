//! Planner tests of the kinds of key (issue 16): what is created for a
//! signing, HMAC or multi-Region key, replicas after their primary, a
//! missing primary, a generation bump of a multi-Region key, and the fields
//! AWS fixes at creation.

use std::collections::BTreeSet;

use super::tests::{converged, desired, region_mut, spec, A, B, R1, R2};
use super::*;
use crate::model::*;

const R3: &str = "us-east-1";

/// A multi-Region signing key in A and B, each in R1 (primary), R2 and R3.
fn multi_region() -> KeySpec {
    let mut s = spec(
        "releases",
        &[(A, R1), (A, R2), (A, R3), (B, R1), (B, R2), (B, R3)],
    );
    s.via_services = BTreeSet::new();
    s.service_principals = BTreeSet::new();
    s.rotation = false;
    s.key_type = KeyType {
        spec: "ECC_NIST_P256".into(),
        usage: "SIGN_VERIFY".into(),
        primary_region: Some(R1.into()),
    };
    s.managed_policies = PolicyKind::for_usage("SIGN_VERIFY")
        .iter()
        .copied()
        .collect();
    s
}

/// The live state of `d` converged, its multi-Region keys made of one
/// primary (in R1) and replicas sharing its id.
fn converged_multi_region(d: &DesiredState) -> LiveState {
    let mut live = converged(d);
    for spec in &d.keys {
        for t in &spec.targets {
            let id = format!("mrk-{}-{}-g{}", spec.name, t.account, spec.generation);
            let snap = region_mut(&mut live, &t.account, &t.region);
            for k in snap
                .keys
                .iter_mut()
                .filter(|k| k.c3_name() == Some(&spec.name))
            {
                let old = k.key_id.clone();
                k.key_id.clone_from(&id);
                k.arn = key_arn(t, &id);
                if let Some(det) = k.details.as_mut() {
                    det.spec.clone_from(&spec.key_type.spec);
                    det.usage.clone_from(&spec.key_type.usage);
                    det.multi_region = true;
                    det.primary_region.clone_from(&spec.key_type.primary_region);
                    det.rotation = None;
                }
                for a in &mut snap.aliases {
                    if a.target_key_id.as_deref() == Some(old.as_str()) {
                        a.target_key_id = Some(id.clone());
                    }
                }
            }
        }
    }
    live
}

fn ops(p: &Plan, account: &str, region: &str) -> Vec<&'static str> {
    p.executable()
        .filter(|c| c.account == account && c.region.as_deref() == Some(region))
        .filter_map(|c| c.operation().map(Operation::api_name))
        .collect()
}

#[test]
fn a_multi_region_key_is_a_primary_then_replicas_of_it_in_each_account() {
    let d = desired(vec![multi_region()]);
    let mut live = converged(&d);
    for t in d.targets() {
        *region_mut(&mut live, &t.account, &t.region) = RegionSnapshot::default();
    }
    for a in [A, B] {
        if let Some(Ok(acc)) = live.accounts.get_mut(a) {
            acc.policies.clear();
        }
    }
    let p = plan(&d, &live);
    for account in [A, B] {
        assert_eq!(ops(&p, account, R1), ["CreateKey", "CreateAlias"]);
        for region in [R2, R3] {
            assert_eq!(ops(&p, account, region), ["ReplicateKey", "CreateAlias"]);
        }
        let create = p
            .executable()
            .find(|c| c.account == account && c.region.as_deref() == Some(R1))
            .and_then(Change::operation);
        assert!(
            matches!(create, Some(Operation::CreateKey { multi_region: true, key_spec, key_usage, .. })
                if key_spec == "ECC_NIST_P256" && key_usage == "SIGN_VERIFY"),
            "{create:?}"
        );
        let replicate = p
            .executable()
            .find(|c| c.account == account && c.region.as_deref() == Some(R2))
            .and_then(Change::operation);
        assert!(
            matches!(replicate, Some(Operation::ReplicateKey { primary_region, primary: KeyRef::New { generation: 1 }, .. })
                if primary_region == R1),
            "{replicate:?}"
        );
        // The managed policies: sign and verify, naming the primary and the replicas.
        let policies: Vec<&str> = p
            .executable()
            .filter(|c| c.account == account && c.region.is_none())
            .map(|c| c.subject.as_str())
            .collect();
        assert_eq!(policies, ["allow-sign-releases", "allow-verify-releases"]);
        let doc = p
            .executable()
            .find(|c| c.account == account && c.region.is_none())
            .and_then(|c| c.diff.as_ref())
            .map(|d| d.after.clone())
            .unwrap_or_default();
        for region in [R1, R2, R3] {
            assert!(
                doc.contains(&format!(
                    "arn:aws:kms:{region}:{account}:key/(new key releases, generation 1)"
                )),
                "{doc}"
            );
        }
        assert!(
            !doc.contains("kms:Verify\""),
            "sign grants no verify: {doc}"
        );
    }
    // No rotation for a key AWS does not rotate.
    assert!(!p.executable().any(|c| c.resource == Resource::Rotation));
}

#[test]
fn a_converged_multi_region_key_plans_nothing() {
    let d = desired(vec![multi_region()]);
    let mut live = converged_multi_region(&d);
    // The managed policies of the converged state name the shared ids.
    for a in [A, B] {
        let arns: BTreeSet<String> = [R1, R2, R3]
            .iter()
            .map(|r| key_arn(&Target::new(a, *r), &format!("mrk-releases-{a}-g1")))
            .collect();
        if let Some(Ok(acc)) = live.accounts.get_mut(a) {
            acc.policies.clear();
            for kind in [PolicyKind::Sign, PolicyKind::Verify] {
                let name = kind.policy_name("releases");
                acc.policies.push(LiveManagedPolicy {
                    arn: format!("arn:aws:iam::{a}:policy/{name}"),
                    name,
                    path: "/".into(),
                    document: desired::managed_policy(kind, &arns).to_string(),
                    versions: vec![PolicyVersion {
                        id: "v1".into(),
                        is_default: true,
                        created_epoch: Some(1),
                    }],
                    tags: Some(super::tests::c3_policy_tags("releases")),
                    attachments: None,
                });
            }
        }
    }
    let p = plan(&d, &live);
    assert!(p.is_empty(), "{:#?}", p.changes);

    // A replica deleted by hand is made again from the existing primary.
    let mut gone = live.clone();
    *region_mut(&mut gone, A, R2) = RegionSnapshot::default();
    let p = plan(&d, &gone);
    assert_eq!(ops(&p, A, R2), ["ReplicateKey", "CreateAlias"]);
    let replicate = p
        .executable()
        .find(|c| c.region.as_deref() == Some(R2))
        .and_then(Change::operation);
    assert!(
        matches!(replicate, Some(Operation::ReplicateKey { primary: KeyRef::Existing { key_id }, .. }) if key_id == "mrk-releases-111111111111-g1"),
        "{replicate:?}"
    );
    // Its ARN is known (the primary's id): the policies need no update.
    assert!(
        !p.executable().any(|c| c.region.is_none()),
        "{:#?}",
        p.changes
    );

    // A primary deleted by hand is reported, never re-created; the replicas stay.
    let mut gone = live.clone();
    *region_mut(&mut gone, B, R1) = RegionSnapshot::default();
    let p = plan(&d, &gone);
    assert!(ops(&p, B, R1).is_empty(), "{:#?}", p.changes);
    let missing: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.account == B && c.region.as_deref() == Some(R1))
        .collect();
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert_eq!(missing[0].severity, Severity::Medium);
    assert!(missing[0].detail.contains("is missing here while its replicas exist (mrk-releases-222222222222-g1 in eu-central-1, mrk-releases-222222222222-g1 in us-east-1)"), "{}", missing[0].detail);
    assert!(ops(&p, B, R2).is_empty() && ops(&p, B, R3).is_empty());
}

#[test]
fn a_generation_bump_of_a_multi_region_key_makes_a_new_primary_and_replicas_and_repoints_every_alias(
) {
    let mut s = multi_region();
    s.targets.retain(|t| t.account == A);
    let d1 = desired(vec![s.clone()]);
    let live = converged_multi_region(&d1);
    s.generation = 2;
    let d2 = desired(vec![s]);
    let p = plan(&d2, &live);
    assert_eq!(ops(&p, A, R1), ["CreateKey", "UpdateAlias"]);
    for region in [R2, R3] {
        assert_eq!(ops(&p, A, region), ["ReplicateKey", "UpdateAlias"]);
        let replicate = p
            .executable()
            .find(|c| c.region.as_deref() == Some(region))
            .and_then(Change::operation);
        assert!(
            matches!(
                replicate,
                Some(Operation::ReplicateKey {
                    primary: KeyRef::New { generation: 2 },
                    ..
                })
            ),
            "{replicate:?}"
        );
    }
}

#[test]
fn a_primary_in_another_region_than_the_file_says_is_reported_once() {
    let d = desired(vec![multi_region()]);
    let mut live = converged_multi_region(&d);
    for t in d.targets() {
        for k in &mut region_mut(&mut live, &t.account, &t.region).keys {
            if let Some(det) = k.details.as_mut() {
                det.primary_region = Some(R2.into());
            }
        }
    }
    let p = plan(&d, &live);
    let rows: Vec<&Change> = p
        .changes
        .iter()
        .filter(|c| c.resource == Resource::Key)
        .collect();
    assert_eq!(rows.len(), 2, "one per account: {rows:#?}");
    for c in rows {
        assert_eq!(c.region.as_deref(), Some(R1));
        assert!(!c.executable());
        assert!(
            c.detail
                .contains("is in eu-central-1, keys.toml says primary_region = \"eu-west-1\""),
            "{}",
            c.detail
        );
    }
}

#[test]
fn an_hmac_key_gets_its_two_policies_and_users_their_mac_actions() {
    let mut s = spec("tokens", &[(A, R1)]);
    s.via_services = BTreeSet::new();
    s.service_principals = BTreeSet::new();
    s.rotation = false;
    s.users = BTreeSet::from(["arn:aws:iam::{account}:role/app".to_string()]);
    s.key_type = KeyType {
        spec: "HMAC_256".into(),
        usage: "GENERATE_VERIFY_MAC".into(),
        primary_region: None,
    };
    s.managed_policies = PolicyKind::for_usage("GENERATE_VERIFY_MAC")
        .iter()
        .copied()
        .collect();
    let d = desired(vec![s]);
    let mut live = converged(&d);
    *region_mut(&mut live, A, R1) = RegionSnapshot::default();
    if let Some(Ok(acc)) = live.accounts.get_mut(A) {
        acc.policies.clear();
    }
    let p = plan(&d, &live);
    assert_eq!(ops(&p, A, R1), ["CreateKey", "CreateAlias"]);
    let create = p
        .executable()
        .find(|c| c.resource == Resource::Key)
        .expect("create");
    assert!(
        create.detail.starts_with(
            "create HMAC_256 GENERATE_VERIFY_MAC key, generation 1, no automatic rotation"
        ),
        "{}",
        create.detail
    );
    let Some(Operation::CreateKey { policy, .. }) = create.operation() else {
        panic!("{create:?}")
    };
    assert!(
        policy.contains("kms:GenerateMac") && !policy.contains("AllowKeyUsersGrants"),
        "{policy}"
    );
    let names: Vec<&str> = p
        .executable()
        .filter(|c| c.region.is_none())
        .map(|c| c.subject.as_str())
        .collect();
    assert_eq!(names, ["allow-mac-tokens", "allow-verify-mac-tokens"]);
}

/// In an empty estate, a multi-Region key with the default primary region
/// gets a key in every account: the default is a region each account has
/// (here not the first region of the account with the lowest id).
#[test]
fn the_default_primary_region_gives_every_account_a_key() {
    let toml = r#"
version = 1

[accounts.alpha]
id = "222222222222"
regions = ["us-east-1"]

[accounts.beta]
id = "111111111111"
regions = ["eu-west-1", "us-east-1"]

[classifications.internal]

[[keys]]
name = "global"
classification = "internal"
multi_region = true
"#;
    let d = crate::config::parse(toml, "keys.toml").unwrap();
    let mut live = converged(&d);
    for t in d.targets() {
        *region_mut(&mut live, &t.account, &t.region) = RegionSnapshot::default();
    }
    let p = plan(&d, &live);
    let alpha: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.account == "222222222222" && c.region.is_some())
        .map(|c| {
            format!(
                "{:?} {:?} {}",
                c.operation().map(Operation::api_name),
                c.severity,
                c.detail
            )
        })
        .collect();
    assert!(
        alpha
            .iter()
            .any(|c| c.contains("CreateKey") || c.contains("ReplicateKey")),
        "no key is made in 222222222222 us-east-1: {alpha:#?}"
    );
}

/// A primary region the account does not have (a spec validation would
/// reject): the account's replica regions get no key, and that is said at
/// medium with what to do, not as an info row.
#[test]
fn a_primary_region_the_account_lacks_is_reported_at_medium_with_what_to_do() {
    let mut s = spec("mrk", &[(A, R1), (B, R1), (B, R2)]);
    s.key_type.primary_region = Some(R2.into());
    let d = desired(vec![s]);
    let mut live = converged(&d);
    for t in d.targets() {
        *region_mut(&mut live, &t.account, &t.region) = RegionSnapshot::default();
    }
    let p = plan(&d, &live);
    let row = p
        .changes
        .iter()
        .find(|c| c.account == A && c.region.as_deref() == Some(R1) && c.resource == Resource::Key)
        .expect("a row for the key in A");
    assert!(!row.executable());
    assert!(row.severity >= Severity::Medium, "{row:?}");
    assert!(
        row.detail
            .contains(&format!("add {R2} to the account's regions")),
        "{}",
        row.detail
    );
}

/// After UpdatePrimaryRegion (a person's decision the design expects), the
/// key in the declared primary region is a replica. AWS sets rotation on
/// the primary only (EnableKeyRotation on a replica fails): no rotation is
/// planned on it, and the report of the moved primary says so.
#[test]
fn rotation_is_not_planned_on_a_key_that_is_live_a_replica_after_update_primary_region() {
    let mut s = spec("mrk", &[(A, R1), (A, R2)]);
    s.key_type.primary_region = Some(R1.into());
    s.rotation_days = 180; // keys.toml changed the period
    let d = desired(vec![s]);
    let mut live = converged(&d);
    // One key id in both regions; the primary was moved to R2 by hand.
    one_multi_region_key(&mut live, R2, |_, det| {
        det.rotation = Some(Rotation {
            enabled: true,
            period_days: Some(365),
        });
    });
    let p = plan(&d, &live);
    let on_replica: Vec<String> = p
        .executable()
        .filter(|c| c.region.as_deref() == Some(R1))
        .filter(|c| matches!(c.operation(), Some(Operation::EnableRotation { .. })))
        .map(|c| c.detail.clone())
        .collect();
    assert!(
        on_replica.is_empty(),
        "EnableKeyRotation planned on the replica in {R1}: {on_replica:?}"
    );
    assert!(p
        .changes
        .iter()
        .any(|c| c.region.as_deref() == Some(R1) && c.detail.contains("plans no rotation")));
}

/// Makes the converged keys of account A in R1 and R2 one multi-Region key
/// `mrk-1` whose primary is in `primary` (aliases follow), then lets
/// `change` adjust each region's details.
fn one_multi_region_key(
    live: &mut LiveState,
    primary: &str,
    change: impl Fn(&str, &mut crate::model::KeyDetails),
) {
    for r in [R1, R2] {
        let snap = region_mut(live, A, r);
        for k in &mut snap.keys {
            let old = k.key_id.clone();
            k.key_id = "mrk-1".into();
            k.arn = key_arn(&Target::new(A, r), "mrk-1");
            let det = k.details.as_mut().unwrap();
            det.multi_region = true;
            det.primary_region = Some(primary.into());
            change(r, det);
            for a in &mut snap.aliases {
                if a.target_key_id.as_deref() == Some(old.as_str()) {
                    a.target_key_id = Some("mrk-1".into());
                }
            }
        }
    }
}

/// A multi-Region primary scheduled for deletion while it has replicas is
/// in state PendingReplicaDeletion: AWS says it "cannot be replicated or
/// used in cryptographic operations" and CancelKeyDeletion restores it; c3
/// restores it as a PendingDeletion key (CancelKeyDeletion, EnableKey).
#[test]
fn a_primary_pending_replica_deletion_is_restored_like_pending_deletion() {
    let mut s = spec("mrk", &[(A, R1), (A, R2)]);
    s.key_type.primary_region = Some(R1.into());
    let d = desired(vec![s]);
    let mut live = converged(&d);
    one_multi_region_key(&mut live, R1, |r, det| {
        if r == R1 {
            det.state = KeyState::Other("PendingReplicaDeletion".into());
            det.rotation = None;
        }
    });
    let p = plan(&d, &live);
    let rows: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.region.as_deref() == Some(R1) && c.resource == Resource::KeyState)
        .map(|c| {
            format!(
                "executable={} {:?} {}",
                c.executable(),
                c.severity,
                c.detail
            )
        })
        .collect();
    assert!(
        p.executable().any(|c| matches!(
            c.operation(),
            Some(Operation::Restore {
                cancel_deletion: true,
                ..
            })
        )),
        "no CancelKeyDeletion for the primary: {rows:#?}"
    );
}

/// A primary that is not Enabled or Disabled cannot be replicated: a
/// replica region that needs a replica gets a report, not a ReplicateKey
/// AWS refuses.
#[test]
fn no_replica_is_made_from_a_primary_aws_cannot_replicate() {
    let mut s = spec("mrk", &[(A, R1), (A, R2)]);
    s.key_type.primary_region = Some(R1.into());
    let d = desired(vec![s]);
    let mut live = converged(&d);
    *region_mut(&mut live, A, R2) = RegionSnapshot::default();
    let snap = region_mut(&mut live, A, R1);
    for k in &mut snap.keys {
        let det = k.details.as_mut().unwrap();
        det.multi_region = true;
        det.primary_region = Some(R1.into());
        det.state = KeyState::Other("PendingReplicaDeletion".into());
        det.rotation = None;
    }
    let p = plan(&d, &live);
    assert!(
        !p.executable()
            .any(|c| matches!(c.operation(), Some(Operation::ReplicateKey { .. }))),
        "ReplicateKey from a primary AWS cannot replicate"
    );
    let row = p
        .changes
        .iter()
        .find(|c| c.region.as_deref() == Some(R2) && c.resource == Resource::Key)
        .expect("a row for the replica region");
    assert!(row.severity >= Severity::Medium, "{row:?}");
    assert!(
        row.detail.contains("is PendingReplicaDeletion"),
        "{}",
        row.detail
    );
}
