//! The documents c3 wants: key policies and managed-policy documents, built
//! from a [`KeySpec`] for one target. design.md ("What c3 creates") is the
//! specification of every statement here.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::model::{dns_suffix, key_arn, partition, KeySpec, PolicyKind, Target};
use crate::policy::{parse_statement, pretty, Document, Statement, POLICY_VERSION};

/// The largest key policy AWS accepts, in bytes.
pub const KEY_POLICY_MAX_BYTES: usize = 32 * 1024;
/// The largest managed-policy document IAM accepts, in characters without whitespace.
pub const MANAGED_POLICY_MAX_CHARS: usize = 6144;

/// Actions granted to `kms:ViaService` callers.
pub const VIA_SERVICE_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
    "kms:DescribeKey",
];

/// Actions granted to service principals.
pub const SERVICE_PRINCIPAL_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
];

/// The Sid of the statement that gives the account root `kms:*`.
pub const ROOT_SID: &str = "EnableRootAccess";

/// `lex-v2` → `LexV2`, `secretsmanager` → `Secretsmanager`.
pub fn sid_part(service: &str) -> String {
    service
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The key policy statements c3 requires for a key in a target, in a fixed
/// order: root access, then via services, then service principals.
pub fn key_policy_statements(spec: &KeySpec, target: &Target) -> Vec<Value> {
    let part = partition(&target.region);
    let suffix = dns_suffix(&target.region);
    let account = &target.account;
    let mut statements = vec![json!({
        "Sid": ROOT_SID,
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{part}:iam::{account}:root")},
        "Action": "kms:*",
        "Resource": "*",
    })];
    for svc in &spec.via_services {
        statements.push(json!({
            "Sid": format!("AllowViaService{}", sid_part(svc)),
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": VIA_SERVICE_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:CallerAccount": account,
                "kms:ViaService": format!("{svc}.{}.{suffix}", target.region),
            }},
        }));
    }
    for svc in &spec.service_principals {
        statements.push(json!({
            "Sid": format!("AllowService{}", sid_part(svc)),
            "Effect": "Allow",
            "Principal": {"Service": format!("{svc}.{}.{suffix}", target.region)},
            "Action": SERVICE_PRINCIPAL_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }));
    }
    statements
}

/// The whole key policy c3 writes when it creates a key.
pub fn key_policy(spec: &KeySpec, target: &Target) -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Id": "c3-key-policy",
        "Statement": key_policy_statements(spec, target),
    })
}

/// The key policy c3 wants for a key in a target, built once per plan: the
/// text CreateKey sends, the normalised text a plan shows, and each statement
/// as written (added verbatim to a live policy that lacks it) and in
/// canonical form (compared with the live one of the same Sid).
#[derive(Debug, Clone)]
pub struct WantedKeyPolicy {
    /// The whole document, pretty-printed.
    pub text: String,
    /// Its normalised text (the `after` of a create's diff).
    pub normalized: String,
    /// Each statement, raw and canonical, in [`key_policy_statements`] order.
    pub statements: Vec<(Value, Statement)>,
}

impl WantedKeyPolicy {
    /// The key policy of `spec` in `target`.
    pub fn new(spec: &KeySpec, target: &Target) -> Self {
        let part = partition(&target.region);
        let value = key_policy(spec, target);
        let text = pretty(&value);
        let statements = match value.get("Statement") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|raw| Some((raw.clone(), parse_statement(raw, part).ok()?)))
                .collect(),
            _ => Vec::new(),
        };
        let normalized = Document::from_value(value, part)
            .map_or_else(|_| text.clone(), |d| d.normalized_text());
        Self {
            text,
            normalized,
            statements,
        }
    }

    /// Whether a statement of this Sid is c3's.
    pub fn declares(&self, sid: &str) -> bool {
        self.statements
            .iter()
            .any(|(_, s)| s.sid.as_deref() == Some(sid))
    }
}

/// The statements of a policy kind: (actions, condition) pairs; each
/// applies to every key ARN of the key name.
pub fn kind_statements(kind: PolicyKind) -> Vec<KindStatement> {
    let plain = |actions: &[&str]| KindStatement {
        actions: actions
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        condition: None,
    };
    match kind {
        // Never kms:ReEncryptFrom here: it is a decryption in disguise.
        PolicyKind::Encrypt => vec![plain(&[
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncryptTo",
        ])],
        PolicyKind::Decrypt => vec![plain(&[
            "kms:DescribeKey",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
        ])],
        PolicyKind::Crypto => vec![
            plain(&[
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ]),
            KindStatement {
                actions: vec!["kms:CreateGrant".into()],
                condition: Some(json!({"Bool": {"kms:GrantIsForAWSResource": "true"}})),
            },
        ],
    }
}

