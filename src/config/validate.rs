//! The rules of `keys.toml` beyond its shape, and the expansion into a
//! [`DesiredState`]: defaults, classifications merged, targets computed.
//!
//! Every rule is checked and every violation recorded; the desired state
//! is built only when there is none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::file::{AccountFile, ClassificationFile, KeyFile, KeysFile, SettingsFile};
use super::hints;
use super::locate::FieldPath;
use super::Issue;
use crate::model::{self, Account, DesiredState, KeySpec, Settings, Target};

/// Rotation period when neither the key nor its classification sets one.
pub(crate) const DEFAULT_ROTATION_DAYS: u32 = 365;

/// Checks the file and expands it, or returns every violation.
pub(crate) fn validate(file: &KeysFile) -> Result<DesiredState, Vec<Issue>> {
    let mut v = Checker::default();
    let root = FieldPath::root();
    if file.version != 1 {
        v.err(
            &root.key("version"),
            format!(
                "version = {} is not supported; allowed: {}",
                file.version,
                hints::VERSION
            ),
        );
    }
    let settings = v.settings(&file.settings, &root.key("settings"));
    let accounts = v.accounts(&file.accounts, &root.key("accounts"));
    v.classifications(&file.classifications, &root.key("classifications"));
    let keys = v.keys(file, &accounts, &root.key("keys"));
    if v.issues.is_empty() {
        Ok(DesiredState {
            settings,
            accounts,
            keys,
            scope: crate::model::Scope::default(),
        })
    } else {
        Err(v.issues)
    }
}

