//! What a plan did not look at: the lines that keep a selection
//! (`--accounts`, `--regions`, `--keys`, `--shard`) or a setting from
//! silently dropping findings.

use std::collections::BTreeMap;

use crate::model::DesiredState;

/// One line per way in which this run's plan is partial.
pub(crate) fn notes(desired: &DesiredState) -> Vec<String> {
    let mut notes = Vec::new();
    let scope = &desired.scope;
    // --accounts and --shard select whole accounts: nothing of a selected
    // account is left out, so they need no note (and merged shards have none).
    if let Some(line) = partial_iam(desired) {
        notes.push(line);
    }
    if scope.keys.is_some() {
        notes.push(
            "Only the keys selected by --keys were planned: c3 keys, aliases and managed policies of other names, including those no longer declared, are not reported."
                .to_string(),
        );
    }
    if !desired.settings.read_grants {
        notes.push(
            "Grants were not read ([settings] read_grants = false): a grant that lets another account or anyone use a key does not show in this plan."
                .to_string(),
        );
    }
    notes
}

/// The managed policies a `--regions` selection leaves uncompared: a key's
/// policies name its keys in every region of the account, so they are
/// compared only when all those regions are read.
fn partial_iam(desired: &DesiredState) -> Option<String> {
    let scope = &desired.scope;
    scope.regions.as_ref()?;
    let mut skipped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut count = 0;
    for account in desired.accounts.iter().filter(|a| scope.account(&a.id)) {
        for key in desired.keys.iter().filter(|k| scope.key(&k.name)) {
            let mut targets = key.targets.iter().filter(|t| t.account == account.id);
            let mut any = false;
            let mut all = true;
            for t in targets.by_ref() {
                any = true;
                all &= scope.target(t);
            }
            if any && !all {
                skipped.entry(&account.name).or_default().push(&key.name);
                count += 1;
            }
        }
    }
    if skipped.is_empty() {
        return None;
    }
    let list: Vec<String> = skipped
        .iter()
        .map(|(account, keys)| format!("{account}: {}", keys.join(", ")))
        .collect();
    Some(format!(
        "Managed policies of {count} key name(s) were not compared, because their keys also live in regions that --regions leaves out ({}); plan without --regions to compare them.",
        list.join("; ")
    ))
}
