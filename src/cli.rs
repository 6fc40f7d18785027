//! The command line (a contract, like keys.toml). Only clap types live here;
//! [`crate::options`] resolves them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Date;

/// c3 keeps AWS KMS keys, their aliases, key policies and the IAM policies
/// that grant their use in the state a keys.toml declares, across many
/// accounts and regions. It never deletes or disables anything.
#[derive(Debug, Parser)]
#[command(
    name = "c3",
    version,
    propagate_version = true,
    after_help = "\
Typical use:
  c3 import --account ID --regions R > keys.toml   start from the keys that exist today
  c3 validate                      check keys.toml (no AWS call)
  c3 plan                          show what differs from the accounts
  c3 plan --output json > p.json   the same, for machines
  c3 apply                         show the plan, ask, then make the safe part real
  c3 baseline --reason R --expires D >> keys.toml   accept every current finding until D

Credentials: the standard AWS chain (environment, profiles, SSO, instance roles).
AWS_ENDPOINT_URL points every client at another endpoint (e.g. a local emulator).

Exit codes: 0 success; 1 error (bad input, usage, an unreachable target);
2 differences, only with --detailed-exitcode (findings accepted in [[accept]] do not count)."
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The keys.toml to read.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        default_value = "keys.toml",
        env = "C3_CONFIG",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    /// When to colour output (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "C3_COLOR")]
    pub color: ColorChoice,
    /// More log output on stderr (-v: info, -vv: debug, -vvv: trace). Never shows credentials.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Progress on stderr: `auto` redraws one line while stderr is a
    /// terminal (and shows nothing otherwise); `plain` prints one line per
    /// account and region as it is read or written, for CI logs; `never`.
    #[arg(long, global = true, value_enum, default_value_t = ProgressChoice::Auto, env = "C3_PROGRESS")]
    pub progress: ProgressChoice,
    /// The date `[[accept]]` entries are judged on (YYYY-MM-DD), instead of
    /// today's (UTC): for tests, and to see a plan as of a day.
    #[arg(long, global = true, hide = true, env = "C3_TODAY", value_name = "YYYY-MM-DD", value_parser = Date::parse)]
    pub today: Option<Date>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check keys.toml: every error with file, line and what is allowed. Makes no AWS call.
    Validate,
    /// Read the accounts and show what differs from keys.toml. Never writes.
    #[command(after_long_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Make the safe part of the plan real: create, add, repoint, restore. Never deletes, disables or removes.
    #[command(after_long_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),
    /// Judge every customer-managed key of the accounts (managed or not) against Security Hub KMS.3/4/5, CIS and c3's controls. Never writes.
    #[command(after_long_help = AUDIT_EXAMPLES)]
    Audit(AuditArgs),
    /// Merge the JSON plans of `plan --shard I/N` jobs into one document.
    Merge(MergeArgs),
    /// Render a saved plan (human, json, markdown, sarif, junit). Makes no AWS call.
    #[command(after_long_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
    /// Print [[accept]] entries that accept every current finding, to append to keys.toml. Never writes.
    #[command(after_long_help = BASELINE_EXAMPLES)]
    Baseline(BaselineArgs),
    /// Print the keys.toml that adopts the keys that exist today (behind aliases). Never writes to AWS.
    #[command(after_long_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Print the JSON Schema of keys.toml (for editors: `#:schema ./schema/keys.schema.json`).
    Schema,
}

const AUDIT_EXAMPLES: &str = "\
Controls (docs/audit.md lists each with the AWS page that defines it):
  KMS.3               Security Hub: not scheduled for deletion
  KMS.4               Security Hub: rotation enabled (symmetric encryption keys)
  KMS.5               Security Hub: not public (key policy)
  CIS.3.6             CIS AWS Foundations: rotation enabled
  C3.ROTATION_PERIOD  a c3 key rotates with its declared period
  C3.CROSS_ACCOUNT    principals of other accounts in key policy or grants
  C3.KEY_STATE        Disabled and PendingDeletion keys, with their dates
Keys c3 does not manage, and c3's orphans, show when they were last used
(GetKeyLastUsage); \"unknown\" when that call is denied, never \"unused\".

Examples:
  c3 audit                                     every key of every account and region of keys.toml
  c3 audit --accounts prod --regions eu-west-1
  c3 audit --detailed-exitcode                 exit 2 when a finding counts ([[accept]] applies)
  c3 audit --output sarif > audit.sarif        for GitHub code scanning
  c3 audit --output json --out audit.json      every key's verdict per control, for machines";

const PLAN_EXAMPLES: &str = "\
Examples:
  c3 plan                                      every account and region of keys.toml
  c3 plan --accounts prod --regions eu-west-1  a part of the estate
  c3 plan --detailed-exitcode                  a drift job: exit 2 when anything differs
  c3 plan --output json > plan.json            the plan for machines (docs/output-json.md)
  c3 plan --out plan.json                      save it for review, then `c3 apply plan.json`
  c3 plan --shard 1/4 --output json            one of four CI jobs; join them with `c3 merge`
  c3 plan --output sarif > c3.sarif            for GitHub code scanning (docs/reports.md)
  c3 plan --output markdown >> \"$GITHUB_STEP_SUMMARY\"   a CI job summary; also junit

