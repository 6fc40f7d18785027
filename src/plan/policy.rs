//! Policy documents: parsing, normalisation, coverage and merging.
//!
//! Live policies are stored verbatim by AWS (key policies) or re-encoded
//! (IAM), so c3 never compares text. A document is parsed into
//! [`Statement`]s whose parts are sets with a canonical form:
//!
//! - a single string and a one-element list are the same list;
//! - statement order, list order, key order and whitespace do not matter;
//! - `"Principal": "*"` is `{"AWS": ["*"]}`, and a bare 12-digit account id
//!   in an AWS principal is that account's root ARN (AWS stores it so);
//! - condition values `true` and `"true"` are equal (IAM compares strings);
//! - action names and condition keys are case-insensitive, as in IAM.
//!
//! On top of that, this module answers the questions the planner asks: does a
//! live statement grant at least what a desired one asks (coverage), what
//! does it grant beyond it, what is the smallest change that adds what is
//! missing while keeping everything else (merge), and is a document safe to
//! write.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// `"2012-10-17"`, the policy language version c3 writes.
pub const POLICY_VERSION: &str = "2012-10-17";

/// A set whose members compare case-insensitively but keep their spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiSet(BTreeMap<String, String>);

impl CiSet {
    /// Adds a member. Of spellings that differ only in case, the smallest
    /// (in byte order) is kept, so the set does not depend on insertion order.
    pub fn insert(&mut self, value: &str) {
        let spelled = self
            .0
            .entry(value.to_ascii_lowercase())
            .or_insert_with(|| value.to_string());
        if value < spelled.as_str() {
            *spelled = value.to_string();
        }
    }

    /// Whether the set holds this member (case-insensitively).
    pub fn contains(&self, value: &str) -> bool {
        self.0.contains_key(&value.to_ascii_lowercase())
    }

    /// Members in canonical order, with their spelling.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'a> FromIterator<&'a str> for CiSet {
    fn from_iter<T: IntoIterator<Item = &'a str>>(iter: T) -> Self {
        let mut set = CiSet::default();
        for v in iter {
            set.insert(v);
        }
        set
    }
}

/// Principals by type (`AWS`, `Service`, `Federated`, `CanonicalUser`).
pub type Principals = BTreeMap<String, BTreeSet<String>>;

/// Conditions: operator → key (lowercase) → values. The key's spelling is kept
/// in `condition_keys`.
pub type Conditions = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// One statement in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The Sid, if any.
    pub sid: Option<String>,
    /// `Allow` or `Deny` (anything else is kept as written).
    pub effect: String,
    /// `Principal`, canonical.
    pub principal: Option<Principals>,
    /// `NotPrincipal`, canonical.
    pub not_principal: Option<Principals>,
    /// `Action`.
    pub action: Option<CiSet>,
    /// `NotAction`.
    pub not_action: Option<CiSet>,
    /// `Resource`.
    pub resource: Option<BTreeSet<String>>,
    /// `NotResource`.
    pub not_resource: Option<BTreeSet<String>>,
    /// `Condition`, canonical.
    pub condition: Conditions,
    /// Spelling of condition keys, by lowercase key.
    pub condition_keys: BTreeMap<String, String>,
}

impl Statement {
    /// Whether this is a plain `Allow` of `Action` on `Resource` (no `Not*`).
    pub fn is_plain_allow(&self) -> bool {
        self.effect == "Allow"
            && self.not_principal.is_none()
            && self.not_action.is_none()
            && self.not_resource.is_none()
    }

    /// The statement as canonical JSON.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(sid) = &self.sid {
            m.insert("Sid".into(), Value::String(sid.clone()));
        }
        m.insert("Effect".into(), Value::String(self.effect.clone()));
        if let Some(p) = &self.principal {
            m.insert("Principal".into(), principals_value(p));
        }
        if let Some(p) = &self.not_principal {
            m.insert("NotPrincipal".into(), principals_value(p));
        }
        if let Some(a) = &self.action {
            m.insert("Action".into(), strings_value(a.iter()));
        }
        if let Some(a) = &self.not_action {
            m.insert("NotAction".into(), strings_value(a.iter()));
        }
        if let Some(r) = &self.resource {
            m.insert(
                "Resource".into(),
                strings_value(r.iter().map(String::as_str)),
            );
        }
        if let Some(r) = &self.not_resource {
            m.insert(
                "NotResource".into(),
                strings_value(r.iter().map(String::as_str)),
            );
        }
        if !self.condition.is_empty() {
            let mut ops = Map::new();
            for (op, keys) in &self.condition {
                let mut km = Map::new();
                for (key, values) in keys {
                    let spelled = self.condition_keys.get(key).unwrap_or(key);
                    km.insert(
                        spelled.clone(),
                        strings_value(values.iter().map(String::as_str)),
                    );
                }
                ops.insert(op.clone(), Value::Object(km));
            }
            m.insert("Condition".into(), Value::Object(ops));
        }
        Value::Object(m)
    }
}

