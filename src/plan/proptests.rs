//! Property tests of the planner (proptest).
//!
//! Random desired states (accounts, regions, keys with random settings), and
//! random worlds derived from them by drift: what AWS holds after people,
//! scripts and half-finished runs touched it. The world is kept apart from
//! what c3 reads of it: [`observe`] does what `live` does (only c3 keys of a
//! name declared for the target, or behind a declared alias, are read in
//! full; rotation cannot be read while a key is PendingDeletion, nor on some
//! endpoints while it is Disabled; policy tags are read only for names the
//! file does not declare). [`simulate`] is a small pure model of apply and of
//! the AWS rules its writes meet.
//!
//! Properties:
//! - every executable change only adds (`no_executable_change_removes_anything`);
//! - one apply converges (`one_apply_converges`);
//! - policy normalisation is idempotent and insensitive to formatting
//!   (`normalisation_*`);
//! - the plan does not depend on listing order (`plan_is_deterministic`);
//! - a converged world plans to nothing (`converged_world_plans_nothing`).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

use super::desired::{
    is_pending_arn, key_policy, managed_policy, pending_arn, PolicyKind, KEY_POLICY_MAX_BYTES,
    MANAGED_POLICY_MAX_CHARS,
};
use super::policy::{
    check_key_policy, compare_statement, glob_match, pretty, size_without_whitespace, Document,
    Statement,
};
use super::{plan, ActionKind, Change, KeyRef, Operation, Plan, Resource};
use crate::model::*;

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const REGIONS: [&str; 2] = ["eu-central-1", "eu-west-1"];
const NAMES: [&str; 4] = ["payments", "audit-log", "Data_2", "x"];
const CLASSES: [&str; 3] = ["confidential", "internal", "logging"];
const VIA: [&str; 4] = ["secretsmanager", "s3", "lex-v2", "dynamodb"];
const PRINCIPALS: [&str; 3] = ["logs", "sns", "cloudtrail"];
const TAG_KEYS: [&str; 3] = ["team", "cost-center", "env"];
const TAG_VALUES: [&str; 4] = ["core", "42", "prod", "a b"];
const ORPHANS: [&str; 2] = ["old", "retired"];
const EXTRA_ACTIONS: [&str; 3] = ["kms:Sign", "kms:ScheduleKeyDeletion", "kms:Verify"];

// ------------------------------------------------------------------ helpers

/// splitmix64: a tiny deterministic generator for shuffles driven by a seed
/// that proptest chose (so failures replay and shrink).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

/// `i` reduced to an index of a collection of `len` items.
fn pick(len: usize, i: usize) -> Option<usize> {
    (len > 0).then(|| i % len)
}

fn key_arn(t: &Target, id: &str) -> String {
    format!("arn:aws:kms:{}:{}:key/{id}", t.region, t.account)
}

/// A string or a list of strings as a list.
fn strings(v: &Value) -> Vec<String> {
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
fn statements_mut(doc: &mut Value) -> Option<&mut Vec<Value>> {
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

// ------------------------------------------------------------ desired state

#[derive(Debug, Clone)]
struct KeyGen {
    class: usize,
    rotation: u32,
    generation: u32,
    enabled: bool,
    via: u8,
    principals: u8,
    tags: Vec<(usize, usize)>,
    accounts: u8,
    regions: u8,
    description: Option<String>,
    /// Whether the converged world also holds the older generations.
    older: bool,
}

fn key_gen() -> impl Strategy<Value = KeyGen> {
    (
        (
            0..CLASSES.len(),
            90u32..=2560,
            1u32..=3,
            prop::bool::weighted(0.85),
        ),
        (
            0u8..16,
            0u8..8,
            prop::collection::vec((0..TAG_KEYS.len(), 0..TAG_VALUES.len()), 0..3),
        ),
        (
            0u8..8,
            0u8..4,
            prop::option::weighted(0.2, "[a-z ]{1,12}"),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (class, rotation, generation, enabled),
                (via, principals, tags),
                (accounts, regions, description, older),
            )| KeyGen {
                class,
                rotation,
                generation,
                enabled,
                via,
                principals,
                tags,
                accounts,
                regions,
                description,
                older,
            },
        )
}

#[derive(Debug, Clone)]
struct DesiredGen {
    /// Per account, its regions as a bit mask of [`REGIONS`] (never 0).
    accounts: Vec<u8>,
    keys: Vec<KeyGen>,
    /// `/c3/` instead of `/` as the policy path.
    c3_path: bool,
}

fn desired_gen() -> impl Strategy<Value = DesiredGen> {
    (
        prop::collection::vec(1u8..4, 1..=3),
        prop::collection::vec(key_gen(), 1..=4),
        any::<bool>(),
    )
        .prop_map(|(accounts, keys, c3_path)| DesiredGen {
            accounts,
            keys,
            c3_path,
        })
}

fn mask<'a>(items: &[&'a str], bits: u8) -> Vec<&'a str> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, s)| *s)
        .collect()
}

fn build_desired(g: &DesiredGen) -> DesiredState {
    let accounts: Vec<Account> = g
        .accounts
        .iter()
        .enumerate()
        .map(|(i, bits)| {
            let regions: BTreeSet<String> = mask(&REGIONS, *bits)
                .into_iter()
                .map(str::to_string)
                .collect();
            Account {
                name: format!("acct{i}"),
                id: ACCOUNTS[i].to_string(),
                role_arn: None,
                external_id: None,
                regions: regions.into_iter().collect(),
            }
        })
        .collect();
    let all_accounts = (1u8 << accounts.len()) - 1;
    let keys = g
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let name = NAMES[i].to_string();
            let classification = CLASSES[k.class].to_string();
            let selected = match k.accounts & all_accounts {
                0 => all_accounts,
                bits => bits,
            };
            let regions = match k.regions & 3 {
                0 => 3,
                bits => bits,
            };
            let chosen: Vec<&Account> = accounts
                .iter()
                .enumerate()
                .filter(|(i, _)| selected & (1 << i) != 0)
                .map(|(_, a)| a)
                .collect();
            let wanted = mask(&REGIONS, regions);
            let mut targets: BTreeSet<Target> = chosen
                .iter()
                .flat_map(|a| {
                    a.regions
                        .iter()
                        .filter(|r| wanted.contains(&r.as_str()))
                        .map(|r| Target::new(&a.id, r))
                })
                .collect();
            if targets.is_empty() {
                targets = chosen
                    .iter()
                    .flat_map(|a| a.regions.iter().map(|r| Target::new(&a.id, r)))
                    .collect();
            }
            KeySpec {
                description: k
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("Managed by c3: {name} ({classification})")),
                name,
                classification,
                rotation_days: k.rotation,
                generation: k.generation,
                enabled: k.enabled,
                via_services: mask(&VIA, k.via).into_iter().map(str::to_string).collect(),
                service_principals: mask(&PRINCIPALS, k.principals)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                user_tags: k
                    .tags
                    .iter()
                    .map(|(key, value)| {
                        (TAG_KEYS[*key].to_string(), TAG_VALUES[*value].to_string())
                    })
                    .collect(),
                targets: targets.into_iter().collect(),
            }
        })
        .collect();
    DesiredState {
        settings: Settings {
            policy_path: if g.c3_path { "/c3/" } else { "/" }.to_string(),
            ..Settings::default()
        },
        accounts,
        keys,
        scope: Scope::default(),
    }
}

// -------------------------------------------------------------------- world

/// What AWS holds: every key with its details, every policy with its tags.
#[derive(Debug, Clone)]
struct World {
    live: LiveState,
    /// Whether GetKeyRotationStatus fails on Disabled keys (some endpoints).
    rotation_hidden_when_disabled: bool,
    next: u64,
}

impl World {
    /// A fresh key id, in no particular order relative to earlier ones.
    fn new_id(&mut self) -> String {
        self.next += 1;
        let h = Rng(self.next).next();
        format!(
            "{:08x}-0000-4000-8000-{:012x}",
            h >> 32,
            h & 0xFFFF_FFFF_FFFF
        )
    }

    fn epoch(&self) -> i64 {
        1_600_000_000 + i64::try_from(self.next).unwrap_or(0) * 10
    }

    fn targets(&self) -> Vec<Target> {
        self.live.regions.keys().cloned().collect()
    }

    fn snap_mut(&mut self, t: usize) -> Option<(Target, &mut RegionSnapshot)> {
        let targets = self.targets();
        let target = targets.get(pick(targets.len(), t)?)?.clone();
        match self.live.regions.get_mut(&target) {
            Some(Ok(s)) => Some((target, s)),
            _ => None,
        }
    }

