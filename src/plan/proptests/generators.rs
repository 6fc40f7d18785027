//! Desired states: random accounts, regions and keys with random settings,
//! as `config` would make them of a valid keys.toml; and the small
//! deterministic randomness the other generators share.

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::model::*;

pub(super) const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
pub(super) const REGIONS: [&str; 2] = ["eu-central-1", "eu-west-1"];
pub(super) const NAMES: [&str; 4] = ["payments", "audit-log", "Data_2", "x"];
pub(super) const CLASSES: [&str; 3] = ["confidential", "internal", "logging"];
pub(super) const VIA: [&str; 4] = ["secretsmanager", "s3", "lex-v2", "dynamodb"];
pub(super) const PRINCIPALS: [&str; 3] = ["logs", "sns", "cloudtrail"];
/// Key administrators and users, as keys.toml writes them (placeholders
/// replaced per target); the last user is another account's.
pub(super) const ADMINS: [&str; 2] = [
    "arn:aws:iam::{account}:role/KeyAdmins",
    "arn:aws:iam::{account}:user/alice",
];
pub(super) const USERS: [&str; 3] = [
    "arn:aws:iam::{account}:role/app",
    "{account}",
    "arn:aws:iam::444455556666:root",
];
pub(super) const TAG_KEYS: [&str; 3] = ["team", "cost-center", "env"];
pub(super) const TAG_VALUES: [&str; 4] = ["core", "42", "prod", "a b"];
/// `[settings] ignore_tags` entries: globs that match none of [`TAG_KEYS`]
/// and no `c3:` tag, as validation requires.
pub(super) const IGNORE_GLOBS: [&str; 3] = ["owner", "created-?y", "backup*"];

// ------------------------------------------------------------------ helpers

/// splitmix64: a tiny deterministic generator for shuffles driven by a seed
/// that proptest chose (so failures replay and shrink).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    pub(super) fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

pub(super) fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

/// `i` reduced to an index of a collection of `len` items.
pub(super) fn pick(len: usize, i: usize) -> Option<usize> {
    (len > 0).then(|| i % len)
}

/// The items of `items` whose bit is set in `bits`.
pub(super) fn mask<'a>(items: &[&'a str], bits: u8) -> Vec<&'a str> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, s)| *s)
        .collect()
}

// ------------------------------------------------------------ desired state

#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)]
pub(super) struct KeyGen {
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
    admins: u8,
    users: u8,
    statements: u8,
    /// `adopt = true`.
    adopt: bool,
    /// `rotation = false` when false.
    rotation_on: bool,
    /// `managed_policies` as a mask of the three kinds (7: all, the default).
    policies: u8,
    /// Whether the converged world also holds the older generations.
    pub(super) older: bool,
    /// The kind of key: an index of [`KINDS`].
    kind: usize,
    /// A multi-Region key (when a region is common to all its accounts).
    multi_region: bool,
}

/// The kinds of key a generated key may be: (spec, usage).
pub(super) const KINDS: [(&str, &str); 4] = [
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ("RSA_2048", "ENCRYPT_DECRYPT"),
];

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
        (0u8..4, 0u8..8, 0u8..8),
        (
            prop::bool::weighted(0.4),
            prop::bool::weighted(0.85),
            prop_oneof![4 => Just(7u8), 1 => 0u8..7],
        ),
        (
            prop_oneof![5 => Just(0usize), 1 => 1usize..KINDS.len()],
            prop::bool::weighted(0.25),
        ),
    )
        .prop_map(
            |(
                (class, rotation, generation, enabled),
                (via, principals, tags),
                (accounts, regions, description, older),
                (admins, users, statements),
                (adopt, rotation_on, policies),
                (kind, multi_region),
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
                admins,
                users,
                statements,
                adopt,
                rotation_on,
                policies,
                older,
                kind,
                multi_region,
            },
        )
}

#[derive(Debug, Clone)]
pub(super) struct DesiredGen {
    /// Per account, its regions as a bit mask of [`REGIONS`] (never 0).
    accounts: Vec<u8>,
    pub(super) keys: Vec<KeyGen>,
    /// `/c3/` instead of `/` as the policy path.
    c3_path: bool,
}

pub(super) fn desired_gen() -> impl Strategy<Value = DesiredGen> {
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

impl DesiredGen {
    /// Per key, whether the converged world holds its older generations.
    pub(super) fn older(&self) -> Vec<bool> {
        self.keys.iter().map(|k| k.older).collect()
    }
}

pub(super) fn build_desired(g: &DesiredGen) -> DesiredState {
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
            let (spec_name, usage) = KINDS[k.kind];
            // As validation requires: the primary is a region of the key in
            // every one of its accounts.
            let primary = REGIONS.iter().find(|r| {
                chosen.iter().all(|a| {
                    !targets.iter().any(|t| t.account == a.id)
                        || targets.contains(&Target::new(&a.id, **r))
                })
            });
            let key_type = KeyType {
                spec: spec_name.to_string(),
                usage: usage.to_string(),
                primary_region: primary.filter(|_| k.multi_region).map(|r| (*r).to_string()),
            };
            // What validation allows and expand makes of each kind.
            let symmetric = key_type.is_symmetric_encryption();
            let kinds = PolicyKind::for_usage(usage);
            KeySpec {
                key_type,
                description: k
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("Managed by c3: {name} ({classification})")),
                name,
                classification,
                rotation_days: k.rotation,
                generation: k.generation,
                enabled: k.enabled,
                via_services: mask(&VIA, k.via)
                    .into_iter()
                    .filter(|_| symmetric)
                    .map(str::to_string)
                    .collect(),
                service_principals: mask(&PRINCIPALS, k.principals)
                    .into_iter()
                    .filter(|_| symmetric)
                    .map(str::to_string)
                    .collect(),
                administrators: mask(&ADMINS, k.admins)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                users: mask(&USERS, k.users)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                statements: declared_statements(k.statements),
                user_tags: k
                    .tags
                    .iter()
                    .map(|(key, value)| {
                        (TAG_KEYS[*key].to_string(), TAG_VALUES[*value].to_string())
                    })
                    .collect(),
                targets: targets.into_iter().collect(),
                adopt: k.adopt,
                rotation: k.rotation_on && symmetric,
                managed_policies: kinds
                    .iter()
                    .copied()
                    .enumerate()
                    .filter(|(i, _)| k.policies & (1 << i) != 0)
                    .map(|(_, kind)| kind)
                    .collect(),
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
        accept: Vec::new(),
        fleet: crate::model::Fleet::default(),
    }
}

/// Further statements a key may declare (`[[keys.statements]]`), by the
/// bits of `bits`: one of the key's account, one of another account's, and
/// a Deny.
pub(super) fn declared_statements(bits: u8) -> Vec<serde_json::Value> {
    let all = [
        serde_json::json!({
            "Sid": "AllowBackupVault",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::{account}:role/backup"},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "backup.{region}.amazonaws.com"}},
        }),
        serde_json::json!({
            "Sid": "AllowAnalyticsDecrypt",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::444455556666:role/analytics"]},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }),
        serde_json::json!({
            "Sid": "DenyKeyDeletion",
            "Effect": "Deny",
            "Principal": {"AWS": "arn:aws:iam::{account}:role/app"},
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
        }),
    ];
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, s)| s)
        .collect()
}