#[derive(Default)]
struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn err(&mut self, path: &FieldPath, message: String) {
        self.issues.push(Issue::at_path(path, message));
    }

    /// Checks `min..=max` and converts; `None` (with an issue) when out of range.
    fn range<T: TryFrom<i64>>(
        &mut self,
        path: &FieldPath,
        value: i64,
        min: i64,
        max: i64,
        allowed: &str,
    ) -> Option<T> {
        let name = path.last_key().unwrap_or("value");
        if value < min || value > max {
            self.err(
                path,
                format!("{name} = {value} is out of range; allowed: {allowed}"),
            );
            return None;
        }
        T::try_from(value).ok()
    }

    fn settings(&mut self, s: &SettingsFile, path: &FieldPath) -> Settings {
        let mut out = Settings::default();
        if let Some(p) = &s.policy_path {
            match policy_path_problem(p) {
                Some(problem) => self.err(
                    &path.key("policy_path"),
                    format!(
                        "policy_path = {p_shown} {problem}; allowed: {}",
                        hints::POLICY_PATH,
                        p_shown = show(p)
                    ),
                ),
                None => out.policy_path = p.clone(),
            }
        }
        if let Some(n) = &s.session_name {
            match session_name_problem(n) {
                Some(problem) => self.err(
                    &path.key("session_name"),
                    format!(
                        "session_name = {n_shown} {problem}; allowed: {}",
                        hints::SESSION_NAME,
                        n_shown = show(n)
                    ),
                ),
                None => out.session_name = n.clone(),
            }
        }
        if let Some(p) = s.parallelism {
            if let Some(p) = self.range(&path.key("parallelism"), p, 1, 256, hints::PARALLELISM) {
                out.parallelism = p;
            }
        }
        if let Some(w) = s.writes_per_second {
            if let Some(w) = self.range(
                &path.key("writes_per_second"),
                w,
                1,
                50,
                hints::WRITES_PER_SECOND,
            ) {
                out.writes_per_second = w;
            }
        }
        if let Some(r) = s.read_grants {
            out.read_grants = r;
        }
        if let Some(r) = s.grant_reads_per_second {
            if let Some(r) = self.range(
                &path.key("grant_reads_per_second"),
                r,
                1,
                100,
                hints::GRANT_READS_PER_SECOND,
            ) {
                out.grant_reads_per_second = r;
            }
        }
        if let Some(globs) = &s.ignore_tags {
            self.ignore_tags(globs, &path.key("ignore_tags"));
            out.ignore_tags = globs.clone();
        }
        if let Some(w) = s.iam_writes_per_second {
            if let Some(w) = self.range(
                &path.key("iam_writes_per_second"),
                w,
                1,
                50,
                hints::WRITES_PER_SECOND,
            ) {
                out.iam_writes_per_second = w;
            }
        }
        out
    }

    fn ignore_tags(&mut self, globs: &[String], path: &FieldPath) {
        for (i, glob) in globs.iter().enumerate() {
            let p = path.index(i);
            let len = glob.chars().count();
            let problem = if !(1..=128).contains(&len) {
                Some(format!("is {} long", characters(len)))
            } else if let Some(c) = glob
                .chars()
                .find(|c| !is_tag_char(*c) && *c != '*' && *c != '?')
            {
                Some(format!("contains {c:?}"))
            } else if glob.to_lowercase().starts_with(model::tag::PREFIX) {
                Some("names c3's own tags, which are always compared".to_string())
            } else {
                None
            };
            if let Some(problem) = problem {
                self.err(
                    &p,
                    format!(
                        "ignore_tags entry {} {problem}; allowed: {}",
                        show(glob),
                        hints::IGNORE_TAG
                    ),
                );
            }
        }
    }

    fn accounts(
        &mut self,
        accounts: &BTreeMap<String, AccountFile>,
        path: &FieldPath,
    ) -> Vec<Account> {
        if accounts.is_empty() {
            self.err(
                path,
                "no account is declared; allowed: at least one [accounts.<name>] table \
                 with id and regions"
                    .into(),
            );
        }
        let mut ids: HashMap<&str, &str> = HashMap::new();
        let mut out = Vec::new();
        for (name, a) in accounts {
            let p = path.key(name.as_str());
            if let Some(problem) = name_problem(name, 64) {
                self.err(
                    &p,
                    format!(
                        "account name {name_shown} {problem}; allowed: {}",
                        hints::NAME,
                        name_shown = show(name)
                    ),
                );
            }
            let id_ok = is_account_id(&a.id);
            if !id_ok {
                self.err(
                    &p.key("id"),
                    format!(
                        "id = {} is not an AWS account id; allowed: {}",
                        show(&a.id),
                        hints::ACCOUNT_ID
                    ),
                );
            } else if let Some(first) = ids.get(a.id.as_str()) {
                self.err(
                    &p.key("id"),
                    format!(
                        "id {:?} is also the id of account `{first}`: accounts `{first}` and \
                         `{name}` are the same AWS account; allowed: each account id in one \
                         [accounts.<name>] only",
                        a.id
                    ),
                );
            } else {
                ids.insert(&a.id, name);
            }
            let partition = self.regions(&a.regions, &p.key("regions"), true);
            if let Some(arn) = &a.role_arn {
                self.role_arn(arn, &a.id, id_ok, partition, &p.key("role_arn"));
            }
            if let Some(x) = &a.external_id {
                if let Some(problem) = external_id_problem(x) {
                    self.err(
                        &p.key("external_id"),
                        format!("external_id {problem}; allowed: {}", hints::EXTERNAL_ID),
                    );
                }
                if a.role_arn.is_none() {
                    self.err(
                        &p.key("external_id"),
                        "external_id is set but role_arn is not, and an ExternalId is only \
                         sent when assuming role_arn; allowed: add role_arn, or remove \
                         external_id"
                            .into(),
                    );
                }
            }
            let regions: BTreeSet<&String> = a.regions.iter().collect();
            out.push(Account {
                name: name.clone(),
                id: a.id.clone(),
                role_arn: a.role_arn.clone(),
                external_id: a.external_id.clone(),
                regions: regions.into_iter().cloned().collect(),
            });
        }
        out
    }

    /// Checks a list of regions: names, duplicates and (for an account) that
    /// they are in one partition. Returns that partition.
    fn regions(
        &mut self,
        regions: &[String],
        path: &FieldPath,
        one_partition: bool,
    ) -> Option<&'static str> {
        if regions.is_empty() {
            self.err(
                path,
                format!(
                    "regions = [] lists no region; allowed: at least one region, {}",
                    hints::REGIONS
                ),
            );
        }
        let mut seen = BTreeSet::new();
        let mut partitions: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        for (i, r) in regions.iter().enumerate() {
            if !is_region(r) {
                self.err(
                    &path.index(i),
                    format!(
                        "{r_shown} is not a region name; allowed: {}",
                        hints::REGION,
                        r_shown = show(r)
                    ),
                );
            } else if !seen.insert(r.as_str()) {
                self.err(
                    &path.index(i),
                    format!(
                        "region {r_shown} is listed twice; allowed: each region once",
                        r_shown = show(r)
                    ),
                );
            } else {
                partitions
                    .entry(model::partition(r))
                    .or_default()
                    .push(r.as_str());
            }
        }
        if one_partition && partitions.len() > 1 {
            let mix: Vec<String> = partitions
                .iter()
                .map(|(p, rs)| format!("{p}: {}", rs.join(", ")))
                .collect();
            self.err(
                path,
                format!(
                    "regions are in more than one AWS partition ({}); allowed: regions of \
                     one partition, since an account belongs to exactly one",
                    mix.join("; ")
                ),
            );
            return None;
        }
        partitions.keys().next().copied()
    }

    fn role_arn(
        &mut self,
        arn: &str,
        id: &str,
        id_ok: bool,
        partition: Option<&str>,
        path: &FieldPath,
    ) {
        let Some((arn_partition, arn_account)) = parse_role_arn(arn) else {
            self.err(
                path,
                format!(
                    "role_arn = {arn_shown} is not an IAM role ARN; allowed: {}",
                    hints::ROLE_ARN,
                    arn_shown = show(arn)
                ),
            );
            return;
        };
        if id_ok && arn_account != id {
            self.err(
                path,
                format!(
                    "role_arn is a role in account {arn_account} but id is {id_shown}; c3 acts in \
                     the account it assumes into, so the role must be in this account; \
                     allowed: arn:{arn_partition}:iam::{id}:role/<name>",
                    id_shown = show(id)
                ),
            );
        }
        if let Some(partition) = partition {
            if arn_partition != partition {
                self.err(
                    path,
                    format!(
                        "role_arn is in partition {arn_partition} but the account's regions \
                         are in partition {partition}; allowed: arn:{partition}:iam::..."
                    ),
                );
            }
        }
    }

    fn classifications(
        &mut self,
        classes: &BTreeMap<String, ClassificationFile>,
        path: &FieldPath,
    ) {
        for (name, c) in classes {
            let p = path.key(name.as_str());
            if let Some(problem) = name_problem(name, 64) {
                self.err(
                    &p,
                    format!(
                        "classification name {name_shown} {problem}; allowed: {}",
                        hints::NAME,
                        name_shown = show(name)
                    ),
                );
            }
            if let Some(days) = c.rotation_days {
                self.range::<u32>(
                    &p.key("rotation_days"),
                    days,
                    90,
                    2560,
                    hints::ROTATION_DAYS,
                );
            }
            self.services(c.via_services.as_deref(), &p.key("via_services"));
            self.services(
                c.service_principals.as_deref(),
                &p.key("service_principals"),
            );
        }
    }

    fn services(&mut self, services: Option<&[String]>, path: &FieldPath) {
        for (i, s) in services.unwrap_or_default().iter().enumerate() {
            if !is_service(s) {
                self.err(
                    &path.index(i),
                    format!(
                        "{s_shown} is not a service name; allowed: {}",
                        hints::SERVICE,
                        s_shown = show(s)
                    ),
                );
            }
        }
    }

    fn keys(&mut self, file: &KeysFile, accounts: &[Account], path: &FieldPath) -> Vec<KeySpec> {
        let mut exact: HashMap<&str, usize> = HashMap::new();
        let mut folded: HashMap<String, (usize, &str)> = HashMap::new();
        let mut out = Vec::new();
        for (i, k) in file.keys.iter().enumerate() {
            let p = path.index(i);
            if let Some(problem) = name_problem(&k.name, 114) {
                self.err(
                    &p.key("name"),
                    format!(
                        "name = {} {problem}; allowed: {}",
                        show(&k.name),
                        hints::KEY_NAME
                    ),
                );
            }
            if let Some(j) = exact.get(k.name.as_str()) {
                self.err(
                    &p.key("name"),
                    format!(
                        "key name `{}` is already declared by keys[{j}]; allowed: each key \
                         name once",
                        k.name
                    ),
                );
            } else if let Some((j, other)) = folded.get(&k.name.to_lowercase()) {
                self.err(
                    &p.key("name"),
                    format!(
                        "key name `{}` differs from `{other}` (keys[{j}]) only in case; IAM \
                         policy names are case-insensitive, so allow-encrypt-{} and \
                         allow-encrypt-{other} would be one policy; allowed: names that are \
                         unique ignoring case",
                        k.name, k.name
                    ),
                );
            } else {
                exact.insert(&k.name, i);
                folded.insert(k.name.to_lowercase(), (i, &k.name));
            }
            let class = self.classification(k, file, &p);
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
            let targets = self.targets(k, accounts, &p);
            let rotation_days = match k.rotation_days {
                Some(days) => self.range(
                    &p.key("rotation_days"),
                    days,
                    90,
                    2560,
                    hints::ROTATION_DAYS,
                ),
                None => class
                    .and_then(|c| c.rotation_days)
                    .and_then(|d| u32::try_from(d).ok()),
            }
            .unwrap_or(DEFAULT_ROTATION_DAYS);
            let generation = match k.generation {
                Some(g) => self
                    .range(
                        &p.key("generation"),
                        g,
                        1,
                        hints::MAX_GENERATION,
                        hints::GENERATION,
                    )
                    .unwrap_or(1),
                None => 1,
            };
            self.services(k.via_services.as_deref(), &p.key("via_services"));
            self.services(
                k.service_principals.as_deref(),
                &p.key("service_principals"),
            );
            if let Some(tags) = &k.tags {
                self.tags(tags, &p.key("tags"));
                self.declared_but_ignored(tags, file, &p.key("tags"));
            }
            let union = |class_list: Option<&Vec<String>>, key_list: &Option<Vec<String>>| {
                class_list
                    .into_iter()
                    .flatten()
                    .chain(key_list.iter().flatten())
                    .cloned()
                    .collect::<BTreeSet<String>>()
            };
            out.push(KeySpec {
                name: k.name.clone(),
                classification: k.classification.clone(),
                description: k
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("Managed by c3: {} ({})", k.name, k.classification)),
                rotation_days,
                generation,
                enabled: k.enabled.unwrap_or(true),
                via_services: union(class.and_then(|c| c.via_services.as_ref()), &k.via_services),
                service_principals: union(
                    class.and_then(|c| c.service_principals.as_ref()),
                    &k.service_principals,
                ),
                user_tags: k.tags.clone().unwrap_or_default(),
                targets,
            });
        }
        out
    }

    fn classification<'f>(
        &mut self,
        k: &KeyFile,
        file: &'f KeysFile,
        p: &FieldPath,
    ) -> Option<&'f ClassificationFile> {
        let class = file.classifications.get(&k.classification);
        if class.is_none() {
            let declared: Vec<&str> = file.classifications.keys().map(String::as_str).collect();
            let allowed = if declared.is_empty() {
                format!(
                    "a declared classification, and the file declares none: add \
                     [classifications.{}]",
                    k.classification
                )
            } else {
                format!("one of {}", declared.join(", "))
            };
            self.err(
                &p.key("classification"),
                format!(
                    "classification `{}` is not declared; allowed: {allowed}",
                    k.classification
                ),
            );
        }
        class
    }

    /// Checks the key's `accounts` and `regions` and computes its targets.
    fn targets(&mut self, k: &KeyFile, accounts: &[Account], p: &FieldPath) -> Vec<Target> {
        let before = self.issues.len();
        let declared: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
        let selected: Vec<&Account> = match &k.accounts {
            None => accounts.iter().collect(),
            Some(names) => {
                let mut seen = BTreeSet::new();
                let mut selected = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    let ap = p.key("accounts").index(i);
                    match accounts.iter().find(|a| &a.name == name) {
                        None if declared.is_empty() => self.err(
                            &ap,
                            format!(
                                "account `{name}` is not declared, and the file declares \
                                 none; allowed: a declared account: add [accounts.{name}]"
                            ),
                        ),
                        None => self.err(
                            &ap,
                            format!(
                                "account `{name}` is not declared; allowed: one of {}",
                                declared.join(", ")
                            ),
                        ),
                        Some(_) if !seen.insert(name.as_str()) => self.err(
                            &ap,
                            format!("account `{name}` is listed twice; allowed: each account once"),
                        ),
                        Some(a) => selected.push(a),
                    }
                }
                selected
            }
        };
        if let Some(regions) = &k.regions {
            let rp = p.key("regions");
            let mut seen = BTreeSet::new();
            let available: BTreeSet<&str> = selected
                .iter()
                .flat_map(|a| a.regions.iter().map(String::as_str))
                .collect();
            for (i, r) in regions.iter().enumerate() {
                if !is_region(r) {
                    self.err(
                        &rp.index(i),
                        format!(
                            "{r_shown} is not a region name; allowed: {}",
                            hints::REGION,
                            r_shown = show(r)
                        ),
                    );
                } else if !seen.insert(r.as_str()) {
                    self.err(
                        &rp.index(i),
                        format!(
                            "region {r_shown} is listed twice; allowed: each region once",
                            r_shown = show(r)
                        ),
                    );
                } else if !available.contains(r.as_str()) && !selected.is_empty() {
                    let of: Vec<String> = selected
                        .iter()
                        .map(|a| format!("{}: {}", a.name, a.regions.join(", ")))
                        .collect();
                    self.err(
                        &rp.index(i),
                        format!(
                            "region {r_shown} is not a region of any of this key's accounts ({}); \
                             allowed: one of {} (or add {r_shown} to an account's regions)",
                            of.join("; "),
                            available.iter().copied().collect::<Vec<_>>().join(", "),
                            r_shown = show(r)
                        ),
                    );
                }
            }
        }
        let mut targets = BTreeSet::new();
        for a in &selected {
            for r in &a.regions {
                if k.regions.as_ref().is_none_or(|rs| rs.contains(r)) {
                    targets.insert(Target::new(&a.id, r));
                }
            }
        }
        if targets.is_empty() && self.issues.len() == before {
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
            } else if !selected.is_empty() && selected.iter().all(|a| !a.regions.is_empty()) {
                (
                    p.clone(),
                    "no (account, region) is left; allowed: a key with at least one target",
                )
            } else {
                // No account, or accounts without regions: already reported.
                return Vec::new();
            };
            self.err(
                &path,
                format!("key `{}` would exist nowhere: {why}", k.name),
            );
        }
        targets.into_iter().collect()
    }

    /// A declared tag that `[settings] ignore_tags` matches would be set but
    /// never compared: one of the two is a mistake.
    fn declared_but_ignored(
        &mut self,
        tags: &BTreeMap<String, String>,
        file: &KeysFile,
        path: &FieldPath,
    ) {
        for key in tags.keys() {
            let glob = file
                .settings
                .ignore_tags
                .iter()
                .flatten()
                .find(|g| crate::plan::policy::glob_match(g, key, false));
            if let Some(glob) = glob {
                self.err(
                    &path.key(key.as_str()),
                    format!(
                        "tag {} is declared, but [settings] ignore_tags entry {} says never to compare it; allowed: declare the tag or ignore it, not both",
                        show(key),
                        show(glob)
                    ),
                );
            }
        }
    }

    fn tags(&mut self, tags: &BTreeMap<String, String>, path: &FieldPath) {
        if tags.len() > hints::MAX_USER_TAGS {
            self.err(
                path,
                format!(
                    "{} tags is too many; allowed: at most {} (KMS allows 50 tags per key \
                     and c3 adds its own 4: c3:managed, c3:name, c3:classification, \
                     c3:generation)",
                    tags.len(),
                    hints::MAX_USER_TAGS
                ),
            );
        }
        for (key, value) in tags {
            let p = path.key(key.as_str());
            let len = key.chars().count();
            let lower = key.to_lowercase();
            if !(1..=128).contains(&len) {
                self.err(
                    &p,
                    format!(
                        "tag key {key_shown} is {} long; allowed: 1 to 128",
                        characters(len),
                        key_shown = show(key)
                    ),
                );
            } else if let Some(c) = key.chars().find(|c| !is_tag_char(*c)) {
                self.err(
                    &p,
                    format!(
                        "tag key {key_shown} contains {c:?}; allowed: {}",
                        hints::TAG_CHARS,
                        key_shown = show(key)
                    ),
                );
            }
            if lower.starts_with("aws:") {
                self.err(
                    &p,
                    format!(
                        "tag key {key_shown} begins with aws:, which AWS reserves (in any case); \
                         allowed: any other key",
                        key_shown = show(key)
                    ),
                );
            } else if lower.starts_with(model::tag::PREFIX) {
                self.err(
                    &p,
                    format!(
                        "tag key {key_shown} begins with c3:, which is reserved for c3's own tags \
                         (c3:managed, c3:name, c3:classification, c3:generation); allowed: \
                         any other key",
                        key_shown = show(key)
                    ),
                );
            }
            let len = value.chars().count();
            if len > 256 {
                self.err(
                    &p,
                    format!(
                        "tag value is {} long; allowed: at most 256",
                        characters(len)
                    ),
                );
            } else if let Some(c) = value.chars().find(|c| !is_tag_char(*c)) {
                self.err(
                    &p,
                    format!(
                        "tag value {value_shown} contains {c:?}; allowed: {}",
                        hints::TAG_CHARS,
                        value_shown = show(value)
                    ),
                );
            }
        }
    }
}

