//! Accounts and waves for people: the accounts discovered from AWS
//! Organizations, a plan grouped by wave, `plan --show-waves`, and the
//! lines and final table of a rollout.

use std::collections::BTreeMap;

use crate::model::fleet::Waves;
use crate::model::DesiredState;
use crate::options::Style;
use crate::plan::rollout::RolloutView;
use crate::plan::Plan;

/// The accounts discovered from AWS Organizations, one line each:
/// `  payments-prod  111111111111  "Payments Prod"  r-ab12/ou-ab12-aaaaaaaa`.
pub fn discovered(view: &RolloutView) -> String {
    if view.discovered.is_empty() {
        return String::new();
    }
    let width = view
        .discovered
        .iter()
        .map(|d| d.name.len())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "Accounts discovered from AWS Organizations ({}):\n",
        view.discovered.len()
    );
    for d in &view.discovered {
        out.push_str(&format!(
            "  {:width$}  {}  {:?}  {}\n",
            d.name,
            d.id,
            d.org_name,
            d.ous.join("/")
        ));
    }
    out
}

/// The human view of a plan of a rollout: the discovered accounts, then per
/// wave its header and its table; `None` when the plan has no waves.
pub fn human_by_wave(plan: &Plan, style: &Style) -> Option<String> {
    let view = plan.rollout.as_ref()?;
    if view.waves.is_empty() {
        return None;
    }
    let mut out = discovered(view);
    for wave in &view.waves {
        let part = Plan {
            changes: plan
                .changes
                .iter()
                .filter(|c| wave.accounts.contains(&c.account))
                .cloned()
                .collect(),
            errors: plan
                .errors
                .iter()
                .filter(|e| wave.accounts.contains(&e.account))
                .cloned()
                .collect(),
            ..Plan::default()
        };
        out.push_str(&format!(
            "\nWave {} ({}): {} account(s), {}\n",
            wave.wave,
            wave.selectors.join(", "),
            wave.accounts.len(),
            part.summary().line()
        ));
        if !part.changes.is_empty() {
            out.push_str(&super::table::render(&part, style));
            out.push('\n');
        }
    }
    Some(out)
}

/// `plan --show-waves`: each wave, each selector and the accounts it took
/// (`*` the rest), with where they come from.
pub fn show(desired: &DesiredState, waves: &Waves) -> String {
    let Some(rollout) = &desired.fleet.rollout else {
        return String::new();
    };
    let mut out = String::new();
    for (w, selectors) in rollout.waves.iter().enumerate() {
        let count = waves.accounts.get(w).map_or(0, Vec::len);
        out.push_str(&format!(
            "Wave {} of {}: {count} account(s)\n",
            w + 1,
            rollout.waves.len()
        ));
        for (s, selector) in selectors.iter().enumerate() {
            let taken: Vec<String> = waves
                .taken_by
                .iter()
                .filter(|(_, at)| **at == (w, s))
                .map(|(id, _)| account_label(desired, id))
                .collect();
            out.push_str(&format!(
                "  {} ({}): {}\n",
                selector.text,
                selector.at,
                if taken.is_empty() {
                    "no account".to_string()
                } else {
                    taken.join(", ")
                }
            ));
        }
    }
    out.push_str(&format!(
        "max_concurrent_accounts = {}, failure_tolerance = {}{}\n",
        rollout.max_concurrent_accounts,
        rollout.failure_tolerance,
        rollout
            .region_order
            .as_ref()
            .map(|o| format!(", region_order = {}", o.join(" → ")))
            .unwrap_or_default()
    ));
    out
}

/// `name (id, declared)` or `name (id, ou-…/ou-…)`.
fn account_label(desired: &DesiredState, id: &str) -> String {
    let name = desired.account(id).map_or(id, |a| a.name.as_str());
    let from = desired
        .fleet
        .discovered(id)
        .map_or_else(|| "declared".to_string(), |d| d.org.ous.join("/"));
    format!("{name} ({id}, {from})")
}

/// How one account of a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEnd {
    /// Applied and re-planned with nothing executable left, no error.
    Converged,
    /// A write or a read failed, or something executable is left.
    Failed,
    /// Its wave was never started.
    NotAttempted,
}

impl AccountEnd {
    /// `converged`, `failed`, `not attempted`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Converged => "converged",
            Self::Failed => "failed",
            Self::NotAttempted => "not attempted",
        }
    }
}

/// One line per account as it finishes:
/// `wave 2: staging (222222222222): converged, 3 change(s) done`.
pub fn account_line(wave: usize, name: &str, id: &str, end: AccountEnd, detail: &str) -> String {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(", {detail}")
    };
    format!("wave {wave}: {name} ({id}): {}{detail}", end.word())
}

/// The final table of a rollout: per wave, how many accounts converged,
/// failed or were not attempted, and the wave's verdict.
pub fn table(ends: &[BTreeMap<String, AccountEnd>], tolerance: usize) -> String {
    let mut out =
        String::from("| wave | accounts | converged | failed | not attempted | wave result |\n");
    out.push_str("|------|----------|-----------|--------|---------------|-------------|\n");
    for (w, accounts) in ends.iter().enumerate() {
        if accounts.is_empty() {
            // Not in this run's selection (`--wave`, `--accounts`).
            continue;
        }
        let count = |end| accounts.values().filter(|e| **e == end).count();
        let (ok, failed, skipped) = (
            count(AccountEnd::Converged),
            count(AccountEnd::Failed),
            count(AccountEnd::NotAttempted),
        );
        let result = if skipped == accounts.len() && !accounts.is_empty() {
            "not attempted"
        } else if failed > tolerance {
            "failed"
        } else if failed > 0 {
            "failed within tolerance"
        } else {
            "converged"
        };
        out.push_str(&format!(
            "| {} | {} | {ok} | {failed} | {skipped} | {result} |\n",
            w + 1,
            accounts.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_counts_each_wave_and_leaves_out_waves_outside_the_selection() {
        let wave = |ends: &[(&str, AccountEnd)]| -> BTreeMap<String, AccountEnd> {
            ends.iter().map(|(id, e)| ((*id).to_string(), *e)).collect()
        };
        let ends = [
            wave(&[("1", AccountEnd::Converged)]),
            BTreeMap::new(),
            wave(&[("2", AccountEnd::Failed), ("3", AccountEnd::Converged)]),
            wave(&[("4", AccountEnd::NotAttempted)]),
        ];
        let text = table(&ends, 0);
        assert!(text.contains("| 1 | 1 | 1 | 0 | 0 | converged |"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("| 2 |")), "{text}");
        assert!(text.contains("| 3 | 2 | 1 | 1 | 0 | failed |"), "{text}");
        assert!(
            text.contains("| 4 | 1 | 0 | 0 | 1 | not attempted |"),
            "{text}"
        );
        assert!(table(&ends, 1).contains("| 3 | 2 | 1 | 1 | 0 | failed within tolerance |"));
        assert_eq!(
            account_line(2, "a-1", "111111111111", AccountEnd::Failed, "why"),
            "wave 2: a-1 (111111111111): failed, why"
        );
    }
}