    fn key_mut(&mut self, t: usize, k: usize) -> Option<(Target, &mut LiveKey)> {
        let (target, snap) = self.snap_mut(t)?;
        let i = pick(snap.keys.len(), k)?;
        Some((target, &mut snap.keys[i]))
    }

    fn account_mut(&mut self, a: usize) -> Option<(String, &mut AccountSnapshot)> {
        let ids: Vec<String> = self.live.accounts.keys().cloned().collect();
        let id = ids.get(pick(ids.len(), a)?)?.clone();
        match self.live.accounts.get_mut(&id) {
            Some(Ok(s)) => Some((id, s)),
            _ => None,
        }
    }

    fn policy_mut(&mut self, a: usize, p: usize) -> Option<&mut LiveManagedPolicy> {
        let (_, acc) = self.account_mut(a)?;
        let i = pick(acc.policies.len(), p)?;
        Some(&mut acc.policies[i])
    }

    /// Adds an ARN to every statement of the managed policies of a key name
    /// in an account (as if an earlier run had named the key).
    fn name_in_policies(&mut self, account: &str, name: &str, arn: &str) {
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

fn c3_world_key(
    w: &mut World,
    spec: &KeySpec,
    t: &Target,
    generation: u32,
    state: KeyState,
) -> LiveKey {
    let mut s = spec.clone();
    s.generation = generation;
    let id = w.new_id();
    LiveKey {
        arn: key_arn(t, &id),
        key_id: id,
        tags: s.tags(),
        details: Some(KeyDetails {
            state,
            description: spec.description.clone(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            creation_epoch: Some(w.epoch()),
            rotation: Some(Rotation {
                enabled: true,
                period_days: Some(spec.rotation_days),
            }),
            policy: Some(pretty(&key_policy(&s, t))),
            grants: Some(Vec::new()),
        }),
    }
}

fn managed_world_policy(
    account: &str,
    path: &str,
    kind: PolicyKind,
    key: &str,
    arns: &BTreeSet<String>,
) -> LiveManagedPolicy {
    let name = kind.policy_name(key);
    LiveManagedPolicy {
        arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
        name,
        path: path.to_string(),
        document: pretty(&managed_policy(kind, arns)),
        versions: vec![PolicyVersion {
            id: "v1".into(),
            is_default: true,
            created_epoch: Some(1),
        }],
        tags: Some(BTreeMap::from([
            (tag::MANAGED.to_string(), "true".to_string()),
            (tag::NAME.to_string(), key.to_string()),
        ])),
        attachments: None,
    }
}

/// The world in which `d` is fully converged; `older[i]` also holds the
/// older generations of key `i` (Enabled, named by the managed policies).
fn converged(d: &DesiredState, older: &[bool], rotation_hidden_when_disabled: bool) -> World {
    let mut w = World {
        live: LiveState::default(),
        rotation_hidden_when_disabled,
        next: 0,
    };
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
            let key = c3_world_key(&mut w, spec, &t, spec.generation, state);
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
            for kind in PolicyKind::ALL {
                acc.policies.push(managed_world_policy(
                    &a.id,
                    &d.settings.policy_path,
                    kind,
                    &spec.name,
                    &arns,
                ));
            }
        }
        w.live.accounts.insert(a.id.clone(), Ok(acc));
    }
    w
}

/// What c3 reads of the world (see `live::kms::read_region` and
/// `live::iam::read_account`).
fn observe(d: &DesiredState, w: &World) -> LiveState {
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
        let mut keys: Vec<LiveKey> = snap
            .keys
            .iter()
            .map(|k| {
                let full = k.is_managed()
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
                    det
                });
                LiveKey {
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
        // As `live::iam::read_account`: policies at the path with c3's names,
        // with their tags; other policies of such names by name only.
        let mut policies: Vec<LiveManagedPolicy> = Vec::new();
        let mut others: Vec<NamedPolicy> = Vec::new();
        for p in &acc.policies {
            if p.path == d.settings.policy_path && PolicyKind::parse_name(&p.name).is_some() {
                policies.push(LiveManagedPolicy {
                    tags: Some(p.tags.clone().unwrap_or_default()),
                    ..p.clone()
                });
            } else if PolicyKind::parse_name(&p.name.to_ascii_lowercase()).is_some() {
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

// ----------------------------------------------------------------- mutations

/// One kind of drift. Indices are reduced modulo what exists; a mutation
/// with nothing to act on does nothing.
#[derive(Debug, Clone)]
enum Mutation {
    /// The key is gone (and with it every alias pointing at it).
    RemoveKey {
        t: usize,
        k: usize,
    },
    RemoveAlias {
        t: usize,
        a: usize,
    },
    /// The alias points at a key c3 does not manage.
    AliasToForeign {
        t: usize,
        a: usize,
    },
    /// The alias points at some other key of the region.
    AliasToKey {
        t: usize,
        a: usize,
        k: usize,
    },
    /// A c3 key of the same name and another generation.
    OtherGeneration {
        t: usize,
        k: usize,
        delta: u32,
        older: bool,
        alias: bool,
        in_policies: bool,
    },
    /// A second c3 key of the same name and generation.
    Duplicate {
        t: usize,
        k: usize,
        newer: bool,
        in_policies: bool,
    },
    /// A c3 key (maybe with alias and policies) of a name the file no longer
    /// declares, or of a declared name (maybe where it is not declared).
    Orphan {
        t: usize,
        name: usize,
        alias: bool,
        policies: bool,
    },
    State {
        t: usize,
        k: usize,
        state: u8,
    },
    Rotation {
        t: usize,
        k: usize,
        how: u8,
        days: u32,
    },
    Description {
        t: usize,
        k: usize,
    },
    DropStatement {
        t: usize,
        k: usize,
        s: usize,
    },
    DropAction {
        t: usize,
        k: usize,
        s: usize,
        a: usize,
    },
    ExtraAction {
        t: usize,
        k: usize,
        s: usize,
        x: usize,
    },
    AlterCondition {
        t: usize,
        k: usize,
        s: usize,
    },
    /// A statement (maybe one of c3's Sids) turned into a Deny.
    Deny {
        t: usize,
        k: usize,
        s: usize,
    },
    ForeignStatement {
        t: usize,
        k: usize,
        kind: u8,
    },
    Reformat {
        t: usize,
        k: usize,
        seed: u64,
    },
    TagRemove {
        t: usize,
        k: usize,
        i: usize,
    },
    TagChange {
        t: usize,
        k: usize,
        i: usize,
    },
    TagExtra {
        t: usize,
        k: usize,
    },
    PolicyRemove {
        a: usize,
        p: usize,
    },
    PolicyDropArn {
        a: usize,
        p: usize,
        i: usize,
    },
    PolicyExtraArn {
        a: usize,
        p: usize,
    },
    PolicyDropAction {
        a: usize,
        p: usize,
    },
    PolicyExtraAction {
        a: usize,
        p: usize,
    },
    PolicyFiveVersions {
        a: usize,
        p: usize,
        default: usize,
    },
    PolicyReformat {
        a: usize,
        p: usize,
        seed: u64,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Biased to the first target and key, so that several kinds of drift
    // often hit the same key.
    let i = || prop_oneof![2 => Just(0usize), 1 => 0usize..16];
    prop_oneof![
        (i(), i()).prop_map(|(t, k)| Mutation::RemoveKey { t, k }),
        (i(), i()).prop_map(|(t, a)| Mutation::RemoveAlias { t, a }),
        (i(), i()).prop_map(|(t, a)| Mutation::AliasToForeign { t, a }),
        (i(), i(), i()).prop_map(|(t, a, k)| Mutation::AliasToKey { t, a, k }),
        (
            i(),
            i(),
            1u32..3,
            any::<bool>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(t, k, delta, older, alias, in_policies)| {
                Mutation::OtherGeneration {
                    t,
                    k,
                    delta,
                    older,
                    alias,
                    in_policies,
                }
            }),
        (i(), i(), any::<bool>(), any::<bool>()).prop_map(|(t, k, newer, in_policies)| {
            Mutation::Duplicate {
                t,
                k,
                newer,
                in_policies,
            }
        }),
        (
            i(),
            0..ORPHANS.len() + NAMES.len(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(t, name, alias, policies)| Mutation::Orphan {
                t,
                name,
                alias,
                policies
            }),
        (i(), i(), 0u8..3).prop_map(|(t, k, state)| Mutation::State { t, k, state }),
        (i(), i(), 0u8..3, 90u32..=2560).prop_map(|(t, k, how, days)| Mutation::Rotation {
            t,
            k,
            how,
            days
        }),
        (i(), i()).prop_map(|(t, k)| Mutation::Description { t, k }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::DropStatement { t, k, s }),
        (i(), i(), i(), i()).prop_map(|(t, k, s, a)| Mutation::DropAction { t, k, s, a }),
        (i(), i(), i(), 0..EXTRA_ACTIONS.len()).prop_map(|(t, k, s, x)| Mutation::ExtraAction {
            t,
            k,
            s,
            x
        }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::AlterCondition { t, k, s }),
        (i(), i(), i()).prop_map(|(t, k, s)| Mutation::Deny { t, k, s }),
        (i(), i(), 0u8..4).prop_map(|(t, k, kind)| Mutation::ForeignStatement { t, k, kind }),
        (i(), i(), any::<u64>()).prop_map(|(t, k, seed)| Mutation::Reformat { t, k, seed }),
        (i(), i(), i()).prop_map(|(t, k, i)| Mutation::TagRemove { t, k, i }),
        (i(), i(), i()).prop_map(|(t, k, i)| Mutation::TagChange { t, k, i }),
        (i(), i()).prop_map(|(t, k)| Mutation::TagExtra { t, k }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyRemove { a, p }),
        (i(), i(), i()).prop_map(|(a, p, i)| Mutation::PolicyDropArn { a, p, i }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyExtraArn { a, p }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyDropAction { a, p }),
        (i(), i()).prop_map(|(a, p)| Mutation::PolicyExtraAction { a, p }),
        (i(), i(), 0usize..5).prop_map(|(a, p, default)| Mutation::PolicyFiveVersions {
            a,
            p,
            default
        }),
        (i(), i(), any::<u64>()).prop_map(|(a, p, seed)| Mutation::PolicyReformat { a, p, seed }),
    ]
}

fn foreign_key(w: &mut World, t: &Target) -> LiveKey {
    let id = w.new_id();
    LiveKey {
        arn: key_arn(t, &id),
        key_id: id,
        tags: BTreeMap::from([("team".to_string(), "someone-else".to_string())]),
        details: Some(KeyDetails {
            state: KeyState::Enabled,
            description: "not c3's".into(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            creation_epoch: Some(w.epoch()),
            rotation: Some(Rotation {
                enabled: false,
                period_days: None,
            }),
            policy: Some(pretty(&json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{}:root", t.account)},
                "Action": "kms:*", "Resource": "*"}]}))),
            grants: Some(Vec::new()),
        }),
    }
}

/// Rewrites a key policy; `f` returns the new text, or `None` to leave it.
fn edit_key_policy(
    w: &mut World,
    t: usize,
    k: usize,
    f: impl FnOnce(&Target, Value) -> Option<String>,
) {
    let Some((target, key)) = w.key_mut(t, k) else {
        return;
    };
    let Some(det) = key.details.as_mut() else {
        return;
    };
    let Some(v) = det
        .policy
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    else {
        return;
    };
    if let Some(text) = f(&target, v) {
        det.policy = Some(text);
    }
}

fn edit_managed(w: &mut World, a: usize, p: usize, f: impl FnOnce(&str, Value) -> Option<String>) {
    let Some(policy) = w.policy_mut(a, p) else {
        return;
    };
    let Ok(v) = serde_json::from_str::<Value>(&policy.document) else {
        return;
    };
    let account = policy.arn.split(':').nth(4).unwrap_or_default().to_string();
    if let Some(text) = f(&account, v) {
        policy.document = text;
    }
}

/// Reformats a document the way other tools write it: statements and lists
/// in another order, one-element lists as strings (or the reverse), object
/// keys in another order, a bare account id for a root principal, other
/// whitespace. The meaning is unchanged.
fn reformat(v: &Value, rng: &mut Rng, top: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m
                .iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Statement", Value::Array(items)) if top => {
                            let mut items: Vec<Value> =
                                items.iter().map(|s| reformat(s, rng, false)).collect();
                            shuffle(&mut items, rng);
                            if items.len() == 1 && rng.coin() {
                                items.remove(0)
                            } else {
                                Value::Array(items)
                            }
                        }
                        ("Sid" | "Effect" | "Version" | "Id", _) => v.clone(),
                        ("Action" | "Resource", Value::String(s)) if rng.coin() => json!([s]),
                        (_, other) => reformat(other, rng, false),
                    };
                    (k.clone(), v)
                })
                .collect();
            shuffle(&mut entries, rng);
            Value::Object(entries.into_iter().collect::<Map<String, Value>>())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|i| reformat(i, rng, false)).collect();
            shuffle(&mut items, rng);
            if items.len() == 1 && rng.coin() {
                items.remove(0)
            } else {
                Value::Array(items)
            }
        }
        Value::String(s) if rng.coin() => {
            // arn:aws:iam::<account>:root is stored by AWS as written; a bare
            // account id means the same.
            let bare = s
                .strip_prefix("arn:aws:iam::")
                .and_then(|r| r.strip_suffix(":root"));
            match bare {
                Some(id) => Value::String(id.to_string()),
                None => v.clone(),
            }
        }
        other => other.clone(),
    }
}

