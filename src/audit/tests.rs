//! The controls, one key at a time (design.md, "Audit"; docs/audit.md).

use std::collections::{BTreeMap, BTreeSet};

use super::controls::{self, Standing, Status};
use super::*;
use crate::model::{KeyDetails, KeySpec, KeyState, Rotation};

const ACCOUNT: &str = "111122223333";

fn key(policy: &str) -> AuditedKey {
    AuditedKey {
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        arn: format!("arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        aliases: vec!["alias/legacy".into()],
        tags: BTreeMap::new(),
        details: KeyDetails {
            state: KeyState::Enabled,
            description: String::new(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            primary_region: None,
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: Some(1_700_000_000),
            rotation: Some(Rotation {
                enabled: true,
                period_days: Some(365),
            }),
            policy: Some(policy.to_string()),
            grants: Some(Vec::new()),
        },
        unread: BTreeMap::new(),
        last_usage: None,
    }
}

/// A grant of Decrypt to `grantee`, nothing else set.
fn grant_to(grantee: &str) -> crate::model::KmsGrant {
    crate::model::KmsGrant {
        grant_id: "g1".into(),
        name: None,
        grantee: Some(grantee.into()),
        grantee_service: None,
        retiring: None,
        issuing_account: None,
        operations: vec!["Decrypt".into()],
        constraints: BTreeMap::new(),
        source_arn: None,
    }
}

/// The audit of one key in eu-west-1, keys.toml declaring nothing.
fn audit_of(k: AuditedKey) -> crate::plan::Plan {
    let live = AuditState {
        regions: [(Target::new(ACCOUNT, "eu-west-1"), Ok(vec![k]))].into(),
    };
    audit(&empty_desired(), &live)
}

fn with_statement(statement: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},{statement}]}}"#
    )
}

fn kms5(statement: &str) -> Status {
    controls::kms_5(&key(&with_statement(statement))).status
}

