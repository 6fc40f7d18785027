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

/// What reports need besides the plan: the lines of keys.toml `config`
/// (when it cannot be read: line 1 of the path the plan records, else of
/// `config`) and the plan's selection.
pub(crate) fn context(config: &Path, plan: &Plan) -> ReportContext {
    let locations = if let Ok(source) = std::fs::read_to_string(config) {
        Locations::of(
            &report_uri(config),
            crate::config::declaration_lines(&source),
        )
    } else {
        let recorded = plan.meta.as_ref().map(|m| Path::new(&m.config.path));
        Locations::at_start(&report_uri(recorded.unwrap_or(config)))
    };
    ReportContext {
        locations,
        selection: render::report::selection_id(plan.meta.as_ref().map(|m| &m.selection)),
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
        OutputFormat::Junit if plan.audit.is_some() => {
            printer.out(&render::audit::junit(plan))?;
        }
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
    if !crate::plan::READ_FORMAT_VERSIONS.contains(&doc.format_version) {
        anyhow::bail!(
            "{} has format_version {}; this c3 reads 1 to {}",
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
    let ctx = context(&cli.global.config, &plan);
    write(printer, &plan, args.output, &ctx)?;
    Ok(if args.detailed_exitcode {
        super::plan::exit_status(&plan, true)
    } else {
        ExitStatus::Success
    })
}