fn render(v: &Value, rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => v.to_string(),
        1 => pretty(v),
        _ => pretty(v).replace("\": ", "\" : ").replace(",\n", " ,\n\n"),
    }
}

fn mutate(d: &DesiredState, w: &mut World, m: &Mutation) {
    match *m {
        Mutation::RemoveKey { t, k } => {
            if let Some((_, snap)) = w.snap_mut(t) {
                if let Some(i) = pick(snap.keys.len(), k) {
                    let gone = snap.keys.remove(i);
                    snap.aliases
                        .retain(|a| a.target_key_id.as_deref() != Some(gone.key_id.as_str()));
                }
            }
        }
        Mutation::RemoveAlias { t, a } => {
            if let Some((_, snap)) = w.snap_mut(t) {
                if let Some(i) = pick(snap.aliases.len(), a) {
                    snap.aliases.remove(i);
                }
            }
        }
        Mutation::AliasToForeign { t, a } => {
            let targets = w.targets();
            let Some(target) = pick(targets.len(), t).map(|i| targets[i].clone()) else {
                return;
            };
            let key = foreign_key(w, &target);
            if let Some((_, snap)) = w.snap_mut(t) {
                if let Some(i) = pick(snap.aliases.len(), a) {
                    snap.aliases[i].target_key_id = Some(key.key_id.clone());
                    snap.keys.push(key);
                }
            }
        }
        Mutation::AliasToKey { t, a, k } => {
            if let Some((_, snap)) = w.snap_mut(t) {
                if let (Some(i), Some(j)) = (pick(snap.aliases.len(), a), pick(snap.keys.len(), k))
                {
                    snap.aliases[i].target_key_id = Some(snap.keys[j].key_id.clone());
                }
            }
        }
        Mutation::OtherGeneration {
            t,
            k,
            delta,
            older,
            alias,
            in_policies,
        } => {
            let Some((target, key)) = w.key_mut(t, k) else {
                return;
            };
            let (Some(name), Some(g)) = (key.c3_name().map(str::to_string), key.c3_generation())
            else {
                return;
            };
            let Some(spec) = d.keys.iter().find(|s| s.name == name) else {
                return;
            };
            let other = if older && g > 1 {
                g - delta.min(g - 1)
            } else {
                g + delta
            };
            let new = c3_world_key(w, spec, &target, other, KeyState::Enabled);
            let (id, arn) = (new.key_id.clone(), new.arn.clone());
            if let Some((_, snap)) = w.snap_mut(t) {
                snap.keys.push(new);
                if alias {
                    for a in snap
                        .aliases
                        .iter_mut()
                        .filter(|a| a.name == format!("alias/{name}"))
                    {
                        a.target_key_id = Some(id.clone());
                    }
                }
            }
            if in_policies {
                w.name_in_policies(&target.account, &name, &arn);
            }
        }
        Mutation::Duplicate {
            t,
            k,
            newer,
            in_policies,
        } => {
            let id = w.new_id();
            let Some((target, key)) = w.key_mut(t, k) else {
                return;
            };
            let Some(name) = key.c3_name().map(str::to_string) else {
                return;
            };
            let mut dup = key.clone();
            dup.arn = key_arn(&target, &id);
            dup.key_id = id;
            if let Some(det) = dup.details.as_mut() {
                let shift = if newer { 1000 } else { -1000 };
                det.creation_epoch = det.creation_epoch.map(|e| e + shift);
            }
            let arn = dup.arn.clone();
            if let Some((_, snap)) = w.snap_mut(t) {
                snap.keys.push(dup);
            }
            if in_policies {
                w.name_in_policies(&target.account, &name, &arn);
            }
        }
        Mutation::Orphan {
            t,
            name,
            alias,
            policies,
        } => {
            let targets = w.targets();
            let Some(target) = pick(targets.len(), t).map(|i| targets[i].clone()) else {
                return;
            };
            // A name the file does not declare at all, or a declared one (maybe
            // not declared for this target).
            let name = ORPHANS
                .get(name)
                .copied()
                .unwrap_or_else(|| NAMES[(name - ORPHANS.len()) % NAMES.len()]);
            let spec = KeySpec {
                name: name.to_string(),
                classification: "internal".into(),
                description: format!("Managed by c3: {name} (internal)"),
                rotation_days: 365,
                generation: 1,
                enabled: true,
                via_services: BTreeSet::new(),
                service_principals: BTreeSet::new(),
                user_tags: BTreeMap::new(),
                targets: vec![target.clone()],
            };
            let key = c3_world_key(w, &spec, &target, 1, KeyState::Enabled);
            let arns = BTreeSet::from([key.arn.clone()]);
            if let Some((_, snap)) = w.snap_mut(t) {
                if alias && snap.alias(&spec.alias()).is_none() {
                    snap.aliases.push(LiveAlias {
                        name: spec.alias(),
                        target_key_id: Some(key.key_id.clone()),
                    });
                }
                snap.keys.push(key);
            }
            if policies {
                let path = d.settings.policy_path.clone();
                if let Some(Ok(acc)) = w.live.accounts.get_mut(&target.account) {
                    for kind in PolicyKind::ALL {
                        if acc.policy(&kind.policy_name(name)).is_none() {
                            acc.policies.push(managed_world_policy(
                                &target.account,
                                &path,
                                kind,
                                name,
                                &arns,
                            ));
                        }
                    }
                }
            }
        }
        Mutation::State { t, k, state } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.state = match state {
                        0 => KeyState::Enabled,
                        1 => KeyState::Disabled,
                        _ => KeyState::PendingDeletion,
                    };
                }
            }
        }
        Mutation::Rotation { t, k, how, days } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.rotation = match how {
                        0 => Some(Rotation {
                            enabled: false,
                            period_days: None,
                        }),
                        1 => Some(Rotation {
                            enabled: true,
                            period_days: Some(days),
                        }),
                        // GetKeyRotationStatus unsupported for this key.
                        _ => None,
                    };
                }
            }
        }
        Mutation::Description { t, k } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                if let Some(det) = key.details.as_mut() {
                    det.description = "changed by hand".into();
                }
            }
        }
        Mutation::DropStatement { t, k, s } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            // A key policy keeps at least one statement (AWS refuses none).
            if items.len() < 2 {
                return None;
            }
            let i = pick(items.len(), s)?;
            items.remove(i);
            Some(pretty(&v))
        }),
        Mutation::DropAction { t, k, s, a } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            let mut actions = strings(&items[i]["Action"]);
            if actions.len() > 1 {
                let j = pick(actions.len(), a)?;
                actions.remove(j);
            } else if actions.first().map(String::as_str) != Some("kms:DescribeKey") {
                // kms:* narrowed to one action (AWS refuses an empty Action).
                actions = vec!["kms:DescribeKey".into()];
            } else {
                return None;
            }
            items[i]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::ExtraAction { t, k, s, x } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            let mut actions = strings(&items[i]["Action"]);
            actions.push(EXTRA_ACTIONS[x].to_string());
            items[i]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::AlterCondition { t, k, s } => edit_key_policy(w, t, k, |target, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            let cond = items[i].get_mut("Condition")?.as_object_mut()?;
            let (_, keys) = cond.iter_mut().next()?;
            let (key, value) = keys.as_object_mut()?.iter_mut().next()?;
            *value = if key.eq_ignore_ascii_case("kms:ViaService") {
                json!(format!("ec2.{}.amazonaws.com", target.region))
            } else {
                json!("999999999999")
            };
            Some(pretty(&v))
        }),
        Mutation::Deny { t, k, s } => edit_key_policy(w, t, k, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let i = pick(items.len(), s)?;
            items[i]["Effect"] = json!("Deny");
            Some(pretty(&v))
        }),
        Mutation::ForeignStatement { t, k, kind } => edit_key_policy(w, t, k, |target, mut v| {
            let statement = match kind {
                0 => json!({"Sid": "AllowAppRole", "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{}:role/app", target.account)},
                    "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}),
                1 => json!({"Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{}:role/ops", target.account)},
                    "Action": "kms:DescribeKey", "Resource": "*"}),
                2 => json!({"Sid": "DenyDeletion", "Effect": "Deny", "Principal": "*",
                    "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}),
                // Public: any write of this policy is refused, so it is only reported.
                _ => json!({"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"},
                    "Action": "kms:Decrypt", "Resource": "*"}),
            };
            statements_mut(&mut v)?.push(statement);
            Some(pretty(&v))
        }),
        Mutation::Reformat { t, k, seed } => edit_key_policy(w, t, k, |_, v| {
            let mut rng = Rng(seed);
            let out = reformat(&v, &mut rng, true);
            Some(render(&out, &mut rng))
        }),
        Mutation::TagRemove { t, k, i } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                let names: Vec<String> = key.tags.keys().cloned().collect();
                if let Some(j) = pick(names.len(), i) {
                    key.tags.remove(&names[j]);
                }
            }
        }
        Mutation::TagChange { t, k, i } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                let names: Vec<String> = key.tags.keys().cloned().collect();
                if let Some(j) = pick(names.len(), i) {
                    key.tags.insert(names[j].clone(), "changed".into());
                }
            }
        }
        Mutation::TagExtra { t, k } => {
            if let Some((_, key)) = w.key_mut(t, k) {
                key.tags.insert("owner".into(), "someone".into());
            }
        }
        Mutation::PolicyRemove { a, p } => {
            if let Some((_, acc)) = w.account_mut(a) {
                if let Some(i) = pick(acc.policies.len(), p) {
                    acc.policies.remove(i);
                }
            }
        }
        Mutation::PolicyDropArn { a, p, i } => edit_managed(w, a, p, |account, mut v| {
            let items = statements_mut(&mut v)?;
            let first = strings(&items.first()?["Resource"]);
            let gone = first.get(pick(first.len(), i)?)?.clone();
            for s in items.iter_mut() {
                let mut r = strings(&s["Resource"]);
                r.retain(|x| *x != gone);
                if r.is_empty() {
                    // IAM refuses a statement without resources.
                    r.push(format!("arn:aws:kms:eu-west-1:{account}:key/retired"));
                }
                s["Resource"] = json!(r);
            }
            Some(pretty(&v))
        }),
        Mutation::PolicyExtraArn { a, p } => edit_managed(w, a, p, |account, mut v| {
            for s in statements_mut(&mut v)?.iter_mut() {
                let mut r = strings(&s["Resource"]);
                r.push(format!("arn:aws:kms:eu-west-1:{account}:key/retired"));
                s["Resource"] = json!(r);
            }
            Some(pretty(&v))
        }),
        Mutation::PolicyDropAction { a, p } => edit_managed(w, a, p, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let mut actions = strings(&items.first()?["Action"]);
            if actions.len() < 2 {
                return None;
            }
            actions.pop();
            items[0]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::PolicyExtraAction { a, p } => edit_managed(w, a, p, |_, mut v| {
            let items = statements_mut(&mut v)?;
            let mut actions = strings(&items.first()?["Action"]);
            actions.push("kms:ListResourceTags".into());
            items[0]["Action"] = json!(actions);
            Some(pretty(&v))
        }),
        Mutation::PolicyFiveVersions { a, p, default } => {
            if let Some(policy) = w.policy_mut(a, p) {
                policy.versions = (1..=5)
                    .map(|n| PolicyVersion {
                        id: format!("v{n}"),
                        is_default: n == default + 1,
                        created_epoch: Some(i64::try_from(n).unwrap_or(0)),
                    })
                    .collect();
            }
        }
        Mutation::PolicyReformat { a, p, seed } => edit_managed(w, a, p, |_, v| {
            let mut rng = Rng(seed);
            let out = reformat(&v, &mut rng, true);
            Some(render(&out, &mut rng))
        }),
    }
}

