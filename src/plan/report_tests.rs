//! Snapshots of the reports (`--output markdown|sarif|junit`, and the
//! human view of the same plan) for a drift estate with a finding of each
//! severity, an accepted finding and an unreadable target; the SARIF's
//! shape checked against GitHub's upload rules; fingerprints stable across
//! plans of the same drift.

use super::screen_tests::drifted;
use super::tests::{details_mut, region_mut, A, B, R1, R2};
use super::*;
use crate::options::Style;
use crate::render::report::{Locations, ReportContext, RULES};

/// The keys.toml the locations are read from.
const KEYS_TOML: &str = r#"[accounts.prod]
id = "111111111111"

[accounts.staging]
id = "222222222222"

[[keys]]
name = "payments"
accounts = ["prod", "staging"]

[[keys]]
name = "logs"
accounts = ["prod"]
"#;

/// The drifted estate ([`drifted`]) plus a public statement on `logs`
/// (critical), the foreign statement accepted, and an unreadable target.
pub(super) fn report_plan() -> Plan {
    let (d, mut live) = drifted();
    {
        let details = details_mut(region_mut(&mut live, A, R2), 0);
        let mut policy: serde_json::Value =
            serde_json::from_str(details.policy.as_deref().unwrap_or("{}")).unwrap_or_default();
        if let Some(serde_json::Value::Array(items)) = policy.get_mut("Statement") {
            items.push(serde_json::json!({
                "Sid": "Everyone",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "kms:Decrypt",
                "Resource": "*"
            }));
        }
        details.policy = Some(policy.to_string());
    }
    let mut p = plan(&d, &live);
    let date = |s: &str| crate::model::Date::parse(s).unwrap_or_else(|e| panic!("{e}"));
    let entry = crate::model::AcceptEntry {
        account: Some(A.into()),
        region: Some(R1.into()),
        key: Some("payments".into()),
        resource: Some("key_policy".into()),
        subject: Some("AllowAnalytics".into()),
        reason: "analytics reads payments (INC-1234)".into(),
        expires: date("2027-03-01"),
        at: "keys.toml:40".into(),
    };
    accept::accept(&mut p, &[entry], &d.scope, date("2026-11-30"));
    p.errors.push(PlanError::new(
        B,
        Some(R2),
        "AccessDenied: not authorized to perform kms:ListAliases",
    ));
    p
}

fn ctx() -> ReportContext {
    ReportContext {
        locations: Locations::scan("keys.toml", KEYS_TOML),
        selection: "all".into(),
    }
}

