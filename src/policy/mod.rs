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

mod check;
mod compare;
pub mod risk;
pub mod services;

pub use check::{check_key_policy, check_key_policy_text, size_without_whitespace};
pub use compare::{actions_cover, add_to_statement, compare_statement, glob_match, Excess, Lacks};

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
    /// What a finding about this statement is about (a plan change's
    /// `subject`): its Sid, or for a statement without one, its principals.
    pub fn subject(&self) -> String {
        self.sid.clone().unwrap_or_else(|| {
            self.principal
                .iter()
                .chain(&self.not_principal)
                .flat_map(|p| p.values().flatten())
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    /// Whether this statement grants (or denies) exactly what `other` does:
    /// the same effect, principals, actions, resources and conditions after
    /// normalisation, whatever the Sids (design.md, "Key policy content": the
    /// console's `Enable IAM User Permissions` is c3's `EnableRootAccess`).
    pub fn grants_same(&self, other: &Statement) -> bool {
        self.effect == other.effect
            && self.principal == other.principal
            && self.not_principal == other.not_principal
            && self.action == other.action
            && self.not_action == other.not_action
            && self.resource == other.resource
            && self.not_resource == other.not_resource
            && self.condition == other.condition
    }

    /// Whether this is a plain `Allow` of `Action` on `Resource` (no `Not*`).
    pub fn is_plain_allow(&self) -> bool {
        self.effect == "Allow"
            && self.not_principal.is_none()
            && self.not_action.is_none()
            && self.not_resource.is_none()
    }

    /// The `Condition` block as canonical JSON, or `None` when there is none.
    pub fn condition_value(&self) -> Option<Value> {
        if self.condition.is_empty() {
            return None;
        }
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
        Some(Value::Object(ops))
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
        if let Some(c) = self.condition_value() {
            m.insert("Condition".into(), c);
        }
        Value::Object(m)
    }
}

/// A statement's condition block in canonical form (or none), as one value:
/// equal when the blocks are, and ordered by their canonical JSON, so sets of
/// grants iterate in the same order whatever the document's spelling.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// The canonical block; `None` for no condition.
    value: Option<Value>,
    /// Its compact JSON (empty for none): the identity and order of the condition.
    canonical: String,
}

impl Condition {
    /// The condition of a statement.
    pub fn of(statement: &Statement) -> Self {
        let value = statement.condition_value();
        let canonical = value.as_ref().map(Value::to_string).unwrap_or_default();
        Self { value, canonical }
    }

    /// A condition block as c3 writes it, in canonical form; `None` (no
    /// condition) when the block is not a valid condition.
    pub fn from_block(block: &Value, partition: &str) -> Self {
        let statement = serde_json::json!({"Effect": "Allow", "Condition": block});
        parse_statement(&statement, partition)
            .map(|s| Self::of(&s))
            .unwrap_or_default()
    }

    /// Whether there is no condition.
    pub fn is_none(&self) -> bool {
        self.value.is_none()
    }

    /// The canonical block, to write into a statement.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}

impl Eq for Condition {}

impl PartialOrd for Condition {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Condition {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.canonical.cmp(&other.canonical)
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
        statements.sort_by_cached_key(std::string::ToString::to_string);
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

pub(crate) fn parse_statement(v: &Value, partition: &str) -> Result<Statement, PolicyError> {
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
                    spelled.clone_from(key);
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

#[cfg(test)]
mod tests;
