//! What a plan says of the accounts beyond `[accounts]` and of the waves:
//! the accounts AWS Organizations gave (and where in it they are), and the
//! accounts of each wave with the selectors that took them. Pure: it only
//! reads the desired state and a wave assignment.

use serde::{Deserialize, Serialize};

use crate::model::fleet::Waves;
use crate::model::DesiredState;

/// The accounts and waves of a run (plan document field `rollout`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutView {
    /// The accounts discovered from AWS Organizations, by id.
    #[serde(default)]
    pub discovered: Vec<DiscoveredRow>,
    /// The waves in order, each with its accounts in the run's selection
    /// (waves left empty by it are left out); empty without `[rollout]`.
    #[serde(default)]
    pub waves: Vec<WaveRow>,
}

/// One discovered account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredRow {
    /// The 12-digit id.
    pub id: String,
    /// The name c3 gives it (docs/config.md, "Discovered accounts").
    pub name: String,
    /// Its name in Organizations.
    pub org_name: String,
    /// Its root and OUs, outermost first, from the `[organization]` parent down.
    pub ous: Vec<String>,
}

/// One wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveRow {
    /// Its number, from 1.
    pub wave: usize,
    /// Its selectors as written.
    pub selectors: Vec<String>,
    /// The ids of its accounts, sorted.
    pub accounts: Vec<String>,
}

/// The view of a run; `None` without `[organization]` and `[rollout]`.
pub fn view(desired: &DesiredState, waves: Option<&Waves>) -> Option<RolloutView> {
    let fleet = &desired.fleet;
    if fleet.organization.is_none() && fleet.rollout.is_none() {
        return None;
    }
    let discovered = fleet
        .discovered
        .iter()
        .map(|d| DiscoveredRow {
            id: d.org.id.clone(),
            name: d.name.clone(),
            org_name: d.org.org_name.clone(),
            ous: d.org.ous.clone(),
        })
        .collect();
    let waves = match (&fleet.rollout, waves) {
        (Some(rollout), Some(waves)) => rollout
            .waves
            .iter()
            .enumerate()
            .map(|(i, selectors)| WaveRow {
                wave: i + 1,
                selectors: selectors.iter().map(|s| s.text.clone()).collect(),
                accounts: waves
                    .accounts
                    .get(i)
                    .into_iter()
                    .flatten()
                    .filter(|id| desired.scope.account(id))
                    .cloned()
                    .collect(),
            })
            // A wave the selection (`--wave`, `--accounts`) leaves empty is not this run's.
            .filter(|w| !w.accounts.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    Some(RolloutView { discovered, waves })
}
