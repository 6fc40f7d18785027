//! Run options resolved once from the command line and the environment:
//! colour (flag, `NO_COLOR`, terminal), table width.

use crate::cli::ColorChoice;

impl ColorChoice {
    /// Whether a stream is coloured: `always`, `never`, or under `auto` only a
    /// terminal with `NO_COLOR` unset or empty.
    pub fn resolve(self, terminal: bool) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && !no_color,
        }
    }
}

/// How output looks.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
    /// stdout is a terminal (tables fit its width; otherwise Markdown).
    pub terminal: bool,
    /// Terminal width, if known.
    pub width: Option<u16>,
}

impl Style {
    /// The style of a stream that is (or is not) a terminal.
    pub fn for_stream(choice: ColorChoice, terminal: bool) -> Self {
        let color = choice.resolve(terminal);
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        Self {
            color,
            terminal,
            width,
        }
    }

    /// Plain style (tests, files).
    pub fn plain() -> Self {
        Self::default()
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Added lines.
    pub fn paint_added(&self, t: &str) -> String {
        self.paint("32", t)
    }

    /// Removed lines.
    pub fn paint_removed(&self, t: &str) -> String {
        self.paint("31", t)
    }

    /// Errors.
    pub fn paint_error(&self, t: &str) -> String {
        self.paint("1;31", t)
    }

    /// Warnings.
    pub fn paint_warn(&self, t: &str) -> String {
        self.paint("1;33", t)
    }

    /// Success.
    pub fn paint_ok(&self, t: &str) -> String {
        self.paint("32", t)
    }

    /// Headings.
    pub fn paint_bold(&self, t: &str) -> String {
        self.paint("1", t)
    }

    /// Secondary text.
    pub fn paint_dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

/// Resolves `--accounts`, `--regions`, `--keys` and `--shard` against the
/// declared estate. Names that keys.toml does not declare are errors that list
/// what is allowed.
pub fn resolve_scope(
    desired: &crate::model::DesiredState,
    args: &crate::cli::ScopeArgs,
) -> Result<crate::model::Scope, String> {
    use std::collections::BTreeSet;
    let mut scope = crate::model::Scope::default();
    let mut accounts: Vec<&crate::model::Account> = desired.accounts.iter().collect();
    if !args.accounts.is_empty() {
        let mut chosen = Vec::new();
        for wanted in &args.accounts {
            if let Some(a) = desired
                .accounts
                .iter()
                .find(|a| &a.name == wanted || &a.id == wanted)
            {
                chosen.push(a);
            } else {
                let known: Vec<String> = desired
                    .accounts
                    .iter()
                    .map(|a| format!("{} ({})", a.name, a.id))
                    .collect();
                return Err(format!(
                    "--accounts: {wanted:?} is not declared in keys.toml; declared: {}",
                    known.join(", ")
                ));
            }
        }
        accounts = chosen;
    }
    if let Some((i, n)) = args.shard {
        let mut sorted = accounts.clone();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        sorted.dedup_by(|a, b| a.id == b.id);
        accounts = sorted
            .into_iter()
            .enumerate()
            .filter(|(k, _)| (*k as u64) % u64::from(n) == u64::from(i - 1))
            .map(|(_, a)| a)
            .collect();
    }
    if !args.accounts.is_empty() || args.shard.is_some() {
        scope.accounts = Some(accounts.iter().map(|a| a.id.clone()).collect());
    }
    if !args.regions.is_empty() {
        let known: BTreeSet<&str> = desired
            .accounts
            .iter()
            .flat_map(|a| a.regions.iter().map(String::as_str))
            .collect();
        for r in &args.regions {
            if !known.contains(r.as_str()) {
                let list: Vec<&str> = known.iter().copied().collect();
                return Err(format!(
                    "--regions: {r:?} is not a region of any account in keys.toml; declared: {}",
                    list.join(", ")
                ));
            }
        }
        scope.regions = Some(args.regions.iter().cloned().collect());
    }
    if !args.keys.is_empty() {
        for k in &args.keys {
            if !desired.keys.iter().any(|s| &s.name == k) {
                let list: Vec<&str> = desired.keys.iter().map(|s| s.name.as_str()).collect();
                return Err(format!(
                    "--keys: {k:?} is not declared in keys.toml; declared: {}",
                    list.join(", ")
                ));
            }
        }
        scope.keys = Some(args.keys.iter().cloned().collect());
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ScopeArgs;
    use crate::model::{Account, DesiredState, Settings};

    fn estate(n: usize) -> DesiredState {
        DesiredState {
            settings: Settings::default(),
            accounts: (0..n)
                .map(|i| Account {
                    name: format!("a{i}"),
                    id: format!("{:012}", 100 + i),
                    role_arn: None,
                    external_id: None,
                    regions: vec!["eu-west-1".into(), "us-east-1".into()],
                })
                .collect(),
            keys: vec![],
            scope: crate::model::Scope::default(),
            accept: Vec::new(),
            fleet: crate::model::Fleet::default(),
        }
    }

    #[test]
    fn shards_cover_every_account_exactly_once() {
        let d = estate(10);
        let mut seen = Vec::new();
        for i in 1..=3 {
            let args = ScopeArgs {
                shard: Some((i, 3)),
                ..ScopeArgs::default()
            };
            let s = resolve_scope(&d, &args).unwrap_or_default();
            seen.extend(s.accounts.unwrap_or_default());
        }
        seen.sort();
        let all: Vec<String> = d.accounts.iter().map(|a| a.id.clone()).collect();
        assert_eq!(seen, all);
    }

    #[test]
    fn unknown_names_are_errors_that_list_what_is_declared() {
        let d = estate(2);
        let args = ScopeArgs {
            accounts: vec!["nope".into()],
            ..ScopeArgs::default()
        };
        let err = resolve_scope(&d, &args).unwrap_err();
        assert!(err.contains("a0 (000000000100)"), "{err}");
        let args = ScopeArgs {
            regions: vec!["mars-1".into()],
            ..ScopeArgs::default()
        };
        assert!(resolve_scope(&d, &args).unwrap_err().contains("eu-west-1"));
        let args = ScopeArgs {
            accounts: vec!["a1".into(), "000000000100".into()],
            ..ScopeArgs::default()
        };
        let s = resolve_scope(&d, &args).unwrap_or_default();
        assert_eq!(s.accounts.map(|a| a.len()), Some(2));
    }
}
