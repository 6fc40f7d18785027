//! `c3 merge`: one plan from the plans of disjoint shards.

use crate::cli::{MergeArgs, OutputFormat};
use crate::exit::ExitStatus;
use crate::plan::meta::{merge_meta, MergeInput};
use crate::plan::Plan;
use crate::render::{self, Printer};

pub(crate) fn run(
    cli: &crate::cli::Cli,
    args: &MergeArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let mut plans = Vec::new();
    let mut names = Vec::new();
    for path in &args.plans {
        plans.push(super::show::read(path)?);
        names.push(path.display().to_string());
    }
    let inputs: Vec<MergeInput<'_>> = names
        .iter()
        .zip(&plans)
        .map(|(name, p)| MergeInput {
            name,
            meta: p.meta.as_ref(),
        })
        .collect();
    let meta = merge_meta(&inputs);
    drop(inputs);
    let merged = meta.and_then(|meta| {
        Plan::merge(plans).map(|mut plan| {
            plan.meta = meta;
            plan
        })
    });
    let plan = match merged {
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
            let ctx = super::show::context(&cli.global.config, &plan);
            super::show::write(printer, &plan, format, &ctx)?;
        }
    }
    Ok(super::plan::exit_status(&plan, args.detailed_exitcode))
}
