//! `c3 show PLAN.json`: a saved plan in any output format, with no AWS
//! call; and the one place every command writes a plan in a format.

use std::path::Path;

use anyhow::Context;

use crate::cli::{Cli, OutputFormat, ShowArgs};
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::render::report::{Locations, ReportContext};
use crate::render::{self, json::PlanDocument, Printer};

/// The keys.toml path as reports name it: relative to the working directory
/// when it is under it, with `/` separators.
fn report_uri(config: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| config.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| config.to_path_buf());
    let text = relative.display().to_string().replace('\\', "/");
    text.strip_prefix("./").map_or(text.clone(), str::to_string)
}

/// What reports need besides the plan: the lines of keys.toml (line 1 of
/// its path when it cannot be read) and the selection.
pub(crate) fn context(config: &Path, selection: String) -> ReportContext {
    let uri = report_uri(config);
    let locations = match std::fs::read_to_string(config) {
        Ok(source) => Locations::scan(&uri, &source),
        Err(_) => Locations::at_start(&uri),
    };
    ReportContext {
        locations,
        selection,
    }
}

/// Writes a plan to stdout in a format. The human view is the only one
/// that depends on the terminal.
pub(crate) fn write(
    printer: &Printer,
    plan: &Plan,
    format: OutputFormat,
    ctx: &ReportContext,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Human => render::write_human(printer, plan)?,
        OutputFormat::Json => printer.out(&render::json::to_string(plan))?,
        OutputFormat::Markdown => printer.out(&render::markdown::render(plan))?,
        OutputFormat::Sarif => printer.out(&render::sarif::render(plan, ctx))?,
        OutputFormat::Junit => printer.out(&render::junit::render(plan))?,
    }
    Ok(())
}

/// Reads a plan document written by `c3 plan --out` or `--output json`.
pub(crate) fn read(path: &Path) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the plan {}", path.display()))?;
    let doc: PlanDocument = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a c3 plan document", path.display()))?;
    if doc.format_version != crate::plan::FORMAT_VERSION {
        anyhow::bail!(
            "{} has format_version {}; this c3 reads {}",
            path.display(),
            doc.format_version,
            crate::plan::FORMAT_VERSION
        );
    }
    Ok(doc.into_plan())
}

pub(crate) fn run(cli: &Cli, args: &ShowArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let plan = read(&args.plan)?;
    render::errors(printer, &plan, &std::collections::BTreeMap::default());
    super::warn_plan(printer, &plan);
    let ctx = context(&cli.global.config, "all".to_string());
    write(printer, &plan, args.output, &ctx)?;
    Ok(if args.detailed_exitcode {
        super::plan::exit_status(&plan, true)
    } else {
        ExitStatus::Success
    })
}
