//! The documents c3 wants: key policies and managed-policy documents, built
//! from a [`KeySpec`] for one target. design.md ("What c3 creates") is the
//! specification of every statement here.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::model::{dns_suffix, key_arn, key_type, partition, KeySpec, PolicyKind, Target};
use crate::policy::{parse_statement, pretty, services, Document, Statement, POLICY_VERSION};

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
/// The Sid of the key administrators' statement.
pub const ADMINISTRATORS_SID: &str = "AllowKeyAdministrators";
/// The Sid of the key users' statement.
pub const USERS_SID: &str = "AllowKeyUsers";
/// The Sid of the key users' grants statement.
pub const USERS_GRANTS_SID: &str = "AllowKeyUsersGrants";

/// What the AWS console grants key administrators (the default key policy,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>).
pub const ADMINISTRATOR_ACTIONS: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];

/// What the AWS console grants key users (same page).
pub const USER_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
];

/// What the AWS console grants key users of an asymmetric encryption key.
pub const PUBLIC_KEY_USER_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:DescribeKey",
    "kms:GetPublicKey",
];

/// What the AWS console grants key users of a signing key.
pub const SIGNING_USER_ACTIONS: &[&str] = &[
    "kms:DescribeKey",
    "kms:GetPublicKey",
    "kms:Sign",
    "kms:Verify",
];

/// What the AWS console grants key users of an HMAC key.
pub const MAC_USER_ACTIONS: &[&str] = &["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"];

/// What the AWS console grants key users for grants, only with
/// `kms:GrantIsForAWSResource` (same page).
pub const USER_GRANT_ACTIONS: &[&str] = &["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"];

/// Whether a Sid is one c3 gives its own statements (and so may not be
/// declared in `statements`).
pub fn is_reserved_sid(sid: &str) -> bool {
    sid == ROOT_SID
        || sid == ADMINISTRATORS_SID
        || sid.starts_with("AllowViaService")
        || sid.starts_with("AllowService")
        || sid.starts_with(USERS_SID)
}

/// `lex-v2` → `LexV2`, `secretsmanager` → `Secretsmanager`.
pub fn sid_part(service: &str) -> String {
    services::sid_part(service)
}

/// The key policy statements c3 requires for a key in a target, in a fixed
/// order: root access, via services, service principals, administrators,
/// users, then the declared statements.
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
    statements.extend(service_statements(spec, target));
    statements.extend(people_statements(spec, target));
    statements.extend(
        spec.statements
            .iter()
            .map(|s| placeholders(s, &target.account, &target.region)),
    );
    statements
}

/// The statements of the service principals: short names first, so that a
/// full principal that names the same service (same Sid) adds nothing.
fn service_statements(spec: &KeySpec, target: &Target) -> Vec<Value> {
    let part = partition(&target.region);
    let suffix = dns_suffix(&target.region);
    let (region, account) = (target.region.as_str(), target.account.as_str());
    let (short, full): (Vec<&String>, Vec<&String>) = spec
        .service_principals
        .iter()
        .partition(|e| services::known(e).is_some());
    let mut out: Vec<Value> = Vec::new();
    let mut sids = BTreeSet::new();
    for entry in short.into_iter().chain(full) {
        let sid = services::statement_sid(entry);
        if !sids.insert(sid.clone()) {
            continue;
        }
        let (principal, extra, apart) = match services::known(entry) {
            Some(s) if s.regional => (
                format!("{}.{region}.{suffix}", s.name),
                s.conditions,
                s.describe_apart,
            ),
            Some(s) => (
                format!("{}.{suffix}", s.name),
                s.conditions,
                s.describe_apart,
            ),
            None => (fill(entry, part, region, account), &[][..], false),
        };
        let mut condition = Map::new();
        let mut equals = Map::new();
        equals.insert("aws:SourceAccount".into(), Value::String(account.into()));
        condition.insert("StringEquals".into(), Value::Object(equals));
        for (op, key, value) in extra {
            let block = condition
                .entry(*op)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = block {
                m.insert(
                    (*key).into(),
                    Value::String(fill(value, part, region, account)),
                );
            }
        }
        let actions: Vec<&str> = SERVICE_PRINCIPAL_ACTIONS
            .iter()
            .copied()
            .filter(|a| !apart || *a != "kms:DescribeKey")
            .collect();
        out.push(json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Action": actions,
            "Resource": "*",
            "Condition": condition,
        }));
        if apart {
            out.push(json!({
                "Sid": services::describe_sid(entry),
                "Effect": "Allow",
                "Principal": {"Service": principal},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }));
        }
    }
    out
}

