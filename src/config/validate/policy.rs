//! The key-policy fields of classifications and keys: `service_principals`,
//! `administrators`, `users` and `statements` (design.md, "Key policy
//! content"). Every statement is checked as it will be written: a Sid of
//! its own, an effect, well-formed principals, KMS actions, only the
//! `{account}` and `{region}` placeholders, and never a public principal.

use std::collections::BTreeMap;

use super::super::expand::statement_value;
use super::super::file::{PrincipalFile, StatementFile, Strings};
use super::super::hints;
use super::super::path::FieldPath;
use super::super::suggest::did_you_mean;
use super::names::{is_account_id, show};
use super::Checker;
use crate::plan::desired::is_reserved_sid;
use crate::policy::{parse_statement, risk, services};

/// The principal types of IAM policies.
const TYPES: [&str; 4] = ["AWS", "Service", "Federated", "CanonicalUser"];

/// The Sids a key's statements have so far, with where each is declared.
pub(super) type Sids = BTreeMap<String, FieldPath>;

/// The key-policy fields of a classification or a key.
pub(super) struct PolicyFields<'f> {
    pub(super) service_principals: Option<&'f Vec<String>>,
    pub(super) administrators: Option<&'f Vec<String>>,
    pub(super) users: Option<&'f Vec<String>>,
    pub(super) statements: Option<&'f Vec<StatementFile>>,
}

