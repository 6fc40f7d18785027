//! Why an executable change was not done: typed, so callers can tell a
//! refusal of c3's from one of AWS's, and a failure from a step that was
//! never tried.
//!
//! Each type's `Display` is exactly what the outcome table prints after
//! `failed: ` or `not attempted: ` (src/render/outcome.rs); the texts are
//! part of what users read and must not drift.

use crate::aws::AwsCallError;
use crate::model::tag;

/// Why an executable change failed: AWS refused or never answered a call,
/// or c3 refused the write before making it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyFailure {
    /// The account's credentials could not be obtained, or belong to another
    /// account (AssumeRole, GetCallerIdentity): every change of the account
    /// fails with this, and nothing was written there.
    #[error("cannot reach account {account}: {source}")]
    Unreachable {
        /// The account id.
        account: String,
        /// The failed call.
        source: Box<AwsCallError>,
    },
    /// A KMS write failed; shown with c3's hint when it has one.
    #[error("{source}{}", hint_suffix(.source))]
    KeyCall {
        /// The failed call.
        source: Box<AwsCallError>,
    },
    /// CreateKey made the key, but EnableKeyRotation on it failed: the key
    /// exists without rotation, and the next plan finds it by its `c3:` tags.
    #[error("key {key_id} created, but {source}{}", hint_suffix(.source))]
    RotationAfterCreate {
        /// The key CreateKey made.
        key_id: String,
        /// The failed EnableKeyRotation.
        source: Box<AwsCallError>,
    },
    /// An IAM write failed, or the writer refused it after asking AWS
    /// (a policy that is not c3's, a version it may not prune).
    #[error(transparent)]
    PolicyWrite(#[from] PolicyWriteError),
    /// c3's own check of a key policy (size, lockout, public access) refused
    /// it before any call.
    #[error("refused: {0}")]
    KeyPolicyRefused(String),
    /// A managed policy document that IAM would reject for its size; refused
    /// before any call.
    #[error("refused: {policy} would be {size} characters, over IAM's limit of {limit}")]
    PolicyTooLarge {
        /// The policy's name (create) or ARN (update).
        policy: String,
        /// Its size, whitespace not counted.
        size: usize,
        /// IAM's limit.
        limit: usize,
    },
    /// An alias step that needs the key this run was to create, which it
    /// did not create.
    #[error("the key of generation {generation} was not created")]
    KeyNotCreated {
        /// The generation of the missing key.
        generation: u32,
    },
    /// An IAM operation among a target's KMS steps: a bug of c3's grouping,
    /// never AWS's doing.
    #[error("an IAM operation in a regional change")]
    IamStepInRegion,
    /// A change without an IAM operation among the managed policies: a bug
    /// of c3's grouping, never AWS's doing.
    #[error("not an IAM operation")]
    NotIamStep,
}

impl ApplyFailure {
    /// A failed KMS write.
    pub fn key_call(source: AwsCallError) -> Self {
        Self::KeyCall {
            source: Box::new(source),
        }
    }

    /// The failed AWS call behind this failure, when there is one.
    pub fn call(&self) -> Option<&AwsCallError> {
        match self {
            Self::Unreachable { source, .. }
            | Self::KeyCall { source }
            | Self::RotationAfterCreate { source, .. } => Some(source),
            Self::PolicyWrite(e) => e.call(),
            _ => None,
        }
    }
}

/// ` (hint)` when c3 knows what the user can do about `e`, else nothing.
fn hint_suffix(e: &AwsCallError) -> String {
    e.hint().map(|h| format!(" ({h})")).unwrap_or_default()
}

