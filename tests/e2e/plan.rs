//! `c3 plan` end to end: the real binary, the real SDK, the emulator.

use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";
const R2: &str = "eu-central-1";

/// The multi-account example with its account ids replaced by fresh ones.
fn example_for_fresh_accounts() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/multi-account.toml"
    ))
    .expect("example");
    let ids: Vec<String> = (0..3).map(|_| fresh_account()).collect();
    let text = text
        .replace("111111111111", &ids[0])
        .replace("222222222222", &ids[1])
        .replace("333333333333", &ids[2]);
    (text, ids)
}

#[test]
fn example_on_empty_accounts_lists_every_create() {
    let (text, ids) = example_for_fresh_accounts();
    let config = Config::new(&text);
    let (run, doc) = plan_json(&config.path);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert_eq!(doc.format_version, 2);
    // 17 (key, account, region) targets: a key and an alias each; 11 (key, account) pairs: 3 policies each.
    assert_eq!(doc.summary.create, 17 * 2 + 11 * 3, "{:#?}", doc.summary);
    assert!(doc
        .changes
        .iter()
        .all(|c| c.action().as_str() == "create" && c.executable()));
    let keys = doc
        .changes
        .iter()
        .filter(|c| c.resource.as_str() == "key")
        .count();
    assert_eq!(keys, 17);
    assert!(doc
        .changes
        .iter()
        .filter(|c| c.resource.as_str() == "iam_policy")
        .all(|c| c.region.is_none()));
    for id in &ids {
        assert!(doc.changes.iter().any(|c| &c.account == id));
    }
    // The human view: a table and the summary line; --detailed-exitcode says "differences".
    let human = c3(&config.path, &["plan", "--detailed-exitcode"]);
    assert_eq!(human.code, 2, "{human:?}");
    assert!(human
        .stdout
        .contains("Plan: 67 to create, 0 to update, 0 to repoint, 0 to restore, 0 to adopt, 0 reported (not applied); 67 info."));
    assert!(human.stdout.contains("| account"), "{human:?}");
    // plan never writes
    for id in &ids {
        let ops = operations(id);
        for op in ops.keys() {
            assert!(
                op.starts_with("List") || op.starts_with("Get") || op.starts_with("Describe"),
                "plan called {op}"
            );
        }
    }
}

/// Creates, with the SDK, a key exactly as design.md describes, its policy
/// formatted differently from c3's own, plus its alias and managed policies
/// (tagged as c3 tags them).
async fn seed_by_hand(account: &str, region: &str) {
    let kms = kms(account, region).await;
    let policy = format!(
        r#"{{
  "Version" : "2012-10-17",
  "Statement" : [ {{
      "Sid" : "AllowServiceLogs", "Effect" : "Allow",
      "Principal" : {{ "Service" : "logs.{region}.amazonaws.com" }},
      "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey" ],
      "Resource" : "*",
      "Condition" : {{ "StringEquals" : {{ "aws:SourceAccount" : "{account}" }},
        "ArnLike" : {{ "kms:EncryptionContext:aws:logs:arn" : "arn:aws:logs:{region}:{account}:*" }} }}
    }}, {{
      "Sid" : "EnableRootAccess", "Effect" : "Allow",
      "Principal" : {{ "AWS" : "{account}" }},
      "Action" : "kms:*", "Resource" : "*"
    }}, {{
      "Sid" : "AllowViaServiceSecretsmanager", "Effect" : "Allow", "Principal" : "*",
      "Action" : [ "kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:Decrypt", "kms:Encrypt" ],
      "Resource" : [ "*" ],
      "Condition" : {{ "StringEquals" : {{ "kms:ViaService" : [ "secretsmanager.{region}.amazonaws.com" ], "kms:CallerAccount" : "{account}" }} }}
    }} ]
}}"#
    );
    let tags = [
        ("c3:managed", "true"),
        ("c3:name", "payments"),
        ("c3:classification", "confidential"),
        ("c3:generation", "1"),
        ("team", "payments"),
    ];
    let mut create = kms
        .create_key()
        .description("Managed by c3: payments (confidential)")
        .policy(policy)
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt);
    for (k, v) in tags {
        create = create.tags(Tag::builder().tag_key(k).tag_value(v).build().expect("tag"));
    }
    let key = create.send().await.expect("CreateKey");
    let meta = key.key_metadata().expect("metadata");
    let (key_id, arn) = (
        meta.key_id().to_string(),
        meta.arn().expect("arn").to_string(),
    );
    kms.enable_key_rotation()
        .key_id(&key_id)
        .rotation_period_in_days(180)
        .send()
        .await
        .expect("EnableKeyRotation");
    kms.create_alias()
        .alias_name("alias/payments")
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");
    let iam = iam(account).await;
    let docs = [
        (
            "allow-encrypt-payments",
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:Encrypt","kms:DescribeKey","kms:ReEncryptTo","kms:GenerateDataKey*"],"Resource":"{arn}"}}]}}"#
            ),
        ),
        (
            "allow-decrypt-payments",
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:DescribeKey"],"Resource":["{arn}"]}},{{"Effect":"Allow","Action":["kms:Decrypt","kms:ReEncryptFrom"],"Resource":["{arn}"]}}]}}"#
            ),
        ),
        (
            "allow-crypto-payments",
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:Decrypt","kms:DescribeKey","kms:Encrypt","kms:GenerateDataKey*","kms:ReEncrypt*"],"Resource":["{arn}"]}},{{"Effect":"Allow","Action":"kms:CreateGrant","Resource":"{arn}","Condition":{{"Bool":{{"kms:GrantIsForAWSResource":"true"}}}}}}]}}"#
            ),
        ),
    ];
    for (name, doc) in docs {
        iam.create_policy()
            .policy_name(name)
            .path("/")
            .policy_document(doc)
            .tags(iam_tag("c3:managed", "true"))
            .tags(iam_tag("c3:name", "payments"))
            .send()
            .await
            .expect("CreatePolicy");
    }
}