Each row has a severity (critical, high, medium, low, info) and an action: create, update,
repoint, restore and adopt are what apply does; report and conflict are only shown.";

const SHOW_EXAMPLES: &str = "\
Examples:
  c3 plan --out plan.json && c3 show plan.json     the table again, no AWS call
  c3 show plan.json -o markdown >> \"$GITHUB_STEP_SUMMARY\"   a CI job summary
  c3 show plan.json -o sarif > c3.sarif             for GitHub code scanning (upload-sarif)
  c3 show plan.json -o junit > c3.xml               for GitLab's artifacts:reports:junit

The output is the same as `c3 plan --output FORMAT` of the same plan. SARIF locates results at
the lines of keys.toml (-c) that declare each key and account when the file can be read, else at
line 1 of its path. See docs/reports.md.";

const APPLY_EXAMPLES: &str = "\
Examples:
  c3 apply                          plan, show it, ask, then make the safe part real
  c3 apply plan.json                apply a reviewed plan, only if the accounts still match it
  c3 apply --auto-approve           no question (CI); required when stdin is not a terminal

Apply never deletes, disables or removes anything, and never writes to a key, alias or
policy c3 does not own: those rows stay in the plan as reported.";

const BASELINE_EXAMPLES: &str = "\
Examples:
  c3 baseline --reason \"INC-1234: reviewed\" --expires 2027-03-01 >> keys.toml
  c3 baseline --accounts prod --reason \"kept for old data\" --expires 2026-12-31

It plans like `c3 plan` (read-only) and prints one [[accept]] entry per finding that no
entry accepts yet (report and conflict rows; never what apply would do), with the most
specific selectors: account, region, key, resource and subject. Review them before you
commit them: from then on `c3 plan --detailed-exitcode` no longer counts those findings
until `expires`, and warns when an entry has expired. Nothing is printed when there is
nothing to accept.";

const IMPORT_EXAMPLES: &str = "\
Examples:
  c3 import --account 111111111111 --regions eu-west-1,eu-central-1 > keys.toml
  c3 import --account 111111111111 --regions eu-west-1 --role-arn arn:aws:iam::111111111111:role/c3
  c3 import -c accounts.toml --out keys.toml    the accounts and regions of a file
  c3 plan                                       then: only `adopt` rows are executable

