//! What apply did, and why it refused: the outcome table, its summary line,
//! and the one-line refusal of a saved plan that no longer holds.

use comfy_table::{presets, Cell, ContentArrangement, Table};

use crate::apply::{Outcome, Status};
use crate::options::Style;
use crate::plan::Change;

/// The outcome table: one row per executable change, in plan order; a
/// managed policy's row names it, and rows that would read the same are one
/// with their count (`done (2 changes)`).
pub fn table(outcomes: &[Outcome], style: &Style) -> String {
    let mut table = Table::new();
    if style.terminal {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if table.width().is_none_or(|w| w < 60) {
            table.set_width(style.width.unwrap_or(160));
        }
    } else {
        table.load_preset(presets::ASCII_MARKDOWN);
    }
    if !style.color {
        table.force_no_tty();
    }
    table.set_header(vec![
        "account", "region", "key", "resource", "action", "outcome",
    ]);
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| order(&a.change).cmp(&order(&b.change)));
    // Rows that read the same (one key's changes of a resource) are one row
    // with their count.
    let mut rows: Vec<([String; 6], usize)> = Vec::new();
    for o in sorted {
        let c = &o.change;
        let outcome = match &o.status {
            Status::Done => "done".to_string(),
            Status::Failed(why) => format!("failed: {why}"),
            Status::NotAttempted(why) => format!("not attempted: {why}"),
        };
        let row = [
            c.account.clone(),
            c.region.as_deref().unwrap_or("(global)").to_string(),
            c.key.clone(),
            resource(c),
            c.action().as_str().to_string(),
            outcome,
        ];
        match rows.last_mut() {
            Some((last, n)) if *last == row => *n += 1,
            _ => rows.push((row, 1)),
        }
    }
    for (mut row, n) in rows {
        if n > 1 {
            row[5] = format!("{} ({n} changes)", row[5]);
        }
        table.add_row(row.into_iter().map(Cell::new).collect::<Vec<_>>());
    }
    table.to_string()
}

/// The resource of a row: a managed policy with its name
/// (`iam_policy allow-decrypt-payments`), since a key has several.
fn resource(c: &Change) -> String {
    if c.resource == crate::plan::Resource::IamPolicy {
        format!("{} {}", c.resource, c.subject)
    } else {
        c.resource.as_str().to_string()
    }
}

fn order(c: &Change) -> (&str, bool, Option<&str>, &str, crate::plan::Resource, &str) {
    (
        c.account.as_str(),
        c.region.is_none(),
        c.region.as_deref(),
        c.key.as_str(),
        c.resource,
        if c.resource == crate::plan::Resource::IamPolicy {
            c.subject.as_str()
        } else {
            ""
        },
    )
}

/// `Apply: 3 done, 1 failed, 0 not attempted.`
pub fn summary(outcomes: &[Outcome]) -> String {
    let count = |f: fn(&Status) -> bool| outcomes.iter().filter(|o| f(&o.status)).count();
    format!(
        "Apply: {} done, {} failed, {} not attempted.",
        count(|s| matches!(s, Status::Done)),
        count(|s| matches!(s, Status::Failed(_))),
        count(|s| matches!(s, Status::NotAttempted(_))),
    )
}

/// `111111111111 eu-west-1 payments rotation update`
fn row(c: &Change) -> String {
    format!(
        "{} {} {} {} {}",
        c.account,
        c.region.as_deref().unwrap_or("(global)"),
        c.key,
        resource(c),
        c.action()
    )
}

/// Why a saved plan is refused, in one line: which rows differ from a fresh
/// plan, or, when every row reads the same, that the file was modified
/// (what apply would do differs from what a plan of today would write).
pub fn stale_plan(path: &str, saved: &[Change], fresh: &[Change]) -> String {
    let shown = |c: &Change| (row(c), c.detail.clone());
    let saved_rows: Vec<(String, String)> = saved.iter().map(shown).collect();
    let fresh_rows: Vec<(String, String)> = fresh.iter().map(shown).collect();
    let gone: Vec<&str> = saved_rows
        .iter()
        .filter(|r| !fresh_rows.contains(r))
        .map(|r| r.0.as_str())
        .collect();
    let new: Vec<&str> = fresh_rows
        .iter()
        .filter(|r| !saved_rows.contains(r))
        .map(|r| r.0.as_str())
        .collect();
    let what = if gone.is_empty() && new.is_empty() {
        "it was modified after c3 wrote it (its rows read like a fresh plan's, but what apply would do differs)".to_string()
    } else {
        let mut parts = Vec::new();
        if !gone.is_empty() {
            parts.push(format!("no longer true: {}", list(&gone)));
        }
        if !new.is_empty() {
            parts.push(format!("new since: {}", list(&new)));
        }
        format!(
            "the accounts changed since it was made ({})",
            parts.join("; ")
        )
    };
    format!(
        "the saved plan {path} no longer holds: {what}; nothing was changed. Run `c3 plan --out {path}` again and review it."
    )
}

/// At most three items, then a count of the rest.
fn list(items: &[&str]) -> String {
    let shown: Vec<&str> = items.iter().take(3).copied().collect();
    match items.len() {
        n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ActionKind, ChangeKind, Operation, Resource, Severity};

    fn change(detail: &str) -> Change {
        Change {
            account: "111111111111".into(),
            region: Some("eu-west-1".into()),
            key: "payments".into(),
            resource: Resource::Rotation,
            severity: Severity::Medium,
            detail: detail.into(),
            diff: None,
            kind: ChangeKind::Action {
                action: ActionKind::Update,
                operation: Operation::EnableRotation {
                    key_id: "k".into(),
                    rotation_days: 365,
                },
            },
            subject: "payments".into(),
            accepted: None,
            fingerprint: String::new(),
            key_id: None,
            key_arn: None,
            control: None,
        }
    }

    #[test]
    fn a_stale_plan_names_the_rows_and_an_edited_one_says_so() {
        let saved = vec![change("rotation is off")];
        let line = stale_plan("p.json", &saved, &[]);
        assert_eq!(
            line,
            "the saved plan p.json no longer holds: the accounts changed since it was made (no longer true: 111111111111 eu-west-1 payments rotation update); nothing was changed. Run `c3 plan --out p.json` again and review it."
        );
        assert!(!line.contains('\n'));
        let mut edited = change("rotation is off");
        edited.severity = Severity::Info;
        let line = stale_plan("p.json", &[edited], &saved);
        assert!(line.contains("it was modified after c3 wrote it"), "{line}");
    }

    #[test]
    fn the_outcome_table_names_each_policy_and_counts_rows_that_read_the_same() {
        let policy = |name: &str| {
            let mut c = change("create");
            c.region = None;
            c.resource = Resource::IamPolicy;
            c.subject = name.into();
            Outcome {
                change: c,
                status: Status::Done,
            }
        };
        let rotation = || Outcome {
            change: change("rotation is off"),
            status: Status::Done,
        };
        let outcomes = [
            policy("allow-encrypt-payments"),
            policy("allow-decrypt-payments"),
            rotation(),
            rotation(),
        ];
        let text = table(&outcomes, &Style::plain());
        for name in ["allow-encrypt-payments", "allow-decrypt-payments"] {
            let line = format!("iam_policy {name} | update | done ");
            assert_eq!(text.matches(&line).count(), 1, "{text}");
        }
        assert_eq!(text.matches("| rotation").count(), 1, "{text}");
        assert!(text.contains("done (2 changes)"), "{text}");
    }
}
