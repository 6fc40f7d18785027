//! `key_spec`, `key_usage`, `multi_region` and `primary_region`, and what
//! depends on the kind of key: rotation only where AWS rotates (symmetric
//! encryption keys), `via_services` and `service_principals` only where AWS
//! services use the key (the same keys), managed-policy kinds of the key's
//! usage, SM2 only in the China Regions, and policy names that stay unique
//! across kinds.

use std::collections::{BTreeMap, BTreeSet};

use super::super::expand::default_primary_region;
use super::super::file::{ClassificationFile, KeyFile, KeysFile, ManagedPoliciesFile};
use super::super::hints;
use super::super::path::FieldPath;
use super::super::suggest::did_you_mean;
use super::accounts::AccountView;
use super::names::{is_region, show};
use super::Checker;
use crate::model::key_type::{self, DEFAULT_SPEC, ENCRYPT_DECRYPT};
use crate::model::PolicyKind;

/// The kind of key a table declares or inherits, and where each half is
/// written on this table (`None`: inherited or the default).
struct Kind<'f> {
    spec: &'f str,
    usage: &'f str,
    spec_at: Option<FieldPath>,
    usage_at: Option<FieldPath>,
}

impl Kind<'_> {
    /// Whether both halves are known and form a pair AWS accepts.
    fn valid(&self) -> bool {
        key_type::usages_of(self.spec).is_some_and(|u| u.contains(&self.usage))
    }

    /// A valid kind other than a symmetric encryption key.
    fn special(&self) -> bool {
        self.valid() && !(self.spec == DEFAULT_SPEC && self.usage == ENCRYPT_DECRYPT)
    }

    /// `RSA_2048 SIGN_VERIFY`.
    fn words(&self) -> String {
        format!("{} {}", self.spec, self.usage)
    }

    /// Where to report a problem of the kind: the usage when this table
    /// writes it, else the spec.
    fn at(&self) -> Option<&FieldPath> {
        self.usage_at.as_ref().or(self.spec_at.as_ref())
    }
}

/// The fields of a table that only symmetric encryption keys may have.
struct Fields<'f> {
    rotation_days: Option<i64>,
    rotation: Option<bool>,
    via_services: Option<&'f Vec<String>>,
    service_principals: Option<&'f Vec<String>>,
    managed_policies: Option<&'f ManagedPoliciesFile>,
}

impl<'f> Checker<'f> {
    /// A classification's `key_spec`/`key_usage` and its fields that depend on them.
    pub(super) fn class_key_type(&mut self, c: &ClassificationFile, p: &FieldPath) {
        let kind = self.kind(c.key_spec.as_deref(), c.key_usage.as_deref(), None, p);
        let fields = Fields {
            rotation_days: c.rotation_days,
            rotation: c.rotation,
            via_services: c.via_services.as_ref(),
            service_principals: c.service_principals.as_ref(),
            managed_policies: c.managed_policies.as_ref(),
        };
        self.fitting(&kind, &fields, p);
    }

    /// A key's kind (its own or its classification's) and its fields that
    /// depend on it.
    pub(super) fn key_key_type(&mut self, k: &'f KeyFile, file: &'f KeysFile, p: &FieldPath) {
        let class = k
            .classification
            .as_ref()
            .and_then(|c| file.classifications.get(c));
        let kind = self.kind(k.key_spec.as_deref(), k.key_usage.as_deref(), class, p);
        let fields = Fields {
            rotation_days: k.rotation_days,
            rotation: k.rotation,
            via_services: k.via_services.as_ref(),
            service_principals: k.service_principals.as_ref(),
            managed_policies: k.managed_policies.as_ref(),
        };
        self.fitting(&kind, &fields, p);
        // What the classification gives a key of another kind than its own.
        if let (Some(class), Some(at)) = (class, kind.at().filter(|_| kind.special())) {
            let name = k.classification.as_deref().unwrap_or_default();
            for (field, set) in [
                ("via_services", class.via_services.as_ref()),
                ("service_principals", class.service_principals.as_ref()),
            ] {
                if set.is_some_and(|s| !s.is_empty()) {
                    self.err(
                        at,
                        format!(
                            "a {} key cannot have the {field} of its classification `{name}`: \
                             AWS services use only symmetric encryption keys; allowed: a \
                             classification without {field} for this key",
                            kind.words()
                        ),
                    );
                }
            }
            if k.managed_policies.is_none() {
                if let Some(ManagedPoliciesFile::Some(list)) = &class.managed_policies {
                    self.kinds_fit(list, &kind, at, Some(name));
                }
            }
        }
    }

