//! The JSON plan document (`--output json`, `--out plan.json`).
//!
//! A wire format: `format_version` changes only when a field is renamed or
//! its meaning changes; fields may be added. See docs/output-json.md.

use serde::{Deserialize, Serialize};

use crate::plan::{Change, Plan, PlanError, Summary, FORMAT_VERSION};

/// The document as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDocument {
    /// Always 1 for this format.
    pub format_version: u32,
    /// Every difference.
    pub changes: Vec<Change>,
    /// Targets or accounts that could not be planned.
    pub errors: Vec<PlanError>,
    /// Counts per action and per severity.
    pub summary: Summary,
    /// What the plan did not look at, and why (a selection, a setting).
    #[serde(default)]
    pub notes: Vec<String>,
    /// `[[accept]]` entries that expired or accept nothing, each starting
    /// with its place in keys.toml (`keys.toml:42: …`).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl PlanDocument {
    /// The document of a plan.
    pub fn of(plan: &Plan) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            changes: plan.changes.clone(),
            errors: plan.errors.clone(),
            summary: plan.summary(),
            notes: plan.notes.clone(),
            warnings: plan.warnings.clone(),
        }
    }

    /// The plan it describes.
    pub fn into_plan(self) -> Plan {
        Plan {
            changes: self.changes,
            errors: self.errors,
            notes: self.notes,
            warnings: self.warnings,
        }
    }
}

/// Pretty JSON with a trailing newline.
pub fn to_string(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&PlanDocument::of(plan))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
