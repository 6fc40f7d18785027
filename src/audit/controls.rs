//! The controls `c3 audit` judges, each with its id, where it is defined,
//! and how one key is judged against it (docs/audit.md).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{key_type, tag, AuditedKey, KeyDetails, KeySpec, KeyState};
use crate::plan::{Resource, Severity};
use crate::policy::{risk, Document};

/// A control: an id, a title, and the page that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// `KMS.3`, `CIS.3.6`, `C3.ROTATION_PERIOD`, ...
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// Where it is defined.
    pub source: &'static str,
    /// The resource its findings are about.
    pub resource: Resource,
}

/// Security Hub KMS.3.
pub const KMS_3: Control = Control {
    id: "KMS.3",
    title: "AWS KMS keys should not be deleted unintentionally",
    source: "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-3",
    resource: Resource::KeyState,
};
/// Security Hub KMS.4.
pub const KMS_4: Control = Control {
    id: "KMS.4",
    title: "AWS KMS key rotation should be enabled",
    source: "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-4",
    resource: Resource::Rotation,
};
/// Security Hub KMS.5.
pub const KMS_5: Control = Control {
    id: "KMS.5",
    title: "KMS keys should not be publicly accessible",
    source: "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-5",
    resource: Resource::KeyPolicy,
};
/// CIS AWS Foundations Benchmark v3.0.0 3.6 (v1.4.0 3.8, v1.2.0 2.8).
pub const CIS_ROTATION: Control = Control {
    id: "CIS.3.6",
    title: "Ensure rotation for customer-created symmetric CMKs is enabled \
            (CIS AWS Foundations Benchmark v3.0.0 3.6; v1.4.0 3.8; v1.2.0 2.8)",
    source: "https://docs.aws.amazon.com/securityhub/latest/userguide/cis-aws-foundations-benchmark.html",
    resource: Resource::Rotation,
};
/// c3: a managed key rotates with its classification's period.
pub const C3_ROTATION_PERIOD: Control = Control {
    id: "C3.ROTATION_PERIOD",
    title: "A c3-managed key rotates with the period keys.toml declares",
    source: "docs/audit.md#c3rotation_period",
    resource: Resource::Rotation,
};
/// c3: principals of other accounts in a key policy or grant.
pub const C3_CROSS_ACCOUNT: Control = Control {
    id: "C3.CROSS_ACCOUNT",
    title: "No principal of another account in a key policy or grant unless keys.toml declares it",
    source: "docs/audit.md#c3cross_account",
    resource: Resource::KeyPolicy,
};
/// c3: keys that are not usable (Disabled, PendingDeletion), with dates.
pub const C3_KEY_STATE: Control = Control {
    id: "C3.KEY_STATE",
    title: "A key is Enabled (Disabled and PendingDeletion keys are reported with their dates)",
    source: "docs/audit.md#c3key_state",
    resource: Resource::KeyState,
};

/// Every control, in the order of reports.
pub const ALL: [Control; 7] = [
    KMS_3,
    KMS_4,
    KMS_5,
    CIS_ROTATION,
    C3_ROTATION_PERIOD,
    C3_CROSS_ACCOUNT,
    C3_KEY_STATE,
];

/// The control of an id.
pub fn by_id(id: &str) -> Option<&'static Control> {
    ALL.iter().find(|c| c.id == id)
}

/// A key's standing against one control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Complies.
    Pass,
    /// Does not comply: a finding.
    Fail,
    /// The control does not apply to this key.
    NotApplicable,
    /// Could not be judged (a read was denied): a finding too.
    Unknown,
}

impl Status {
    /// The spelling in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotApplicable => "not_applicable",
            Self::Unknown => "unknown",
        }
    }
}

/// A key's verdict on one control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The control's id.
    pub control: String,
    /// Pass, fail, not applicable, unknown.
    pub status: Status,
    /// Why, in one sentence.
    pub detail: String,
    /// How risky a failure is (`None` unless failed or unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The resource a failure is about, when not the control's own (a
    /// cross-account grant is about `grant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
}

impl Verdict {
    fn new(control: &Control, status: Status, detail: impl Into<String>) -> Self {
        Self {
            control: control.id.to_string(),
            status,
            detail: detail.into(),
            severity: None,
            resource: None,
        }
    }

    fn pass(control: &Control, detail: impl Into<String>) -> Self {
        Self::new(control, Status::Pass, detail)
    }

    fn not_applicable(control: &Control, detail: impl Into<String>) -> Self {
        Self::new(control, Status::NotApplicable, detail)
    }

    fn fail(control: &Control, severity: Severity, detail: impl Into<String>) -> Self {
        let mut v = Self::new(control, Status::Fail, detail);
        v.severity = Some(severity);
        v
    }

