//! A scheduled drift job (`c3 plan --detailed-exitcode`) on an estate with
//! reviewed findings: red while they are new, green once `c3 baseline`'s
//! `[[accept]]` entries are in keys.toml, red again (with a warning naming
//! the entry) once they expire — against the emulator, through the binary.

use std::path::Path;

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";

fn config_text(account: &str, names: &[&str]) -> String {
    let mut text = format!(
        "version = 1\n\n{}[classifications.internal]\nrotation_days = 365\n\n",
        account_block("prod", account, &[R1])
    );
    for name in names {
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nclassification = \"internal\"\n\n"
        ));
    }
    text
}

/// c3 with `args` then `-c <config>`, on the day `today` (`C3_TODAY`).
fn c3_on(today: &str, config: &Path, args: &[&str]) -> Run {
    let mut command = crate::support::c3_command_at(&emulator().endpoint());
    command
        .env("C3_TODAY", today)
        .args(args)
        .arg("-c")
        .arg(config)
        .stdin(std::process::Stdio::null());
    let r = finish(command.output().expect("run c3"));
    crate::support::validate_emitted_plans(&command, &r.stdout);
    r
}

fn plan_doc(run: &Run) -> PlanDocument {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("plan output is not the JSON document ({e}):\n{run:?}"))
}

/// The line of keys.toml where the `n`-th (from 0) `[[accept]]` starts.
fn accept_line(text: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[accept]]")
        .nth(n)
        .map(|(i, _)| i + 1)
        .expect("an [[accept]] entry")
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_findings_turn_a_drift_job_green_until_they_expire() {
    let account = fresh_account();
    let config = Config::new(&config_text(&account, &["payments", "orders"]));
    apply_in_background(&config).await;
    // A foreign statement in payments' key policy, reviewed by a person.
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    let mut policy = key_policy(&kms, &id).await;
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(
            serde_json::json!({"Sid": "AllowAnalyticsDecrypt", "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:role/analytics")},
            "Action": "kms:Decrypt", "Resource": "*"}),
        );
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    // `orders` leaves keys.toml: its key, alias and policies are orphans.
    config.rewrite(&config_text(&account, &["payments"]));
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || drift_job(&path))
        .await
        .expect("join");
}

/// The drift job's days, in order; see the test above.
fn drift_job(path: &Path) {
    let before_day = "2027-01-15";
    // Red: a foreign statement and the orphans are differences.
    let red = c3_on(before_day, path, &["plan", "--detailed-exitcode"]);
    assert_eq!(red.code, 2, "{red:?}");
    let doc = plan_doc(&c3_on(before_day, path, &["plan", "--output", "json"]));
    assert!(
        doc.changes.iter().all(|c| !c.executable()),
        "{:#?}",
        doc.changes
    );
    let findings = doc.changes.len();
    let subjects: Vec<(&str, &str)> = doc
        .changes
        .iter()
        .map(|c| (c.resource.as_str(), c.subject.as_str()))
        .collect();
    for want in [
        ("key_policy", "AllowAnalyticsDecrypt"),
        ("alias", "alias/orders"),
        ("iam_policy", "allow-decrypt-orders"),
    ] {
        assert!(subjects.contains(&want), "{want:?} not in {subjects:?}");
    }
    assert!(subjects.iter().any(|(r, _)| *r == "key"), "{subjects:?}");
    assert!(doc.changes.iter().all(|c| c.accepted.is_none()));
    assert_eq!(doc.summary.accepted, 0);

    // The baseline: one entry per finding, appended to the file.
    let baseline = c3_on(
        before_day,
        path,
        &[
            "baseline",
            "--reason",
            "reviewed in INC-1234",
            "--expires",
            "2027-03-01",
        ],
    );
    assert_eq!(baseline.code, 0, "{baseline:?}");
    assert_eq!(
        baseline.stdout.matches("[[accept]]").count(),
        findings,
        "{baseline:?}"
    );
    assert!(
        baseline
            .stdout
            .contains("subject  = \"AllowAnalyticsDecrypt\""),
        "{baseline:?}"
    );
    let mut text = std::fs::read_to_string(path).expect("read keys.toml");
    text.push_str(&baseline.stdout);
    std::fs::write(path, &text).expect("append the baseline");

    // Green, through the last day of the entries; the summary says so.
    for day in [before_day, "2027-03-01"] {
        let green = c3_on(day, path, &["plan", "--detailed-exitcode"]);
        assert_eq!(green.code, 0, "{day}: {green:?}");
        assert!(
            green.stdout.contains(&format!("; {findings} accepted")),
            "{day}: {green:?}"
        );
        assert!(green.stdout.contains("(accepted)"), "{green:?}");
        assert!(!green.stderr.contains("warning:"), "{green:?}");
    }
    let doc = plan_doc(&c3_on(before_day, path, &["plan", "--output", "json"]));
    assert_eq!(doc.summary.accepted, findings);
    assert_eq!(doc.summary.report, 0);
    let first = accept_line(&text, 0);
    let statement = doc
        .changes
        .iter()
        .find(|c| c.subject == "AllowAnalyticsDecrypt")
        .and_then(|c| c.accepted.clone())
        .expect("the foreign statement is accepted");
    assert_eq!(statement.reason, "reviewed in INC-1234");
    assert_eq!(statement.expires.to_string(), "2027-03-01");
    // `at` is the file and the line of the entry that accepts it.
    let line: usize = statement
        .at
        .strip_prefix(&format!("{}:", path.display()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("at = {}", statement.at));
    let entry: Vec<&str> = text.lines().skip(line - 1).take(6).collect();
    assert_eq!(entry[0], "[[accept]]", "{entry:?}");
    assert!(
        entry.contains(&"subject  = \"AllowAnalyticsDecrypt\""),
        "{entry:?}"
    );
    // Nothing left for another baseline.
    let again = c3_on(
        before_day,
        path,
        &["baseline", "--reason", "x", "--expires", "2027-03-01"],
    );
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "{again:?}");

    // A day after: red again, and each expired entry is named by file:line.
    let expired = c3_on("2027-03-02", path, &["plan", "--detailed-exitcode"]);
    assert_eq!(expired.code, 2, "{expired:?}");
    let warning = format!(
        "warning: {}:{first}: [[accept]] expired on 2027-03-01",
        path.display()
    );
    assert!(expired.stderr.contains(&warning), "{warning}\n{expired:?}");
    assert_eq!(
        expired
            .stderr
            .matches("[[accept]] expired on 2027-03-01")
            .count(),
        findings,
        "{expired:?}"
    );
    assert!(!expired.stdout.contains("accepted"), "{expired:?}");
    let doc = plan_doc(&c3_on("2027-03-02", path, &["plan", "--output", "json"]));
    assert_eq!(doc.warnings.len(), findings, "{:?}", doc.warnings);
    assert_eq!(doc.summary.accepted, 0);
}
