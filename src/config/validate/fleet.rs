//! `[organization]` and `[rollout]`.
//!
//! What can be said before any account is discovered is said here: the
//! form of every field and selector, and for the declared accounts, that
//! each lands in exactly one wave. With `[organization]`, a selector that
//! picks no declared account, or a declared account no wave takes, may
//! still be fine (a discovered account may match, or `*` may be written
//! for them): `plan` and `apply` check those once the accounts are known.

use super::super::file::{KeysFile, OrganizationFile, RolloutFile};
use super::super::hints;
use super::super::path::FieldPath;
use super::accounts::AccountView;
use super::names::{external_id_problem, parse_role_arn, show};
use super::Checker;
use crate::model::fleet::{self, Member, Rollout, Selector, WaveProblem};

impl<'f> Checker<'f> {
    /// `[organization]`; returns the view the keys get of its accounts
    /// (they live in every discovered account, in its regions).
    pub(super) fn organization(
        &mut self,
        o: &'f OrganizationFile,
        p: &FieldPath,
    ) -> AccountView<'f> {
        let parents = o.parents.as_deref().unwrap_or_default();
        let root = o.root.unwrap_or(false);
        let unreadable = self.invalid.contains(&p.key("parents"));
        if parents.is_empty() && !root && !unreadable {
            self.err(
                p,
                "[organization] names no parent: it needs parents = [OU or root ids] or \
                 root = true; allowed: parents = [\"ou-ab12-cd34ef56\"] (those OUs and their \
                 sub-OUs), or root = true (every account of the organization)"
                    .into(),
            );
        }
        if root && !parents.is_empty() {
            self.err(
                &p.key("root"),
                "root = true and parents are both set; allowed: one of them (root = true \
                 already covers every parent)"
                    .into(),
            );
        }
        for (i, parent) in parents.iter().enumerate() {
            if !fleet::is_ou_id(parent) && !fleet::is_root_id(parent) {
                self.err(
                    &p.key("parents").index(i),
                    format!(
                        "{} is not an OU id or root id; allowed: {}",
                        show(parent),
                        hints::PARENT
                    ),
                );
            }
        }
        if let Some(arn) = &o.role_arn {
            if parse_role_arn(arn).is_none() {
                self.err(
                    &p.key("role_arn"),
                    format!(
                        "role_arn = {} is not an IAM role ARN; allowed: arn:aws:iam::<12 digits>:role/<name>",
                        show(arn)
                    ),
                );
            }
        }
        if let Some(x) = &o.external_id {
            if let Some(problem) = external_id_problem(x) {
                self.err(
                    &p.key("external_id"),
                    format!("external_id {problem}; allowed: {}", hints::EXTERNAL_ID),
                );
            }
        }
        if let Some(name) = &o.role_name {
            let ok = (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            if !ok {
                self.err(
                    &p.key("role_name"),
                    format!(
                        "role_name = {} is not an IAM role name; allowed: {}",
                        show(name),
                        hints::ROLE_NAME
                    ),
                );
            }
        }
        if let Some(regions) = &o.regions {
            self.account_regions(regions, &p.key("regions"));
        }
        AccountView {
            name: "(organization)",
            regions: o
                .regions
                .as_ref()
                .map(|r| r.iter().map(String::as_str).collect()),
        }
    }

