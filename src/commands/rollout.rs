//! `c3 apply` with `[rollout]`: wave after wave.
//!
//! Within a wave, at most `max_concurrent_accounts` accounts are applied at
//! once; each executes its part of the plan that was shown (region by
//! region in `region_order` when set, its managed policies last), then is
//! planned again (with the same settling as a plain apply) and has
//! converged when nothing executable and no error is left. A wave whose
//! failed accounts are at most `failure_tolerance` lets the next wave start;
//! otherwise the later waves are not attempted. One line per account as it
//! finishes, then a table of the waves.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use crate::apply::Status;
use crate::exit::ExitStatus;
use crate::model::fleet::Waves;
use crate::model::{Date, DesiredState};
use crate::plan::action::{KeyRef, Operation};
use crate::plan::Plan;
use crate::render::waves::{self, AccountEnd};
use crate::render::Printer;

/// What a rollout works from: the run's keys.toml and SDK configuration,
/// the plan that was shown and consented to, and the day `[[accept]]` is
/// judged on.
pub(crate) struct Rollout<'a> {
    pub desired: &'a DesiredState,
    pub base: &'a aws_config::SdkConfig,
    pub plan: &'a Plan,
    pub today: Date,
}

/// Applies the plan wave by wave; exit 0 only when every account of every
/// wave (in the selection) converged.
pub(crate) async fn run(
    r: &Rollout<'_>,
    waves: &Waves,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let Some(rollout) = &r.desired.fleet.rollout else {
        return Ok(ExitStatus::Failure);
    };
    let names = super::account_names(r.desired);
    let mut ends: Vec<BTreeMap<String, AccountEnd>> = Vec::new();
    let mut stopped: Option<usize> = None;
    for (w, ids) in waves.accounts.iter().enumerate() {
        let ids: Vec<&String> = ids
            .iter()
            .filter(|id| r.desired.scope.account(id))
            .collect();
        if ids.is_empty() {
            ends.push(BTreeMap::new());
            continue;
        }
        if stopped.is_some() {
            ends.push(
                ids.iter()
                    .map(|id| ((*id).clone(), AccountEnd::NotAttempted))
                    .collect(),
            );
            continue;
        }
        printer.out_line(&format!(
            "\nWave {} of {}: {} account(s), at most {} at once",
            w + 1,
            waves.accounts.len(),
            ids.len(),
            rollout.max_concurrent_accounts
        ))?;
        let mut results = futures::stream::iter(ids)
            .map(|id| async move { (id.clone(), account(r, id, printer).await) })
            .buffer_unordered(rollout.max_concurrent_accounts.max(1));
        let mut wave_ends = BTreeMap::new();
        while let Some((id, (end, detail))) = results.next().await {
            let name = names.get(&id).map_or(id.as_str(), String::as_str);
            printer.out_line(&waves::account_line(w + 1, name, &id, end, &detail))?;
            wave_ends.insert(id, end);
        }
        let failed = wave_ends
            .values()
            .filter(|e| **e == AccountEnd::Failed)
            .count();
        if failed > rollout.failure_tolerance {
            stopped = Some(w);
            printer.error(&format!(
                "wave {} has {failed} failed account(s), more than failure_tolerance = {}: \
                 the later waves are not attempted",
                w + 1,
                rollout.failure_tolerance
            ));
        }
        ends.push(wave_ends);
    }
    printer.out(&format!(
        "\n{}",
        waves::table(&ends, rollout.failure_tolerance)
    ))?;
    let all_converged = ends
        .iter()
        .flat_map(BTreeMap::values)
        .all(|e| *e == AccountEnd::Converged);
    Ok(if all_converged {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// One account of a wave: its changes of the shown plan executed, then
/// planned again until settled. Its end and a few words on it.
async fn account(r: &Rollout<'_>, id: &str, printer: &Printer) -> (AccountEnd, String) {
    let mut desired = r.desired.clone();
    desired.scope.accounts = Some(BTreeSet::from([id.to_string()]));
    let mine = |plan: &Plan| Plan {
        changes: plan
            .changes
            .iter()
            .filter(|c| c.account == id)
            .cloned()
            .collect(),
        errors: plan
            .errors
            .iter()
            .filter(|e| e.account == id)
            .cloned()
            .collect(),
        ..Plan::default()
    };
    let before = mine(r.plan);
    let order = desired
        .fleet
        .rollout
        .as_ref()
        .and_then(|ro| ro.region_order.clone());
    let (done, failed) = match order {
        None => execute(&desired, r.base, &before).await,
        Some(order) => in_region_order(r, &desired, &before, &order, printer).await,
    };
    let after = super::apply::settle(&desired, r.base, &before, failed, printer, r.today).await;
    let converged = failed == 0 && !after.has_executable() && after.errors.is_empty();
    if converged {
        return (AccountEnd::Converged, format!("{done} change(s) done"));
    }
    let why = after
        .errors
        .first()
        .map(|e| e.message.clone())
        .or_else(|| {
            after
                .executable()
                .next()
                .map(|c| format!("still to do: {} {}", c.resource.as_str(), c.detail))
        })
        .unwrap_or_default();
    let detail = if failed > 0 {
        format!("{done} change(s) done, {failed} failed; {why}")
    } else {
        why
    };
    (AccountEnd::Failed, detail)
}

/// Executes a plan's executable changes; (done, not done).
async fn execute(
    desired: &DesiredState,
    base: &aws_config::SdkConfig,
    plan: &Plan,
) -> (usize, usize) {
    if !plan.has_executable() {
        return (0, 0);
    }
    let outcomes = crate::apply::execute(desired, plan, base, &crate::apply::Silent).await;
    let done = outcomes.iter().filter(|o| o.status == Status::Done).count();
    (done, outcomes.len() - done)
}

/// The region part a regional change runs in with `region_order`: its own
/// region, except that the changes of a replica made from a primary this
/// plan creates go with the primary's region (one execute makes the primary,
/// then the replica from it, whichever region comes first in the order).
fn region_part<'a>(plan: &'a Plan, change: &'a crate::plan::Change) -> Option<&'a str> {
    let region = change.region.as_deref()?;
    let new_primary = plan.changes.iter().find_map(|c| match c.operation() {
        Some(Operation::ReplicateKey {
            primary_region,
            primary: KeyRef::New { .. },
            ..
        }) if c.key == change.key && c.region.as_deref() == Some(region) => {
            Some(primary_region.as_str())
        }
        _ => None,
    });
    Some(new_primary.unwrap_or(region))
}

/// `region_order`: the regional changes region after region (the listed
/// regions first, in order, then the others by name; a new replica with its
/// new primary, see [`region_part`]), stopping at the first region with a
/// failure; then the account is planned again and what is left (its managed
/// policies, which name the keys just created) executed.
async fn in_region_order(
    r: &Rollout<'_>,
    desired: &DesiredState,
    plan: &Plan,
    order: &[String],
    printer: &Printer,
) -> (usize, usize) {
    let mut regions: Vec<String> = order.to_vec();
    let mut rest: BTreeSet<String> = plan
        .changes
        .iter()
        .filter_map(|c| c.region.clone())
        .collect();
    rest.retain(|r| !order.contains(r));
    regions.extend(rest);
    let (mut done, mut failed) = (0, 0);
    for region in regions {
        let part = Plan {
            changes: plan
                .changes
                .iter()
                .filter(|c| region_part(plan, c) == Some(region.as_str()))
                .cloned()
                .collect(),
            ..Plan::default()
        };
        let (d, f) = execute(desired, r.base, &part).await;
        done += d;
        failed += f;
        if failed > 0 {
            return (done, failed);
        }
    }
    let fresh = super::plan::read_and_plan(desired, r.base, printer, false, r.today).await;
    let (d, f) = execute(desired, r.base, &fresh).await;
    (done + d, failed + f)
}