#[derive(Debug, Clone)]
struct Case {
    desired: DesiredGen,
    rotation_hidden_when_disabled: bool,
    mutations: Vec<Mutation>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        desired_gen(),
        any::<bool>(),
        prop::collection::vec(mutation(), 0..8),
    )
        .prop_map(|(desired, rotation_hidden_when_disabled, mutations)| Case {
            desired,
            rotation_hidden_when_disabled,
            mutations,
        })
}

fn build(c: &Case) -> (DesiredState, World) {
    let d = build_desired(&c.desired);
    let older: Vec<bool> = c.desired.keys.iter().map(|k| k.older).collect();
    let mut w = converged(&d, &older, c.rotation_hidden_when_disabled);
    for m in &c.mutations {
        mutate(&d, &mut w, m);
    }
    (d, w)
}

// ---------------------------------------------------------------- simulator

/// The order apply runs the steps of one key in (`apply::rank`).
fn rank(op: &Operation) -> u8 {
    match op {
        Operation::Restore { .. } => 0,
        Operation::CreateKey { .. } => 1,
        Operation::EnableRotation { .. } => 2,
        Operation::PutKeyPolicy { .. } => 3,
        Operation::TagKey { .. } => 4,
        Operation::UpdateDescription { .. } => 5,
        Operation::CreateAlias { .. } | Operation::UpdateAlias { .. } => 6,
        Operation::CreatePolicy { .. } | Operation::UpdatePolicy { .. } => 7,
    }
}

