//! A lived-in estate (issue: trust on a lived-in estate): accounts that
//! already hold keys, grants, tags and policies made by people and other
//! tools. c3 writes only to what is provably its own, sees what matters and
//! ranks it — against the emulator, through the real binary.

use aws_sdk_kms::types::{GrantOperation, Tag};

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";
const R2: &str = "eu-central-1";

/// One account, one region, the declared keys `names` (class `internal`).
fn config_text(account: &str, regions: &[&str], names: &[&str], extra: &str) -> String {
    let mut text = format!(
        "version = 1\n{extra}\n{}[classifications.internal]\nrotation_days = 365\n\n",
        account_block("prod", account, regions)
    );
    for name in names {
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nclassification = \"internal\"\n\n"
        ));
    }
    text
}

/// Creates a policy by hand, as a colleague would in the console.
async fn hand_made_policy(account: &str, path: &str, name: &str, document: &str) -> String {
    iam(account)
        .await
        .create_policy()
        .policy_name(name)
        .path(path)
        .policy_document(document)
        .send()
        .await
        .expect("CreatePolicy")
        .policy()
        .and_then(|p| p.arn())
        .expect("arn")
        .to_string()
}

const S3_READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#;

/// What a policy is now: (default version, number of versions, tag count, default document).
async fn policy_state(account: &str, arn: &str) -> (String, usize, usize, String) {
    let iam = iam(account).await;
    let (default, document) = default_policy_document(&iam, arn).await;
    let versions = iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .expect("ListPolicyVersions")
        .versions()
        .len();
    let tags = iam
        .list_policy_tags()
        .policy_arn(arn)
        .send()
        .await
        .expect("ListPolicyTags")
        .tags()
        .len();
    (default, versions, tags, document)
}

fn change(doc: &PlanDocument, pred: impl Fn(&c3::plan::Change) -> bool) -> Vec<&c3::plan::Change> {
    doc.changes.iter().filter(|c| pred(c)).collect()
}

