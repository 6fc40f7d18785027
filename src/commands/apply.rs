//! `c3 apply`: plan, confirm, execute the executable changes, plan again.

use std::io::IsTerminal;

use anyhow::Context;

use super::plan::read_and_plan;
use crate::apply::{retry, Status};
use crate::cli::{ApplyArgs, Cli};
use crate::exit::ExitStatus;
use crate::model::{Date, DesiredState};
use crate::plan::Plan;
use crate::render::{self, json::PlanDocument, outcome, progress::ApplyProgress, Printer};

pub(crate) async fn run(
    cli: &Cli,
    args: &ApplyArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let saved = match &args.plan_file {
        Some(path) => match read_saved(cli, path)? {
            Ok(saved) => Some(saved),
            Err(refusal) => {
                printer.error(&refusal);
                return Ok(ExitStatus::Failure);
            }
        },
        None => None,
    };
    // A saved plan is applied within its own selection, unless the command
    // line gives one (which must then be the same).
    let saved_scope = saved
        .as_ref()
        .and_then(|s| s.plan.meta.as_ref())
        .filter(|_| is_everything(&args.scope))
        .map(|m| scope_args(&m.selection));
    let scope = saved_scope.as_ref().unwrap_or(&args.scope);
    // A plan saved with `--wave N` applies wave N only, unless the command
    // line names a wave (which must then be the same).
    let wave = args.wave.or_else(|| {
        saved
            .as_ref()
            .and_then(|s| s.plan.meta.as_ref())
            .and_then(|m| m.selection.wave)
    });
    let Some(super::Planned {
        desired,
        base,
        plan,
        today,
        waves,
    }) = super::load_and_plan(cli, args.parallelism, scope, wave.map(usize::from), printer).await
    else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(saved) = &saved {
        if let Some(refusal) = saved_plan_refusal(saved, &plan) {
            printer.error(&refusal);
            return Ok(ExitStatus::Failure);
        }
    }
    let names = super::account_names(&desired);
    render::errors(printer, &plan, &names);
    super::warn_plan(printer, &plan);
    render::write_human(printer, &plan)?;
    let executable = plan.executable().count();
    if executable == 0 {
        printer.out_line("\nNothing to apply.")?;
        return Ok(if plan.errors.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        });
    }
    if !consent(args, executable, printer)? {
        return Ok(ExitStatus::Failure);
    }
    if let Some(waves) = &waves {
        let rollout = super::rollout::Rollout {
            desired: &desired,
            base: &base,
            plan: &plan,
            today,
        };
        return Box::pin(super::rollout::run(&rollout, waves, printer)).await;
    }
    Box::pin(all_at_once(&desired, &base, &plan, today, printer)).await
}

/// Applies every executable change at once (no `[rollout]`), then plans
/// again and says whether the accounts converged.
async fn all_at_once(
    desired: &DesiredState,
    base: &aws_config::SdkConfig,
    plan: &Plan,
    today: Date,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let names = super::account_names(desired);
    let progress = ApplyProgress::new(printer, plan);
    let outcomes = crate::apply::execute(desired, plan, base, &progress).await;
    let failed = outcomes.iter().filter(|o| o.status != Status::Done).count();
    printer.out(&format!(
        "\n{}\n{}\n",
        outcome::table(&outcomes, &printer.style),
        outcome::summary(&outcomes)
    ))?;
    let after = settle(desired, base, plan, failed, printer, today).await;
    let converged = !after.has_executable() && after.errors.is_empty();
    if converged {
        let except = converged_except(&after);
        printer.out_line(&printer.style.paint_ok(&format!(
            "\nConverged: every target matches keys.toml{except}."
        )))?;
    } else {
        printer.error("not converged: the differences below remain after apply");
        render::errors(printer, &after, &names);
        render::write_human(printer, &after)?;
    }
    Ok(if converged && failed == 0 && plan.errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// What remains of a converged plan: ` except 2 reported difference(s),
/// which c3 never applies (1 of them accepted)`, or nothing.
fn converged_except(after: &Plan) -> String {
    let reported = after.changes.len();
    let accepted = after.summary().accepted;
    match (reported, accepted) {
        (0, _) => String::new(),
        (n, 0) => format!(" except {n} reported difference(s), which c3 never applies"),
        (n, a) if a == n => format!(
            " except {n} reported difference(s), which c3 never applies (all accepted in keys.toml)"
        ),
        (n, a) => format!(
            " except {n} reported difference(s), which c3 never applies ({a} of them accepted in keys.toml)"
        ),
    }
}

/// A plan saved with `c3 plan --out`, and the name it was given by.
struct Saved {
    /// The file name, for messages.
    name: String,
    /// The plan it holds.
    plan: Plan,
}

/// Reads a saved plan: `Err` (one line) when it is not a plan document or
/// was made from another keys.toml than the one this run reads.
fn read_saved(cli: &Cli, path: &std::path::Path) -> anyhow::Result<Result<Saved, String>> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading the saved plan {name}"))?;
    let doc: PlanDocument = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => {
            return Ok(Err(format!(
                "{name} is not a plan written by `c3 plan --out` (format_version {}): {e}; nothing was changed",
                crate::plan::FORMAT_VERSION
            )))
        }
    };
    if !crate::plan::READ_FORMAT_VERSIONS.contains(&doc.format_version) {
        return Ok(Err(format!(
            "{name} has format_version {}; this c3 reads 1 to {}: nothing was changed. Make the plan again with this c3 (`c3 plan --out {name}`).",
            doc.format_version,
            crate::plan::FORMAT_VERSION
        )));
    }
    if doc.audit.is_some() {
        return Ok(Err(format!(
            "{name} is an audit report (`c3 audit --out`), not a plan: nothing was changed. Make a plan with `c3 plan --out FILE`."
        )));
    }
    let plan = doc.into_plan();
    if let (Some(meta), Ok(bytes)) = (&plan.meta, std::fs::read(&cli.global.config)) {
        let now = crate::plan::meta::sha256_hex(&bytes);
        if now != meta.config.sha256 {
            return Ok(Err(format!(
                "the saved plan {name} was made from {} (sha256 {}) but {} has sha256 {}: nothing was changed. Plan again from this file (`c3 plan --out {name}`) and review it, or apply with the keys.toml the plan was made from (-c).",
                meta.config.path,
                crate::plan::meta::short(&meta.config.sha256),
                cli.global.config.display(),
                crate::plan::meta::short(&now)
            )));
        }
    }
    Ok(Ok(Saved { name, plan }))
}

