//! The KMS steps of one key name in one target: each step is first decided
//! ([`decide`]: c3's checks, the key it acts on), then executed.

use std::collections::BTreeMap;

use super::writer::{KeyWriter, NewKeyKind};
use super::{ApplyFailure, Created, Outcome, Run, Skipped, Status};
use crate::aws::AwsCallError;
use crate::model::{key_arn, key_type, Target};
use crate::plan::{Change, KeyRef, Operation};
use crate::policy::check_key_policy_text;

/// The key CreateKey made in this run for this key name and target:
/// (generation, key id).
type NewKey = Option<(u32, String)>;

/// Where a replica is made from: the writers of the account's regions (a
/// ReplicateKey goes to the primary's region) and the keys this run
/// created (a primary made in this run).
pub(super) struct Primaries<'a, K> {
    pub(super) writers: &'a BTreeMap<&'a str, K>,
    pub(super) created: &'a Created,
}

/// The steps of one key name in one target, in dependency order; a failed
/// step stops the later ones. Returns the outcomes and the key it created.
pub(super) async fn execute_key<K: KeyWriter>(
    run: &Run<'_>,
    target: &Target,
    name: &str,
    mut steps: Vec<&Change>,
    primaries: &Primaries<'_, K>,
) -> (Vec<Outcome>, Created) {
    let Some(writer) = primaries.writers.get(target.region.as_str()) else {
        return (Vec::new(), Created::new());
    };
    steps.sort_by_key(|c| c.operation().map_or(u8::MAX, Operation::step_order));
    let mut outcomes = Vec::new();
    let mut new_key: NewKey = None;
    let mut failed: Option<&'static str> = None;
    for c in steps {
        let Some(op) = c.operation() else { continue };
        let status = match failed {
            Some(api) => Status::NotAttempted(Skipped::EarlierStepFailed(api)),
            None => {
                match execute_step(run, target, name, op, &mut new_key, writer, primaries).await {
                    Ok(()) => Status::Done,
                    Err(e) => {
                        failed = Some(op.api_name());
                        Status::Failed(e)
                    }
                }
            }
        };
        run.record(&mut outcomes, c, status);
    }
    let mut created = Created::new();
    if let Some((generation, key_id)) = new_key {
        let arn = key_arn(target, &key_id);
        let account = target.account.clone();
        let slot = (account, target.region.clone(), name.to_string(), generation);
        created.insert(slot, (key_id, arn));
    }
    (outcomes, created)
}

/// One KMS step, decided: c3's checks passed and the key it acts on is known.
#[derive(Debug)]
enum KeyStep<'a> {
    /// CreateKey, then EnableKeyRotation on the key it made (a symmetric
    /// encryption key).
    Create(KeyToCreate<'a>),
    /// ReplicateKey in the primary's region.
    Replicate(ReplicaToCreate<'a>),
    /// Writes to a key that exists (or that this run created), in order;
    /// the first that fails ends the step.
    Writes(Vec<KeyWrite<'a>>),
}

/// What ReplicateKey sends.
#[derive(Debug)]
struct ReplicaToCreate<'a> {
    generation: u32,
    primary_region: &'a str,
    primary: &'a KeyRef,
    description: &'a str,
    policy: &'a str,
    tags: &'a BTreeMap<String, String>,
}

/// What CreateKey sends, and what follows it.
#[derive(Debug)]
struct KeyToCreate<'a> {
    generation: u32,
    kind: NewKeyKind<'a>,
    rotation_days: u32,
    description: &'a str,
    policy: &'a str,
    tags: &'a BTreeMap<String, String>,
}

/// One KMS write to a known key: its API call (which also names its pace)
/// and the call itself.
#[derive(Debug)]
struct KeyWrite<'a> {
    operation: &'static str,
    call: KeyCall<'a>,
}