fn iam_tag(key: &str, value: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("tag")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_made_by_hand_as_designed_plans_to_no_change() {
    let account = fresh_account();
    seed_by_hand(&account, R1).await;
    let config = Config::new(&one_key_config(&account, R1));
    let run = tokio::task::spawn_blocking(move || {
        let r = c3(&config.path, &["plan", "--detailed-exitcode"]);
        drop(config);
        r
    })
    .await
    .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No differences"), "{run:?}");
}

/// A fresh account, converged by `c3 apply`, then drifted by `drift`.
async fn drifted<F, Fut>(drift: F) -> PlanDocument
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    apply_in_background(&config).await;
    drift(account.clone()).await;
    let path = config.path.clone();
    let (run, doc, after) = tokio::task::spawn_blocking(move || {
        let (run, doc) = plan_json(&path);
        // Then apply fixes exactly the executable part; the reported part is
        // still reported, unchanged.
        let applied = c3(&path, &["apply", "--auto-approve"]);
        let (_, after) = plan_json(&path);
        assert_eq!(applied.code, 0, "{applied:?}");
        (run, doc, after)
    })
    .await
    .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    let reported: Vec<_> = doc
        .changes
        .iter()
        .filter(|c| !c.executable())
        .cloned()
        .collect();
    assert_eq!(
        after.changes, reported,
        "after apply, only the reported changes remain"
    );
    doc
}

fn one(doc: &PlanDocument, resource: &str, action: &str, executable: bool) {
    assert_eq!(
        rows(doc),
        vec![(resource.to_string(), action.to_string(), executable)],
        "{:#?}",
        doc.changes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_rotation_off() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let id = key_behind(&kms, "alias/payments").await;
        kms.disable_key_rotation()
            .key_id(id)
            .send()
            .await
            .expect("DisableKeyRotation");
    })
    .await;
    one(&doc, "rotation", "update", true);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_rotation_other_period() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let id = key_behind(&kms, "alias/payments").await;
        kms.enable_key_rotation()
            .key_id(id)
            .rotation_period_in_days(400)
            .send()
            .await
            .expect("EnableKeyRotation");
    })
    .await;
    one(&doc, "rotation", "update", true);
    assert!(
        doc.changes[0].detail.contains("400"),
        "{}",
        doc.changes[0].detail
    );
}

