//! Views of an audit (a [`Plan`] whose `audit` holds every key's verdicts):
//! the key table for people, and JUnit with a test case per key and control.
//! JSON, Markdown and SARIF are the plan's own views.

use comfy_table::{Cell, Color};

use crate::audit::{controls, KeyAudit, Status};
use crate::options::Style;
use crate::plan::Plan;

use super::junit::escape;

/// The summary line: `Audit: 12 key(s) in 3 account-region(s); 4 finding(s): 1 critical, 3 medium; 1 accepted.`
pub fn summary_line(plan: &Plan) -> String {
    let keys = plan.audit.as_deref().unwrap_or_default();
    let targets: std::collections::BTreeSet<(&str, &str)> = keys
        .iter()
        .map(|k| (k.account.as_str(), k.region.as_str()))
        .collect();
    let summary = plan.summary();
    let counted = summary.report + summary.conflict;
    let mut line = format!(
        "Audit: {} key(s) in {} account-region(s); {counted} finding(s)",
        keys.len(),
        targets.len()
    );
    let severities = summary.severity.line();
    if !severities.is_empty() {
        line.push_str(&format!(": {severities}"));
    }
    if summary.accepted > 0 {
        line.push_str(&format!("; {} accepted", summary.accepted));
    }
    line.push('.');
    line
}

/// A verdict as a table cell.
fn mark(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Pass) => "pass",
        Some(Status::Fail) => "FAIL",
        Some(Status::Unknown) => "unknown",
        Some(Status::NotApplicable) | None => "-",
    }
}

/// The human view: every key with its verdict per control, the findings
/// (as a plan's table), notes and the summary line.
pub fn human(plan: &Plan, style: &Style) -> String {
    let keys = plan.audit.as_deref().unwrap_or_default();
    let mut out = String::new();
    if keys.is_empty() && plan.errors.is_empty() {
        out.push_str("No customer-managed key in the accounts and regions read.\n");
    } else if !keys.is_empty() {
        out.push_str(&key_table(keys, style));
        out.push('\n');
    }
    if !plan.changes.is_empty() {
        out.push('\n');
        out.push_str(&super::table::render(plan, style));
        out.push('\n');
    }
    for note in &plan.notes {
        out.push('\n');
        out.push_str(&style.paint_dim(&format!("Note: {note}")));
    }
    out.push('\n');
    out.push_str(&super::summary_line(plan));
    out.push('\n');
    out
}

fn key_table(keys: &[KeyAudit], style: &Style) -> String {
    let mut table = super::table::styled(style);
    let mut header = vec!["account", "region", "key", "owner", "state"];
    header.extend(controls::ALL.iter().map(|c| c.id));
    header.push("last used");
    table.set_header(header);
    for k in keys {
        let state = match &k.deletion_date {
            Some(date) => format!("{} (deletion {date})", k.state),
            None => k.state.clone(),
        };
        let mut row = vec![
            Cell::new(&k.account),
            Cell::new(&k.region),
            Cell::new(&k.name),
            Cell::new(&k.owner),
            Cell::new(state),
        ];
        for c in &controls::ALL {
            let status = k.status(c.id);
            let mut cell = Cell::new(mark(status));
            if style.color {
                match status {
                    Some(Status::Fail) => cell = cell.fg(Color::Red),
                    Some(Status::Unknown) => cell = cell.fg(Color::Yellow),
                    _ => {}
                }
            }
            row.push(cell);
        }
        row.push(Cell::new(
            k.last_used
                .as_ref()
                .map_or_else(|| "-".to_string(), crate::audit::last_used_text),
        ));
        table.add_row(row);
    }
    table.to_string()
}