    /// The kind a table declares (or inherits from `class`), each value
    /// checked.
    fn kind<'a>(
        &mut self,
        spec: Option<&'a str>,
        usage: Option<&'a str>,
        class: Option<&'a ClassificationFile>,
        p: &FieldPath,
    ) -> Kind<'a> {
        if let Some(s) = spec {
            self.spec_value(s, &p.key("key_spec"));
        }
        if let Some(u) = usage {
            self.usage_value(u, &p.key("key_usage"));
        }
        let kind = Kind {
            spec: spec
                .or_else(|| class.and_then(|c| c.key_spec.as_deref()))
                .unwrap_or(DEFAULT_SPEC),
            usage: usage
                .or_else(|| class.and_then(|c| c.key_usage.as_deref()))
                .unwrap_or(ENCRYPT_DECRYPT),
            spec_at: spec.map(|_| p.key("key_spec")),
            usage_at: usage.map(|_| p.key("key_usage")),
        };
        let (Some(usages), true) = (
            key_type::usages_of(kind.spec),
            key_type::USAGES.contains(&kind.usage),
        ) else {
            return kind;
        };
        if let (false, Some(at)) = (usages.contains(&kind.usage), kind.at()) {
            let at = at.clone();
            self.err(
                &at,
                format!(
                    "key_spec = {} with key_usage = {} is not a pair AWS accepts ({} allows {}); \
                     allowed pairs: {}",
                    show(kind.spec),
                    show(kind.usage),
                    kind.spec,
                    usages.join(" or "),
                    key_type::allowed_pairs().join(", ")
                ),
            );
        }
        kind
    }

    fn spec_value(&mut self, spec: &str, path: &FieldPath) {
        if key_type::usages_of(spec).is_some() {
            return;
        }
        let why = if spec.starts_with("ML_KEM_") {
            " c3 manages: ML-KEM keys are ENCAPSULATE_DECAPSULATE keys, which c3 does not create"
                .to_string()
        } else {
            did_you_mean(spec, key_type::SPECS.iter().map(|(s, _)| *s))
        };
        let specs: Vec<&str> = key_type::SPECS.iter().map(|(s, _)| *s).collect();
        self.err(
            path,
            format!(
                "key_spec = {} is not a key spec{why}; allowed: one of {}",
                show(spec),
                specs.join(", ")
            ),
        );
    }

    fn usage_value(&mut self, usage: &str, path: &FieldPath) {
        if key_type::USAGES.contains(&usage) {
            return;
        }
        let why = if usage == "KEY_AGREEMENT" || usage == "ENCAPSULATE_DECAPSULATE" {
            " that c3 manages (it creates no key-agreement or key-encapsulation keys)".to_string()
        } else {
            did_you_mean(usage, key_type::USAGES.iter().copied())
        };
        self.err(
            path,
            format!(
                "key_usage = {} is not a key usage{why}; allowed: {}",
                show(usage),
                hints::KEY_USAGE
            ),
        );
    }

    /// The fields of a table that must fit its kind.
    fn fitting(&mut self, kind: &Kind<'_>, f: &Fields<'_>, p: &FieldPath) {
        if !kind.valid() {
            return;
        }
        if let (Some(ManagedPoliciesFile::Some(list)), true) = (f.managed_policies, kind.valid()) {
            let at = p.key("managed_policies");
            for (i, word) in list.iter().enumerate() {
                if let Some(k) = PolicyKind::from_word(word) {
                    if !PolicyKind::for_usage(kind.usage).contains(&k) {
                        self.err(&at.index(i), kind_misfit(word, kind, None));
                    }
                }
            }
        }
        if !kind.special() {
            return;
        }
        let words = kind.words();
        if let Some(days) = f.rotation_days {
            self.err(
                &p.key("rotation_days"),
                format!(
                    "rotation_days = {days} on a {words} key: AWS rotates only symmetric \
                     encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) automatically; \
                     allowed: no rotation_days on this key (a new generation replaces it)"
                ),
            );
        }
        if f.rotation == Some(true) {
            self.err(
                &p.key("rotation"),
                format!(
                    "rotation = true on a {words} key: AWS rotates only symmetric encryption \
                     keys automatically; allowed: no rotation field, or rotation = false"
                ),
            );
        }
        for (field, set) in [
            ("via_services", f.via_services),
            ("service_principals", f.service_principals),
        ] {
            if set.is_some_and(|s| !s.is_empty()) {
                self.err(
                    &p.key(field),
                    format!(
                        "{field} on a {words} key: AWS services use only symmetric encryption \
                         keys through kms:ViaService and service principals; allowed: no \
                         {field} on this key (grant callers with users or statements)"
                    ),
                );
            }
        }
    }

    /// The kinds of an inherited `managed_policies` that do not fit the key.
    fn kinds_fit(&mut self, list: &[String], kind: &Kind<'_>, at: &FieldPath, class: Option<&str>) {
        let misfits: Vec<&String> = list
            .iter()
            .filter(|w| {
                PolicyKind::from_word(w)
                    .is_some_and(|k| !PolicyKind::for_usage(kind.usage).contains(&k))
            })
            .collect();
        if let Some(word) = misfits.first() {
            self.err(at, kind_misfit(word, kind, class));
        }
    }

    /// `multi_region` and `primary_region`: the primary is one of the key's
    /// regions in each of its accounts.
    pub(super) fn multi_region(
        &mut self,
        k: &'f KeyFile,
        accounts: &[AccountView<'f>],
        p: &FieldPath,
    ) {
        let multi = k.multi_region == Some(true);
        if let Some(primary) = &k.primary_region {
            let at = p.key("primary_region");
            if !multi {
                self.err(
                    &at,
                    format!(
                        "primary_region = {} without multi_region = true; allowed: {}",
                        show(primary),
                        hints::MULTI_REGION_FIELDS
                    ),
                );
                return;
            }
            if !is_region(primary) {
                self.err(
                    &at,
                    format!(
                        "primary_region = {} is not a region name; allowed: {}",
                        show(primary),
                        hints::REGION
                    ),
                );
                return;
            }
        }
        if !multi {
            return;
        }
        let per_account = key_regions_by_account(k, accounts);
        let Some(primary) = self.primary_of(k, &per_account, p) else {
            return;
        };
        let without: Vec<String> = per_account
            .iter()
            .filter(|(_, rs)| !rs.contains(&primary))
            .map(|(name, rs)| format!("{name} ({})", rs.join(", ")))
            .collect();
        if without.is_empty() {
            return;
        }
        let (at, said) = match &k.primary_region {
            Some(_) => (
                p.key("primary_region"),
                format!("primary_region = {}", show(primary)),
            ),
            None => (
                p.key("multi_region"),
                format!(
                    "multi_region = true: the primary region {} (the key's first region)",
                    show(primary)
                ),
            ),
        };
        self.err(
            &at,
            format!(
                "{said} is not a region of this key in account(s) {}: a replica lives in its \
                 primary's account; allowed: {}",
                without.join("; "),
                hints::MULTI_REGION_FIELDS
            ),
        );
    }

    /// The primary region of a multi-Region key: its `primary_region`, else
    /// the one expansion picks ([`default_primary_region`]); an error when
    /// its accounts share no region.
    fn primary_of(
        &mut self,
        k: &'f KeyFile,
        per_account: &[(&'f str, Vec<&'f str>)],
        p: &FieldPath,
    ) -> Option<&'f str> {
        if let Some(primary) = k.primary_region.as_deref() {
            return Some(primary);
        }
        let regions = per_account.iter().map(|(_, rs)| rs.iter().copied());
        let found = default_primary_region(k.regions.as_deref(), regions);
        if found.is_none() && !per_account.is_empty() {
            let shown: Vec<String> = per_account
                .iter()
                .map(|(name, rs)| format!("{name} ({})", rs.join(", ")))
                .collect();
            self.err(
                &p.key("multi_region"),
                format!(
                    "multi_region = true: the key's accounts share no region for its primary \
                     ({}): a replica lives in its primary's account; allowed: a region every \
                     account of the key has, given as primary_region or first in `regions`, \
                     or fewer `accounts`",
                    shown.join("; ")
                ),
            );
        }
        found
    }

    /// SM2 keys exist only in the China Regions.
    pub(super) fn sm2_regions(&mut self, k: &'f KeyFile, file: &'f KeysFile, p: &FieldPath) {
        let spec = k.key_spec.as_deref().or_else(|| {
            k.classification
                .as_ref()
                .and_then(|c| file.classifications.get(c))
                .and_then(|c| c.key_spec.as_deref())
        });
        if spec != Some("SM2") {
            return;
        }
        let regions: BTreeSet<&str> = match &k.regions {
            Some(rs) => rs.iter().map(String::as_str).collect(),
            None => file
                .accounts
                .iter()
                .filter(|(n, _)| k.accounts.as_ref().is_none_or(|a| a.contains(n)))
                .flat_map(|(_, a)| a.regions.iter().flatten().map(String::as_str))
                .collect(),
        };
        let outside: Vec<&str> = regions
            .into_iter()
            .filter(|r| !r.starts_with("cn-"))
            .collect();
        if outside.is_empty() {
            return;
        }
        let at = if k.key_spec.is_some() {
            p.key("key_spec")
        } else {
            p.key("classification")
        };
        self.err(
            &at,
            format!(
                "key_spec = \"SM2\" in {}: AWS offers SM2 keys only in the China Regions; \
                 allowed: SM2 keys with regions cn-north-1 or cn-northwest-1 only",
                outside.join(", ")
            ),
        );
    }

    /// The managed-policy names of all keys differ (ignoring case, as IAM):
    /// `allow-verify-mac-<x>` of an HMAC key `x` is also `allow-verify-<mac-x>`
    /// of a signing key `mac-x`.
    pub(super) fn policy_names_unique(&mut self, file: &'f KeysFile, path: &FieldPath) {
        let mut seen: BTreeMap<String, (usize, &str)> = BTreeMap::new();
        for (i, k) in file.keys.iter().enumerate() {
            let Some(name) = k.name.as_deref() else {
                continue;
            };
            let class = k
                .classification
                .as_ref()
                .and_then(|c| file.classifications.get(c));
            let usage = k
                .key_usage
                .as_deref()
                .or_else(|| class.and_then(|c| c.key_usage.as_deref()))
                .unwrap_or(ENCRYPT_DECRYPT);
            let mut own = BTreeSet::new();
            for kind in PolicyKind::for_usage(usage) {
                let policy = kind.policy_name(name);
                let lower = policy.to_lowercase();
                if !own.insert(lower.clone()) {
                    continue;
                }
                match seen.get(&lower) {
                    // Names that differ only in case are the name check's.
                    Some((j, other)) if !other.eq_ignore_ascii_case(name) => {
                        let msg = format!(
                            "key `{name}` would have the managed policy {policy}, which is also \
                             the policy name of key `{other}` (keys[{j}]); allowed: key names whose \
                             allow-<kind>-<name> policies differ (rename one of the two)"
                        );
                        self.err(&path.index(i).key("name"), msg);
                    }
                    _ => {
                        seen.insert(lower, (i, name));
                    }
                }
            }
        }
    }
}