async fn edit_policy(account: &str, edit: impl FnOnce(&mut Vec<serde_json::Value>)) {
    let kms = kms(account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    let mut policy = key_policy(&kms, &id).await;
    let statements = policy["Statement"].as_array_mut().expect("statements");
    edit(statements);
    kms.put_key_policy()
        .key_id(id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_foreign_statement_added() {
    let doc = drifted(|a| async move {
        let account = a.clone();
        edit_policy(&a, move |s| {
            s.push(serde_json::json!({"Sid": "Analytics", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:role/analytics")},
                "Action": "kms:Decrypt", "Resource": "*"}));
        })
        .await;
    })
    .await;
    one(&doc, "key_policy", "report", false);
    assert!(doc.changes[0].detail.contains("Analytics"));
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_c3_statement_altered() {
    let doc = drifted(|a| async move {
        edit_policy(&a, |s| {
            for st in s.iter_mut() {
                if st["Sid"] == "AllowViaServiceSecretsmanager" {
                    st["Action"] = serde_json::json!(["kms:Decrypt", "kms:Sign"]);
                }
            }
        })
        .await;
    })
    .await;
    let r = rows(&doc);
    assert_eq!(
        r,
        vec![
            ("key_policy".to_string(), "report".to_string(), false),
            ("key_policy".to_string(), "update".to_string(), true)
        ],
        "{:#?}",
        doc.changes
    );
    let update = doc.changes.iter().find(|c| c.executable()).expect("update");
    assert!(update.detail.contains("kms:Encrypt"), "{}", update.detail);
    assert!(update.diff.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_alias_repointed_to_a_foreign_key() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let foreign = kms
            .create_key()
            .description("someone else's")
            .send()
            .await
            .expect("CreateKey");
        let id = foreign.key_metadata().expect("meta").key_id().to_string();
        kms.update_alias()
            .alias_name("alias/payments")
            .target_key_id(id)
            .send()
            .await
            .expect("UpdateAlias");
    })
    .await;
    one(&doc, "alias", "conflict", false);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_key_disabled() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let id = key_behind(&kms, "alias/payments").await;
        kms.disable_key()
            .key_id(id)
            .send()
            .await
            .expect("DisableKey");
    })
    .await;
    one(&doc, "key_state", "restore", true);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_key_pending_deletion() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let id = key_behind(&kms, "alias/payments").await;
        kms.schedule_key_deletion()
            .key_id(id)
            .pending_window_in_days(7)
            .send()
            .await
            .expect("ScheduleKeyDeletion");
    })
    .await;
    assert!(
        rows(&doc).contains(&("key_state".to_string(), "restore".to_string(), true)),
        "{:#?}",
        doc.changes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_tag_changed() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let id = key_behind(&kms, "alias/payments").await;
        kms.tag_resource()
            .key_id(id)
            .tags(
                Tag::builder()
                    .tag_key("team")
                    .tag_value("other")
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("TagResource");
    })
    .await;
    one(&doc, "tags", "update", true);
}