It reads every customer-managed key behind an alias (never alias/aws/*) and prints one [[keys]]
entry per alias name with what is live, and `adopt = true`. What keys.toml cannot say (grants,
a second alias, statements c3 cannot write) becomes [[accept]] entries (`imported as is: …`,
expiring in 90 days). Keys without an alias, and Multi-Region, asymmetric, HMAC,
imported-material and custom-key-store keys, are listed in comments. An account or region that
cannot be read is an error (exit 1) and a `# MISSING:` comment. See docs/import.md.";

/// `c3 import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Read this account (12 digits) with the ambient credentials (or --role-arn),
    /// instead of the accounts of keys.toml; it is named `acct-<id>` in the output.
    #[arg(long, value_name = "ID", requires = "regions")]
    pub account: Option<String>,
    /// With --account: the regions to read, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "REGIONS",
        requires = "account"
    )]
    pub regions: Vec<String>,
    /// With --account: assume this role in it.
    #[arg(long, value_name = "ARN", requires = "account")]
    pub role_arn: Option<String>,
    /// With --role-arn: the ExternalId of AssumeRole.
    #[arg(long, value_name = "ID", requires = "role_arn")]
    pub external_id: Option<String>,
    /// Write the TOML to this file instead of stdout (refused if it exists, unless --force).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With --out: overwrite the file.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Concurrent API calls at most (overrides [settings] parallelism).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: Option<u16>,
    /// Without --account: which accounts of keys.toml to read (--accounts; --regions is --account's).
    #[command(flatten)]
    pub scope: ImportScope,
}

/// The part of keys.toml's estate `c3 import` reads.
#[derive(Debug, Args, Default)]
pub struct ImportScope {
    /// Only these accounts of keys.toml (names or ids), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ACCOUNTS",
        conflicts_with = "account"
    )]
    pub accounts: Vec<String>,
}

/// `c3 plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Exit 0 when there is no difference, 2 when there are differences
    /// (executable, or reported and not accepted by [[accept]]), 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the plan as JSON to this file, for a later `c3 apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Concurrent API calls at most (overrides [settings] parallelism).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: Option<u16>,
    /// Which part of the estate to plan.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Only the accounts of this wave of [rollout] (from 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub wave: Option<u16>,
    /// Show which accounts each wave of [rollout] takes, and by which
    /// selector, then stop (no KMS or IAM read; [organization] is listed).
    #[arg(long)]
    pub show_waves: bool,
}

/// `c3 audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Output format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Exit 0 when no finding counts, 2 when one does (failed or unknown
    /// verdicts not accepted by [[accept]]), 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the audit as JSON to this file (`c3 show FILE` renders it again).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Concurrent API calls at most (overrides [settings] parallelism).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: Option<u16>,
    /// Only these accounts (names from keys.toml or 12-digit ids), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ACCOUNTS")]
    pub accounts: Vec<String>,
    /// Only these regions, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "REGIONS")]
    pub regions: Vec<String>,
    /// Only shard I of N (1-based), as for plan; merge the JSON audits with `c3 merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
}

impl AuditArgs {
    /// The selection as plan's scope: every key of the accounts and regions.
    pub fn scope(&self) -> ScopeArgs {
        ScopeArgs {
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            keys: Vec::new(),
            shard: self.shard,
        }
    }
}

/// Selecting and splitting an estate (plan and apply).
#[derive(Debug, Args, Default)]
pub struct ScopeArgs {
    /// Only these accounts (names from keys.toml or 12-digit ids), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ACCOUNTS")]
    pub accounts: Vec<String>,
    /// Only these regions, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "REGIONS")]
    pub regions: Vec<String>,
    /// Only these keys (names from keys.toml), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    pub keys: Vec<String>,
    /// Only shard I of N (1-based): the accounts, sorted by id, are dealt out
    /// round-robin, so N CI jobs cover the estate exactly once. Merge their
    /// JSON plans with `c3 merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
}

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?} is not I/N (for example 2/8)"))?;
    let i: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("{i:?} is not a number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a number"))?;
    if n == 0 || i == 0 || i > n {
        return Err(format!(
            "shard {i}/{n}: I must be between 1 and N, and N at least 1"
        ));
    }
    Ok((i, n))
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table, policy diffs and a summary line.
    Human,
    /// The JSON plan document only (docs/output-json.md).
    Json,
    /// Markdown for a CI job summary or a pull request comment, at most 1 MiB (docs/reports.md).
    Markdown,
    /// SARIF 2.1.0 for GitHub code scanning (docs/reports.md).
    Sarif,
    /// JUnit XML for GitLab and Jenkins test reports (docs/reports.md).
    Junit,
}

/// `c3 show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan written by `c3 plan --out FILE` (or `--output json`, or `c3 merge`).
    #[arg(value_name = "PLAN_FILE")]
    pub plan: PathBuf,
    /// Output format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Exit 2 when the plan has differences (accepted findings aside), 1 when it has errors, else 0.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `c3 apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking. Required when stdin is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,
    /// A plan saved with `c3 plan --out FILE`: planned again within its selection, applied only if the fresh plan still equals it and keys.toml is the file it was made from.
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,
    /// Concurrent API calls at most (overrides [settings] parallelism).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: Option<u16>,
    /// Which part of the estate to apply.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Only the accounts of this wave of [rollout] (from 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub wave: Option<u16>,
}

/// `c3 baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Why the findings are accepted (written as each entry's `reason`).
    #[arg(long, value_name = "TEXT", value_parser = non_empty)]
    pub reason: String,
    /// The last day the entries accept the findings (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = Date::parse)]
    pub expires: Date,
    /// Concurrent API calls at most (overrides [settings] parallelism).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: Option<u16>,
    /// Which part of the estate to look at.
    #[command(flatten)]
    pub scope: ScopeArgs,
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("the reason must not be empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// `c3 merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Plan files written by `c3 plan --out FILE` (or `--output json`).
    #[arg(value_name = "PLAN_FILE", required = true)]
    pub plans: Vec<PathBuf>,
    /// Output format on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Json)]
    pub output: OutputFormat,
    /// Exit 2 when the merged plan has differences, 0 when it has none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ProgressChoice {
    /// A line redrawn in place while stderr is a terminal; nothing otherwise.
    #[default]
    Auto,
    /// One line per account and region as it finishes, on any stderr (CI logs).
    Plain,
    /// No progress.
    Never,
}

#[cfg(test)]
mod help_tests {
    //! Snapshots of `--help` for `c3` and every subcommand, at a fixed width:
    //! the help is documentation users read, so its changes are reviewed.
    use super::Cli;
    use clap::CommandFactory;

    fn help(path: &[&str]) -> String {
        let mut cmd = Cli::command().term_width(100);
        cmd.build();
        let mut cur = &mut cmd;
        for name in path {
            let Some(sub) = cur.find_subcommand_mut(name) else {
                panic!("no subcommand {name}");
            };
            cur = sub;
        }
        cur.render_long_help().to_string()
    }

    #[test]
    fn every_command_has_a_reviewed_help() {
        let cmd = Cli::command();
        let mut names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
        names.retain(|n| *n != "help");
        insta::assert_snapshot!("c3", help(&[]));
        for name in names {
            insta::assert_snapshot!(name, help(&[name]));
        }
    }
}