/// A user's value quoted for a message, shortened when long.
fn show(value: &str) -> String {
    const MAX: usize = 48;
    let n = value.chars().count();
    if n <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX - 8).collect();
        format!("{head:?}...")
    }
}

/// `"1 character"`, `"3 characters"`.
fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".into()
    } else {
        format!("{n} characters")
    }
}

fn is_word_or(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || extra.contains(c)
}

/// Why an account, classification or key name is not 1..=max of `[A-Za-z0-9_-]`.
fn name_problem(name: &str, max: usize) -> Option<String> {
    let len = name.chars().count();
    if len == 0 {
        Some("is empty".into())
    } else if len > max {
        Some(format!("is {} long", characters(len)))
    } else {
        name.chars()
            .find(|c| !is_word_or(*c, "-"))
            .map(|c| format!("contains {c:?}"))
    }
}

/// Exactly 12 ASCII digits.
pub(crate) fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// `^[a-z]{2}(-[a-z]+)+-[0-9]+$`
pub(crate) fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// A lowercase DNS label: `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`.
pub(crate) fn is_service(name: &str) -> bool {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= 63 && ok(first) && ok(last) && bytes.iter().all(|&b| ok(b) || b == b'-')
        }
        _ => false,
    }
}

/// Why a policy path is not an IAM path (`/` or `/[\x21-\x7E]+/`, 512 at most).
fn policy_path_problem(path: &str) -> Option<String> {
    let len = path.chars().count();
    if len > 512 {
        Some(format!("is {} long", characters(len)))
    } else if let Some(c) = path.chars().find(|c| !('\x21'..='\x7e').contains(c)) {
        Some(format!("contains {c:?}"))
    } else if !path.starts_with('/') || !path.ends_with('/') {
        Some("does not begin and end with `/`".into())
    } else if path == "//" {
        Some("has an empty segment".into())
    } else {
        None
    }
}