    pub(crate) fn unknown(control: &Control, operation: &str, reason: &str) -> Self {
        let mut v = Self::new(
            control,
            Status::Unknown,
            format!(
                "could not be judged: {operation} failed ({reason}); allow the audit role \
                 kms:{operation} on this key (its key policy may leave the account out)"
            ),
        );
        v.severity = Some(Severity::Medium);
        v
    }
}

/// What a key is to c3, for the controls that depend on it.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    /// The key is c3's (`c3:managed=true`) and its `c3:name` is declared
    /// for this target: the declaration.
    pub declared: Option<&'a KeySpec>,
    /// The key is c3's, but its name is no longer declared here.
    pub orphan: bool,
    /// The key's account id.
    pub account: &'a str,
    /// Every account id keys.toml declares.
    pub estate: &'a BTreeSet<String>,
}

impl Standing<'_> {
    /// Whether c3 manages the key.
    pub fn managed(&self) -> bool {
        self.declared.is_some() || self.orphan
    }
}

/// `2026-11-30` of seconds since the epoch.
pub fn day(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    crate::model::Date::from_days_since_epoch(days).to_string()
}

/// Whether a key is scheduled for deletion: PendingDeletion, or a
/// multi-Region primary waiting for its replicas to go
/// (PendingReplicaDeletion).
pub fn scheduled_for_deletion(state: &KeyState) -> bool {
    state.scheduled_for_deletion()
}

/// KMS.3: FAILED when the key is scheduled for deletion.
pub fn kms_3(key: &AuditedKey) -> Verdict {
    let d = &key.details;
    if scheduled_for_deletion(&d.state) {
        let when = d.deletion_epoch.map_or_else(
            || "on a date AWS did not report".to_string(),
            |e| format!("on {}", day(e)),
        );
        Verdict::fail(
            &KMS_3,
            Severity::Critical,
            format!(
                "the key is {} and will be deleted {when}{}; `aws kms cancel-key-deletion --key-id {}` \
                 stops it if that was not intended",
                d.state,
                d.creation_epoch
                    .map_or_else(String::new, |e| format!(" (created {})", day(e))),
                key.key_id
            ),
        )
    } else {
        Verdict::pass(&KMS_3, format!("the key is {}", d.state))
    }
}

/// Why KMS.4 (and CIS's rotation control) does not apply to a key, if it does not.
pub fn rotation_not_applicable(d: &KeyDetails) -> Option<String> {
    if !key_type::kind_rotates(&d.spec, &d.usage) {
        return Some(format!(
            "{} {} keys do not support automatic rotation",
            d.spec, d.usage
        ));
    }
    if !d.origin.is_empty() && d.origin != "AWS_KMS" {
        return Some(format!(
            "keys of origin {} (imported or external key material) do not support automatic rotation",
            d.origin
        ));
    }
    if let Some(store) = &d.custom_key_store_id {
        return Some(format!(
            "keys in a custom key store ({store}) do not support automatic rotation"
        ));
    }
    if scheduled_for_deletion(&d.state) {
        return Some("the key is scheduled for deletion (KMS.3 reports it)".to_string());
    }
    None
}

/// KMS.4 or CIS's rotation control: FAILED when rotation is off on a key
/// that supports it.
pub fn rotation(control: &Control, key: &AuditedKey) -> Verdict {
    if let Some(why) = rotation_not_applicable(&key.details) {
        return Verdict::not_applicable(control, why);
    }
    if let Some(reason) = key.unread.get("GetKeyRotationStatus") {
        return Verdict::unknown(control, "GetKeyRotationStatus", reason);
    }
    match &key.details.rotation {
        Some(r) if r.enabled => Verdict::pass(
            control,
            match r.period_days {
                Some(days) => format!("automatic rotation is on, every {days} days"),
                None => "automatic rotation is on".to_string(),
            },
        ),
        Some(_) => Verdict::fail(control, Severity::Medium, rotation_off(key)),
        None => Verdict::not_applicable(
            control,
            format!(
                "KMS reports no rotation status for a {} key",
                key.details.state
            ),
        ),
    }
}

/// What to say of a key whose rotation is off: the command that turns it
/// on, in the primary's region for a multi-Region replica (rotation is a
/// property of the primary, shared by its replicas).
fn rotation_off(key: &AuditedKey) -> String {
    let region = key.arn.split(':').nth(3).unwrap_or_default();
    match key.details.primary_region.as_deref() {
        Some(primary) if key.details.multi_region && primary != region => format!(
            "automatic rotation is off; it is set on the multi-Region primary: \
             `aws kms enable-key-rotation --key-id {} --region {primary}` turns it on for every replica",
            key.key_id
        ),
        _ => format!(
            "automatic rotation is off; `aws kms enable-key-rotation --key-id {}` turns it on",
            key.key_id
        ),
    }
}

