//! Reading the live state of every declared account and region into plain
//! values ([`LiveState`]); the planner never sees an SDK type.
//!
//! Every read of a run (all accounts, regions and keys) runs concurrently,
//! bounded by one semaphore of `settings.parallelism` permits. A permit is
//! held around each single API call, never around a larger unit of work, so
//! no task waits for a permit while holding one.
//!
//! The SDK sits behind two small traits, [`kms::KmsRead`] and
//! [`iam::IamRead`], one page or one object per method; the logic that
//! builds snapshots (paging, filtering, what to read in full, how errors are
//! classified) is generic over them and unit-tested with in-memory fakes.

pub mod audit;
pub mod error;
pub mod iam;
pub mod import;
pub mod kms;
pub mod org;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod test_support;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use futures::future::join_all;
use tokio::sync::Semaphore;

use crate::aws::{self, AwsCallError, Pacer};
use crate::model::{Account, AccountSnapshot, DesiredState, LiveState, RegionSnapshot, Target};

pub use error::{ReadError, ReadPart};

/// Reads every declared account and region.
///
/// Per account: connect once (AssumeRole when `role_arn` is set, then check
/// the identity); then, concurrently, read each region's KMS keys and aliases
/// and the account's IAM policies. A failed connect fails every target of the
/// account and its IAM entry; a failed region read fails that target only; a
/// failed IAM read fails that account entry only.
pub async fn read(desired: &DesiredState, base: &SdkConfig) -> LiveState {
    read_observed(desired, base, &UNOBSERVED).await
}

/// [`read`], counting targets and calls into `progress` as it goes.
pub async fn read_observed(
    desired: &DesiredState,
    base: &SdkConfig,
    progress: &ReadProgress,
) -> LiveState {
    let gate = Semaphore::new(desired.settings.parallelism.max(1));
    let grant_pacer = Pacer::per_second(desired.settings.grant_reads_per_second);
    // Only the accounts and regions in this run's scope are read.
    let accounts = desired.accounts_in_scope();
    progress.targets.store(
        accounts.iter().map(|a| a.regions.len()).sum(),
        Ordering::Relaxed,
    );
    let reads = accounts.iter().map(|account| {
        let shared = Shared {
            gate: &gate,
            pacer: &grant_pacer,
            progress,
        };
        read_account(desired, base, account, shared)
    });
    let mut state = LiveState::default();
    for read in join_all(reads).await {
        state.regions.extend(read.regions);
        state.accounts.insert(read.account_id, read.iam);
    }
    state
}

/// What was read from one account.
struct AccountRead {
    account_id: String,
    iam: Result<AccountSnapshot, crate::model::ReadFailure>,
    regions: Vec<(Target, Result<RegionSnapshot, crate::model::ReadFailure>)>,
}

/// What every read of a run shares: the permits, the pacer of paced reads
/// ([`PACED_READS`]) and the progress counters.
#[derive(Clone, Copy)]
struct Shared<'a> {
    gate: &'a Semaphore,
    pacer: &'a Pacer,
    progress: &'a ReadProgress,
}

async fn read_account(
    desired: &DesiredState,
    base: &SdkConfig,
    account: &Account,
    shared: Shared<'_>,
) -> AccountRead {
    let Shared {
        gate,
        pacer,
        progress,
    } = shared;
    let session = {
        // One permit for the identity check (and the AssumeRole it triggers).
        let _permit = gate.acquire().await.ok();
        aws::connect(base, account, &desired.settings).await
    };
    let session = match session {
        Ok(session) => session,
        Err(call) => {
            for region in &account.regions {
                progress.target_done(&account.name, region, false);
            }
            return not_connected(account, call);
        }
    };

    let iam = async {
        let calls = Calls::observed(gate, &account.name, "global", progress);
        let client = iam::SdkIam::new(session.iam());
        iam::read_account(&client, &calls, &desired.settings.policy_path)
            .await
            .map_err(|call| ReadError::new(account, ReadPart::Iam, call).into())
    };
    let regions = join_all(account.regions.iter().map(|region| {
        let session = &session;
        async move {
            let target = Target::new(&account.id, region);
            let calls = Calls::observed(gate, &account.name, region, progress).with_pacer(pacer);
            let client = kms::SdkKms::new(session.kms(region));
            let declared = declared_in_target(desired, &target);
            let adopting = adopting_in_target(desired, &target);
            let grants = desired.settings.read_grants;
            let snapshot = kms::read_region_adopting(&client, &calls, &declared, &adopting, grants)
                .await
                .map_err(|call| {
                    ReadError::new(account, ReadPart::Region(region.clone()), call).into()
                });
            progress.target_done(&account.name, region, snapshot.is_ok());
            (target, snapshot)
        }
    }));
    let (iam, regions) = futures::join!(iam, regions);
    AccountRead {
        account_id: account.id.clone(),
        iam,
        regions,
    }
}