/// What one apply created: (account, region, key name) → (generation, key id, ARN).
type NewKeys = BTreeMap<(String, String, String), (u32, String, String)>;

/// The key policy checks apply makes before writing (`apply::check_key_policy_text`).
fn check_written_key_policy(text: &str, t: &Target) -> Result<(), String> {
    if text.len() > KEY_POLICY_MAX_BYTES {
        return Err(format!("key policy of {} bytes", text.len()));
    }
    let part = partition(&t.region);
    let doc = Document::parse(text, part).map_err(|e| e.to_string())?;
    check_key_policy(&doc, &t.account, part)
}

/// Applies the executable operations of a plan to the world, as apply and
/// AWS would; an error is something apply or AWS would refuse.
fn simulate(w: &World, p: &Plan) -> Result<(World, NewKeys), String> {
    let mut w = w.clone();
    let mut steps: Vec<(&Change, &Operation)> = Vec::new();
    for c in p.executable() {
        let op = c
            .operation
            .as_ref()
            .ok_or_else(|| format!("executable change without an operation: {c:?}"))?;
        steps.push((c, op));
    }
    // Key steps (per target, in apply's order) first, IAM last.
    steps.sort_by_key(|(c, op)| (c.region.is_none(), rank(op)));
    let mut new_keys = NewKeys::new();
    for (c, op) in steps {
        match &c.region {
            Some(region) => {
                let t = Target::new(&c.account, region);
                let next_id = w.new_id();
                let epoch = w.epoch();
                let snap = match w.live.regions.get_mut(&t) {
                    Some(Ok(s)) => s,
                    _ => return Err(format!("{t}: no such target")),
                };
                key_step(&t, snap, &c.key, op, &mut new_keys, next_id, epoch)
                    .map_err(|e| format!("{t} {}: {e}\n{op:?}", c.key))?;
            }
            None => {
                let acc = match w.live.accounts.get_mut(&c.account) {
                    Some(Ok(s)) => s,
                    _ => return Err(format!("{}: no such account", c.account)),
                };
                iam_step(&c.account, acc, op, &new_keys)
                    .map_err(|e| format!("{} {}: {e}\n{op:?}", c.account, c.key))?;
            }
        }
    }
    Ok((w, new_keys))
}

fn key_index(snap: &RegionSnapshot, id: &str) -> Result<usize, String> {
    snap.keys
        .iter()
        .position(|k| k.key_id == id)
        .ok_or_else(|| format!("NotFoundException: key {id}"))
}

fn details(snap: &mut RegionSnapshot, i: usize) -> Result<&mut KeyDetails, String> {
    snap.keys[i]
        .details
        .as_mut()
        .ok_or_else(|| "a key without details".to_string())
}

fn key_step(
    t: &Target,
    snap: &mut RegionSnapshot,
    name: &str,
    op: &Operation,
    new_keys: &mut NewKeys,
    next_id: String,
    epoch: i64,
) -> Result<(), String> {
    let slot = (t.account.clone(), t.region.clone(), name.to_string());
    let resolve = |key: &KeyRef, new_keys: &NewKeys| -> Result<String, String> {
        match key {
            KeyRef::Existing { key_id } => Ok(key_id.clone()),
            KeyRef::New { generation } => match new_keys.get(&slot) {
                Some((g, id, _)) if g == generation => Ok(id.clone()),
                _ => Err(format!(
                    "the key of generation {generation} was not created"
                )),
            },
        }
    };
    match op {
        Operation::CreateKey {
            generation,
            description,
            policy,
            tags,
            rotation_days,
        } => {
            check_written_key_policy(policy, t)?;
            if !(90..=2560).contains(rotation_days) {
                return Err(format!("rotation period {rotation_days}"));
            }
            if new_keys.contains_key(&slot) {
                return Err("a second CreateKey for one key in one target".into());
            }
            let arn = key_arn(t, &next_id);
            snap.keys.push(LiveKey {
                key_id: next_id.clone(),
                arn: arn.clone(),
                tags: tags.clone(),
                details: Some(KeyDetails {
                    state: KeyState::Enabled,
                    description: description.clone(),
                    manager: "CUSTOMER".into(),
                    spec: "SYMMETRIC_DEFAULT".into(),
                    usage: "ENCRYPT_DECRYPT".into(),
                    creation_epoch: Some(epoch),
                    rotation: Some(Rotation {
                        enabled: true,
                        period_days: Some(*rotation_days),
                    }),
                    policy: Some(policy.clone()),
                    grants: Some(Vec::new()),
                }),
            });
            new_keys.insert(slot, (*generation, next_id, arn));
        }
        Operation::CreateAlias { alias, key: r } => {
            let id = resolve(r, new_keys)?;
            let i = key_index(snap, &id)?;
            if details(snap, i)?.state == KeyState::PendingDeletion {
                return Err("KMSInvalidStateException: alias to a key pending deletion".into());
            }
            if snap.alias(alias).is_some() {
                return Err(format!("AlreadyExistsException: {alias}"));
            }
            snap.aliases.push(LiveAlias {
                name: alias.clone(),
                target_key_id: Some(id),
            });
        }
        Operation::UpdateAlias { alias, key: r } => {
            let id = resolve(r, new_keys)?;
            let i = key_index(snap, &id)?;
            if details(snap, i)?.state == KeyState::PendingDeletion {
                return Err("KMSInvalidStateException: alias to a key pending deletion".into());
            }
            let a = snap
                .aliases
                .iter_mut()
                .find(|a| &a.name == alias)
                .ok_or_else(|| format!("NotFoundException: {alias}"))?;
            a.target_key_id = Some(id);
        }
        Operation::EnableRotation {
            key_id,
            rotation_days,
        } => {
            let i = key_index(snap, key_id)?;
            let det = details(snap, i)?;
            if det.state != KeyState::Enabled {
                return Err(format!(
                    "DisabledException: EnableKeyRotation on a {} key",
                    det.state
                ));
            }
            if !(90..=2560).contains(rotation_days) {
                return Err(format!("rotation period {rotation_days}"));
            }
            det.rotation = Some(Rotation {
                enabled: true,
                period_days: Some(*rotation_days),
            });
        }
        Operation::PutKeyPolicy { key_id, policy } => {
            check_written_key_policy(policy, t)?;
            let i = key_index(snap, key_id)?;
            details(snap, i)?.policy = Some(policy.clone());
        }
        Operation::TagKey { key_id, tags } => {
            let i = key_index(snap, key_id)?;
            snap.keys[i]
                .tags
                .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Operation::UpdateDescription {
            key_id,
            description,
        } => {
            let i = key_index(snap, key_id)?;
            details(snap, i)?.description = description.clone();
        }
        Operation::Restore {
            key_id,
            cancel_deletion,
            enable,
        } => {
            let i = key_index(snap, key_id)?;
            let det = details(snap, i)?;
            if *cancel_deletion {
                if det.state != KeyState::PendingDeletion {
                    return Err("KMSInvalidStateException: CancelKeyDeletion".into());
                }
                det.state = KeyState::Disabled;
            }
            if *enable {
                if det.state == KeyState::PendingDeletion {
                    return Err("KMSInvalidStateException: EnableKey".into());
                }
                det.state = KeyState::Enabled;
            }
        }
        Operation::CreatePolicy { .. } | Operation::UpdatePolicy { .. } => {
            return Err("an IAM operation in a regional change".into());
        }
    }
    Ok(())
}

fn iam_step(
    account: &str,
    acc: &mut AccountSnapshot,
    op: &Operation,
    new_keys: &NewKeys,
) -> Result<(), String> {
    let resolve = |document: &str| -> Result<String, String> {
        let mut text = document.to_string();
        for ((a, region, name), (generation, _, arn)) in new_keys {
            if a == account {
                text = text.replace(
                    &pending_arn(&Target::new(a, region), name, *generation),
                    arn,
                );
            }
        }
        if is_pending_arn(&text) {
            return Err("a key this policy names was not created".into());
        }
        let size = size_without_whitespace(&text);
        if size > MANAGED_POLICY_MAX_CHARS {
            return Err(format!("{size} characters"));
        }
        Ok(text)
    };
    match op {
        Operation::CreatePolicy {
            name,
            path,
            document,
            tags,
        } => {
            let document = resolve(document)?;
            // Policy names are unique in an account, whatever their path.
            if acc.policies.iter().any(|p| &p.name == name) {
                return Err(format!("EntityAlreadyExists: {name}"));
            }
            acc.policies.push(LiveManagedPolicy {
                name: name.clone(),
                arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
                path: path.clone(),
                document,
                versions: vec![PolicyVersion {
                    id: "v1".into(),
                    is_default: true,
                    created_epoch: Some(100),
                }],
                tags: Some(tags.clone()),
                attachments: None,
            });
        }
        Operation::UpdatePolicy {
            arn,
            document,
            prune_version,
        } => {
            let document = resolve(document)?;
            let p = acc
                .policies
                .iter_mut()
                .find(|p| &p.arn == arn)
                .ok_or_else(|| format!("NoSuchEntity: {arn}"))?;
            if let Some(v) = prune_version {
                let i = p
                    .versions
                    .iter()
                    .position(|x| &x.id == v)
                    .ok_or_else(|| format!("NoSuchEntity: version {v}"))?;
                if p.versions[i].is_default {
                    return Err(format!("DeleteConflict: {v} is the default version"));
                }
                p.versions.remove(i);
            }
            if p.versions.len() >= 5 {
                return Err("LimitExceeded: five versions".into());
            }
            let n = p
                .versions
                .iter()
                .filter_map(|v| v.id.trim_start_matches('v').parse::<i64>().ok())
                .max()
                .unwrap_or(0)
                + 1;
            for v in &mut p.versions {
                v.is_default = false;
            }
            p.versions.push(PolicyVersion {
                id: format!("v{n}"),
                is_default: true,
                created_epoch: Some(1000 + n),
            });
            p.document = document;
        }
        _ => return Err("a key operation in an IAM change".into()),
    }
    Ok(())
}

// --------------------------------------------------------------- properties

fn spec_of<'a>(d: &'a DesiredState, name: &str) -> Result<&'a KeySpec, TestCaseError> {
    d.keys
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| TestCaseError::fail(format!("a change for undeclared key {name}")))
}