/// The regions of a key in each of its accounts (those it has some in),
/// when they could be read.
fn key_regions_by_account<'f>(
    k: &KeyFile,
    accounts: &[AccountView<'f>],
) -> Vec<(&'f str, Vec<&'f str>)> {
    let selected: Vec<&AccountView<'f>> = match &k.accounts {
        None => accounts.iter().collect(),
        Some(names) => accounts
            .iter()
            .filter(|a| names.iter().any(|n| n == a.name))
            .collect(),
    };
    let wanted = |r: &str| {
        k.regions
            .as_ref()
            .is_none_or(|rs| rs.iter().any(|x| x == r))
    };
    selected
        .iter()
        .filter_map(|a| {
            let rs: Vec<&str> = a
                .regions
                .as_ref()?
                .iter()
                .copied()
                .filter(|r| wanted(r))
                .collect();
            (!rs.is_empty()).then_some((a.name, rs))
        })
        .collect()
}

/// A managed-policy kind that does not fit the key's usage.
fn kind_misfit(word: &str, kind: &Kind<'_>, class: Option<&str>) -> String {
    let from = class.map_or(String::new(), |c| format!(" (from classification `{c}`)"));
    let fits: Vec<&str> = PolicyKind::for_usage(kind.usage)
        .iter()
        .map(|k| k.word())
        .collect();
    format!(
        "managed policy kind {}{from} does not fit a {} key; allowed: {} (the kinds of {})",
        show(word),
        kind.words(),
        fits.iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(", "),
        kind.usage
    )
}

#[cfg(test)]
mod tests {
    use crate::config::file::{KEY_SPECS, KEY_USAGES};
    use crate::model::key_type::{SPECS, USAGES};

    #[test]
    fn the_schema_lists_the_model_s_kinds() {
        let specs: Vec<&str> = SPECS.iter().map(|(s, _)| *s).collect();
        assert_eq!(specs, KEY_SPECS);
        assert_eq!(USAGES, KEY_USAGES);
    }
}
