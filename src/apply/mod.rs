//! The executor: makes a plan's executable changes real, and nothing else.
//!
//! It accepts [`Operation`]s only, so it cannot be handed a deletion. Per
//! (account, region) each key's steps run in dependency order — restore,
//! create (with rotation), rotation, key policy, tags, description, then the
//! alias — so a generation bump creates the new key completely before the
//! alias moves. Keys and targets run concurrently; writes are paced per
//! (account, region, operation). Managed policies are written per account
//! once its targets are done, with the ARNs of the keys just created. A step
//! that fails stops the later steps of its key only.

pub mod writer;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::Semaphore;

use self::writer::{KeyWriter, PolicyWriter, SdkKeyWriter, SdkPolicyWriter};
use crate::aws::{AwsCallError, Pacer};
use crate::model::{key_arn, DesiredState, Target};
use crate::plan::desired::{is_pending_arn, pending_arn, MANAGED_POLICY_MAX_CHARS};
use crate::plan::{Change, KeyRef, Operation, Plan};
use crate::policy::{check_key_policy_text, size_without_whitespace};

/// What happened to one executable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Written.
    Done,
    /// AWS refused it, or c3's checks did.
    Failed(String),
    /// Not tried because an earlier step of the same key (or its account) failed.
    NotAttempted(String),
}

impl Status {
    /// `done`, `failed` or `not attempted`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Failed(_) => "failed",
            Self::NotAttempted(_) => "not attempted",
        }
    }
}

/// A change and what became of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The change.
    pub change: Change,
    /// What happened.
    pub status: Status,
}

/// Receives each outcome as it happens (progress lines).
pub trait Progress: Sync {
    /// Called once per executable change, in completion order.
    fn outcome(&self, done: usize, total: usize, outcome: &Outcome);
}

/// Shared state of one apply run.
struct Run<'a> {
    pacer: Pacer,
    iam_pacer: Pacer,
    permits: Semaphore,
    total: usize,
    done: AtomicUsize,
    progress: &'a dyn Progress,
}

impl Run<'_> {
    fn record(&self, outcomes: &mut Vec<Outcome>, change: &Change, status: Status) {
        let outcome = Outcome {
            change: change.clone(),
            status,
        };
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        self.progress.outcome(n, self.total, &outcome);
        outcomes.push(outcome);
    }

    /// Runs one AWS write: paced (IAM writes, keyed `<account>/iam/<op>`, by
    /// their own rate), bounded, retried on throttling, and for keys this run
    /// just created, retried while AWS's reads have not caught up (NotFound).
    async fn call<T, F, Fut>(
        &self,
        pace_key: String,
        fresh_key: bool,
        mut f: F,
    ) -> Result<T, AwsCallError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsCallError>>,
    {
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        loop {
            let pacer = if pace_key.contains("/iam/") {
                &self.iam_pacer
            } else {
                &self.pacer
            };
            pacer.wait(&pace_key).await;
            let result = {
                let _permit = self.permits.acquire().await;
                f().await
            };
            match result {
                // Reads lag writes: a key made seconds ago may not be found yet.
                Err(e) if fresh_key && e.is_not_found() && attempt < 6 => {}
                // A refused request did nothing: safe to send again, later.
                Err(e) if e.is_throttling() && attempt < 8 => {}
                other => return other,
            }
            attempt += 1;
            tokio::time::sleep(delay + jitter(delay)).await;
            delay = (delay * 2).min(Duration::from_secs(8));
        }
    }
}

/// Up to half of `delay` again, so retries of many keys spread out.
fn jitter(delay: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = delay.as_millis().max(1) / 2;
    Duration::from_millis(u64::try_from(u128::from(nanos) % (half + 1)).unwrap_or(0))
}

/// Key ARNs created in this run: (account, region, key name, generation) → (key id, ARN).
type Created = BTreeMap<(String, String, String, u32), (String, String)>;

/// Executes a plan's executable changes with the SDK-backed writers.
pub async fn execute(
    desired: &DesiredState,
    plan: &Plan,
    base: &aws_config::SdkConfig,
    progress: &dyn Progress,
) -> Vec<Outcome> {
    let run = Run {
        pacer: Pacer::per_second(desired.settings.writes_per_second),
        iam_pacer: Pacer::per_second(desired.settings.iam_writes_per_second),
        permits: Semaphore::new(desired.settings.parallelism.max(1)),
        total: plan.executable().count(),
        done: AtomicUsize::new(0),
        progress,
    };
    // Changes per account, in plan order.
    let mut by_account: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in plan.executable() {
        by_account.entry(c.account.as_str()).or_default().push(c);
    }
    let runs = by_account.into_iter().map(|(account_id, changes)| {
        let run = &run;
        async move {
            let mut outcomes = Vec::new();
            let Some(account) = desired.account(account_id) else {
                for c in changes {
                    run.record(
                        &mut outcomes,
                        c,
                        Status::NotAttempted(format!(
                            "account {account_id} is not declared in keys.toml"
                        )),
                    );
                }
                return outcomes;
            };
            match crate::aws::connect(base, account, &desired.settings).await {
                Err(e) => {
                    let why = format!("cannot reach account {account_id}: {e}");
                    for c in changes {
                        run.record(&mut outcomes, c, Status::Failed(why.clone()));
                    }
                    outcomes
                }
                Ok(session) => {
                    let kms = |region: &str| SdkKeyWriter::new(session.kms(region));
                    let iam = SdkPolicyWriter::new(session.iam());
                    execute_account(run, account_id, &changes, kms, &iam).await
                }
            }
        }
    });
    join_all(runs).await.into_iter().flatten().collect()
}