/// The arguments of one KMS write.
#[derive(Debug)]
enum KeyCall<'a> {
    EnableRotation(&'a str, u32),
    CreateAlias(&'a str, String),
    UpdateAlias(&'a str, String),
    PutKeyPolicy(&'a str, &'a str),
    TagKey(&'a str, &'a BTreeMap<String, String>),
    UpdateDescription(&'a str, &'a str),
    CancelDeletion(&'a str),
    EnableKey(&'a str),
}

impl KeyCall<'_> {
    /// Makes the call.
    async fn send<K: KeyWriter>(&self, writer: &K) -> Result<(), AwsCallError> {
        match self {
            Self::EnableRotation(key_id, days) => writer.enable_rotation(key_id, *days).await,
            Self::CreateAlias(alias, key_id) => writer.create_alias(alias, key_id).await,
            Self::UpdateAlias(alias, key_id) => writer.update_alias(alias, key_id).await,
            Self::PutKeyPolicy(key_id, policy) => writer.put_key_policy(key_id, policy).await,
            Self::TagKey(key_id, tags) => writer.tag_key(key_id, tags).await,
            Self::UpdateDescription(key_id, text) => writer.update_description(key_id, text).await,
            Self::CancelDeletion(key_id) => writer.cancel_deletion(key_id).await,
            Self::EnableKey(key_id) => writer.enable_key(key_id).await,
        }
    }
}

/// What `op` writes, or why it may not: a key policy c3's checks refuse, an
/// alias onto a key this run did not create, an IAM operation.
fn decide<'a>(
    op: &'a Operation,
    target: &Target,
    new_key: &NewKey,
) -> Result<KeyStep<'a>, ApplyFailure> {
    let checked = |policy: &str| {
        check_key_policy_text(policy, target).map_err(ApplyFailure::KeyPolicyRefused)
    };
    let operation = op.api_name();
    let one = |call| Ok(KeyStep::Writes(vec![KeyWrite { operation, call }]));
    match op {
        Operation::CreateKey {
            generation,
            rotation_days,
            description,
            policy,
            tags,
            key_spec,
            key_usage,
            multi_region,
        } => {
            checked(policy)?;
            Ok(KeyStep::Create(KeyToCreate {
                generation: *generation,
                kind: NewKeyKind {
                    spec: key_spec,
                    usage: key_usage,
                    multi_region: *multi_region,
                },
                rotation_days: *rotation_days,
                description,
                policy,
                tags,
            }))
        }
        Operation::ReplicateKey {
            generation,
            primary_region,
            primary,
            description,
            policy,
            tags,
        } => {
            checked(policy)?;
            Ok(KeyStep::Replicate(ReplicaToCreate {
                generation: *generation,
                primary_region,
                primary,
                description,
                policy,
                tags,
            }))
        }
        Operation::EnableRotation {
            key_id,
            rotation_days,
        } => one(KeyCall::EnableRotation(key_id, *rotation_days)),
        Operation::CreateAlias { alias, key } => {
            one(KeyCall::CreateAlias(alias, resolve(key, new_key)?))
        }
        Operation::UpdateAlias { alias, key } => {
            one(KeyCall::UpdateAlias(alias, resolve(key, new_key)?))
        }
        Operation::PutKeyPolicy { key_id, policy } => {
            checked(policy)?;
            one(KeyCall::PutKeyPolicy(key_id, policy))
        }
        Operation::TagKey { key_id, tags } | Operation::AdoptKey { key_id, tags } => {
            one(KeyCall::TagKey(key_id, tags))
        }
        Operation::UpdateDescription {
            key_id,
            description,
        } => one(KeyCall::UpdateDescription(key_id, description)),
        Operation::Restore {
            key_id,
            cancel_deletion,
            enable,
        } => Ok(KeyStep::Writes(restore(key_id, *cancel_deletion, *enable))),
        Operation::CreatePolicy { .. }
        | Operation::UpdatePolicy { .. }
        | Operation::AdoptPolicy { .. } => Err(ApplyFailure::IamStepInRegion),
    }
}

/// CancelKeyDeletion when the key is PendingDeletion, then EnableKey.
fn restore(key_id: &str, cancel_deletion: bool, enable: bool) -> Vec<KeyWrite<'_>> {
    let cancel = cancel_deletion.then_some(KeyWrite {
        operation: "CancelKeyDeletion",
        call: KeyCall::CancelDeletion(key_id),
    });
    let enable = enable.then_some(KeyWrite {
        operation: "EnableKey",
        call: KeyCall::EnableKey(key_id),
    });
    cancel.into_iter().chain(enable).collect()
}

