//! The plan's vocabulary: what a change is about, how it is classified,
//! how risky it is, and the change itself — an executable action or a
//! finding, two types. The JSON plan document (docs/output-json.md) is this
//! module's serialisation.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Operation;
use crate::model::{Date, ReadFailure};

/// The format version of the JSON plan document c3 writes.
pub const FORMAT_VERSION: u32 = 2;

/// The format versions c3 reads (format 2 is a superset of format 1).
pub const READ_FORMAT_VERSIONS: std::ops::RangeInclusive<u32> = 1..=FORMAT_VERSION;

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
    /// Every resource, in the plan's order.
    pub const ALL: [Resource; 8] = [
        Self::Key,
        Self::Alias,
        Self::Rotation,
        Self::KeyPolicy,
        Self::Tags,
        Self::KeyState,
        Self::IamPolicy,
        Self::Grant,
    ];

    /// The resource of a JSON spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

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

/// One difference between keys.toml and an account: an executable action,
/// or a finding that apply only reports. The two are different types
/// ([`ChangeKind`]), so "executable" and "has an operation" cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ChangeRecord", try_from = "ChangeRecord")]
pub struct Change {
    /// The 12-digit account id.
    pub account: String,
    /// The region; `None` for IAM policies (global).
    pub region: Option<String>,
    /// The key name.
    pub key: String,
    /// What the change is about.
    pub resource: Resource,
    /// The risk of the live state it is about.
    pub severity: Severity,
    /// Human-readable text.
    pub detail: String,
    /// For policy changes: the normalised documents.
    pub diff: Option<PolicyDiff>,
    /// An action apply executes, or a finding it only reports.
    pub kind: ChangeKind,
    /// What the change is about within its resource, for `[[accept]]`'s
    /// `subject`: a statement's Sid, a tag key, a grant id, a policy name,
    /// else the key id or alias name (or the key name).
    pub subject: String,
    /// The `[[accept]]` entry that accepts this finding, if one does.
    pub accepted: Option<Accepted>,
    /// A stable id of the change: the same from plan to plan while the
    /// change is about the same thing (see [`super::fingerprint`]).
    pub fingerprint: String,
    /// The id of the live key the change is about, when there is one (not
    /// for a key this plan creates, nor for IAM policies).
    pub key_id: Option<String>,
    /// That key's ARN.
    pub key_arn: Option<String>,
    /// The control an audit finding is about (`KMS.4`, `C3.CROSS_ACCOUNT`);
    /// `None` for a plan's changes.
    pub control: Option<String>,
}

/// Why a finding is accepted: the `[[accept]]` entry that accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The entry's reason.
    pub reason: String,
    /// The last day it accepts the finding.
    pub expires: Date,
    /// Where the entry is written: `keys.toml:42`.
    pub at: String,
}

/// What apply does with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// Executed by apply: `create`, `update`, `repoint`, `restore` or `adopt`.
    Action {
        /// How it is classified (never `report` or `conflict`).
        action: ActionKind,
        /// What apply calls.
        operation: Operation,
    },
    /// Only reported.
    Finding(Finding),
}

/// A change apply never executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Finding {
    /// A difference apply will never execute.
    Report,
    /// Something c3 does not own stands where a c3 resource should be.
    Conflict,
}

impl Change {
    /// How it is classified (the JSON `action` field).
    pub fn action(&self) -> ActionKind {
        match &self.kind {
            ChangeKind::Action { action, .. } => *action,
            ChangeKind::Finding(Finding::Report) => ActionKind::Report,
            ChangeKind::Finding(Finding::Conflict) => ActionKind::Conflict,
        }
    }

    /// Whether apply executes it.
    pub fn executable(&self) -> bool {
        matches!(self.kind, ChangeKind::Action { .. })
    }

    /// What apply calls, for an executable change.
    pub fn operation(&self) -> Option<&Operation> {
        match &self.kind {
            ChangeKind::Action { operation, .. } => Some(operation),
            ChangeKind::Finding(_) => None,
        }
    }

    /// Whether it counts as a difference (for `--detailed-exitcode`): every
    /// executable change, and every finding that is not accepted.
    pub fn counts(&self) -> bool {
        self.accepted.is_none() || self.executable()
    }

    /// Sets what the change is about (see [`Change::subject`]).
    pub(crate) fn about(&mut self, subject: impl Into<String>) -> &mut Self {
        self.subject = subject.into();
        self
    }
}

/// The JSON form of a [`Change`] (docs/output-json.md), field by field.
#[derive(Serialize, Deserialize)]
struct ChangeRecord {
    account: String,
    region: Option<String>,
    key: String,
    resource: Resource,
    action: ActionKind,
    executable: bool,
    severity: Severity,
    detail: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    accepted: Option<Accepted>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    fingerprint: String,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    diff: Option<PolicyDiff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    control: Option<String>,
}

impl From<Change> for ChangeRecord {
    fn from(c: Change) -> Self {
        let action = c.action();
        let (executable, operation) = match c.kind {
            ChangeKind::Action { operation, .. } => (true, Some(operation)),
            ChangeKind::Finding(_) => (false, None),
        };
        Self {
            account: c.account,
            region: c.region,
            key: c.key,
            resource: c.resource,
            action,
            executable,
            severity: c.severity,
            detail: c.detail,
            subject: c.subject,
            accepted: c.accepted,
            fingerprint: c.fingerprint,
            key_id: c.key_id,
            key_arn: c.key_arn,
            diff: c.diff,
            operation,
            control: c.control,
        }
    }
}

impl TryFrom<ChangeRecord> for Change {
    type Error = String;

    /// A change as a plan document says it: executable exactly when it has
    /// an operation and its action is one apply executes.
    fn try_from(r: ChangeRecord) -> Result<Self, String> {
        let kind = match (r.action, r.executable, r.operation) {
            (ActionKind::Report, false, None) => ChangeKind::Finding(Finding::Report),
            (ActionKind::Conflict, false, None) => ChangeKind::Finding(Finding::Conflict),
            (ActionKind::Report | ActionKind::Conflict, _, _) => {
                return Err(format!(
                    "a `{}` change is never executable and carries no operation",
                    r.action
                ))
            }
            (_, true, Some(_)) if r.accepted.is_some() => {
                return Err(format!(
                    "a `{}` change is executable and cannot be accepted",
                    r.action
                ))
            }
            (action, true, Some(operation)) => ChangeKind::Action { action, operation },
            (action, _, _) => {
                return Err(format!(
                    "a `{action}` change must be executable and carry its operation"
                ))
            }
        };
        Ok(Self {
            account: r.account,
            region: r.region,
            key: r.key,
            resource: r.resource,
            severity: r.severity,
            detail: r.detail,
            diff: r.diff,
            kind,
            subject: r.subject,
            accepted: r.accepted,
            fingerprint: r.fingerprint,
            key_id: r.key_id,
            key_arn: r.key_arn,
            control: r.control,
        })
    }
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
    /// Findings accepted by `[[accept]]` (counted here only, not under
    /// `report`, `conflict` or `severity`).
    #[serde(default)]
    pub accepted: usize,
    /// Changes per severity (accepted findings aside).
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
    pub(super) fn slot(&mut self, s: Severity) -> &mut usize {
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
        let mut line = format!("Plan: {}", parts.join(", "));
        if self.accepted > 0 {
            line.push_str(&format!("; {} accepted", self.accepted));
        }
        let severities = self.severity.line();
        if !severities.is_empty() {
            line.push_str(&format!("; {severities}"));
        }
        line.push('.');
        line
    }
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod record_tests;
