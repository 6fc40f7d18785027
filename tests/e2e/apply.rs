//! `c3 apply` end to end: plan → apply → plan is empty; drift is fixed
//! exactly where it may be; nothing is ever deleted.

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";

/// Asserts that no forbidden operation was called in `account` since `before`
/// (the operations the test itself made to create drift are in `before`).
fn assert_nothing_forbidden(account: &str, before: &BTreeMap<String, usize>) {
    let ops = operations(account);
    for op in crate::support::forbidden_operations() {
        let now = ops.get(op).copied().unwrap_or(0);
        let then = before.get(op).copied().unwrap_or(0);
        assert_eq!(now, then, "{op} was called by c3 in {account}: {ops:?}");
    }
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Every 12-digit account id in a file, replaced by a fresh one.
fn with_fresh_accounts(text: &str) -> (String, Vec<String>) {
    let mut out = text.to_string();
    let mut ids = Vec::new();
    let re_ids: Vec<String> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| s.len() == 12)
        .map(str::to_string)
        .collect();
    for old in re_ids {
        if ids.iter().any(|(o, _): &(String, String)| *o == old) {
            continue;
        }
        let new = fresh_account();
        out = out.replace(&old, &new);
        ids.push((old, new));
    }
    (out, ids.into_iter().map(|(_, n)| n).collect())
}

