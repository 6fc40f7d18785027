//! The keys.toml text of an import.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use super::recognise::{recognise, Recognised};
use super::text::{inline, key, list, quote};
use super::{FoundKey, ImportInput, ACCEPT_DAYS, REASON_PREFIX};
use crate::model::{key_arn, key_type, partition, tag, KeyState, KeyType, PolicyKind, Target};
use crate::policy::risk;

/// One target of a key name, in keys.toml's words.
struct View<'a> {
    key: &'a FoundKey,
    account: String,
    /// `None`: rotation off (or unreadable).
    rotation: Option<u32>,
    tags: BTreeMap<String, String>,
    /// Tags keys.toml cannot declare.
    bad_tags: Vec<String>,
    rec: Recognised,
    /// Kinds (`encrypt`, …) whose managed policy exists at the policy path
    /// and grants at least what c3 writes.
    policies: BTreeSet<&'static str>,
    /// Comments about this target.
    notes: Vec<String>,
    /// Spec, usage and primary region (multi-Region keys), as keys.toml says them.
    kind: KeyType,
}

/// An `[[accept]]` entry to write: selectors and why.
struct Accept {
    account: String,
    region: String,
    key: String,
    resource: &'static str,
    subject: String,
    why: String,
}

/// A classification: rotation, via-services, service principals.
type Class = (Option<u32>, BTreeSet<String>, BTreeSet<String>);

/// The keys.toml text of everything `input` holds.
pub fn write(input: &ImportInput) -> String {
    let mut out = header(input);
    let (by_name, notes) = group(input);
    for line in &notes {
        out.push_str(line);
        out.push('\n');
    }
    let mut classes: BTreeMap<String, Class> = BTreeMap::new();
    let mut keys_text = String::new();
    let mut accepts = Vec::new();
    let regions_of: BTreeMap<&str, &[String]> = input
        .accounts
        .iter()
        .map(|a| (a.name.as_str(), a.regions.as_slice()))
        .collect();
    for (name, views) in &by_name {
        let mut entry = Entry::of(name, views, &mut accepts);
        let found: BTreeSet<(&str, &str)> = views
            .iter()
            .map(|v| (v.account.as_str(), v.key.region.as_str()))
            .collect();
        let uncovered: Vec<String> = entry
            .accounts
            .iter()
            .flat_map(|a| {
                regions_of
                    .get(a.as_str())
                    .copied()
                    .unwrap_or_default()
                    .iter()
                    .filter(|r| entry.regions.contains(*r))
                    .filter(|r| !found.contains(&(a.as_str(), r.as_str())))
                    .map(move |r| format!("{a} {r}"))
            })
            .collect();
        if !uncovered.is_empty() {
            entry.comments.push(format!(
                "REVIEW: accounts x regions also covers {}, where no key {name} exists: c3 would create one there; narrow accounts or regions",
                uncovered.join(", ")
            ));
        }
        let class = class_name(entry.rotation, &entry.via, &entry.principals);
        classes.insert(
            class.clone(),
            (entry.rotation, entry.via.clone(), entry.principals.clone()),
        );
        entry.write(&class, &mut keys_text);
    }
    for (class, (rotation, via, principals)) in &classes {
        let _ = writeln!(out, "[classifications.{class}]");
        match rotation {
            Some(days) => {
                let _ = writeln!(out, "rotation_days = {days}");
            }
            None => out.push_str("rotation = false\n"),
        }
        if !via.is_empty() {
            let _ = writeln!(out, "via_services = {}", list(via));
        }
        if !principals.is_empty() {
            let _ = writeln!(out, "service_principals = {}", list(principals));
        }
        out.push('\n');
    }
    out.push_str(&keys_text);
    let expires = input.today.plus_days(ACCEPT_DAYS);
    for a in accepts {
        let _ = write!(
            out,
            "\n[[accept]]\naccount  = {}\nregion   = {}\nkey      = {}\nresource = {}\nsubject  = {}\nreason   = {}\nexpires  = {expires}\n",
            quote(&a.account),
            quote(&a.region),
            quote(&a.key),
            quote(a.resource),
            quote(&a.subject),
            quote(&format!("{REASON_PREFIX}{}", a.why)),
        );
    }
    out
}

