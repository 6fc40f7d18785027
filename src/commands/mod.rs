//! The subcommands: the only module that touches every layer. Each gets the
//! [`Printer`] (the one writer to the terminal) and returns an exit status;
//! an `Err` is an error of the run itself (a file that cannot be written),
//! printed by `main` with its causes.

mod apply;
mod audit;
mod baseline;
mod fleet;
mod import;
mod merge;
mod plan;
mod rollout;
mod show;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::model::{Date, DesiredState};
use crate::render::Printer;

/// Runs a parsed command line.
pub async fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Schema => {
            printer.out(&crate::config::schema_json())?;
            Ok(ExitStatus::Success)
        }
        Command::Validate => validate(&cli, printer),
        Command::Plan(args) => plan::run(&cli, args, printer).await,
        Command::Apply(args) => apply::run(&cli, args, printer).await,
        Command::Audit(args) => audit::run(&cli, args, printer).await,
        Command::Merge(args) => merge::run(&cli, args, printer),
        Command::Show(args) => show::run(&cli, args, printer),
        Command::Baseline(args) => baseline::run(&cli, args, printer).await,
        Command::Import(args) => import::run(&cli, args, printer).await,
    }
}

/// The date `[[accept]]` entries are judged on: `--today` / `C3_TODAY`, else
/// today's date in UTC.
pub(crate) fn today(cli: &Cli) -> Date {
    cli.global.today.unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days_since_epoch(i64::try_from(secs / 86_400).unwrap_or(0))
    })
}

/// The warnings of a plan (expired and idle `[[accept]]` entries), on stderr.
pub(crate) fn warn_plan(printer: &Printer, plan: &crate::plan::Plan) {
    for w in &plan.warnings {
        printer.warn(w);
    }
}

fn validate(cli: &Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let Some(desired) = load(cli, printer) else {
        return Ok(ExitStatus::Failure);
    };
    let key_targets: usize = desired.keys.iter().map(|k| k.targets.len()).sum();
    let discovered = if desired.fleet.organization.is_some() {
        " (declared; plan and apply add the accounts [organization] discovers)"
    } else {
        ""
    };
    printer.out_line(&printer.style.paint_ok(&format!(
        "{} is valid: {} account(s), {} region target(s), {} key(s) in {} key target(s){discovered}.",
        cli.global.config.display(),
        desired.accounts.len(),
        desired.targets().len(),
        desired.keys.len(),
        key_targets
    )))?;
    Ok(ExitStatus::Success)
}

/// Loads keys.toml, then applies `--parallelism` and the scope flags; prints
/// what is wrong and returns `None` if anything is.
pub(crate) fn load_for_run(
    cli: &Cli,
    parallelism: Option<u16>,
    scope: &crate::cli::ScopeArgs,
    printer: &Printer,
) -> Option<DesiredState> {
    scoped(load(cli, printer)?, parallelism, scope, printer)
}

/// The run's `--parallelism` and selection applied to a loaded keys.toml
/// (its discovered accounts joined); `None` when the selection is wrong
/// (printed).
pub(crate) fn scoped(
    mut desired: DesiredState,
    parallelism: Option<u16>,
    scope: &crate::cli::ScopeArgs,
    printer: &Printer,
) -> Option<DesiredState> {
    if let Some(p) = parallelism {
        desired.settings.parallelism = usize::from(p);
    }
    match crate::options::resolve_scope(&desired, scope) {
        Ok(s) => desired.scope = s,
        Err(e) => {
            printer.error(&e);
            return None;
        }
    }
    if desired.targets().is_empty() {
        printer.error(
            "the selection (--accounts, --regions, --shard) leaves no account and region to work on",
        );
        return None;
    }
    Some(desired)
}

/// What plan and apply start from: the file, the SDK's base configuration
/// and the plan of every selected target.
pub(crate) struct Planned {
    /// keys.toml, with the run's selection.
    pub desired: DesiredState,
    /// The SDK configuration every session starts from.
    pub base: aws_config::SdkConfig,
    /// The plan, `[[accept]]` applied.
    pub plan: crate::plan::Plan,
    /// The date `[[accept]]` entries were judged on.
    pub today: Date,
    /// The waves of `[rollout]` over every account of the run.
    pub waves: Option<crate::model::fleet::Waves>,
}