/// The key id a step acts on: an existing key, or the one this run created.
fn resolve(key: &KeyRef, new_key: &NewKey) -> Result<String, ApplyFailure> {
    match (key, new_key) {
        (KeyRef::Existing { key_id }, _) => Ok(key_id.clone()),
        (KeyRef::New { generation }, Some((g, id))) if g == generation => Ok(id.clone()),
        (KeyRef::New { generation }, _) => Err(ApplyFailure::KeyNotCreated {
            generation: *generation,
        }),
    }
}

/// One KMS step: decided, then written. `new_key` holds the key CreateKey
/// (or ReplicateKey) made for this key name.
async fn execute_step<K: KeyWriter>(
    run: &Run<'_>,
    target: &Target,
    name: &str,
    op: &Operation,
    new_key: &mut NewKey,
    writer: &K,
    primaries: &Primaries<'_, K>,
) -> Result<(), ApplyFailure> {
    match decide(op, target, new_key)? {
        KeyStep::Create(new) => {
            let created = run
                .kms(target, "CreateKey", false, || {
                    writer.create_key(new.kind, new.description, new.policy, new.tags)
                })
                .await
                .map_err(ApplyFailure::key_call)?;
            *new_key = Some((new.generation, created.key_id.clone()));
            let rotates = new.kind.spec == key_type::DEFAULT_SPEC
                && new.kind.usage == key_type::ENCRYPT_DECRYPT;
            if !rotates {
                return Ok(());
            }
            run.kms(target, "EnableKeyRotation", true, || {
                writer.enable_rotation(&created.key_id, new.rotation_days)
            })
            .await
            .map_err(|source| ApplyFailure::RotationAfterCreate {
                key_id: created.key_id.clone(),
                source: Box::new(source),
            })
        }
        KeyStep::Replicate(replica) => {
            let made = replicate(run, target, name, &replica, primaries).await?;
            *new_key = Some((replica.generation, made));
            Ok(())
        }
        KeyStep::Writes(steps) => {
            // Steps are in dependency order: a restore (the only step that
            // comes before CreateKey) never writes to a key made in this run.
            let fresh = new_key.is_some();
            for KeyWrite { operation, call } in &steps {
                run.kms(target, operation, fresh, || call.send(writer))
                    .await
                    .map_err(ApplyFailure::key_call)?;
            }
            Ok(())
        }
    }
}

/// ReplicateKey, sent to the primary's region and paced there (KMS allows
/// about 5 a second per account and region); returns the replica's key id.
async fn replicate<K: KeyWriter>(
    run: &Run<'_>,
    target: &Target,
    name: &str,
    replica: &ReplicaToCreate<'_>,
    primaries: &Primaries<'_, K>,
) -> Result<String, ApplyFailure> {
    let primary_id = match replica.primary {
        KeyRef::Existing { key_id } => key_id.clone(),
        KeyRef::New { generation } => {
            let slot = (
                target.account.clone(),
                replica.primary_region.to_string(),
                name.to_string(),
                *generation,
            );
            let (id, _) = primaries
                .created
                .get(&slot)
                .ok_or(ApplyFailure::KeyNotCreated {
                    generation: *generation,
                })?;
            id.clone()
        }
    };
    let Some(primary_writer) = primaries.writers.get(replica.primary_region) else {
        return Err(ApplyFailure::KeyNotCreated {
            generation: replica.generation,
        });
    };
    let at = Target::new(&target.account, replica.primary_region);
    // The primary may have been made seconds ago: NotFound is retried.
    let fresh = matches!(replica.primary, KeyRef::New { .. });
    let made = run
        .kms(&at, "ReplicateKey", fresh, || {
            primary_writer.replicate_key(
                &primary_id,
                &target.region,
                replica.description,
                replica.policy,
                replica.tags,
            )
        })
        .await
        .map_err(ApplyFailure::key_call)?;
    Ok(made.key_id)
}