fn region_of<'a>(live: &'a LiveState, c: &Change) -> Result<&'a RegionSnapshot, TestCaseError> {
    let region = c
        .region
        .as_deref()
        .ok_or_else(|| TestCaseError::fail("a key operation without a region"))?;
    match live.regions.get(&Target::new(&c.account, region)) {
        Some(Ok(s)) => Ok(s),
        _ => Err(TestCaseError::fail(
            "a change for a target that was not read",
        )),
    }
}

/// The c3 key of this change's name with this id.
fn own_key<'a>(
    snap: &'a RegionSnapshot,
    c: &Change,
    id: &str,
) -> Result<&'a LiveKey, TestCaseError> {
    snap.key(id)
        .filter(|k| k.c3_name() == Some(c.key.as_str()))
        .ok_or_else(|| TestCaseError::fail(format!("{id} is not a c3 key named {}", c.key)))
}

/// Whether a key reference names a c3 key of this change's name: an existing
/// one, or the one this plan creates for the same target.
fn refers_to_own_key(p: &Plan, snap: &RegionSnapshot, c: &Change, key: &KeyRef) -> bool {
    match key {
        KeyRef::Existing { key_id } => snap
            .key(key_id)
            .is_some_and(|k| k.c3_name() == Some(c.key.as_str())),
        KeyRef::New { generation } => p.changes.iter().any(|o| {
            o.account == c.account
                && o.region == c.region
                && o.key == c.key
                && matches!(&o.operation, Some(Operation::CreateKey { generation: g, .. }) if g == generation)
        }),
    }
}

/// (action, resource, condition) of every plain Allow of a document.
fn grants(doc: &Document) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for s in doc.statements.iter().filter(|s| s.is_plain_allow()) {
        let (Some(actions), Some(resources)) = (&s.action, &s.resource) else {
            continue;
        };
        let condition = s
            .to_value()
            .get("Condition")
            .map(Value::to_string)
            .unwrap_or_default();
        for a in actions.iter() {
            for r in resources {
                out.insert((a.to_string(), r.clone(), condition.clone()));
            }
        }
    }
    out
}

