//! The JSON plan document (`--output json`, `--out plan.json`).
//!
//! A wire format: `format_version` changes only when a field is renamed or
//! its meaning changes; fields may be added. Format 2 adds the plan's
//! metadata (`c3_version`, `created_at`, `config`, `selection`) and each
//! change's `key_id`/`key_arn` to format 1, which c3 still reads. See
//! docs/output-json.md and schema/plan.schema.json.

use serde::{Deserialize, Serialize};

use crate::plan::{
    Change, ConfigRef, Plan, PlanError, PlanMeta, Selection, Summary, FORMAT_VERSION,
};

/// The document as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDocument {
    /// 2 as written by this c3; 1 for documents of older versions.
    pub format_version: u32,
    /// The version of c3 that wrote the document (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c3_version: Option<String>,
    /// When the plan was made, RFC 3339 UTC (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The keys.toml it was made from: path and SHA-256 (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigRef>,
    /// What the run was limited to (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
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
    /// `c3 audit` only: every key it judged, with a verdict per control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Vec<crate::audit::KeyAudit>>,
    /// The accounts discovered from AWS Organizations and the waves of
    /// `[rollout]`, when keys.toml has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::plan::rollout::RolloutView>,
}

impl PlanDocument {
    /// The document of a plan: format 2 with its metadata; a plan without
    /// metadata (made by the planner alone, or merged from format 1 plans)
    /// is written as format 1, which says it records neither.
    pub fn of(plan: &Plan) -> Self {
        let meta = plan.meta.clone();
        let (c3_version, created_at, config, selection) = match meta {
            Some(m) => (
                Some(m.c3_version),
                Some(m.created_at),
                Some(m.config),
                Some(m.selection),
            ),
            None => (None, None, None, None),
        };
        Self {
            format_version: if config.is_some() { FORMAT_VERSION } else { 1 },
            c3_version,
            created_at,
            config,
            selection,
            changes: plan.changes.clone(),
            errors: plan.errors.clone(),
            summary: plan.summary(),
            notes: plan.notes.clone(),
            warnings: plan.warnings.clone(),
            audit: plan.audit.clone(),
            rollout: plan.rollout.clone(),
        }
    }

    /// The plan it describes; its metadata when the document has a
    /// `config` (format 2), else none.
    pub fn into_plan(self) -> Plan {
        let meta = self.config.map(|config| PlanMeta {
            c3_version: self.c3_version.unwrap_or_default(),
            created_at: self.created_at.unwrap_or_default(),
            config,
            selection: self.selection.unwrap_or_default(),
        });
        Plan {
            changes: self.changes,
            errors: self.errors,
            notes: self.notes,
            warnings: self.warnings,
            meta,
            audit: self.audit,
            rollout: self.rollout,
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
