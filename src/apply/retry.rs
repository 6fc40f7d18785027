//! Whether a failed write is sent again, how often, or surfaced: decided
//! here, for every layer that retries.
//!
//! A write is retried in at most three layers, each for its own reason:
//!
//! 1. **The SDK**, inside one call: every client has the standard retry mode
//!    of [`crate::aws::retry_config`] ([`crate::aws::MAX_ATTEMPTS`] attempts,
//!    exponential back-off with jitter, the SDK's retry quota) for transient
//!    failures: throttling codes, HTTP 5xx, timeouts and reset connections.
//!    A refused connection or a host that does not resolve is never retried
//!    (src/aws/http.rs: waiting cannot help). Writes that are not idempotent
//!    ([`NOT_IDEMPOTENT`]) get no SDK retries at all ([`sdk_override`]): after
//!    a timeout or a lost answer AWS may have done the work, and sending
//!    CreateKey again would make a second key, CreatePolicyVersion a second,
//!    identical version. Such a failure is surfaced; the next run finds what
//!    was made (the key by its `c3:` tags, the version by its document).
//!    Creates of named things (CreateAlias, CreatePolicy) keep the SDK's
//!    retries: a name exists once, so a repeat after a lost answer fails
//!    with an `AlreadyExists` error instead of making a second one.
//! 2. **The executor**, around one call, once the SDK has given up
//!    ([`Retries`], by [`Class`]): throttling is retried for every write, the
//!    non-idempotent ones included, because a throttled request is one AWS
//!    refused and did not do; a `NotFound` on a key this run just created is
//!    retried because KMS's reads lag its writes by seconds. Everything else
//!    is surfaced at once: access denied, invalid input, a key in the wrong
//!    state and limits give the same answer when asked again, timeouts and
//!    dispatch failures were already retried by the SDK where that is safe,
//!    and c3's own refusals (a policy that is not c3's) made no call or would
//!    get the same answer.
//! 3. **Settling**, after every write: apply plans again, and while the fresh
//!    plan still holds executable changes or new errors it waits
//!    ([`SETTLE_PAUSES`]) and plans again ([`settle_again`]), so that what it
//!    just wrote is not reported as drift. This layer only reads. It does not
//!    wait when a write failed (the change it left cannot appear by waiting),
//!    nor for targets that failed before apply (nothing was written there).

use std::time::Duration;

use aws_config::retry::RetryConfig;

use super::error::PolicyWriteError;
use crate::aws::AwsCallError;
use crate::plan::{Plan, PlanError};

/// Writes that are not idempotent: sent once by the SDK (layer 1), retried
/// by the executor only when AWS throttled them (layer 2).
pub const NOT_IDEMPOTENT: [&str; 3] = ["CreateKey", "ReplicateKey", "CreatePolicyVersion"];

/// The SDK retry configuration that replaces the client's for one call of
/// `operation`: none for idempotent calls (they keep the client's retries),
/// no retries for [`NOT_IDEMPOTENT`] ones.
pub fn sdk_override(operation: &str) -> Option<RetryConfig> {
    NOT_IDEMPOTENT
        .contains(&operation)
        .then(RetryConfig::disabled)
}

/// How the executor takes a failed call (layer 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// AWS throttled the call: it refused the request and did nothing, so it
    /// is safe to send again, later. Up to [`Class::THROTTLED_RETRIES`] times.
    Throttled,
    /// `NotFound` on a key this run created: KMS's reads have not caught up
    /// with the CreateKey yet. Up to [`Class::NOT_YET_VISIBLE_RETRIES`] times.
    NotYetVisible,
    /// Anything else, including c3's own refusals: sending it again would get
    /// the same answer, or could do the work twice. Surfaced.
    Final,
}

impl Class {
    /// Retries after throttling (after the SDK's own).
    pub const THROTTLED_RETRIES: u32 = 8;
    /// Retries while a new key is not found.
    pub const NOT_YET_VISIBLE_RETRIES: u32 = 6;

    /// The class of a failure: `call` is the failed AWS call behind it
    /// (`None` for c3's refusals); `fresh_key` says whether the call is about
    /// a key this run created.
    pub fn of(call: Option<&AwsCallError>, fresh_key: bool) -> Self {
        match call {
            Some(e) if fresh_key && e.is_not_found() => Self::NotYetVisible,
            Some(e) if e.is_throttling() => Self::Throttled,
            _ => Self::Final,
        }
    }

    /// How many retries this class gets, counted over every retry of the call.
    pub fn retries(self) -> u32 {
        match self {
            Self::Throttled => Self::THROTTLED_RETRIES,
            Self::NotYetVisible => Self::NOT_YET_VISIBLE_RETRIES,
            Self::Final => 0,
        }
    }
}

