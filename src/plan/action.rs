//! What apply may execute.
//!
//! An [`Operation`] is the only thing the executor accepts. None of them
//! removes a resource, a permission or a protection: there is no variant for
//! deleting or disabling a key, deleting an alias, turning rotation off,
//! removing a tag or deleting a policy. Differences whose fix would need one
//! of those are findings (report-only changes) and carry no operation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A key an operation acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRef {
    /// A key that exists, by key id.
    Existing {
        /// The key id.
        key_id: String,
    },
    /// The key this plan creates for the same key name and target.
    New {
        /// Its generation.
        generation: u32,
    },
}

impl KeyRef {
    /// A reference to an existing key.
    pub fn existing(key_id: &str) -> Self {
        Self::Existing {
            key_id: key_id.to_string(),
        }
    }
}

/// One executable step. Account and region come from the change that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// CreateKey (of the key's spec and usage, multi-Region when it is the
    /// primary of a multi-Region key, with policy, description and tags),
    /// then EnableKeyRotation with the period for a symmetric encryption
    /// key.
    CreateKey {
        /// The generation the key is created for.
        generation: u32,
        /// Its description.
        description: String,
        /// The key policy (JSON text).
        policy: String,
        /// Every tag, c3's and the user's.
        tags: BTreeMap<String, String>,
        /// Rotation period in days.
        rotation_days: u32,
        /// The key spec (`SYMMETRIC_DEFAULT` when absent).
        #[serde(default = "default_spec", skip_serializing_if = "is_default_spec")]
        key_spec: String,
        /// The key usage (`ENCRYPT_DECRYPT` when absent).
        #[serde(default = "default_usage", skip_serializing_if = "is_default_usage")]
        key_usage: String,
        /// Whether the key is the primary of a multi-Region key.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        multi_region: bool,
    },
    /// ReplicateKey, sent to the primary's region: the replica of a
    /// multi-Region key in this change's region, with its own policy,
    /// description and tags (a replica shares only the key material, spec
    /// and usage with its primary).
    ReplicateKey {
        /// The generation the replica is made for.
        generation: u32,
        /// The region of the primary.
        primary_region: String,
        /// The primary: a key that exists there, or the one this plan
        /// creates there.
        primary: KeyRef,
        /// The replica's description.
        description: String,
        /// The replica's key policy (JSON text).
        policy: String,
        /// Every tag, c3's and the user's.
        tags: BTreeMap<String, String>,
    },
    /// CreateAlias: the alias does not exist.
    CreateAlias {
        /// `alias/<name>`.
        alias: String,
        /// The key it must point at.
        key: KeyRef,
    },
    /// UpdateAlias: the alias exists and points at another c3 key of this name.
    UpdateAlias {
        /// `alias/<name>`.
        alias: String,
        /// The key it must point at.
        key: KeyRef,
    },
    /// EnableKeyRotation with a period.
    EnableRotation {
        /// The key id.
        key_id: String,
        /// Rotation period in days.
        rotation_days: u32,
    },
    /// PutKeyPolicy with a document that keeps every live statement.
    PutKeyPolicy {
        /// The key id.
        key_id: String,
        /// The merged policy (JSON text).
        policy: String,
    },
    /// TagResource with the missing or differing tags.
    TagKey {
        /// The key id.
        key_id: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// TagResource with c3's four tags on a key that `adopt = true` takes
    /// into c3's care; runs before any other step of the key.
    AdoptKey {
        /// The key id.
        key_id: String,
        /// c3's tags.
        tags: BTreeMap<String, String>,
    },
    /// TagPolicy with c3's two tags on a managed policy that `adopt = true`
    /// takes into c3's care, once AWS confirms the policy is still at `arn`
    /// and not tagged for another key name; runs before any other step of
    /// the policy.
    AdoptPolicy {
        /// The policy ARN.
        arn: String,
        /// The policy name.
        name: String,
        /// c3's tags.
        tags: BTreeMap<String, String>,
    },
    /// UpdateKeyDescription.
    UpdateDescription {
        /// The key id.
        key_id: String,
        /// The description.
        description: String,
    },
    /// CancelKeyDeletion and/or EnableKey.
    Restore {
        /// The key id.
        key_id: String,
        /// Whether to call CancelKeyDeletion first (the key is PendingDeletion).
        cancel_deletion: bool,
        /// Whether to call EnableKey.
        enable: bool,
    },
    /// CreatePolicy under the policy path, tagged.
    CreatePolicy {
        /// The policy name.
        name: String,
        /// The IAM path.
        path: String,
        /// The document (JSON text; may name keys this plan creates, see
        /// [`crate::plan::desired::pending_arn`]).
        document: String,
        /// Tags.
        tags: BTreeMap<String, String>,
    },
    /// CreatePolicyVersion (set as default), first deleting the oldest
    /// non-default version when the policy already has five.
    UpdatePolicy {
        /// The policy ARN.
        arn: String,
        /// The new default document (a superset of the live one).
        document: String,
        /// The non-default version to delete first, if the limit requires it.
        prune_version: Option<String>,
    },
}