/// JUnit XML: a suite per account and region, a test case per key and
/// control; a failed or unknown verdict is a failure (skipped when
/// accepted), not applicable is skipped, unreadable targets are errors.
pub fn junit(plan: &Plan) -> String {
    let keys = plan.audit.as_deref().unwrap_or_default();
    let mut suites: std::collections::BTreeMap<(&str, &str), Vec<&KeyAudit>> =
        std::collections::BTreeMap::new();
    for k in keys {
        suites.entry((&k.account, &k.region)).or_default().push(k);
    }
    for e in &plan.errors {
        suites
            .entry((&e.account, e.region.as_deref().unwrap_or("global")))
            .or_default();
    }
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    let mut body = String::new();
    for ((account, region), keys) in suites {
        let classname = format!("{account}/{region}");
        let (mut n, mut f, mut s) = (0, 0, 0);
        let mut inner = String::new();
        for k in keys {
            for v in &k.verdicts {
                n += 1;
                match case(&mut inner, plan, &classname, k, v) {
                    Case::Failed => f += 1,
                    Case::Skipped => s += 1,
                    Case::Passed => {}
                }
            }
        }
        let mut e = 0;
        for err in plan
            .errors
            .iter()
            .filter(|x| x.account == account && x.region.as_deref().unwrap_or("global") == region)
        {
            e += 1;
            n += 1;
            inner.push_str(&format!(
                "    <testcase name=\"read {}\" classname=\"{}\">\n      <error message=\"{}\" type=\"unreadable\"/>\n    </testcase>\n",
                escape(&classname),
                escape(&classname),
                escape(&err.message)
            ));
        }
        body.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\">\n{inner}  </testsuite>\n",
            escape(&classname)
        ));
        tests += n;
        failures += f;
        errors += e;
        skipped += s;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"c3 audit\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{body}</testsuites>\n"
    )
}

/// How a test case ended.
enum Case {
    Passed,
    Failed,
    Skipped,
}

/// One `<testcase>`: a key's verdict on one control.
fn case(
    out: &mut String,
    plan: &Plan,
    classname: &str,
    k: &KeyAudit,
    v: &crate::audit::Verdict,
) -> Case {
    let control = controls::by_id(&v.control);
    let resource = v.resource.or(control.map(|c| c.resource));
    let name = match v.resource {
        Some(r) => format!("{} {} {r} ({})", k.name, v.control, k.key_id),
        None => format!("{} {} ({})", k.name, v.control, k.key_id),
    };
    out.push_str(&format!(
        "    <testcase name=\"{}\" classname=\"{}\">\n",
        escape(&name),
        escape(classname)
    ));
    // The finding a verdict is reported by: its own (the same control and
    // resource), or the one it shares (CIS's rotation control with KMS.4, a
    // scheduled deletion with KMS.3).
    let reported_by = |c: &crate::plan::Change| {
        let own = c.control.as_deref() == Some(v.control.as_str()) && Some(c.resource) == resource;
        let shared = match c.control.as_deref() {
            Some(id) if id == controls::KMS_4.id => v.control == controls::CIS_ROTATION.id,
            Some(id) if id == controls::KMS_3.id => v.control == controls::C3_KEY_STATE.id,
            _ => false,
        };
        own || shared
    };
    let accepted = plan.changes.iter().any(|c| {
        c.accepted.is_some() && c.key_id.as_deref() == Some(k.key_id.as_str()) && reported_by(c)
    });
    let ended = match v.status {
        Status::Fail | Status::Unknown if !accepted => {
            out.push_str(&format!(
                "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                escape(&v.detail),
                v.severity.map_or("medium", crate::plan::Severity::as_str),
                escape(&v.detail)
            ));
            Case::Failed
        }
        Status::Fail | Status::Unknown => {
            out.push_str("      <skipped message=\"accepted\"/>\n");
            Case::Skipped
        }
        Status::NotApplicable => {
            out.push_str(&format!(
                "      <skipped message=\"{}\"/>\n",
                escape(&v.detail)
            ));
            Case::Skipped
        }
        Status::Pass => Case::Passed,
    };
    out.push_str("    </testcase>\n");
    ended
}