/// Whether no selection flag was given.
fn is_everything(scope: &crate::cli::ScopeArgs) -> bool {
    scope.accounts.is_empty()
        && scope.regions.is_empty()
        && scope.keys.is_empty()
        && scope.shard.is_none()
}

/// The selection flags of a recorded selection.
fn scope_args(selection: &crate::plan::Selection) -> crate::cli::ScopeArgs {
    crate::cli::ScopeArgs {
        accounts: selection.accounts.clone(),
        regions: selection.regions.clone(),
        keys: selection.keys.clone(),
        shard: selection.shard.map(|s| (s.index, s.count)),
    }
}

/// Why a saved plan may not be applied: it was made for another selection
/// than this run's, or a fresh plan of its selection differs from it (one
/// line, see [`outcome::stale_plan`]). `None`: it holds.
fn saved_plan_refusal(saved: &Saved, fresh: &Plan) -> Option<String> {
    let name = &saved.name;
    if let (Some(was), Some(now)) = (&saved.plan.meta, &fresh.meta) {
        if was.selection != now.selection {
            return Some(format!(
                "the saved plan {name} covers {} but this command selects {}: nothing was changed. Run `c3 apply {name}` without selection flags, or plan this selection with `c3 plan --out`.",
                was.selection, now.selection
            ));
        }
    }
    // What `[[accept]]` says (and the day it is judged on) changes nothing
    // apply does: a plan holds whatever its findings' acceptance.
    let unaccepted = |changes: &[crate::plan::Change]| -> Vec<crate::plan::Change> {
        changes
            .iter()
            .cloned()
            .map(|mut c| {
                c.accepted = None;
                c
            })
            .collect()
    };
    let (was, now) = (unaccepted(&saved.plan.changes), unaccepted(&fresh.changes));
    (was != now).then(|| outcome::stale_plan(name, &was, &now))
}

/// `--auto-approve`, or a `y` on a terminal; without a terminal and the flag, a refusal.
fn consent(args: &ApplyArgs, executable: usize, printer: &Printer) -> anyhow::Result<bool> {
    if args.auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        printer.error(
            "c3 apply asks before it writes, and stdin is not a terminal; nothing was changed. \
             Review the plan above and run `c3 apply --auto-approve` (or save it with \
             `c3 plan --out plan.json` and run `c3 apply --auto-approve plan.json`).",
        );
        return Ok(false);
    }
    let yes = printer.confirm(&format!(
        "\nApply {executable} change(s)? Reported changes are never applied."
    ))?;
    if !yes {
        printer.out_line("Apply cancelled; nothing was changed.")?;
    }
    Ok(yes)
}

/// Plans again; AWS's reads can lag its writes by seconds, so what was just
/// written is given time to show before anything is called drift. When to
/// wait and for how long is [`retry::settle_again`]'s and
/// [`retry::SETTLE_PAUSES`]'s decision.
pub(super) async fn settle(
    desired: &DesiredState,
    base: &aws_config::SdkConfig,
    before: &Plan,
    failed: usize,
    printer: &Printer,
    today: Date,
) -> Plan {
    let mut after = read_and_plan(desired, base, printer, false, today).await;
    for pause in retry::SETTLE_PAUSES {
        if !retry::settle_again(before, &after, failed) {
            break;
        }
        tokio::time::sleep(pause).await;
        after = read_and_plan(desired, base, printer, false, today).await;
    }
    after
}
