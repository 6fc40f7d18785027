//! The plan as a table: account, region, key, resource, action, detail.

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};

use crate::options::Style;
use crate::plan::{ActionKind, Plan, Severity};

fn action_color(action: ActionKind) -> Color {
    match action {
        ActionKind::Create => Color::Green,
        ActionKind::Update => Color::Yellow,
        ActionKind::Repoint | ActionKind::Adopt => Color::Cyan,
        ActionKind::Restore => Color::Blue,
        ActionKind::Report => Color::Magenta,
        ActionKind::Conflict => Color::Red,
    }
}

fn severity_color(severity: Severity) -> Option<Color> {
    match severity {
        Severity::Critical => Some(Color::Red),
        Severity::High => Some(Color::DarkRed),
        Severity::Medium => Some(Color::Yellow),
        Severity::Low | Severity::Info => None,
    }
}

/// An empty table in the style of the run: on a terminal, boxes fitted to
/// its width (`COLUMNS` wins; a terminal that reports no usable size gets
/// 160 columns); elsewhere a Markdown table, one line per row. Coloured only
/// when the style says so.
pub fn styled(style: &Style) -> Table {
    let mut table = Table::new();
    if style.terminal {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        match (style.width, table.width()) {
            (Some(w), _) => {
                table.set_width(w);
            }
            (None, Some(w)) if w >= 60 => {}
            (None, _) => {
                table.set_width(160);
            }
        }
    } else {
        table
            .load_preset(presets::ASCII_MARKDOWN)
            .set_content_arrangement(ContentArrangement::Disabled);
    }
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// Renders the table. On a terminal it fits the width; elsewhere it is a
/// Markdown table, one line per change, ready to paste into a pull request.
pub fn render(plan: &Plan, style: &Style) -> String {
    let mut table = styled(style);
    table.set_header(vec![
        "account", "region", "key", "resource", "action", "severity", "detail",
    ]);
    for c in &plan.changes {
        let action = if c.executable() {
            c.action().as_str().to_string()
        } else if c.accepted.is_some() {
            format!("{} (accepted)", c.action())
        } else {
            format!("{} (not applied)", c.action())
        };
        let mut action_cell = Cell::new(action);
        if style.color {
            action_cell = if c.accepted.is_some() {
                action_cell.fg(Color::DarkGrey)
            } else {
                action_cell.fg(action_color(c.action()))
            };
        }
        let mut severity_cell = Cell::new(c.severity.as_str());
        if style.color {
            if let Some(color) = severity_color(c.severity) {
                severity_cell = severity_cell.fg(color);
            }
            if c.severity == Severity::Critical {
                severity_cell = severity_cell.add_attribute(comfy_table::Attribute::Bold);
            }
        }
        let mut detail = c.detail.clone();
        if let Some(a) = &c.accepted {
            detail.push_str(&format!(
                " [accepted until {} by {}: {}]",
                a.expires, a.at, a.reason
            ));
        }
        if !style.terminal {
            detail = detail.replace('|', "\\|");
        }
        table.add_row(vec![
            Cell::new(&c.account),
            Cell::new(c.region.as_deref().unwrap_or("(global)")),
            Cell::new(&c.key),
            Cell::new(c.resource.as_str()),
            action_cell,
            severity_cell,
            Cell::new(detail),
        ]);
    }
    table.to_string()
}
