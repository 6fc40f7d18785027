//! examples/estate.toml end to end: administrators, users (one of another
//! account), a CloudWatch Logs key, a CloudTrail key and a declared backup
//! statement. plan → apply → plan is clean, and the key policies read back
//! from the emulator hold exactly the statements design.md describes.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";
const R2: &str = "eu-central-1";

/// The example with fresh accounts: (text, prod, security, other).
fn estate() -> (String, String, String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/estate.toml");
    let text = std::fs::read_to_string(path).expect("examples/estate.toml");
    let (prod, security, other) = (fresh_account(), fresh_account(), fresh_account());
    let text = text
        .replace("111111111111", &prod)
        .replace("333333333333", &security)
        .replace("444455556666", &other);
    (text, prod, security, other)
}

/// The statements of a policy by Sid.
fn by_sid(policy: &Value) -> BTreeMap<String, Value> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| (s["Sid"].as_str().unwrap_or_default().to_string(), s.clone()))
        .collect()
}

/// A string or a list of strings, as a set.
fn set(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        other => panic!("not a string or a list: {other}"),
    }
}

/// Asserts one statement: its principal (type → values), actions and condition.
fn assert_statement(
    statements: &BTreeMap<String, Value>,
    sid: &str,
    principal: (&str, &[&str]),
    actions: &[&str],
    condition: &Value,
) {
    let s = statements
        .get(sid)
        .unwrap_or_else(|| panic!("no statement {sid}: {statements:#?}"));
    assert_eq!(s["Effect"], "Allow", "{sid}");
    assert_eq!(s["Resource"], "*", "{sid}");
    let (kind, values) = principal;
    assert_eq!(
        set(&s["Principal"][kind]),
        values.iter().map(|v| (*v).to_string()).collect(),
        "{sid} principal"
    );
    assert_eq!(
        set(&s["Action"]),
        actions.iter().map(|a| (*a).to_string()).collect(),
        "{sid} actions"
    );
    let live = s.get("Condition").cloned().unwrap_or(Value::Null);
    assert_eq!(&live, condition, "{sid} condition");
}

const ADMIN: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];
const SERVICE: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
];

async fn policy_of(account: &str, region: &str, alias: &str) -> BTreeMap<String, Value> {
    let kms = kms(account, region).await;
    let id = key_behind(&kms, alias).await;
    by_sid(&key_policy(&kms, &id).await)
}

fn sids(statements: &BTreeMap<String, Value>) -> Vec<&str> {
    statements.keys().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_estate_example_converges_with_the_statements_design_md_describes() {
    let (text, prod, security, other) = estate();
    let config = Config::new(&text);
    let path = config.path.clone();
    let first = tokio::task::spawn_blocking(move || c3(&path, &["plan", "--detailed-exitcode"]))
        .await
        .expect("join");
    assert_eq!(first.code, 2, "{first:?}");
    // The other account's user is visible in the plan (the create's policy diff).
    assert!(
        first
            .stdout
            .contains(&format!("arn:aws:iam::{other}:role/analytics-reader")),
        "{first:?}"
    );
    apply_in_background(&config).await;
    let path = config.path.clone();
    let again = tokio::task::spawn_blocking(move || c3(&path, &["plan", "--detailed-exitcode"]))
        .await
        .expect("join");
    assert_eq!(again.code, 0, "{again:?}");

    for region in [R1, R2] {
        assert_payments(&prod, region, &other).await;
        assert_app_logs(&prod, region).await;
    }
    assert_audit_trail(&security).await;
}

async fn assert_payments(prod: &str, region: &str, other: &str) {
    let s = policy_of(prod, region, "alias/payments").await;
    assert_eq!(
        sids(&s),
        [
            "AllowBackupVault",
            "AllowKeyAdministrators",
            "AllowKeyUsers",
            "AllowKeyUsersGrants",
            "AllowViaServiceS3",
            "AllowViaServiceSecretsmanager",
            "EnableRootAccess",
        ]
    );
    let admins = format!("arn:aws:iam::{prod}:role/KeyAdmins");
    assert_statement(
        &s,
        "AllowKeyAdministrators",
        ("AWS", &[admins.as_str()]),
        ADMIN,
        &Value::Null,
    );
    let app = format!("arn:aws:iam::{prod}:role/payments-app");
    let reader = format!("arn:aws:iam::{other}:role/analytics-reader");
    let users: &[&str] = &[app.as_str(), reader.as_str()];
    assert_statement(&s, "AllowKeyUsers", ("AWS", users), SERVICE, &Value::Null);
    assert_statement(
        &s,
        "AllowKeyUsersGrants",
        ("AWS", users),
        &["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        &json!({"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    );
    let backup = format!("arn:aws:iam::{prod}:role/backup");
    assert_statement(
        &s,
        "AllowBackupVault",
        ("AWS", &[backup.as_str()]),
        &[
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKey*",
            "kms:CreateGrant",
        ],
        &json!({"StringEquals": {
            "kms:ViaService": format!("backup.{region}.amazonaws.com"),
            "kms:CallerAccount": prod,
        }}),
    );
}

async fn assert_app_logs(prod: &str, region: &str) {
    let s = policy_of(prod, region, "alias/app-logs").await;
    assert_eq!(
        sids(&s),
        [
            "AllowKeyAdministrators",
            "AllowServiceLogs",
            "EnableRootAccess"
        ]
    );
    assert_statement(
        &s,
        "AllowServiceLogs",
        (
            "Service",
            &[format!("logs.{region}.amazonaws.com").as_str()],
        ),
        SERVICE,
        &json!({
            "StringEquals": {"aws:SourceAccount": prod},
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                format!("arn:aws:logs:{region}:{prod}:*")},
        }),
    );
}

async fn assert_audit_trail(security: &str) {
    let s = policy_of(security, R1, "alias/audit-trail").await;
    assert_eq!(
        sids(&s),
        [
            "AllowKeyAdministrators",
            "AllowServiceCloudtrailGlobal",
            "AllowServiceCloudtrailGlobalDescribeKey",
            "AllowServiceDeliveryLogsGlobal",
            "EnableRootAccess",
        ]
    );
    assert_statement(
        &s,
        "AllowServiceCloudtrailGlobal",
        ("Service", &["cloudtrail.amazonaws.com"]),
        &[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
        ],
        &json!({
            "StringEquals": {"aws:SourceAccount": security},
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                format!("arn:aws:cloudtrail:*:{security}:trail/*")},
        }),
    );
    assert_statement(
        &s,
        "AllowServiceCloudtrailGlobalDescribeKey",
        ("Service", &["cloudtrail.amazonaws.com"]),
        &["kms:DescribeKey"],
        &json!({"StringEquals": {"aws:SourceAccount": security}}),
    );
    assert_statement(
        &s,
        "AllowServiceDeliveryLogsGlobal",
        ("Service", &["delivery.logs.amazonaws.com"]),
        SERVICE,
        &json!({"StringEquals": {"aws:SourceAccount": security}}),
    );
    let root = &s["EnableRootAccess"];
    assert_eq!(
        root["Principal"]["AWS"],
        format!("arn:aws:iam::{security}:root")
    );
    assert_eq!(root["Action"], "kms:*");
}