/// One statement of a managed policy kind: actions granted on every key
/// ARN, possibly under a condition.
#[derive(Debug, Clone, PartialEq)]
pub struct KindStatement {
    /// The actions.
    pub actions: Vec<String>,
    /// The condition block, if any.
    pub condition: Option<Value>,
}

/// A managed-policy document granting `kind` on the given key ARNs (sorted).
pub fn managed_policy(kind: PolicyKind, arns: &BTreeSet<String>) -> Value {
    let statements: Vec<Value> = kind_statements(kind)
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let mut m = Map::new();
            m.insert("Sid".into(), Value::String(grant_sid(kind, i)));
            m.insert("Effect".into(), Value::String("Allow".into()));
            m.insert("Action".into(), json!(g.actions));
            m.insert("Resource".into(), json!(arns));
            if let Some(c) = g.condition {
                m.insert("Condition".into(), c);
            }
            Value::Object(m)
        })
        .collect();
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// The Sid c3 gives the `index`-th statement of a policy kind.
pub fn grant_sid(kind: PolicyKind, index: usize) -> String {
    match (kind, index) {
        (PolicyKind::Encrypt, _) => "AllowEncrypt".into(),
        (PolicyKind::Decrypt, _) => "AllowDecrypt".into(),
        (PolicyKind::Crypto, 0) => "AllowCrypto".into(),
        (PolicyKind::Crypto, _) => "AllowGrantsForAwsResources".into(),
    }
}

/// The text of a key ARN that does not exist yet (shown in plans, replaced by
/// apply with the ARN CreateKey returns).
pub fn pending_arn(target: &Target, name: &str, generation: u32) -> String {
    key_arn(
        target,
        &format!("(new key {name}, generation {generation})"),
    )
}

/// Whether an ARN is a [`pending_arn`].
pub fn is_pending_arn(arn: &str) -> bool {
    arn.contains(":key/(new key ")
}

/// A stand-in for a pending key's ARN with the length of a real one (a key
/// id is 36 characters), for size checks.
pub fn pending_arn_sized(target: &Target, generation: u32) -> String {
    key_arn(target, &format!("{generation:0>36}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn spec() -> KeySpec {
        KeySpec {
            name: "payments".into(),
            classification: "confidential".into(),
            description: "d".into(),
            rotation_days: 365,
            generation: 1,
            enabled: true,
            via_services: ["lex-v2".to_string(), "secretsmanager".to_string()].into(),
            service_principals: ["logs".to_string()].into(),
            user_tags: BTreeMap::new(),
            targets: vec![],
        }
    }

    #[test]
    fn sids_are_letters_and_digits() {
        assert_eq!(sid_part("lex-v2"), "LexV2");
        assert_eq!(sid_part("secretsmanager"), "Secretsmanager");
        let t = Target::new("111111111111", "eu-west-1");
        let sids: Vec<String> = key_policy_statements(&spec(), &t)
            .iter()
            .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            sids,
            vec![
                "EnableRootAccess",
                "AllowViaServiceLexV2",
                "AllowViaServiceSecretsmanager",
                "AllowServiceLogs"
            ]
        );
        assert!(sids
            .iter()
            .all(|s| s.chars().all(|c| c.is_ascii_alphanumeric())));
    }

    #[test]
    fn encrypt_policy_never_grants_reencrypt_from() {
        let doc = managed_policy(PolicyKind::Encrypt, &BTreeSet::from(["arn".to_string()]));
        let text = doc.to_string();
        assert!(!text.contains("ReEncryptFrom"));
        assert!(!text.contains("ReEncrypt*"));
    }

    #[test]
    fn china_regions_use_their_partition() {
        let t = Target::new("111111111111", "cn-north-1");
        let s = key_policy_statements(&spec(), &t);
        assert_eq!(
            s[0]["Principal"]["AWS"],
            "arn:aws-cn:iam::111111111111:root"
        );
        assert_eq!(
            s[1]["Condition"]["StringEquals"]["kms:ViaService"],
            "lex-v2.cn-north-1.amazonaws.com.cn"
        );
    }
}