impl Operation {
    /// The position of this step among the steps of one key name in one
    /// target: adoption, restore, create (with rotation), rotation, key
    /// policy, tags, description, then the alias, so a generation bump
    /// creates the new key completely before the alias moves; managed
    /// policies last, once the keys they name exist (an adoption of a
    /// policy before its update).
    pub fn step_order(&self) -> u8 {
        match self {
            Self::AdoptKey { .. } => 0,
            Self::Restore { .. } => 1,
            Self::CreateKey { .. } | Self::ReplicateKey { .. } => 2,
            Self::EnableRotation { .. } => 3,
            Self::PutKeyPolicy { .. } => 4,
            Self::TagKey { .. } => 5,
            Self::UpdateDescription { .. } => 6,
            Self::CreateAlias { .. } | Self::UpdateAlias { .. } => 7,
            Self::AdoptPolicy { .. } => 8,
            Self::CreatePolicy { .. } | Self::UpdatePolicy { .. } => 9,
        }
    }

    /// Whether the step is an IAM (account-wide) one.
    pub fn is_iam(&self) -> bool {
        matches!(
            self,
            Self::AdoptPolicy { .. } | Self::CreatePolicy { .. } | Self::UpdatePolicy { .. }
        )
    }

    /// The AWS API call the step makes (its first, for a restore).
    pub fn api_name(&self) -> &'static str {
        match self {
            Self::Restore { .. } => "Restore",
            Self::CreateKey { .. } => "CreateKey",
            Self::ReplicateKey { .. } => "ReplicateKey",
            Self::EnableRotation { .. } => "EnableKeyRotation",
            Self::PutKeyPolicy { .. } => "PutKeyPolicy",
            Self::TagKey { .. } | Self::AdoptKey { .. } => "TagResource",
            Self::AdoptPolicy { .. } => "TagPolicy",
            Self::UpdateDescription { .. } => "UpdateKeyDescription",
            Self::CreateAlias { .. } => "CreateAlias",
            Self::UpdateAlias { .. } => "UpdateAlias",
            Self::CreatePolicy { .. } => "CreatePolicy",
            Self::UpdatePolicy { .. } => "CreatePolicyVersion",
        }
    }
}

fn default_spec() -> String {
    crate::model::key_type::DEFAULT_SPEC.into()
}

fn is_default_spec(spec: &str) -> bool {
    spec == crate::model::key_type::DEFAULT_SPEC
}

fn default_usage() -> String {
    crate::model::key_type::ENCRYPT_DECRYPT.into()
}

fn is_default_usage(usage: &str) -> bool {
    usage == crate::model::key_type::ENCRYPT_DECRYPT
}
