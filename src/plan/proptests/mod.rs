//! Property tests of the planner (proptest).
//!
//! Random desired states ([`generators`]), and random worlds derived from
//! them by drift ([`mutations`]): what AWS holds after people, other tools,
//! scripts and half-finished runs touched it — foreign policies and keys
//! where c3's would be, keys that lost their c3 tags, grants, tags c3 does
//! not declare, public statements. The world is kept apart from what c3
//! reads of it: [`world::observe`] does what `live` does. [`simulate`] is a
//! small pure model of apply (apply's own step order and key-policy check)
//! and of the AWS rules its writes meet. [`checks`] holds what each property
//! asserts of a plan.
//!
//! Properties:
//! - every executable change only adds (`no_executable_change_removes_anything`);
//! - one apply converges (`one_apply_converges`);
//! - the plan does not depend on listing order (`plan_is_deterministic`);
//! - a converged world plans to nothing (`converged_world_plans_nothing`);
//! - c3 writes only to what is its own, and what stands in the way is a
//!   conflict (`writes_only_to_what_c3_owns`);
//! - no write that AWS would refuse as malformed (`no_doomed_writes`);
//! - no key policy write opens a key to anyone, and a key that is open is a
//!   critical report (`public_keys_are_never_written_and_always_critical`);
//! - every change's severity fits what it is about (`severities_fit_their_changes`);
//! - what AWS fixes when it creates a key (spec, usage, multi-Region,
//!   origin) is reported on the current key when it differs, never written
//!   (`fields_fixed_at_creation_are_reported_never_written`); desired
//!   states hold every kind of key (symmetric, signing, HMAC, asymmetric
//!   encryption; single- and multi-Region) for every property;
//! - `[[accept]]` never changes which changes are executable, never drops
//!   or alters a change, and accepts findings only
//!   (`acceptance_never_changes_what_is_executable`);
//! - policy normalisation is idempotent and insensitive to formatting
//!   (`normalisation::normalisation_*`).

// Tests spell out whole scenarios and worlds; the 80-line limit is for the product's code.
#![allow(clippy::too_many_lines, clippy::many_single_char_names)]

mod checks;
mod generators;
mod mutations;
mod normalisation;
mod simulate;
mod world;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use self::checks::{
    check_additive, check_converges, check_fixed_fields, check_no_doomed_writes, check_ownership,
    check_public_keys, check_severity, permuted, show,
};
use self::generators::{build_desired, desired_gen};
use self::mutations::{build, case};
use self::world::{converged, observe};
use super::{accept, plan, Plan};
use crate::model::{AcceptEntry, Date};

/// Where failing cases are saved and replayed from: the file this suite used
/// when it was one source file, so the seeds saved there keep being replayed.
const REGRESSIONS: &str = "proptest-regressions/plan/proptests.txt";