fn strings_value<'a>(items: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(items.map(|s| Value::String(s.to_string())).collect())
}

fn principals_value(p: &Principals) -> Value {
    let mut m = Map::new();
    for (kind, values) in p {
        m.insert(
            kind.clone(),
            strings_value(values.iter().map(String::as_str)),
        );
    }
    Value::Object(m)
}

/// A parsed policy: the raw JSON (kept for merging, so foreign statements are
/// written back exactly as they were) and its canonical statements.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document as parsed.
    pub raw: Value,
    /// Canonical statements, in document order.
    pub statements: Vec<Statement>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl Document {
    /// Parses a policy document. `partition` is used to read a bare account id
    /// principal as that account's root ARN.
    pub fn parse(text: &str, partition: &str) -> Result<Self, PolicyError> {
        let raw: Value = serde_json::from_str(text)
            .map_err(|e| PolicyError(format!("the policy is not valid JSON: {e}")))?;
        Self::from_value(raw, partition)
    }

    /// Reads an already parsed document.
    pub fn from_value(raw: Value, partition: &str) -> Result<Self, PolicyError> {
        let obj = raw
            .as_object()
            .ok_or_else(|| PolicyError("the policy is not a JSON object".into()))?;
        let statements = match obj.get("Statement") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| parse_statement(s, partition))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single @ Value::Object(_)) => vec![parse_statement(single, partition)?],
            _ => return Err(PolicyError("the policy has no Statement list".into())),
        };
        Ok(Self { raw, statements })
    }

    /// The statements with this Sid.
    pub fn by_sid(&self, sid: &str) -> Option<&Statement> {
        self.statements
            .iter()
            .find(|s| s.sid.as_deref() == Some(sid))
    }

    /// The canonical JSON: statements sorted, every list sorted, fixed key
    /// order; `Id` dropped. Two equivalent documents give the same value.
    pub fn normalized(&self) -> Value {
        let mut statements: Vec<Value> = self.statements.iter().map(Statement::to_value).collect();
        statements.sort_by_cached_key(|v| v.to_string());
        let mut m = Map::new();
        if let Some(v) = self.raw.get("Version") {
            m.insert("Version".into(), v.clone());
        }
        m.insert("Statement".into(), Value::Array(statements));
        Value::Object(m)
    }

    /// The canonical JSON, pretty-printed (what diffs show).
    pub fn normalized_text(&self) -> String {
        pretty(&self.normalized())
    }
}

/// Pretty JSON with a trailing newline.
pub fn pretty(value: &Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    s.push('\n');
    s
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(PolicyError(format!(
                    "{what} holds {other}, which is not a string"
                ))),
            })
            .collect(),
        other => Err(PolicyError(format!(
            "{what} is {other}, not a string or a list of strings"
        ))),
    }
}

fn scalar_strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    let one = |i: &Value| match i {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(PolicyError(format!("{what} holds {other}"))),
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn parse_principals(v: &Value, partition: &str) -> Result<Principals, PolicyError> {
    let mut out = Principals::new();
    match v {
        Value::String(s) if s == "*" => {
            out.entry("AWS".into()).or_default().insert("*".into());
        }
        Value::Object(m) => {
            for (kind, values) in m {
                let set = out.entry(kind.clone()).or_default();
                for value in string_list(values, "Principal")? {
                    set.insert(canonical_principal(kind, &value, partition));
                }
            }
        }
        other => {
            return Err(PolicyError(format!(
                "Principal is {other}, not \"*\" or an object"
            )))
        }
    }
    Ok(out)
}

fn canonical_principal(kind: &str, value: &str, partition: &str) -> String {
    if kind == "AWS" && value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        format!("arn:{partition}:iam::{value}:root")
    } else {
        value.to_string()
    }
}

