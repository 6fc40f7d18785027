//! The planner: desired state + live state in, plan out. Synchronous, no I/O.
//!
//! Every row of design.md's table "Plan: each difference and what apply does
//! with it" is decided here. A [`Change`] is either executable (it carries an
//! [`Operation`]) or a finding that apply only reports. The planner never
//! produces an operation that removes anything (see [`action`]).
//!
//! This module must not import the AWS SDK, tokio, or anything that touches
//! the file system, the environment or the clock (`scripts/check-planner-imports.sh`).

pub mod action;
pub mod desired;
mod iam;
mod kms;
mod scope;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use action::{KeyRef, Operation};

use crate::model::{DesiredState, LiveState, ReadFailure};

/// The format version of the JSON plan document.
pub const FORMAT_VERSION: u32 = 1;

/// What a change is about (the `resource` field of the JSON document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// The KMS key itself (existence, description).
    Key,
    /// `alias/<name>`.
    Alias,
    /// Automatic rotation.
    Rotation,
    /// The key policy.
    KeyPolicy,
    /// Tags on the key.
    Tags,
    /// Enabled / Disabled / PendingDeletion.
    KeyState,
    /// A managed IAM policy (region is null).
    IamPolicy,
    /// A grant on the key.
    Grant,
}

impl Resource {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Alias => "alias",
            Self::Rotation => "rotation",
            Self::KeyPolicy => "key_policy",
            Self::Tags => "tags",
            Self::KeyState => "key_state",
            Self::IamPolicy => "iam_policy",
            Self::Grant => "grant",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a change is classified (the `action` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Something is missing and will be created.
    Create,
    /// Something exists and gains what it lacks.
    Update,
    /// The alias moves to the key of the current generation.
    Repoint,
    /// A Disabled or PendingDeletion key is restored.
    Restore,
    /// The alias is pointed at a c3 key that a previous run created.
    Adopt,
    /// A difference apply will never execute.
    Report,
    /// Something c3 does not manage stands where a c3 resource should be.
    Conflict,
}

impl ActionKind {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Repoint => "repoint",
            Self::Restore => "restore",
            Self::Adopt => "adopt",
            Self::Report => "report",
            Self::Conflict => "conflict",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The risk of the live state a change is about, not the size of its fix
/// (design.md, "Severity"). Ordered from `info` to `critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Realises a new declaration (a create, a generation bump).
    Info,
    /// Tags or description differ, undeclared tags, orphans.
    Low,
    /// Rotation off, a foreign statement or grant within the account, a
    /// principal that no longer exists.
    Medium,
    /// Another account's principal, a disabled key, a conflict, a managed
    /// policy that grants on keys c3 does not declare.
    High,
    /// The key is usable by anyone, or scheduled for deletion.
    Critical,
}

impl Severity {
    /// Every severity, from the highest.
    pub const ALL: [Severity; 5] = [
        Self::Critical,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::Info,
    ];

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy document before and after a change, both normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDiff {
    /// The live document (empty when it does not exist).
    pub before: String,
    /// The document apply writes.
    pub after: String,
}

/// One difference between keys.toml and an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The 12-digit account id.
    pub account: String,
    /// The region; `None` for IAM policies (global).
    pub region: Option<String>,
    /// The key name.
    pub key: String,
    /// What the change is about.
    pub resource: Resource,
    /// How it is classified.
    pub action: ActionKind,
    /// Whether apply executes it (exactly when it has an operation).
    pub executable: bool,
    /// The risk of the live state it is about.
    pub severity: Severity,
    /// Human-readable text.
    pub detail: String,
    /// For policy changes: the normalised documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<PolicyDiff>,
    /// What apply does (only for executable changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// A target or account that could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlanError {
    /// The account id.
    pub account: String,
    /// The region, or `None` for the account as a whole.
    pub region: Option<String>,
    /// What went wrong: `Operation: Code: message`.
    pub message: String,
    /// The API operation that failed, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// AWS's error code, when AWS answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The cause without the operation (`Code: message`), for grouping the
    /// same error of several places.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cause: String,
    /// What to do about it, when c3 knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The request id, for AWS support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl PlanError {
    /// An error of the planner itself (not a failed call).
    pub fn new(account: &str, region: Option<&str>, message: impl Into<String>) -> Self {
        Self::of(account, region, &ReadFailure::new(message))
    }