/// KMS.5: FAILED when a statement of the key policy lets anyone use the key.
pub fn kms_5(key: &AuditedKey) -> Verdict {
    if let Some(reason) = key.unread.get("GetKeyPolicy") {
        return Verdict::unknown(&KMS_5, "GetKeyPolicy", reason);
    }
    let Some(text) = &key.details.policy else {
        return Verdict::not_applicable(&KMS_5, "KMS returned no key policy for the key");
    };
    let partition = crate::model::partition(&key.arn);
    let doc = match Document::parse(text, partition) {
        Ok(doc) => doc,
        Err(e) => {
            let mut v = Verdict::new(
                &KMS_5,
                Status::Unknown,
                format!("the key policy does not parse: {}", e.0),
            );
            v.severity = Some(Severity::Medium);
            return v;
        }
    };
    let public: Vec<String> = doc
        .statements
        .iter()
        .filter_map(|s| {
            risk::public_reason(s).map(|why| format!("statement {}: {why}", s.subject()))
        })
        .collect();
    if public.is_empty() {
        Verdict::pass(
            &KMS_5,
            "no statement of the key policy lets anyone use the key",
        )
    } else {
        Verdict::fail(
            &KMS_5,
            Severity::Critical,
            format!("the key is usable by anyone: {}", public.join("; ")),
        )
    }
}

/// C3.ROTATION_PERIOD: a managed key rotates every `rotation_days` of its
/// declaration.
pub fn rotation_period(key: &AuditedKey, standing: &Standing<'_>) -> Verdict {
    let control = &C3_ROTATION_PERIOD;
    let Some(spec) = standing.declared else {
        return Verdict::not_applicable(control, "keys.toml does not declare this key");
    };
    if !spec.rotation {
        return Verdict::not_applicable(control, "keys.toml says `rotation = false` for the key");
    }
    if let Some(why) = rotation_not_applicable(&key.details) {
        return Verdict::not_applicable(control, why);
    }
    if let Some(reason) = key.unread.get("GetKeyRotationStatus") {
        return Verdict::unknown(control, "GetKeyRotationStatus", reason);
    }
    let want = spec.rotation_days;
    match &key.details.rotation {
        Some(r) if r.enabled && r.period_days.unwrap_or(365) == want => {
            Verdict::pass(control, format!("rotates every {want} days, as declared"))
        }
        Some(r) if r.enabled => Verdict::fail(
            control,
            Severity::Medium,
            format!(
                "rotates every {} days; keys.toml declares {want} (classification `{}`); `c3 apply` sets it",
                r.period_days.unwrap_or(365),
                spec.classification
            ),
        ),
        Some(_) => Verdict::fail(
            control,
            Severity::Medium,
            format!("rotation is off; keys.toml declares every {want} days; `c3 apply` turns it on"),
        ),
        None => Verdict::not_applicable(control, "KMS reports no rotation status for the key"),
    }
}

/// C3.KEY_STATE: Disabled and PendingDeletion keys, with their dates.
pub fn key_state(key: &AuditedKey, standing: &Standing<'_>) -> Verdict {
    let control = &C3_KEY_STATE;
    let d = &key.details;
    let created = d
        .creation_epoch
        .map_or_else(String::new, |e| format!(" (created {})", day(e)));
    match &d.state {
        KeyState::Enabled => Verdict::pass(control, "the key is Enabled"),
        KeyState::Disabled => Verdict::fail(
            control,
            if standing.managed() {
                Severity::High
            } else {
                Severity::Low
            },
            format!("the key is Disabled{created}: nothing can encrypt or decrypt with it"),
        ),
        KeyState::PendingDeletion => {
            let when = d
                .deletion_epoch
                .map_or_else(String::new, |e| format!(" on {}", day(e)));
            Verdict::fail(
                control,
                Severity::Critical,
                format!("the key is PendingDeletion{created}: it will be deleted{when}"),
            )
        }
        KeyState::Other(state) if scheduled_for_deletion(&d.state) => Verdict::fail(
            control,
            Severity::Critical,
            format!("the key is {state}{created}: it will be deleted"),
        ),
        KeyState::Other(state) => {
            Verdict::not_applicable(control, format!("the key is {state}{created}"))
        }
    }
}

/// The principals of a key's declaration (users, administrators, statements),
/// whose accounts are declared on purpose.
fn declared_accounts(spec: Option<&KeySpec>, account: &str) -> BTreeSet<String> {
    let Some(spec) = spec else {
        return BTreeSet::new();
    };
    let mut principals: Vec<String> = spec
        .users
        .iter()
        .chain(&spec.administrators)
        .cloned()
        .collect();
    // A declared statement's principals and condition values (an account
    // pinned by `kms:CallerAccount`, a partner's role ARN) are declared.
    for s in &spec.statements {
        for field in ["principal", "Principal", "condition", "Condition"] {
            collect_strings(s.get(field), &mut principals);
        }
    }
    principals
        .iter()
        .map(|p| p.replace("{account}", account))
        .filter_map(|p| match risk::classify("AWS", &p, account) {
            risk::Principal::OtherAccount(a) => Some(a),
            _ => None,
        })
        .collect()
}