/// The default configuration (256 cases, or `PROPTEST_CASES`), with the
/// suite's regression file.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_executable_change_removes_anything(c in case()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        check_additive(&d, &live, &p)?;
    }

    #[test]
    fn one_apply_converges(c in case()) {
        let (d, w) = build(&c);
        let p = plan(&d, &observe(&d, &w));
        check_converges(&d, &w, &p)?;
    }

    #[test]
    fn plan_is_deterministic(c in case(), seed in any::<u64>()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        prop_assert_eq!(&p, &plan(&d, &live.clone()));
        let shuffled = permuted(&live, seed);
        prop_assert_eq!(&p, &plan(&d, &shuffled), "\n{}\n---\n{}", show(&p), show(&plan(&d, &shuffled)));
    }

    #[test]
    fn converged_world_plans_nothing(g in desired_gen(), hidden in any::<bool>()) {
        let d = build_desired(&g);
        let w = converged(&d, &g.older(), hidden);
        let p = plan(&d, &observe(&d, &w));
        prop_assert!(p.is_empty(), "\n{}", show(&p));
        prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
    }

    #[test]
    fn writes_only_to_what_c3_owns(c in case()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        check_ownership(&d, &live, &p)?;
    }

    #[test]
    fn no_doomed_writes(c in case()) {
        let (d, w) = build(&c);
        let p = plan(&d, &observe(&d, &w));
        check_no_doomed_writes(&p)?;
    }

    #[test]
    fn public_keys_are_never_written_and_always_critical(c in case()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        check_public_keys(&d, &live, &p)?;
    }

    #[test]
    fn acceptance_never_changes_what_is_executable(
        c in case(),
        picks in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..32, -2i64..3), 0..6),
    ) {
        let (d, w) = build(&c);
        let p = plan(&d, &observe(&d, &w));
        let today = Date::from_days_since_epoch(20_000);
        let entries = entries_for(&p, &picks, today);
        let mut accepted = p.clone();
        accept::accept(&mut accepted, &entries, &d.scope, today);
        check_acceptance(&p, &accepted, &entries, today)?;
    }

    #[test]
    fn fields_fixed_at_creation_are_reported_never_written(c in case()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        check_fixed_fields(&d, &live, &p)?;
    }

    #[test]
    fn severities_fit_their_changes(c in case()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        check_severity(&d, &live, &p)?;
    }
}

/// `[[accept]]` entries drawn from a plan's changes (executable ones too):
/// per pick, a change, which of its selectors to copy (none: an entry that
/// selects everything) and an expiry around `today`.
fn entries_for(
    p: &Plan,
    picks: &[(prop::sample::Index, u8, i64)],
    today: Date,
) -> Vec<AcceptEntry> {
    let base = 20_000;
    picks
        .iter()
        .enumerate()
        .map(|(n, (index, mask, offset))| {
            let c = (!p.changes.is_empty()).then(|| &p.changes[index.index(p.changes.len())]);
            let pick = |bit: u8, value: Option<String>| value.filter(|_| mask & (1 << bit) != 0);
            AcceptEntry {
                account: pick(0, c.map(|c| c.account.clone())),
                region: pick(1, c.and_then(|c| c.region.clone())),
                key: pick(2, c.map(|c| c.key.clone())),
                resource: pick(3, c.map(|c| c.resource.as_str().to_string())),
                subject: pick(4, c.map(|c| c.subject.clone())),
                reason: format!("pick {n}"),
                expires: if *offset == 0 {
                    today
                } else {
                    Date::from_days_since_epoch(base + offset)
                },
                at: format!("keys.toml:{}", n + 1),
            }
        })
        .collect()
}

/// What acceptance may do to a plan: mark findings accepted by an entry
/// that selects them and has not expired, and warn; nothing else.
fn check_acceptance(
    before: &Plan,
    after: &Plan,
    entries: &[AcceptEntry],
    today: Date,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(before.changes.len(), after.changes.len());
    prop_assert_eq!(&before.errors, &after.errors);
    for (b, a) in before.changes.iter().zip(&after.changes) {
        prop_assert_eq!(b.executable(), a.executable());
        prop_assert_eq!(b.operation(), a.operation());
        let mut unmarked = a.clone();
        unmarked.accepted = None;
        prop_assert_eq!(b, &unmarked);
        if let Some(acc) = &a.accepted {
            prop_assert!(
                !a.executable(),
                "an executable change was accepted: {:?}",
                a
            );
            prop_assert!(acc.expires >= today);
            let by = entries.iter().find(|e| e.at == acc.at);
            prop_assert!(
                by.is_some_and(|e| accept::matches(e, a)),
                "accepted by an entry that does not select it: {:?}",
                a
            );
        }
    }
    prop_assert_eq!(before.has_executable(), after.has_executable());
    prop_assert_eq!(before.executable().count(), after.executable().count());
    let s = after.summary();
    prop_assert_eq!(
        s.create + s.update + s.repoint + s.restore + s.adopt + s.report + s.conflict + s.accepted,
        after.changes.len()
    );
    Ok(())
}