/// Why a session name is not 2..=64 of `[\w+=,.@-]`.
fn session_name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(2..=64).contains(&len) {
        Some(format!("is {} long", characters(len)))
    } else {
        name.chars()
            .find(|c| !is_word_or(*c, "+=,.@-"))
            .map(|c| format!("contains {c:?}"))
    }
}

/// Why an external id is not 2..=1224 of `[\w+=,.@:/-]`.
fn external_id_problem(id: &str) -> Option<String> {
    let len = id.chars().count();
    if !(2..=1224).contains(&len) {
        Some(format!("is {} long", characters(len)))
    } else {
        id.chars()
            .find(|c| !is_word_or(*c, "+=,.@:/-"))
            .map(|c| format!("contains {c:?}"))
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path/><name>` → (partition, account).
pub(crate) fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !matches!(
        partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    ) {
        return None;
    }
    let rest = rest.strip_prefix("iam::")?;
    let (account, rest) = rest.split_once(':')?;
    if !is_account_id(account) {
        return None;
    }
    let role = rest.strip_prefix("role/")?;
    let (role_path, name) = match role.rfind('/') {
        Some(i) => (&role[..=i], &role[i + 1..]),
        None => ("", role),
    };
    let path_ok =
        role_path.len() <= 511 && role_path.chars().all(|c| ('\x21'..='\x7e').contains(&c));
    let name_ok = (1..=64).contains(&name.len()) && name.chars().all(|c| is_word_or(c, "+=,.@-"));
    (path_ok && name_ok).then_some((partition, account))
}

/// Characters KMS allows in tag keys and values.
pub(crate) fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || "_.:/=+-@".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "eu-west-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-2",
            "us-isob-east-1",
            "eu-central-12",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "eu",
            "eu-1",
            "eu-west",
            "EU-west-1",
            "eu-west-",
            "eu--1",
            "eur-west-1",
            "eu-west-1a",
            "eu_west_1",
            "eu-west-1 ",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn services() {
        for ok in ["s3", "secretsmanager", "lex-v2", "a", &"a".repeat(63)] {
            assert!(is_service(ok), "{ok}");
        }
        for bad in [
            "",
            "-s3",
            "s3-",
            "S3",
            "logs.amazonaws.com",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(!is_service(bad), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111111111111:role/c3"),
            Some(("aws", "111111111111"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-us-gov:iam::111111111111:role/team/sub/c3-admin"),
            Some(("aws-us-gov", "111111111111"))
        );
        for bad in [
            "arn:aws:iam::111111111111:user/c3",
            "arn:aws:iam::11111111111:role/c3",
            "arn:aws:iam:eu-west-1:111111111111:role/c3",
            "arn:azure:iam::111111111111:role/c3",
            "arn:aws:iam::111111111111:role/",
            "arn:aws:iam::111111111111:role/a b",
            "arn:aws:sts::111111111111:assumed-role/c3/x",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_strings() {
        assert_eq!(policy_path_problem("/"), None);
        assert_eq!(policy_path_problem("/c3/keys/"), None);
        assert!(policy_path_problem("c3/").is_some());
        assert!(policy_path_problem("/c3").is_some());
        assert!(policy_path_problem("/c 3/").is_some());
        assert!(policy_path_problem("//").is_some());
        assert_eq!(session_name_problem("c3"), None);
        assert!(session_name_problem("c").is_some());
        assert!(session_name_problem("c3 run").is_some());
        assert_eq!(external_id_problem("ab:/=,.@+-_9"), None);
        assert!(external_id_problem("a").is_some());
        assert!(external_id_problem("a b").is_some());
    }

    #[test]
    fn tag_chars() {
        for c in [
            'a', 'Z', '9', 'é', '日', ' ', '_', '.', ':', '/', '=', '+', '-', '@',
        ] {
            assert!(is_tag_char(c), "{c:?}");
        }
        for c in ['\t', '\n', '#', '!', '*', '"', '\''] {
            assert!(!is_tag_char(c), "{c:?}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(name_problem("prod_1-a", 64), None);
        assert!(name_problem("", 64).is_some());
        assert!(name_problem("a.b", 64).is_some());
        assert!(name_problem(&"a".repeat(65), 64).is_some());
    }
}
