//! `c3 baseline`: plan (read-only), then print an `[[accept]]` entry for
//! every finding that no entry accepts yet, ready to append to keys.toml.

use std::collections::BTreeMap;

use crate::cli::{BaselineArgs, Cli};
use crate::exit::ExitStatus;
use crate::model::Date;
use crate::plan::{Change, Plan};
use crate::render::Printer;

pub(crate) async fn run(
    cli: &Cli,
    args: &BaselineArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let Some(super::Planned { desired, plan, .. }) =
        super::load_and_plan(cli, args.parallelism, &args.scope, None, printer).await
    else {
        return Ok(ExitStatus::Failure);
    };
    let names = super::account_names(&desired);
    crate::render::errors(printer, &plan, &names);
    super::warn_plan(printer, &plan);
    let text = entries(&plan, &names, &args.reason, args.expires);
    if !text.is_empty() {
        printer.out(&text)?;
    }
    let count = text.matches("[[accept]]").count();
    printer.info(&format!(
        "{count} [[accept]] entr{} for {} finding(s) not accepted yet{}",
        if count == 1 { "y" } else { "ies" },
        unaccepted(&plan).count(),
        if count > 0 {
            "; review them, then append them to keys.toml"
        } else {
            ""
        }
    ));
    Ok(if plan.errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The findings no entry accepts.
fn unaccepted(plan: &Plan) -> impl Iterator<Item = &Change> {
    plan.changes
        .iter()
        .filter(|c| !c.executable() && c.accepted.is_none())
}

/// The `[[accept]]` entries, as TOML text: one per finding, findings with
/// the same selectors sharing one. `names` maps account ids to names.
pub(crate) fn entries(
    plan: &Plan,
    names: &BTreeMap<String, String>,
    reason: &str,
    expires: Date,
) -> String {
    // Selectors → the findings they accept, in plan order.
    let mut order: Vec<Vec<(&str, String)>> = Vec::new();
    let mut findings: BTreeMap<Vec<(&str, String)>, Vec<&Change>> = BTreeMap::new();
    for c in unaccepted(plan) {
        let account = names.get(&c.account).unwrap_or(&c.account).clone();
        let mut selectors = vec![("account", account)];
        if let Some(region) = &c.region {
            selectors.push(("region", region.clone()));
        }
        selectors.push(("key", c.key.clone()));
        selectors.push(("resource", c.resource.as_str().to_string()));
        selectors.push(("subject", c.subject.clone()));
        let list = findings.entry(selectors.clone()).or_default();
        if list.is_empty() {
            order.push(selectors);
        }
        list.push(c);
    }
    let mut out = String::new();
    for selectors in order {
        let Some(list) = findings.get(&selectors) else {
            continue;
        };
        out.push('\n');
        for c in list {
            out.push_str(&format!(
                "# {} {}: {}\n",
                c.severity,
                c.action(),
                one_line(&c.detail, 160)
            ));
        }
        out.push_str("[[accept]]\n");
        for (field, value) in &selectors {
            out.push_str(&format!("{field:<8} = {}\n", quoted(value)));
        }
        out.push_str(&format!("reason   = {}\n", quoted(reason)));
        out.push_str(&format!("expires  = {expires}\n"));
    }
    out
}

/// A TOML basic string.
fn quoted(value: &str) -> String {
    let mut out = String::from('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text on one line, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let head: String = flat.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ChangeKind, Finding, Resource, Severity};

    fn finding(resource: Resource, subject: &str, region: Option<&str>) -> Change {
        Change {
            account: "111111111111".into(),
            region: region.map(str::to_string),
            key: "payments".into(),
            resource,
            severity: Severity::Medium,
            detail: "a \"quoted\"\nthing".into(),
            diff: None,
            kind: ChangeKind::Finding(Finding::Report),
            subject: subject.into(),
            accepted: None,
            fingerprint: String::new(),
            key_id: None,
            key_arn: None,
            control: None,
        }
    }

    #[test]
    fn one_entry_per_finding_that_reads_back_as_an_accept_entry() {
        let plan = Plan {
            changes: vec![
                finding(Resource::KeyPolicy, "Analytics", Some("eu-west-1")),
                finding(Resource::IamPolicy, "allow-decrypt-payments", None),
                finding(Resource::KeyPolicy, "Analytics", Some("eu-west-1")),
            ],
            ..Plan::default()
        };
        let names = BTreeMap::from([("111111111111".to_string(), "prod".to_string())]);
        let expires = Date::parse("2027-03-01").unwrap_or_else(|e| panic!("{e}"));
        let text = entries(&plan, &names, "INC-1 \"ok\"", expires);
        assert_eq!(text.matches("[[accept]]").count(), 2, "{text}");
        assert!(text.contains(
            "\n# medium report: a \"quoted\" thing\n# medium report: a \"quoted\" thing\n[[accept]]\naccount  = \"prod\"\nregion   = \"eu-west-1\"\nkey      = \"payments\"\nresource = \"key_policy\"\nsubject  = \"Analytics\"\nreason   = \"INC-1 \\\"ok\\\"\"\nexpires  = 2027-03-01\n"
        ), "{text}");
        let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let accept = parsed.get("accept").and_then(toml::Value::as_array);
        assert_eq!(accept.map(Vec::len), Some(2));
        let iam = accept.and_then(|a| a[1].as_table());
        assert_eq!(iam.and_then(|t| t.get("region")), None);
    }
}
