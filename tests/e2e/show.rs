//! `c3 show PLAN.json` renders a saved plan with no AWS call, byte for byte
//! as `c3 plan --output FORMAT` printed it; the SARIF is valid against the
//! vendored SARIF 2.1.0 schema and the JUnit parses as JUnit XML.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";
const FORMATS: [&str; 5] = ["human", "json", "markdown", "sarif", "junit"];

/// c3 in keys.toml's directory, with `-c keys.toml`: reports name the file
/// relative to the working directory, as CI runs it.
fn c3_in(dir: &Path, args: &[&str]) -> Run {
    let out = crate::support::c3_command_at(&emulator().endpoint())
        .current_dir(dir)
        .env("C3_TODAY", "2026-11-30")
        .args(args)
        .args(["-c", "keys.toml"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run c3");
    finish(out)
}

fn venv(tool: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(tool)
}

/// Validates a SARIF file against schema/sarif-schema-2.1.0.json.
pub fn validate_sarif(path: &Path) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/sarif-schema-2.1.0.json");
    let out = Command::new(venv("check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema)
        .arg(path)
        .output()
        .expect("run check-jsonschema from .venv");
    assert!(
        out.status.success(),
        "{} is not valid SARIF 2.1.0:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses a JUnit file with Python's XML parser and returns
/// "tests failures errors skipped" of `<testsuites>`, checked against the
/// elements it holds.
pub fn parse_junit(path: &Path) -> String {
    const SCRIPT: &str = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
totals = [0, 0, 0, 0]
for suite in root.findall("testsuite"):
    cases = suite.findall("testcase")
    counts = [len(cases), sum(len(c.findall("failure")) for c in cases),
              sum(len(c.findall("error")) for c in cases), sum(len(c.findall("skipped")) for c in cases)]
    for name, n in zip(["tests", "failures", "errors", "skipped"], counts):
        assert int(suite.get(name)) == n, (suite.get("name"), name, suite.get(name), n)
    for c in cases:
        assert c.get("name") and c.get("classname"), c.attrib
    totals = [a + b for a, b in zip(totals, counts)]
for name, n in zip(["tests", "failures", "errors", "skipped"], totals):
    assert int(root.get(name)) == n, (name, root.get(name), n)
print(" ".join(str(n) for n in totals))
"#;
    let out = Command::new(venv("python"))
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("run python from .venv");
    assert!(
        out.status.success(),
        "{} is not JUnit XML as c3 writes it:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn show_renders_a_saved_plan_as_plan_did_without_any_aws_call() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    apply_in_background(&config).await;
    // A foreign statement (a finding) and rotation off (an executable change).
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    let mut policy = key_policy(&kms, &id).await;
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(serde_json::json!({
        "Sid": "AllowAnalyticsDecrypt", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:role/analytics")},
        "Action": "kms:Decrypt", "Resource": "*"}));
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    kms.disable_key_rotation()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKeyRotation");
    let dir = config.path.parent().expect("dir").to_path_buf();
    tokio::task::spawn_blocking(move || check_show(&dir, &account))
        .await
        .expect("join");
}

fn check_show(dir: &Path, account: &str) {
    let saved = c3_in(dir, &["plan", "--out", "plan.json"]);
    assert_eq!(saved.code, 0, "{saved:?}");
    let mut direct = Vec::new();
    for format in FORMATS {
        let run = c3_in(dir, &["plan", "--output", format]);
        assert_eq!(run.code, 0, "{run:?}");
        direct.push(run.stdout);
    }
    let before = emulator().requests(account).len();
    for (format, direct) in FORMATS.iter().zip(&direct) {
        let shown = c3_in(dir, &["show", "plan.json", "--output", format]);
        assert_eq!(shown.code, 0, "{shown:?}");
        assert_eq!(
            &shown.stdout, direct,
            "show --output {format} differs from plan's"
        );
    }
    assert_eq!(
        emulator().requests(account).len(),
        before,
        "c3 show called AWS"
    );
    let sarif = dir.join("c3.sarif");
    std::fs::write(&sarif, &direct[3]).expect("write sarif");
    validate_sarif(&sarif);
    let doc: serde_json::Value = serde_json::from_str(&direct[3]).expect("SARIF is JSON");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(results.len() >= 2, "{results:#?}");
    for r in results {
        let location = &r["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "keys.toml");
        // `[[keys]]` of payments, after the account block and the classification.
        assert!(
            location["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l > 1),
            "{r:#}"
        );
        assert!(r["partialFingerprints"]["c3/v1"]
            .as_str()
            .is_some_and(|f| !f.is_empty()));
    }
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "c3/plan/all/");
    let junit = dir.join("c3.xml");
    std::fs::write(&junit, &direct[4]).expect("write junit");
    let counts = parse_junit(&junit);
    assert!(
        counts.starts_with(&format!("{} {} 0 0", results.len(), results.len())),
        "{counts}"
    );
}

/// The drift estate's SARIF and JUnit snapshots (src/plan/report_tests.rs)
/// pass the same validators.
#[test]
fn the_drift_estate_reports_are_valid() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plan/snapshots");
    let dir = tempfile::tempdir().expect("tempdir");
    for (snap, file) in [
        (
            "c3__plan__report_tests__the_report_sarif.snap",
            "drift.sarif",
        ),
        ("c3__plan__report_tests__the_report_junit.snap", "drift.xml"),
    ] {
        let text = std::fs::read_to_string(snapshots.join(snap)).expect("read snapshot");
        // Past insta's header (`---` … `---`).
        let body = text.splitn(3, "---\n").nth(2).expect("a snapshot body");
        std::fs::write(dir.path().join(file), body.replace("[version]", "0.0.0")).expect("write");
    }
    validate_sarif(&dir.path().join("drift.sarif"));
    assert_eq!(parse_junit(&dir.path().join("drift.xml")), "14 12 1 1");
}