fn parse_statement(v: &Value, partition: &str) -> Result<Statement, PolicyError> {
    let m = v
        .as_object()
        .ok_or_else(|| PolicyError("a statement is not a JSON object".into()))?;
    let sid = match m.get("Sid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(PolicyError(format!("Sid {other} is not a string"))),
    };
    let effect = match m.get("Effect") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(PolicyError("a statement has no Effect".into())),
    };
    let ci = |key: &str| -> Result<Option<CiSet>, PolicyError> {
        m.get(key)
            .map(|v| string_list(v, key).map(|l| l.iter().map(String::as_str).collect()))
            .transpose()
    };
    let set = |key: &str| -> Result<Option<BTreeSet<String>>, PolicyError> {
        m.get(key)
            .map(|v| string_list(v, key).map(|l| l.into_iter().collect()))
            .transpose()
    };
    let mut condition = Conditions::new();
    let mut condition_keys = BTreeMap::new();
    if let Some(c) = m.get("Condition") {
        let ops = c
            .as_object()
            .ok_or_else(|| PolicyError("Condition is not an object".into()))?;
        for (op, keys) in ops {
            let keys = keys
                .as_object()
                .ok_or_else(|| PolicyError(format!("Condition {op} is not an object")))?;
            let entry = condition.entry(op.clone()).or_default();
            for (key, values) in keys {
                let lower = key.to_ascii_lowercase();
                // Of spellings that differ only in case, the smallest is kept,
                // so the canonical form does not depend on key order.
                let spelled = condition_keys.entry(lower.clone()).or_insert(key.clone());
                if key < spelled {
                    *spelled = key.clone();
                }
                entry
                    .entry(lower)
                    .or_default()
                    .extend(scalar_strings(values, key)?);
            }
        }
    }
    Ok(Statement {
        sid,
        effect,
        principal: m
            .get("Principal")
            .map(|p| parse_principals(p, partition))
            .transpose()?,
        not_principal: m
            .get("NotPrincipal")
            .map(|p| parse_principals(p, partition))
            .transpose()?,
        action: ci("Action")?,
        not_action: ci("NotAction")?,
        resource: set("Resource")?,
        not_resource: set("NotResource")?,
        condition,
        condition_keys,
    })
}

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
    let mut lacks = Lacks::default();
    let mut excess = Excess::default();
    if live.effect != desired.effect {
        excess.other.push(format!(
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
            excess.other.push(format!("uses {name}"));
        }
    }
    // actions
    let empty = CiSet::default();
    let live_actions = live.action.as_ref().unwrap_or(&empty);
    let desired_actions = desired.action.as_ref().unwrap_or(&empty);
    for a in desired_actions.iter() {
        if !actions_cover(live_actions, a) {
            lacks.actions.push(a.to_string());
        }
    }
    for a in live_actions.iter() {
        if !actions_cover(desired_actions, a) {
            excess.actions.push(a.to_string());
        }
    }
    // principals
    let no_principals = Principals::new();
    let live_p = live.principal.as_ref().unwrap_or(&no_principals);
    let desired_p = desired.principal.as_ref().unwrap_or(&no_principals);
    for (kind, values) in desired_p {
        for v in values {
            if !principal_covered(live_p, kind, v) {
                lacks.principals.push((kind.clone(), v.clone()));
            }
        }
    }
    for (kind, values) in live_p {
        for v in values {
            if !principal_covered(desired_p, kind, v) {
                excess.principals.push((kind.clone(), v.clone()));
            }
        }
    }
    // resources
    let no_resources = BTreeSet::new();
    let live_r = live.resource.as_ref().unwrap_or(&no_resources);
    let desired_r = desired.resource.as_ref().unwrap_or(&no_resources);
    for r in desired_r {
        if !live_r.iter().any(|l| glob_match(l, r, false)) {
            lacks.resources.push(r.clone());
        }
    }
    for r in live_r {
        if !desired_r.iter().any(|d| glob_match(d, r, false)) {
            excess.resources.push(r.clone());
        }
    }
    // conditions
    for (op, keys) in &desired.condition {
        for (key, values) in keys {
            let live_values = live.condition.get(op).and_then(|k| k.get(key));
            for v in values {
                if !live_values.is_some_and(|lv| lv.contains(v)) {
                    let spelled = desired.condition_keys.get(key).unwrap_or(key);
                    lacks
                        .conditions
                        .push((op.clone(), spelled.clone(), v.clone()));
                }
            }
        }
    }
    for (op, keys) in &live.condition {
        for (key, values) in keys {
            let desired_values = desired.condition.get(op).and_then(|k| k.get(key));
            let spelled = live.condition_keys.get(key).unwrap_or(key);
            match desired_values {
                None => excess.other.push(format!(
                    "has condition {op} {spelled} that keys.toml does not declare"
                )),
                Some(dv) => {
                    for v in values {
                        if !dv.contains(v) {
                            excess
                                .conditions
                                .push((op.clone(), spelled.clone(), v.clone()));
                        }
                    }
                }
            }
        }
    }
    (lacks, excess)
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

/// Characters of a document once whitespace is removed (IAM's size measure).
pub fn size_without_whitespace(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks a key policy before it is written: the account root keeps `kms:*`
/// (nobody is locked out), and no statement makes the key usable by anyone
/// (an `Allow` of principal `*` whose conditions do not limit callers to an
/// account, organisation, network or named principal; see
/// [`super::risk::public_reason`]). Returns what is wrong.
pub fn check_key_policy(doc: &Document, account: &str, partition: &str) -> Result<(), String> {
    let root = format!("arn:{partition}:iam::{account}:root");
    let root_ok = doc.statements.iter().any(|s| {
        s.is_plain_allow()
            && s.condition.is_empty()
            && s.principal
                .as_ref()
                .and_then(|p| p.get("AWS"))
                .is_some_and(|v| v.contains(&root))
            && s.action.as_ref().is_some_and(|a| actions_cover(a, "kms:*"))
            && s.resource.as_ref().is_some_and(|r| r.contains("*"))
    });
    if !root_ok {
        return Err(format!(
            "no statement allows {root} kms:* on \"*\" (EnableRootAccess): writing it could lock the account out of the key"
        ));
    }
    for s in &doc.statements {
        if let Some(why) = super::risk::public_reason(s) {
            let sid = s.sid.as_deref().unwrap_or("(no Sid)");
            return Err(format!(
                "statement {sid} would make the key usable by anyone ({why}): c3 never writes such a policy"
            ));
        }
    }
    Ok(())
}

/// The last check before a key policy text is written (apply runs it before
/// every CreateKey and PutKeyPolicy): it parses, fits AWS's 32 KB limit,
/// keeps the account root's access and opens the key to nobody.
pub fn check_key_policy_text(policy: &str, target: &crate::model::Target) -> Result<(), String> {
    let max = super::desired::KEY_POLICY_MAX_BYTES;
    if policy.len() > max {
        return Err(format!(
            "the key policy is {} bytes, over AWS's limit of {max}",
            policy.len()
        ));
    }
    let part = crate::model::partition(&target.region);
    let doc = Document::parse(policy, part).map_err(|e| e.to_string())?;
    check_key_policy(&doc, &target.account, part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        match Document::parse(text, "aws") {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob_match("kms:*", "kms:Encrypt", true));
        assert!(glob_match("kms:*", "kms:ReEncrypt*", true));
        assert!(glob_match("KMS:encrypt", "kms:Encrypt", true));
        assert!(glob_match("kms:ReEncrypt*", "kms:ReEncryptFrom", true));
        assert!(!glob_match("kms:ReEncryptTo", "kms:ReEncrypt*", true));
        assert!(glob_match("kms:Get?ey*", "kms:GetKeyPolicy", true));
        assert!(!glob_match("arn:aws:kms:*", "ARN:aws:kms:x", false));
        assert!(glob_match("*", "", false));
        assert!(!glob_match("a", "", false));
    }

    #[test]
    fn equivalent_documents_normalize_the_same() {
        let a = doc(r#"{"Version":"2012-10-17","Id":"x","Statement":[
              {"Sid":"A","Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*",
               "Condition":{"Bool":{"kms:GrantIsForAWSResource":true}}},
              {"Sid":"B","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":["kms:*"],"Resource":["*"]}]}"#);
        let b = doc(r#"{
  "Statement" : [ {
    "Resource" : "*", "Action" : "kms:*", "Effect" : "Allow",
    "Principal" : { "AWS" : [ "arn:aws:iam::111111111111:root" ] }, "Sid" : "B" },
   { "Condition": {"Bool": {"kms:GrantIsForAWSResource": ["true"]}},
     "Sid":"A","Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt"],"Resource":"*"} ],
  "Version" : "2012-10-17", "Id": "other"
}"#);
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn spelling_does_not_depend_on_order() {
        // Found by the property tests: of two spellings of one action or
        // condition key, the first one met was kept, so list and key order
        // showed in the normalised document.
        let a = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":["kms:encrypt","kms:Encrypt"],"Resource":"*",
            "Condition":{"StringLike":{"kms:viaservice":"*.eu-west-1.amazonaws.com"},
                         "StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
        );
        let b = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:encrypt"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"},
                         "StringLike":{"kms:viaservice":"*.eu-west-1.amazonaws.com"}}}]}"#,
        );
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(
            a.normalized()["Statement"][0]["Action"],
            serde_json::json!(["kms:Encrypt"])
        );
    }

    #[test]
    fn compare_finds_lacks_and_excess() {
        let live = doc(
            r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"*"},
            "Action":["kms:Encrypt","kms:Sign"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:CallerAccount":"111111111111","kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
        );
        let desired = doc(
            r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"*"},
            "Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:CallerAccount":"111111111111","kms:ViaService":["s3.eu-west-1.amazonaws.com","sqs.eu-west-1.amazonaws.com"]}}}]}"#,
        );
        let (lacks, excess) = compare_statement(&live.statements[0], &desired.statements[0]);
        assert_eq!(lacks.actions, vec!["kms:Decrypt"]);
        assert_eq!(
            lacks.conditions,
            vec![(
                "StringEquals".to_string(),
                "kms:ViaService".to_string(),
                "sqs.eu-west-1.amazonaws.com".to_string()
            )]
        );
        assert_eq!(excess.actions, vec!["kms:Sign"]);
        assert!(excess.principals.is_empty());

        let mut raw = live.raw["Statement"][0].clone();
        add_to_statement(&mut raw, &lacks);
        let merged = parse_statement(&raw, "aws").unwrap_or_else(|e| panic!("{e}"));
        let (lacks2, _) = compare_statement(&merged, &desired.statements[0]);
        assert!(lacks2.is_empty(), "{lacks2:?}");
    }

    #[test]
    fn wildcard_action_covers_specific_ones() {
        let live = doc(
            r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"kms:*","Resource":"*"}]}"#,
        );
        let desired = doc(
            r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":["kms:Encrypt","kms:ReEncrypt*"],"Resource":"*"}]}"#,
        );
        let (lacks, excess) = compare_statement(&live.statements[0], &desired.statements[0]);
        assert!(lacks.is_empty());
        assert_eq!(excess.actions, vec!["kms:*"]);
    }

    #[test]
    fn safety_check_refuses_lockout_and_public_keys() {
        let ok = doc(
            r#"{"Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}"#,
        );
        assert!(check_key_policy(&ok, "111111111111", "aws").is_ok());
        assert!(check_key_policy(&ok, "222222222222", "aws").is_err());
        let public = doc(
            r#"{"Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kms:*","Resource":"*"},
           {"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
        );
        let err = check_key_policy(&public, "111111111111", "aws").unwrap_err();
        assert!(err.contains("Open"), "{err}");
        // Principal "*" limited to the account's callers is not public.
        let pinned = doc(
            r#"{"Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kms:*","Resource":"*"},
           {"Sid":"Account","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111111111111"}}}]}"#,
        );
        assert!(check_key_policy(&pinned, "111111111111", "aws").is_ok());
    }

    #[test]
    fn append_keeps_single_strings_single() {
        let mut v: Value = serde_json::from_str(r#"{"Action":"kms:Encrypt"}"#).unwrap_or_default();
        let lacks = Lacks {
            actions: vec!["kms:Encrypt".into()],
            ..Lacks::default()
        };
        add_to_statement(&mut v, &lacks);
        assert_eq!(v["Action"], Value::String("kms:Encrypt".into()));
    }
}
