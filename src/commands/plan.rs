//! `c3 plan`: load → read every target → plan → render → exit status.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::Context;

use crate::cli::{Cli, OutputFormat, PlanArgs};
use crate::exit::ExitStatus;
use crate::model::DesiredState;
use crate::options::Style;
use crate::plan::Plan;
use crate::render;

/// Reads the live state of every declared target and plans it.
pub(crate) async fn read_and_plan(
    desired: &DesiredState,
    base: &aws_config::SdkConfig,
    quiet: bool,
) -> Plan {
    let show = !quiet && std::io::stderr().is_terminal();
    let started = Instant::now();
    let progress = crate::live::ReadProgress::new();
    let read = crate::live::read_observed(desired, base, &progress);
    let live = if show {
        // A progress line on the terminal, redrawn while the read runs.
        tokio::pin!(read);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            tokio::select! {
                live = &mut read => break live,
                _ = tick.tick() => draw_progress(&progress, started, false),
            }
        }
    } else {
        read.await
    };
    let plan = crate::plan::plan(desired, &live);
    if show {
        draw_progress(&progress, started, true);
    }
    plan
}

/// Redraws the progress line on stderr (a terminal).
fn draw_progress(p: &crate::live::ReadProgress, started: Instant, done: bool) {
    use std::sync::atomic::Ordering::Relaxed;
    let line = format!(
        "{} {}/{} targets, {} API calls, {:.1} s",
        if done { "Read" } else { "Reading" },
        p.targets_done.load(Relaxed),
        p.targets.load(Relaxed),
        p.calls.load(Relaxed),
        started.elapsed().as_secs_f64()
    );
    let mut err = std::io::stderr().lock();
    // Carriage return and padding redraw the line without any escape sequence.
    let _ = if done {
        writeln!(err, "\r{:<72}", format!("{line}."))
    } else {
        write!(err, "\r{line:<72}")
    };
    let _ = err.flush();
}

pub(crate) fn eprint_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

pub(crate) async fn run(cli: &Cli, args: &PlanArgs, style: &Style) -> anyhow::Result<ExitStatus> {
    let Some(desired) = super::load_for_run(cli, args.parallelism, &args.scope)? else {
        return Ok(ExitStatus::Failure);
    };
    let quiet = cli.global.quiet || args.output == OutputFormat::Json;
    let base = crate::aws::load_base_config().await;
    let plan = read_and_plan(&desired, &base, quiet).await;
    if let Some(path) = &args.out {
        std::fs::write(path, render::json::to_string(&plan))
            .with_context(|| format!("writing the plan to {}", path.display()))?;
    }
    {
        let mut out = std::io::stdout().lock();
        match args.output {
            OutputFormat::Human => render::human(&mut out, &plan, style)?,
            OutputFormat::Json => out.write_all(render::json::to_string(&plan).as_bytes())?,
        }
        out.flush()?;
    }
    Ok(if !plan.errors.is_empty() {
        ExitStatus::Failure
    } else if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Differences
    } else {
        ExitStatus::Success
    })
}