/// `AllowKeyAdministrators`, `AllowKeyUsers` and `AllowKeyUsersGrants`, as
/// the AWS console writes them, when the key has administrators or users.
fn people_statements(spec: &KeySpec, target: &Target) -> Vec<Value> {
    let principal = |set: &BTreeSet<String>| -> Value {
        let filled: BTreeSet<String> = set
            .iter()
            .map(|p| {
                fill(
                    p,
                    partition(&target.region),
                    &target.region,
                    &target.account,
                )
            })
            .collect();
        let list: Vec<Value> = filled.into_iter().map(Value::String).collect();
        match <[Value; 1]>::try_from(list) {
            Ok([one]) => json!({ "AWS": one }),
            Err(list) => json!({ "AWS": list }),
        }
    };
    let mut out = Vec::new();
    if !spec.administrators.is_empty() {
        out.push(json!({
            "Sid": ADMINISTRATORS_SID,
            "Effect": "Allow",
            "Principal": principal(&spec.administrators),
            "Action": ADMINISTRATOR_ACTIONS,
            "Resource": "*",
        }));
    }
    if !spec.users.is_empty() {
        let t = &spec.key_type;
        let actions = match t.usage.as_str() {
            key_type::SIGN_VERIFY => SIGNING_USER_ACTIONS,
            key_type::GENERATE_VERIFY_MAC => MAC_USER_ACTIONS,
            _ if !t.is_symmetric_encryption() => PUBLIC_KEY_USER_ACTIONS,
            _ => USER_ACTIONS,
        };
        out.push(json!({
            "Sid": USERS_SID,
            "Effect": "Allow",
            "Principal": principal(&spec.users),
            "Action": actions,
            "Resource": "*",
        }));
    }
    // The console gives grants to key users of symmetric encryption keys
    // only: AWS services integrate with no other kind.
    if !spec.users.is_empty() && spec.key_type.is_symmetric_encryption() {
        out.push(json!({
            "Sid": USERS_GRANTS_SID,
            "Effect": "Allow",
            "Principal": principal(&spec.users),
            "Action": USER_GRANT_ACTIONS,
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        }));
    }
    out
}

/// A declared statement with `{account}` and `{region}` replaced in every
/// string (keys of condition blocks too).
pub fn placeholders(value: &Value, account: &str, region: &str) -> Value {
    let part = partition(region);
    match value {
        Value::String(s) => Value::String(fill(s, part, region, account)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| placeholders(v, account, region))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        fill(k, part, region, account),
                        placeholders(v, account, region),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `{account}` and `{region}` replaced (the only placeholders a file may
/// use; `{partition}` is the table's own).
fn fill(text: &str, partition: &str, region: &str, account: &str) -> String {
    services::fill(text, partition, region, account)
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

/// The statements of a policy kind of a symmetric key: (actions,
/// condition) pairs; each applies to every key ARN of the key name.
pub fn kind_statements(kind: PolicyKind) -> Vec<KindStatement> {
    kind_statements_of(kind, false)
}

/// The statements of a policy kind; `public_key`: of an asymmetric
/// encryption key (`RSA_*`/`SM2` with `ENCRYPT_DECRYPT`), which encrypts
/// with its public key (kms:GetPublicKey, for encryption outside KMS),
/// makes no data keys and has no grants for AWS services.
pub fn kind_statements_of(kind: PolicyKind, public_key: bool) -> Vec<KindStatement> {
    let plain = |actions: &[&str]| KindStatement {
        actions: actions
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        condition: None,
    };
    match (kind, public_key) {
        // Never kms:ReEncryptFrom here: it is a decryption in disguise.
        (PolicyKind::Encrypt, false) => vec![plain(&[
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncryptTo",
        ])],
        (PolicyKind::Encrypt, true) => vec![plain(&[
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GetPublicKey",
            "kms:ReEncryptTo",
        ])],
        (PolicyKind::Decrypt, _) => vec![plain(&[
            "kms:DescribeKey",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
        ])],
        (PolicyKind::Crypto, false) => vec![
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
        (PolicyKind::Crypto, true) => vec![plain(&[
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GetPublicKey",
            "kms:ReEncrypt*",
        ])],
        // Signing never includes verifying, nor GetPublicKey (which lets a
        // verifier check signatures outside KMS): least privilege.
        (PolicyKind::Sign, _) => vec![plain(&["kms:DescribeKey", "kms:Sign"])],
        (PolicyKind::Verify, _) => vec![plain(&[
            "kms:DescribeKey",
            "kms:GetPublicKey",
            "kms:Verify",
        ])],
        (PolicyKind::Mac, _) => vec![plain(&["kms:DescribeKey", "kms:GenerateMac"])],
        (PolicyKind::VerifyMac, _) => vec![plain(&["kms:DescribeKey", "kms:VerifyMac"])],
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

/// A managed-policy document granting `kind` on the given key ARNs (sorted)
/// of a symmetric key.
pub fn managed_policy(kind: PolicyKind, arns: &BTreeSet<String>) -> Value {
    managed_policy_of(kind, false, arns)
}

/// A managed-policy document granting `kind` on the given key ARNs
/// (sorted); `public_key` as in [`kind_statements_of`].
pub fn managed_policy_of(kind: PolicyKind, public_key: bool, arns: &BTreeSet<String>) -> Value {
    let statements: Vec<Value> = kind_statements_of(kind, public_key)
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
        (PolicyKind::Sign, _) => "AllowSign".into(),
        (PolicyKind::Verify, _) => "AllowVerify".into(),
        (PolicyKind::Mac, _) => "AllowMac".into(),
        (PolicyKind::VerifyMac, _) => "AllowVerifyMac".into(),
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
            key_type: crate::model::KeyType::default(),
            name: "payments".into(),
            classification: "confidential".into(),
            description: "d".into(),
            rotation_days: 365,
            generation: 1,
            enabled: true,
            via_services: ["lex-v2".to_string(), "secretsmanager".to_string()].into(),
            service_principals: ["logs".to_string()].into(),
            administrators: BTreeSet::new(),
            users: BTreeSet::new(),
            statements: Vec::new(),
            user_tags: BTreeMap::new(),
            targets: vec![],
            adopt: false,
            rotation: true,
            managed_policies: PolicyKind::ENCRYPTION.into_iter().collect(),
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
