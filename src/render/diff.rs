//! Unified diffs of normalised policy documents.

use std::io::{self, Write};

use similar::{ChangeTag, TextDiff};

use crate::options::Style;
use crate::plan::Change;

/// Writes the diff of one change (nothing when it has none).
pub fn write(out: &mut dyn Write, change: &Change, style: &Style) -> io::Result<()> {
    let Some(d) = &change.diff else {
        return Ok(());
    };
    let region = change.region.as_deref().unwrap_or("(global)");
    writeln!(
        out,
        "{}",
        style.paint_bold(&format!(
            "{} {} {} {} ({}):",
            change.account, region, change.key, change.resource, change.action
        ))
    )?;
    let diff = TextDiff::from_lines(&d.before, &d.after);
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        writeln!(out, "{}", style.paint_dim(&hunk.header().to_string()))?;
        for op in hunk.iter_changes() {
            let line = op.to_string_lossy();
            let line = line.trim_end_matches('\n');
            let text = match op.tag() {
                ChangeTag::Delete => style.paint_removed(&format!("-{line}")),
                ChangeTag::Insert => style.paint_added(&format!("+{line}")),
                ChangeTag::Equal => format!(" {line}"),
            };
            writeln!(out, "{text}")?;
        }
    }
    Ok(())
}
