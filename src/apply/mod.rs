//! The executor: makes a plan's executable changes real, and nothing else.
//!
//! It accepts [`Operation`](crate::plan::Operation)s only, so it cannot be handed a deletion. Per
//! (account, region) each key's steps run in dependency order — restore,
//! create (with rotation), rotation, key policy, tags, description, then the
//! alias — so a generation bump creates the new key completely before the
//! alias moves. Keys and targets run concurrently; writes are paced per
//! (account, region, operation). Managed policies are written per account
//! once its targets are done, with the ARNs of the keys just created. A step
//! that fails stops the later steps of its key only.
//!
//! Each step is executed once, and every failure is returned as a typed
//! [`Status`] ([`ApplyFailure`], [`Skipped`]); whether a failed call within a
//! step is sent again is decided in [`retry`], for every layer that retries.

pub mod error;
mod key;
mod policy;
pub mod retry;
pub mod writer;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::join_all;
use tokio::sync::Semaphore;

pub use self::error::{ApplyFailure, PolicyWriteError, Skipped};
use self::retry::{BehindCall, Retries};
use self::writer::{KeyWriter, PolicyWriter, SdkKeyWriter, SdkPolicyWriter};
use crate::aws::Pacer;
use crate::model::{DesiredState, Target};
use crate::plan::{Change, Operation, Plan};

/// What happened to one executable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Written.
    Done,
    /// AWS refused it, or c3's checks did.
    Failed(ApplyFailure),
    /// Not tried because an earlier step of the same key (or its account) failed.
    NotAttempted(Skipped),
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

    /// Records the same status for every change of `changes`.
    fn record_all(&self, changes: &[&Change], status: &Status) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for c in changes {
            self.record(&mut outcomes, c, status.clone());
        }
        outcomes
    }

    /// One KMS write in `target`, paced per (account, region, operation);
    /// `fresh_key` says it is about a key this run created.
    async fn kms<T, E, F, Fut>(
        &self,
        target: &Target,
        operation: &'static str,
        fresh_key: bool,
        f: F,
    ) -> Result<T, E>
    where
        E: BehindCall,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let pace_key = format!("{}/{}/{operation}", target.account, target.region);
        self.call(&self.pacer, pace_key, fresh_key, f).await
    }

    /// One IAM write in `account`, paced per (account, operation) by IAM's
    /// own rate.
    async fn iam<T, E, F, Fut>(&self, account: &str, operation: &'static str, f: F) -> Result<T, E>
    where
        E: BehindCall,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let pace_key = format!("{account}/iam/{operation}");
        self.call(&self.iam_pacer, pace_key, false, f).await
    }

    /// Runs one AWS write: each attempt paced and under a permit, and sent
    /// again as [`retry`] decides.
    async fn call<T, E, F, Fut>(
        &self,
        pacer: &Pacer,
        pace_key: String,
        fresh_key: bool,
        mut f: F,
    ) -> Result<T, E>
    where
        E: BehindCall,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut retries = Retries::new(fresh_key);
        loop {
            pacer.wait(&pace_key).await;
            let result = {
                let _permit = self.permits.acquire().await;
                f().await
            };
            let pause = match &result {
                Err(e) => retries.after(e.aws_call()),
                Ok(_) => None,
            };
            match pause {
                Some(pause) => tokio::time::sleep(pause).await,
                None => return result,
            }
        }
    }
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
            let Some(account) = desired.account(account_id) else {
                let why = Skipped::UndeclaredAccount(account_id.to_string());
                return run.record_all(&changes, &Status::NotAttempted(why));
            };
            match crate::aws::connect(base, account, &desired.settings).await {
                Err(source) => {
                    let account = account_id.to_string();
                    let source = Box::new(source);
                    let why = ApplyFailure::Unreachable { account, source };
                    run.record_all(&changes, &Status::Failed(why))
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
    // One writer per region, shared by the keys of that region (and by the
    // replicas made from a primary there).
    let writers: BTreeMap<&str, K> = changes
        .iter()
        .flat_map(|c| {
            let primary = match c.operation() {
                Some(Operation::ReplicateKey { primary_region, .. }) => {
                    Some(primary_region.as_str())
                }
                _ => None,
            };
            c.region.as_deref().into_iter().chain(primary)
        })
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
            // Regions without a replica to make first (the primaries of
            // multi-Region keys among them), then those with one.
            let (replicas, firsts): (Vec<_>, Vec<_>) =
                by_region.into_iter().partition(|(_, steps)| {
                    steps
                        .iter()
                        .any(|c| matches!(c.operation(), Some(Operation::ReplicateKey { .. })))
                });
            let mut outcomes = Vec::new();
            let mut created = Created::new();
            for wave in [firsts, replicas] {
                let primaries = key::Primaries {
                    writers,
                    created: &created,
                };
                let regional = wave.into_iter().map(|(region, steps)| {
                    let primaries = &primaries;
                    async move {
                        let target = Target::new(account, region);
                        key::execute_key(run, &target, name, steps, primaries).await
                    }
                });
                let mut made = Created::new();
                for (o, c) in join_all(regional).await {
                    outcomes.extend(o);
                    made.extend(c);
                }
                created.extend(made);
            }
            outcomes.extend(execute_policies(run, account, &iam_changes, &created, iam).await);
            outcomes
        }
    });
    join_all(key_runs).await.into_iter().flatten().collect()
}

/// The managed-policy changes of one key name: adoptions first, then the
/// other steps (an update of a policy whose adoption failed is not tried).
async fn execute_policies<P: PolicyWriter>(
    run: &Run<'_>,
    account: &str,
    changes: &[&Change],
    created: &Created,
    iam: &P,
) -> Vec<Outcome> {
    let is_adopt = |c: &Change| matches!(c.operation(), Some(Operation::AdoptPolicy { .. }));
    let one = |c| one_policy(run, account, c, created, iam);
    let adoptions = changes.iter().copied().filter(|c| is_adopt(c)).map(one);
    let mut outcomes: Vec<Outcome> = join_all(adoptions).await.into_iter().flatten().collect();
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status != Status::Done)
        .filter_map(|o| match o.change.operation() {
            Some(Operation::AdoptPolicy { arn, .. }) => Some(arn.as_str()),
            _ => None,
        })
        .collect();
    let mut skipped = Vec::new();
    let rest = changes
        .iter()
        .copied()
        .filter(|c| !is_adopt(c))
        .filter(|c| {
            let blocked = matches!(
                c.operation(),
                Some(Operation::UpdatePolicy { arn, .. }) if failed.contains(&arn.as_str())
            );
            if blocked {
                skipped.push(*c);
            }
            !blocked
        });
    let rest: Vec<&Change> = rest.collect();
    let why = Status::NotAttempted(Skipped::EarlierStepFailed("TagPolicy"));
    let mut blocked = run.record_all(&skipped, &why);
    outcomes.extend(
        join_all(rest.into_iter().map(one))
            .await
            .into_iter()
            .flatten(),
    );
    outcomes.append(&mut blocked);
    outcomes
}

/// One managed-policy change, executed and recorded.
async fn one_policy<P: PolicyWriter>(
    run: &Run<'_>,
    account: &str,
    change: &Change,
    created: &Created,
    iam: &P,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    let status = policy::execute_policy(run, account, change, created, iam).await;
    run.record(&mut out, change, status);
    out
}

/// A no-op progress sink.
pub struct Silent;

impl Progress for Silent {
    fn outcome(&self, _: usize, _: usize, _: &Outcome) {}
}