    /// `[rollout]`: its numbers, its regions, and the waves of the declared
    /// accounts.
    pub(super) fn rollout(&mut self, file: &'f KeysFile, r: &'f RolloutFile, p: &FieldPath) {
        self.range(
            &p.key("max_concurrent_accounts"),
            r.max_concurrent_accounts,
            (1, 256),
            "1 to 256 accounts at once",
        );
        self.range(
            &p.key("failure_tolerance"),
            r.failure_tolerance,
            (0, 10_000),
            "0 to 10000 failed accounts",
        );
        if let Some(order) = &r.region_order {
            let mut seen = std::collections::BTreeSet::new();
            for (i, region) in order.iter().enumerate() {
                self.region_entry(region, &p.key("region_order").index(i), &mut seen);
            }
        }
        let Some(waves) = &r.waves else {
            return;
        };
        let waves_path = p.key("waves");
        if waves.is_empty() {
            self.err(
                &waves_path,
                format!("waves = [] has no wave; allowed: {}", hints::WAVES),
            );
            return;
        }
        for (w, wave) in waves.iter().enumerate() {
            if wave.is_empty() {
                self.err(
                    &waves_path.index(w),
                    format!(
                        "wave {} is empty; allowed: at least one selector, {}",
                        w + 1,
                        hints::SELECTOR
                    ),
                );
            }
        }
        let rollout = rollout_of(r);
        let members: Vec<Member<'_>> = file
            .accounts
            .iter()
            .map(|(name, a)| Member {
                name,
                id: a.id.as_deref().unwrap_or_default(),
                ous: &[],
                tags: &NO_TAGS,
            })
            .collect();
        let discovering = file.organization.is_some();
        if let Err(problems) = fleet::assign(&rollout, &members) {
            for problem in problems {
                if discovering
                    && matches!(
                        problem,
                        WaveProblem::MatchesNothing(_) | WaveProblem::InNoWave(_)
                    )
                {
                    continue;
                }
                let (at, message) = wave_message(&rollout, &problem, false);
                let path = match at {
                    Some((w, s)) => waves_path.index(w).index(s),
                    None => waves_path.clone(),
                };
                self.err(&path, message);
            }
        }
    }
}

static NO_TAGS: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

/// The rollout a file declares (selectors not yet located), defaults applied.
pub(crate) fn rollout_of(r: &RolloutFile) -> Rollout {
    Rollout {
        waves: r
            .waves
            .iter()
            .flatten()
            .map(|wave| {
                wave.iter()
                    .map(|text| Selector {
                        text: text.clone(),
                        at: String::new(),
                    })
                    .collect()
            })
            .collect(),
        max_concurrent_accounts: r
            .max_concurrent_accounts
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(10)
            .max(1),
        failure_tolerance: r
            .failure_tolerance
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0),
        region_order: r.region_order.clone(),
        at: String::new(),
    }
}

/// A wave problem in words, with the selector it is about (`None`: the
/// waves as a whole). `discovered`: said after discovery (the message
/// then names the discovered accounts too).
pub fn wave_message(
    rollout: &Rollout,
    problem: &WaveProblem,
    discovered: bool,
) -> (Option<(usize, usize)>, String) {
    let text = |(w, s): (usize, usize)| {
        rollout
            .waves
            .get(w)
            .and_then(|wave| wave.get(s))
            .map_or_else(String::new, |sel| sel.text.clone())
    };
    let accounts = if discovered {
        "declared or discovered account"
    } else {
        "declared account"
    };
    match problem {
        WaveProblem::Malformed(at, why) => (
            Some(*at),
            format!("wave selector {why}; allowed: {}", hints::SELECTOR),
        ),
        WaveProblem::MatchesNothing(at) => (
            Some(*at),
            format!(
                "wave selector {:?} (wave {}) matches no {accounts}; allowed: a selector \
                 that picks at least one account ({})",
                text(*at),
                at.0 + 1,
                hints::SELECTOR
            ),
        ),
        WaveProblem::InTwoWaves {
            account,
            first,
            second,
        } => (
            Some(*second),
            format!(
                "account `{account}` is in two waves: selector {:?} puts it in wave {} and \
                 {:?} in wave {}; allowed: each account in exactly one wave (narrow one of \
                 the selectors)",
                text(*first),
                first.0 + 1,
                text(*second),
                second.0 + 1
            ),
        ),
        WaveProblem::RestTwice(at) => (
            Some(*at),
            format!(
                "\"*\" is in wave {} but already in an earlier wave; allowed: \"*\" (every \
                 account no other wave takes) in one wave only",
                at.0 + 1
            ),
        ),
        WaveProblem::InNoWave(account) => (
            None,
            format!(
                "account `{account}` is in no wave; allowed: every {accounts} in exactly one \
                 wave (name it in a wave, or add \"*\" to a wave for the rest)"
            ),
        ),
    }
}