    /// The error of a failed read.
    pub fn of(account: &str, region: Option<&str>, failure: &ReadFailure) -> Self {
        Self {
            account: account.to_string(),
            region: region.map(str::to_string),
            message: failure.message.clone(),
            operation: failure.operation.clone(),
            code: failure.code.clone(),
            cause: failure.cause.clone(),
            hint: failure.hint.clone(),
            request_id: failure.request_id.clone(),
        }
    }
}

/// Counts per action kind (the `summary` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Creates.
    pub create: usize,
    /// Updates.
    pub update: usize,
    /// Repoints.
    pub repoint: usize,
    /// Restores.
    pub restore: usize,
    /// Adopts.
    pub adopt: usize,
    /// Reports.
    pub report: usize,
    /// Conflicts.
    pub conflict: usize,
    /// Changes per severity.
    #[serde(default)]
    pub severity: SeverityCounts,
}

/// Changes per severity (the `summary.severity` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
    /// Info.
    pub info: usize,
}

impl SeverityCounts {
    fn slot(&mut self, s: Severity) -> &mut usize {
        match s {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }

    /// The count of one severity.
    pub fn get(&self, s: Severity) -> usize {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// `1 critical, 2 high`: the severities present, highest first.
    pub fn line(&self) -> String {
        Severity::ALL
            .iter()
            .filter(|s| self.get(**s) > 0)
            .map(|s| format!("{} {s}", self.get(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Summary {
    /// The summary line: `Plan: 3 to create, 1 to update, ... 2 reported (not applied)`.
    pub fn line(&self) -> String {
        let mut parts = vec![
            format!("{} to create", self.create),
            format!("{} to update", self.update),
            format!("{} to repoint", self.repoint),
            format!("{} to restore", self.restore),
            format!("{} to adopt", self.adopt),
            format!("{} reported (not applied)", self.report),
        ];
        if self.conflict > 0 {
            parts.push(format!("{} in conflict (not applied)", self.conflict));
        }
        let severities = self.severity.line();
        if severities.is_empty() {
            format!("Plan: {}.", parts.join(", "))
        } else {
            format!("Plan: {}; {severities}.", parts.join(", "))
        }
    }
}

/// The plan: every difference, and every target that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Differences, sorted by account, region (IAM last), key, resource.
    pub changes: Vec<Change>,
    /// Targets or accounts that failed.
    pub errors: Vec<PlanError>,
    /// What this plan did not look at, and why (a selection, a setting).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Plan {
    /// Counts per action kind.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            let n = match c.action {
                ActionKind::Create => &mut s.create,
                ActionKind::Update => &mut s.update,
                ActionKind::Repoint => &mut s.repoint,
                ActionKind::Restore => &mut s.restore,
                ActionKind::Adopt => &mut s.adopt,
                ActionKind::Report => &mut s.report,
                ActionKind::Conflict => &mut s.conflict,
            };
            *n += 1;
            *s.severity.slot(c.severity) += 1;
        }
        s
    }

    /// No differences at all (reported ones count as differences).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change is executable.
    pub fn has_executable(&self) -> bool {
        self.changes.iter().any(|c| c.executable)
    }

    /// The executable changes.
    pub fn executable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.executable)
    }

    /// Puts changes and errors in their canonical order: account, region
    /// (IAM last), key, resource; stable, so the planner's order within those
    /// is kept.
    pub fn sort(&mut self) {
        self.changes.sort_by(|a, b| {
            (
                &a.account,
                a.region.is_none(),
                &a.region,
                &a.key,
                a.resource,
            )
                .cmp(&(
                    &b.account,
                    b.region.is_none(),
                    &b.region,
                    &b.key,
                    b.resource,
                ))
        });
        self.errors.sort();
        self.errors.dedup();
    }

    /// Merges the plans of disjoint shards (`--shard I/N`) into one. Refuses
    /// plans that cover the same account, since one of them would be stale.
    pub fn merge(plans: Vec<Plan>) -> Result<Plan, String> {
        let mut owner: BTreeMap<String, usize> = BTreeMap::new();
        let mut merged = Plan::default();
        for (i, p) in plans.into_iter().enumerate() {
            let accounts: std::collections::BTreeSet<String> = p
                .changes
                .iter()
                .map(|c| c.account.clone())
                .chain(p.errors.iter().map(|e| e.account.clone()))
                .collect();
            for a in accounts {
                if let Some(j) = owner.insert(a.clone(), i) {
                    return Err(format!(
                        "plans {} and {} both cover account {a}: merge the plans of disjoint shards (--shard I/N) only",
                        j + 1,
                        i + 1
                    ));
                }
            }
            merged.changes.extend(p.changes);
            merged.errors.extend(p.errors);
            for note in p.notes {
                if !merged.notes.contains(&note) {
                    merged.notes.push(note);
                }
            }
        }
        merged.sort();
        Ok(merged)
    }
}

/// Collects changes for one run; keeps `executable` and `operation` in step.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    items: Vec<Change>,
}