/// What is read from an account that could not be connected to: its IAM
/// entry and every one of its targets failed, all for the one reason `call`.
fn not_connected(account: &Account, call: AwsCallError) -> AccountRead {
    let regions = account
        .regions
        .iter()
        .map(|region| {
            let err = ReadError::new(account, ReadPart::Region(region.clone()), call.clone());
            let mut failure = crate::model::ReadFailure::from(err);
            failure.account_wide = true;
            (Target::new(&account.id, region), Err(failure))
        })
        .collect();
    let mut failure =
        crate::model::ReadFailure::from(ReadError::new(account, ReadPart::Account, call));
    failure.account_wide = true;
    AccountRead {
        account_id: account.id.clone(),
        iam: Err(failure),
        regions,
    }
}

/// Names of the keys declared for a target.
pub fn declared_in_target(desired: &DesiredState, target: &Target) -> BTreeSet<String> {
    desired
        .keys
        .iter()
        .filter(|k| k.targets.contains(target))
        .map(|k| k.name.clone())
        .collect()
}

/// Names of the keys declared with `adopt = true` for a target.
pub fn adopting_in_target(desired: &DesiredState, target: &Target) -> BTreeSet<String> {
    desired
        .keys
        .iter()
        .filter(|k| k.adopt && k.targets.contains(target))
        .map(|k| k.name.clone())
        .collect()
}

/// Names of the keys declared for any region of an account.
pub fn declared_in_account(desired: &DesiredState, account_id: &str) -> BTreeSet<String> {
    desired
        .keys
        .iter()
        .filter(|k| k.targets.iter().any(|t| t.account == account_id))
        .map(|k| k.name.clone())
        .collect()
}

/// Called as each target is read: the account's name, the region, and
/// whether it could be read.
pub type TargetObserver = Box<dyn Fn(&str, &str, bool) + Send + Sync>;

/// Counters of a read in progress, for a progress display.
#[derive(Default)]
pub struct ReadProgress {
    /// (account, region) targets to read.
    pub targets: AtomicUsize,
    /// Targets read (successfully or not).
    pub targets_done: AtomicUsize,
    /// API calls made so far.
    pub calls: AtomicUsize,
    /// Told of each target as it is read.
    pub on_target: Option<TargetObserver>,
}

impl ReadProgress {
    /// Zeroed counters.
    pub const fn new() -> Self {
        Self {
            targets: AtomicUsize::new(0),
            targets_done: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            on_target: None,
        }
    }

    /// Zeroed counters that tell `observer` of each target as it is read.
    pub fn observed(observer: TargetObserver) -> Self {
        Self {
            on_target: Some(observer),
            ..Self::new()
        }
    }

    fn target_done(&self, account: &str, region: &str, ok: bool) {
        self.targets_done.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &self.on_target {
            observer(account, region, ok);
        }
    }
}

impl std::fmt::Debug for ReadProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadProgress")
            .field("targets", &self.targets)
            .field("targets_done", &self.targets_done)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

/// Counters nobody watches.
static UNOBSERVED: ReadProgress = ReadProgress::new();

/// Reads paced under their own quota, per (account, region): ListGrants
/// (KMS allows 100 per second per account and region, shared with every
/// other caller, such as the services that create grants), at
/// `[settings] grant_reads_per_second`.
pub const PACED_READS: &[&str] = &["ListGrants"];

/// The context of the calls of one read: the shared semaphore, the account
/// and region for logs, the pacer of [`PACED_READS`], and the progress counters.
pub struct Calls<'a> {
    gate: &'a Semaphore,
    account: &'a str,
    region: &'a str,
    progress: &'a ReadProgress,
    pacer: Option<&'a Pacer>,
}

