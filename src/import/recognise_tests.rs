use super::*;
use serde_json::json;

const ACCOUNT: &str = "111111111111";
const REGION: &str = "eu-west-1";

fn target() -> Target {
    Target::new(ACCOUNT, REGION)
}

/// The console's default key policy, as the console writes it.
fn console_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-consolepolicy-3",
        "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111111111111:role/KeyAdmins"},
             "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                        "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                        "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                        "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
             "Resource": "*"},
            {"Sid": "Allow use of the key", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::111111111111:role/app", "arn:aws:iam::444455556666:root"]},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*"},
            {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::111111111111:role/app", "arn:aws:iam::444455556666:root"]},
             "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
             "Resource": "*",
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
        ]
    })
    .to_string()
}

#[test]
fn the_consoles_default_policy_is_root_administrators_and_users() {
    let r = recognise(&console_policy(), &target());
    assert!(r.root);
    assert_eq!(
        r.administrators,
        BTreeSet::from(["arn:aws:iam::{account}:role/KeyAdmins".to_string()])
    );
    assert_eq!(
        r.users,
        BTreeSet::from([
            "arn:aws:iam::444455556666:root".to_string(),
            "arn:aws:iam::{account}:role/app".to_string()
        ])
    );
    assert!(r.statements.is_empty(), "{:?}", r.statements);
    assert!(r.unexpressed.is_empty());
}

#[test]
fn c3s_own_policy_reads_back_as_its_fields() {
    let mut spec = spec();
    spec.via_services.insert("secretsmanager".into());
    spec.service_principals.insert("logs".into());
    spec.service_principals.insert("cloudtrail".into());
    spec.service_principals
        .insert("delivery.logs.amazonaws.com".into());
    spec.administrators
        .insert("arn:aws:iam::{account}:role/Admins".into());
    let policy = crate::plan::desired::key_policy(&spec, &target()).to_string();
    let r = recognise(&policy, &target());
    assert!(r.root);
    assert_eq!(r.via_services, spec.via_services);
    assert_eq!(
        r.service_principals,
        BTreeSet::from([
            "cloudtrail".to_string(),
            "delivery.logs.amazonaws.com".to_string(),
            "logs".to_string()
        ])
    );
    assert_eq!(r.administrators, spec.administrators);
    assert!(r.statements.is_empty(), "{:?}", r.statements);
}

#[test]
fn other_statements_become_statements_or_unexpressed() {
    let policy = json!({"Statement": [
        {"Sid": "Backup vault", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111111111111:role/backup"},
         "Action": ["kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "backup.eu-west-1.amazonaws.com"}}},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
        {"Sid": "S3", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/x"},
         "Action": "s3:GetObject", "Resource": "*"}
    ]})
    .to_string();
    let r = recognise(&policy, &target());
    assert!(!r.root);
    assert_eq!(r.statements.len(), 1);
    let (s, subject) = &r.statements[0];
    assert_eq!(subject, "Backup vault");
    assert_eq!(s["sid"], "BackupVault");
    assert_eq!(s["principal"]["AWS"], "arn:aws:iam::{account}:role/backup");
    assert_eq!(
        s["condition"]["StringEquals"]["kms:ViaService"],
        "backup.{region}.amazonaws.com"
    );
    assert_eq!(r.unexpressed.len(), 2, "{:?}", r.unexpressed);
}

#[test]
fn sids_are_letters_and_digits_and_never_c3s() {
    assert_eq!(sid_for(Some("Allow use of the key"), 1), "AllowUseOfTheKey");
    assert_eq!(sid_for(None, 3), "ImportedStatement3");
    assert_eq!(
        sid_for(Some("Allow Service logs"), 1),
        "ImportedAllowServiceLogs"
    );
}
