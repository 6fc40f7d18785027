//! c3 keeps AWS KMS customer-managed keys (symmetric by default; signing,
//! HMAC and public-key encryption keys, single- or multi-Region, where
//! `keys.toml` says so), and the IAM policies that grant their use, in the
//! state a `keys.toml` declares, across many accounts and regions.
//!
//! # The rooms, in the order a run goes through them
//!
//! | room | owns | pure? |
//! | --- | --- | --- |
//! | [`cli`], [`options`] | the command line (clap derive) and what it resolves to once: colour, style, the `--accounts/--regions/--keys/--shard` scope | yes |
//! | [`config`] | `keys.toml` → [`model::DesiredState`]: strict parse with spans, every problem at once (file, line, what is allowed), expansion of classifications into keys and targets, the JSON Schema | reads the file only |
//! | [`model`] | the values every room shares: `[organization]` and `[rollout]` and the pure wave assignment ([`model::fleet`]); desired state ([`model::KeySpec`], [`model::Target`]), live state ([`model::LiveState`], [`model::RegionSnapshot`], [`model::LiveKey`], [`model::KeyDetails`], [`model::AccountSnapshot`], [`model::LiveManagedPolicy`], [`model::KmsGrant`]); the `c3:*` tags and the ownership rule ([`model::tag`], [`model::KeyOwner`]); names c3 builds and reads back (partitions, key ARNs, policy names and kinds, version order) | yes |
//! | [`policy`] | policy documents: parsing into canonical [`policy::Statement`]s, normalisation, coverage and merging, the checks before a write, and the risk of a statement or grant ([`policy::risk`]) | yes |
//! | [`aws`] | the SDK's edge: credentials, AssumeRole sessions, endpoints, retries and timeouts, the fail-fast HTTP client, call pacing, and [`aws::AwsCallError`] (every SDK error as a kind, a code and a hint) | no |
//! | [`live`] | the accounts → [`model::LiveState`], through two small traits ([`live::kms::KmsRead`], [`live::iam::IamRead`]) so the logic is tested without AWS; one semaphore bounds every call of a run; `[organization]`'s accounts from AWS Organizations ([`live::org::OrgRead`]) | no |
//! | [`plan`] | desired + live → [`plan::Plan`], a pure function: each [`plan::Change`] is an action with its [`plan::Operation`] or a finding (report, conflict), with a [`plan::Severity`] and a subject; then `[[accept]]` on a given date ([`plan::accept`]) marks reviewed findings accepted | yes |
//! | [`apply`] | the executable changes of a plan → AWS writes, through [`apply::writer::KeyWriter`] and [`apply::writer::PolicyWriter`], one attempt per write, every failure returned as an [`apply::Outcome`] | no |
//! | [`render`] | everything a user reads: the plan table, diffs, JSON, outcomes, grouped errors, progress; [`render::Printer`] is the only writer to stdout and stderr | writes only through the printer |
//! | [`audit`] | `c3 audit`'s judging: every customer-managed key read (plain values, [`model::AuditState`]) → a verdict per control (Security Hub KMS.3/4/5, CIS, c3's own) and findings as a plan's reported changes | yes |
//! | [`import`] | `c3 import`'s pure part: live keys (plain values) → keys.toml text: statements recognised as c3's fields whatever their Sid, classifications inferred, `[[accept]]` for what the file cannot say | yes |
//! | [`commands`] | the subcommands: the only room that touches every other one | no |
//! | [`exit`], [`logging`] | exit codes (0, 1, 2 under `--detailed-exitcode`) and log setup (`-v`, SDK logs below `-vv`) | — |
//!
//! `scripts/check-planner-imports.sh` keeps [`model`], [`policy`] and
//! [`plan`] free of the SDK, the runtime and I/O. docs/architecture.md walks
//! one key from `keys.toml` to an AWS call through these types.

pub mod apply;
pub mod audit;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod exit;
pub mod import;
pub mod live;
pub mod logging;
pub mod model;
pub mod options;
pub mod plan;
pub mod policy;
pub mod render;
