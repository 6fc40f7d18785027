//! Reading a live key policy back into keys.toml's words: the statements
//! equal (whatever their Sid) to what c3 builds for root access, a
//! via-service, a service principal, administrators or users become those
//! fields; every other statement becomes a `[[keys.statements]]` table when
//! c3 can write it, and something import cannot express otherwise.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::model::{dns_suffix, partition, KeySpec, Target};
use crate::plan::desired::{
    key_policy_statements, ADMINISTRATOR_ACTIONS, USER_ACTIONS, USER_GRANT_ACTIONS,
};
use crate::policy::{parse_statement, risk, services, Statement};

/// What a key policy says in keys.toml's words, for one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recognised {
    /// Whether the policy holds c3's `EnableRootAccess` (under any Sid).
    pub root: bool,
    /// `via_services`.
    pub via_services: BTreeSet<String>,
    /// `service_principals` (short names where the table has one).
    pub service_principals: BTreeSet<String>,
    /// `administrators`, the key's account written `{account}`.
    pub administrators: BTreeSet<String>,
    /// `users`, likewise.
    pub users: BTreeSet<String>,
    /// Further statements as `[[keys.statements]]` writes them (IAM's JSON,
    /// a Sid c3 accepts, `{account}` and `{region}` in place of the
    /// target's), each with the plan's subject of the live statement.
    pub statements: Vec<(Value, String)>,
    /// What cannot be written: (the plan's subject for it, why).
    pub unexpressed: Vec<(String, String)>,
}

/// An empty spec for a target's statements.
fn spec() -> KeySpec {
    KeySpec {
        key_type: crate::model::KeyType::default(),
        name: "imported".into(),
        classification: "imported".into(),
        description: String::new(),
        rotation_days: 365,
        generation: 1,
        enabled: true,
        via_services: BTreeSet::new(),
        service_principals: BTreeSet::new(),
        administrators: BTreeSet::new(),
        users: BTreeSet::new(),
        statements: Vec::new(),
        user_tags: std::collections::BTreeMap::new(),
        targets: Vec::new(),
        adopt: false,
        rotation: true,
        managed_policies: BTreeSet::new(),
    }
}

/// The statements c3 builds for `spec` in `target`, without root access.
fn built(spec: &KeySpec, target: &Target) -> Vec<Statement> {
    let part = partition(&target.region);
    key_policy_statements(spec, target)
        .iter()
        .skip(1)
        .filter_map(|v| parse_statement(v, part).ok())
        .collect()
}

/// A statement without what does not change what it grants.
fn grant_of(s: &Statement) -> Statement {
    let mut s = s.clone();
    s.sid = None;
    s.condition_keys.clear();
    s
}

/// The live statements, each with its raw JSON, and whether it is used yet.
struct Live {
    items: Vec<(Value, Statement, bool)>,
}

impl Live {
    /// Marks used the unused statements equal to every one of `wanted`, if
    /// all are there; returns whether they were.
    fn take_all(&mut self, wanted: &[Statement]) -> bool {
        let mut picked = Vec::new();
        for w in wanted {
            let w = grant_of(w);
            let found =
                self.items.iter().enumerate().position(|(i, (_, s, used))| {
                    !*used && !picked.contains(&i) && grant_of(s) == w
                });
            match found {
                Some(i) => picked.push(i),
                None => return false,
            }
        }
        for i in picked {
            self.items[i].2 = true;
        }
        !wanted.is_empty()
    }
}

