//! What AWS holds (the [`World`]), the world in which a desired state is
//! converged, and what c3's reader sees of a world ([`observe`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::generators::{pick, Rng};
use crate::model::*;
use crate::plan::desired::{key_policy, managed_policy_of};
use crate::policy::pretty;

pub(super) fn key_arn(t: &Target, id: &str) -> String {
    crate::model::key_arn(t, id)
}

/// A string or a list of strings as a list.
pub(super) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The statements of a document as a list (a single statement object is
/// turned into a one-element list first).
pub(super) fn statements_mut(doc: &mut Value) -> Option<&mut Vec<Value>> {
    let m = doc.as_object_mut()?;
    if let Some(single @ Value::Object(_)) = m.get_mut("Statement") {
        let one = single.take();
        *single = Value::Array(vec![one]);
    }
    match m.get_mut("Statement") {
        Some(Value::Array(items)) => Some(items),
        _ => None,
    }
}

/// What AWS holds: every key with its details (grants included), every
/// customer-managed policy of every path with its tags.
#[derive(Debug, Clone)]
pub(super) struct World {
    pub(super) live: LiveState,
    /// Whether GetKeyRotationStatus fails on Disabled keys (some endpoints).
    pub(super) rotation_hidden_when_disabled: bool,
    pub(super) next: u64,
}

impl World {
    /// A fresh key id, in no particular order relative to earlier ones.
    pub(super) fn new_id(&mut self) -> String {
        self.next += 1;
        let h = Rng(self.next).next();
        format!(
            "{:08x}-0000-4000-8000-{:012x}",
            h >> 32,
            h & 0xFFFF_FFFF_FFFF
        )
    }

    /// A fresh serial number (grant ids, unique ids).
    pub(super) fn serial(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub(super) fn epoch(&self) -> i64 {
        1_600_000_000 + i64::try_from(self.next).unwrap_or(0) * 10
    }

    pub(super) fn targets(&self) -> Vec<Target> {
        self.live.regions.keys().cloned().collect()
    }

    pub(super) fn snap_mut(&mut self, t: usize) -> Option<(Target, &mut RegionSnapshot)> {
        let targets = self.targets();
        let target = targets.get(pick(targets.len(), t)?)?.clone();
        match self.live.regions.get_mut(&target) {
            Some(Ok(s)) => Some((target, s)),
            _ => None,
        }
    }

    pub(super) fn key_mut(&mut self, t: usize, k: usize) -> Option<(Target, &mut LiveKey)> {
        let (target, snap) = self.snap_mut(t)?;
        let i = pick(snap.keys.len(), k)?;
        Some((target, &mut snap.keys[i]))
    }

    pub(super) fn account_mut(&mut self, a: usize) -> Option<(String, &mut AccountSnapshot)> {
        let ids: Vec<String> = self.live.accounts.keys().cloned().collect();
        let id = ids.get(pick(ids.len(), a)?)?.clone();
        match self.live.accounts.get_mut(&id) {
            Some(Ok(s)) => Some((id, s)),
            _ => None,
        }
    }

    pub(super) fn policy_mut(&mut self, a: usize, p: usize) -> Option<&mut LiveManagedPolicy> {
        let (_, acc) = self.account_mut(a)?;
        let i = pick(acc.policies.len(), p)?;
        Some(&mut acc.policies[i])
    }

    /// Adds an ARN to every statement of the managed policies of a key name
    /// in an account (as if an earlier run had named the key).
    pub(super) fn name_in_policies(&mut self, account: &str, name: &str, arn: &str) {
        if let Some(Ok(acc)) = self.live.accounts.get_mut(account) {
            for p in acc
                .policies
                .iter_mut()
                .filter(|p| PolicyKind::parse_name(&p.name).is_some_and(|(_, n)| n == name))
            {
                if let Ok(mut doc) = serde_json::from_str::<Value>(&p.document) {
                    for s in statements_mut(&mut doc).into_iter().flatten() {
                        let mut r = strings(&s["Resource"]);
                        r.push(arn.to_string());
                        s["Resource"] = json!(r);
                    }
                    p.document = pretty(&doc);
                }
            }
        }
    }
}

/// Whether an account holds a policy of this name at any path, ignoring
/// case: IAM policy names are unique in an account so.
pub(super) fn has_policy_named(acc: &AccountSnapshot, name: &str) -> bool {
    acc.policies
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(name))
}

pub(super) fn c3_world_key(
    w: &mut World,
    spec: &KeySpec,
    t: &Target,
    generation: u32,
    state: KeyState,
) -> LiveKey {
    let mut s = spec.clone();
    s.generation = generation;
    let id = w.new_id();
    let kind = &spec.key_type;
    let rotates = kind.supports_rotation();
    LiveKey {
        last_usage: None,
        arn: key_arn(t, &id),
        key_id: id,
        tags: s.tags(),
        details: Some(KeyDetails {
            primary_region: kind.primary_region.clone(),
            state,
            description: spec.description.clone(),
            manager: "CUSTOMER".into(),
            spec: kind.spec.clone(),
            usage: kind.usage.clone(),
            origin: "AWS_KMS".into(),
            multi_region: kind.multi_region(),
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: Some(w.epoch()),
            rotation: Some(Rotation {
                enabled: rotates,
                period_days: rotates.then_some(spec.rotation_days),
            }),
            policy: Some(pretty(&key_policy(&s, t))),
            grants: Some(Vec::new()),
        }),
    }
}

/// c3's tags on a managed policy of key name `key`.
pub(super) fn c3_policy_tags(key: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tag::MANAGED.to_string(), "true".to_string()),
        (tag::NAME.to_string(), key.to_string()),
    ])
}

