//! The accounts of a run beyond `[accounts]`: `[organization]` (accounts
//! discovered from AWS Organizations, and how they are named) and
//! `[rollout]` (the waves an apply goes through, and which account lands in
//! which). Pure: discovery itself is `live::org`'s; here are the values and
//! the rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::{Account, Target};

/// What `[organization]` and `[rollout]` add to the declared estate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fleet {
    /// `[organization]`, when the file has one.
    pub organization: Option<OrganizationSpec>,
    /// `[rollout]`, when the file has one.
    pub rollout: Option<Rollout>,
    /// The accounts discovered from AWS Organizations (filled in by a run,
    /// after discovery; declared ids excluded), sorted by id.
    pub discovered: Vec<DiscoveredAccount>,
    /// What Organizations says of declared accounts it also lists (their
    /// OUs and tags, for the wave selectors; the declared entry keeps its
    /// name, role and regions), sorted by id.
    pub declared_in_org: Vec<OrgAccount>,
    /// The keys that name no `accounts` (so they live in every account,
    /// discovered ones too), with their `regions` when given.
    pub open_keys: Vec<(String, Option<BTreeSet<String>>)>,
}

/// `[organization]`, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrganizationSpec {
    /// A role to assume for the Organizations calls (in the management or a
    /// delegated administrator account); `None`: the ambient credentials.
    pub role_arn: Option<String>,
    /// ExternalId for that AssumeRole.
    pub external_id: Option<String>,
    /// OU ids (`ou-…`) and root ids (`r-…`) whose accounts are discovered,
    /// their sub-OUs included.
    pub parents: Vec<String>,
    /// `root = true`: every account of the organization (ListAccounts).
    pub root: bool,
    /// Only accounts carrying every one of these tags.
    pub tags: BTreeMap<String, String>,
    /// The role assumed in each discovered account (`arn:<partition>:iam::<id>:role/<role_name>`).
    pub role_name: String,
    /// The regions of each discovered account, sorted.
    pub regions: Vec<String>,
    /// Where `[organization]` is in keys.toml (`keys.toml:12`).
    pub at: String,
}

/// An account that AWS Organizations lists, as discovery found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgAccount {
    /// The 12-digit id.
    pub id: String,
    /// The account's name in Organizations.
    pub org_name: String,
    /// Where it sits: its root id, then its OUs outermost first (its direct
    /// parent last).
    pub ous: Vec<String>,
    /// Its tags in Organizations.
    pub tags: BTreeMap<String, String>,
}

/// A discovered account, named, as a run uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoveredAccount {
    /// The name c3 gives it ([`account_names`]).
    pub name: String,
    /// What Organizations says of it.
    pub org: OrgAccount,
}

/// `[rollout]`, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    /// The waves, in order, each a list of selectors.
    pub waves: Vec<Vec<Selector>>,
    /// Accounts applied at once within a wave, at least 1.
    pub max_concurrent_accounts: usize,
    /// Failed accounts a wave may have and the rollout still go on.
    pub failure_tolerance: usize,
    /// When set, the regions of an account are applied one after the other
    /// in this order (regions not listed last, in name order).
    pub region_order: Option<Vec<String>>,
    /// Where `[rollout] waves` is in keys.toml (`keys.toml:31`); empty
    /// before `config` locates it.
    pub at: String,
}

/// One wave selector as written, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selector {
    /// The text (`canary`, `111111111111`, `ou:ou-ab12-cd34ef56`, `tag:env=prod`, `prod-*`, `*`).
    pub text: String,
    /// Where it is in keys.toml (`keys.toml:31`); empty before `config` locates it.
    pub at: String,
}

