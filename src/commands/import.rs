//! `c3 import`: read every customer key behind an alias in the accounts and
//! regions of keys.toml (or of `--account` and `--regions`), and print the
//! keys.toml that adopts them. Read-only.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use anyhow::Context;
use futures::future::join_all;
use tokio::sync::Semaphore;

use crate::aws::{self, Pacer};
use crate::cli::{Cli, ImportArgs};
use crate::exit::ExitStatus;
use crate::import::{self, ImportAccount, ImportInput, Missing};
use crate::live::{iam, Calls, ReadError, ReadPart};
use crate::model::{Account, PolicyKind, Settings, Target};
use crate::render::Printer;

pub(crate) async fn run(
    cli: &Cli,
    args: &ImportArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if let Some(path) = &args.out {
        if path.exists() && !args.force {
            printer.error(&format!(
                "{} exists: c3 import does not overwrite a file unless --force is given",
                path.display()
            ));
            return Ok(ExitStatus::Failure);
        }
    }
    let Some((accounts, mut settings, declared)) = accounts(cli, args, printer) else {
        return Ok(ExitStatus::Failure);
    };
    if let Some(p) = args.parallelism {
        settings.parallelism = usize::from(p);
    }
    let base = aws::load_base_config().await;
    let gate = Semaphore::new(settings.parallelism.max(1));
    let pacer = Pacer::per_second(settings.grant_reads_per_second);
    let reads = accounts
        .iter()
        .map(|a| read_account(&base, a, &settings, &gate, &pacer));
    let mut input = ImportInput {
        accounts: accounts
            .iter()
            .map(|a| ImportAccount {
                name: a.name.clone(),
                id: a.id.clone(),
                role_arn: a.role_arn.clone(),
                external_id: a.external_id.clone(),
                regions: a.regions.clone(),
            })
            .collect(),
        policy_path: settings.policy_path.clone(),
        keys: Vec::new(),
        policies: BTreeMap::new(),
        missing: Vec::new(),
        declared,
        today: super::today(cli),
    };
    for read in join_all(reads).await {
        input.keys.extend(read.keys);
        input.missing.extend(read.missing);
        if let Some(p) = read.policies {
            input.policies.insert(read.account, p);
        }
    }
    for m in &input.missing {
        printer.error(&m.message);
    }
    let text = import::write(&input);
    match &args.out {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("writing {}", path.display()))?;
            file.write_all(text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => printer.out(&text)?,
    }
    let imported = text.matches("[[keys]]").count();
    printer.info(&format!(
        "{imported} key name(s) imported; review the file, then `c3 plan` shows their adoption"
    ));
    Ok(if input.missing.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The accounts to read, the settings, and the key names already declared:
/// from keys.toml, or from `--account` and `--regions`.
fn accounts(
    cli: &Cli,
    args: &ImportArgs,
    printer: &Printer,
) -> Option<(Vec<Account>, Settings, BTreeSet<String>)> {
    let Some(id) = &args.account else {
        let scope = crate::cli::ScopeArgs {
            accounts: args.scope.accounts.clone(),
            ..crate::cli::ScopeArgs::default()
        };
        let desired = super::load_for_run(cli, args.parallelism, &scope, printer)?;
        let declared = desired.keys.iter().map(|k| k.name.clone()).collect();
        let accounts = desired.accounts_in_scope();
        return Some((accounts, desired.settings.clone(), declared));
    };
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        printer.error(&format!("--account {id:?} is not a 12-digit account id"));
        return None;
    }
    if args.regions.is_empty() {
        printer.error("--account needs --regions (comma-separated)");
        return None;
    }
    let mut regions = args.regions.clone();
    regions.sort();
    regions.dedup();
    let account = Account {
        name: import::account_name(id),
        id: id.clone(),
        role_arn: args.role_arn.clone(),
        external_id: args.external_id.clone(),
        regions,
    };
    Some((vec![account], Settings::default(), BTreeSet::new()))
}

/// What was read from one account.
struct AccountImport {
    account: String,
    keys: Vec<import::FoundKey>,
    policies: Option<BTreeMap<String, String>>,
    missing: Vec<Missing>,
}

async fn read_account(
    base: &aws_config::SdkConfig,
    account: &Account,
    settings: &Settings,
    gate: &Semaphore,
    pacer: &Pacer,
) -> AccountImport {
    let mut out = AccountImport {
        account: account.id.clone(),
        keys: Vec::new(),
        policies: None,
        missing: Vec::new(),
    };
    let session = {
        let _permit = gate.acquire().await.ok();
        aws::connect(base, account, settings).await
    };
    let session = match session {
        Ok(s) => s,
        Err(call) => {
            out.missing.push(Missing {
                account: account.id.clone(),
                region: None,
                iam_only: false,
                message: ReadError::new(account, ReadPart::Account, call).to_string(),
            });
            return out;
        }
    };
    let iam_read = async {
        let calls = Calls::new(gate, &account.name, "global");
        iam::read_account(
            &iam::SdkIam::new(session.iam()),
            &calls,
            &settings.policy_path,
        )
        .await
    };
    let regions = join_all(account.regions.iter().map(|region| {
        let session = &session;
        async move {
            let calls = Calls::new(gate, &account.name, region).with_pacer(pacer);
            let target = Target::new(&account.id, region);
            let read = crate::live::import::read_region(
                &session.kms(region),
                &calls,
                &target,
                settings.read_grants,
            )
            .await;
            (region, read)
        }
    }));
    let (iam_read, regions) = futures::join!(iam_read, regions);
    match iam_read {
        Ok(snapshot) => {
            out.policies = Some(
                snapshot
                    .policies
                    .into_iter()
                    .filter(|p| PolicyKind::parse_name(&p.name).is_some())
                    .map(|p| (p.name, p.document))
                    .collect(),
            );
        }
        Err(call) => out.missing.push(Missing {
            account: account.id.clone(),
            region: None,
            iam_only: true,
            message: ReadError::new(account, ReadPart::Iam, call).to_string(),
        }),
    }
    for (region, read) in regions {
        match read {
            Ok(keys) => out.keys.extend(keys),
            Err(call) => out.missing.push(Missing {
                account: account.id.clone(),
                region: Some(region.clone()),
                iam_only: false,
                message: ReadError::new(account, ReadPart::Region(region.clone()), call)
                    .to_string(),
            }),
        }
    }
    out
}
