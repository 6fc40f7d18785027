//! The managed-policy steps of one key name in one account: each is first
//! decided ([`decide`]: the keys it names exist, the document fits IAM's
//! limit), then written.

use std::collections::BTreeMap;

use super::writer::PolicyWriter;
use super::{ApplyFailure, Created, PolicyWriteError, Run, Skipped, Status};
use crate::model::Target;
use crate::plan::desired::{is_pending_arn, pending_arn, MANAGED_POLICY_MAX_CHARS};
use crate::plan::{Change, Operation};
use crate::policy::size_without_whitespace;

/// One managed-policy step, decided: its document names the real ARNs of
/// the keys this run created, and fits IAM's limit.
#[derive(Debug)]
enum PolicyStep<'a> {
    /// CreatePolicy.
    Create {
        name: &'a str,
        path: &'a str,
        tags: &'a BTreeMap<String, String>,
        document: String,
    },
    /// TagPolicy with c3's tags, after AWS confirms the policy is still there
    /// and not another name's.
    Adopt {
        arn: &'a str,
        tags: &'a BTreeMap<String, String>,
    },
    /// DeletePolicyVersion of `prune` when set, then CreatePolicyVersion.
    Update {
        arn: &'a str,
        prune: Option<&'a str>,
        document: String,
    },
}

/// What the change writes, or what becomes of it without a call: failed
/// (not an IAM operation, a document over IAM's limit) or not attempted (it
/// names a key this run did not create).
fn decide<'a>(
    change: &'a Change,
    account: &str,
    created: &Created,
) -> Result<PolicyStep<'a>, Status> {
    let resolved = |document: &str, policy: &str| {
        resolve_document(document, account, created).ok_or_else(|| {
            Status::NotAttempted(Skipped::KeyNotCreated {
                policy: policy.to_string(),
            })
        })
    };
    let (policy, step) = match change.operation() {
        Some(Operation::CreatePolicy {
            name,
            path,
            document,
            tags,
        }) => {
            let document = resolved(document, name)?;
            (
                name,
                PolicyStep::Create {
                    name,
                    path,
                    tags,
                    document,
                },
            )
        }
        Some(Operation::UpdatePolicy {
            arn,
            document,
            prune_version,
        }) => {
            let document = resolved(document, arn)?;
            let prune = prune_version.as_deref();
            (
                arn,
                PolicyStep::Update {
                    arn,
                    prune,
                    document,
                },
            )
        }
        Some(Operation::AdoptPolicy { arn, tags, .. }) => {
            return Ok(PolicyStep::Adopt { arn, tags });
        }
        _ => return Err(Status::Failed(ApplyFailure::NotIamStep)),
    };
    let (PolicyStep::Create { document, .. } | PolicyStep::Update { document, .. }) = &step else {
        return Ok(step);
    };
    let size = size_without_whitespace(document);
    if size > MANAGED_POLICY_MAX_CHARS {
        return Err(Status::Failed(ApplyFailure::PolicyTooLarge {
            policy: policy.clone(),
            size,
            limit: MANAGED_POLICY_MAX_CHARS,
        }));
    }
    Ok(step)
}

/// `document` with the ARNs of keys this plan meant to create replaced by
/// the real ones; `None` when it still names a key that was not created.
fn resolve_document(document: &str, account: &str, created: &Created) -> Option<String> {
    let mut text = document.to_string();
    for ((acct, region, name, generation), (_id, arn)) in created {
        if acct != account {
            continue;
        }
        let pending = pending_arn(&Target::new(acct, region), name, *generation);
        text = text.replace(&pending, arn);
    }
    (!is_pending_arn(&text)).then_some(text)
}

/// One managed-policy change of `account`: decided, then written.
pub(super) async fn execute_policy<P: PolicyWriter>(
    run: &Run<'_>,
    account: &str,
    change: &Change,
    created: &Created,
    iam: &P,
) -> Status {
    let step = match decide(change, account, created) {
        Ok(step) => step,
        Err(status) => return status,
    };
    match write(run, account, &change.key, step, iam).await {
        Ok(()) => Status::Done,
        Err(e) => Status::Failed(e.into()),
    }
}

/// The IAM calls of a decided step, for the policies of key name `key`.
async fn write<P: PolicyWriter>(
    run: &Run<'_>,
    account: &str,
    key: &str,
    step: PolicyStep<'_>,
    iam: &P,
) -> Result<(), PolicyWriteError> {
    match step {
        PolicyStep::Create {
            name,
            path,
            tags,
            document,
        } => {
            run.iam(account, "CreatePolicy", || {
                iam.create_policy(name, path, &document, tags)
            })
            .await?;
            Ok(())
        }
        PolicyStep::Adopt { arn, tags } => {
            run.iam(account, "TagPolicy", || iam.adopt_policy(arn, key, tags))
                .await
        }
        PolicyStep::Update {
            arn,
            prune,
            document,
        } => {
            if let Some(version) = prune {
                run.iam(account, "DeletePolicyVersion", || {
                    iam.prune_version(arn, version, key)
                })
                .await?;
            }
            run.iam(account, "CreatePolicyVersion", || {
                iam.create_default_version(arn, &document, key)
            })
            .await
        }
    }
}
