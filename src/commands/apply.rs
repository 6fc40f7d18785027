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
    let Some(super::Planned {
        desired,
        base,
        plan,
        today,
    }) = super::load_and_plan(cli, args.parallelism, &args.scope, printer).await
    else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(path) = &args.plan_file {
        if let Some(refusal) = saved_plan_refusal(path, &plan)? {
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
    let progress = ApplyProgress::new(printer, &plan);
    let outcomes = crate::apply::execute(&desired, &plan, &base, &progress).await;
    let failed = outcomes.iter().filter(|o| o.status != Status::Done).count();
    printer.out(&format!(
        "\n{}\n{}\n",
        outcome::table(&outcomes, &printer.style),
        outcome::summary(&outcomes)
    ))?;
    let after = settle(&desired, &base, &plan, failed, printer, today).await;
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

/// Why a saved plan may not be applied: it cannot be read, or a fresh plan
/// differs from it (one line, see [`outcome::stale_plan`]). `None`: it holds.
fn saved_plan_refusal(path: &std::path::Path, fresh: &Plan) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the saved plan {}", path.display()))?;
    let saved: PlanDocument = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => {
            return Ok(Some(format!(
                "{} is not a plan written by `c3 plan --out` (format_version {}): {e}; nothing was changed",
                path.display(),
                crate::plan::FORMAT_VERSION
            )))
        }
    };
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
    let (saved, fresh) = (unaccepted(&saved.changes), unaccepted(&fresh.changes));
    Ok((saved != fresh).then(|| outcome::stale_plan(&path.display().to_string(), &saved, &fresh)))
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
async fn settle(
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