/// Reads a key policy (verbatim JSON) of a key in `target`.
pub fn recognise(policy: &str, target: &Target) -> Recognised {
    let mut out = Recognised::default();
    let part = partition(&target.region);
    let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(policy) else {
        out.unexpressed
            .push(("*".into(), "the key policy is not a JSON object".into()));
        return out;
    };
    let raw: Vec<Value> = match doc.remove("Statement") {
        Some(Value::Array(items)) => items,
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut live = Live { items: Vec::new() };
    for v in raw {
        match parse_statement(&v, part) {
            Ok(s) => live.items.push((v, s, false)),
            Err(e) => out.unexpressed.push(("*".into(), e.0)),
        }
    }
    let root = crate::plan::desired::key_policy_statements(&spec(), target);
    if let Some(Ok(root)) = root.first().map(|v| parse_statement(v, part)) {
        out.root = live.take_all(&[root]);
    }
    via_services(&mut live, target, &mut out);
    service_principals(&mut live, target, &mut out);
    people(&mut live, target, &mut out);
    rest(&live, target, &mut out);
    out
}

/// `kms:ViaService` statements equal to c3's.
fn via_services(live: &mut Live, target: &Target, out: &mut Recognised) {
    let tail = format!(".{}.{}", target.region, dns_suffix(&target.region));
    let candidates: Vec<String> = live
        .items
        .iter()
        .filter(|(_, _, used)| !used)
        .filter_map(|(_, s, _)| s.condition.get("StringEquals")?.get("kms:viaservice"))
        .flat_map(|values| values.iter())
        .filter_map(|v| v.strip_suffix(&tail).map(str::to_string))
        .collect();
    for svc in candidates {
        let mut spec = spec();
        spec.via_services.insert(svc.clone());
        if live.take_all(&built(&spec, target)) {
            out.via_services.insert(svc);
        }
    }
}

/// Service-principal statements equal to what c3 builds for a short name of
/// its table, or for the full principal.
fn service_principals(live: &mut Live, target: &Target, out: &mut Recognised) {
    let suffix = dns_suffix(&target.region);
    let principals: BTreeSet<String> = live
        .items
        .iter()
        .filter(|(_, _, used)| !used)
        .filter_map(|(_, s, _)| s.principal.as_ref()?.get("Service"))
        .flat_map(|set| set.iter().cloned())
        .collect();
    for principal in principals {
        let Some(head) = principal.strip_suffix(&format!(".{suffix}")) else {
            continue;
        };
        let regional_head = head.strip_suffix(&format!(".{}", target.region));
        let mut candidates: Vec<String> = services::SERVICES
            .iter()
            .filter(|s| {
                if s.regional {
                    regional_head == Some(s.name)
                } else {
                    head == s.name
                }
            })
            .map(|s| s.name.to_string())
            .collect();
        candidates.push(match regional_head {
            Some(h) => format!("{h}.{{region}}.{suffix}"),
            None => principal.clone(),
        });
        for entry in candidates {
            let mut spec = spec();
            spec.service_principals.insert(entry.clone());
            if live.take_all(&built(&spec, target)) {
                out.service_principals.insert(entry);
                break;
            }
        }
    }
}

/// The AWS principals of a statement, the target's account written `{account}`.
fn aws_principals(s: &Statement, account: &str) -> Option<BTreeSet<String>> {
    let p = s.principal.as_ref()?;
    if p.len() != 1 {
        return None;
    }
    let set = p.get("AWS")?;
    Some(set.iter().map(|a| templated(a, account, None)).collect())
}

/// Whether a statement's actions are exactly `actions` (ignoring case).
fn actions_are(s: &Statement, actions: &[&str]) -> bool {
    s.action
        .as_ref()
        .is_some_and(|a| a.len() == actions.len() && actions.iter().all(|x| a.contains(x)))
}

/// Administrators and users: the console's statements, which c3's equal.
fn people(live: &mut Live, target: &Target, out: &mut Recognised) {
    let account = target.account.as_str();
    let admins: Vec<BTreeSet<String>> = live
        .items
        .iter()
        .filter(|(_, s, used)| !used && actions_are(s, ADMINISTRATOR_ACTIONS))
        .filter_map(|(_, s, _)| aws_principals(s, account))
        .collect();
    for set in admins {
        let mut spec = spec();
        spec.administrators.clone_from(&set);
        if out.administrators.is_empty() && live.take_all(&built(&spec, target)) {
            out.administrators = set;
        }
    }
    let users: Vec<BTreeSet<String>> = live
        .items
        .iter()
        .filter(|(_, s, used)| !used && actions_are(s, USER_ACTIONS))
        .filter_map(|(_, s, _)| aws_principals(s, account))
        .collect();
    for set in users {
        let mut spec = spec();
        spec.users.clone_from(&set);
        let wanted = built(&spec, target);
        debug_assert!(wanted.iter().any(|s| actions_are(s, USER_GRANT_ACTIONS)));
        if out.users.is_empty() && live.take_all(&wanted) {
            out.users = set;
        }
    }
}

/// Every other statement: a `[[keys.statements]]` table when c3 can write
/// it, else something import cannot express.
fn rest(live: &Live, target: &Target, out: &mut Recognised) {
    let mut sids: BTreeSet<String> = BTreeSet::new();
    for (raw, s, used) in &live.items {
        if *used {
            continue;
        }
        let subject = s.subject();
        if let Some(why) = unwritable(s) {
            out.unexpressed.push((subject, why));
            continue;
        }
        let sid = unique(&sid_for(s.sid.as_deref(), sids.len() + 1), &sids);
        sids.insert(sid.clone());
        out.statements.push((
            lowercase_fields(raw, &sid, &target.account, &target.region),
            subject,
        ));
    }
}

/// Why c3 cannot write a statement as `[[keys.statements]]`, or `None`.
fn unwritable(s: &Statement) -> Option<String> {
    if s.effect != "Allow" && s.effect != "Deny" {
        return Some(format!(
            "its effect {:?} is neither Allow nor Deny",
            s.effect
        ));
    }
    if s.not_principal.is_some() || s.not_action.is_some() || s.not_resource.is_some() {
        return Some("it uses NotPrincipal, NotAction or NotResource".into());
    }
    if s.principal.is_none() {
        return Some("it has no Principal".into());
    }
    let actions = s.action.as_ref()?;
    if actions.is_empty()
        || actions
            .iter()
            .any(|a| !a.to_ascii_lowercase().starts_with("kms:"))
    {
        return Some("it names an action that is not kms:…".into());
    }
    if let Some(why) = risk::public_reason(s) {
        return Some(format!("{why}; c3 never writes a public statement"));
    }
    None
}

/// A Sid c3 accepts for a statement: its words joined (`Allow use of the
/// key` → `AllowUseOfTheKey`), `Imported` before one of c3's own Sids, or
/// `ImportedStatement<n>` when it has none.
pub fn sid_for(sid: Option<&str>, n: usize) -> String {
    let words: String = sid
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let mut sid = if words.is_empty() {
        format!("ImportedStatement{n}")
    } else if crate::plan::desired::is_reserved_sid(&words) {
        format!("Imported{words}")
    } else {
        words
    };
    sid.truncate(128);
    sid
}

fn unique(sid: &str, taken: &BTreeSet<String>) -> String {
    let mut candidate = sid.to_string();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{sid}{n}");
        n += 1;
    }
    candidate
}