#[test]
fn kms_5_public_forms_and_conditions_as_aws_reads_them() {
    for principal in [r#""*""#, r#"{"AWS":"*"}"#, r#"{"AWS":["*"]}"#] {
        let allow = |condition: &str| {
            format!(
                r#"{{"Sid":"Open","Effect":"Allow","Principal":{principal},"Action":"kms:Decrypt","Resource":"*"{condition}}}"#
            )
        };
        assert_eq!(kms5(&allow("")), Status::Fail, "{principal} unconditional");
        for pin in [
            r#","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}"#,
            r#","Condition":{"StringEquals":{"aws:PrincipalAccount":["111122223333"]}}"#,
            r#","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
        ] {
            assert_eq!(kms5(&allow(pin)), Status::Pass, "{principal} {pin}");
        }
        for loose in [
            // Any account's principals may reach it through S3.
            r#","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}"#,
            // A wildcard is no pin (Security Hub: only fixed values pass).
            r#","Condition":{"StringLike":{"kms:CallerAccount":"*"}}"#,
            // `…IfExists` does not limit a request without the key.
            r#","Condition":{"StringEqualsIfExists":{"kms:CallerAccount":"111122223333"}}"#,
            r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
        ] {
            assert_eq!(kms5(&allow(loose)), Status::Fail, "{principal} {loose}");
        }
    }
    // A Deny of everyone, or another account named, is not public.
    assert_eq!(
        kms5(r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#),
        Status::Pass
    );
    assert_eq!(
        kms5(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:Decrypt","Resource":"*"}"#
        ),
        Status::Pass
    );
    let mut unread = key("{}");
    unread.details.policy = None;
    unread
        .unread
        .insert("GetKeyPolicy".into(), "AccessDeniedException: no".into());
    assert_eq!(controls::kms_5(&unread).status, Status::Unknown);
}

#[test]
fn kms_4_applies_only_where_aws_rotates() {
    let judged = |change: &dyn Fn(&mut AuditedKey)| {
        let mut k = key(&with_statement(
            r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#,
        ));
        change(&mut k);
        controls::rotation(&controls::KMS_4, &k).status
    };
    assert_eq!(judged(&|_| {}), Status::Pass);
    assert_eq!(
        judged(&|k| k.details.rotation = Some(Rotation {
            enabled: false,
            period_days: None
        })),
        Status::Fail
    );
    assert_eq!(
        judged(&|k| k.details.spec = "RSA_2048".into()),
        Status::NotApplicable
    );
    assert_eq!(
        judged(&|k| {
            k.details.spec = "HMAC_256".into();
            k.details.usage = "GENERATE_VERIFY_MAC".into();
        }),
        Status::NotApplicable
    );
    assert_eq!(
        judged(&|k| k.details.origin = "EXTERNAL".into()),
        Status::NotApplicable
    );
    assert_eq!(
        judged(&|k| k.details.custom_key_store_id = Some("cks-1".into())),
        Status::NotApplicable
    );
    assert_eq!(
        judged(&|k| k.details.state = KeyState::PendingDeletion),
        Status::NotApplicable
    );
    assert_eq!(
        judged(&|k| {
            k.details.rotation = None;
            k.unread.insert(
                "GetKeyRotationStatus".into(),
                "AccessDeniedException: no".into(),
            );
        }),
        Status::Unknown
    );
}

#[test]
fn kms_3_fails_scheduled_deletions_with_their_date() {
    let mut k = key("{}");
    assert_eq!(controls::kms_3(&k).status, Status::Pass);
    k.details.state = KeyState::Disabled;
    assert_eq!(controls::kms_3(&k).status, Status::Pass);
    k.details.state = KeyState::PendingDeletion;
    k.details.deletion_epoch = Some(1_765_065_600); // 2025-12-07
    let v = controls::kms_3(&k);
    assert_eq!(v.status, Status::Fail);
    assert!(v.detail.contains("2025-12-07"), "{}", v.detail);
    k.details.state = KeyState::Other("PendingReplicaDeletion".into());
    assert_eq!(controls::kms_3(&k).status, Status::Fail);
}

fn declared(users: &[&str]) -> KeySpec {
    KeySpec {
        key_type: crate::model::KeyType::default(),
        name: "payments".into(),
        classification: "internal".into(),
        description: String::new(),
        rotation_days: 90,
        generation: 1,
        enabled: true,
        via_services: BTreeSet::new(),
        service_principals: BTreeSet::new(),
        administrators: BTreeSet::new(),
        users: users.iter().map(|u| (*u).to_string()).collect(),
        statements: Vec::new(),
        user_tags: BTreeMap::new(),
        targets: Vec::new(),
        adopt: false,
        rotation: true,
        managed_policies: BTreeSet::new(),
    }
}

#[test]
fn cross_account_principals_are_named_unless_declared() {
    let partner = r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:Decrypt","Resource":"*"}"#;
    let k = key(&with_statement(partner));
    let estate: BTreeSet<String> = [ACCOUNT.to_string()].into();
    let unmanaged = Standing {
        declared: None,
        orphan: false,
        account: ACCOUNT,
        estate: &estate,
    };
    let v = controls::cross_account(&k, &unmanaged);
    assert_eq!(v[0].status, Status::Fail);
    assert!(v[0].detail.contains("999999999999"));
    assert_eq!(v[0].severity, Some(crate::plan::Severity::High));

    let spec = declared(&["arn:aws:iam::999999999999:root"]);
    let managed = Standing {
        declared: Some(&spec),
        ..unmanaged
    };
    assert_eq!(
        controls::cross_account(&k, &managed)[0].status,
        Status::Pass
    );

    // Another account of keys.toml: still named, at medium.
    let estate: BTreeSet<String> = [ACCOUNT.to_string(), "999999999999".to_string()].into();
    let within = Standing {
        estate: &estate,
        ..unmanaged
    };
    let v = controls::cross_account(&k, &within);
    assert_eq!(v[0].severity, Some(crate::plan::Severity::Medium));

    // A grant to another account's role.
    let mut k = key(&with_statement(
        r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    ));
    k.details.grants = Some(vec![grant_to("arn:aws:iam::888888888888:role/reader")]);
    let v = controls::cross_account(&k, &unmanaged);
    assert_eq!(v[0].status, Status::Fail);
    assert_eq!(v[0].resource, Some(crate::plan::Resource::Grant));
}

#[test]
fn rotation_period_is_judged_for_declared_keys_only() {
    let k = key("{}");
    let estate = BTreeSet::new();
    let spec = declared(&[]);
    let managed = Standing {
        declared: Some(&spec),
        orphan: false,
        account: ACCOUNT,
        estate: &estate,
    };
    // Declared 90, live 365.
    assert_eq!(controls::rotation_period(&k, &managed).status, Status::Fail);
    let unmanaged = Standing {
        declared: None,
        ..managed
    };
    assert_eq!(
        controls::rotation_period(&k, &unmanaged).status,
        Status::NotApplicable
    );
}

#[test]
fn findings_merge_what_two_controls_say_of_one_problem() {
    let mut k = key(&with_statement(
        r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    ));
    k.details.rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    let live = AuditState {
        regions: [(Target::new(ACCOUNT, "eu-west-1"), Ok(vec![k]))].into(),
    };
    let desired = DesiredState {
        settings: crate::model::Settings::default(),
        accounts: Vec::new(),
        keys: Vec::new(),
        scope: crate::model::Scope::default(),
        accept: Vec::new(),
        fleet: crate::model::Fleet::default(),
    };
    let plan = audit(&desired, &live);
    // KMS.4 and CIS.3.6 both fail; one finding names both.
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
    assert_eq!(plan.changes[0].control.as_deref(), Some("KMS.4"));
    assert!(plan.changes[0].detail.contains("CIS.3.6"));
    assert!(!plan.changes[0].executable());
    assert_eq!(plan.changes[0].key, "legacy");
    let keys = plan.audit.expect("verdicts");
    assert_eq!(keys[0].status("CIS.3.6"), Some(Status::Fail));
    assert_eq!(keys[0].owner, "unmanaged");
}

// ---- review14: proofs of suspected bugs (left uncommitted) ----

fn unmanaged_standing(estate: &BTreeSet<String>) -> Standing<'_> {
    Standing {
        declared: None,
        orphan: false,
        account: ACCOUNT,
        estate,
    }
}