impl Checker<'_> {
    /// Checks the key-policy fields at `p`; `sids` holds the Sids already
    /// declared for the same keys (a key's classification's), and gains
    /// these.
    pub(super) fn policy_fields(&mut self, p: &FieldPath, f: &PolicyFields<'_>, sids: &mut Sids) {
        for (i, entry) in f.service_principals.into_iter().flatten().enumerate() {
            self.service_principal(entry, &p.key("service_principals").index(i));
        }
        for field in ["administrators", "users"] {
            let list = if field == "users" {
                f.users
            } else {
                f.administrators
            };
            for (i, entry) in list.into_iter().flatten().enumerate() {
                let at = p.key(field).index(i);
                if let Some(problem) = principal_problem(entry) {
                    self.err(
                        &at,
                        format!(
                            "{field} entry {} {problem}; allowed: {}",
                            show(entry),
                            hints::PRINCIPAL
                        ),
                    );
                }
            }
        }
        for (i, st) in f.statements.into_iter().flatten().enumerate() {
            self.statement(st, &p.key("statements").index(i), sids);
        }
    }

    /// A `service_principals` entry: a short name c3 knows, or a full
    /// service principal.
    fn service_principal(&mut self, entry: &str, at: &FieldPath) {
        if services::known(entry).is_some() || services::full_principal_labels(entry).is_some() {
            return;
        }
        let names: Vec<&str> = services::SERVICES.iter().map(|s| s.name).collect();
        let message = if services::VIA_ONLY.contains(&entry) {
            format!(
                "service {} uses keys on a caller's behalf and has no service principal of its \
                 own in key policies; allowed: list it in via_services (kms:ViaService), or one \
                 of {}",
                show(entry),
                services::known_names()
            )
        } else if super::names::is_service(entry) || (entry.contains('.') && !entry.contains('{')) {
            format!(
                "service {} is not a service c3 knows{}; allowed: one of {}, or a full service \
                 principal such as \"{entry}.amazonaws.com\" (given aws:SourceAccount only)",
                show(entry),
                did_you_mean(entry, names.iter().copied()),
                services::known_names()
            )
        } else {
            format!(
                "{} is not a service name; allowed: {}",
                show(entry),
                hints::SERVICE_PRINCIPAL
            )
        };
        self.err(at, message);
    }

    /// One declared statement.
    fn statement(&mut self, st: &StatementFile, p: &FieldPath, sids: &mut Sids) {
        if let Some(sid) = &st.sid {
            self.sid(sid, &p.key("sid"), sids);
        }
        if let Some(effect) = st
            .effect
            .as_deref()
            .filter(|e| !matches!(*e, "Allow" | "Deny"))
        {
            self.err(
                &p.key("effect"),
                format!(
                    "effect = {} is not an effect; allowed: {}",
                    show(effect),
                    hints::EFFECT
                ),
            );
        }
        let before = self.issues.len();
        if let Some(principal) = &st.principal {
            self.statement_principal(principal, &p.key("principal"));
        }
        if let Some(action) = &st.action {
            self.actions(action, &p.key("action"));
        }
        self.statement_placeholders(st, p);
        if self.issues.len() > before {
            return;
        }
        // Judged as it will be written: `*` needs a condition that pins callers.
        if let Ok(parsed) = parse_statement(&statement_value(st), "aws") {
            if let Some(why) = risk::public_reason(&parsed) {
                self.err(
                    &p.key("principal"),
                    format!(
                        "the statement would make the key public: {why}; allowed: named \
                         principals, or \"*\" with a condition that pins the account (e.g. \
                         StringEquals kms:CallerAccount = \"{{account}}\")"
                    ),
                );
            }
        }
    }

    /// A Sid: letters and digits, not c3's, once per key.
    fn sid(&mut self, sid: &str, at: &FieldPath, sids: &mut Sids) {
        let message =
            if sid.is_empty() || sid.len() > 128 || !sid.chars().all(|c| c.is_ascii_alphanumeric())
            {
                format!(
                    "sid = {} is not a statement id; allowed: {}",
                    show(sid),
                    hints::SID
                )
            } else if is_reserved_sid(sid) {
                format!(
                    "sid = {} is reserved: c3 gives its own statements that Sid; allowed: {}",
                    show(sid),
                    hints::SID
                )
            } else if let Some(first) = sids.get(sid) {
                format!(
                "sid = {} is already declared by {first}; allowed: each Sid once among a key's \
                 statements and its classification's",
                show(sid)
            )
            } else {
                sids.insert(sid.to_string(), at.clone());
                return;
            };
        self.err(at, message);
    }

    /// A statement's principal: `"*"` or principals by type, each well formed.
    fn statement_principal(&mut self, principal: &PrincipalFile, at: &FieldPath) {
        let typed = match principal {
            PrincipalFile::Anyone(s) if s == "*" => return,
            PrincipalFile::Anyone(s) => {
                self.err(
                    at,
                    format!(
                        "principal = {} is not a principal; allowed: {}",
                        show(s),
                        hints::STATEMENT_PRINCIPAL
                    ),
                );
                return;
            }
            PrincipalFile::Typed(typed) => typed,
        };
        if typed.is_empty() {
            self.err(
                at,
                format!(
                    "principal is empty; allowed: {}",
                    hints::STATEMENT_PRINCIPAL
                ),
            );
        }
        for (kind, values) in typed {
            let here = at.key(kind.as_str());
            if !TYPES.contains(&kind.as_str()) {
                let hint = TYPES
                    .iter()
                    .find(|t| t.eq_ignore_ascii_case(kind))
                    .map_or_else(
                        || did_you_mean(kind, TYPES.iter().copied()),
                        |t| format!(" (did you mean `{t}`?)"),
                    );
                self.err(
                    &here,
                    format!(
                        "principal type `{kind}` is not one IAM knows{hint}; allowed: {}",
                        TYPES.join(", ")
                    ),
                );
                continue;
            }
            for (i, v) in values.values().into_iter().enumerate() {
                if let Some(problem) = principal_value_problem(kind, v) {
                    let at = match values {
                        Strings::One(_) => here.clone(),
                        Strings::Many(_) => here.index(i),
                    };
                    self.err(
                        &at,
                        format!(
                            "principal {} {problem}; allowed: {}",
                            show(v),
                            hints::PRINCIPAL
                        ),
                    );
                }
            }
        }
    }

    /// Every action a KMS one.
    fn actions(&mut self, action: &Strings, at: &FieldPath) {
        for (i, a) in action.values().into_iter().enumerate() {
            let name = a
                .get(..4)
                .filter(|p| p.eq_ignore_ascii_case("kms:"))
                .map(|_| &a[4..]);
            let ok = name.is_some_and(|n| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphabetic() || c == '*' || c == '?')
            });
            if !ok {
                let at = match action {
                    Strings::One(_) => at.clone(),
                    Strings::Many(_) => at.index(i),
                };
                self.err(
                    &at,
                    format!(
                        "action {} is not a KMS action; allowed: {} (a key policy grants only \
                         KMS actions)",
                        show(a),
                        hints::ACTION
                    ),
                );
            }
        }
    }

    /// Every string of a statement may use `{account}` and `{region}` only.
    fn statement_placeholders(&mut self, st: &StatementFile, p: &FieldPath) {
        let mut strings: Vec<(FieldPath, &str)> = Vec::new();
        if let Some(PrincipalFile::Typed(typed)) = &st.principal {
            for (kind, values) in typed {
                strings.extend(
                    values
                        .values()
                        .into_iter()
                        .map(|v| (p.key("principal").key(kind.as_str()), v)),
                );
            }
        }
        for (field, list) in [("action", &st.action), ("resource", &st.resource)] {
            strings.extend(
                list.iter()
                    .flat_map(Strings::values)
                    .map(|v| (p.key(field), v)),
            );
        }
        let mut owned: Vec<(FieldPath, String)> = Vec::new();
        for (op, block) in st.condition.iter().flatten() {
            for (key, value) in block {
                let at = p.key("condition").key(op.as_str()).key(key.as_str());
                owned.push((at.clone(), key.clone()));
                owned.extend(value.values().into_iter().map(|v| (at.clone(), v)));
            }
        }
        let all = strings
            .into_iter()
            .map(|(at, v)| (at, v.to_string()))
            .chain(owned);
        for (at, value) in all {
            if let Some(bad) = unknown_placeholder(&value) {
                self.err(
                    &at,
                    format!(
                        "{} uses the placeholder {bad}; allowed: {}",
                        show(&value),
                        hints::PLACEHOLDERS
                    ),
                );
            }
        }
    }
}

