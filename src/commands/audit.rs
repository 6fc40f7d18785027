//! `c3 audit`: read every customer-managed key of the accounts and regions
//! in scope → judge each against the controls → render → exit status.
//! Read-only (design.md, "Audit"; docs/audit.md).

use anyhow::Context;

use crate::cli::{AuditArgs, Cli};
use crate::exit::ExitStatus;
use crate::render::{self, Printer};

pub(crate) async fn run(
    cli: &Cli,
    args: &AuditArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let scope = args.scope();
    // Accounts discovered from AWS Organizations are audited like declared ones.
    let Some((desired, base, _waves)) =
        super::load_with_fleet(cli, args.parallelism, &scope, None, printer).await
    else {
        return Ok(ExitStatus::Failure);
    };
    let reading = super::plan::read_progress(printer, true);
    let read = crate::live::audit::read(&desired, &base, &reading);
    let live = super::plan::drive_read(printer, true, &reading, read).await;
    let mut audit = crate::audit::audit(&desired, &live);
    crate::plan::accept::accept(
        &mut audit,
        &desired.accept,
        &desired.scope,
        super::today(cli),
    );
    audit.meta = super::plan_meta(cli, &scope, &desired);
    if let Some(path) = &args.out {
        std::fs::write(path, render::json::to_string(&audit))
            .with_context(|| format!("writing the audit to {}", path.display()))?;
    }
    render::errors(printer, &audit, &super::account_names(&desired));
    super::warn_plan(printer, &audit);
    let ctx = super::show::context(&cli.global.config, &audit);
    super::show::write(printer, &audit, args.output, &ctx)?;
    Ok(super::plan::exit_status(&audit, args.detailed_exitcode))
}
