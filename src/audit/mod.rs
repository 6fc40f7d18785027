//! `c3 audit`'s pure part: every customer-managed key read from the
//! accounts → a verdict per control for each key, and a finding (a
//! [`Change`] that is only reported) for each failed or unknown verdict,
//! so every output format, `[[accept]]` and `--detailed-exitcode` work as
//! for a plan. No I/O (design.md, "Audit"; docs/audit.md).

pub mod controls;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use controls::{Control, Status, Verdict};

use crate::model::{tag, AuditState, AuditedKey, DesiredState, KeyState, LastUsage, Target};
use crate::plan::{Change, ChangeKind, Finding, Plan, PlanError};

/// One key as the audit saw it, with its verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAudit {
    /// The account id.
    pub account: String,
    /// The region.
    pub region: String,
    /// How reports name the key: its `c3:name`, else its first alias
    /// (without `alias/`), else its id.
    pub name: String,
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub key_arn: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// `c3` (declared here), `c3-orphan` (c3's, no longer declared) or `unmanaged`.
    pub owner: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// When it was created (`2026-11-30`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When a PendingDeletion key will be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<String>,
    /// Key spec, usage and origin.
    pub key_spec: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`, ...
    pub key_usage: String,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    pub origin: String,
    /// When it was last used, for unmanaged keys and orphans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<LastUsage>,
    /// One verdict per control (cross-account may have two: policy, grants).
    pub verdicts: Vec<Verdict>,
}

impl KeyAudit {
    /// The status of a control for this key (the worst of its verdicts).
    pub fn status(&self, control: &str) -> Option<Status> {
        self.verdicts
            .iter()
            .filter(|v| v.control == control)
            .map(|v| v.status)
            .max_by_key(|s| match s {
                Status::NotApplicable => 0,
                Status::Pass => 1,
                Status::Unknown => 2,
                Status::Fail => 3,
            })
    }
}

/// Judges every key read against every control: the findings as a plan's
/// changes (sorted, fingerprinted), the targets that could not be read as
/// its errors, and every key's verdicts in `plan.audit`.
pub fn audit(desired: &DesiredState, live: &AuditState) -> Plan {
    let estate: BTreeSet<String> = desired.accounts.iter().map(|a| a.id.clone()).collect();
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for (target, read) in &live.regions {
        match read {
            Ok(read) => keys.extend(read.iter().map(|k| judge(desired, &estate, target, k))),
            Err(failure) => errors.push(PlanError::of(
                &target.account,
                Some(&target.region),
                failure,
            )),
        }
    }
    keys.sort_by(|a, b| {
        (&a.account, &a.region, &a.name, &a.key_id)
            .cmp(&(&b.account, &b.region, &b.name, &b.key_id))
    });
    let changes: Vec<Change> = keys.iter().flat_map(findings).collect();
    let mut plan = Plan {
        changes,
        errors,
        notes: notes(desired),
        warnings: Vec::new(),
        meta: None,
        audit: Some(keys),
        rollout: None,
    };
    plan.sort();
    crate::plan::fingerprint::assign(&mut plan.changes);
    plan
}

/// What the audit did not look at.
fn notes(desired: &DesiredState) -> Vec<String> {
    let mut notes = Vec::new();
    if !desired.settings.read_grants {
        notes.push(
            "Grants were not read (`[settings] read_grants = false`): C3.CROSS_ACCOUNT judged key policies only."
                .to_string(),
        );
    }
    notes
}

/// One key's verdicts.
fn judge(
    desired: &DesiredState,
    estate: &BTreeSet<String>,
    target: &Target,
    key: &AuditedKey,
) -> KeyAudit {
    let c3_name = controls::is_c3(key)
        .then(|| key.tags.get(tag::NAME).map(String::as_str))
        .flatten();
    let declared = c3_name.and_then(|name| {
        desired
            .keys
            .iter()
            .find(|k| k.name == name && k.targets.contains(target))
    });
    let standing = controls::Standing {
        declared,
        orphan: controls::is_c3(key) && declared.is_none(),
        account: &target.account,
        estate,
    };
    let verdicts = if let Some(reason) = key.unread.get("DescribeKey") {
        // Not even described: no control can be judged.
        controls::ALL
            .iter()
            .map(|c| Verdict::unknown(c, "DescribeKey", reason))
            .collect()
    } else {
        let mut verdicts = vec![
            controls::kms_3(key),
            controls::rotation(&controls::KMS_4, key),
            controls::kms_5(key),
            controls::rotation(&controls::CIS_ROTATION, key),
            match key.unread.get("ListResourceTags") {
                // Whether c3 manages it, and with which period, is unknown.
                Some(reason) => {
                    Verdict::unknown(&controls::C3_ROTATION_PERIOD, "ListResourceTags", reason)
                }
                None => controls::rotation_period(key, &standing),
            },
        ];
        verdicts.extend(controls::cross_account(key, &standing));
        verdicts.push(controls::key_state(key, &standing));
        verdicts
    };
    let d = &key.details;
    KeyAudit {
        account: target.account.clone(),
        region: target.region.clone(),
        name: c3_name.map_or_else(|| display_name(key), str::to_string),
        key_id: key.key_id.clone(),
        key_arn: key.arn.clone(),
        aliases: key.aliases.clone(),
        owner: if key.unread.contains_key("ListResourceTags")
            || key.unread.contains_key("DescribeKey")
        {
            "unknown"
        } else if declared.is_some() {
            "c3"
        } else if standing.orphan {
            "c3-orphan"
        } else {
            "unmanaged"
        }
        .to_string(),
        state: d.state.to_string(),
        created: d.creation_epoch.map(controls::day),
        deletion_date: d
            .deletion_epoch
            .filter(|_| d.state == KeyState::PendingDeletion)
            .map(controls::day),
        key_spec: d.spec.clone(),
        key_usage: d.usage.clone(),
        origin: if d.origin.is_empty() {
            "AWS_KMS".to_string()
        } else {
            d.origin.clone()
        },
        last_used: key.last_usage.clone(),
        verdicts,
    }
}

/// A key's first alias without `alias/`, else its id.
fn display_name(key: &AuditedKey) -> String {
    key.aliases.first().map_or_else(
        || key.key_id.clone(),
        |a| a.trim_start_matches("alias/").to_string(),
    )
}

/// How a key's last use reads in a finding.
pub fn last_used_text(usage: &LastUsage) -> String {
    match usage {
        LastUsage::Used {
            operation,
            at_epoch,
            cloudtrail_event_id,
            ..
        } => {
            let event = cloudtrail_event_id
                .as_deref()
                .map_or_else(String::new, |e| format!(", CloudTrail event {e}"));
            format!(
                "last used {} for {operation}{event}",
                crate::plan::meta::rfc3339_utc(u64::try_from(*at_epoch).unwrap_or(0))
            )
        }
        LastUsage::NoneRecorded {
            tracking_start_epoch,
        } => match tracking_start_epoch {
            Some(e) => format!("no use recorded since {}", controls::day(*e)),
            None => "no use recorded since KMS began tracking it".to_string(),
        },
        LastUsage::Unknown { reason } => format!("last use unknown ({reason})"),
    }
}

/// The findings of a key: one per failed or unknown verdict.
fn findings(key: &KeyAudit) -> Vec<Change> {
    // Rotation off fails KMS.4 and CIS's control alike: one finding, which
    // names both.
    // A key scheduled for deletion fails KMS.3 and C3.KEY_STATE alike: KMS.3's
    // finding says it, with the date.
    let counted = |id: &str| matches!(key.status(id), Some(Status::Fail | Status::Unknown));
    let kms4_failed = counted(controls::KMS_4.id);
    let kms3_failed = counted(controls::KMS_3.id);
    key.verdicts
        .iter()
        .filter(|v| matches!(v.status, Status::Fail | Status::Unknown))
        .filter(|v| !(kms4_failed && v.control == controls::CIS_ROTATION.id))
        .filter(|v| !(kms3_failed && v.control == controls::C3_KEY_STATE.id))
        .filter_map(|v| {
            let control = controls::by_id(&v.control)?;
            let mut detail = format!("{}: {}", control.id, v.detail);
            if kms4_failed && v.control == controls::KMS_4.id {
                detail.push_str(&format!(
                    " (the same holds for {})",
                    controls::CIS_ROTATION.id
                ));
            }
            if let Some(usage) = &key.last_used {
                detail.push_str(&format!("; {}", last_used_text(usage)));
            }
            Some(Change {
                account: key.account.clone(),
                region: Some(key.region.clone()),
                key: key.name.clone(),
                resource: v.resource.unwrap_or(control.resource),
                severity: v.severity.unwrap_or(control_severity(control)),
                detail,
                diff: None,
                kind: ChangeKind::Finding(Finding::Report),
                subject: control.id.to_string(),
                accepted: None,
                fingerprint: String::new(),
                key_id: Some(key.key_id.clone()),
                key_arn: Some(key.key_arn.clone()),
                control: Some(control.id.to_string()),
            })
        })
        .collect()
}

/// A control's severity where a verdict carries none.
fn control_severity(control: &Control) -> crate::plan::Severity {
    match control.id {
        "KMS.3" | "KMS.5" => crate::plan::Severity::Critical,
        "C3.CROSS_ACCOUNT" => crate::plan::Severity::High,
        _ => crate::plan::Severity::Medium,
    }
}