async fn execute_account<K, P>(
    run: &Run<'_>,
    account: &str,
    changes: &[&Change],
    kms: impl Fn(&str) -> K,
    iam: &P,
) -> Vec<Outcome>
where
    K: KeyWriter,
    P: PolicyWriter,
{
    // One writer per region, shared by the keys of that region.
    let writers: BTreeMap<&str, K> = changes
        .iter()
        .filter_map(|c| c.region.as_deref())
        .map(|r| (r, kms(r)))
        .collect();
    let mut by_key: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in changes {
        by_key.entry(c.key.as_str()).or_default().push(c);
    }
    // Key names are independent: each runs its regional steps, then its
    // managed policies as soon as the keys they name exist.
    let key_runs = by_key.into_iter().map(|(name, changes)| {
        let writers = &writers;
        async move {
            let mut by_region: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
            let mut iam_changes = Vec::new();
            for c in changes {
                match &c.region {
                    Some(r) => by_region.entry(r.as_str()).or_default().push(c),
                    None => iam_changes.push(c),
                }
            }
            let regional = by_region.into_iter().filter_map(|(region, steps)| {
                let writer = writers.get(region)?;
                Some(async move {
                    let target = Target::new(account, region);
                    execute_key(run, &target, name, steps, writer).await
                })
            });
            let mut outcomes = Vec::new();
            let mut created = Created::new();
            for (o, c) in join_all(regional).await {
                outcomes.extend(o);
                created.extend(c);
            }
            let policies = iam_changes.iter().map(|c| {
                let created = &created;
                async move {
                    let mut out = Vec::new();
                    let status = execute_policy(run, account, c, created, iam).await;
                    run.record(&mut out, c, status);
                    out
                }
            });
            outcomes.extend(join_all(policies).await.into_iter().flatten());
            outcomes
        }
    });
    join_all(key_runs).await.into_iter().flatten().collect()
}

/// The steps of one key name in one target, in dependency order; a failed
/// step stops the later ones. Returns the outcomes and the key it created.
async fn execute_key<K: KeyWriter>(
    run: &Run<'_>,
    target: &Target,
    name: &str,
    mut steps: Vec<&Change>,
    writer: &K,
) -> (Vec<Outcome>, Created) {
    steps.sort_by_key(|c| c.operation().map_or(u8::MAX, Operation::step_order));
    let mut outcomes = Vec::new();
    let mut created = Created::new();
    let mut new_key: Option<(u32, String)> = None;
    let mut failed: Option<String> = None;
    for c in steps {
        let Some(op) = c.operation() else { continue };
        if let Some(why) = &failed {
            run.record(&mut outcomes, c, Status::NotAttempted(why.clone()));
            continue;
        }
        let status = match execute_key_step(run, target, op, &mut new_key, writer).await {
            Ok(()) => Status::Done,
            Err(e) => {
                failed = Some(format!("{} for this key failed", op.api_name()));
                Status::Failed(e)
            }
        };
        run.record(&mut outcomes, c, status);
    }
    if let Some((generation, key_id)) = new_key.take() {
        let arn = key_arn(target, &key_id);
        created.insert(
            (
                target.account.clone(),
                target.region.clone(),
                name.to_string(),
                generation,
            ),
            (key_id, arn),
        );
    }
    (outcomes, created)
}

