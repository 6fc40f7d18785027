//! What a live statement grants compared with a desired one: coverage
//! (IAM's globs), what it lacks and what it grants beyond, and the smallest
//! change that adds what it lacks while keeping everything else.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{CiSet, Principals, Statement};

/// Whether an IAM-style pattern (`*` any run, `?` one character) matches a
/// value, ASCII case-insensitively when `ci` is set. A desired action that is
/// itself a pattern (`kms:ReEncrypt*`) is matched as literal text, so
/// `kms:*` covers it and `kms:ReEncrypt*` covers itself.
pub fn glob_match(pattern: &str, value: &str, ci: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if ci {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let p = norm(pattern);
    let v = norm(value);
    let (mut pi, mut vi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether some live action pattern covers the desired action.
pub fn actions_cover(live: &CiSet, desired: &str) -> bool {
    live.iter().any(|l| glob_match(l, desired, true))
}

/// Whether the live principals cover one desired principal value.
fn principal_covered(live: &Principals, kind: &str, value: &str) -> bool {
    live.get(kind)
        .is_some_and(|vals| vals.contains(value) || (kind == "AWS" && vals.contains("*")))
}

/// What a live statement lacks compared with the desired one of the same Sid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lacks {
    /// Desired actions the live statement does not grant.
    pub actions: Vec<String>,
    /// Desired principals (`type:value`) missing.
    pub principals: Vec<(String, String)>,
    /// Desired resources missing.
    pub resources: Vec<String>,
    /// Desired condition values missing: (operator, key, value).
    pub conditions: Vec<(String, String, String)>,
}

impl Lacks {
    /// Whether nothing is lacking.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
            && self.principals.is_empty()
            && self.resources.is_empty()
            && self.conditions.is_empty()
    }

    /// A short description: `actions kms:Decrypt; condition StringEquals kms:ViaService=s3.eu-west-1.amazonaws.com`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.actions.is_empty() {
            parts.push(format!("actions {}", self.actions.join(", ")));
        }
        if !self.principals.is_empty() {
            let p: Vec<String> = self
                .principals
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            parts.push(format!("principals {}", p.join(", ")));
        }
        if !self.resources.is_empty() {
            parts.push(format!("resources {}", self.resources.join(", ")));
        }
        if !self.conditions.is_empty() {
            let c: Vec<String> = self
                .conditions
                .iter()
                .map(|(op, k, v)| format!("{op} {k}={v}"))
                .collect();
            parts.push(format!("conditions {}", c.join(", ")));
        }
        parts.join("; ")
    }
}

/// What a live statement grants beyond the desired one (or other ways it
/// differs that c3 will not change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excess {
    /// Live actions the desired statement does not ask for.
    pub actions: Vec<String>,
    /// Live principals the desired statement does not name.
    pub principals: Vec<(String, String)>,
    /// Live resources the desired statement does not name.
    pub resources: Vec<String>,
    /// Live condition values the desired statement does not ask for.
    pub conditions: Vec<(String, String, String)>,
    /// Other differences (effect, `Not*` elements).
    pub other: Vec<String>,
}

impl Excess {
    /// Whether the live statement grants nothing beyond the desired one.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
            && self.principals.is_empty()
            && self.resources.is_empty()
            && self.conditions.is_empty()
            && self.other.is_empty()
    }

    /// A short description.
    pub fn describe(&self) -> String {
        let lacks = Lacks {
            actions: self.actions.clone(),
            principals: self.principals.clone(),
            resources: self.resources.clone(),
            conditions: self.conditions.clone(),
        };
        let mut parts = vec![];
        let l = lacks.describe();
        if !l.is_empty() {
            parts.push(l);
        }
        parts.extend(self.other.iter().cloned());
        parts.join("; ")
    }
}

/// Compares a live statement with the desired statement of the same Sid.
pub fn compare_statement(live: &Statement, desired: &Statement) -> (Lacks, Excess) {
    let empty = CiSet::default();
    let (live_a, desired_a) = (
        live.action.as_ref().unwrap_or(&empty),
        desired.action.as_ref().unwrap_or(&empty),
    );
    let none = Principals::new();
    let (live_p, desired_p) = (
        live.principal.as_ref().unwrap_or(&none),
        desired.principal.as_ref().unwrap_or(&none),
    );
    let nothing = BTreeSet::new();
    let (live_r, desired_r) = (
        live.resource.as_ref().unwrap_or(&nothing),
        desired.resource.as_ref().unwrap_or(&nothing),
    );
    let resource_in =
        |set: &BTreeSet<String>, r: &String| set.iter().any(|p| glob_match(p, r, false));
    let lacks = Lacks {
        actions: uncovered(desired_a.iter().map(str::to_string), |a| {
            actions_cover(live_a, a)
        }),
        principals: uncovered(pairs(desired_p), |(k, v)| principal_covered(live_p, k, v)),
        resources: uncovered(desired_r.iter().cloned(), |r| resource_in(live_r, r)),
        conditions: lacking_conditions(live, desired),
    };
    let (conditions, undeclared) = excess_conditions(live, desired);
    let mut other = other_differences(live, desired);
    other.extend(undeclared);
    let excess = Excess {
        actions: uncovered(live_a.iter().map(str::to_string), |a| {
            actions_cover(desired_a, a)
        }),
        principals: uncovered(pairs(live_p), |(k, v)| principal_covered(desired_p, k, v)),
        resources: uncovered(live_r.iter().cloned(), |r| resource_in(desired_r, r)),
        conditions,
        other,
    };
    (lacks, excess)
}

