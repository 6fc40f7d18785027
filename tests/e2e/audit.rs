//! `c3 audit` against an estate with a key in every state it judges
//! (tests/support/audit_estate.rs: managed and unmanaged, rotation on, off
//! and another period, Disabled, PendingDeletion, asymmetric, HMAC, imported
//! material, the three public principal forms with and without a condition
//! that pins the account, cross-account policy and grant, a used key), each
//! seeded with the SDK and a policy written by hand. Every key's verdict per
//! control is asserted, as docs/audit.md defines them.

use serde_json::Value;

use super::*;
use crate::support::audit_estate::{self, AuditEstate, PublicCondition, PublicPrincipal, Role};
use crate::support::fresh_account;

const REGION: &str = "eu-west-1";
const TODAY: &str = "2026-11-30";

/// keys.toml: the estate's account, and the three managed keys declared
/// (class `internal`, yearly rotation). `extra` is appended.
fn config_text(estate: &AuditEstate, extra: &str) -> String {
    let mut text = format!(
        "version = 1\n\n{}[classifications.internal]\nrotation_days = 365\n\n",
        account_block("prod", &estate.seed.account, &[REGION])
    );
    for role in [
        Role::ManagedRotated,
        Role::ManagedRotationOff,
        Role::ManagedOtherPeriod,
    ] {
        let name = estate
            .key(role)
            .alias
            .trim_start_matches("alias/")
            .to_string();
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nclassification = \"internal\"\n\n"
        ));
    }
    text.push_str(extra);
    text
}

/// `c3 audit --output json` and `extra`, parsed.
fn audit_json(config: &Path, extra: &[&str]) -> (Run, Value) {
    let run = crate::support::run(
        crate::support::c3_command()
            .env("C3_TODAY", TODAY)
            .args(["audit", "--output", "json", "-c"])
            .arg(config)
            .args(extra),
    );
    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("audit JSON does not parse: {e}\n{run:?}"));
    (run, doc)
}