/// What a selector means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorKind<'a> {
    /// `*`: every account no other wave takes.
    Rest,
    /// `ou:<id>`: the accounts under that OU (or root), sub-OUs included.
    Ou(&'a str),
    /// `tag:<key>=<value>`.
    Tag(&'a str, &'a str),
    /// A name or 12-digit id, possibly a glob (`*`, `?`) on names.
    Name(&'a str),
}

impl Selector {
    /// What the selector means; `Err` says what is wrong with its form.
    pub fn kind(&self) -> Result<SelectorKind<'_>, String> {
        let text = self.text.as_str();
        if text == "*" {
            return Ok(SelectorKind::Rest);
        }
        if let Some(ou) = text.strip_prefix("ou:") {
            return if is_ou_id(ou) || is_root_id(ou) {
                Ok(SelectorKind::Ou(ou))
            } else {
                Err(format!("{ou:?} is not an OU id (ou-<4 to 32 of a-z 0-9>-<8 to 32 of a-z 0-9>) nor a root id (r-<4 to 32 of a-z 0-9>)"))
            };
        }
        if let Some(tag) = text.strip_prefix("tag:") {
            return match tag.split_once('=') {
                Some((k, v)) if !k.is_empty() => Ok(SelectorKind::Tag(k, v)),
                _ => Err(format!("{tag:?} is not of the form tag:<key>=<value>")),
            };
        }
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-*?".contains(c))
        {
            return Err(format!("{text:?} is not an account name, id or glob"));
        }
        Ok(SelectorKind::Name(text))
    }

    /// Whether it picks this account (never for `*`, which takes the rest).
    fn picks(&self, account: &Member<'_>) -> bool {
        match self.kind() {
            Ok(SelectorKind::Ou(ou)) => account.ous.iter().any(|o| o == ou),
            Ok(SelectorKind::Tag(k, v)) => account.tags.get(k).is_some_and(|t| t == v),
            Ok(SelectorKind::Name(n)) => n == account.id || glob(n, account.name),
            Ok(SelectorKind::Rest) | Err(_) => false,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `ou-<4..32 of a-z0-9>-<8..32 of a-z0-9>`, as AWS Organizations forms OU ids.
pub fn is_ou_id(id: &str) -> bool {
    let lower = |s: &str, min: usize| {
        (min..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    id.strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, ou)| lower(root, 4) && lower(ou, 8))
}

/// `r-<4..32 of a-z0-9>`, as AWS Organizations forms root ids.
pub fn is_root_id(id: &str) -> bool {
    id.strip_prefix("r-").is_some_and(|rest| {
        (4..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// `*` any run of characters, `?` one.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// An account as the waves see it: name, id, OUs and tags (declared
/// accounts have neither OUs nor tags).
#[derive(Debug, Clone)]
pub struct Member<'a> {
    /// Its name in the run.
    pub name: &'a str,
    /// Its id.
    pub id: &'a str,
    /// Its OUs (discovered accounts), and the root when known.
    pub ous: &'a [String],
    /// Its tags (discovered accounts).
    pub tags: &'a BTreeMap<String, String>,
}

/// Where a selector is: (wave, position in the wave), from 0.
pub type SelectorAt = (usize, usize);

/// Why accounts cannot be put in waves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaveProblem {
    /// The selector's form is wrong.
    Malformed(SelectorAt, String),
    /// The selector picks no account.
    MatchesNothing(SelectorAt),
    /// An account is picked by selectors of two waves.
    InTwoWaves {
        /// The account's name.
        account: String,
        /// The selector of the earlier wave.
        first: SelectorAt,
        /// The selector of the later wave.
        second: SelectorAt,
    },
    /// `*` in more than one wave.
    RestTwice(SelectorAt),
    /// An account no wave takes (there is no `*`).
    InNoWave(String),
}

/// The account ids of each wave, and which selector took each account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waves {
    /// Per wave, the ids of its accounts, sorted.
    pub accounts: Vec<Vec<String>>,
    /// Per account id, the selector that put it in its wave.
    pub taken_by: BTreeMap<String, SelectorAt>,
}

impl Waves {
    /// The wave (from 0) of an account.
    pub fn wave_of(&self, id: &str) -> Option<usize> {
        self.taken_by.get(id).map(|(w, _)| *w)
    }
}

/// Puts every account in exactly one wave: the first selector (in wave
/// order) that picks it, `*` taking whatever no other selector picks.
/// Every problem is returned, not only the first.
pub fn assign(rollout: &Rollout, members: &[Member<'_>]) -> Result<Waves, Vec<WaveProblem>> {
    let mut problems = Vec::new();
    let mut rest: Option<SelectorAt> = None;
    let mut taken: BTreeMap<&str, SelectorAt> = BTreeMap::new();
    for (w, wave) in rollout.waves.iter().enumerate() {
        for (s, selector) in wave.iter().enumerate() {
            match selector.kind() {
                Err(why) => problems.push(WaveProblem::Malformed((w, s), why)),
                Ok(SelectorKind::Rest) => {
                    if rest.is_some() {
                        problems.push(WaveProblem::RestTwice((w, s)));
                    } else {
                        rest = Some((w, s));
                    }
                }
                Ok(_) => {
                    let picked: Vec<&Member> =
                        members.iter().filter(|m| selector.picks(m)).collect();
                    if picked.is_empty() {
                        problems.push(WaveProblem::MatchesNothing((w, s)));
                    }
                    for m in picked {
                        match taken.get(m.id) {
                            Some(first) if first.0 != w => problems.push(WaveProblem::InTwoWaves {
                                account: m.name.to_string(),
                                first: *first,
                                second: (w, s),
                            }),
                            Some(_) => {}
                            None => {
                                taken.insert(m.id, (w, s));
                            }
                        }
                    }
                }
            }
        }
    }
    for m in members {
        if !taken.contains_key(m.id) {
            match rest {
                Some(at) => {
                    taken.insert(m.id, at);
                }
                None => problems.push(WaveProblem::InNoWave(m.name.to_string())),
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut accounts = vec![Vec::new(); rollout.waves.len()];
    for (id, (w, _)) in &taken {
        if let Some(wave) = accounts.get_mut(*w) {
            wave.push((*id).to_string());
        }
    }
    Ok(Waves {
        accounts,
        taken_by: taken
            .into_iter()
            .map(|(id, at)| (id.to_string(), at))
            .collect(),
    })
}

/// The names discovered accounts get: their Organizations name, lowercased,
/// every run of characters other than `a-z 0-9 _ -` made one `-`, trimmed
/// of `-`, at most 64 characters (`"Payments Prod"` → `payments-prod`).
/// A name that is empty, or that another account (declared, or discovered)
/// would also get, becomes `<name>-<id>` (or `account-<id>` when empty) for
/// every discovered account that shares it, so no name depends on the order
/// accounts are listed in; a plain name that one of those `<name>-<id>`
/// takes is renamed the same way, until every name is unique (a renamed
/// name a declared account has gets `-2`, `-3`, … as well).
pub fn account_names(accounts: &[OrgAccount], declared: &[Account]) -> Vec<String> {
    let base: Vec<String> = accounts.iter().map(|a| slug(&a.org_name)).collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &base {
        *count.entry(b.as_str()).or_default() += 1;
    }
    let declared_names: BTreeSet<&str> = declared.iter().map(|d| d.name.as_str()).collect();
    let renamed = |a: &OrgAccount, b: &str| {
        if b.is_empty() {
            format!("account-{}", a.id)
        } else {
            let keep: String = b.chars().take(64 - 13).collect();
            format!("{}-{}", keep.trim_end_matches('-'), a.id)
        }
    };
    let mut names: Vec<String> = accounts
        .iter()
        .zip(&base)
        .map(|(a, b)| {
            let clash = b.is_empty()
                || count.get(b.as_str()).copied().unwrap_or(0) > 1
                || declared_names.contains(b.as_str());
            if clash {
                renamed(a, b)
            } else {
                b.clone()
            }
        })
        .collect();
    // Plain names another account's `<name>-<id>` took: renamed too, until none is left.
    loop {
        let taken: BTreeSet<String> = names
            .iter()
            .zip(&base)
            .filter(|(n, b)| n != b)
            .map(|(n, _)| n.clone())
            .collect();
        let mut changed = false;
        for ((n, b), a) in names.iter_mut().zip(&base).zip(accounts) {
            if n == b && taken.contains(n.as_str()) {
                *n = renamed(a, b);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut used: BTreeSet<String> = declared_names.iter().map(|d| (*d).to_string()).collect();
    for n in &mut names {
        let mut k = 2;
        let stem = n.clone();
        while used.contains(n.as_str()) {
            *n = format!("{stem}-{k}");
            k += 1;
        }
        used.insert(n.clone());
    }
    names
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(64).collect();
    trimmed.trim_end_matches('-').to_string()
}

impl Fleet {
    /// The accounts of a run that discovered `found`: the declared ones as
    /// they are, then each discovered account whose id is not declared,
    /// named by [`account_names`], with the role `role_name` and the
    /// regions of `[organization]`; keys that name no account target them
    /// too. Sets [`Fleet::discovered`] to the discovered accounts added and
    /// [`Fleet::declared_in_org`] to what Organizations says of the declared
    /// ones it lists.
    pub fn join(
        &mut self,
        spec: &OrganizationSpec,
        found: Vec<OrgAccount>,
        accounts: &mut Vec<Account>,
    ) {
        let declared: BTreeSet<String> = accounts.iter().map(|a| a.id.clone()).collect();
        let (mut known, mut fresh): (Vec<OrgAccount>, Vec<OrgAccount>) =
            found.into_iter().partition(|a| declared.contains(&a.id));
        for list in [&mut known, &mut fresh] {
            list.sort_by(|a, b| a.id.cmp(&b.id));
            list.dedup_by(|a, b| a.id == b.id);
        }
        self.declared_in_org = known;
        let names = account_names(&fresh, accounts);
        let partition = spec
            .regions
            .first()
            .map_or("aws", |r| super::names::partition(r));
        self.discovered = fresh
            .into_iter()
            .zip(names)
            .map(|(org, name)| {
                accounts.push(Account {
                    name: name.clone(),
                    id: org.id.clone(),
                    role_arn: Some(format!(
                        "arn:{partition}:iam::{}:role/{}",
                        org.id, spec.role_name
                    )),
                    external_id: None,
                    regions: spec.regions.clone(),
                });
                DiscoveredAccount { name, org }
            })
            .collect();
    }

    /// The targets keys that name no account get in the discovered accounts.
    pub fn open_targets(&self, key: &str) -> Vec<Target> {
        let Some((_, regions)) = self.open_keys.iter().find(|(k, _)| k == key) else {
            return Vec::new();
        };
        let Some(org) = &self.organization else {
            return Vec::new();
        };
        self.discovered
            .iter()
            .flat_map(|d| {
                org.regions
                    .iter()
                    .filter(|r| regions.as_ref().is_none_or(|rs| rs.contains(*r)))
                    .map(|r| Target::new(&d.org.id, r))
            })
            .collect()
    }

    /// The discovered account with this id.
    pub fn discovered(&self, id: &str) -> Option<&DiscoveredAccount> {
        self.discovered.iter().find(|d| d.org.id == id)
    }

    /// What Organizations says of the account with this id, discovered or
    /// declared.
    pub fn org_facts(&self, id: &str) -> Option<&OrgAccount> {
        self.discovered(id)
            .map(|d| &d.org)
            .or_else(|| self.declared_in_org.iter().find(|a| a.id == id))
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