/// Why a value of a statement's principal of this type is not one.
fn principal_value_problem(kind: &str, value: &str) -> Option<String> {
    match kind {
        // "*" is judged with the statement's conditions (public or not).
        "AWS" if value == "*" => None,
        "AWS" => principal_problem(value),
        "Service" => services::full_principal_labels(value)
            .is_none()
            .then(|| "is not a service principal (….amazonaws.com)".to_string()),
        _ => value.is_empty().then(|| "is empty".to_string()),
    }
}

/// The first `{…}` in a value that is not `{account}` or `{region}`.
pub(crate) fn unknown_placeholder(value: &str) -> Option<String> {
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            return Some(after.to_string());
        };
        let found = &after[..=close];
        if !matches!(found, "{account}" | "{region}") {
            return Some(found.to_string());
        }
        rest = &after[close + 1..];
    }
    None
}

/// Why an administrator, user or `AWS` principal is not an IAM principal
/// ARN or an account id (`{account}` standing for one).
pub(crate) fn principal_problem(value: &str) -> Option<String> {
    if value == "*" {
        return Some("is public: \"*\" would let anyone use the key".into());
    }
    if let Some(bad) = unknown_placeholder(value) {
        return Some(format!(
            "uses the placeholder {bad}, which c3 does not replace"
        ));
    }
    if is_account_id(value) || value == "{account}" {
        return None;
    }
    let malformed = || Some("is not a principal ARN".to_string());
    let Some(rest) = value.strip_prefix("arn:") else {
        return malformed();
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, service, region, account, resource] = parts.as_slice() else {
        return malformed();
    };
    let partition_ok = matches!(
        *partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    );
    let account_ok = is_account_id(account) || *account == "{account}";
    let kind_ok = match *service {
        "iam" => {
            *resource == "root"
                || ["role/", "user/"].iter().any(|p| {
                    resource
                        .strip_prefix(p)
                        .is_some_and(|n| !n.is_empty() && !n.ends_with('/'))
                })
        }
        "sts" => ["assumed-role/", "federated-user/"]
            .iter()
            .any(|p| resource.strip_prefix(p).is_some_and(|n| !n.is_empty())),
        _ => false,
    };
    let chars_ok = resource
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/{}".contains(c));
    if !partition_ok || !region.is_empty() || !account_ok || !kind_ok || !chars_ok {
        return malformed();
    }
    if resource.contains('*') {
        return malformed();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals() {
        for ok in [
            "arn:aws:iam::111111111111:root",
            "arn:aws:iam::{account}:role/KeyAdmins",
            "arn:aws:iam::444455556666:role/team/app-{region}",
            "arn:aws-cn:iam::111111111111:user/alice",
            "arn:aws:sts::111111111111:assumed-role/admin/alice",
            "111111111111",
            "{account}",
        ] {
            assert_eq!(principal_problem(ok), None, "{ok}");
        }
        for bad in [
            "*",
            "arn:aws:iam::11111111111:root",
            "arn:aws:iam::*:root",
            "arn:aws:iam:eu-west-1:111111111111:root",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::111111111111:group/admins",
            "arn:aws:iam::111111111111:role/",
            "arn:aws:iam::{acct}:root",
            "arn:aws:iam::111111111111:role/a b",
            "role/admins",
        ] {
            assert!(principal_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            unknown_placeholder("arn:aws:iam::{account}:role/{region}"),
            None
        );
        assert_eq!(
            unknown_placeholder("arn:{partition}:iam::{account}:root"),
            Some("{partition}".into())
        );
        assert_eq!(unknown_placeholder("a{b"), Some("{b".into()));
    }
}
