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
    if show {
        eprint_line(&format!(
            "Reading {} account(s), {} target(s)...",
            desired.accounts.len(),
            desired.targets().len()
        ));
    }
    let live = crate::live::read(desired, base).await;
    let plan = crate::plan::plan(desired, &live);
    if show {
        eprint_line(&format!(
            "Read in {:.1} s.",
            started.elapsed().as_secs_f64()
        ));
    }
    plan
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