/// Property (a): every executable change only adds.
fn check_additive(d: &DesiredState, live: &LiveState, p: &Plan) -> Result<(), TestCaseError> {
    for c in &p.changes {
        prop_assert_eq!(c.executable, c.operation.is_some(), "{:?}", c);
        if !c.executable {
            prop_assert!(
                matches!(c.action, ActionKind::Report | ActionKind::Conflict),
                "a non-executable change that is not a report: {:?}",
                c
            );
            continue;
        }
        prop_assert!(
            !matches!(c.action, ActionKind::Report | ActionKind::Conflict),
            "an executable report: {:?}",
            c
        );
        let Some(op) = &c.operation else {
            continue;
        };
        let spec = spec_of(d, &c.key)?;
        match op {
            Operation::CreateKey {
                generation, tags, ..
            } => {
                let snap = region_of(live, c)?;
                prop_assert!(spec.enabled, "CreateKey for a key with enabled = false");
                prop_assert_eq!(*generation, spec.generation);
                prop_assert_eq!(tags, &spec.tags());
                prop_assert!(
                    !snap
                        .keys
                        .iter()
                        .any(|k| k.c3_name() == Some(spec.name.as_str())
                            && k.c3_generation() == Some(*generation)),
                    "CreateKey while a c3 key of {} generation {} exists",
                    spec.name,
                    generation
                );
                let alias = snap.alias(&spec.alias());
                prop_assert!(
                    alias.is_none_or(|a| a
                        .target_key_id
                        .as_deref()
                        .and_then(|id| snap.key(id))
                        .is_some_and(|k| k.c3_name() == Some(spec.name.as_str()))),
                    "CreateKey behind an alias that c3 does not own"
                );
            }
            Operation::CreateAlias { alias, key } => {
                let snap = region_of(live, c)?;
                prop_assert_eq!(alias, &spec.alias());
                prop_assert!(
                    snap.alias(alias).is_none(),
                    "CreateAlias of an existing alias"
                );
                prop_assert!(
                    refers_to_own_key(p, snap, c, key),
                    "alias to another key: {:?}",
                    key
                );
            }
            Operation::UpdateAlias { alias, key } => {
                let snap = region_of(live, c)?;
                prop_assert_eq!(alias, &spec.alias());
                let from = snap
                    .alias(alias)
                    .and_then(|a| a.target_key_id.as_deref())
                    .and_then(|id| snap.key(id));
                prop_assert!(
                    from.is_some_and(|k| k.c3_name() == Some(spec.name.as_str())),
                    "UpdateAlias takes an alias c3 does not own"
                );
                prop_assert!(
                    refers_to_own_key(p, snap, c, key),
                    "alias to another key: {:?}",
                    key
                );
                if let (Some(from), KeyRef::Existing { key_id }) = (from, key) {
                    prop_assert_ne!(&from.key_id, key_id, "UpdateAlias to where it points");
                }
            }
            Operation::EnableRotation {
                key_id,
                rotation_days,
            } => {
                own_key(region_of(live, c)?, c, key_id)?;
                prop_assert_eq!(*rotation_days, spec.rotation_days);
            }
            Operation::PutKeyPolicy { key_id, policy } => {
                let key = own_key(region_of(live, c)?, c, key_id)?;
                let region = c.region.as_deref().unwrap_or_default();
                let part = partition(region);
                let old_text = key
                    .details
                    .as_ref()
                    .and_then(|det| det.policy.as_deref())
                    .ok_or_else(|| {
                        TestCaseError::fail("PutKeyPolicy on a key whose policy was not read")
                    })?;
                let old = Document::parse(old_text, part)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let new = Document::parse(policy, part)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(new.statements.len() >= old.statements.len());
                for s in &old.statements {
                    let kept = new.statements.iter().any(|n| {
                        n.sid == s.sid
                            && n.effect == s.effect
                            && n.not_principal == s.not_principal
                            && n.not_action == s.not_action
                            && n.not_resource == s.not_resource
                            && compare_statement(n, s).0.is_empty()
                    });
                    prop_assert!(
                        kept,
                        "statement {:?} is lost or narrowed in\n{}",
                        s.to_value(),
                        policy
                    );
                }
            }
            Operation::TagKey { key_id, tags } => {
                let key = own_key(region_of(live, c)?, c, key_id)?;
                prop_assert!(!tags.is_empty(), "TagKey with no tag");
                let wanted = spec.tags();
                for (k, v) in tags {
                    prop_assert_eq!(wanted.get(k), Some(v), "tag {} is not declared", k);
                    prop_assert!(
                        k != tag::MANAGED && k != tag::NAME,
                        "TagKey rewrites {} of {}",
                        k,
                        key.key_id
                    );
                }
            }
            Operation::UpdateDescription {
                key_id,
                description,
            } => {
                own_key(region_of(live, c)?, c, key_id)?;
                prop_assert_eq!(description, &spec.description);
            }
            Operation::Restore {
                key_id,
                cancel_deletion,
                enable,
            } => {
                let key = own_key(region_of(live, c)?, c, key_id)?;
                let state = key.details.as_ref().map(|det| det.state.clone());
                prop_assert_eq!(*cancel_deletion, state == Some(KeyState::PendingDeletion));
                prop_assert!(!*enable || spec.enabled, "EnableKey with enabled = false");
                prop_assert!(
                    matches!(state, Some(KeyState::Disabled | KeyState::PendingDeletion)),
                    "Restore of a {:?} key",
                    state
                );
            }
            Operation::CreatePolicy {
                name, path, tags, ..
            } => {
                prop_assert!(c.region.is_none());
                let acc = match live.accounts.get(&c.account) {
                    Some(Ok(a)) => a,
                    _ => return Err(TestCaseError::fail("no account snapshot")),
                };
                prop_assert!(
                    acc.policy(name).is_none(),
                    "CreatePolicy of an existing policy"
                );
                prop_assert_eq!(
                    PolicyKind::parse_name(name).map(|(_, k)| k),
                    Some(c.key.as_str())
                );
                prop_assert_eq!(path, &d.settings.policy_path);
                prop_assert_eq!(tags.get(tag::MANAGED).map(String::as_str), Some("true"));
            }
            Operation::UpdatePolicy {
                arn,
                document,
                prune_version,
            } => {
                prop_assert!(c.region.is_none());
                let acc = match live.accounts.get(&c.account) {
                    Some(Ok(a)) => a,
                    _ => return Err(TestCaseError::fail("no account snapshot")),
                };
                let live_policy = acc
                    .policies
                    .iter()
                    .find(|p| &p.arn == arn)
                    .ok_or_else(|| TestCaseError::fail("UpdatePolicy of an unknown policy"))?;
                prop_assert_eq!(
                    PolicyKind::parse_name(&live_policy.name).map(|(_, k)| k),
                    Some(c.key.as_str())
                );
                let old = Document::parse(&live_policy.document, "aws")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let new = Document::parse(document, "aws")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let new_grants = grants(&new);
                for (a, r, cond) in grants(&old) {
                    let covered = new_grants.iter().any(|(na, nr, nc)| {
                        *nc == cond && glob_match(na, &a, true) && glob_match(nr, &r, false)
                    });
                    prop_assert!(
                        covered,
                        "UpdatePolicy drops {} on {} ({})\n{}",
                        a,
                        r,
                        cond,
                        document
                    );
                }
                let new_values: Vec<Value> =
                    new.statements.iter().map(Statement::to_value).collect();
                for s in old.statements.iter().filter(|s| !s.is_plain_allow()) {
                    prop_assert!(
                        new_values.contains(&s.to_value()),
                        "UpdatePolicy drops {:?}",
                        s.to_value()
                    );
                }
                match prune_version {
                    None => {
                        prop_assert!(live_policy.versions.len() < 5, "no prune at five versions")
                    }
                    Some(v) => {
                        prop_assert!(
                            live_policy.versions.len() >= 5,
                            "a prune below five versions"
                        );
                        prop_assert!(
                            live_policy
                                .versions
                                .iter()
                                .any(|x| &x.id == v && !x.is_default),
                            "prune of {} which is not a non-default version",
                            v
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

type Row = (String, Option<String>, String, Resource, ActionKind, String);

fn reported(p: &Plan, ignore: &[String]) -> BTreeSet<Row> {
    p.changes
        .iter()
        .filter(|c| !c.executable)
        .filter(|c| !ignore.iter().any(|id| c.detail.contains(id.as_str())))
        .map(|c| {
            (
                c.account.clone(),
                c.region.clone(),
                c.key.clone(),
                c.resource,
                c.action,
                c.detail.clone(),
            )
        })
        .collect()
}

fn show(p: &Plan) -> String {
    p.changes
        .iter()
        .map(|c| {
            format!(
                "  {} {} {} {} {} exec={} {}",
                c.account,
                c.region.as_deref().unwrap_or("iam"),
                c.key,
                c.resource,
                c.action,
                c.executable,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Property (b): applying a plan once leaves nothing executable, and the same
/// findings (except about keys the apply created).
fn check_converges(d: &DesiredState, w: &World, p1: &Plan) -> Result<(), TestCaseError> {
    let (after, created) = simulate(w, p1)
        .map_err(|e| TestCaseError::fail(format!("apply fails: {e}\nplan:\n{}", show(p1))))?;
    let p2 = plan(d, &observe(d, &after));
    prop_assert!(p2.errors.is_empty(), "{:?}", p2.errors);
    prop_assert!(
        !p2.has_executable(),
        "a second apply is needed:\nfirst plan:\n{}\nsecond plan:\n{}",
        show(p1),
        show(&p2)
    );
    let ids: Vec<String> = created.values().map(|(_, id, _)| id.clone()).collect();
    let (r1, mut r2) = (reported(p1, &ids), reported(&p2, &ids));
    // A restore makes readable what was not (rotation of a PendingDeletion
    // key): findings about it may appear, nothing executable.
    let before = observe(d, w);
    r2.retain(|row| {
        let (account, region, key, resource, _, _) = row;
        let unreadable = *resource == Resource::Rotation
            && region.as_ref().is_some_and(|r| {
                matches!(before.regions.get(&Target::new(account, r)), Some(Ok(snap))
                    if snap.keys.iter().any(|k| k.c3_name() == Some(key.as_str())
                        && k.details.as_ref().is_some_and(|det| det.rotation.is_none())))
            });
        !unreadable || r1.contains(row)
    });
    prop_assert_eq!(
        &r1,
        &r2,
        "findings differ after apply:\nfirst plan:\n{}\nsecond plan:\n{}",
        show(p1),
        show(&p2)
    );
    Ok(())
}

fn permuted(live: &LiveState, seed: u64) -> LiveState {
    let mut rng = Rng(seed);
    let mut out = live.clone();
    for snap in out.regions.values_mut().flatten() {
        shuffle(&mut snap.keys, &mut rng);
        shuffle(&mut snap.aliases, &mut rng);
    }
    for acc in out.accounts.values_mut().flatten() {
        shuffle(&mut acc.policies, &mut rng);
    }
    out
}

proptest! {
    #[test]
    fn no_executable_change_removes_anything(c in case()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        check_additive(&d, &live, &p)?;
    }

    #[test]
    fn one_apply_converges(c in case()) {
        let (d, w) = build(&c);
        let p = plan(&d, &observe(&d, &w));
        check_converges(&d, &w, &p)?;
    }

    #[test]
    fn plan_is_deterministic(c in case(), seed in any::<u64>()) {
        let (d, w) = build(&c);
        let live = observe(&d, &w);
        let p = plan(&d, &live);
        prop_assert_eq!(&p, &plan(&d, &live.clone()));
        let shuffled = permuted(&live, seed);
        prop_assert_eq!(&p, &plan(&d, &shuffled), "\n{}\n---\n{}", show(&p), show(&plan(&d, &shuffled)));
    }

    #[test]
    fn converged_world_plans_nothing(g in desired_gen(), hidden in any::<bool>()) {
        let d = build_desired(&g);
        let older: Vec<bool> = g.keys.iter().map(|k| k.older).collect();
        let w = converged(&d, &older, hidden);
        let p = plan(&d, &observe(&d, &w));
        prop_assert!(p.is_empty(), "\n{}", show(&p));
        prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
    }
}

// ------------------------------------------------------------ normalisation

/// A policy statement in structured form, rendered to JSON in many equivalent ways.
#[derive(Debug, Clone)]
struct StatementModel {
    sid: Option<String>,
    allow: bool,
    principal: Option<Vec<(String, Vec<String>)>>,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<(String, String, Vec<String>)>,
}

const ACTION_POOL: [&str; 8] = [
    "kms:Encrypt",
    "kms:encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:*",
    "KMS:DescribeKey",
    "kms:CreateGrant",
];
const PRINCIPAL_POOL: [(&str, &str); 5] = [
    ("AWS", "*"),
    ("AWS", "arn:aws:iam::111111111111:root"),
    ("AWS", "arn:aws:iam::222222222222:role/app"),
    ("Service", "logs.eu-west-1.amazonaws.com"),
    ("Service", "s3.amazonaws.com"),
];
const RESOURCE_POOL: [&str; 3] = [
    "*",
    "arn:aws:kms:eu-west-1:111111111111:key/a",
    "arn:aws:kms:eu-west-1:111111111111:key/b",
];
const CONDITION_POOL: [(&str, &str, &[&str]); 5] = [
    (
        "StringEquals",
        "kms:CallerAccount",
        &["111111111111", "222222222222"],
    ),
    (
        "StringEquals",
        "kms:ViaService",
        &["s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"],
    ),
    ("StringEquals", "aws:SourceAccount", &["111111111111"]),
    ("Bool", "kms:GrantIsForAWSResource", &["true", "false"]),
    (
        "StringLike",
        "kms:viaservice",
        &["*.eu-west-1.amazonaws.com"],
    ),
];

fn statement_model() -> impl Strategy<Value = StatementModel> {
    (
        prop::option::of("[A-Za-z0-9]{1,8}"),
        prop::bool::weighted(0.8),
        prop::option::of(prop::collection::vec(
            (0..PRINCIPAL_POOL.len(), 1..3usize),
            1..3,
        )),
        prop::collection::vec(0..ACTION_POOL.len(), 1..4),
        prop::collection::vec(0..RESOURCE_POOL.len(), 1..3),
        prop::collection::vec(
            (
                0..CONDITION_POOL.len(),
                prop::collection::vec(0..2usize, 1..3),
            ),
            0..3,
        ),
    )
        .prop_map(
            |(sid, allow, principal, actions, resources, conditions)| StatementModel {
                sid,
                allow,
                principal: principal.map(|ps| {
                    ps.into_iter()
                        .map(|(i, n)| {
                            let (kind, value) = PRINCIPAL_POOL[i];
                            (kind.to_string(), vec![value.to_string(); n])
                        })
                        .collect()
                }),
                actions: actions
                    .into_iter()
                    .map(|i| ACTION_POOL[i].to_string())
                    .collect(),
                resources: resources
                    .into_iter()
                    .map(|i| RESOURCE_POOL[i].to_string())
                    .collect(),
                conditions: conditions
                    .into_iter()
                    .map(|(i, values)| {
                        let (op, key, pool) = CONDITION_POOL[i];
                        (
                            op.to_string(),
                            key.to_string(),
                            values
                                .into_iter()
                                .map(|v| pool[v % pool.len()].to_string())
                                .collect(),
                        )
                    })
                    .collect(),
            },
        )
}

/// A list of strings as JSON: in a random order, a lone item maybe as a bare string.
fn list_value(items: &[String], rng: &mut Rng) -> Value {
    let mut items: Vec<Value> = items.iter().map(|s| Value::String(s.clone())).collect();
    shuffle(&mut items, rng);
    if items.len() == 1 && rng.coin() {
        items.remove(0)
    } else {
        Value::Array(items)
    }
}

fn object(entries: Vec<(String, Value)>, rng: &mut Rng) -> Value {
    let mut entries = entries;
    shuffle(&mut entries, rng);
    Value::Object(entries.into_iter().collect())
}

fn render_statement(s: &StatementModel, rng: &mut Rng) -> Value {
    let mut e: Vec<(String, Value)> = vec![];
    if let Some(sid) = &s.sid {
        e.push(("Sid".into(), json!(sid)));
    }
    e.push((
        "Effect".into(),
        json!(if s.allow { "Allow" } else { "Deny" }),
    ));
    if let Some(ps) = &s.principal {
        let only_star = ps
            .iter()
            .all(|(k, v)| k == "AWS" && v.iter().all(|x| x == "*"));
        if only_star && rng.coin() {
            e.push(("Principal".into(), json!("*")));
        } else {
            // Principals of one kind merged, as a JSON object cannot repeat a key.
            let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in ps {
                by_kind
                    .entry(k.clone())
                    .or_default()
                    .extend(v.iter().cloned());
            }
            let entries = by_kind
                .into_iter()
                .map(|(k, v)| {
                    let v: Vec<String> = v
                        .into_iter()
                        .map(|x| {
                            match x
                                .strip_prefix("arn:aws:iam::")
                                .and_then(|r| r.strip_suffix(":root"))
                            {
                                Some(id) if rng.coin() => id.to_string(),
                                _ => x,
                            }
                        })
                        .collect();
                    let value = list_value(&v, rng);
                    (k, value)
                })
                .collect();
            e.push(("Principal".into(), object(entries, rng)));
        }
    }
    e.push(("Action".into(), list_value(&s.actions, rng)));
    e.push(("Resource".into(), list_value(&s.resources, rng)));
    if !s.conditions.is_empty() {
        let mut ops: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for (op, key, values) in &s.conditions {
            ops.entry(op.clone())
                .or_default()
                .entry(key.clone())
                .or_default()
                .extend(values.iter().cloned());
        }
        let entries = ops
            .into_iter()
            .map(|(op, keys)| {
                let keys = keys
                    .into_iter()
                    .map(|(k, vs)| {
                        let mut items: Vec<Value> = vs
                            .iter()
                            .map(|v| match v.as_str() {
                                "true" if rng.coin() => json!(true),
                                "false" if rng.coin() => json!(false),
                                _ => json!(v),
                            })
                            .collect();
                        shuffle(&mut items, rng);
                        let value = if items.len() == 1 && rng.coin() {
                            items.remove(0)
                        } else {
                            Value::Array(items)
                        };
                        (k, value)
                    })
                    .collect();
                (op, object(keys, rng))
            })
            .collect();
        e.push(("Condition".into(), object(entries, rng)));
    }
    object(e, rng)
}

fn render_document(statements: &[StatementModel], seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut items: Vec<Value> = statements
        .iter()
        .map(|s| render_statement(s, &mut rng))
        .collect();
    shuffle(&mut items, &mut rng);
    let statement = if items.len() == 1 && rng.coin() {
        items.remove(0)
    } else {
        Value::Array(items)
    };
    let mut e = vec![
        ("Version".to_string(), json!("2012-10-17")),
        ("Statement".to_string(), statement),
    ];
    if rng.coin() {
        e.push(("Id".to_string(), json!(format!("id-{}", rng.below(100)))));
    }
    let doc = object(e, &mut rng);
    render(&doc, &mut rng)
}

fn normalized(text: &str) -> Result<Value, TestCaseError> {
    Document::parse(text, "aws")
        .map(|d| d.normalized())
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))
}

proptest! {
    #[test]
    fn normalisation_is_idempotent(statements in prop::collection::vec(statement_model(), 1..5), seed in any::<u64>()) {
        let text = render_document(&statements, seed);
        let once = normalized(&text)?;
        let twice = normalized(&pretty(&once))?;
        prop_assert_eq!(&once, &twice);
        let compact = normalized(&once.to_string())?;
        prop_assert_eq!(&once, &compact);
    }

    #[test]
    fn normalisation_ignores_formatting(statements in prop::collection::vec(statement_model(), 1..5), a in any::<u64>(), b in any::<u64>()) {
        let (x, y) = (render_document(&statements, a), render_document(&statements, b));
        prop_assert_eq!(normalized(&x)?, normalized(&y)?, "\n{}\n---\n{}", x, y);
    }
}
