//! Views of a [`Plan`] and of an apply: tables with diffs for people, JSON
//! for machines, errors and progress for stderr. Nothing here decides
//! anything; colour, format and progress were resolved once, into the
//! [`printer::Printer`] that is the only writer to the terminal.

pub mod audit;
pub mod diff;
pub mod errors;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod outcome;
pub mod printer;
pub mod progress;
pub mod report;
pub mod sarif;
pub mod table;
pub mod waves;

use std::collections::BTreeMap;
use std::io;

use crate::options::Style;
use crate::plan::Plan;
pub use printer::Printer;

/// The human view of a plan (stdout): table, policy diffs, notes, summary.
/// Errors are not part of it: see [`errors()`].
pub fn human(plan: &Plan, style: &Style) -> String {
    if plan.audit.is_some() {
        return audit::human(plan, style);
    }
    let mut out = String::new();
    if let Some(by_wave) = waves::human_by_wave(plan, style) {
        out.push_str(&by_wave);
    } else if let Some(view) = &plan.rollout {
        out.push_str(&waves::discovered(view));
    }
    if plan.rollout.as_ref().is_some_and(|v| !v.waves.is_empty()) {
        // The waves above carry the tables.
    } else if plan.changes.is_empty() && plan.errors.is_empty() {
        out.push_str(
            &style.paint_ok("No differences: every account and region matches keys.toml."),
        );
        out.push('\n');
    } else if !plan.changes.is_empty() {
        out.push_str(&table::render(plan, style));
        out.push('\n');
        for change in plan
            .changes
            .iter()
            .filter(|c| c.diff.is_some() && c.action() != crate::plan::ActionKind::Create)
        {
            out.push('\n');
            out.push_str(&diff::render(change, style));
        }
    }
    if !plan.notes.is_empty() {
        out.push('\n');
        for note in &plan.notes {
            out.push_str(&style.paint_dim(&format!("Note: {note}")));
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(&summary_line(plan));
    out.push('\n');
    out
}

/// The summary line; with errors, it says how many targets could not be
/// read, so an incomplete plan never reads as a clean one.
pub fn summary_line(plan: &Plan) -> String {
    let line = if plan.audit.is_some() {
        audit::summary_line(plan)
    } else {
        plan.summary().line()
    };
    match plan.errors.len() {
        0 => line,
        n => format!("{line} {n} account(s) or region(s) could not be read: see the errors."),
    }
}

/// Writes a plan's errors to stderr, the same error of several places once.
/// `names` maps account ids to their names in keys.toml.
pub fn errors(printer: &Printer, plan: &Plan, names: &BTreeMap<String, String>) {
    for block in errors::blocks(&plan.errors, names) {
        printer.error(&block.text());
    }
}

#[cfg(test)]
mod tests;

/// Writes the human view of a plan to stdout.
pub fn write_human(printer: &Printer, plan: &Plan) -> io::Result<()> {
    printer.out(&human(plan, &printer.style))
}