/// `text` with the account id written `{account}` (and, with a region, the
/// region written `{region}`).
pub fn templated(text: &str, account: &str, region: Option<&str>) -> String {
    let out = text.replace(account, "{account}");
    match region {
        Some(r) => out.replace(r, "{region}"),
        None => out,
    }
}

/// A value with the target's account and region templated, and numbers
/// written as strings (keys.toml's conditions take strings; IAM compares
/// numbers as strings anyway).
fn templated_value(v: &Value, account: &str, region: &str) -> Value {
    match v {
        Value::String(s) => Value::String(templated(s, account, Some(region))),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| templated_value(i, account, region))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        templated(k, account, Some(region)),
                        templated_value(v, account, region),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A live statement in `[[keys.statements]]`'s field names, with `sid`.
fn lowercase_fields(raw: &Value, sid: &str, account: &str, region: &str) -> Value {
    let mut m = Map::new();
    m.insert("sid".into(), Value::String(sid.into()));
    if let Value::Object(fields) = raw {
        for (field, name) in [
            ("Effect", "effect"),
            ("Principal", "principal"),
            ("Action", "action"),
            ("Resource", "resource"),
            ("Condition", "condition"),
        ] {
            if let Some(v) = fields.get(field) {
                m.insert(name.into(), templated_value(v, account, region));
            }
        }
    }
    Value::Object(m)
}

#[cfg(test)]
#[path = "recognise_tests.rs"]
mod tests;
