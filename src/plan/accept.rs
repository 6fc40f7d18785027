//! `[[accept]]` applied to a plan: a pure step after planning. Each finding
//! (never an executable change) that the first unexpired matching entry
//! selects is marked accepted; it stays in the plan and no longer counts as
//! a difference. Entries that expired, and entries that accept nothing, are
//! warned about with their place in the file.

use super::{Accepted, Change, Plan};
use crate::model::{AcceptEntry, Date, Scope};
use crate::policy::glob_match;

/// Marks the findings of `plan` that `entries` accept on `today`, and adds
/// a warning for every entry that expired or accepts nothing. `scope` is the
/// run's selection: an entry outside it is not warned about.
pub fn accept(plan: &mut Plan, entries: &[AcceptEntry], scope: &Scope, today: Date) {
    // Per entry: findings it accepted, and (once expired) findings it
    // would have accepted that now count again.
    let mut accepted = vec![0usize; entries.len()];
    let mut lapsed = vec![0usize; entries.len()];
    for change in &mut plan.changes {
        change.accepted = None;
        if change.executable() {
            continue;
        }
        let mut expired_matches = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if !matches(entry, change) {
                continue;
            }
            if entry.expires < today {
                expired_matches.push(i);
                continue;
            }
            change.accepted = Some(Accepted {
                reason: entry.reason.clone(),
                expires: entry.expires,
                at: entry.at.clone(),
            });
            accepted[i] += 1;
            break;
        }
        if change.accepted.is_none() {
            for i in expired_matches {
                lapsed[i] += 1;
            }
        }
    }
    for (i, entry) in entries.iter().enumerate() {
        if let Some(w) = warning(entry, accepted[i], lapsed[i], plan, scope, today) {
            plan.warnings.push(w);
        }
    }
}

/// Whether an entry selects a change: every selector it has matches.
pub fn matches(entry: &AcceptEntry, change: &Change) -> bool {
    let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    is(&entry.account, &change.account)
        && entry
            .region
            .as_deref()
            .is_none_or(|r| change.region.as_deref() == Some(r))
        && is(&entry.key, &change.key)
        && is(&entry.resource, change.resource.as_str())
        && entry
            .subject
            .as_deref()
            .is_none_or(|g| glob_match(g, &change.subject, false))
}

/// What to say of an entry, if anything: it expired, or (within the run's
/// selection, where nothing failed to be read) it accepts nothing.
fn warning(
    entry: &AcceptEntry,
    accepted: usize,
    lapsed: usize,
    plan: &Plan,
    scope: &Scope,
    today: Date,
) -> Option<String> {
    let at = &entry.at;
    let expires = entry.expires;
    if expires < today {
        let what = match lapsed {
            0 => "no finding depends on it any more; remove it".to_string(),
            1 => "the finding it accepted counts again".to_string(),
            n => format!("the {n} findings it accepted count again"),
        };
        return Some(format!(
            "{at}: [[accept]] expired on {expires} ({}): {what}; review it and set a new `expires`, or remove the entry",
            entry.reason
        ));
    }
    if accepted > 0 || !in_scope(entry, scope) || unread(entry, plan) {
        return None;
    }
    let why = if plan
        .changes
        .iter()
        .any(|c| matches(entry, c) && !c.executable())
    {
        "every finding it matches is accepted by an entry above it"
    } else {
        "it matches no finding of this plan"
    };
    Some(format!(
        "{at}: [[accept]] accepts nothing: {why}; remove it, or check its selectors"
    ))
}

/// Whether the run's selection covers what an entry selects.
fn in_scope(entry: &AcceptEntry, scope: &Scope) -> bool {
    let within =
        |set: &Option<std::collections::BTreeSet<String>>, want: &Option<String>| match (set, want)
        {
            (Some(set), Some(want)) => set.contains(want),
            _ => true,
        };
    within(&scope.accounts, &entry.account)
        && within(&scope.regions, &entry.region)
        && within(&scope.keys, &entry.key)
}

