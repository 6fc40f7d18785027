//! `adopt = true` on a brownfield estate (issue 12): a key as the c3 CDK
//! construct makes it (root-trust key policy, yearly rotation,
//! `alias/<name>`, the three managed policies without c3's tags) is adopted
//! with nothing else changed but c3's tags; a key with imported key
//! material behind a declared alias is a conflict and never written to. Everything is seeded
//! with the SDK, independently of c3's own policy builder.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";

/// The key policy the CDK construct gives a key (aws-cdk-lib `kms.Key`):
/// the account root may do anything, so IAM policies grant the use.
fn cdk_key_policy(account: &str) -> String {
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

/// The construct's managed policies of a key: (name, document).
fn cdk_managed_policies(name: &str, key_arn: &str) -> Vec<(String, String)> {
    let doc = |statements: Value| json!({"Version": "2012-10-17", "Statement": statements});
    vec![
        (
            format!("allow-encrypt-{name}"),
            doc(json!([{
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncryptTo", "kms:DescribeKey"],
                "Resource": key_arn
            }]))
            .to_string(),
        ),
        (
            format!("allow-decrypt-{name}"),
            doc(json!([{
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:ReEncryptFrom", "kms:DescribeKey"],
                "Resource": [key_arn]
            }]))
            .to_string(),
        ),
        (
            format!("allow-crypto-{name}"),
            doc(json!([
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": key_arn
                },
                {
                    "Effect": "Allow",
                    "Action": "kms:CreateGrant",
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": true}}
                }
            ]))
            .to_string(),
        ),
    ]
}

/// Creates a key with an alias; returns (key id, ARN).
async fn seed_key(
    kms: &aws_sdk_kms::Client,
    alias: &str,
    policy: &str,
    external: bool,
) -> (String, String) {
    let origin = if external {
        aws_sdk_kms::types::OriginType::External
    } else {
        aws_sdk_kms::types::OriginType::AwsKms
    };
    let made = kms
        .create_key()
        .description(format!("{alias} (made by the CDK)"))
        .policy(policy)
        .origin(origin)
        .send()
        .await
        .expect("CreateKey");
    let meta = made.key_metadata().expect("metadata");
    let (id, arn) = (
        meta.key_id().to_string(),
        meta.arn().unwrap_or_default().to_string(),
    );
    kms.create_alias()
        .alias_name(alias)
        .target_key_id(&id)
        .send()
        .await
        .expect("CreateAlias");
    (id, arn)
}

/// What the emulator holds of a key: its policy, rotation, tags.
async fn key_state(
    kms: &aws_sdk_kms::Client,
    id: &str,
) -> (Value, bool, Option<i32>, BTreeMap<String, String>) {
    let rotation = kms
        .get_key_rotation_status()
        .key_id(id)
        .send()
        .await
        .expect("GetKeyRotationStatus");
    let tags = kms
        .list_resource_tags()
        .key_id(id)
        .send()
        .await
        .expect("ListResourceTags")
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    (
        key_policy(kms, id).await,
        rotation.key_rotation_enabled(),
        rotation.rotation_period_in_days(),
        tags,
    )
}

/// What the emulator holds of a managed policy: its default version and
/// document, and its tags.
async fn policy_state(
    iam: &aws_sdk_iam::Client,
    arn: &str,
) -> (String, Value, BTreeMap<String, String>) {
    let (version, document) = default_policy_document(iam, arn).await;
    let tags = iam
        .list_policy_tags()
        .policy_arn(arn)
        .send()
        .await
        .expect("ListPolicyTags")
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    (
        version,
        serde_json::from_str(&document).expect("policy JSON"),
        tags,
    )
}