/// IAM writes in `account`'s request log after its first `skip` calls.
fn iam_writes(account: &str, skip: usize) -> Vec<String> {
    emulator()
        .requests(account)
        .into_iter()
        .skip(skip)
        .filter(|r| r.service == "iam")
        .map(|r| r.operation)
        .filter(|op| !(op.starts_with("List") || op.starts_with("Get")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_policy_where_c3s_would_be_is_a_conflict_and_never_written() {
    let account = fresh_account();
    // A colleague's policy of the name c3 would give `other`'s decrypt policy,
    // and another of its encrypt policy's name under another path.
    let decrypt = hand_made_policy(&account, "/", "allow-decrypt-other", S3_READ).await;
    let encrypt = hand_made_policy(&account, "/team/", "allow-encrypt-other", S3_READ).await;
    let before = (
        policy_state(&account, &decrypt).await,
        policy_state(&account, &encrypt).await,
    );
    let config = Config::new(&config_text(&account, &[R1], &["other"], ""));
    let seeded = emulator().requests(&account).len();
    let path = config.path.clone();
    let (plan, apply, after) = tokio::task::spawn_blocking(move || {
        let (_, plan) = plan_json(&path);
        let apply = c3(&path, &["apply", "--auto-approve"]);
        let (_, after) = plan_json(&path);
        (plan, apply, after)
    })
    .await
    .expect("join");

    let conflicts = change(&plan, |c| {
        c.resource.as_str() == "iam_policy" && c.action().as_str() == "conflict"
    });
    assert_eq!(conflicts.len(), 2, "{:#?}", plan.changes);
    for c in &conflicts {
        assert_eq!(c.severity, c3::plan::Severity::High);
        assert!(!c.executable());
    }
    let foreign = conflicts
        .iter()
        .find(|c| c.detail.starts_with("allow-decrypt-other"))
        .expect("the foreign decrypt policy");
    for part in [
        "is not c3's: it has no tags",
        "s3:GetObject",
        "rename the key",
        "set adopt = true on key other",
        "tags it c3:managed=true and c3:name=other",
    ] {
        assert!(
            foreign.detail.contains(part),
            "{part:?} not in {}",
            foreign.detail
        );
    }
    assert!(conflicts
        .iter()
        .any(|c| c.detail.contains("at path /team/")));

    // Apply makes what is c3's and nothing else: exit 0, nothing executable left.
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        !after.changes.iter().any(c3::plan::Change::executable),
        "{:#?}",
        after.changes
    );
    // The foreign policies are exactly as they were.
    assert_eq!(policy_state(&account, &decrypt).await, before.0);
    assert_eq!(policy_state(&account, &encrypt).await, before.1);
    // The only IAM write: CreatePolicy of allow-crypto-other (the two others are taken).
    assert_eq!(
        iam_writes(&account, seeded),
        vec!["CreatePolicy".to_string()]
    );
    assert_eq!(
        c3_policy_writes(&account, &decrypt),
        Vec::<String>::new(),
        "a write to the foreign policy"
    );
}

/// Every IAM call but reads whose PolicyArn is `arn`, from the request log.
fn c3_policy_writes(account: &str, arn: &str) -> Vec<String> {
    emulator()
        .requests(account)
        .into_iter()
        .filter(|r| r.service == "iam" && r.param("PolicyArn") == Some(arn))
        .map(|r| r.operation)
        .filter(|op| !(op.starts_with("List") || op.starts_with("Get")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_of_a_key_that_cannot_exist_yet_wait_and_nothing_doomed_is_executed() {
    let account = fresh_account();
    // `blocked`: its alias already points at somebody else's key.
    let kms = kms(&account, R1).await;
    let foreign = kms
        .create_key()
        .description("the data team's key")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .expect("key id");
    kms.create_alias()
        .alias_name("alias/blocked")
        .target_key_id(&foreign)
        .send()
        .await
        .expect("CreateAlias");
    let mut text = config_text(&account, &[R1], &["blocked"], "");
    // `dormant`: declared disabled, and it does not exist.
    text.push_str("[[keys]]\nname = \"dormant\"\nclassification = \"internal\"\nenabled = false\n");
    let config = Config::new(&text);
    let seeded = emulator().requests(&account).len();
    let path = config.path.clone();
    let (plan, apply) = tokio::task::spawn_blocking(move || {
        let (_, plan) = plan_json(&path);
        (plan, c3(&path, &["apply", "--auto-approve"]))
    })
    .await
    .expect("join");
    assert!(
        !plan.changes.iter().any(c3::plan::Change::executable),
        "{:#?}",
        plan.changes
    );
    for name in ["blocked", "dormant"] {
        let waits = change(&plan, |c| {
            c.key == name && c.resource.as_str() == "iam_policy"
        });
        assert_eq!(waits.len(), 1, "{name}: {:#?}", plan.changes);
        assert_eq!(waits[0].action().as_str(), "report");
        assert_eq!(waits[0].severity, c3::plan::Severity::Info);
        assert!(waits[0].detail.contains("wait"), "{}", waits[0].detail);
    }
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("Nothing to apply."), "{apply:?}");
    assert!(
        iam_writes(&account, seeded).is_empty(),
        "{:?}",
        iam_writes(&account, seeded)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_other_than_aws_services_are_reported_with_grantee_and_operations() {
    let account = fresh_account();
    let config = Config::new(&config_text(&account, &[R1], &["payments"], ""));
    apply_in_background(&config).await;
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    for grantee in [
        "arn:aws:iam::999999999999:root",
        "rds.eu-west-1.amazonaws.com",
    ] {
        kms.create_grant()
            .key_id(&id)
            .grantee_principal(grantee)
            .operations(GrantOperation::Decrypt)
            .send()
            .await
            .expect("CreateGrant");
    }
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    let grants = change(&doc, |c| c.resource.as_str() == "grant");
    assert_eq!(grants.len(), 1, "{:#?}", doc.changes);
    let g = grants[0];
    assert_eq!(g.severity, c3::plan::Severity::High);
    assert!(!g.executable());
    assert!(
        g.detail
            .contains("to arn:aws:iam::999999999999:root for Decrypt"),
        "{}",
        g.detail
    );
    assert!(g.detail.contains(&id), "{}", g.detail);

    // Switched off: no grant is claimed either way, and the plan says so.
    config.rewrite(&config_text(
        &account,
        &[R1],
        &["payments"],
        "\n[settings]\nread_grants = false\n",
    ));
    let path = config.path.clone();
    let before = operations(&account).get("ListGrants").copied().unwrap_or(0);
    let (run, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(doc.changes.is_empty(), "{:#?}", doc.changes);
    assert!(
        doc.notes.iter().any(|n| n.contains("read_grants = false")),
        "{:?}",
        doc.notes
    );
    assert_eq!(
        operations(&account).get("ListGrants").copied().unwrap_or(0),
        before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn undeclared_tags_are_reported_unless_ignored_and_a_lost_c3_managed_tag_is_a_conflict() {
    let account = fresh_account();
    let config = Config::new(&config_text(&account, &[R1], &["payments"], ""));
    apply_in_background(&config).await;
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    kms.tag_resource()
        .key_id(&id)
        .tags(
            Tag::builder()
                .tag_key("owner")
                .tag_value("alice")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagResource");
    let path = config.path.clone();
    let (_, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(rows(&doc), vec![("tags".into(), "report".into(), false)]);
    assert_eq!(doc.changes[0].severity, c3::plan::Severity::Low);
    assert!(doc.changes[0].detail.starts_with("tag owner=alice on key"));

    config.rewrite(&config_text(
        &account,
        &[R1],
        &["payments"],
        "\n[settings]\nignore_tags = [\"own*\"]\n",
    ));
    let path = config.path.clone();
    let (_, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert!(doc.changes.is_empty(), "{:#?}", doc.changes);

    // The key loses c3:managed: c3 no longer writes to it, and says exactly why.
    kms.untag_resource()
        .key_id(&id)
        .tag_keys("c3:managed")
        .send()
        .await
        .expect("UntagResource");
    let path = config.path.clone();
    let (doc, apply) = tokio::task::spawn_blocking(move || {
        let (_, doc) = plan_json(&path);
        (doc, c3(&path, &["apply", "--auto-approve"]))
    })
    .await
    .expect("join");
    let conflicts = change(&doc, |c| c.action().as_str() == "conflict");
    assert_eq!(conflicts.len(), 1, "{:#?}", doc.changes);
    assert!(
        conflicts[0]
            .detail
            .contains("carries c3:name=payments but not c3:managed=true"),
        "{}",
        conflicts[0].detail
    );
    assert!(
        !doc.changes.iter().any(c3::plan::Change::executable),
        "{:#?}",
        doc.changes
    );
    for c in change(&doc, |c| c.resource.as_str() == "iam_policy") {
        assert!(c.detail.contains("lost c3:managed=true"), "{}", c.detail);
        assert!(!c.detail.contains("does not manage"), "{}", c.detail);
    }
    assert_eq!(apply.code, 0, "{apply:?}");
    // Nothing was written to the key after it lost its tag.
    assert!(
        key_writes(&account, &id)
            .iter()
            .all(|op| op == "UntagResource"),
        "{:?}",
        key_writes(&account, &id)
    );
}

/// The KMS writes on key `id` (by its KeyId parameter) in the request log.
fn key_writes(account: &str, id: &str) -> Vec<String> {
    let mut seen_untag = false;
    emulator()
        .requests(account)
        .into_iter()
        .filter(|r| r.service == "kms" && r.param("KeyId") == Some(id))
        .map(|r| r.operation)
        .filter(|op| {
            !(op.starts_with("List") || op.starts_with("Get") || op.starts_with("Describe"))
        })
        // Only what came after the test's own UntagResource.
        .filter(|op| {
            let keep = seen_untag || op == "UntagResource";
            seen_untag |= op == "UntagResource";
            keep
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_statement_is_critical_named_and_never_kept_public_by_c3() {
    let account = fresh_account();
    let config = Config::new(&config_text(&account, &[R1], &["payments"], ""));
    apply_in_background(&config).await;
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    let mut policy = key_policy(&kms, &id).await;
    let statements = policy["Statement"].as_array_mut().expect("statements");
    // c3's root statement lost (the root keeps kms:* through a statement
    // that grants a little more, so it does not stand for c3's), a public
    // statement and a deleted principal added.
    statements.retain(|s| s["Sid"] != "EnableRootAccess");
    statements.push(serde_json::json!({"Sid": "EnableRootAccess2", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": ["kms:*", "iam:PassRole"], "Resource": "*"}));
    statements.push(
        serde_json::json!({"Sid": "Open", "Effect": "Allow", "Principal": "*",
        "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}),
    );
    statements.push(serde_json::json!({"Sid": "Gone", "Effect": "Allow",
        "Principal": {"AWS": "AROAEXAMPLEEXAMPLE123"}, "Action": "kms:Decrypt", "Resource": "*"}));
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    let path = config.path.clone();
    let (doc, human, apply) = tokio::task::spawn_blocking(move || {
        let (_, doc) = plan_json(&path);
        let human = c3(&path, &["plan", "--detailed-exitcode", "--color", "never"]);
        let apply = c3(&path, &["apply", "--auto-approve"]);
        (doc, human, apply)
    })
    .await
    .expect("join");
    let critical = change(&doc, |c| c.severity == c3::plan::Severity::Critical);
    assert_eq!(critical.len(), 1, "{:#?}", doc.changes);
    assert!(
        critical[0].detail.contains("\"Open\""),
        "{}",
        critical[0].detail
    );
    assert!(
        critical[0]
            .detail
            .contains("Allow AWS * → kms:Decrypt, kms:DescribeKey"),
        "{}",
        critical[0].detail
    );
    let gone = change(&doc, |c| c.detail.contains("\"Gone\""));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].severity, c3::plan::Severity::Medium);
    assert!(gone[0].detail.contains("no longer exists"));
    // c3's repair (EnableRootAccess back) would keep "Open": it is held back.
    assert!(
        !doc.changes.iter().any(c3::plan::Change::executable),
        "{:#?}",
        doc.changes
    );
    assert!(doc
        .changes
        .iter()
        .any(|c| c.detail.contains("held back while statement \"Open\"")));
    // Every finding carries a severity, in the table and the summary line too.
    assert_eq!(human.code, 2, "{human:?}");
    assert!(human.stdout.contains("| severity"), "{human:?}");
    assert!(human.stdout.contains("1 critical"), "{human:?}");
    assert_eq!(doc.summary.severity.critical, 1);
    // apply writes nothing to the key policy.
    assert_eq!(apply.code, 0, "{apply:?}");
    let after = key_policy(&kms, &id).await;
    assert_eq!(after, policy);
}

#[test]
fn a_region_selection_says_that_managed_policies_were_not_compared() {
    let account = fresh_account();
    let config = Config::new(&config_text(&account, &[R1, R2], &["payments"], ""));
    let human = c3(&config.path, &["plan", "--regions", R1, "--color", "never"]);
    assert_eq!(human.code, 0, "{human:?}");
    assert!(
        human
            .stdout
            .contains("Note: Managed policies of 1 key name(s) were not compared"),
        "{human:?}"
    );
    assert!(!human.stdout.contains("iam_policy"), "{human:?}");
    let json = c3(&config.path, &["plan", "--regions", R1, "--output", "json"]);
    let doc: PlanDocument = serde_json::from_str(&json.stdout).expect("plan");
    assert_eq!(doc.notes.len(), 1, "{:?}", doc.notes);
    assert!(doc.notes[0].contains("prod: payments"), "{:?}", doc.notes);
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_that_cannot_be_read_are_an_error_of_their_target_never_an_empty_list() {
    let (denied, fine) = (fresh_account(), fresh_account());
    let text = format!(
        "version = 1\n\n{}{}[classifications.internal]\n\n[[keys]]\nname = \"payments\"\nclassification = \"internal\"\n",
        account_block("denied", &denied, &[R1]),
        account_block("fine", &fine, &[R1])
    );
    let config = Config::new(&text);
    apply_in_background(&config).await;
    emulator().deny(&denied, "ListGrants");
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(doc.errors.len(), 1, "{:?}", doc.errors);
    let e = &doc.errors[0];
    assert_eq!(e.account, denied);
    assert_eq!(e.region.as_deref(), Some(R1));
    assert!(e.message.contains("ListGrants"), "{}", e.message);
    assert!(e.message.contains("AccessDenied"), "{}", e.message);
    // Nothing is claimed for the target that could not be read; the other is planned.
    assert!(
        doc.changes.iter().all(|c| c.account == fine),
        "{:#?}",
        doc.changes
    );
}