/// Whether a part of the estate the entry may be about could not be read
/// (its findings are unknown, so its silence says nothing).
fn unread(entry: &AcceptEntry, plan: &Plan) -> bool {
    plan.errors.iter().any(|e| {
        entry.account.as_deref().is_none_or(|a| a == e.account)
            && match (&entry.region, &e.region) {
                (Some(want), Some(r)) => want == r,
                _ => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ActionKind, ChangeKind, Finding, Operation, PlanError, Resource, Severity};

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn finding(resource: Resource, subject: &str) -> Change {
        Change {
            account: "111111111111".into(),
            region: Some("eu-west-1".into()),
            key: "payments".into(),
            resource,
            severity: Severity::Medium,
            detail: format!("{resource} {subject}"),
            diff: None,
            kind: ChangeKind::Finding(Finding::Report),
            subject: subject.into(),
            accepted: None,
            fingerprint: String::new(),
            key_id: None,
            key_arn: None,
            control: None,
        }
    }

    fn executable() -> Change {
        Change {
            kind: ChangeKind::Action {
                action: ActionKind::Update,
                operation: Operation::EnableRotation {
                    key_id: "k".into(),
                    rotation_days: 365,
                },
            },
            ..finding(Resource::Rotation, "payments")
        }
    }

    fn entry(line: usize, expires: &str) -> AcceptEntry {
        AcceptEntry {
            account: None,
            region: None,
            key: None,
            resource: None,
            subject: None,
            reason: format!("reason {line}"),
            expires: date(expires),
            at: format!("keys.toml:{line}"),
        }
    }

    fn plan_of(changes: Vec<Change>) -> Plan {
        Plan {
            changes,
            ..Plan::default()
        }
    }

    fn at(c: &Change) -> Option<&str> {
        c.accepted.as_ref().map(|a| a.at.as_str())
    }

    #[test]
    fn every_selector_must_match_and_the_subject_is_a_glob() {
        let c = finding(Resource::KeyPolicy, "AllowAnalyticsDecrypt");
        let with = |f: fn(&mut AcceptEntry)| {
            let mut e = entry(1, "2027-03-01");
            f(&mut e);
            matches(&e, &c)
        };
        assert!(with(|_| {}));
        assert!(with(|e| e.account = Some("111111111111".into())));
        assert!(!with(|e| e.account = Some("222222222222".into())));
        assert!(with(|e| e.region = Some("eu-west-1".into())));
        assert!(!with(|e| e.region = Some("eu-central-1".into())));
        assert!(with(|e| e.key = Some("payments".into())));
        assert!(!with(|e| e.key = Some("orders".into())));
        assert!(with(|e| e.resource = Some("key_policy".into())));
        assert!(!with(|e| e.resource = Some("grant".into())));
        assert!(with(|e| e.subject = Some("AllowAnalytics*".into())));
        assert!(with(|e| e.subject = Some("Allow?nalyticsDecrypt".into())));
        assert!(!with(|e| e.subject = Some("allowanalytics*".into())));
        let global = Change {
            region: None,
            ..c.clone()
        };
        let mut e = entry(1, "2027-03-01");
        e.region = Some("eu-west-1".into());
        assert!(!matches(&e, &global));
    }

    #[test]
    fn the_first_matching_entry_wins_and_the_later_one_is_warned_about() {
        let mut plan = plan_of(vec![finding(Resource::Tags, "cost-center")]);
        let mut first = entry(10, "2027-03-01");
        first.resource = Some("tags".into());
        let mut second = entry(20, "2027-03-01");
        second.subject = Some("cost-*".into());
        accept(
            &mut plan,
            &[first, second],
            &Scope::default(),
            date("2027-01-01"),
        );
        assert_eq!(at(&plan.changes[0]), Some("keys.toml:10"));
        let accepted = plan.changes[0].accepted.clone();
        assert_eq!(
            accepted.map(|a| (a.reason, a.expires.to_string())),
            Some(("reason 10".to_string(), "2027-03-01".to_string()))
        );
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        assert!(plan.warnings[0].starts_with("keys.toml:20: [[accept]] accepts nothing"));
        assert!(plan.warnings[0].contains("accepted by an entry above it"));
        assert!(!plan.has_differences());
        assert_eq!(plan.summary().accepted, 1);
        assert_eq!(plan.summary().report, 0);
    }

    #[test]
    fn an_entry_accepts_through_its_expiry_date_and_not_a_day_later() {
        let entries = [entry(7, "2027-03-01")];
        let run = |today: &str| {
            let mut plan = plan_of(vec![finding(Resource::Key, "1234abcd")]);
            accept(&mut plan, &entries, &Scope::default(), date(today));
            plan
        };
        let on_the_day = run("2027-03-01");
        assert_eq!(at(&on_the_day.changes[0]), Some("keys.toml:7"));
        assert!(on_the_day.warnings.is_empty());
        let day_after = run("2027-03-02");
        assert_eq!(at(&day_after.changes[0]), None);
        assert!(day_after.has_differences());
        assert_eq!(
            day_after.warnings,
            ["keys.toml:7: [[accept]] expired on 2027-03-01 (reason 7): the finding it accepted counts again; review it and set a new `expires`, or remove the entry"]
        );
    }

    #[test]
    fn an_expired_entry_lets_a_later_valid_one_accept() {
        let mut plan = plan_of(vec![finding(Resource::Key, "1234abcd")]);
        let entries = [entry(1, "2026-01-01"), entry(2, "2027-01-01")];
        accept(&mut plan, &entries, &Scope::default(), date("2026-06-01"));
        assert_eq!(at(&plan.changes[0]), Some("keys.toml:2"));
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].contains("no finding depends on it any more"));
    }

    #[test]
    fn executable_changes_are_never_accepted() {
        let mut plan = plan_of(vec![executable()]);
        accept(
            &mut plan,
            &[entry(3, "2027-03-01")],
            &Scope::default(),
            date("2027-01-01"),
        );
        assert_eq!(at(&plan.changes[0]), None);
        assert!(plan.has_differences());
        assert_eq!(plan.summary().update, 1);
        assert_eq!(
            plan.warnings,
            ["keys.toml:3: [[accept]] accepts nothing: it matches no finding of this plan; remove it, or check its selectors"]
        );
    }

    #[test]
    fn unmatched_entries_outside_the_selection_or_an_unread_target_are_not_warned_about() {
        let mut e = entry(4, "2027-03-01");
        e.account = Some("222222222222".into());
        let scope = Scope {
            accounts: Some(["111111111111".to_string()].into()),
            ..Scope::default()
        };
        let mut plan = plan_of(vec![]);
        accept(&mut plan, &[e.clone()], &scope, date("2027-01-01"));
        assert!(plan.warnings.is_empty());
        let mut plan = plan_of(vec![]);
        plan.errors
            .push(PlanError::new("222222222222", Some("eu-west-1"), "denied"));
        accept(&mut plan, &[e], &Scope::default(), date("2027-01-01"));
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn accepting_again_is_the_same_as_accepting_once() {
        let mut plan = plan_of(vec![finding(Resource::Grant, "g-1"), executable()]);
        let entries = [entry(5, "2027-03-01")];
        accept(&mut plan, &entries, &Scope::default(), date("2027-01-01"));
        let once = plan.clone();
        plan.warnings.clear();
        accept(&mut plan, &entries, &Scope::default(), date("2027-01-01"));
        assert_eq!(plan, once);
    }
}
