//! `c3 merge`: one plan from the plans of disjoint shards.

use anyhow::Context;

use crate::cli::{MergeArgs, OutputFormat};
use crate::exit::ExitStatus;
use crate::plan::Plan;
use crate::render::{self, json::PlanDocument, Printer};

pub(crate) fn run(
    cli: &crate::cli::Cli,
    args: &MergeArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let mut plans = Vec::new();
    for path in &args.plans {
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
        plans.push(doc.into_plan());
    }
    let plan = match Plan::merge(plans) {
        Ok(plan) => plan,
        Err(e) => {
            printer.error(&e);
            return Ok(ExitStatus::Failure);
        }
    };
    super::warn_plan(printer, &plan);
    match args.output {
        OutputFormat::Human => {
            render::errors(printer, &plan, &std::collections::BTreeMap::default());
            render::write_human(printer, &plan)?;
        }
        format => {
            let ctx = super::show::context(&cli.global.config, "merged".to_string());
            super::show::write(printer, &plan, format, &ctx)?;
        }
    }
    Ok(super::plan::exit_status(&plan, args.detailed_exitcode))
}