/// The keys to import by name, and the comments about the keys that are not.
fn group(input: &ImportInput) -> (BTreeMap<&str, Vec<View<'_>>>, Vec<String>) {
    let names: BTreeMap<&str, &str> = input
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let account_name = |id: &str| {
        names
            .get(id)
            .map_or_else(|| id.to_string(), |n| (*n).to_string())
    };
    let mut notes = Vec::new();
    let mut by_name: BTreeMap<&str, Vec<View<'_>>> = BTreeMap::new();
    for key in &input.keys {
        if key.details.manager == "AWS" {
            continue;
        }
        let Some((name, others)) = key.aliases.split_first() else {
            notes.push(format!(
                "# not imported: key {} in {} {} has no alias (c3 names keys by their alias); it is {}",
                key.key_id, key.account, key.region, key.details.state
            ));
            continue;
        };
        if let Some(why) = key.unsupported() {
            notes.push(format!(
                "# not imported: alias/{name} → key {} in {} {}: {why}",
                key.key_id, key.account, key.region
            ));
            continue;
        }
        if let Some(why) = input.primary_not_read(key) {
            notes.push(format!(
                "# not imported: alias/{name} → key {} in {} {}: {why}",
                key.key_id, key.account, key.region
            ));
            continue;
        }
        if input.declared.contains(name) {
            notes.push(format!(
                "# not imported: alias/{name} in {} {}: keys.toml already declares {name}",
                key.account, key.region
            ));
            continue;
        }
        if !others.is_empty() {
            notes.push(format!(
                "# alias/{name} → key {} in {} {} also has {}: imported as {name} (the first alias in byte order)",
                key.key_id,
                key.account,
                key.region,
                others.iter().map(|o| format!("alias/{o}")).collect::<Vec<_>>().join(", ")
            ));
        }
        by_name.entry(name.as_str()).or_default().push(view(
            input,
            key,
            account_name(&key.account),
        ));
    }
    for views in by_name.values_mut() {
        views.sort_by(|a, b| {
            (&a.key.account, &a.key.region, &a.key.key_id).cmp(&(
                &b.key.account,
                &b.key.region,
                &b.key.key_id,
            ))
        });
    }
    (by_name, notes)
}

/// `version`, `[settings]`, the accounts, and what could not be read.
fn header(input: &ImportInput) -> String {
    let mut out = String::from(
        "# Written by `c3 import`: what is live, for `c3 plan` to adopt (docs/import.md).\n\
         # Classification names are free to change; rename them everywhere at once.\n\
         version = 1\n",
    );
    for m in &input.missing {
        let what = match (&m.region, m.iam_only) {
            (Some(region), _) => format!("{region} could not be read, none of its keys is below"),
            (None, true) => "IAM could not be read: its keys are below, but with managed_policies = false, as their policies are unknown".into(),
            (None, false) => "could not be read, none of its keys is below".into(),
        };
        let _ = writeln!(
            out,
            "# MISSING: account {} {what}: {}",
            m.account,
            m.message.replace('\n', " ")
        );
    }
    if input.policy_path != "/" {
        let _ = writeln!(
            out,
            "\n[settings]\npolicy_path = {}",
            quote(&input.policy_path)
        );
    }
    for a in &input.accounts {
        let _ = write!(out, "\n[accounts.{}]\nid = {}\n", a.name, quote(&a.id));
        if let Some(role) = &a.role_arn {
            let _ = writeln!(out, "role_arn = {}", quote(role));
        }
        if let Some(external) = &a.external_id {
            let _ = writeln!(out, "external_id = {}", quote(external));
        }
        let regions: BTreeSet<String> = a.regions.iter().cloned().collect();
        let _ = writeln!(out, "regions = {}", list(&regions));
    }
    out.push('\n');
    out
}

fn view<'a>(input: &ImportInput, key: &'a FoundKey, account: String) -> View<'a> {
    let d = &key.details;
    let target = Target::new(&key.account, &key.region);
    let rec = d
        .policy
        .as_deref()
        .map_or_else(Recognised::default, |p| recognise(p, &target));
    let rotation = d
        .rotation
        .as_ref()
        .filter(|r| r.enabled)
        .map(|r| r.period_days.unwrap_or(365))
        .filter(|days| (90..=2560).contains(days));
    let (tags, bad_tags): (BTreeMap<String, String>, BTreeMap<String, String>) = key
        .tags
        .iter()
        .filter(|(k, _)| !tag::is_aws(k) && !k.to_ascii_lowercase().starts_with("c3:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, v)| writable_tag(k, v));
    let name = key.aliases.first().map_or("", String::as_str);
    let arns: BTreeSet<String> = input
        .keys
        .iter()
        .filter(|k| k.account == key.account && k.aliases.first().map(String::as_str) == Some(name))
        .map(|k| key_arn(&Target::new(&k.account, &k.region), &k.key_id))
        .collect();
    let kind_of = key.key_type();
    let public_key =
        !kind_of.is_symmetric_encryption() && kind_of.usage == key_type::ENCRYPT_DECRYPT;
    let mut policies = BTreeSet::new();
    let mut notes = Vec::new();
    for kind in PolicyKind::for_usage(&kind_of.usage).iter().copied() {
        let policy = kind.policy_name(name);
        let Some(document) = input
            .policies
            .get(&key.account)
            .and_then(|p| p.get(&policy))
        else {
            continue;
        };
        if super::policies::covers_of(document, kind, public_key, &arns, partition(&key.region)) {
            policies.insert(kind.word());
        } else {
            notes.push(format!(
                "{policy} in {account} grants less than c3 writes for this key: left out of managed_policies, so c3 leaves it as it is"
            ));
        }
    }
    View {
        key,
        account,
        rotation,
        tags,
        bad_tags: bad_tags.into_keys().collect(),
        rec,
        policies,
        notes,
        kind: kind_of,
    }
}

/// Whether keys.toml can declare a tag (docs/config.md, `tags`).
fn writable_tag(key: &str, value: &str) -> bool {
    let ok = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    (1..=128).contains(&key.chars().count())
        && value.chars().count() <= 256
        && key.chars().all(ok)
        && value.chars().all(ok)
}

/// One `[[keys]]` entry: what every target of the name shares.
struct Entry<'a> {
    name: &'a str,
    accounts: BTreeSet<String>,
    regions: BTreeSet<String>,
    rotation: Option<u32>,
    description: String,
    enabled: bool,
    tags: BTreeMap<String, String>,
    via: BTreeSet<String>,
    principals: BTreeSet<String>,
    administrators: BTreeSet<String>,
    users: BTreeSet<String>,
    statements: Vec<Value>,
    policies: BTreeSet<&'static str>,
    comments: Vec<String>,
    kind: KeyType,
}