/// keys.toml for a run: loaded, its `[organization]` accounts discovered
/// and joined, its waves checked, the selection (and `--wave`) applied.
/// `None` when anything is wrong (already printed).
pub(crate) async fn load_with_fleet(
    cli: &Cli,
    parallelism: Option<u16>,
    scope: &crate::cli::ScopeArgs,
    wave: Option<usize>,
    printer: &Printer,
) -> Option<(
    DesiredState,
    aws_config::SdkConfig,
    Option<crate::model::fleet::Waves>,
)> {
    let mut desired = load(cli, printer)?;
    let base = crate::aws::load_base_config().await;
    if !Box::pin(fleet::discover(&mut desired, &base, printer)).await {
        return None;
    }
    let waves = fleet::waves(&desired, printer).ok()?;
    let mut desired = scoped(desired, parallelism, scope, printer)?;
    if let Some(n) = wave {
        if !fleet::select_wave(&mut desired, waves.as_ref(), n, printer) {
            return None;
        }
        if desired.targets().is_empty() {
            printer.error(&format!(
                "--wave {n} and the selection (--accounts, --regions, --shard) leave no account and region to work on"
            ));
            return None;
        }
    }
    Some((desired, base, waves))
}

/// Loads keys.toml for a run ([`load_with_fleet`]), reads every selected
/// target and plans it, with progress; `None` when the file or the
/// selection is wrong (already printed).
pub(crate) async fn load_and_plan(
    cli: &Cli,
    parallelism: Option<u16>,
    scope: &crate::cli::ScopeArgs,
    wave: Option<usize>,
    printer: &Printer,
) -> Option<Planned> {
    let (desired, base, waves) = load_with_fleet(cli, parallelism, scope, wave, printer).await?;
    let today = today(cli);
    let mut plan = plan::read_and_plan(&desired, &base, printer, true, today).await;
    plan.meta = plan_meta(cli, scope, &desired);
    if let Some(meta) = &mut plan.meta {
        meta.selection.wave = wave.and_then(|w| u16::try_from(w).ok());
    }
    plan.rollout = crate::plan::rollout::view(&desired, waves.as_ref());
    Some(Planned {
        desired,
        base,
        plan,
        today,
        waves,
    })
}

/// The metadata a plan of this run carries: c3's version, now (`C3_NOW`
/// when set, for tests), keys.toml's path and SHA-256, the selection.
/// `None` if keys.toml can no longer be read.
pub(crate) fn plan_meta(
    cli: &Cli,
    scope: &crate::cli::ScopeArgs,
    desired: &DesiredState,
) -> Option<crate::plan::PlanMeta> {
    let path = &cli.global.config;
    let bytes = std::fs::read(path).ok()?;
    let created_at = std::env::var("C3_NOW").unwrap_or_else(|_| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        crate::plan::meta::rfc3339_utc(secs)
    });
    Some(crate::plan::PlanMeta {
        c3_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        config: crate::plan::ConfigRef::of(path.display().to_string(), &bytes),
        selection: selection(scope, desired),
    })
}

/// The selection of a run as its document records it: `--accounts` as ids.
pub(crate) fn selection(
    scope: &crate::cli::ScopeArgs,
    desired: &DesiredState,
) -> crate::plan::Selection {
    let sorted = |v: Vec<String>| -> Vec<String> {
        let set: std::collections::BTreeSet<String> = v.into_iter().collect();
        set.into_iter().collect()
    };
    let accounts = scope
        .accounts
        .iter()
        .map(|wanted| {
            desired
                .accounts
                .iter()
                .find(|a| &a.name == wanted || &a.id == wanted)
                .map_or_else(|| wanted.clone(), |a| a.id.clone())
        })
        .collect();
    crate::plan::Selection {
        accounts: sorted(accounts),
        regions: sorted(scope.regions.clone()),
        keys: sorted(scope.keys.clone()),
        shard: scope
            .shard
            .map(|(index, count)| crate::plan::Shard { index, count }),
        wave: None,
    }
}

/// Loads and validates keys.toml; prints every problem and returns `None` if
/// it is invalid.
pub(crate) fn load(cli: &Cli, printer: &Printer) -> Option<DesiredState> {
    match crate::config::load(&cli.global.config) {
        Ok(d) => Some(d),
        Err(e @ crate::config::ConfigError::Invalid { .. }) => {
            // One `error:` line per problem, then their count.
            let text = e.to_string();
            let mut lines: Vec<&str> = text.lines().collect();
            let count = lines.pop().unwrap_or_default();
            for line in lines {
                printer.error(line);
            }
            printer.error_note(count);
            None
        }
        Err(e) => {
            printer.error(&e.to_string());
            None
        }
    }
}

/// Account id → name, for messages.
pub(crate) fn account_names(desired: &DesiredState) -> BTreeMap<String, String> {
    desired
        .accounts
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect()
}
