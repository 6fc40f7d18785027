//! SARIF 2.1.0 for GitHub code scanning (`--output sarif`): one run, a rule
//! per kind of finding ([`super::report::RULES`]), one result per change,
//! accepted findings suppressed, unreadable targets as tool execution
//! notifications. See docs/reports.md.

use serde_json::{json, Value};

use super::report::{level, region_name, rule_of, rules_of, security_severity, ReportContext};
use crate::plan::{Change, Plan};

/// The schema URI written in `$schema`.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// `tool.driver.informationUri`: c3's repository, the same placeholder as
/// examples/ci's `C3_GIT` until c3 has a public home.
pub const INFORMATION_URI: &str = "https://github.com/your-org/c3";

/// The SARIF log of a plan, pretty, with a trailing newline.
pub fn render(plan: &Plan, ctx: &ReportContext) -> String {
    let mut s = serde_json::to_string_pretty(&log(plan, ctx))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The SARIF log as a JSON value.
pub fn log(plan: &Plan, ctx: &ReportContext) -> Value {
    let all = rules_of(plan);
    let rules: Vec<Value> = all.iter().map(rule).collect();
    let results: Vec<Value> = plan.changes.iter().map(|c| result(c, all, ctx)).collect();
    let notifications: Vec<Value> = plan
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": format!("{} {}: {}", e.account, region_name(e.region.as_deref()), e.message)},
                "locations": [location(&ctx.locations.uri, ctx.locations.account_line(&e.account))],
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "c3",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "automationDetails": {"id": format!(
                "c3/{}/{}/",
                if plan.audit.is_some() { "audit" } else { "plan" },
                ctx.selection
            )},
            "invocations": [{
                "executionSuccessful": plan.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The working directory of the run"}}},
            "results": results,
        }],
    })
}

fn rule(r: &super::report::Rule) -> Value {
    json!({
        "id": r.id,
        "name": r.id.trim_start_matches("c3/").replace('-', "_"),
        "shortDescription": {"text": r.short},
        "fullDescription": {"text": r.full},
        "help": {
            "text": r.help,
            "markdown": format!("**{}**\n\n{}\n\n**Fix:** {}", r.short, r.full, r.help),
        },
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": {
            "security-severity": security_severity(r.severity),
            "tags": ["security", "kms", r.tag],
        },
    })
}

fn location(uri: &str, line: u32) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line},
        }
    })
}

fn result(c: &Change, rules: &[super::report::Rule], ctx: &ReportContext) -> Value {
    let rule = rule_of(c);
    let index = rules.iter().position(|r| r.id == rule.id).unwrap_or(0);
    let region = region_name(c.region.as_deref());
    let mut r = json!({
        "ruleId": rule.id,
        "ruleIndex": index,
        "level": level(c.severity),
        "message": {"text": format!(
            "{} {} {} {} ({}, {}): {}",
            c.account, region, c.key, c.resource, c.action(), c.severity, c.detail
        )},
        "locations": [location(&ctx.locations.uri, ctx.locations.line(c))],
        "partialFingerprints": {"c3/v1": c.fingerprint},
        "properties": {
            "account": c.account,
            "region": region,
            "key": c.key,
            "resource": c.resource.as_str(),
            "action": c.action().as_str(),
            "executable": c.executable(),
            "severity": c.severity.as_str(),
            "security-severity": security_severity(c.severity),
            "subject": c.subject,
        },
    });
    if let (Some(a), Some(obj)) = (&c.accepted, r.as_object_mut()) {
        obj.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("{} (until {}, {})", a.reason, a.expires, a.at),
            }]),
        );
    }
    r
}