#[test]
fn every_example_converges_in_one_apply() {
    for example in examples() {
        let text = std::fs::read_to_string(&example).expect("example");
        let (text, ids) = with_fresh_accounts(&text);
        // Accounts without a role_arn use the ambient credentials, whose account
        // is moto's default: give them a role so each lands in its fresh account.
        let text = if text.contains("role_arn") {
            text
        } else {
            let mut t = text.clone();
            for id in &ids {
                t = t.replace(
                    &format!("id      = \"{id}\""),
                    &format!("id      = \"{id}\"\nrole_arn = \"arn:aws:iam::{id}:role/c3\""),
                );
            }
            t
        };
        let config = Config::new(&text);
        let run = c3(&config.path, &["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "{}: {run:?}", example.display());
        assert!(run.stdout.contains("Converged"), "{run:?}");
        let again = c3(&config.path, &["plan", "--detailed-exitcode"]);
        assert_eq!(again.code, 0, "{}: {again:?}", example.display());
        for id in &ids {
            assert_nothing_forbidden(id, &BTreeMap::new());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_fixed_where_it_may_be_and_reported_where_not() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    apply_in_background(&config).await;
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    // rotation off, a foreign statement, a c3 statement lacking an action, deletion scheduled
    kms.disable_key_rotation()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKeyRotation");
    let mut policy = key_policy(&kms, &id).await;
    let statements = policy["Statement"].as_array_mut().expect("statements");
    for s in statements.iter_mut() {
        if s["Sid"] == "AllowServiceLogs" {
            s["Action"] = serde_json::json!(["kms:Decrypt"]);
        }
    }
    statements.push(serde_json::json!({"Sid": "Analytics", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:role/analytics")},
        "Action": "kms:Decrypt", "Resource": "*"}));
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");

    let drift_ops = operations(&account);
    let path = config.path.clone();
    let (before, after_doc) = tokio::task::spawn_blocking(move || {
        let (_, before) = plan_json(&path);
        let run = c3(&path, &["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "{run:?}");
        let (_, after) = plan_json(&path);
        (before, after)
    })
    .await
    .expect("join");
    assert!(
        rows(&before).contains(&("key_state".into(), "restore".into(), true)),
        "{:#?}",
        before.changes
    );
    assert!(rows(&before).contains(&("key_policy".into(), "update".into(), true)));
    // Only the reported part remains, unchanged.
    assert_eq!(
        rows(&after_doc),
        vec![("key_policy".to_string(), "report".to_string(), false)],
        "{:#?}",
        after_doc.changes
    );
    let meta = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .expect("DescribeKey");
    assert_eq!(
        meta.key_metadata()
            .and_then(|m| m.key_state())
            .map(|s| s.as_str().to_string()),
        Some("Enabled".to_string())
    );
    let policy = key_policy(&kms, &id).await;
    let text = policy.to_string();
    assert!(text.contains("Analytics"), "the foreign statement was kept");
    assert_nothing_forbidden(&account, &drift_ops);
}

#[tokio::test(flavor = "multi_thread")]
async fn generation_bump_keeps_the_old_key_usable() {
    use aws_sdk_kms::primitives::Blob;
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    apply_in_background(&config).await;
    let kms = kms(&account, R1).await;
    let old = key_behind(&kms, "alias/payments").await;
    let secret = kms
        .encrypt()
        .key_id("alias/payments")
        .plaintext(Blob::new("card 4111"))
        .send()
        .await
        .expect("Encrypt");
    let blob = secret.ciphertext_blob().expect("ciphertext").clone();

    config.rewrite(&one_key_config(&account, R1).replace(
        "classification = \"confidential\"\n",
        "classification = \"confidential\"\ngeneration = 2\n",
    ));
    let path = config.path.clone();
    let (bump, again) = tokio::task::spawn_blocking(move || {
        let (_, bump) = plan_json(&path);
        apply_ok(&path);
        (bump, c3(&path, &["plan", "--detailed-exitcode"]))
    })
    .await
    .expect("join");
    assert!(
        rows(&bump).contains(&("alias".into(), "repoint".into(), true)),
        "{:#?}",
        bump.changes
    );
    assert_eq!(again.code, 0, "{again:?}");

    let new = key_behind(&kms, "alias/payments").await;
    assert_ne!(old, new);
    for id in [&old, &new] {
        let meta = kms
            .describe_key()
            .key_id(id)
            .send()
            .await
            .expect("DescribeKey");
        assert_eq!(
            meta.key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str().to_string()),
            Some("Enabled".to_string())
        );
    }
    // The three managed policies name both generations.
    let iam = iam(&account).await;
    for kind in ["encrypt", "decrypt", "crypto"] {
        let arn = format!("arn:aws:iam::{account}:policy/allow-{kind}-payments");
        let (_, text) = default_policy_document(&iam, &arn).await;
        assert!(text.contains(&old) && text.contains(&new), "{kind}: {text}");
    }
    // Data encrypted under the old generation still decrypts.
    let plain = kms
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(
        plain.plaintext().map(|b| b.as_ref().to_vec()),
        Some(b"card 4111".to_vec())
    );
    assert_nothing_forbidden(&account, &BTreeMap::new());
}

#[test]
fn apply_without_a_terminal_or_flag_refuses_and_changes_nothing() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let run = c3(&config.path, &["apply"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--auto-approve"), "{run:?}");
    let ops = operations(&account);
    assert!(!ops.contains_key("CreateKey"), "{ops:?}");
}

#[test]
fn a_saved_plan_is_applied_only_while_it_still_holds() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let saved = config.sibling("plan.json");
    let saved_arg = saved.to_string_lossy().to_string();
    let run = c3(&config.path, &["plan", "--out", &saved_arg]);
    assert_eq!(run.code, 0, "{run:?}");
    // The accounts change underneath (the plan itself is applied): the saved plan is stale.
    apply_ok(&config.path);
    let stale = c3(&config.path, &["apply", "--auto-approve", &saved_arg]);
    assert_eq!(stale.code, 1, "{stale:?}");
    // One line on stderr that says which rows differ; nothing on stdout.
    assert!(stale.stdout.is_empty(), "{stale:?}");
    assert_eq!(stale.stderr.lines().count(), 1, "{stale:?}");
    assert!(
        stale.stderr.starts_with(&format!("error: the saved plan {saved_arg} no longer holds: the accounts changed since it was made (no longer true: {account} eu-west-1 payments")),
        "{stale:?}"
    );
    // A plan file edited by hand (what apply would do, not what the rows say)
    // is refused as such, and nothing is written.
    let other = fresh_account();
    let other_config = Config::new(&one_key_config(&other, R1));
    let run = c3(&other_config.path, &["plan", "--out", &saved_arg]);
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&saved).expect("saved plan");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    doc["changes"][0]["operation"]["rotation_days"] = serde_json::json!(2560);
    std::fs::write(&saved, doc.to_string()).expect("write");
    let edited = c3(&other_config.path, &["apply", "--auto-approve", &saved_arg]);
    assert_eq!(edited.code, 1, "{edited:?}");
    assert_eq!(edited.stderr.lines().count(), 1, "{edited:?}");
    assert!(
        edited.stderr.contains("it was modified after c3 wrote it"),
        "{edited:?}"
    );
    assert!(!operations(&other).keys().any(|op| op.starts_with("Create")));
    // A fresh saved plan (empty) applies.
    let run = c3(&config.path, &["plan", "--out", &saved_arg]);
    assert_eq!(run.code, 0, "{run:?}");
    let ok = c3(&config.path, &["apply", "--auto-approve", &saved_arg]);
    assert_eq!(ok.code, 0, "{ok:?}");
}

/// Two accounts, one key each, sorted by id so `--shard 1/2` is the first.
fn two_accounts() -> (Config, String, String, String) {
    let mut ids = [fresh_account(), fresh_account()];
    ids.sort();
    let mut text = String::from("version = 1\n\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&account_block(&format!("a{i}"), id, &[R1]));
    }
    text.push_str(
        "[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
    );
    let config = Config::new(&text);
    let [first, second] = ids;
    (config, text, first, second)
}

/// `apply PLAN.json` of a shard's plan applies within that shard: the fresh
/// plan is made of the plan's own selection, and the other shard's account
/// is not touched.
#[test]
fn a_shard_plan_applies_within_its_selection() {
    let (config, _, first, second) = two_accounts();
    let saved = config.sibling("shard-1.json");
    let saved_arg = saved.to_string_lossy().to_string();
    let run = c3(
        &config.path,
        &["plan", "--shard", "1/2", "--out", &saved_arg],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("plan")).expect("JSON");
    assert_eq!(
        doc["selection"]["shard"],
        serde_json::json!({"index": 1, "count": 2})
    );
    assert!(doc["changes"].as_array().is_some_and(|c| !c.is_empty()));
    // Another selection on the command line than the plan's: refused.
    let other = c3(
        &config.path,
        &["apply", "--auto-approve", "--shard", "2/2", &saved_arg],
    );
    assert_eq!(other.code, 1, "{other:?}");
    assert!(other.stdout.is_empty(), "{other:?}");
    assert_eq!(other.stderr.lines().count(), 1, "{other:?}");
    assert!(
        other.stderr.starts_with(&format!(
            "error: the saved plan {saved_arg} covers --shard 1/2 but this command selects --shard 2/2"
        )),
        "{other:?}"
    );
    let ok = c3(&config.path, &["apply", "--auto-approve", &saved_arg]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(operations(&first).contains_key("CreateKey"));
    assert!(!operations(&second)
        .keys()
        .any(|op| op.starts_with("Create")));
}

/// A plan made from another keys.toml (its bytes differ) is refused in one
/// line that names both files and their hashes, before any AWS call.
#[test]
fn a_plan_of_another_keys_toml_is_refused() {
    let (config, text, first, _) = two_accounts();
    let saved = config.sibling("plan.json");
    let saved_arg = saved.to_string_lossy().to_string();
    let run = c3(&config.path, &["plan", "--out", &saved_arg]);
    assert_eq!(run.code, 0, "{run:?}");
    let before = operations(&first).values().sum::<usize>();
    config.rewrite(&format!("{text}\n# reviewed\n"));
    let r = c3(&config.path, &["apply", "--auto-approve", &saved_arg]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    let path = config.path.display().to_string();
    assert!(
        r.stderr.starts_with(&format!(
            "error: the saved plan {saved_arg} was made from {path} (sha256 "
        )),
        "{r:?}"
    );
    assert!(
        r.stderr.contains(&format!("but {path} has sha256 ")),
        "{r:?}"
    );
    assert!(r.stderr.contains("c3 plan --out"), "{r:?}");
    assert_eq!(
        operations(&first).values().sum::<usize>(),
        before,
        "an AWS call"
    );
}