async fn set_policy_resources(account: &str, name: &str, resources: Vec<String>) {
    let iam = iam(account).await;
    let arn = format!("arn:aws:iam::{account}:policy/{name}");
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"], "Resource": resources}]});
    iam.create_policy_version()
        .policy_arn(arn)
        .policy_document(doc.to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("CreatePolicyVersion");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_managed_policy_missing_an_arn() {
    let doc = drifted(|a| async move {
        // IAM refuses a statement without resources: name only another key.
        let other = format!("arn:aws:kms:{R1}:{a}:key/00000000-0000-0000-0000-000000000000");
        set_policy_resources(&a, "allow-decrypt-payments", vec![other]).await;
    })
    .await;
    assert_eq!(
        rows(&doc),
        vec![
            ("iam_policy".to_string(), "report".to_string(), false),
            ("iam_policy".to_string(), "update".to_string(), true)
        ],
        "{:#?}",
        doc.changes
    );
    assert!(doc.changes.iter().all(|c| c.region.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_managed_policy_with_an_extra_arn() {
    let doc = drifted(|a| async move {
        let kms = kms(&a, R1).await;
        let id = key_behind(&kms, "alias/payments").await;
        let arn = format!("arn:aws:kms:{R1}:{a}:key/{id}");
        let extra = format!("arn:aws:kms:{R1}:{a}:key/00000000-0000-0000-0000-000000000000");
        set_policy_resources(&a, "allow-decrypt-payments", vec![arn, extra]).await;
    })
    .await;
    one(&doc, "iam_policy", "report", false);
    assert!(doc.changes[0].detail.contains("00000000-0000"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_c3_key_no_longer_in_the_file_is_reported() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    apply_in_background(&config).await;
    let text = one_key_config(&account, R1).replace("name = \"payments\"", "name = \"ledger\"");
    config.rewrite(&text);
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    let reported: Vec<(String, String)> = doc
        .changes
        .iter()
        .filter(|c| c.key == "payments")
        .map(|c| (c.resource.to_string(), c.action().to_string()))
        .collect();
    assert!(
        reported.contains(&("key".into(), "report".into())),
        "{reported:?}"
    );
    assert!(
        reported.contains(&("alias".into(), "report".into())),
        "{reported:?}"
    );
    assert_eq!(
        reported.iter().filter(|(r, _)| r == "iam_policy").count(),
        3,
        "{reported:?}"
    );
    assert!(reported.iter().all(|(_, a)| a == "report"));
}

#[test]
fn two_accounts_through_assume_role_with_two_regions_each() {
    let (a, b) = (fresh_account(), fresh_account());
    let text = format!(
        "version = 1\n\n{}{}[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
        account_block("one", &a, &[R1, R2]),
        account_block("two", &b, &[R1, R2])
    );
    let config = Config::new(&text);
    apply_ok(&config.path);
    let (run, doc) = plan_json(&config.path);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(doc.changes.is_empty(), "{:#?}", doc.changes);
    // Each account holds its own two keys; AssumeRole was called once per account.
    for id in [&a, &b] {
        let ops = operations(id);
        assert_eq!(ops.get("CreateKey"), Some(&2), "{ops:?}");
    }
}

#[test]
fn an_account_whose_identity_does_not_match_fails_alone() {
    let good = fresh_account();
    let wrong = fresh_account();
    // No role_arn: the ambient credentials belong to moto's default account, not `wrong`.
    let text = format!(
        "version = 1\n\n{}[accounts.mismatch]\nid = \"{wrong}\"\nregions = [\"{R1}\"]\n\n[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
        account_block("good", &good, &[R1])
    );
    let config = Config::new(&text);
    let (run, doc) = plan_json(&config.path);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!doc.errors.is_empty());
    assert!(
        doc.errors.iter().all(|e| e.account == wrong),
        "{:?}",
        doc.errors
    );
    assert!(
        doc.errors[0].message.contains(&wrong) && doc.errors[0].message.contains("123456789012")
    );
    assert!(doc.changes.iter().any(|c| c.account == good));
    assert!(!doc.changes.iter().any(|c| c.account == wrong));
    // Nothing was read in the wrong account.
    assert!(operations(&wrong).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_100_aliases_in_a_region_are_paged() {
    let account = fresh_account();
    let kms = kms(&account, R1).await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        let k = kms.create_key().send().await.expect("CreateKey");
        keys.push(k.key_metadata().expect("meta").key_id().to_string());
    }
    for i in 0..120 {
        kms.create_alias()
            .alias_name(format!("alias/other-{i:03}"))
            .target_key_id(&keys[i % keys.len()])
            .send()
            .await
            .expect("CreateAlias");
    }
    // c3's alias lands on the third page (moto lists in insertion order, 50 a page).
    let config = Config::new(&one_key_config(&account, R1));
    apply_in_background(&config).await;
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(doc.changes.is_empty(), "{:#?}", doc.changes);
    let ops = operations(&account);
    assert!(
        ops.get("ListAliases").copied().unwrap_or(0) >= 3 * 2,
        "{ops:?}"
    );
}

#[test]
fn shards_merged_equal_the_whole_plan() {
    let ids: Vec<String> = (0..3).map(|_| fresh_account()).collect();
    let mut text = String::from("version = 1\n\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&account_block(&format!("a{i}"), id, &[R1]));
    }
    text.push_str(
        "[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
    );
    let config = Config::new(&text);
    let (run, whole) = plan_json(&config.path);
    assert_eq!(run.code, 0, "{run:?}");
    let mut files = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = config.sibling(&format!("shard-{}.json", &shard[..1]));
        let out_arg = out.to_string_lossy().to_string();
        let run = c3(&config.path, &["plan", "--shard", shard, "--out", &out_arg]);
        assert_eq!(run.code, 0, "{run:?}");
        files.push(out_arg);
    }
    let merged = crate::support::run(crate::support::c3_command().arg("merge").args(&files));
    assert_eq!(merged.code, 0, "{merged:?}");
    let merged: PlanDocument = serde_json::from_str(&merged.stdout).expect("merged plan");
    assert_eq!(merged, whole);
    // Each refusal: exit 1, one line on stderr, nothing on stdout.
    let refused = |files: &[&String], says: &str| {
        let r = crate::support::run(crate::support::c3_command().arg("merge").args(files));
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.is_empty(), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        assert!(r.stderr.starts_with(&format!("error: {says}")), "{r:?}");
    };
    // The same shard twice.
    refused(
        &[&files[0], &files[0], &files[1]],
        &format!(
            "{} and {} are both shard 1/2: give each shard's plan once",
            files[0], files[0]
        ),
    );
    // A shard missing.
    refused(
        &[&files[0]],
        "shard 2/2 of --shard I/2 is missing: merge the plans of all 2 shards",
    );
    // Shards of another keys.toml.
    let other = Config::new(&format!("{text}\n# another file\n"));
    let other_out = other.sibling("shard-2.json").to_string_lossy().to_string();
    let run = c3(
        &other.path,
        &["plan", "--shard", "2/2", "--out", &other_out],
    );
    assert_eq!(run.code, 0, "{run:?}");
    refused(
        &[&files[0], &other_out],
        &format!(
            "{} and {other_out} were made from different keys.toml files (",
            files[0]
        ),
    );
}
