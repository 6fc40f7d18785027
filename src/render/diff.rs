//! Unified diffs of normalised policy documents.

use similar::{ChangeTag, TextDiff};

use crate::options::Style;
use crate::plan::Change;

/// The diff of one change, headed by its place, and for a managed policy
/// its name (empty when it has none).
pub fn render(change: &Change, style: &Style) -> String {
    let Some(d) = &change.diff else {
        return String::new();
    };
    let region = change.region.as_deref().unwrap_or("(global)");
    // A key has several managed policies: the header names the one it is.
    let policy = if change.resource == crate::plan::Resource::IamPolicy {
        format!(" {}", change.subject)
    } else {
        String::new()
    };
    let mut out = style.paint_bold(&format!(
        "{} {} {} {}{policy} ({}):",
        change.account,
        region,
        change.key,
        change.resource,
        change.action()
    ));
    out.push('\n');
    let diff = TextDiff::from_lines(&d.before, &d.after);
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&style.paint_dim(&hunk.header().to_string()));
        out.push('\n');
        for op in hunk.iter_changes() {
            let line = op.to_string_lossy();
            let line = line.trim_end_matches('\n');
            let text = match op.tag() {
                ChangeTag::Delete => style.paint_removed(&format!("-{line}")),
                ChangeTag::Insert => style.paint_added(&format!("+{line}")),
                ChangeTag::Equal => format!(" {line}"),
            };
            out.push_str(&text);
            out.push('\n');
        }
    }
    out
}