/// Whether a key's encryption policies are those of a public key
/// (`desired::kind_statements_of`).
pub(super) fn public_key(spec: &KeySpec) -> bool {
    !spec.key_type.is_symmetric_encryption() && spec.key_type.usage == key_type::ENCRYPT_DECRYPT
}

pub(super) fn managed_world_policy(
    account: &str,
    path: &str,
    (kind, public_key): (PolicyKind, bool),
    key: &str,
    arns: &BTreeSet<String>,
) -> LiveManagedPolicy {
    let name = kind.policy_name(key);
    LiveManagedPolicy {
        arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
        name,
        path: path.to_string(),
        document: pretty(&managed_policy_of(kind, public_key, arns)),
        versions: vec![PolicyVersion {
            id: "v1".into(),
            is_default: true,
            created_epoch: Some(1),
        }],
        tags: Some(c3_policy_tags(key)),
        attachments: None,
    }
}

/// The world in which `d` is fully converged; `older[i]` also holds the
/// older generations of key `i` (Enabled, named by the managed policies).
pub(super) fn converged(
    d: &DesiredState,
    older: &[bool],
    rotation_hidden_when_disabled: bool,
) -> World {
    let mut w = World {
        live: LiveState::default(),
        rotation_hidden_when_disabled,
        next: 0,
    };
    let mut mrk_ids: BTreeMap<(String, String), String> = BTreeMap::new();
    for t in d.targets() {
        let mut snap = RegionSnapshot::default();
        for (i, spec) in d.keys.iter().enumerate() {
            if !spec.targets.contains(&t) {
                continue;
            }
            if older.get(i).copied().unwrap_or(false) {
                for g in 1..spec.generation {
                    snap.keys
                        .push(c3_world_key(&mut w, spec, &t, g, KeyState::Enabled));
                }
            }
            let state = if spec.enabled {
                KeyState::Enabled
            } else {
                KeyState::Disabled
            };
            let mut key = c3_world_key(&mut w, spec, &t, spec.generation, state);
            // The replicas of a multi-Region key have its primary's id.
            if spec.key_type.multi_region() {
                let slot = (t.account.clone(), spec.name.clone());
                let id = mrk_ids
                    .entry(slot)
                    .or_insert_with(|| key.key_id.clone())
                    .clone();
                key.arn = key_arn(&t, &id);
                key.key_id = id;
            }
            snap.aliases.push(LiveAlias {
                name: spec.alias(),
                target_key_id: Some(key.key_id.clone()),
            });
            snap.keys.push(key);
        }
        w.live.regions.insert(t, Ok(snap));
    }
    for a in &d.accounts {
        let mut acc = AccountSnapshot::default();
        for spec in &d.keys {
            let arns: BTreeSet<String> = spec
                .targets
                .iter()
                .filter(|t| t.account == a.id)
                .filter_map(|t| match w.live.regions.get(t) {
                    Some(Ok(s)) => Some(s),
                    _ => None,
                })
                .flat_map(|s| s.keys.iter())
                .filter(|k| k.c3_name() == Some(spec.name.as_str()))
                .map(|k| k.arn.clone())
                .collect();
            if arns.is_empty() {
                continue;
            }
            for kind in PolicyKind::ALL
                .into_iter()
                .filter(|k| spec.keeps_policy(*k))
            {
                acc.policies.push(managed_world_policy(
                    &a.id,
                    &d.settings.policy_path,
                    (kind, public_key(spec)),
                    &spec.name,
                    &arns,
                ));
            }
        }
        w.live.accounts.insert(a.id.clone(), Ok(acc));
    }
    w
}