fn config_text(account: &str) -> String {
    format!(
        "version = 1\n\n{}[classifications.internal]\n\n\
         [[keys]]\nname = \"legacy\"\nclassification = \"internal\"\n\
         description = \"alias/legacy (made by the CDK)\"\nadopt = true\n\n\
         [[keys]]\nname = \"global\"\nclassification = \"internal\"\n\
         description = \"alias/global (made by the CDK)\"\nadopt = true\nmanaged_policies = false\n\n\
         [[accept]]\nkey = \"global\"\nresource = \"alias\"\n\
         reason = \"imported key material, managed elsewhere\"\nexpires = 2099-12-31\n",
        account_block("prod", account, &[R1])
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cdk_key_is_adopted_unchanged_and_a_key_with_imported_material_is_left_alone() {
    let account = fresh_account();
    let kms = kms(&account, R1).await;
    let iam = iam(&account).await;
    // The CDK construct's key: root trust, yearly rotation, alias/legacy.
    let (legacy, legacy_arn) =
        seed_key(&kms, "alias/legacy", &cdk_key_policy(&account), false).await;
    kms.enable_key_rotation()
        .key_id(&legacy)
        .rotation_period_in_days(365)
        .send()
        .await
        .expect("EnableKeyRotation");
    let mut policies = Vec::new();
    for (name, document) in cdk_managed_policies("legacy", &legacy_arn) {
        let made = iam
            .create_policy()
            .policy_name(&name)
            .path("/")
            .policy_document(document)
            .send()
            .await
            .expect("CreatePolicy");
        policies.push(
            made.policy()
                .and_then(|p| p.arn())
                .expect("arn")
                .to_string(),
        );
    }
    // A key with imported key material behind a declared alias.
    let (global, global_arn) =
        seed_key(&kms, "alias/global", &cdk_key_policy(&account), true).await;

    let key_before = key_state(&kms, &legacy).await;
    let global_before = key_state(&kms, &global).await;
    let mut policies_before = Vec::new();
    for arn in &policies {
        policies_before.push(policy_state(&iam, arn).await);
    }

    let config = Config::new(&config_text(&account));
    let seeded = emulator().requests(&account).len();
    let path = config.path.clone();
    let (plan, doc, apply, after) = tokio::task::spawn_blocking(move || {
        let (plan, doc) = plan_json(&path);
        let apply = c3(&path, &["apply", "--auto-approve"]);
        let after = c3(&path, &["plan", "--detailed-exitcode"]);
        (plan, doc, apply, after)
    })
    .await
    .expect("join");
    assert_eq!(plan.code, 0, "{plan:?}");

    // Only adoptions are executable, all of them the CDK key's.
    let executable: Vec<(String, String, String)> = doc
        .changes
        .iter()
        .filter(|c| c.executable())
        .map(|c| {
            (
                c.key.clone(),
                c.resource.to_string(),
                c.action().to_string(),
            )
        })
        .collect();
    assert_eq!(
        executable,
        vec![
            ("legacy".into(), "key".into(), "adopt".into()),
            ("legacy".into(), "iam_policy".into(), "adopt".into()),
            ("legacy".into(), "iam_policy".into(), "adopt".into()),
            ("legacy".into(), "iam_policy".into(), "adopt".into()),
        ],
        "{:#?}",
        doc.changes
    );
    let adopt_key = doc
        .changes
        .iter()
        .find(|c| c.key == "legacy" && c.resource.to_string() == "key")
        .expect("the key's adoption");
    assert!(adopt_key.detail.contains(&legacy), "{}", adopt_key.detail);
    // The imported key: a conflict that says why, accepted by the file.
    let conflict = doc
        .changes
        .iter()
        .find(|c| c.key == "global")
        .expect("a row for the key with imported material");
    assert_eq!(conflict.action().to_string(), "conflict");
    assert!(
        conflict.detail.contains("origin EXTERNAL"),
        "{}",
        conflict.detail
    );
    assert!(conflict.accepted.is_some(), "{conflict:?}");
    assert_eq!(
        doc.changes.len(),
        5,
        "nothing else is reported: {:#?}",
        doc.changes
    );

    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(after.code, 0, "plan after apply: {after:?}");

    // The key and the policies are unchanged but for c3's tags.
    let key_after = key_state(&kms, &legacy).await;
    assert_eq!(key_after.0, key_before.0, "key policy changed");
    assert_eq!(
        (key_after.1, key_after.2),
        (key_before.1, key_before.2),
        "rotation changed"
    );
    let mut tags = key_before.3.clone();
    tags.extend([
        ("c3:managed".to_string(), "true".to_string()),
        ("c3:name".to_string(), "legacy".to_string()),
        ("c3:classification".to_string(), "internal".to_string()),
        ("c3:generation".to_string(), "1".to_string()),
    ]);
    assert_eq!(key_after.3, tags);
    for (arn, before) in policies.iter().zip(&policies_before) {
        let (version, document, tags) = policy_state(&iam, arn).await;
        assert_eq!(&version, &before.0, "{arn}: a new version");
        assert_eq!(&document, &before.1, "{arn}: the document changed");
        let mut want = before.2.clone();
        want.insert("c3:managed".into(), "true".into());
        want.insert("c3:name".into(), "legacy".into());
        assert_eq!(tags, want, "{arn}");
    }
    assert_eq!(key_state(&kms, &global).await, global_before);

    // No write to the key with imported material, by id or ARN, in the whole run.
    let names_global =
        |v: Option<&str>| v.is_some_and(|v| v == global || v == global_arn || v == "alias/global");
    let writes: Vec<String> = emulator()
        .requests(&account)
        .into_iter()
        .skip(seeded)
        .filter(|r| {
            !["Get", "List", "Describe"]
                .iter()
                .any(|p| r.operation.starts_with(p))
        })
        .filter(|r| {
            names_global(r.param("KeyId"))
                || names_global(r.param("TargetKeyId"))
                || names_global(r.param("AliasName"))
        })
        .map(|r| r.operation)
        .collect();
    assert!(
        writes.is_empty(),
        "writes to the key with imported material: {writes:?}"
    );
    let ops = operations(&account);
    assert_eq!(ops.get("TagPolicy"), Some(&3), "{ops:?}");
}

/// Apply's own check before an adopting TagPolicy, against the emulator:
/// a policy tagged for another key name, or gone from the ARN the plan saw,
/// is refused without a write.
#[tokio::test(flavor = "multi_thread")]
async fn tag_policy_is_refused_for_another_name_or_a_policy_that_is_gone() {
    use c3::apply::writer::{PolicyWriter, SdkPolicyWriter};
    use c3::apply::PolicyWriteError;

    let account = fresh_account();
    let iam = iam(&account).await;
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let theirs = iam
        .create_policy()
        .policy_name("allow-decrypt-legacy")
        .path("/")
        .policy_document(document)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("c3:name")
                .value("other")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("CreatePolicy")
        .policy()
        .and_then(|p| p.arn())
        .expect("arn")
        .to_string();
    let writer = SdkPolicyWriter::new(iam.clone());
    let tags = BTreeMap::from([
        ("c3:managed".to_string(), "true".to_string()),
        ("c3:name".to_string(), "legacy".to_string()),
    ]);
    let seeded = emulator().requests(&account).len();
    let refused = writer.adopt_policy(&theirs, "legacy", &tags).await;
    assert!(
        matches!(&refused, Err(PolicyWriteError::OtherName { other, .. }) if other == "other"),
        "{refused:?}"
    );
    let gone = format!("arn:aws:iam::{account}:policy/allow-encrypt-legacy");
    let refused = writer.adopt_policy(&gone, "legacy", &tags).await;
    assert!(
        matches!(&refused, Err(PolicyWriteError::Moved { .. })),
        "{refused:?}"
    );
    let tag_policies: Vec<String> = emulator()
        .requests(&account)
        .into_iter()
        .skip(seeded)
        .map(|r| r.operation)
        .filter(|op| op == "TagPolicy")
        .collect();
    assert!(tag_policies.is_empty(), "{tag_policies:?}");
    // The same policy without another name's tag is adopted.
    let ours = iam
        .create_policy()
        .policy_name("allow-crypto-legacy")
        .path("/")
        .policy_document(document)
        .send()
        .await
        .expect("CreatePolicy")
        .policy()
        .and_then(|p| p.arn())
        .expect("arn")
        .to_string();
    writer
        .adopt_policy(&ours, "legacy", &tags)
        .await
        .expect("adopted");
    assert_eq!(policy_state(&iam, &ours).await.2, tags);
}
