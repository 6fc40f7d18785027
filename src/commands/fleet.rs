//! `[organization]` and `[rollout]` in a run: the accounts discovered from
//! AWS Organizations joined to the declared ones, and the waves they are
//! put in (checked again now that every account is known).

use aws_config::SdkConfig;

use crate::model::fleet::{self, Waves};
use crate::model::DesiredState;
use crate::render::Printer;

/// Discovers the accounts of `[organization]` (when the file has it) and
/// joins them to the declared ones, saying on stderr how many came from
/// where; `false` when discovery failed (printed).
pub(crate) async fn discover(
    desired: &mut DesiredState,
    base: &SdkConfig,
    printer: &Printer,
) -> bool {
    let Some(spec) = desired.fleet.organization.clone() else {
        return true;
    };
    let need_tags = desired.fleet.rollout.as_ref().is_some_and(|r| {
        r.waves
            .iter()
            .flatten()
            .any(|s| matches!(s.kind(), Ok(fleet::SelectorKind::Tag(..))))
    });
    let found =
        crate::live::org::discover_with_sdk(base, &spec, &desired.settings, need_tags).await;
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            printer.error(&format!(
                "{}: [organization]: cannot list the accounts of AWS Organizations: {e}",
                spec.at
            ));
            return false;
        }
    };
    let listed = found.accounts.len();
    let declared_before = desired.accounts.len();
    desired.join_discovered(found.accounts);
    let joined = desired.accounts.len() - declared_before;
    let from = if spec.root {
        "the whole organization".to_string()
    } else {
        spec.parents.join(", ")
    };
    let mut line = format!(
        "Organizations: {listed} active account(s) under {from}; {joined} joined as discovered \
         account(s)"
    );
    if listed > joined {
        line.push_str(&format!(
            ", {} already declared in [accounts]",
            listed - joined
        ));
    }
    if !found.inactive.is_empty() {
        let skipped: Vec<String> = found
            .inactive
            .iter()
            .map(|(id, name, state)| format!("{id} ({name}, {state})"))
            .collect();
        line.push_str(&format!("; skipped, not ACTIVE: {}", skipped.join(", ")));
    }
    if found.untagged > 0 {
        line.push_str(&format!(
            "; {} without the tags of [organization] tags",
            found.untagged
        ));
    }
    line.push('.');
    printer.info(&line);
    if let Some(id) = &found.management {
        let line = match desired.accounts.iter().find(|a| &a.id == id) {
            Some(a) => format!(
                "Organizations: {id} ({}) is the management account; discovery from the root \
                 includes it like any other account.",
                a.name
            ),
            None => format!(
                "Organizations: {id} is the management account; it is not among the accounts."
            ),
        };
        printer.info(&line);
    }
    true
}

/// The waves of `[rollout]` over every account of the run (`Ok(None)`
/// without `[rollout]`); every problem printed with its place in keys.toml.
pub(crate) fn waves(desired: &DesiredState, printer: &Printer) -> Result<Option<Waves>, ()> {
    let Some(rollout) = &desired.fleet.rollout else {
        return Ok(None);
    };
    let members = desired.members();
    match fleet::assign(rollout, &members) {
        Ok(waves) => Ok(Some(waves)),
        Err(problems) => {
            let discovered = desired.fleet.organization.is_some();
            for problem in &problems {
                let (at, message) = crate::config::wave_message(rollout, problem, discovered);
                let place = at
                    .and_then(|(w, s)| rollout.waves.get(w)?.get(s))
                    .map_or_else(
                        || format!("{}: rollout.waves", rollout.at),
                        |sel| {
                            format!(
                                "{}: rollout.waves[{}][{}]",
                                sel.at,
                                at.map_or(0, |a| a.0),
                                at.map_or(0, |a| a.1)
                            )
                        },
                    );
                printer.error(&format!("{place}: {message}"));
            }
            printer.error_note(&format!("{} problem(s) with the waves", problems.len()));
            Err(())
        }
    }
}

/// `--wave N`: the run's scope narrowed to the accounts of wave N (from 1);
/// `false` (printed) when there is no such wave.
pub(crate) fn select_wave(
    desired: &mut DesiredState,
    waves: Option<&Waves>,
    wave: usize,
    printer: &Printer,
) -> bool {
    let Some(waves) = waves else {
        printer.error("--wave needs [rollout] waves in keys.toml");
        return false;
    };
    let Some(ids) = wave.checked_sub(1).and_then(|w| waves.accounts.get(w)) else {
        printer.error(&format!(
            "--wave {wave}: keys.toml has {} wave(s); allowed: 1 to {}",
            waves.accounts.len(),
            waves.accounts.len()
        ));
        return false;
    };
    let ids: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    let scope = desired
        .scope
        .accounts
        .take()
        .map_or_else(|| ids.clone(), |s| s.intersection(&ids).cloned().collect());
    desired.scope.accounts = Some(scope);
    true
}