/// Whether a policy name is one of c3's names ignoring case
/// (`live::iam::c3_like`: IAM compares policy names without case).
fn c3_like(name: &str) -> bool {
    PolicyKind::ALL.iter().any(|k| {
        let prefix = format!("allow-{}-", k.word());
        name.len() > prefix.len()
            && name
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(&prefix))
    })
}

/// What c3 reads of the world.
///
/// As `live::kms::read_region`: every key with its tags; the keys tagged
/// `c3:managed=true` whose `c3:name` is declared for the target, or that a
/// declared alias points at, in full (rotation cannot be read while a key is
/// PendingDeletion, nor on some endpoints while it is Disabled; grants are
/// listed with `read_grants`, sorted by grant id).
///
/// As `live::iam::read_account`: policies at the policy path named exactly
/// `allow-{encrypt,decrypt,crypto}-<n>`, with their tags; every other
/// policy whose name is such a name ignoring case (at another path, or
/// spelled otherwise) by name only, in `others`.
pub(super) fn observe(d: &DesiredState, w: &World) -> LiveState {
    let mut live = LiveState::default();
    for (t, snap) in &w.live.regions {
        let Ok(snap) = snap else {
            continue;
        };
        let declared: BTreeSet<&str> = d
            .keys
            .iter()
            .filter(|k| k.targets.contains(t))
            .map(|k| k.name.as_str())
            .collect();
        let alias_targets: BTreeSet<&str> = snap
            .aliases
            .iter()
            .filter(|a| {
                a.name
                    .strip_prefix("alias/")
                    .is_some_and(|n| declared.contains(n))
            })
            .filter_map(|a| a.target_key_id.as_deref())
            .collect();
        // The keys behind the aliases of declared `adopt = true` names are
        // read in full whoever they belong to.
        let adoptable: BTreeSet<&str> = snap
            .aliases
            .iter()
            .filter(|a| {
                a.name.strip_prefix("alias/").is_some_and(|n| {
                    d.keys
                        .iter()
                        .any(|k| k.adopt && k.name == n && k.targets.contains(t))
                })
            })
            .filter_map(|a| a.target_key_id.as_deref())
            .collect();
        let mut keys: Vec<LiveKey> = snap
            .keys
            .iter()
            .map(|k| {
                let full = adoptable.contains(k.key_id.as_str())
                    || k.is_managed()
                        && (k.tag(tag::NAME).is_some_and(|n| declared.contains(n))
                            || alias_targets.contains(k.key_id.as_str()));
                let details = k.details.clone().filter(|_| full).map(|mut det| {
                    let hidden = match det.state {
                        KeyState::PendingDeletion => true,
                        KeyState::Disabled => w.rotation_hidden_when_disabled,
                        _ => false,
                    };
                    if hidden {
                        det.rotation = None;
                    }
                    det.grants = if d.settings.read_grants {
                        det.grants.map(|mut g| {
                            g.sort_by(|a, b| a.grant_id.cmp(&b.grant_id));
                            g
                        })
                    } else {
                        None
                    };
                    det
                });
                LiveKey {
                    last_usage: None,
                    details,
                    ..k.clone()
                }
            })
            .collect();
        keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        let mut aliases = snap.aliases.clone();
        aliases.sort();
        live.regions
            .insert(t.clone(), Ok(RegionSnapshot { keys, aliases }));
    }
    for (id, acc) in &w.live.accounts {
        let Ok(acc) = acc else {
            continue;
        };
        let mut policies: Vec<LiveManagedPolicy> = Vec::new();
        let mut others: Vec<NamedPolicy> = Vec::new();
        for p in &acc.policies {
            if p.path == d.settings.policy_path && PolicyKind::parse_name(&p.name).is_some() {
                policies.push(LiveManagedPolicy {
                    tags: Some(p.tags.clone().unwrap_or_default()),
                    ..p.clone()
                });
            } else if c3_like(&p.name) {
                others.push(NamedPolicy {
                    name: p.name.clone(),
                    arn: p.arn.clone(),
                    path: p.path.clone(),
                });
            }
        }
        policies.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        others.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        live.accounts
            .insert(id.clone(), Ok(AccountSnapshot { policies, others }));
    }
    live
}