/// Why a write to a managed policy did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyWriteError {
    /// An IAM call failed (shown as AWS said it, without a hint).
    #[error(transparent)]
    Call(Box<AwsCallError>),
    /// AWS says the policy is not tagged as c3's policy of this key name, so
    /// c3 does not write to it (c3 writes only to what is its own).
    #[error(
        "{operation}: refused: {arn} is not tagged {}=true and {}={key}, so it is not c3's",
        tag::MANAGED,
        tag::NAME
    )]
    NotOurs {
        /// The write refused: CreatePolicyVersion or DeletePolicyVersion.
        operation: &'static str,
        /// The policy ARN.
        arn: String,
        /// The key name the policy should belong to.
        key: String,
    },
    /// The policy to adopt is no longer at the ARN the plan saw.
    #[error("TagPolicy: refused: {arn} no longer exists at that ARN, so c3 does not adopt anything for {key}; plan again")]
    Moved {
        /// The policy ARN the plan saw.
        arn: String,
        /// The key name it was to be adopted for.
        key: String,
    },
    /// The policy to adopt is tagged for another key name (or as c3's of no
    /// name) since the plan: c3 never adopts another name's policy.
    #[error(
        "TagPolicy: refused: {arn} is now tagged {}={other}, not {key}, so c3 does not adopt it",
        tag::NAME
    )]
    OtherName {
        /// The policy ARN.
        arn: String,
        /// The key name it was to be adopted for.
        key: String,
        /// The `c3:name` it carries.
        other: String,
    },
    /// The version to prune is not (or no longer) among the policy's versions.
    #[error("DeletePolicyVersion: refused: {arn} has no version {version}")]
    NoSuchVersion {
        /// The policy ARN.
        arn: String,
        /// The version id.
        version: String,
    },
    /// The version to prune is the policy's default version, which is never
    /// deleted.
    #[error("DeletePolicyVersion: refused: {version} is the default version of {arn}")]
    DefaultVersion {
        /// The policy ARN.
        arn: String,
        /// The version id.
        version: String,
    },
}

impl From<AwsCallError> for PolicyWriteError {
    fn from(e: AwsCallError) -> Self {
        Self::Call(Box::new(e))
    }
}

impl PolicyWriteError {
    /// The failed AWS call, when this is one (refusals are c3's own).
    pub fn call(&self) -> Option<&AwsCallError> {
        match self {
            Self::Call(e) => Some(e),
            _ => None,
        }
    }
}

/// Why an executable change was not tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    /// The plan holds a change for an account keys.toml does not declare.
    #[error("account {0} is not declared in keys.toml")]
    UndeclaredAccount(String),
    /// An earlier step of the same key (in the same target) failed; its API
    /// call is named.
    #[error("{0} for this key failed")]
    EarlierStepFailed(&'static str),
    /// A key the managed policy names was to be created in this run and was
    /// not, so the document would name a key that does not exist.
    #[error("{policy}: a key this policy names was not created")]
    KeyNotCreated {
        /// The policy's name (create) or ARN (update).
        policy: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_those_the_outcome_table_has_always_shown() {
        let denied = AwsCallError::service("CreateAlias", "AccessDeniedException", "no");
        let hint = denied.hint().map(|h| format!(" ({h})")).unwrap_or_default();
        assert!(!hint.is_empty());
        assert_eq!(
            ApplyFailure::key_call(denied.clone()).to_string(),
            format!("CreateAlias: AccessDeniedException: no{hint}")
        );
        let rotation = AwsCallError::service("EnableKeyRotation", "KMSInternalException", "x");
        assert_eq!(
            ApplyFailure::RotationAfterCreate {
                key_id: "k1".into(),
                source: Box::new(rotation)
            }
            .to_string(),
            "key k1 created, but EnableKeyRotation: KMSInternalException: x"
        );
        assert_eq!(
            ApplyFailure::Unreachable {
                account: "111111111111".into(),
                source: Box::new(denied.clone())
            }
            .to_string(),
            "cannot reach account 111111111111: CreateAlias: AccessDeniedException: no"
        );
        // IAM failures are shown without the hint.
        assert_eq!(
            ApplyFailure::from(PolicyWriteError::from(denied)).to_string(),
            "CreateAlias: AccessDeniedException: no"
        );
        assert_eq!(
            ApplyFailure::from(PolicyWriteError::NotOurs {
                operation: "CreatePolicyVersion",
                arn: "arn:p".into(),
                key: "payments".into()
            })
            .to_string(),
            "CreatePolicyVersion: refused: arn:p is not tagged c3:managed=true and \
             c3:name=payments, so it is not c3's"
        );
        assert_eq!(
            ApplyFailure::PolicyTooLarge {
                policy: "allow-crypto-x".into(),
                size: 7000,
                limit: 6144
            }
            .to_string(),
            "refused: allow-crypto-x would be 7000 characters, over IAM's limit of 6144"
        );
        assert_eq!(
            Skipped::KeyNotCreated {
                policy: "allow-crypto-x".into()
            }
            .to_string(),
            "allow-crypto-x: a key this policy names was not created"
        );
        assert_eq!(
            Skipped::EarlierStepFailed("CreateKey").to_string(),
            "CreateKey for this key failed"
        );
    }
}