/// An error the executor's retries can classify.
pub trait BehindCall {
    /// The failed AWS call behind the error; `None` for c3's own refusals.
    fn aws_call(&self) -> Option<&AwsCallError>;
}

impl BehindCall for AwsCallError {
    fn aws_call(&self) -> Option<&AwsCallError> {
        Some(self)
    }
}

impl BehindCall for PolicyWriteError {
    fn aws_call(&self) -> Option<&AwsCallError> {
        self.call()
    }
}

/// The first pause of the executor's retries; each next one doubles, up to
/// [`MAX_PAUSE`], plus up to half again so the retries of many keys spread out.
pub const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause before jitter.
pub const MAX_PAUSE: Duration = Duration::from_secs(8);

/// The executor's retries of one write (layer 2).
#[derive(Debug)]
pub struct Retries {
    fresh_key: bool,
    attempt: u32,
    pause: Duration,
}

impl Retries {
    /// Retries of a call about a key this run created (`fresh_key`) or not.
    pub fn new(fresh_key: bool) -> Self {
        Self {
            fresh_key,
            attempt: 0,
            pause: FIRST_PAUSE,
        }
    }

    /// After a failed attempt whose AWS call is `call` (`None` for c3's
    /// refusals): `Some(pause)` to send it again after that pause, `None` to
    /// surface the failure.
    pub fn after(&mut self, call: Option<&AwsCallError>) -> Option<Duration> {
        if self.attempt >= Class::of(call, self.fresh_key).retries() {
            return None;
        }
        self.attempt += 1;
        let pause = self.pause + jitter(self.pause);
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        Some(pause)
    }
}

/// Up to half of `pause` again.
fn jitter(pause: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = pause.as_millis().max(1) / 2;
    Duration::from_millis(u64::try_from(u128::from(nanos) % (half + 1)).unwrap_or(0))
}

/// The pauses between the plans apply makes after writing (layer 3): 23 s in
/// all, for AWS's reads to show what was written.
pub const SETTLE_PAUSES: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(8),
];

/// Whether apply waits and plans again (layer 3): no write failed
/// (`failed_writes` counts the changes not done), and the fresh plan `after`
/// still holds an executable change or an error of a target that `before`
/// (the plan apply executed) read without error.
pub fn settle_again(before: &Plan, after: &Plan, failed_writes: usize) -> bool {
    let failed_before = |e: &PlanError| {
        before
            .errors
            .iter()
            .any(|b| b.account == e.account && b.region == e.region)
    };
    failed_writes == 0 && (after.has_executable() || !after.errors.iter().all(failed_before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled() -> AwsCallError {
        AwsCallError::service("CreateAlias", "ThrottlingException", "slow down")
    }

    fn not_found() -> AwsCallError {
        AwsCallError::service("CreateAlias", "NotFoundException", "no such key")
    }

    fn count(mut retries: Retries, call: Option<&AwsCallError>) -> u32 {
        let mut n = 0;
        while let Some(pause) = retries.after(call) {
            assert!(pause >= FIRST_PAUSE && pause <= MAX_PAUSE + MAX_PAUSE / 2);
            n += 1;
        }
        n
    }

    #[test]
    fn throttling_and_lagging_reads_are_retried_the_rest_surfaced() {
        assert_eq!(count(Retries::new(false), Some(&throttled())), 8);
        assert_eq!(count(Retries::new(true), Some(&throttled())), 8);
        assert_eq!(count(Retries::new(true), Some(&not_found())), 6);
        assert_eq!(count(Retries::new(false), Some(&not_found())), 0);
        let denied = AwsCallError::service("CreateAlias", "AccessDeniedException", "no");
        assert_eq!(count(Retries::new(true), Some(&denied)), 0);
        assert_eq!(count(Retries::new(true), None), 0);
    }

    #[test]
    fn pauses_double_up_to_the_maximum() {
        let mut r = Retries::new(false);
        let bases = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000];
        for base in bases {
            let base = Duration::from_millis(base);
            let pause = r.after(Some(&throttled())).unwrap();
            assert!(
                pause >= base && pause <= base + base / 2,
                "{pause:?} {base:?}"
            );
        }
    }

    #[test]
    fn only_non_idempotent_writes_lose_the_sdk_retries() {
        for op in NOT_IDEMPOTENT {
            assert_eq!(sdk_override(op), Some(RetryConfig::disabled()));
        }
        for op in ["CreateAlias", "UpdateAlias", "PutKeyPolicy", "CreatePolicy"] {
            assert_eq!(sdk_override(op), None);
        }
    }
}
