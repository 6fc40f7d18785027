//! `c3 plan`: load → read every target → plan → render → exit status.

use std::time::Instant;

use anyhow::Context;

use crate::cli::{Cli, PlanArgs};
use crate::exit::ExitStatus;
use crate::model::{Date, DesiredState};
use crate::plan::Plan;
use crate::render::{self, progress, Printer};

/// Reads the live state of every declared target and plans it, showing
/// progress as the printer says when `show` (not for the re-plans of apply);
/// then applies `[[accept]]` as of `today`.
pub(crate) async fn read_and_plan(
    desired: &DesiredState,
    base: &aws_config::SdkConfig,
    printer: &Printer,
    show: bool,
    today: Date,
) -> Plan {
    let reading = read_progress(printer, show);
    let read = crate::live::read_observed(desired, base, &reading);
    let live = drive_read(printer, show, &reading, read).await;
    let mut plan = crate::plan::plan(desired, &live);
    crate::plan::accept::accept(&mut plan, &desired.accept, &desired.scope, today);
    plan
}

/// The counters of a read, drawn on stderr when `show`.
pub(crate) fn read_progress(printer: &Printer, show: bool) -> crate::live::ReadProgress {
    if show {
        progress::read_progress(printer)
    } else {
        crate::live::ReadProgress::new()
    }
}

/// Runs `read`, which counts into `reading`, drawing the progress line
/// every 200 ms when `show`, and once more at the end.
pub(crate) async fn drive_read<T>(
    printer: &Printer,
    show: bool,
    reading: &crate::live::ReadProgress,
    read: impl std::future::Future<Output = T>,
) -> T {
    let started = Instant::now();
    tokio::pin!(read);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    let out = loop {
        tokio::select! {
            out = &mut read => break out,
            _ = tick.tick() => if show {
                progress::draw_read(printer, reading, started, false);
            },
        }
    };
    if show {
        progress::draw_read(printer, reading, started, true);
    }
    out
}

/// The exit status of a plan: 1 with errors; with `--detailed-exitcode`, 2
/// when there are differences (accepted findings aside) and 0 when there
/// are none.
pub(crate) fn exit_status(plan: &Plan, detailed: bool) -> ExitStatus {
    if !plan.errors.is_empty() {
        ExitStatus::Failure
    } else if detailed && plan.has_differences() {
        ExitStatus::Differences
    } else {
        ExitStatus::Success
    }
}

pub(crate) async fn run(
    cli: &Cli,
    args: &PlanArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if args.show_waves {
        return show_waves(cli, args, printer).await;
    }
    let Some(super::Planned { desired, plan, .. }) = super::load_and_plan(
        cli,
        args.parallelism,
        &args.scope,
        args.wave.map(usize::from),
        printer,
    )
    .await
    else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(path) = &args.out {
        std::fs::write(path, render::json::to_string(&plan))
            .with_context(|| format!("writing the plan to {}", path.display()))?;
    }
    render::errors(printer, &plan, &super::account_names(&desired));
    super::warn_plan(printer, &plan);
    let ctx = super::show::context(&cli.global.config, &plan);
    super::show::write(printer, &plan, args.output, &ctx)?;
    Ok(exit_status(&plan, args.detailed_exitcode))
}

/// `c3 plan --show-waves`: the waves and which selector took which account,
/// with no KMS or IAM read.
async fn show_waves(cli: &Cli, args: &PlanArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let Some((desired, _, waves)) = super::load_with_fleet(
        cli,
        args.parallelism,
        &args.scope,
        args.wave.map(usize::from),
        printer,
    )
    .await
    else {
        return Ok(ExitStatus::Failure);
    };
    let Some(waves) = waves else {
        printer.error("keys.toml has no [rollout]: there are no waves to show");
        return Ok(ExitStatus::Failure);
    };
    if let Some(view) = crate::plan::rollout::view(&desired, Some(&waves)) {
        printer.out(&render::waves::discovered(&view))?;
    }
    printer.out(&render::waves::show(&desired, &waves))?;
    Ok(ExitStatus::Success)
}