#[test]
fn the_estate_has_every_severity_an_accepted_finding_and_an_error() {
    let p = report_plan();
    for s in Severity::ALL {
        assert!(
            p.changes.iter().any(|c| c.counts() && c.severity == s),
            "no counted {s} finding"
        );
    }
    assert!(p.changes.iter().any(|c| c.accepted.is_some()));
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn the_report_human() {
    insta::assert_snapshot!(crate::render::human(&report_plan(), &Style::plain()));
}

#[test]
fn the_report_markdown() {
    insta::assert_snapshot!(crate::render::markdown::render(&report_plan()));
}

#[test]
fn the_report_sarif() {
    let text = crate::render::sarif::render(&report_plan(), &ctx());
    insta::assert_snapshot!(text.replace(env!("CARGO_PKG_VERSION"), "[version]"));
}

#[test]
fn the_report_junit() {
    insta::assert_snapshot!(crate::render::junit::render(&report_plan()));
}

#[test]
fn locations_are_the_lines_that_declare_keys_and_accounts() {
    let loc = Locations::scan("keys.toml", KEYS_TOML);
    assert_eq!(loc.keys.get("payments"), Some(&7));
    assert_eq!(loc.keys.get("logs"), Some(&11));
    assert_eq!(loc.accounts.get(A), Some(&1));
    assert_eq!(loc.accounts.get("staging"), Some(&4));
}

/// GitHub code scanning's upload rules, checked on the SARIF itself
/// (docs/reports.md): every result's rule is in `rules`, has a
/// `partialFingerprints`, a physical location with a relative `uri` and a
/// start line ≥ 1; every rule's `security-severity` is a number string;
/// at most 25,000 results and 20 runs; `automationDetails.id` ends with `/`.
pub(crate) fn check_github_rules(sarif: &serde_json::Value) {
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"]
        .as_str()
        .is_some_and(|s| s.contains("sarif")));
    let runs = sarif["runs"]
        .as_array()
        .unwrap_or_else(|| panic!("no runs"));
    assert!(!runs.is_empty() && runs.len() <= 20);
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(driver["name"].as_str().is_some_and(|n| !n.is_empty()));
        let rules = driver["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("no rules"));
        assert!(rules.len() <= 25_000);
        let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(ids.len(), rules.len());
        for r in rules {
            let sev = r["properties"]["security-severity"].as_str().unwrap_or("");
            let n: f64 = sev
                .parse()
                .unwrap_or_else(|_| panic!("{sev:?} is not a number"));
            assert!((0.0..=10.0).contains(&n));
            assert!(r["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(r["shortDescription"]["text"]
                .as_str()
                .is_some_and(|t| t.len() <= 1024));
        }
        let id = run["automationDetails"]["id"].as_str().unwrap_or("");
        assert!(id.ends_with('/'), "{id}");
        let results = run["results"]
            .as_array()
            .unwrap_or_else(|| panic!("no results"));
        assert!(results.len() <= 25_000);
        for r in results {
            let rule = r["ruleId"].as_str().unwrap_or("");
            assert!(ids.contains(&rule), "{rule} is not a rule");
            let index = r["ruleIndex"]
                .as_u64()
                .and_then(|i| usize::try_from(i).ok());
            assert_eq!(index.and_then(|i| ids.get(i)), Some(&rule));
            assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(r["partialFingerprints"]["c3/v1"]
                .as_str()
                .is_some_and(|f| !f.is_empty()));
            let locations = r["locations"]
                .as_array()
                .unwrap_or_else(|| panic!("no locations"));
            assert!(!locations.is_empty() && locations.len() <= 1000);
            let physical = &locations[0]["physicalLocation"];
            let uri = physical["artifactLocation"]["uri"].as_str().unwrap_or("");
            assert!(
                !uri.is_empty() && !uri.starts_with('/') && !uri.contains('\\'),
                "{uri}"
            );
            assert!(physical["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l >= 1));
            assert!(
                ["error", "warning", "note", "none"].contains(&r["level"].as_str().unwrap_or(""))
            );
        }
    }
}

#[test]
fn the_sarif_follows_githubs_upload_rules() {
    let text = crate::render::sarif::render(&report_plan(), &ctx());
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    check_github_rules(&sarif);
    let results = sarif["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), report_plan().changes.len());
    let suppressed = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .count();
    assert_eq!(suppressed, 1);
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    assert_eq!(
        RULES.len(),
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .map_or(0, Vec::len)
    );
}

#[test]
fn fingerprints_are_equal_for_the_same_drift_and_differ_for_another() {
    let a = report_plan();
    let b = report_plan();
    let prints = |p: &Plan| {
        p.changes
            .iter()
            .map(|c| c.fingerprint.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(prints(&a), prints(&b));
    let mut unique = prints(&a);
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        a.changes.len(),
        "two findings share a fingerprint"
    );
    // Another drift: the tag has another key.
    let (d, mut live) = drifted();
    let key = &mut region_mut(&mut live, A, R1).keys[0];
    key.tags.remove("owner");
    key.tags.insert("team".into(), "someone".into());
    let other = plan(&d, &live);
    let tag = |p: &Plan| {
        p.changes
            .iter()
            .find(|c| c.resource == Resource::Tags && c.action() == ActionKind::Report)
            .map(|c| c.fingerprint.clone())
    };
    assert!(tag(&a).is_some());
    assert_ne!(tag(&a), tag(&other));
}

#[test]
fn markdown_is_cut_with_a_note_when_too_long() {
    let p = report_plan();
    let full = crate::render::markdown::render(&p);
    let cut = crate::render::markdown::render_within(&p, 2048);
    assert!(cut.len() <= 2048, "{}", cut.len());
    assert!(full.len() > 2048);
    assert!(cut.contains("were left out") && cut.contains("JSON plan"));
    assert!(!full.contains("were left out"));
}
