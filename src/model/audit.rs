//! What `c3 audit` read: every customer-managed key of a region, managed by
//! c3 or not, as plain values, with what could not be read about it and
//! when it was last used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{KeyDetails, ReadFailure, Target};

/// A customer-managed key as the audit read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditedKey {
    /// The key id.
    pub key_id: String,
    /// The key ARN.
    pub arn: String,
    /// Its aliases (`alias/<name>`), sorted.
    pub aliases: Vec<String>,
    /// Its tags (empty when they could not be read: see `unread`).
    pub tags: BTreeMap<String, String>,
    /// DescribeKey, and what GetKeyRotationStatus, GetKeyPolicy and
    /// ListGrants said where the controls needed them.
    pub details: KeyDetails,
    /// Reads that failed for this key only: operation → `Code: message`.
    /// A control that needs one of them is "unknown" for the key, never
    /// passed.
    pub unread: BTreeMap<String, String>,
    /// When it was last used, for keys the audit asks about (unmanaged keys
    /// and c3's orphans); `None` when not asked.
    pub last_usage: Option<LastUsage>,
}

/// What GetKeyLastUsage said of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LastUsage {
    /// The last successful cryptographic operation.
    Used {
        /// `Decrypt`, `Encrypt`, `Sign`, ...
        operation: String,
        /// When, seconds since the epoch.
        at_epoch: i64,
        /// The CloudTrail `eventId` of that operation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cloudtrail_event_id: Option<String>,
        /// The KMS request id of that operation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kms_request_id: Option<String>,
    },
    /// No use recorded since KMS began tracking it.
    NoneRecorded {
        /// Since when KMS records use of this key, seconds since the epoch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracking_start_epoch: Option<i64>,
    },
    /// The call was denied, unsupported or failed: nobody can tell.
    Unknown {
        /// Why: `Code: message`.
        reason: String,
    },
}

/// What the audit read of every account and region of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditState {
    /// Per (account, region): its customer-managed keys, or why the region
    /// could not be listed.
    pub regions: BTreeMap<Target, Result<Vec<AuditedKey>, ReadFailure>>,
}