impl<'a> Calls<'a> {
    /// Calls for `account` (its name) in `region` (`global` for IAM).
    pub fn new(gate: &'a Semaphore, account: &'a str, region: &'a str) -> Self {
        Self::observed(gate, account, region, &UNOBSERVED)
    }

    /// The same, counting calls into `progress`.
    pub fn observed(
        gate: &'a Semaphore,
        account: &'a str,
        region: &'a str,
        progress: &'a ReadProgress,
    ) -> Self {
        Self {
            gate,
            account,
            region,
            progress,
            pacer: None,
        }
    }

    /// The same, pacing [`PACED_READS`] with `pacer` per (account, region, operation).
    #[must_use]
    pub fn with_pacer(mut self, pacer: &'a Pacer) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// Runs one API call while holding one permit. `call` makes the call's
    /// future only once the permit is held, and that future lives on the
    /// heap: an SDK call's future is about 5 KB, and a large read queues
    /// thousands of calls at once (four per key), so a queued call holds
    /// only a closure and the SDK futures in memory are at most the permits.
    pub async fn run<T, F, Fut>(&self, operation: &'static str, call: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(pacer) = self.pacer.filter(|_| PACED_READS.contains(&operation)) {
            // The slot is taken before the permit, so a paced call never
            // holds a permit while it waits.
            pacer
                .wait(&format!("{}/{}/{operation}", self.account, self.region))
                .await;
        }
        // The semaphore is never closed; if it were, run without a permit
        // rather than fail the read.
        let _permit = self.gate.acquire().await.ok();
        self.progress.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            operation,
            account = self.account,
            region = self.region,
            "AWS call"
        );
        Box::pin(call()).await
    }
}

pub use crate::aws::pages::Page;

/// Every item of a paged listing ([`crate::aws::pages::collect_pages`]:
/// followed to the end, a truncated page without a marker or a marker seen
/// twice is an error), one call per page, each under a permit.
pub async fn collect_pages<T, F, Fut>(
    operation: &'static str,
    calls: &Calls<'_>,
    fetch: F,
) -> Result<Vec<T>, AwsCallError>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, AwsCallError>>,
{
    // The page's call is made only once its permit is held, so a queued
    // read holds no SDK future (see `run`).
    let fetch = &fetch;
    crate::aws::pages::collect_pages(operation, move |marker| {
        calls.run(operation, move || fetch(marker))
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn pages_are_followed_until_not_truncated() {
        let gate = Semaphore::new(1);
        let calls = Calls::new(&gate, "a", "r");
        let markers = Mutex::new(Vec::new());
        let items = collect_pages("ListKeys", &calls, |marker| {
            markers.lock().unwrap().push(marker.clone());
            async move {
                Ok(match marker.as_deref() {
                    None => Page {
                        items: vec![1, 2],
                        truncated: true,
                        next_marker: Some("m1".into()),
                    },
                    Some("m1") => Page {
                        items: vec![3],
                        truncated: true,
                        next_marker: Some("m2".into()),
                    },
                    _ => Page::last(vec![4]),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(items, vec![1, 2, 3, 4]);
        assert_eq!(
            *markers.lock().unwrap(),
            vec![None, Some("m1".to_string()), Some("m2".to_string())]
        );
    }

    #[tokio::test]
    async fn truncated_without_marker_or_repeated_marker_fails() {
        let gate = Semaphore::new(1);
        let calls = Calls::new(&gate, "a", "r");
        let err = collect_pages("ListAliases", &calls, |_| async {
            Ok(Page {
                items: vec![1],
                truncated: true,
                next_marker: None,
            })
        })
        .await
        .unwrap_err();
        assert_eq!(err.operation, "ListAliases");
        let err = collect_pages("ListAliases", &calls, |_| async {
            Ok(Page {
                items: vec![1],
                truncated: true,
                next_marker: Some("same".to_string()),
            })
        })
        .await
        .unwrap_err();
        assert!(err.message.contains("twice"), "{err}");
    }

    #[test]
    fn read_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let desired = DesiredState {
            settings: crate::model::Settings::default(),
            accounts: Vec::new(),
            keys: Vec::new(),
            scope: crate::model::Scope::default(),
            accept: Vec::new(),
            fleet: crate::model::Fleet::default(),
        };
        let base = SdkConfig::builder().build();
        let future = read(&desired, &base);
        assert_send(&future);
    }
}
