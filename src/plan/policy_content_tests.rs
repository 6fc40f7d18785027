//! Planner tests of the key-policy content a file declares (design.md, "Key
//! policy content"): administrators, users, further statements, and the
//! service-principal table, including keys made before it existed.

use std::collections::BTreeSet;

use serde_json::json;

use super::desired::{key_policy, SERVICE_PRINCIPAL_ACTIONS};
use super::tests::{
    converged, desired, live_policy, rows, set_live_policy, spec, statements_mut, A, R1,
};
use super::*;
use crate::model::*;

/// The statement of a policy with this Sid.
fn by_sid<'a>(policy: &'a serde_json::Value, sid: &str) -> Option<&'a serde_json::Value> {
    policy["Statement"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["Sid"] == sid))
}

fn cloudtrail_key() -> DesiredState {
    let mut s = spec("audit", &[(A, R1)]);
    s.service_principals = BTreeSet::from(["cloudtrail".to_string()]);
    desired(vec![s])
}

#[test]
fn cloudtrail_gets_the_global_principal_and_the_conditions_aws_recommends() {
    let d = cloudtrail_key();
    let policy = key_policy(&d.keys[0], &Target::new(A, R1));
    let main = by_sid(&policy, "AllowServiceCloudtrailGlobal").expect("statement");
    assert_eq!(
        main["Principal"],
        json!({"Service": "cloudtrail.amazonaws.com"})
    );
    assert_eq!(
        main["Condition"],
        json!({
            "StringEquals": {"aws:SourceAccount": A},
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                format!("arn:aws:cloudtrail:*:{A}:trail/*")},
        })
    );
    assert!(!main["Action"].to_string().contains("DescribeKey"));
    let describe = by_sid(&policy, "AllowServiceCloudtrailGlobalDescribeKey").expect("describe");
    assert_eq!(describe["Action"], "kms:DescribeKey");
    assert_eq!(
        describe["Condition"],
        json!({"StringEquals": {"aws:SourceAccount": A}})
    );
    assert!(by_sid(&policy, "AllowServiceCloudtrail").is_none());
}

/// A key that c3 made before the service table, with
/// `cloudtrail.<region>.amazonaws.com`: the usual merge adds the new
/// statements, keeps the old one and reports it as c3's own statement that
/// the file no longer declares.
#[test]
fn a_key_made_with_the_old_regional_cloudtrail_principal_is_repaired_by_the_merge() {
    let d = cloudtrail_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).retain(|s| {
        !s["Sid"]
            .as_str()
            .is_some_and(|sid| sid.starts_with("AllowServiceCloudtrail"))
    });
    statements_mut(&mut pol).push(json!({
        "Sid": "AllowServiceCloudtrail",
        "Effect": "Allow",
        "Principal": {"Service": format!("cloudtrail.{R1}.amazonaws.com")},
        "Action": SERVICE_PRINCIPAL_ACTIONS,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": A}},
    }));
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
    let report = &p.changes[0];
    assert!(
        report.detail.contains(
            "statement \"AllowServiceCloudtrail\" has the Sid of a c3 statement that keys.toml no longer declares (kept)"
        ),
        "{}",
        report.detail
    );
    assert!(report
        .detail
        .contains(&format!("cloudtrail.{R1}.amazonaws.com")));
    let update = &p.changes[1];
    assert_eq!(
        update.detail,
        "add statement AllowServiceCloudtrailGlobal; add statement AllowServiceCloudtrailGlobalDescribeKey"
    );
    let Some(Operation::PutKeyPolicy { policy, .. }) = update.operation() else {
        panic!("not PutKeyPolicy");
    };
    let written: serde_json::Value = serde_json::from_str(policy).expect("json");
    assert!(
        by_sid(&written, "AllowServiceCloudtrail").is_some(),
        "old one kept"
    );
    assert_eq!(
        by_sid(&written, "AllowServiceCloudtrailGlobal").map(|s| &s["Principal"]),
        Some(&json!({"Service": "cloudtrail.amazonaws.com"}))
    );

    // Once written, only the old statement is left, reported.
    set_live_policy(&mut live, &written);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyPolicy, ActionKind::Report, false)],
        "{:#?}",
        p.changes
    );
}