fn collect_strings(v: Option<&serde_json::Value>, out: &mut Vec<String>) {
    match v {
        Some(serde_json::Value::String(s)) => out.push(s.clone()),
        Some(serde_json::Value::Array(items)) => {
            for item in items {
                collect_strings(Some(item), out);
            }
        }
        Some(serde_json::Value::Object(map)) => {
            for item in map.values() {
                collect_strings(Some(item), out);
            }
        }
        _ => {}
    }
}

/// The other accounts a key's policy (Allow statements) and grants let in.
fn other_accounts(key: &AuditedKey, account: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut in_policy = BTreeSet::new();
    let partition = crate::model::partition(&key.arn);
    if let Some(doc) = key
        .details
        .policy
        .as_deref()
        .and_then(|t| Document::parse(t, partition).ok())
    {
        for s in doc.statements.iter().filter(|s| s.effect == "Allow") {
            for (kind, values) in s.principal.iter().flatten() {
                for v in values {
                    if let risk::Principal::OtherAccount(a) = risk::classify(kind, v, account) {
                        in_policy.insert(a);
                    }
                }
            }
            // `"*"` limited by a condition to another account's callers.
            in_policy.extend(
                risk::pinned_accounts(s)
                    .into_iter()
                    .filter(|a| a != account),
            );
        }
    }
    let mut in_grants = BTreeSet::new();
    for g in key.details.grants.iter().flatten() {
        // Who uses the key through the grant, who may retire it, and the
        // account that created it.
        for principal in [&g.grantee, &g.retiring, &g.issuing_account]
            .into_iter()
            .flatten()
        {
            if let risk::Principal::OtherAccount(a) = risk::classify("AWS", principal, account) {
                in_grants.insert(a);
            }
        }
    }
    (in_policy, in_grants)
}

/// C3.CROSS_ACCOUNT: principals of other accounts in the key policy or a
/// grant, unless keys.toml declares them for the key. High for an account
/// outside keys.toml's accounts, medium for one of them.
pub fn cross_account(key: &AuditedKey, standing: &Standing<'_>) -> Vec<Verdict> {
    let control = &C3_CROSS_ACCOUNT;
    let declared = declared_accounts(standing.declared, standing.account);
    let (in_policy, in_grants) = other_accounts(key, standing.account);
    let mut verdicts = Vec::new();
    for (resource, found) in [
        (Resource::KeyPolicy, in_policy),
        (Resource::Grant, in_grants),
    ] {
        let undeclared: Vec<&String> = found.iter().filter(|a| !declared.contains(*a)).collect();
        if undeclared.is_empty() {
            continue;
        }
        let list: Vec<&str> = undeclared.iter().map(|a| a.as_str()).collect();
        // Without the tags, whether keys.toml declares them is unknown.
        if let Some(reason) = key.unread.get("ListResourceTags") {
            let mut v = Verdict::unknown(control, "ListResourceTags", reason);
            v.detail = format!("{} (other accounts: {})", v.detail, list.join(", "));
            v.resource = Some(resource);
            verdicts.push(v);
            continue;
        }
        let outside = undeclared.iter().any(|a| !standing.estate.contains(*a));
        let place = if resource == Resource::Grant {
            "a grant (its grantee, retiring principal or issuing account)"
        } else {
            "the key policy"
        };
        let mut v = Verdict::fail(
            control,
            if outside {
                Severity::High
            } else {
                Severity::Medium
            },
            format!(
                "{place} lets principals of another account use the key: {}{}",
                list.join(", "),
                if outside {
                    ""
                } else {
                    " (accounts of keys.toml)"
                }
            ),
        );
        v.resource = Some(resource);
        verdicts.push(v);
    }
    if verdicts.is_empty() {
        for operation in ["GetKeyPolicy", "ListGrants"] {
            if let Some(reason) = key.unread.get(operation) {
                let mut v = Verdict::unknown(control, operation, reason);
                if operation == "ListGrants" {
                    v.resource = Some(Resource::Grant);
                }
                verdicts.push(v);
            }
        }
    }
    if verdicts.is_empty() {
        let grants = if key.details.grants.is_some() {
            " or its grants"
        } else {
            ""
        };
        verdicts.push(Verdict::pass(
            control,
            format!("no undeclared principal of another account in the key policy{grants}"),
        ));
    }
    verdicts
}

/// Whether a key's `c3:managed` tag says it is c3's.
pub fn is_c3(key: &AuditedKey) -> bool {
    tag::is_managed(&key.tags)
}
