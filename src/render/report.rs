//! What the reports (SARIF, JUnit, Markdown) share: where keys.toml
//! declares each key and account, the selection a plan covers, and the
//! kind of finding (a SARIF rule) each change is.

use std::collections::BTreeMap;

use crate::plan::{ActionKind, Change, Resource, Severity};

/// Where findings point: the keys.toml path as given (relative to the
/// working directory) and the line that declares each key and account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    /// The keys.toml path, with `/` separators.
    pub uri: String,
    /// `[[keys]]` entry line by key name.
    pub keys: BTreeMap<String, u32>,
    /// `[accounts.X]` line by account id (and by name).
    pub accounts: BTreeMap<String, u32>,
}

impl Locations {
    /// Every finding at line 1 of `uri` (keys.toml could not be read).
    pub fn at_start(uri: &str) -> Self {
        Self {
            uri: uri.replace('\\', "/"),
            ..Self::default()
        }
    }

    /// Locations in `uri` at the given declaration lines
    /// ([`crate::config::declaration_lines`]).
    pub fn of(uri: &str, lines: crate::config::DeclarationLines) -> Self {
        Self {
            keys: lines.keys,
            accounts: lines.accounts,
            ..Self::at_start(uri)
        }
    }

    /// The line a change is located at: its key's `[[keys]]` entry, else its
    /// account's table, else 1.
    pub fn line(&self, change: &Change) -> u32 {
        self.keys
            .get(&change.key)
            .or_else(|| self.accounts.get(&change.account))
            .copied()
            .unwrap_or(1)
    }

    /// The line of an account (id or name), else 1.
    pub fn account_line(&self, account: &str) -> u32 {
        self.accounts.get(account).copied().unwrap_or(1)
    }
}

/// What a report needs besides the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportContext {
    /// Where findings point.
    pub locations: Locations,
    /// The selection, as a path segment: `all`, `shard-1-of-3`,
    /// `accounts-prod+regions-eu-west-1`.
    pub selection: String,
}

/// A plan's selection as a SARIF `automationDetails.id` segment: `all`, or
/// `accounts-<ids>`, `regions-<names>`, `keys-<names>` and `shard-I-of-N`
/// joined by `+`.
pub fn selection_id(selection: Option<&crate::plan::Selection>) -> String {
    let Some(sel) = selection.filter(|s| !s.is_everything()) else {
        return "all".to_string();
    };
    let mut parts = Vec::new();
    for (label, values) in [
        ("accounts", &sel.accounts),
        ("regions", &sel.regions),
        ("keys", &sel.keys),
    ] {
        if !values.is_empty() {
            let mut v = values.clone();
            v.sort();
            parts.push(format!("{label}-{}", v.join(",")));
        }
    }
    if let Some(shard) = &sel.shard {
        parts.push(format!("shard-{}-of-{}", shard.index, shard.count));
    }
    parts.join("+").replace('/', "_")
}

/// A kind of finding: a SARIF rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `c3/public-key`.
    pub id: &'static str,
    /// One line.
    pub short: &'static str,
    /// What it means.
    pub full: &'static str,
    /// How to fix it.
    pub help: &'static str,
    /// The severity the rule is rated at (its highest).
    pub severity: Severity,
    /// Extra tag besides `security` and `kms`.
    pub tag: &'static str,
}

macro_rules! rule {
    ($id:literal, $sev:ident, $tag:literal, $short:literal, $full:literal, $help:literal) => {
        Rule {
            id: $id,
            short: $short,
            full: $full,
            help: $help,
            severity: Severity::$sev,
            tag: $tag,
        }
    };
}

/// Every rule, in the order of the SARIF `rules` array.
pub const RULES: [Rule; 13] = [
    rule!("c3/public-key", Critical, "exposure", "A managed key is usable by anyone",
        "A statement of the key policy or a grant makes the key usable by any principal (public).",
        "Remove the statement or retire the grant (`aws kms retire-grant`), then run `c3 plan` again; c3 never removes it for you."),
    rule!("c3/key-state", High, "availability", "A managed key is disabled or scheduled for deletion",
        "The key's state is Disabled or PendingDeletion; data encrypted under it cannot be decrypted.",
        "Run `c3 apply` to restore it (cancel-key-deletion, enable-key), or remove the key from keys.toml."),
    rule!("c3/foreign-statement", High, "access", "A key policy statement keys.toml does not declare",
        "The key policy holds a statement (another account's principal, or one within the account) that keys.toml does not declare.",
        "Remove the statement from the key policy, declare it in keys.toml, or accept it with an `[[accept]]` entry (reason and expiry)."),
    rule!("c3/foreign-grant", High, "access", "A grant keys.toml does not declare",
        "A grant on the key gives a principal (of another account, or within it) use of the key.",
        "Retire or revoke the grant (`aws kms revoke-grant`), or accept it with an `[[accept]]` entry."),
    rule!("c3/policy-scope", High, "access", "A managed IAM policy grants more than declared",
        "A c3 managed IAM policy grants on `*`, on keys c3 does not declare, or more than keys.toml declares.",
        "Run `c3 apply` to write the declared version, or fix the policy by hand; see the diff."),
    rule!("c3/conflict-alias", High, "ownership", "An alias c3 should own points elsewhere",
        "`alias/<name>` exists and points at a key c3 does not own.",
        "Move or delete the alias, or set `adopt = true` on the key in keys.toml to take it into c3's care."),
    rule!("c3/conflict-policy", High, "ownership", "A policy c3 should own exists without c3's tags",
        "A managed policy or key of c3's name exists and is not c3's.",
        "Rename or delete it, or set `adopt = true` on the key in keys.toml."),
    rule!("c3/rotation", Medium, "hygiene", "Automatic rotation is off or another period",
        "The key's automatic rotation differs from keys.toml.",
        "Run `c3 apply` (it enables rotation with the declared period), or set `rotation` in keys.toml."),
    rule!("c3/key-policy", Medium, "access", "The key policy lacks what keys.toml declares",
        "The key policy misses declared statements, or a c3 statement differs from keys.toml.",
        "Run `c3 apply` to add the declared statements; see the diff."),
    rule!("c3/iam-policy", Medium, "access", "A managed IAM policy is missing or differs",
        "A managed IAM policy of the key is missing or its default version differs from keys.toml.",
        "Run `c3 apply` to create it or write the declared version; see the diff."),
    rule!("c3/tags", Low, "hygiene", "Tags or description differ",
        "The key's tags or description differ from keys.toml, or it carries undeclared tags.",
        "Run `c3 apply` for declared tags; remove undeclared ones or list them in `[settings] ignore_tags`."),
    rule!("c3/orphan", Low, "hygiene", "A c3 resource is no longer declared",
        "A key, alias or policy with c3's tags is no longer declared in keys.toml; c3 never deletes.",
        "Declare it again, or schedule its deletion by hand once nothing uses it."),
    rule!("c3/missing", Info, "drift", "A declared resource does not exist yet",
        "A key, alias or policy keys.toml declares does not exist (a new declaration, a generation bump).",
        "Run `c3 apply` to create it."),
];