/// A key made when c3 wrote only `aws:SourceAccount` for CloudWatch Logs:
/// its statement keeps its Sid and gains the encryption-context condition.
#[test]
fn an_old_logs_statement_gains_the_encryption_context_condition() {
    let d = desired(vec![spec("payments", &[(A, R1)])]);
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    for s in statements_mut(&mut pol).iter_mut() {
        if s["Sid"] == "AllowServiceLogs" {
            s["Condition"] = json!({"StringEquals": {"aws:SourceAccount": A}});
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
    assert_eq!(
        p.changes[0].detail,
        format!(
            "AllowServiceLogs gains conditions ArnLike kms:EncryptionContext:aws:logs:arn=arn:aws:logs:{R1}:{A}:*"
        )
    );
}

fn people_key() -> DesiredState {
    let mut s = spec("payments", &[(A, R1)]);
    s.administrators = BTreeSet::from(["arn:aws:iam::{account}:role/KeyAdmins".to_string()]);
    s.users = BTreeSet::from([
        "arn:aws:iam::{account}:role/app-{region}".to_string(),
        "arn:aws:iam::444455556666:root".to_string(),
    ]);
    s.statements = vec![json!({
        "Sid": "AllowBackupVault",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::{account}:role/backup"},
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "backup.{region}.amazonaws.com"}},
    })];
    desired(vec![s])
}

#[test]
fn administrators_users_and_statements_are_written_as_the_console_writes_them() {
    let d = people_key();
    let policy = key_policy(&d.keys[0], &Target::new(A, R1));
    let admins = by_sid(&policy, "AllowKeyAdministrators").expect("admins");
    assert_eq!(
        admins["Principal"],
        json!({"AWS": format!("arn:aws:iam::{A}:role/KeyAdmins")})
    );
    assert!(admins["Action"]
        .to_string()
        .contains("kms:ScheduleKeyDeletion"));
    let users = by_sid(&policy, "AllowKeyUsers").expect("users");
    assert_eq!(
        users["Principal"],
        json!({"AWS": [format!("arn:aws:iam::{A}:role/app-{R1}"), "arn:aws:iam::444455556666:root"]})
    );
    let grants = by_sid(&policy, "AllowKeyUsersGrants").expect("grants");
    assert_eq!(
        grants["Condition"],
        json!({"Bool": {"kms:GrantIsForAWSResource": "true"}})
    );
    let backup = by_sid(&policy, "AllowBackupVault").expect("backup");
    assert_eq!(
        backup["Condition"]["StringEquals"]["kms:ViaService"],
        format!("backup.{R1}.amazonaws.com")
    );
    // Converged: nothing to do, nothing reported.
    assert!(plan(&d, &converged(&d)).changes.is_empty());
}

#[test]
fn declared_statements_are_merged_by_sid_like_c3s_own() {
    let d = people_key();
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).retain(|s| s["Sid"] != "AllowKeyUsersGrants");
    for s in statements_mut(&mut pol).iter_mut() {
        if s["Sid"] == "AllowBackupVault" {
            s["Action"] = json!(["kms:Decrypt", "kms:Encrypt"]);
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
    assert!(p.changes[0]
        .detail
        .contains("statement AllowBackupVault grants more than keys.toml asks for: actions kms:Encrypt (kept)"));
    assert_eq!(
        p.changes[1].detail,
        "add statement AllowKeyUsersGrants; AllowBackupVault gains actions kms:DescribeKey"
    );
}

#[test]
fn a_cross_account_user_is_visible_in_the_create() {
    let d = people_key();
    let mut live = LiveState::default();
    live.regions
        .insert(Target::new(A, R1), Ok(RegionSnapshot::default()));
    let p = plan(&d, &live);
    let create = p
        .changes
        .iter()
        .find(|c| matches!(c.operation(), Some(Operation::CreateKey { .. })))
        .expect("a create");
    assert!(
        create
            .detail
            .ends_with("; principals of other accounts: arn:aws:iam::444455556666:root"),
        "{}",
        create.detail
    );
    let diff = create.diff.as_ref().expect("diff");
    assert!(diff.after.contains("arn:aws:iam::444455556666:root"));
}

#[test]
fn a_declared_deny_is_never_added_to_a_live_policy() {
    let mut d = people_key();
    d.keys[0].statements.push(json!({
        "Sid": "DenyDeletion", "Effect": "Deny",
        "Principal": {"AWS": "arn:aws:iam::{account}:role/app"},
        "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
    }));
    let mut live = converged(&d);
    let mut pol = live_policy(&mut live);
    statements_mut(&mut pol).retain(|s| s["Sid"] != "DenyDeletion");
    set_live_policy(&mut live, &pol);
    let p = plan(&d, &live);
    assert_eq!(
        rows(&p),
        vec![(Resource::KeyPolicy, ActionKind::Report, false)],
        "{:#?}",
        p.changes
    );
    assert!(p.changes[0]
        .detail
        .contains("DenyDeletion (Deny) is missing"));
}
