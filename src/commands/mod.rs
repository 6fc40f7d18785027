//! The subcommands: the only module that touches every layer.

mod apply;
mod plan;

use std::io::Write;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::model::DesiredState;
use crate::options::Style;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let style = Style::for_stdout(cli.global.color);
    match &cli.command {
        Command::Schema => {
            let mut out = std::io::stdout().lock();
            out.write_all(crate::config::schema_json().as_bytes())?;
            Ok(ExitStatus::Success)
        }
        Command::Validate => {
            let Some(desired) = load(&cli)? else {
                return Ok(ExitStatus::Failure);
            };
            let targets = desired.targets().len();
            let key_targets: usize = desired.keys.iter().map(|k| k.targets.len()).sum();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                style.paint_ok(&format!(
                    "{} is valid: {} account(s), {} region target(s), {} key(s) in {} key target(s).",
                    cli.global.config.display(),
                    desired.accounts.len(),
                    targets,
                    desired.keys.len(),
                    key_targets
                ))
            )?;
            Ok(ExitStatus::Success)
        }
        Command::Plan(args) => plan::run(&cli, args, &style).await,
        Command::Apply(args) => apply::run(&cli, args, &style).await,
        Command::Merge(args) => merge(args, &style),
    }
}

/// Loads keys.toml, then applies `--parallelism` and the scope flags; prints
/// what is wrong and returns `None` if anything is.
pub(crate) fn load_for_run(
    cli: &Cli,
    parallelism: Option<u16>,
    scope: &crate::cli::ScopeArgs,
) -> anyhow::Result<Option<DesiredState>> {
    let Some(mut desired) = load(cli)? else {
        return Ok(None);
    };
    if let Some(p) = parallelism {
        desired.settings.parallelism = usize::from(p);
    }
    match crate::options::resolve_scope(&desired, scope) {
        Ok(s) => desired.scope = s,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "error: {e}").context("writing to stderr")?;
            return Ok(None);
        }
    }
    if desired.targets().is_empty() {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "error: the selection (--accounts, --regions, --shard) leaves no account and region to work on"
        )
        .context("writing to stderr")?;
        return Ok(None);
    }
    Ok(Some(desired))
}

/// Loads and validates keys.toml; prints every problem and returns `None` if
/// it is invalid.
pub(crate) fn load(cli: &Cli) -> anyhow::Result<Option<DesiredState>> {
    match crate::config::load(&cli.global.config) {
        Ok(d) => Ok(Some(d)),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "error: {e}").context("writing to stderr")?;
            Ok(None)
        }
    }
}

/// `c3 merge`: one plan from the plans of disjoint shards.
fn merge(args: &crate::cli::MergeArgs, style: &Style) -> anyhow::Result<ExitStatus> {
    let mut plans = Vec::new();
    for path in &args.plans {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the plan {}", path.display()))?;
        let doc: crate::render::json::PlanDocument = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a c3 plan document", path.display()))?;
        if doc.format_version != crate::plan::FORMAT_VERSION {
            anyhow::bail!(
                "{} has format_version {}; this c3 reads {}",
                path.display(),
                doc.format_version,
                crate::plan::FORMAT_VERSION
            );
        }
        plans.push(doc.into_plan());
    }
    let plan = crate::plan::Plan::merge(plans).map_err(|e| anyhow::anyhow!(e))?;
    let mut out = std::io::stdout().lock();
    match args.output {
        crate::cli::OutputFormat::Json => {
            out.write_all(crate::render::json::to_string(&plan).as_bytes())?
        }
        crate::cli::OutputFormat::Human => crate::render::human(&mut out, &plan, style)?,
    }
    Ok(if !plan.errors.is_empty() {
        ExitStatus::Failure
    } else if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Differences
    } else {
        ExitStatus::Success
    })
}