/// Where a change applies.
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    pub account: &'a str,
    pub region: Option<&'a str>,
    pub key: &'a str,
}

impl Changes {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        action: ActionKind,
        severity: Severity,
        detail: String,
        operation: Option<Operation>,
        diff: Option<PolicyDiff>,
    ) {
        self.items.push(Change {
            account: at.account.to_string(),
            region: at.region.map(str::to_string),
            key: at.key.to_string(),
            resource,
            action,
            executable: operation.is_some(),
            severity,
            detail,
            diff,
            operation,
        });
    }

    /// A change apply executes.
    pub(crate) fn exec(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        action: ActionKind,
        severity: Severity,
        detail: String,
        operation: Operation,
    ) {
        self.push(
            at,
            resource,
            action,
            severity,
            detail,
            Some(operation),
            None,
        );
    }

    /// A finding apply only reports.
    pub(crate) fn report(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        severity: Severity,
        detail: String,
    ) {
        self.push(
            at,
            resource,
            ActionKind::Report,
            severity,
            detail,
            None,
            None,
        );
    }

    /// Something c3 does not own stands where it would write: reported, never touched.
    pub(crate) fn conflict(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        severity: Severity,
        detail: String,
    ) {
        self.push(
            at,
            resource,
            ActionKind::Conflict,
            severity,
            detail,
            None,
            None,
        );
    }
}

/// Plans every target and account of the desired state against the live state.
pub fn plan(desired: &DesiredState, live: &LiveState) -> Plan {
    let mut changes = Changes::default();
    let mut errors = Vec::new();
    // Keys to be created, per (account, key name): regions and generations, for the IAM pass.
    let mut created: BTreeMap<(String, String), Vec<(String, u32)>> = BTreeMap::new();

    for target in desired.targets() {
        match live.regions.get(&target) {
            None => errors.push(PlanError::new(
                &target.account,
                Some(&target.region),
                "this target was not read",
            )),
            // An account that could not be reached at all is one error, below.
            Some(Err(failure)) if failure.account_wide => {}
            Some(Err(failure)) => errors.push(PlanError::of(
                &target.account,
                Some(&target.region),
                failure,
            )),
            Some(Ok(snapshot)) => {
                for (name, generation) in kms::plan_target(desired, &target, snapshot, &mut changes)
                {
                    created
                        .entry((target.account.clone(), name))
                        .or_default()
                        .push((target.region.clone(), generation));
                }
            }
        }
    }

    for account in desired
        .accounts
        .iter()
        .filter(|a| desired.scope.account(&a.id))
    {
        match live.accounts.get(&account.id) {
            None => errors.push(PlanError::new(
                &account.id,
                None,
                "the account's IAM policies were not read",
            )),
            Some(Err(failure)) => errors.push(PlanError::of(&account.id, None, failure)),
            Some(Ok(snapshot)) => {
                iam::plan_account(
                    desired,
                    account,
                    snapshot,
                    live,
                    &created,
                    &mut changes,
                    &mut errors,
                );
            }
        }
    }

    let mut plan = Plan {
        changes: changes.items,
        errors,
        notes: scope::notes(desired),
    };
    plan.sort();
    plan
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ownership_tests;

#[cfg(test)]
mod proptests;
