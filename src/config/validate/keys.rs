//! `[[keys]]`: each key's own fields, its name among the others', and where
//! it lives (its `accounts` and `regions`).

use std::collections::{BTreeSet, HashMap};

use super::super::file::{KeyFile, KeysFile};
use super::super::hints;
use super::super::path::FieldPath;
use super::super::suggest::did_you_mean;
use super::accounts::AccountView;
use super::names::{characters, name_problem, show};
use super::policy::{PolicyFields, Sids};
use super::Checker;

/// The key names seen so far, as written and ignoring case, with the index
/// of the key that has each.
#[derive(Default)]
struct KeyNames<'f> {
    exact: HashMap<&'f str, usize>,
    folded: HashMap<String, (usize, &'f str)>,
}

impl<'f> Checker<'f> {
    pub(super) fn keys(
        &mut self,
        file: &'f KeysFile,
        accounts: &[AccountView<'f>],
        path: &FieldPath,
    ) {
        let mut names = KeyNames::default();
        let ignored = file.settings.ignore_tags.as_deref().unwrap_or_default();
        for (i, k) in file.keys.iter().enumerate() {
            let p = path.index(i);
            if let Some(name) = &k.name {
                self.key_name(name, i, &mut names, &p.key("name"));
            }
            if let Some(class) = &k.classification {
                self.classification_declared(class, file, &p.key("classification"));
            }
            if let Some(d) = &k.description {
                let n = d.chars().count();
                if n > 8192 {
                    self.err(
                        &p.key("description"),
                        format!(
                            "description is {} long; allowed: {}",
                            characters(n),
                            hints::DESCRIPTION
                        ),
                    );
                }
            }
            self.like_a_class(&p, k.rotation_days, k.via_services.as_ref());
            let class_rotation_off = k
                .classification
                .as_ref()
                .filter(|c| {
                    file.classifications
                        .get(c.as_str())
                        .is_some_and(|c| c.rotation == Some(false))
                })
                .map(String::as_str);
            self.rotation_off(&p, k.rotation, k.rotation_days, class_rotation_off);
            if let Some(mp) = &k.managed_policies {
                self.managed_policies(mp, &p.key("managed_policies"));
            }
            self.key_policy_fields(k, file, &p);
            self.range(
                &p.key("generation"),
                k.generation,
                hints::GENERATION_RANGE,
                hints::GENERATION,
            );
            if let Some(tags) = &k.tags {
                self.tags(tags, &p.key("tags"));
                self.declared_but_ignored(tags, ignored, &p.key("tags"));
            }
            self.key_targets(k, accounts, &p);
            self.key_key_type(k, file, &p);
            self.multi_region(k, accounts, &p);
            self.sm2_regions(k, file, &p);
        }
        self.policy_names_unique(file, path);
    }

    /// A key's key-policy fields; its statements' Sids must differ from
    /// those of its classification's statements too.
    fn key_policy_fields(&mut self, k: &KeyFile, file: &KeysFile, p: &FieldPath) {
        let mut sids = Sids::new();
        if let Some((name, class)) = k
            .classification
            .as_ref()
            .and_then(|c| file.classifications.get_key_value(c))
        {
            let at = FieldPath::root()
                .key("classifications")
                .key(name.as_str())
                .key("statements");
            for (i, st) in class.statements.iter().flatten().enumerate() {
                if let Some(sid) = &st.sid {
                    sids.entry(sid.clone())
                        .or_insert_with(|| at.index(i).key("sid"));
                }
            }
        }
        let fields = PolicyFields {
            service_principals: k.service_principals.as_ref(),
            administrators: k.administrators.as_ref(),
            users: k.users.as_ref(),
            statements: k.statements.as_ref(),
        };
        self.policy_fields(p, &fields, &mut sids);
    }

    /// A key name: its characters, and unique (also ignoring case).
    fn key_name(&mut self, name: &'f str, i: usize, names: &mut KeyNames<'f>, path: &FieldPath) {
        if let Some(problem) = name_problem(name, 114) {
            self.err(
                path,
                format!(
                    "name = {} {problem}; allowed: {}",
                    show(name),
                    hints::KEY_NAME
                ),
            );
        }
        if let Some(j) = names.exact.get(name) {
            self.err(
                path,
                format!(
                    "key name `{name}` is already declared by keys[{j}]; allowed: each key \
                     name once"
                ),
            );
        } else if let Some((j, other)) = names.folded.get(&name.to_lowercase()) {
            self.err(
                path,
                format!(
                    "key name `{name}` differs from `{other}` (keys[{j}]) only in case; IAM \
                     policy names are case-insensitive, so allow-encrypt-{name} and \
                     allow-encrypt-{other} would be one policy; allowed: names that are \
                     unique ignoring case"
                ),
            );
        } else {
            names.exact.insert(name, i);
            names.folded.insert(name.to_lowercase(), (i, name));
        }
    }

    /// A key's classification must be declared.
    fn classification_declared(&mut self, class: &str, file: &KeysFile, path: &FieldPath) {
        if file.classifications.contains_key(class) || self.unreadable("classifications") {
            return;
        }
        let declared: Vec<&str> = file.classifications.keys().map(String::as_str).collect();
        let allowed = if declared.is_empty() {
            format!(
                "a declared classification, and the file declares none: add \
                 [classifications.{class}]"
            )
        } else {
            format!("one of {}", declared.join(", "))
        };
        self.err(
            path,
            format!(
                "classification `{class}` is not declared{}; allowed: {allowed}",
                did_you_mean(class, declared.iter().copied())
            ),
        );
    }

    /// A key's `accounts` and `regions`, and that it lives somewhere.
    fn key_targets(&mut self, k: &'f KeyFile, accounts: &[AccountView<'f>], p: &FieldPath) {
        let before = self.issues.len();
        let selected: Vec<&AccountView<'f>> = match &k.accounts {
            None => accounts.iter().collect(),
            Some(names) => self.key_accounts(names, accounts, &p.key("accounts")),
        };
        // The regions of those accounts, unless one's could not be read.
        let available: Option<BTreeSet<&str>> = selected
            .iter()
            .map(|a| a.regions.as_ref())
            .collect::<Option<Vec<_>>>()
            .map(|all| all.into_iter().flatten().copied().collect());
        if let Some(regions) = &k.regions {
            self.key_regions(regions, &selected, available.as_ref(), &p.key("regions"));
        }
        if available.is_some() && self.issues.len() == before {
            self.nowhere(k, &selected, p);
        }
    }

    /// The accounts a key names: declared, each once.
    fn key_accounts<'a>(
        &mut self,
        names: &[String],
        accounts: &'a [AccountView<'f>],
        path: &FieldPath,
    ) -> Vec<&'a AccountView<'f>> {
        if self.unreadable("accounts") {
            return Vec::new();
        }
        // `(organization)` stands for the discovered accounts, which a key cannot name.
        let accounts: Vec<&'a AccountView<'f>> = accounts
            .iter()
            .filter(|a| !a.name.starts_with('('))
            .collect();
        let declared: Vec<&str> = accounts.iter().map(|a| a.name).collect();
        let mut seen = BTreeSet::new();
        let mut selected = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let problem = match accounts.iter().copied().find(|a| a.name == name) {
                None if declared.is_empty() => format!(
                    "account `{name}` is not declared, and the file declares none; allowed: \
                     a declared account: add [accounts.{name}]"
                ),
                None => format!(
                    "account `{name}` is not declared{}; allowed: one of {}",
                    did_you_mean(name, declared.iter().copied()),
                    declared.join(", ")
                ),
                Some(_) if !seen.insert(name.as_str()) => {
                    format!("account `{name}` is listed twice; allowed: each account once")
                }
                Some(a) => {
                    selected.push(a);
                    continue;
                }
            };
            self.err(&path.index(i), problem);
        }
        selected
    }

    /// A key's `regions`: region names, each once, each a region of one of
    /// its accounts (when their regions are known).
    fn key_regions(
        &mut self,
        regions: &'f [String],
        selected: &[&AccountView<'f>],
        available: Option<&BTreeSet<&str>>,
        path: &FieldPath,
    ) {
        let mut seen = BTreeSet::new();
        for (i, r) in regions.iter().enumerate() {
            let rp = path.index(i);
            if !self.region_entry(r, &rp, &mut seen) || selected.is_empty() {
                continue;
            }
            let Some(available) = available.filter(|a| !a.contains(r.as_str())) else {
                continue;
            };
            let of: Vec<String> = selected
                .iter()
                .map(|a| format!("{}: {}", a.name, join(a.regions.iter().flatten())))
                .collect();
            self.err(
                &rp,
                format!(
                    "region {shown} is not a region of any of this key's accounts ({}); \
                     allowed: one of {} (or add {shown} to an account's regions)",
                    of.join("; "),
                    join(available),
                    shown = show(r)
                ),
            );
        }
    }

    /// A key whose accounts and regions leave no (account, region).
    fn nowhere(&mut self, k: &KeyFile, selected: &[&AccountView<'_>], p: &FieldPath) {
        let wanted = |r: &str| {
            k.regions
                .as_ref()
                .is_none_or(|rs| rs.iter().any(|x| x == r))
        };
        if selected
            .iter()
            .any(|a| a.regions.iter().flatten().any(|r| wanted(r)))
        {
            return;
        }
        let (path, why) = if k.accounts.as_ref().is_some_and(Vec::is_empty) {
            (
                p.key("accounts"),
                "accounts = [] selects no account; allowed: at least one declared \
                 account, or no `accounts` for every account",
            )
        } else if k.regions.as_ref().is_some_and(Vec::is_empty) {
            (
                p.key("regions"),
                "regions = [] selects no region; allowed: at least one region of its \
                 accounts, or no `regions` for each account's regions",
            )
        } else if !selected.is_empty()
            && selected
                .iter()
                .all(|a| a.regions.as_ref().is_some_and(|r| !r.is_empty()))
        {
            (
                p.clone(),
                "no (account, region) is left; allowed: a key with at least one target",
            )
        } else {
            // No account, or accounts without regions: already reported.
            return;
        };
        let key = match &k.name {
            Some(name) => format!("key `{name}`"),
            None => p.to_string(),
        };
        self.err(&path, format!("{key} would exist nowhere: {why}"));
    }

    /// Whether a top-level table was there but of the wrong type.
    fn unreadable(&self, top: &str) -> bool {
        self.invalid.contains(&FieldPath::root().key(top))
    }
}

/// Region names, comma-separated.
fn join<'a, S: AsRef<str> + 'a>(regions: impl IntoIterator<Item = &'a S>) -> String {
    let names: Vec<&str> = regions.into_iter().map(AsRef::as_ref).collect();
    names.join(", ")
}
