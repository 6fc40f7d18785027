//! Views of a [`Plan`]: a table with diffs for people, JSON for machines.
//! Nothing here decides anything; colour and format were resolved in
//! [`crate::options`].

pub mod diff;
pub mod json;
pub mod table;

use std::io::{self, Write};

use crate::options::Style;
use crate::plan::Plan;

/// Writes the human view: table, policy diffs, errors, summary line.
pub fn human(out: &mut dyn Write, plan: &Plan, style: &Style) -> io::Result<()> {
    if plan.changes.is_empty() && plan.errors.is_empty() {
        writeln!(
            out,
            "{}",
            style.paint_ok("No differences: every account and region matches keys.toml.")
        )?;
    } else if plan.changes.is_empty() {
        // Targets that could not be read may differ: never call them matching.
        writeln!(out, "No differences in the targets that could be read.")?;
    } else {
        writeln!(out, "{}", table::render(plan, style))?;
        let with_diffs: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| c.diff.is_some() && c.action != crate::plan::ActionKind::Create)
            .collect();
        for change in with_diffs {
            writeln!(out)?;
            diff::write(out, change, style)?;
        }
    }
    if !plan.notes.is_empty() {
        writeln!(out)?;
        for note in &plan.notes {
            writeln!(out, "{}", style.paint_dim(&format!("Note: {note}")))?;
        }
    }
    if !plan.errors.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            style.paint_error(&format!(
                "{} target(s) could not be planned:",
                plan.errors.len()
            ))
        )?;
        for e in &plan.errors {
            let region = e.region.as_deref().unwrap_or("(account)");
            writeln!(out, "  {} {}: {}", e.account, region, e.message)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", plan.summary().line())?;
    Ok(())
}
