//! `[[keys.statements]]` as written: a further key-policy statement in
//! IAM's field names.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::SID_PATTERN;

/// `[[keys.statements]]`: one further key-policy statement, in IAM's field
/// names (lowercase). c3 owns it like its own statements: it is compared and
/// merged by its Sid. `{account}` and `{region}` in any string are replaced
/// per target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementFile {
    /// The statement id: 1 to 128 letters and digits, unique among the
    /// key's statements and its classification's, and not one of c3's own
    /// (`EnableRootAccess`, `AllowViaService…`, `AllowService…`,
    /// `AllowKeyAdministrators`, `AllowKeyUsers…`).
    #[schemars(required, regex(pattern = SID_PATTERN))]
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    #[schemars(required, regex(pattern = "^(Allow|Deny)$"))]
    pub effect: Option<String>,
    /// `{ AWS = "arn:…" }`, `{ Service = "….amazonaws.com" }` (a value or
    /// a list), or `"*"`; never public (`*` needs a condition that pins the
    /// account).
    #[schemars(required)]
    pub principal: Option<PrincipalFile>,
    /// KMS actions (`kms:Decrypt`, `kms:GenerateDataKey*`).
    #[schemars(required)]
    pub action: Option<Strings>,
    /// Default `"*"` (the key itself).
    pub resource: Option<Strings>,
    /// Operator → condition key → value(s), e.g.
    /// `{ StringEquals = { "kms:ViaService" = "backup.{region}.amazonaws.com" } }`.
    pub condition: Option<BTreeMap<String, BTreeMap<String, ConditionValue>>>,
}

/// A string or a list of strings, as IAM allows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Strings {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl Strings {
    /// The values.
    pub(crate) fn values(&self) -> Vec<&str> {
        match self {
            Strings::One(s) => vec![s.as_str()],
            Strings::Many(list) => list.iter().map(String::as_str).collect(),
        }
    }
}

/// A statement's principal: `"*"`, or principals by type (`AWS`, `Service`,
/// `Federated`, `CanonicalUser`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PrincipalFile {
    /// `"*"`.
    Anyone(String),
    /// `{ AWS = "arn:…" }`.
    Typed(BTreeMap<String, Strings>),
}

/// A condition value: a string, a list of strings, or a boolean.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ConditionValue {
    /// `true` or `false` (IAM compares it as the string).
    Flag(bool),
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl ConditionValue {
    /// The values, as IAM compares them.
    pub(crate) fn values(&self) -> Vec<String> {
        match self {
            ConditionValue::Flag(b) => vec![b.to_string()],
            ConditionValue::One(s) => vec![s.clone()],
            ConditionValue::Many(list) => list.clone(),
        }
    }
}