/// One KMS step. `new_key` holds the key CreateKey made for this key name.
async fn execute_key_step<K: KeyWriter>(
    run: &Run<'_>,
    target: &Target,
    op: &Operation,
    new_key: &mut Option<(u32, String)>,
    writer: &K,
) -> Result<(), String> {
    let pace = |name: &str| format!("{}/{}/{name}", target.account, target.region);
    let err = |e: AwsCallError| {
        let mut s = e.to_string();
        if let Some(h) = e.hint() {
            s.push_str(&format!(" ({h})"));
        }
        s
    };
    let fresh = new_key.is_some();
    let resolve = |key: &KeyRef, new_key: &Option<(u32, String)>| -> Result<String, String> {
        match key {
            KeyRef::Existing { key_id } => Ok(key_id.clone()),
            KeyRef::New { generation } => match new_key {
                Some((g, id)) if g == generation => Ok(id.clone()),
                _ => Err(format!(
                    "the key of generation {generation} was not created"
                )),
            },
        }
    };
    match op {
        Operation::CreateKey {
            generation,
            description,
            policy,
            tags,
            rotation_days,
        } => {
            check_key_policy_text(policy, target).map_err(|e| format!("refused: {e}"))?;
            let created = run
                .call(pace("CreateKey"), false, || {
                    writer.create_key(description, policy, tags)
                })
                .await
                .map_err(err)?;
            *new_key = Some((*generation, created.key_id.clone()));
            run.call(pace("EnableKeyRotation"), true, || {
                writer.enable_rotation(&created.key_id, *rotation_days)
            })
            .await
            .map_err(|e| format!("key {} created, but {}", created.key_id, err(e)))
        }
        Operation::EnableRotation {
            key_id,
            rotation_days,
        } => run
            .call(pace("EnableKeyRotation"), fresh, || {
                writer.enable_rotation(key_id, *rotation_days)
            })
            .await
            .map_err(err),
        Operation::CreateAlias { alias, key } => {
            let key_id = resolve(key, new_key)?;
            run.call(pace("CreateAlias"), fresh, || {
                writer.create_alias(alias, &key_id)
            })
            .await
            .map_err(err)
        }
        Operation::UpdateAlias { alias, key } => {
            let key_id = resolve(key, new_key)?;
            run.call(pace("UpdateAlias"), fresh, || {
                writer.update_alias(alias, &key_id)
            })
            .await
            .map_err(err)
        }
        Operation::PutKeyPolicy { key_id, policy } => {
            check_key_policy_text(policy, target).map_err(|e| format!("refused: {e}"))?;
            run.call(pace("PutKeyPolicy"), fresh, || {
                writer.put_key_policy(key_id, policy)
            })
            .await
            .map_err(err)
        }
        Operation::TagKey { key_id, tags } => run
            .call(pace("TagResource"), fresh, || writer.tag_key(key_id, tags))
            .await
            .map_err(err),
        Operation::UpdateDescription {
            key_id,
            description,
        } => run
            .call(pace("UpdateKeyDescription"), fresh, || {
                writer.update_description(key_id, description)
            })
            .await
            .map_err(err),
        Operation::Restore {
            key_id,
            cancel_deletion,
            enable,
        } => {
            if *cancel_deletion {
                run.call(pace("CancelKeyDeletion"), false, || {
                    writer.cancel_deletion(key_id)
                })
                .await
                .map_err(err)?;
            }
            if *enable {
                run.call(pace("EnableKey"), false, || writer.enable_key(key_id))
                    .await
                    .map_err(err)?;
            }
            Ok(())
        }
        Operation::CreatePolicy { .. } | Operation::UpdatePolicy { .. } => {
            Err("an IAM operation in a regional change".to_string())
        }
    }
}

/// Replaces the ARNs of keys this plan meant to create with the real ones.
fn resolve_document(document: &str, account: &str, created: &Created) -> Result<String, String> {
    let mut text = document.to_string();
    for ((acct, region, name, generation), (_id, arn)) in created {
        if acct != account {
            continue;
        }
        let pending = pending_arn(&Target::new(acct, region), name, *generation);
        text = text.replace(&pending, arn);
    }
    if is_pending_arn(&text) {
        return Err("a key this policy names was not created".into());
    }
    Ok(text)
}

async fn execute_policy<P: PolicyWriter>(
    run: &Run<'_>,
    account: &str,
    change: &Change,
    created: &Created,
    iam: &P,
) -> Status {
    let pace = |name: &str| format!("{account}/iam/{name}");
    let err = |e: AwsCallError| Status::Failed(e.to_string());
    let (document, name) = match change.operation() {
        Some(Operation::CreatePolicy { document, name, .. }) => (document, name.clone()),
        Some(Operation::UpdatePolicy { document, arn, .. }) => (document, arn.clone()),
        _ => return Status::Failed("not an IAM operation".into()),
    };
    let document = match resolve_document(document, account, created) {
        Ok(d) => d,
        Err(why) => return Status::NotAttempted(format!("{name}: {why}")),
    };
    let size = size_without_whitespace(&document);
    if size > MANAGED_POLICY_MAX_CHARS {
        return Status::Failed(format!(
            "refused: {name} would be {size} characters, over IAM's limit of {MANAGED_POLICY_MAX_CHARS}"
        ));
    }
    match change.operation() {
        Some(Operation::CreatePolicy {
            name, path, tags, ..
        }) => {
            match run
                .call(pace("CreatePolicy"), false, || {
                    iam.create_policy(name, path, &document, tags)
                })
                .await
            {
                Ok(_) => Status::Done,
                Err(e) => err(e),
            }
        }
        Some(Operation::UpdatePolicy {
            arn, prune_version, ..
        }) => {
            if let Some(v) = prune_version {
                if let Err(e) = run
                    .call(pace("DeletePolicyVersion"), false, || {
                        iam.prune_version(arn, v, &change.key)
                    })
                    .await
                {
                    return err(e);
                }
            }
            match run
                .call(pace("CreatePolicyVersion"), false, || {
                    iam.create_default_version(arn, &document, &change.key)
                })
                .await
            {
                Ok(()) => Status::Done,
                Err(e) => err(e),
            }
        }
        _ => Status::Failed("not an IAM operation".into()),
    }
}

/// A no-op progress sink.
pub struct Silent;

impl Progress for Silent {
    fn outcome(&self, _: usize, _: usize, _: &Outcome) {}
}