/// The verdict status of `control` for the key `id` (the worst when a
/// control has two verdicts).
fn status(doc: &Value, id: &str, control: &str) -> String {
    let key = doc["audit"]
        .as_array()
        .expect("audit array")
        .iter()
        .find(|k| k["key_id"] == id)
        .unwrap_or_else(|| panic!("key {id} not in the audit"));
    let statuses: Vec<&str> = key["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["control"] == control)
        .map(|v| v["status"].as_str().expect("status"))
        .collect();
    for s in ["fail", "unknown", "pass", "not_applicable"] {
        if statuses.contains(&s) {
            return s.to_string();
        }
    }
    panic!("no verdict on {control} for {id}: {key}")
}

/// Expected verdicts of a role: KMS.3, KMS.4, KMS.5, CIS.3.6, C3.ROTATION_PERIOD,
/// C3.CROSS_ACCOUNT, C3.KEY_STATE.
fn expected(role: Role) -> [&'static str; 7] {
    const P: &str = "pass";
    const F: &str = "fail";
    const NA: &str = "not_applicable";
    match role {
        Role::ManagedRotated => [P, P, P, P, P, P, P],
        Role::ManagedRotationOff => [P, F, P, F, F, P, P],
        Role::ManagedOtherPeriod => [P, P, P, P, F, P, P],
        Role::UnmanagedRotated => [P, P, P, P, NA, P, P],
        Role::UnmanagedRotationOff => [P, F, P, F, NA, P, P],
        Role::Disabled => [P, P, P, P, NA, P, F],
        // Rotation is not judged on a key scheduled for deletion (KMS.3 is).
        Role::PendingDeletion => [F, NA, P, NA, NA, P, F],
        Role::AsymmetricSign | Role::Hmac | Role::External => [P, NA, P, NA, NA, P, P],
        Role::Public(_, PublicCondition::PinsAccount) => [P, P, P, P, NA, P, P],
        // Unconditional, or only kms:ViaService: usable by any account's
        // principals (AWS's reading; Prowler passes the ViaService form,
        // see docs/audit.md).
        Role::Public(_, _) => [P, P, F, P, NA, P, P],
        Role::CrossAccountPolicy | Role::CrossAccountGrant => [P, P, P, P, NA, F, P],
        Role::Used => [P, P, P, P, NA, P, P],
    }
}

const CONTROLS: [&str; 7] = [
    "KMS.3",
    "KMS.4",
    "KMS.5",
    "CIS.3.6",
    "C3.ROTATION_PERIOD",
    "C3.CROSS_ACCOUNT",
    "C3.KEY_STATE",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_key_is_judged_per_control_as_security_hub_would() {
    let estate = audit_estate::seed(REGION).await;
    let config = Config::new(&config_text(&estate, ""));
    let path = config.path.clone();
    let (run, doc) =
        tokio::task::spawn_blocking(move || audit_json(&path, &["--detailed-exitcode"]))
            .await
            .expect("audit");
    assert_eq!(
        run.code, 2,
        "findings count under --detailed-exitcode:\n{run:?}"
    );
    assert!(
        doc["errors"].as_array().expect("errors").is_empty(),
        "{doc}"
    );
    let audited = doc["audit"].as_array().expect("audit").len();
    assert_eq!(
        audited,
        estate.keys.len(),
        "every customer key, nothing else: {doc}"
    );

    let mut wrong = Vec::new();
    for key in &estate.keys {
        for (control, want) in CONTROLS.iter().zip(expected(key.role)) {
            let got = status(&doc, &key.id, control);
            if got != want {
                wrong.push(format!("{:?} {control}: {got}, expected {want}", key.role));
            }
        }
    }
    assert!(wrong.is_empty(), "verdicts:\n{}", wrong.join("\n"));

    // Each public form without a pinning condition is critical, named so.
    for principal in PublicPrincipal::ALL {
        let id = &estate
            .key(Role::Public(principal, PublicCondition::Unconditional))
            .id;
        let finding = doc["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["key_id"] == id.as_str() && c["control"] == "KMS.5")
            .unwrap_or_else(|| panic!("no KMS.5 finding for {principal:?}"));
        assert_eq!(finding["severity"], "critical");
        assert_eq!(finding["executable"], false);
    }
    // Cross-account findings name the other account.
    for role in [Role::CrossAccountPolicy, Role::CrossAccountGrant] {
        let id = &estate.key(role).id;
        let finding = doc["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["key_id"] == id.as_str() && c["control"] == "C3.CROSS_ACCOUNT")
            .unwrap_or_else(|| panic!("no cross-account finding for {role:?}"));
        assert!(
            finding["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&estate.other_account)),
            "{finding}"
        );
        assert_eq!(finding["severity"], "high");
    }
    // The PendingDeletion key carries its deletion date.
    let pending = estate.key(Role::PendingDeletion);
    let date = pending.deletion_date.expect("seeded with a date");
    let day = c3::model::Date::from_days_since_epoch(date.secs().div_euclid(86_400)).to_string();
    let row = doc["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .find(|k| k["key_id"] == pending.id.as_str())
        .expect("pending key");
    assert_eq!(row["deletion_date"], day.as_str(), "{row}");
    assert_eq!(row["state"], "PendingDeletion");

    // Evidence of use: the used key names its operation; an unmanaged key
    // never used says since when nothing was recorded; managed keys are not asked.
    let used = key_row(&doc, &estate.key(Role::Used).id);
    assert_eq!(used["last_used"]["status"], "used", "{used}");
    assert_eq!(used["last_used"]["operation"], "Encrypt", "{used}");
    assert!(
        used["last_used"]["cloudtrail_event_id"].is_string(),
        "{used}"
    );
    let idle = key_row(&doc, &estate.key(Role::UnmanagedRotated).id);
    assert_eq!(idle["last_used"]["status"], "none_recorded", "{idle}");
    assert!(
        idle["last_used"]["tracking_start_epoch"].is_number(),
        "{idle}"
    );
    let managed = key_row(&doc, &estate.key(Role::ManagedRotated).id);
    assert!(managed.get("last_used").is_none(), "{managed}");
}

fn key_row<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .find(|k| k["key_id"] == id)
        .unwrap_or_else(|| panic!("key {id} not in the audit"))
}

/// A console policy plus a `Deny` of kms:GetKeyLastUsage to everyone.
fn policy_denying_last_usage(account: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [
  {{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{account}:root"}}, "Action": "kms:*", "Resource": "*"}},
  {{"Sid": "NoUsageInsight", "Effect": "Deny", "Principal": "*", "Action": "kms:GetKeyLastUsage", "Resource": "*"}}
]}}"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn last_use_is_unknown_when_the_call_is_denied_never_unused() {
    let account = fresh_account();
    let seed = crate::support::estates::Seed::new(&account, REGION).await;
    let console = crate::support::estates::CONSOLE_KEY_POLICY.replace("ACCOUNT", &account);
    let (open, _) = seed.key("made in the console", &console, &[], false).await;
    let (closed, _) = seed
        .key(
            "its policy denies GetKeyLastUsage",
            &policy_denying_last_usage(&account),
            &[],
            false,
        )
        .await;
    let config = Config::new(&format!(
        "version = 1\n\n{}[classifications.internal]\n",
        account_block("prod", &account, &[REGION])
    ));
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || audit_json(&path, &[]))
        .await
        .expect("audit");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        key_row(&doc, &open)["last_used"]["status"],
        "none_recorded",
        "{doc}"
    );
    let denied = &key_row(&doc, &closed)["last_used"];
    assert_eq!(denied["status"], "unknown", "{doc}");
    assert!(
        denied["reason"]
            .as_str()
            .is_some_and(|r| r.contains("AccessDenied")),
        "{denied}"
    );

    // The whole account denied the call (an audit role without
    // kms:GetKeyLastUsage): unknown for every key, and the audit goes on.
    crate::support::emulator().deny(&account, "GetKeyLastUsage");
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || audit_json(&path, &[]))
        .await
        .expect("audit");
    assert_eq!(run.code, 0, "{run:?}");
    for id in [&open, &closed] {
        assert_eq!(key_row(&doc, id)["last_used"]["status"], "unknown", "{doc}");
    }
    let human = c3(&config.path, &["audit"]);
    assert_eq!(human.code, 0, "{human:?}");
    assert!(human.stdout.contains("last use unknown"), "{human:?}");
    assert!(!human.stdout.contains("unused"), "{human:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_findings_do_not_count_and_every_format_renders() {
    let estate = audit_estate::seed(REGION).await;
    // Accept the rotation of every unmanaged key, and the cross-account
    // partner: what remains still counts.
    let partial = "[[accept]]\nresource = \"rotation\"\nsubject = \"KMS.4\"\n\
                   reason = \"legacy keys, rotation tracked in INC-1\"\nexpires = 2027-03-01\n\n\
                   [[accept]]\nsubject = \"C3.CROSS_ACCOUNT\"\n\
                   reason = \"partner account, reviewed\"\nexpires = 2027-03-01\n";
    let config = Config::new(&config_text(&estate, partial));
    let dir = config.path.parent().expect("dir").to_path_buf();
    let path = config.path.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let (run, doc) = audit_json(&path, &["--detailed-exitcode"]);
        let formats: Vec<Run> = ["human", "markdown", "sarif", "junit"]
            .iter()
            .map(|f| c3(&path, &["audit", "--output", f]))
            .collect();
        (run, doc, formats)
    })
    .await
    .expect("audit");
    let (run, doc, formats) = runs;
    assert_eq!(
        run.code, 2,
        "KMS.5 and key-state findings still count:\n{run:?}"
    );
    let changes = doc["changes"].as_array().expect("changes");
    for c in changes {
        let control = c["control"]
            .as_str()
            .expect("every audit finding names its control");
        let accepted = !c["accepted"].is_null();
        assert_eq!(
            accepted,
            control == "KMS.4" || control == "C3.CROSS_ACCOUNT",
            "{c}"
        );
    }
    assert!(
        doc["summary"]["accepted"].as_u64().is_some_and(|n| n > 0),
        "{doc}"
    );

    let [human, markdown, sarif, junit] = &formats[..] else {
        panic!("four formats")
    };
    assert!(
        human.stdout.contains("KMS.5") && human.stdout.contains("Audit: "),
        "{human:?}"
    );
    assert!(markdown.stdout.starts_with("# c3 audit"), "{markdown:?}");
    let sarif_path = dir.join("audit.sarif");
    std::fs::write(&sarif_path, &sarif.stdout).expect("write sarif");
    super::show::validate_sarif(&sarif_path);
    let log: Value = serde_json::from_str(&sarif.stdout).expect("sarif json");
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert!(
        rules.contains(&"KMS.5") && rules.contains(&"KMS.3"),
        "{rules:?}"
    );
    let junit_path = dir.join("audit.xml");
    std::fs::write(&junit_path, &junit.stdout).expect("write junit");
    let counts = super::show::parse_junit(&junit_path);
    let tests: usize = counts
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("tests");
    assert!(
        tests >= estate.keys.len() * 7,
        "a test case per key and control: {counts}"
    );

    // Accept everything that is left: the drift job is green.
    let all = format!(
        "{partial}\n[[accept]]\naccount = \"prod\"\nreason = \"baseline of 2026-11-30\"\nexpires = 2027-03-01\n"
    );
    config.rewrite(&config_text(&estate, &all));
    let path = config.path.clone();
    let (run, _) = tokio::task::spawn_blocking(move || audit_json(&path, &["--detailed-exitcode"]))
        .await
        .expect("audit");
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plans_orphan_key_says_when_it_was_last_used() {
    let account = fresh_account();
    let seed = crate::support::estates::Seed::new(&account, REGION).await;
    let console = crate::support::estates::CONSOLE_KEY_POLICY.replace("ACCOUNT", &account);
    let tags = [
        ("c3:managed", "true"),
        ("c3:name", "retired"),
        ("c3:classification", "internal"),
        ("c3:generation", "1"),
    ];
    let (used, _) = seed
        .key("Managed by c3: retired", &console, &tags, false)
        .await;
    seed.kms
        .encrypt()
        .key_id(&used)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"still in use".to_vec()))
        .send()
        .await
        .expect("Encrypt");
    let config = Config::new(&format!(
        "version = 1\n\n{}[classifications.internal]\n",
        account_block("prod", &account, &[REGION])
    ));
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("plan");
    assert_eq!(run.code, 0, "{run:?}");
    let orphan = doc
        .changes
        .iter()
        .find(|c| c.key == "retired" && c.detail.contains("no longer declared"))
        .unwrap_or_else(|| panic!("no orphan row: {run:?}"));
    assert!(
        orphan.detail.contains("last used") && orphan.detail.contains("for Encrypt"),
        "{}",
        orphan.detail
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_discovered_from_organizations_are_audited_too() {
    use crate::e2e::rollout::Org;
    let org = Org::new().await;
    let ou = org.ou(&org.root, "Workloads").await;
    let member = org.account(&ou, "Team One", &[]).await;
    let seed = crate::support::estates::Seed::new(&member.id, "eu-west-1").await;
    let console = crate::support::estates::CONSOLE_KEY_POLICY.replace("ACCOUNT", &member.id);
    let (key, _) = seed.key("made by the team", &console, &[], false).await;
    let config = Config::new(&format!(
        "version = 1\n\n{}[classifications.internal]\n",
        org.block(&[&ou])
    ));
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || audit_json(&path, &[]))
        .await
        .expect("audit");
    assert_eq!(run.code, 0, "{run:?}");
    let row = key_row(&doc, &key);
    assert_eq!(row["account"], member.id.as_str(), "{row}");
    assert_eq!(row["owner"], "unmanaged", "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_the_audit_may_not_describe_is_unknown_and_the_region_goes_on() {
    let account = fresh_account();
    let seed = crate::support::estates::Seed::new(&account, REGION).await;
    let console = crate::support::estates::CONSOLE_KEY_POLICY.replace("ACCOUNT", &account);
    let (open, _) = seed.key("made in the console", &console, &[], false).await;
    // A key policy that leaves the audit out (a Deny of DescribeKey, which
    // the emulator enforces as AWS does).
    let closed_policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [
  {{"Sid": "Root", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{account}:root"}}, "Action": "kms:*", "Resource": "*"}},
  {{"Sid": "NoDescribe", "Effect": "Deny", "Principal": "*", "Action": "kms:DescribeKey", "Resource": "*"}}
]}}"#
    );
    let (closed, _) = seed.key("locked", &closed_policy, &[], false).await;
    let config = Config::new(&format!(
        "version = 1\n\n{}[classifications.internal]\n",
        account_block("prod", &account, &[REGION])
    ));
    let path = config.path.clone();
    let (run, doc) =
        tokio::task::spawn_blocking(move || audit_json(&path, &["--detailed-exitcode"]))
            .await
            .expect("audit");
    assert_eq!(run.code, 2, "the unknown verdicts count: {run:?}");
    assert!(
        doc["errors"].as_array().expect("errors").is_empty(),
        "{doc}"
    );
    assert_eq!(status(&doc, &open, "KMS.5"), "pass");
    for control in CONTROLS {
        assert_eq!(status(&doc, &closed, control), "unknown", "{control}");
    }
    assert_eq!(key_row(&doc, &closed)["owner"], "unknown");
}