fn empty_desired() -> DesiredState {
    DesiredState {
        settings: crate::model::Settings::default(),
        accounts: Vec::new(),
        keys: Vec::new(),
        scope: crate::model::Scope::default(),
        accept: Vec::new(),
        fleet: crate::model::Fleet::default(),
    }
}

/// `"*"` pinned by a condition to ANOTHER account is not public (KMS.5
/// passes, rightly), but it lets that account in: C3.CROSS_ACCOUNT must fail.
#[test]
fn another_account_let_in_through_a_condition_is_cross_account() {
    let estate = BTreeSet::new();
    for cond in [
        r#"{"StringEquals":{"kms:CallerAccount":"999999999999"}}"#,
        r#"{"StringEquals":{"aws:PrincipalAccount":"999999999999"}}"#,
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::999999999999:role/*"}}"#,
    ] {
        let k = key(&with_statement(&format!(
            r#"{{"Sid":"Partner","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{cond}}}"#
        )));
        assert_eq!(controls::kms_5(&k).status, Status::Pass, "{cond}");
        let v = controls::cross_account(&k, &unmanaged_standing(&estate));
        assert_eq!(v[0].status, Status::Fail, "{cond}: {v:?}");
    }
}

/// A wildcard in an org id, a VPC endpoint or a user id is no "fixed value":
/// Security Hub fails such a key; c3 passes it.
#[test]
fn wildcards_outside_fixed_accounts_are_not_pins() {
    for cond in [
        r#"{"StringLike":{"aws:PrincipalOrgID":"o-*"}}"#,
        r#"{"StringLike":{"aws:SourceVpce":"vpce-*"}}"#,
        r#"{"StringLike":{"aws:userid":"AROA*"}}"#,
    ] {
        let s = format!(
            r#"{{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{cond}}}"#
        );
        assert_eq!(kms5(&s), Status::Fail, "{cond}");
    }
}

/// docs/audit.md: a NotPrincipal Allow is public only "with no condition
/// that limits callers"; c3 fails it even when the account is pinned.
#[test]
fn not_principal_with_a_pinning_condition_is_not_public() {
    let s = format!(
        r#"{{"Sid":"NP","Effect":"Allow","NotPrincipal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/x"}},"Action":"kms:Decrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{ACCOUNT}"}}}}}}"#
    );
    assert_eq!(kms5(&s), Status::Pass);
}

/// docs/audit.md's own example: `key = "legacy-*"` with `subject = "KMS.4"`.
#[test]
fn an_accept_entry_names_an_audited_key_by_its_alias() {
    let mut k = key(&with_statement(
        r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    ));
    k.aliases = vec!["alias/legacy-billing".into()];
    k.details.rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    let mut plan = audit_of(k);
    let entry = crate::model::AcceptEntry {
        account: None,
        region: None,
        key: Some("legacy-billing".into()),
        resource: None,
        subject: Some("KMS.4".into()),
        reason: "imported keys".into(),
        expires: crate::model::Date::parse("2027-06-30").unwrap(),
        at: "keys.toml:1".into(),
    };
    crate::plan::accept::accept(
        &mut plan,
        &[entry],
        &crate::model::Scope::default(),
        crate::model::Date::parse("2026-11-30").unwrap(),
    );
    assert!(plan.changes[0].accepted.is_some(), "{:?}", plan.warnings);
}

/// ListResourceTags denied on a c3 key: it is silently judged `unmanaged`
/// (C3.ROTATION_PERIOD not applicable, no unknown anywhere, no finding)
/// although docs say a denied read makes the controls that need it `unknown`.
#[test]
fn denied_tags_make_ownership_and_the_declared_period_unknown() {
    let mut k = key(&with_statement(
        r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    ));
    k.unread.insert(
        "ListResourceTags".into(),
        "AccessDeniedException: denied".into(),
    );
    // Declared with a 90-day period; live 365 (would fail C3.ROTATION_PERIOD).
    let plan = audit_of(k);
    let keys = plan.audit.clone().unwrap();
    assert!(
        keys[0].verdicts.iter().any(|v| v.status == Status::Unknown),
        "owner {} and no unknown verdict: {:?}",
        keys[0].owner,
        keys[0].verdicts
    );
}

/// Rotation status denied: KMS.4 and CIS.3.6 are both unknown and give two
/// findings, though docs say "one finding names both".
#[test]
fn an_unknown_rotation_is_one_finding_for_kms_4_and_cis() {
    let mut k = key(&with_statement(
        r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    ));
    k.details.rotation = None;
    k.unread.insert(
        "GetKeyRotationStatus".into(),
        "AccessDeniedException: denied".into(),
    );
    let plan = audit_of(k);
    let ids: Vec<_> = plan.changes.iter().map(|c| c.subject.clone()).collect();
    assert_eq!(ids, vec!["KMS.4".to_string()], "{ids:?}");
}

/// JUnit: accepting the key-policy half of C3.CROSS_ACCOUNT skips the
/// grant half too, while the grant finding still counts for the exit code.
#[test]
fn junit_skips_only_the_accepted_half_of_a_cross_account_finding() {
    let mut k = key(&with_statement(
        r#"{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:Decrypt","Resource":"*"}"#,
    ));
    k.details.grants = Some(vec![grant_to("arn:aws:iam::888888888888:role/reader")]);
    let mut plan = audit_of(k);
    let entry = crate::model::AcceptEntry {
        account: None,
        region: None,
        key: Some("legacy".into()),
        resource: Some("key_policy".into()),
        subject: Some("C3.CROSS_ACCOUNT".into()),
        reason: "partner".into(),
        expires: crate::model::Date::parse("2027-06-30").unwrap(),
        at: "keys.toml:1".into(),
    };
    crate::plan::accept::accept(
        &mut plan,
        &[entry],
        &crate::model::Scope::default(),
        crate::model::Date::parse("2026-11-30").unwrap(),
    );
    assert!(plan.has_differences(), "the grant finding counts");
    let xml = crate::render::audit::junit(&plan);
    assert!(xml.contains("failures=\"1\""), "{xml}");
}

/// A grant to a service whose retiring principal or issuing account is
/// another account: plan's assess_grant calls another issuer "high";
/// the audit's C3.CROSS_ACCOUNT passes.
#[test]
fn a_grant_issued_or_retirable_by_another_account_is_cross_account() {
    let estate = BTreeSet::new();
    let mut k = key(&with_statement(
        r#"{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#,
    ));
    k.details.grants = Some(vec![crate::model::KmsGrant {
        retiring: Some("arn:aws:iam::999999999999:role/ops".into()),
        issuing_account: Some("arn:aws:iam::999999999999:root".into()),
        ..grant_to("rds.eu-west-1.amazonaws.com")
    }]);
    let v = controls::cross_account(&k, &unmanaged_standing(&estate));
    assert_eq!(v[0].status, Status::Fail, "{v:?}");
}

/// A key described without KeySpec is a symmetric key (the AWS default):
/// KMS.4 applies and fails with rotation off, and the reader asks for its
/// rotation (`rotation_applies` agrees).
#[test]
fn kms4_judges_a_key_described_without_key_spec_as_symmetric() {
    use crate::audit::controls::{self, Status};
    use crate::model::{KeyDetails, KeyState, Rotation};
    let key = crate::model::AuditedKey {
        key_id: "k".into(),
        arn: "arn:aws:kms:eu-west-1:111111111111:key/k".into(),
        aliases: vec![],
        tags: std::collections::BTreeMap::new(),
        details: KeyDetails {
            state: KeyState::Enabled,
            description: String::new(),
            manager: "CUSTOMER".into(),
            spec: String::new(), // DescribeKey without KeySpec
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            primary_region: None,
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: None,
            rotation: Some(Rotation {
                enabled: false,
                period_days: None,
            }),
            policy: None,
            grants: Some(Vec::new()),
        },
        unread: std::collections::BTreeMap::new(),
        last_usage: None,
    };
    let v = controls::rotation(&controls::KMS_4, &key);
    assert_eq!(v.status, Status::Fail, "{v:?}");
    assert!(crate::live::audit::rotation_applies(&key.details));
}