fn common<T: Ord + Clone>(sets: impl Iterator<Item = BTreeSet<T>>) -> BTreeSet<T> {
    sets.reduce(|a, b| a.intersection(&b).cloned().collect())
        .unwrap_or_default()
}

impl<'a> Entry<'a> {
    fn of(name: &'a str, views: &[View<'_>], accepts: &mut Vec<Accept>) -> Self {
        let first = &views[0];
        let rotations: BTreeSet<Option<u32>> = views.iter().map(|v| v.rotation).collect();
        let mut comments = Vec::new();
        let rotation = if rotations.len() == 1 {
            first.rotation
        } else {
            comments.push(
                "rotation differs between targets: c3 leaves it as it is (classification with rotation = false)".into(),
            );
            None
        };
        let statements: Vec<Value> = first
            .rec
            .statements
            .iter()
            .map(|(v, _)| v.clone())
            .filter(|v| {
                views
                    .iter()
                    .all(|w| w.rec.statements.iter().any(|(x, _)| x == v))
            })
            .collect();
        let mut entry = Self {
            name,
            accounts: views.iter().map(|v| v.account.clone()).collect(),
            regions: views.iter().map(|v| v.key.region.clone()).collect(),
            rotation,
            description: first.key.details.description.clone(),
            enabled: views
                .iter()
                .all(|v| v.key.details.state == KeyState::Enabled),
            tags: views
                .iter()
                .map(|v| v.tags.clone().into_iter().collect::<BTreeSet<_>>())
                .reduce(|a, b| a.intersection(&b).cloned().collect())
                .unwrap_or_default()
                .into_iter()
                .collect(),
            via: common(views.iter().map(|v| v.rec.via_services.clone())),
            principals: common(views.iter().map(|v| v.rec.service_principals.clone())),
            administrators: common(views.iter().map(|v| v.rec.administrators.clone())),
            users: common(views.iter().map(|v| v.rec.users.clone())),
            statements,
            policies: common(views.iter().map(|v| v.policies.clone())),
            comments,
            kind: first.kind.clone(),
        };
        for v in views {
            if v.key.details.description != entry.description {
                entry.comments.push(format!(
                    "REVIEW: the description in {} {} is {:?}: keys.toml has one description per key, so the plan updates it there",
                    v.account, v.key.region, v.key.details.description
                ));
            }
            entry.comments.extend(v.notes.iter().cloned());
            entry.differences(v, accepts);
            if v.kind != entry.kind {
                accepts.push(Accept {
                    account: v.account.clone(),
                    region: v.key.region.clone(),
                    key: name.to_string(),
                    resource: "key",
                    subject: v.key.key_id.clone(),
                    why: format!(
                        "this key is {}, the entry says {}: only a new key can change that",
                        v.kind.words(),
                        entry.kind.words()
                    ),
                });
            }
            if !v.rec.root {
                entry.comments.push(format!(
                    "REVIEW: the key policy in {} {} does not let the account's IAM policies grant the key: the plan adds EnableRootAccess, which c3 requires",
                    v.account, v.key.region
                ));
            }
        }
        entry
    }

    /// The `[[accept]]` entries for what a target has beyond the entry.
    fn differences(&self, v: &View<'_>, accepts: &mut Vec<Accept>) {
        let key = v.key;
        let at = |resource: &'static str, subject: String, why: String| Accept {
            account: v.account.clone(),
            region: key.region.clone(),
            key: self.name.to_string(),
            resource,
            subject,
            why,
        };
        for (k, value) in &v.tags {
            if self.tags.get(k) != Some(value) {
                accepts.push(at(
                    "tags",
                    k.clone(),
                    format!("tag {k}={value} only on some targets"),
                ));
            }
        }
        for k in &v.bad_tags {
            accepts.push(at(
                "tags",
                k.clone(),
                format!("tag {k} has characters keys.toml does not allow in a tag"),
            ));
        }
        if !self.enabled && key.details.state == KeyState::Enabled {
            accepts.push(at(
                "key_state",
                key.key_id.clone(),
                "enabled here, disabled elsewhere".into(),
            ));
        }
        for (value, subject) in &v.rec.statements {
            if !self.statements.contains(value) {
                accepts.push(at(
                    "key_policy",
                    subject.clone(),
                    "a statement only some targets have".into(),
                ));
            }
        }
        let extra_people = v.rec.via_services != self.via
            || v.rec.service_principals != self.principals
            || v.rec.administrators != self.administrators
            || v.rec.users != self.users;
        if extra_people {
            accepts.push(at(
                "key_policy",
                "*".into(),
                "services, administrators or users only some targets have".into(),
            ));
        }
        for (subject, why) in &v.rec.unexpressed {
            accepts.push(at(
                "key_policy",
                subject.clone(),
                format!("a statement keys.toml cannot express: {why}"),
            ));
        }
        for g in key.details.grants.iter().flatten() {
            if !risk::is_expected_service_grant(g, &key.account) {
                accepts.push(at(
                    "grant",
                    g.grant_id.clone(),
                    format!("grant {}", risk::describe_grant(g)),
                ));
            }
        }
        for other in key.aliases.iter().skip(1) {
            accepts.push(at(
                "alias",
                format!("alias/{other}"),
                format!("a second alias of key {}", key.key_id),
            ));
        }
    }

    fn write(&self, class: &str, out: &mut String) {
        for c in &self.comments {
            let _ = writeln!(out, "# {c}");
        }
        let _ = writeln!(
            out,
            "[[keys]]\nname = {}\nclassification = {}",
            quote(self.name),
            quote(class)
        );
        let _ = writeln!(
            out,
            "accounts = {}\nregions = {}",
            list(&self.accounts),
            list(&self.regions)
        );
        let _ = writeln!(out, "description = {}", quote(&self.description));
        if self.kind.spec != key_type::DEFAULT_SPEC {
            let _ = writeln!(out, "key_spec = {}", quote(&self.kind.spec));
        }
        if self.kind.usage != key_type::ENCRYPT_DECRYPT {
            let _ = writeln!(out, "key_usage = {}", quote(&self.kind.usage));
        }
        if let Some(primary) = &self.kind.primary_region {
            let _ = writeln!(
                out,
                "multi_region = true\nprimary_region = {}",
                quote(primary)
            );
        }
        if !self.enabled {
            out.push_str("enabled = false\n");
        }
        for (field, set) in [
            ("administrators", &self.administrators),
            ("users", &self.users),
        ] {
            if !set.is_empty() {
                let _ = writeln!(out, "{field} = {}", list(set));
            }
        }
        if !self.tags.is_empty() {
            let pairs: Vec<String> = self
                .tags
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), quote(v)))
                .collect();
            let _ = writeln!(out, "tags = {{ {} }}", pairs.join(", "));
        }
        match self.policies.len() {
            n if n == PolicyKind::for_usage(&self.kind.usage).len() => {}
            0 => out.push_str("managed_policies = false\n"),
            _ => {
                let kinds: BTreeSet<String> =
                    self.policies.iter().map(|k| (*k).to_string()).collect();
                let _ = writeln!(out, "managed_policies = {}", list(&kinds));
            }
        }
        out.push_str("adopt = true\n");
        for s in &self.statements {
            out.push_str("\n[[keys.statements]]\n");
            if let Value::Object(m) = s {
                for (field, v) in m {
                    let _ = writeln!(out, "{field:<9} = {}", inline(v));
                }
            }
        }
        out.push('\n');
    }
}

/// `imported-rot365`, `imported-norotation`, then the services.
pub fn class_name(
    rotation: Option<u32>,
    via: &BTreeSet<String>,
    principals: &BTreeSet<String>,
) -> String {
    let mut name = rotation.map_or_else(
        || "imported-norotation".to_string(),
        |d| format!("imported-rot{d}"),
    );
    for s in via.iter().chain(principals) {
        let part: String = s
            .split('.')
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if !part.is_empty() && name.len() + part.len() < 64 {
            name.push('-');
            name.push_str(&part);
        }
    }
    name
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