/// The rules of `c3 audit`: one per control (docs/audit.md).
pub const AUDIT_RULES: [Rule; 6] = [
    rule!("KMS.3", Critical, "availability", "AWS KMS keys should not be deleted unintentionally",
        "Security Hub KMS.3: the key is scheduled for deletion (PendingDeletion).",
        "If the deletion is not intended, `aws kms cancel-key-deletion --key-id KEY` (then `aws kms enable-key`); check the key's last use first."),
    rule!("KMS.4", Medium, "hygiene", "AWS KMS key rotation should be enabled",
        "Security Hub KMS.4 (and CIS AWS Foundations 3.6): automatic rotation is off on a symmetric encryption key that supports it.",
        "`aws kms enable-key-rotation --key-id KEY` (for a c3 key: `c3 apply`), or accept the finding with an `[[accept]]` entry."),
    rule!("KMS.5", Critical, "exposure", "KMS keys should not be publicly accessible",
        "Security Hub KMS.5: a statement of the key policy allows principal \"*\" with no condition that limits callers to an account, organisation, network or named principal.",
        "Remove the statement, or limit it with a condition such as kms:CallerAccount or aws:PrincipalOrgID."),
    rule!("C3.ROTATION_PERIOD", Medium, "hygiene", "A c3 key rotates with another period than declared",
        "A c3-managed key's rotation period differs from its classification's `rotation_days`, or its rotation is off.",
        "Run `c3 apply` (it sets the declared period)."),
    rule!("C3.CROSS_ACCOUNT", High, "access", "Another account may use the key",
        "The key policy or a grant names a principal of another account that keys.toml does not declare for the key.",
        "Remove the statement or retire the grant, declare the principal in keys.toml (`users`), or accept it with an `[[accept]]` entry."),
    rule!("C3.KEY_STATE", High, "availability", "The key is Disabled or scheduled for deletion",
        "The key cannot be used: Disabled, or PendingDeletion (with the date it will be deleted).",
        "Enable it (`aws kms enable-key`), cancel the deletion, or retire whatever still uses it."),
];

/// The rules of a report: the audit's for an audit, else the plan's.
pub fn rules_of(plan: &crate::plan::Plan) -> &'static [Rule] {
    if plan.audit.is_some() {
        &AUDIT_RULES
    } else {
        &RULES
    }
}

/// The rule a change belongs to.
pub fn rule_of(change: &Change) -> &'static Rule {
    if let Some(control) = &change.control {
        // CIS's rotation control shares KMS.4's finding.
        let id = if control.starts_with("CIS.") {
            "KMS.4"
        } else {
            control.as_str()
        };
        if let Some(rule) = AUDIT_RULES.iter().find(|r| r.id == id) {
            return rule;
        }
    }
    let id = match (change.resource, change.action(), change.severity) {
        (Resource::KeyPolicy | Resource::Grant, _, Severity::Critical) => "c3/public-key",
        (_, ActionKind::Create, _) => "c3/missing",
        (_, ActionKind::Report, _) if change.detail.contains("no longer declared") => "c3/orphan",
        (Resource::Alias, ActionKind::Conflict, _) => "c3/conflict-alias",
        (_, ActionKind::Conflict, _) => "c3/conflict-policy",
        (Resource::KeyState, _, _) | (_, ActionKind::Restore, _) => "c3/key-state",
        (Resource::KeyPolicy, ActionKind::Report, _) => "c3/foreign-statement",
        (Resource::Grant, _, _) => "c3/foreign-grant",
        (Resource::IamPolicy, ActionKind::Report, _) => "c3/policy-scope",
        (Resource::IamPolicy, _, _) => "c3/iam-policy",
        (Resource::Rotation, _, _) => "c3/rotation",
        (Resource::KeyPolicy, _, _) => "c3/key-policy",
        (Resource::Alias, _, _) => "c3/missing",
        (Resource::Tags | Resource::Key, _, _) => "c3/tags",
    };
    RULES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or(&RULES[RULES.len() - 1])
}

/// SARIF's `security-severity` of a severity.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// SARIF's `level` of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The region of a change or error as reports name it (`global` for IAM).
pub fn region_name(region: Option<&str>) -> &str {
    region.unwrap_or("global")
}
