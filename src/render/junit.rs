//! JUnit XML (`--output junit`) for GitLab and Jenkins test reports: a
//! `<testsuite>` per account and region (IAM as `global`), a `<testcase>`
//! per key and resource with a change (one per change, the subject added when a
//! resource has several), a `<failure>` per counted change
//! (findings and executable changes alike: both are drift), accepted
//! findings `<skipped>`, unreadable targets an `<error>`. See docs/reports.md.

use std::collections::BTreeMap;

use super::report::region_name;
use crate::plan::{Change, Plan, PlanError};

/// Escapes text for an XML attribute or element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Suite<'a> {
    cases: BTreeMap<(&'a str, &'a str), Vec<&'a Change>>,
    errors: Vec<&'a PlanError>,
}

/// One test case per change: `<failure>` when it counts, `<skipped>` when
/// accepted. Returns (failures, skipped).
fn case(out: &mut String, classname: &str, name: &str, c: &Change) -> (usize, usize) {
    out.push_str(&format!(
        "    <testcase name=\"{}\" classname=\"{}\">\n",
        escape(name),
        escape(classname)
    ));
    let counts = if let Some(a) = c.accepted.as_ref().filter(|_| !c.counts()) {
        out.push_str(&format!(
            "      <skipped message=\"{}\"/>\n",
            escape(&format!(
                "accepted: {} (until {}, {}): {}",
                a.reason, a.expires, a.at, c.detail
            ))
        ));
        (0, 1)
    } else {
        out.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{} {} ({}): {}</failure>\n",
            escape(&c.detail),
            c.severity,
            c.action(),
            if c.executable() {
                "(apply fixes it)"
            } else {
                "(not applied)"
            },
            c.severity,
            escape(&c.detail)
        ));
        (1, 0)
    };
    out.push_str("    </testcase>\n");
    counts
}

/// The JUnit XML of a plan.
pub fn render(plan: &Plan) -> String {
    let mut suites: BTreeMap<(&str, &str), Suite> = BTreeMap::new();
    for c in &plan.changes {
        let suite = suites
            .entry((&c.account, region_name(c.region.as_deref())))
            .or_default();
        suite
            .cases
            .entry((&c.key, c.resource.as_str()))
            .or_default()
            .push(c);
    }
    for e in &plan.errors {
        suites
            .entry((&e.account, region_name(e.region.as_deref())))
            .or_default()
            .errors
            .push(e);
    }
    let mut body = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for ((account, region), suite) in &suites {
        let classname = format!("{account}/{region}");
        let mut inner = String::new();
        let (mut f, mut s) = (0, 0);
        for ((key, resource), changes) in &suite.cases {
            for c in changes {
                let name = if changes.len() > 1 {
                    format!("{key} {resource} {}", c.subject)
                } else {
                    format!("{key} {resource}")
                };
                let (cf, cs) = case(&mut inner, &classname, &name, c);
                f += cf;
                s += cs;
            }
        }
        for e in &suite.errors {
            inner.push_str(&format!(
                "    <testcase name=\"read {}\" classname=\"{}\">\n      <error message=\"{}\" type=\"unreadable\"/>\n    </testcase>\n",
                escape(&classname),
                escape(&classname),
                escape(&e.message)
            ));
        }
        let n = suite.cases.values().map(Vec::len).sum::<usize>() + suite.errors.len();
        body.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{f}\" errors=\"{}\" skipped=\"{s}\">\n{inner}  </testsuite>\n",
            escape(&classname),
            suite.errors.len()
        ));
        tests += n;
        failures += f;
        errors += suite.errors.len();
        skipped += s;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"c3 plan\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{body}</testsuites>\n"
    )
}