/// The items `covered` does not cover, in order.
fn uncovered<T>(items: impl Iterator<Item = T>, covered: impl Fn(&T) -> bool) -> Vec<T> {
    items.filter(|i| !covered(i)).collect()
}

/// Principals as (type, value) pairs.
fn pairs(p: &Principals) -> impl Iterator<Item = (String, String)> + '_ {
    p.iter()
        .flat_map(|(kind, values)| values.iter().map(move |v| (kind.clone(), v.clone())))
}

/// How a live statement differs in ways c3 will not change: its effect, `Not*` elements.
fn other_differences(live: &Statement, desired: &Statement) -> Vec<String> {
    let mut other = Vec::new();
    if live.effect != desired.effect {
        other.push(format!(
            "Effect is {} (keys.toml: {})",
            live.effect, desired.effect
        ));
    }
    for (name, present) in [
        ("NotPrincipal", live.not_principal.is_some()),
        ("NotAction", live.not_action.is_some()),
        ("NotResource", live.not_resource.is_some()),
    ] {
        if present {
            other.push(format!("uses {name}"));
        }
    }
    other
}

/// The desired condition values the live statement lacks: (operator, key as
/// keys.toml spells it, value).
fn lacking_conditions(live: &Statement, desired: &Statement) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (op, keys) in &desired.condition {
        for (key, values) in keys {
            let live_values = live.condition.get(op).and_then(|k| k.get(key));
            let spelled = desired.condition_keys.get(key).unwrap_or(key);
            for v in values
                .iter()
                .filter(|v| !live_values.is_some_and(|lv| lv.contains(*v)))
            {
                out.push((op.clone(), spelled.clone(), v.clone()));
            }
        }
    }
    out
}

/// The live condition values beyond the desired ones (operator, key as the
/// live policy spells it, value), and the live conditions keys.toml does not
/// declare at all (described).
fn excess_conditions(
    live: &Statement,
    desired: &Statement,
) -> (Vec<(String, String, String)>, Vec<String>) {
    let (mut values_beyond, mut undeclared) = (Vec::new(), Vec::new());
    for (op, keys) in &live.condition {
        for (key, values) in keys {
            let spelled = live.condition_keys.get(key).unwrap_or(key);
            match desired.condition.get(op).and_then(|k| k.get(key)) {
                None => undeclared.push(format!(
                    "has condition {op} {spelled} that keys.toml does not declare"
                )),
                Some(dv) => values_beyond.extend(
                    values
                        .iter()
                        .filter(|v| !dv.contains(*v))
                        .map(|v| (op.clone(), spelled.clone(), v.clone())),
                ),
            }
        }
    }
    (values_beyond, undeclared)
}

/// Adds to a raw JSON statement what it lacks (actions, principals,
/// resources, condition values), keeping everything it has.
pub fn add_to_statement(raw: &mut Value, lacks: &Lacks) {
    let Some(m) = raw.as_object_mut() else {
        return;
    };
    append_strings(m, "Action", lacks.actions.iter().cloned());
    append_strings(m, "Resource", lacks.resources.iter().cloned());
    if !lacks.principals.is_empty() {
        let principal = m
            .entry("Principal")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::String(s) = principal {
            // "*" → {"AWS": "*"}
            let mut obj = Map::new();
            obj.insert("AWS".into(), Value::String(s.clone()));
            *principal = Value::Object(obj);
        }
        if let Value::Object(pm) = principal {
            for (kind, value) in &lacks.principals {
                append_strings(pm, kind, std::iter::once(value.clone()));
            }
        }
    }
    if !lacks.conditions.is_empty() {
        let cond = m
            .entry("Condition")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(cm) = cond {
            for (op, key, value) in &lacks.conditions {
                let ops = cm
                    .entry(op.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(km) = ops {
                    // The key may be spelled differently in the live document.
                    let existing = km
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(key))
                        .cloned()
                        .unwrap_or_else(|| key.clone());
                    append_strings(km, &existing, std::iter::once(value.clone()));
                }
            }
        }
    }
}

/// Appends strings to a field that may be absent, a string or a list; a
/// one-element result stays a string, as AWS writes it.
fn append_strings(m: &mut Map<String, Value>, field: &str, add: impl Iterator<Item = String>) {
    let add: Vec<String> = add.collect();
    if add.is_empty() {
        return;
    }
    let mut list: Vec<Value> = match m.remove(field) {
        None => vec![],
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
    };
    for a in add {
        if !list.iter().any(|v| v.as_str() == Some(a.as_str())) {
            list.push(Value::String(a));
        }
    }
    let value = if list.len() == 1 {
        list.remove(0)
    } else {
        Value::Array(list)
    };
    m.insert(field.to_string(), value);
}
