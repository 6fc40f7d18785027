//! The planner: desired state + live state in, plan out. Synchronous, no I/O.
//!
//! Every row of design.md's table "Plan: each difference and what apply does
//! with it" is decided here. A [`Change`] is either executable (it carries an
//! [`Operation`]) or a finding that apply only reports. The planner never
//! produces an operation that removes anything (see [`action`]).
//!
//! This module must not import the AWS SDK, tokio, or anything that touches
//! the file system, the environment or the clock (`scripts/check-planner-imports.sh`).

pub mod accept;
pub mod action;
mod adopt;
mod change;
pub mod desired;
pub mod fingerprint;
mod iam;
mod key_ids;
mod kms;
pub mod meta;
pub mod rollout;
mod scope;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use action::{KeyRef, Operation};
pub use change::{
    Accepted, ActionKind, Change, ChangeKind, Finding, PlanError, PolicyDiff, Resource, Severity,
    SeverityCounts, Summary, FORMAT_VERSION, READ_FORMAT_VERSIONS,
};
pub use meta::{ConfigRef, PlanMeta, Selection, Shard};

use crate::model::{DesiredState, LiveState};

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
    /// `[[accept]]` entries that expired or accept nothing (`keys.toml:42: …`).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// What the plan says about itself: c3's version, when, from which
    /// keys.toml, for which selection. `None` for a plan the planner just
    /// made (commands stamp it) or one read from a format 1 document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<PlanMeta>,
    /// For `c3 audit`: every key it judged, with a verdict per control;
    /// `None` for a plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<Vec<crate::audit::KeyAudit>>,
    /// The accounts discovered from AWS Organizations and the waves of
    /// `[rollout]`; `None` when keys.toml has neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<rollout::RolloutView>,
}

impl Plan {
    /// Counts per action kind; accepted findings are counted apart.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            if !c.counts() {
                s.accepted += 1;
                continue;
            }
            let n = match c.action() {
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

    /// No differences at all (reported ones count as differences, accepted
    /// ones too).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change counts as a difference: an executable change, or
    /// a finding no `[[accept]]` entry accepts.
    pub fn has_differences(&self) -> bool {
        self.changes.iter().any(Change::counts)
    }

    /// Whether any change is executable.
    pub fn has_executable(&self) -> bool {
        self.changes.iter().any(Change::executable)
    }

    /// The executable changes.
    pub fn executable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.executable())
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
        let audits = plans.iter().filter(|p| p.audit.is_some()).count();
        if audits != 0 && audits != plans.len() {
            return Err(
                "audits (`c3 audit --out`) and plans cannot be merged together".to_string(),
            );
        }
        for (i, p) in plans.into_iter().enumerate() {
            let accounts: std::collections::BTreeSet<String> = p
                .changes
                .iter()
                .map(|c| c.account.clone())
                .chain(p.errors.iter().map(|e| e.account.clone()))
                .chain(p.audit.iter().flatten().map(|k| k.account.clone()))
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
            if let Some(keys) = p.audit {
                merged.audit.get_or_insert_with(Vec::new).extend(keys);
            }
            merged.changes.extend(p.changes);
            merged.errors.extend(p.errors);
            for note in p.notes {
                if !merged.notes.contains(&note) {
                    merged.notes.push(note);
                }
            }
            for warning in p.warnings {
                if !merged.warnings.contains(&warning) {
                    merged.warnings.push(warning);
                }
            }
        }
        merged.sort();
        Ok(merged)
    }
}

/// Collects changes for one run.
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

impl<'a> At<'a> {
    /// A key name in a target.
    pub(crate) fn of(target: &'a crate::model::Target, key: &'a str) -> Self {
        Self {
            account: &target.account,
            region: Some(&target.region),
            key,
        }
    }
}

impl Changes {
    fn add(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        severity: Severity,
        detail: String,
        kind: ChangeKind,
    ) -> &mut Change {
        self.items.push(Change {
            account: at.account.to_string(),
            region: at.region.map(str::to_string),
            key: at.key.to_string(),
            resource,
            severity,
            detail,
            diff: None,
            kind,
            subject: at.key.to_string(),
            accepted: None,
            fingerprint: String::new(),
            key_id: None,
            key_arn: None,
            control: None,
        });
        let last = self.items.len() - 1;
        &mut self.items[last]
    }

    /// A change apply executes; set its `diff` on the returned change.
    pub(crate) fn exec(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        action: ActionKind,
        severity: Severity,
        detail: String,
        operation: Operation,
    ) -> &mut Change {
        let kind = ChangeKind::Action { action, operation };
        self.add(at, resource, severity, detail, kind)
    }

    /// A finding apply only reports; set its `diff` on the returned change.
    pub(crate) fn report(
        &mut self,
        at: &At<'_>,
        resource: Resource,
        severity: Severity,
        detail: String,
    ) -> &mut Change {
        self.finding(Finding::Report, at, resource, severity, detail)
    }

    /// A finding of a kind: a report, or a conflict (something c3 does not
    /// own stands where it would write: reported, never touched).
    pub(crate) fn finding(
        &mut self,
        finding: Finding,
        at: &At<'_>,
        resource: Resource,
        severity: Severity,
        detail: String,
    ) -> &mut Change {
        self.add(at, resource, severity, detail, ChangeKind::Finding(finding))
    }
}

/// Plans every target and account of the desired state against the live state.
pub fn plan(desired: &DesiredState, live: &LiveState) -> Plan {
    let mut changes = Changes::default();
    let mut errors = Vec::new();
    // Keys to be created, per (account, key name): regions and generations, for the IAM pass.
    let mut created = iam::KeysToCreate::new();
    // What `adopt = true` takes into c3's care is c3's from here on.
    let adopted = adopt::adopt(desired, live, &mut changes);
    let live: &LiveState = &adopted;

    // Primaries (and keys of one region) first, then the replicas of
    // multi-Region keys, which are made from them.
    for phase in [kms::Phase::Primaries, kms::Phase::Replicas] {
        let around_created = created.clone();
        let around = kms::Around {
            live,
            created: &around_created,
            phase,
        };
        for target in desired.targets() {
            match live.regions.get(&target) {
                None if phase == kms::Phase::Primaries => errors.push(PlanError::new(
                    &target.account,
                    Some(&target.region),
                    "this target was not read",
                )),
                // An account that could not be reached at all is one error, below.
                Some(Err(failure)) if failure.account_wide => {}
                Some(Err(failure)) if phase == kms::Phase::Primaries => errors.push(PlanError::of(
                    &target.account,
                    Some(&target.region),
                    failure,
                )),
                None | Some(Err(_)) => {}
                Some(Ok(snapshot)) => {
                    let made = kms::plan_target(desired, &target, snapshot, &around, &mut changes);
                    for (name, generation) in made {
                        created
                            .entry((target.account.clone(), name))
                            .or_default()
                            .push((target.region.clone(), generation));
                    }
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
        warnings: Vec::new(),
        meta: None,
        audit: None,
        rollout: None,
    };
    plan.sort();
    fingerprint::assign(&mut plan.changes);
    key_ids::assign(&mut plan.changes, live);
    plan
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod adopt_tests;
#[cfg(test)]
mod key_types_tests;
#[cfg(test)]
mod ownership_tests;
#[cfg(test)]
mod policy_content_tests;

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod screen_tests;

#[cfg(test)]
mod proptests;
