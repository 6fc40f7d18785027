//! Markdown for `$GITHUB_STEP_SUMMARY` and pull request comments
//! (`--output markdown`): counts by severity and action, counted findings by
//! severity, accepted findings, errors, and each policy diff in a fenced
//! `diff` block; at most [`LIMIT`] bytes, cut with a note. See docs/reports.md.

use crate::options::Style;
use crate::plan::{Change, Plan, Severity};

use super::report::region_name;

/// GitHub's limit for a job summary and a comment body: 1 MiB.
pub const LIMIT: usize = 1024 * 1024;

/// The Markdown report of a plan, at most [`LIMIT`] bytes.
pub fn render(plan: &Plan) -> String {
    render_within(plan, LIMIT)
}

/// A table cell: one line, no `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\r', "")
        .replace('\n', "<br>")
}

fn row(c: &Change) -> String {
    format!(
        "| {} | {} | {} | {} | {} | {} |\n",
        cell(&c.account),
        region_name(c.region.as_deref()),
        cell(&c.key),
        c.resource,
        if c.executable() {
            format!("{}", c.action())
        } else {
            format!("{} (not applied)", c.action())
        },
        cell(&c.detail)
    )
}

fn head(plan: &Plan) -> String {
    let summary = plan.summary();
    let mut out = String::from(if plan.audit.is_some() {
        "# c3 audit\n\n"
    } else {
        "# c3 plan\n\n"
    });
    out.push_str(&format!("{}\n\n", super::summary_line(plan)));
    out.push_str("| severity | counted |\n| --- | ---: |\n");
    for s in Severity::ALL {
        out.push_str(&format!("| {s} | {} |\n", summary.severity.get(s)));
    }
    out.push_str(&format!("| accepted | {} |\n\n", summary.accepted));
    out.push_str("| action | counted |\n| --- | ---: |\n");
    for (name, n) in [
        ("create", summary.create),
        ("update", summary.update),
        ("repoint", summary.repoint),
        ("restore", summary.restore),
        ("adopt", summary.adopt),
        ("report", summary.report),
        ("conflict", summary.conflict),
    ] {
        out.push_str(&format!("| {name} | {n} |\n"));
    }
    out
}

/// The sections after the head, each a piece that is kept or cut whole.
fn pieces(plan: &Plan) -> Vec<String> {
    const TABLE: &str =
        "| account | region | key | resource | action | detail |\n| --- | --- | --- | --- | --- | --- |\n";
    let mut out = Vec::new();
    for s in Severity::ALL {
        let rows: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.counts() && c.severity == s)
            .collect();
        if !rows.is_empty() {
            out.push(format!("\n## {} ({})\n\n{TABLE}", capital(s), rows.len()));
            out.extend(rows.into_iter().map(row));
        }
    }
    let accepted: Vec<&Change> = plan.changes.iter().filter(|c| !c.counts()).collect();
    if !accepted.is_empty() {
        out.push(format!(
            "\n## Accepted ({})\n\n| account | region | key | resource | severity | detail | reason | until | entry |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
            accepted.len()
        ));
        for c in accepted {
            if let Some(a) = &c.accepted {
                out.push(format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                    cell(&c.account),
                    region_name(c.region.as_deref()),
                    cell(&c.key),
                    c.resource,
                    c.severity,
                    cell(&c.detail),
                    cell(&a.reason),
                    a.expires,
                    cell(&a.at)
                ));
            }
        }
    }
    if !plan.errors.is_empty() {
        out.push(format!("\n## Errors ({})\n\n", plan.errors.len()));
        for e in &plan.errors {
            out.push(format!(
                "- {} {}: {}\n",
                e.account,
                region_name(e.region.as_deref()),
                cell(&e.message)
            ));
        }
    }
    // As in the human view: no diff for what is created whole.
    let diffs: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.diff.is_some() && c.action() != crate::plan::ActionKind::Create)
        .collect();
    if !diffs.is_empty() {
        out.push("\n## Policy diffs\n".to_string());
        out.extend(diffs.into_iter().map(diff_block));
    }
    if !plan.notes.is_empty() || !plan.warnings.is_empty() {
        out.push("\n## Notes\n\n".to_string());
        for n in plan.warnings.iter().chain(&plan.notes) {
            out.push(format!("- {}\n", cell(n)));
        }
    }
    out
}

fn capital(s: Severity) -> String {
    let t = s.as_str();
    t[..1].to_uppercase() + &t[1..]
}

/// What a policy diff is about: the managed policy's name, `key policy`
/// for a key policy.
fn policy_name(c: &Change) -> String {
    use crate::plan::Operation;
    match c.operation() {
        Some(Operation::CreatePolicy { name, .. }) => name.clone(),
        Some(Operation::UpdatePolicy { arn, .. }) => {
            arn.rsplit('/').next().unwrap_or(arn).to_string()
        }
        _ if c.resource == crate::plan::Resource::KeyPolicy => "key policy".to_string(),
        _ => c.subject.clone(),
    }
}

/// A diff under a heading that names the policy (account, region, key,
/// resource, and the policy's name).
fn diff_block(c: &Change) -> String {
    let Some(d) = &c.diff else {
        return String::new();
    };
    let mut body = super::diff::render(c, &Style::plain());
    // Drop the diff renderer's own header line; the heading says it.
    if let Some(i) = body.find('\n') {
        body.drain(..=i);
    }
    if body.is_empty() {
        body = format!("+{}\n", d.after.trim_end().replace('\n', "\n+"));
    }
    let fence = if body.contains("```") { "````" } else { "```" };
    format!(
        "\n### {} {} {} {} `{}` ({})\n\n{fence}diff\n{body}{fence}\n",
        c.account,
        region_name(c.region.as_deref()),
        c.key,
        c.resource,
        policy_name(c).replace('`', "'"),
        c.action()
    )
}

/// The report, cut before the first piece that would take it past `limit`
/// bytes, with a note of how much was left out.
pub fn render_within(plan: &Plan, limit: usize) -> String {
    const ROOM: usize = 512;
    let mut out = head(plan);
    let pieces = pieces(plan);
    let mut left = 0usize;
    let mut left_bytes = 0usize;
    for p in pieces {
        if left > 0 || out.len() + p.len() + ROOM > limit {
            left += 1;
            left_bytes += p.len();
        } else {
            out.push_str(&p);
        }
    }
    if left > 0 {
        out.push_str(&format!(
            "\n> **Cut:** {left} more row(s) or section(s) ({left_bytes} bytes) were left out to stay under {} KiB; see the JSON plan (`c3 plan --out plan.json`, `c3 show plan.json`).\n",
            limit / 1024
        ));
    }
    out
}
