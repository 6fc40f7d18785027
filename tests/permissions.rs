//! examples/iam/c3-plan.json and c3-apply.json against the operations c3
//! actually calls, both ways: every call is allowed, every allowed action is
//! used. The operations come from the emulator's request log, counted around
//! each c3 run only (what the test does by hand to make drift is left out).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_kms::types::Tag;

use crate::e2e::{account_block, c3, iam, key_behind, key_policy, kms, Config};
use crate::support::{emulator, fresh_account};

const R1: &str = "eu-west-1";

/// Allowed actions of a policy file (its `Allow` statements).
fn allowed(file: &str) -> BTreeSet<String> {
    let path = format!("{}/examples/iam/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("policy file")).expect("JSON");
    let mut out = BTreeSet::new();
    for s in doc["Statement"].as_array().expect("statements") {
        if s["Effect"] != "Allow" {
            continue;
        }
        match &s["Action"] {
            serde_json::Value::String(a) => {
                out.insert(a.clone());
            }
            serde_json::Value::Array(items) => {
                out.extend(items.iter().filter_map(|a| a.as_str().map(str::to_string)))
            }
            _ => panic!("{file}: Action is neither a string nor a list"),
        }
    }
    out
}

/// Every `service:Operation` the emulator logged in `account`, counted.
fn calls(account: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in emulator().requests(account) {
        *out.entry(format!("{}:{}", r.service, r.operation))
            .or_insert(0) += 1;
    }
    out
}

/// The actions called in `account` since `before`.
fn actions_since(account: &str, before: &BTreeMap<String, usize>) -> BTreeSet<String> {
    calls(account)
        .into_iter()
        .filter(|(action, n)| *n > before.get(action).copied().unwrap_or(0))
        .map(|(action, _)| action)
        .collect()
}

/// Runs c3 and returns the actions its calls needed in `account`.
fn traced(account: &str, config: &Config, args: &[&str]) -> BTreeSet<String> {
    let before = calls(account);
    let run = c3(&config.path, args);
    assert!(run.code == 0 || run.code == 2, "{args:?}: {run:?}");
    actions_since(account, &before)
}

fn config_text(account: &str, keys: &[(&str, u32, &str)]) -> String {
    let mut text = format!(
        "version = 1\n\n{}[classifications.confidential]\nrotation_days = 180\nservice_principals = [\"logs\"]\n\n",
        account_block("prod", account, &[R1])
    );
    for (name, generation, description) in keys {
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nclassification = \"confidential\"\ngeneration = {generation}\ndescription = \"{description}\"\n\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn example_policies_allow_exactly_what_c3_calls() {
    let account = fresh_account();
    let config = Arc::new(Config::new(&config_text(
        &account,
        &[("data", 1, "Data"), ("old", 1, "Old")],
    )));
    let mut plan_actions = BTreeSet::new();
    let mut apply_actions = BTreeSet::new();
    // plan, apply, plan: the actions of the plans and of the apply
    let cycle = |account: String, config: Arc<Config>| {
        tokio::task::spawn_blocking(move || {
            let p = traced(&account, &config, &["plan"]);
            let ap = traced(&account, &config, &["apply", "--auto-approve"]);
            let p2 = traced(&account, &config, &["plan"]);
            (p, ap, p2)
        })
    };
    // 1. an empty account
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_actions.extend(p);
    plan_actions.extend(p2);
    apply_actions.extend(ap);

    // 2. drift by hand: deletion scheduled, a statement removed, a tag changed.
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/data").await;
    let mut policy = key_policy(&kms, &id).await;
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .retain(|s| s["Sid"] != "AllowServiceLogs");
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    kms.tag_resource()
        .key_id(&id)
        .tags(
            Tag::builder()
                .tag_key("c3:classification")
                .tag_value("x")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagResource");
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    // 3. the file changes: "old" is dropped (its resources become reported
    //    orphans) and "data" gets a new description.
    config.rewrite(&config_text(&account, &[("data", 1, "Data, described")]));
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_actions.extend(p);
    plan_actions.extend(p2);
    apply_actions.extend(ap);

    // 4. four more versions of a managed policy by hand, then generation 2:
    //    the update must prune the oldest version first.
    let iam = iam(&account).await;
    let arn = format!("arn:aws:iam::{account}:policy/allow-encrypt-data");
    let doc = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .expect("GetPolicyVersion");
    let text = doc
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default()
        .to_string();
    let text = if text.starts_with('{') {
        text
    } else {
        percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned()
    };
    for _ in 0..4 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(&text)
            .set_as_default(true)
            .send()
            .await
            .expect("CreatePolicyVersion");
    }

    config.rewrite(&config_text(&account, &[("data", 2, "Data, described")]));
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_actions.extend(p);
    plan_actions.extend(p2);
    apply_actions.extend(ap);

    // CreateKey and CreatePolicy are called with tags: they need these too.
    let mut needed_by_apply = apply_actions.clone();
    if apply_actions.contains("kms:CreateKey") {
        needed_by_apply.insert("kms:TagResource".into());
    }
    if apply_actions.contains("iam:CreatePolicy") {
        needed_by_apply.insert("iam:TagPolicy".into());
    }

    let plan_file = allowed("c3-plan.json");
    let apply_file = allowed("c3-apply.json");
    assert_eq!(
        plan_actions, plan_file,
        "c3 plan's calls (left) vs examples/iam/c3-plan.json (right)"
    );
    assert_eq!(
        needed_by_apply, apply_file,
        "c3 apply's calls (left) vs examples/iam/c3-apply.json (right)"
    );
    // Nothing destructive is allowed by either file.
    for action in plan_file.iter().chain(&apply_file) {
        for verb in [
            "Delete", "Disable", "Untag", "Schedule", "Detach", "Revoke", "Retire",
        ] {
            let op = action.split(':').nth(1).unwrap_or_default();
            assert!(
                !op.starts_with(verb) || action == "iam:DeletePolicyVersion",
                "{action} is allowed"
            );
        }
    }
}
