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
    }
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
