//! `c3 apply`: plan, confirm, execute the executable changes, plan again.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use comfy_table::{presets, Cell, ContentArrangement, Table};

use super::plan::{eprint_line, read_and_plan};
use crate::apply::{Outcome, Progress, Status};
use crate::cli::{ApplyArgs, Cli};
use crate::exit::ExitStatus;
use crate::options::Style;
use crate::plan::Change;
use crate::render;

/// Progress lines on stderr, one per change as it completes.
struct StderrProgress {
    show: bool,
}

impl Progress for StderrProgress {
    fn outcome(&self, done: usize, total: usize, o: &Outcome) {
        if !self.show {
            return;
        }
        let c = &o.change;
        let mut line = format!(
            "[{done}/{total}] {} {} {} {} {}: {}",
            c.account,
            c.region.as_deref().unwrap_or("(global)"),
            c.key,
            c.resource,
            c.action,
            o.status.word()
        );
        if let Status::Failed(why) | Status::NotAttempted(why) = &o.status {
            line.push_str(&format!(" ({why})"));
        }
        eprint_line(&line);
    }
}

/// How long apply waits, in total, for AWS's reads to show what it wrote.
const SETTLE_DELAYS: [u64; 5] = [1, 2, 4, 8, 8];

pub(crate) async fn run(cli: &Cli, args: &ApplyArgs, style: &Style) -> anyhow::Result<ExitStatus> {
    let Some(desired) = super::load_for_run(cli, args.parallelism, &args.scope)? else {
        return Ok(ExitStatus::Failure);
    };
    let quiet = cli.global.quiet;
    let base = crate::aws::load_base_config().await;
    let plan = read_and_plan(&desired, &base, quiet).await;

    if let Some(path) = &args.plan_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the saved plan {}", path.display()))?;
        let saved: render::json::PlanDocument = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a plan written by `c3 plan --out` (format_version {})",
                path.display(),
                crate::plan::FORMAT_VERSION
            )
        })?;
        if saved.changes != plan.changes {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                style.paint_error(&format!(
                    "The saved plan {} no longer matches the accounts; nothing was changed. Run `c3 plan --out {}` again and review it.",
                    path.display(),
                    path.display()
                ))
            )?;
            write_plan_difference(&mut out, &saved.changes, &plan.changes)?;
            return Ok(ExitStatus::Failure);
        }
    }

    {
        let mut out = std::io::stdout().lock();
        render::human(&mut out, &plan, style)?;
        out.flush()?;
    }
    let executable = plan.executable().count();
    if executable == 0 {
        let mut out = std::io::stdout().lock();
        writeln!(out, "\nNothing to apply.")?;
        return Ok(if plan.errors.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        });
    }
    if !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            let mut err = std::io::stderr().lock();
            writeln!(
                err,
                "error: c3 apply asks before it writes, and stdin is not a terminal; nothing was changed. \
                 Review the plan above and run `c3 apply --auto-approve` (or save it with `c3 plan --out plan.json` and run `c3 apply --auto-approve plan.json`)."
            )?;
            return Ok(ExitStatus::Failure);
        }
        if !confirm(executable)? {
            let mut out = std::io::stdout().lock();
            writeln!(out, "Apply cancelled; nothing was changed.")?;
            return Ok(ExitStatus::Failure);
        }
    }

    let progress = StderrProgress { show: !quiet };
    let outcomes = crate::apply::execute(&desired, &plan, &base, &progress).await;
    let failed = outcomes.iter().filter(|o| o.status != Status::Done).count();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out)?;
        writeln!(out, "{}", outcome_table(&outcomes, style))?;
        writeln!(
            out,
            "Apply: {} done, {} failed, {} not attempted.",
            outcomes.iter().filter(|o| o.status == Status::Done).count(),
            outcomes
                .iter()
                .filter(|o| matches!(o.status, Status::Failed(_)))
                .count(),
            outcomes
                .iter()
                .filter(|o| matches!(o.status, Status::NotAttempted(_)))
                .count(),
        )?;
    }

    // Plan again; AWS's reads can lag its writes by seconds, so what was just
    // written is given time to show before anything is called drift. Targets
    // that already failed before apply had nothing written and will not
    // settle by waiting: only executable changes and new failures are waited on.
    let failed_before = |e: &crate::plan::PlanError| {
        plan.errors
            .iter()
            .any(|b| b.account == e.account && b.region == e.region)
    };
    let mut after = read_and_plan(&desired, &base, true).await;
    for secs in SETTLE_DELAYS {
        if failed > 0 || (!after.has_executable() && after.errors.iter().all(failed_before)) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        after = read_and_plan(&desired, &base, true).await;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    let converged = !after.has_executable() && after.errors.is_empty();
    if converged {
        let reported = after.changes.len();
        writeln!(
            out,
            "{}",
            style.paint_ok(&format!(
                "Converged: every target matches keys.toml{}.",
                if reported > 0 {
                    format!(" except {reported} reported difference(s), which c3 never applies")
                } else {
                    String::new()
                }
            ))
        )?;
    } else {
        writeln!(
            out,
            "{}",
            style.paint_error("Not converged: these differences remain after apply:")
        )?;
        render::human(&mut out, &after, style)?;
    }
    Ok(if converged && failed == 0 && plan.errors.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn confirm(count: usize) -> anyhow::Result<bool> {
    {
        let mut err = std::io::stderr().lock();
        write!(
            err,
            "\nApply {count} change(s)? Reported changes are never applied. [y/N] "
        )?;
        err.flush()?;
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

fn outcome_table(outcomes: &[Outcome], style: &Style) -> String {
    let mut table = Table::new();
    if style.terminal {
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if table.width().is_none_or(|w| w < 60) {
            table.set_width(style.width.unwrap_or(160));
        }
    } else {
        table.load_preset(presets::ASCII_MARKDOWN);
    }
    if !style.color {
        table.force_no_tty();
    }
    table.set_header(vec![
        "account", "region", "key", "resource", "action", "outcome",
    ]);
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| {
        let k = |o: &Outcome| {
            (
                o.change.account.clone(),
                o.change.region.is_none(),
                o.change.region.clone(),
                o.change.key.clone(),
                o.change.resource,
            )
        };
        k(a).cmp(&k(b))
    });
    for o in sorted {
        let c = &o.change;
        let outcome = match &o.status {
            Status::Done => "done".to_string(),
            Status::Failed(why) => format!("failed: {why}"),
            Status::NotAttempted(why) => format!("not attempted: {why}"),
        };
        table.add_row(vec![
            Cell::new(&c.account),
            Cell::new(c.region.as_deref().unwrap_or("(global)")),
            Cell::new(&c.key),
            Cell::new(c.resource.as_str()),
            Cell::new(c.action.as_str()),
            Cell::new(outcome),
        ]);
    }
    table.to_string()
}

/// Lists the changes only in the saved plan and only in the fresh one.
fn write_plan_difference(
    out: &mut dyn Write,
    saved: &[Change],
    fresh: &[Change],
) -> std::io::Result<()> {
    let line = |c: &Change| {
        format!(
            "{} {} {} {} {}: {}",
            c.account,
            c.region.as_deref().unwrap_or("(global)"),
            c.key,
            c.resource,
            c.action,
            c.detail
        )
    };
    for c in saved.iter().filter(|c| !fresh.contains(c)) {
        writeln!(out, "  - only in the saved plan: {}", line(c))?;
    }
    for c in fresh.iter().filter(|c| !saved.contains(c)) {
        writeln!(out, "  + only in a fresh plan:  {}", line(c))?;
    }
    Ok(())
}
