//! Estates as other tools leave them, seeded with the SDK for `c3 import`'s
//! tests. Every document here is literal JSON as those tools write it,
//! never built with c3's own policy builder: (a) the c3 CDK construct, (b)
//! Terraform's `aws_kms_key`, (c) the AWS console, (d) odd keys (rotation
//! off, Disabled, two aliases, no alias, Multi-Region).

use std::collections::BTreeMap;

use aws_sdk_kms::types::Tag;
use serde_json::Value;

/// The clients of one account and region.
pub struct Seed {
    pub account: String,
    pub region: String,
    pub kms: aws_sdk_kms::Client,
    pub iam: aws_sdk_iam::Client,
}

impl Seed {
    /// Clients that land in `account` on the shared emulator.
    pub async fn new(account: &str, region: &str) -> Self {
        let endpoint = super::emulator().endpoint();
        let kms = aws_sdk_kms::Client::new(&super::sdk_config(&endpoint, account, region).await);
        let iam =
            aws_sdk_iam::Client::new(&super::sdk_config(&endpoint, account, "us-east-1").await);
        Self {
            account: account.to_string(),
            region: region.to_string(),
            kms,
            iam,
        }
    }

    /// `text` with `ACCOUNT` and `REGION` replaced.
    pub fn fill(&self, text: &str) -> String {
        text.replace("ACCOUNT", &self.account)
            .replace("REGION", &self.region)
    }

    /// Creates a key: (key id, ARN).
    pub async fn key(
        &self,
        description: &str,
        policy: &str,
        tags: &[(&str, &str)],
        multi_region: bool,
    ) -> (String, String) {
        let mut create = self
            .kms
            .create_key()
            .description(description)
            .policy(self.fill(policy))
            .multi_region(multi_region);
        for (k, v) in tags {
            create = create.tags(
                Tag::builder()
                    .tag_key(*k)
                    .tag_value(*v)
                    .build()
                    .expect("tag"),
            );
        }
        let meta = create.send().await.expect("CreateKey");
        let meta = meta.key_metadata().expect("metadata");
        (
            meta.key_id().to_string(),
            meta.arn().unwrap_or_default().to_string(),
        )
    }

    /// `alias/<name>` → key.
    pub async fn alias(&self, name: &str, key_id: &str) {
        self.kms
            .create_alias()
            .alias_name(format!("alias/{name}"))
            .target_key_id(key_id)
            .send()
            .await
            .expect("CreateAlias");
    }

    /// Turns rotation on with a period.
    pub async fn rotate(&self, key_id: &str, days: i32) {
        self.kms
            .enable_key_rotation()
            .key_id(key_id)
            .rotation_period_in_days(days)
            .send()
            .await
            .expect("EnableKeyRotation");
    }

    /// A managed policy at `path`.
    pub async fn policy(&self, path: &str, name: &str, document: &str) {
        self.iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document)
            .send()
            .await
            .expect("CreatePolicy");
    }
}

/// The CDK construct's key policy (CDK's default: the account root may use
/// IAM policies; no Sid).
pub const CDK_KEY_POLICY: &str = r#"{
  "Statement": [
    {
      "Action": "kms:*",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::ACCOUNT:root"},
      "Resource": "*"
    }
  ],
  "Version": "2012-10-17"
}"#;

/// The CDK construct's managed policies, as its `iam.ManagedPolicy` writes
/// them: (kind, document with `KEY_ARN`).
pub const CDK_MANAGED_POLICIES: [(&str, &str); 3] = [
    (
        "encrypt",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowEncrypt","Effect":"Allow","Action":["kms:DescribeKey","kms:Encrypt","kms:GenerateDataKey*","kms:ReEncryptTo"],"Resource":"KEY_ARN"}]}"#,
    ),
    (
        "decrypt",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowDecrypt","Effect":"Allow","Action":["kms:DescribeKey","kms:Decrypt","kms:ReEncryptFrom"],"Resource":"KEY_ARN"}]}"#,
    ),
    (
        "crypto",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowCrypto","Effect":"Allow","Action":["kms:Decrypt","kms:DescribeKey","kms:Encrypt","kms:GenerateDataKey*","kms:ReEncrypt*"],"Resource":"KEY_ARN"},{"Sid":"AllowGrantsForAwsResources","Effect":"Allow","Action":"kms:CreateGrant","Resource":"KEY_ARN","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}]}"#,
    ),
];

/// (a) A key as the c3 CDK construct makes it: `alias/<name>`, the root-trust
/// policy, yearly rotation, the three managed policies at `path`, no c3 tag.
pub async fn cdk_key(seed: &Seed, name: &str, path: &str) -> String {
    let (id, arn) = seed.key("", CDK_KEY_POLICY, &[], false).await;
    seed.rotate(&id, 365).await;
    seed.alias(name, &id).await;
    for (kind, doc) in CDK_MANAGED_POLICIES {
        seed.policy(
            path,
            &format!("allow-{kind}-{name}"),
            &doc.replace("KEY_ARN", &arn),
        )
        .await;
    }
    id
}

/// The key policy of the Terraform estate (the console's statement forms,
/// as a module writes them with `data "aws_iam_policy_document"`).
pub const TERRAFORM_KEY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::ACCOUNT:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "Allow access for Key Administrators",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::ACCOUNT:role/terraform"},
      "Action": [
        "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
        "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
        "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"
      ],
      "Resource": "*"
    },
    {
      "Sid": "Allow use of the key",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::ACCOUNT:role/orders-api", "arn:aws:iam::ACCOUNT:role/orders-worker"]},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*"
    },
    {
      "Sid": "Allow attachment of persistent resources",
      "Effect": "Allow",
      "Principal": {"AWS": ["arn:aws:iam::ACCOUNT:role/orders-api", "arn:aws:iam::ACCOUNT:role/orders-worker"]},
      "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      "Resource": "*",
      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    },
    {
      "Sid": "AllowCloudWatchLogs",
      "Effect": "Allow",
      "Principal": {"Service": "logs.REGION.amazonaws.com"},
      "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      "Resource": "*",
      "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:REGION:ACCOUNT:*"}}
    }
  ]
}"#;

/// (b) `aws_kms_key` with `enable_key_rotation = true` and tags, and
/// `aws_kms_alias`; no managed policies.
pub async fn terraform_key(seed: &Seed, name: &str) -> String {
    let tags = [("Environment", "prod"), ("ManagedBy", "terraform")];
    let (id, _) = seed
        .key("orders data", TERRAFORM_KEY_POLICY, &tags, false)
        .await;
    seed.rotate(&id, 365).await;
    seed.alias(name, &id).await;
    id
}

/// The console's default key policy with a key administrator and a key user.
pub const CONSOLE_KEY_POLICY: &str = r#"{
    "Id": "key-consolepolicy-3",
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {
                "AWS": "arn:aws:iam::ACCOUNT:root"
            },
            "Action": "kms:*",
            "Resource": "*"
        },
        {
            "Sid": "Allow access for Key Administrators",
            "Effect": "Allow",
            "Principal": {
                "AWS": "arn:aws:iam::ACCOUNT:role/Admin"
            },
            "Action": [
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
                "kms:RotateKeyOnDemand"
            ],
            "Resource": "*"
        },
        {
            "Sid": "Allow use of the key",
            "Effect": "Allow",
            "Principal": {
                "AWS": "arn:aws:iam::ACCOUNT:role/reporting"
            },
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey"
            ],
            "Resource": "*"
        },
        {
            "Sid": "Allow attachment of persistent resources",
            "Effect": "Allow",
            "Principal": {
                "AWS": "arn:aws:iam::ACCOUNT:role/reporting"
            },
            "Action": [
                "kms:CreateGrant",
                "kms:ListGrants",
                "kms:RevokeGrant"
            ],
            "Resource": "*",
            "Condition": {
                "Bool": {
                    "kms:GrantIsForAWSResource": "true"
                }
            }
        }
    ]
}"#;

/// (c) A key made in the console: its default policy, rotation every
/// `days`, a tag.
pub async fn console_key(seed: &Seed, name: &str, days: i32) -> String {
    let (id, _) = seed
        .key(
            "reports",
            CONSOLE_KEY_POLICY,
            &[("owner", "data-team")],
            false,
        )
        .await;
    seed.rotate(&id, days).await;
    seed.alias(name, &id).await;
    id
}

/// (e) Keys of other kinds, made as a team makes them with the AWS CLI:
/// a multi-Region signing key (ECC_NIST_P256) whose primary is in
/// `primary`'s region with a replica in `replica`'s (ReplicateKey), each
/// behind `alias/releases` in its region, and an HMAC key behind
/// `alias/tokens` in `primary`'s region; all with the CDK's root-trust
/// policy. Returns (the signing key's id, the HMAC key's id).
pub async fn other_kinds(primary: &Seed, replica: &Seed) -> (String, String) {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let made = primary
        .kms
        .create_key()
        .description("release signing")
        .policy(primary.fill(CDK_KEY_POLICY))
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .multi_region(true)
        .send()
        .await
        .expect("CreateKey");
    let signing = made.key_metadata().expect("metadata").key_id().to_string();
    primary
        .kms
        .replicate_key()
        .key_id(&signing)
        .replica_region(&replica.region)
        .description("release signing")
        .policy(replica.fill(CDK_KEY_POLICY))
        .send()
        .await
        .expect("ReplicateKey");
    primary.alias("releases", &signing).await;
    replica.alias("releases", &signing).await;
    let made = primary
        .kms
        .create_key()
        .description("session tokens")
        .policy(primary.fill(CDK_KEY_POLICY))
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .expect("CreateKey");
    let hmac = made.key_metadata().expect("metadata").key_id().to_string();
    primary.alias("tokens", &hmac).await;
    (signing, hmac)
}

/// What (d) made: the key ids by role.
pub struct OddKeys {
    pub rotation_off: String,
    pub disabled: String,
    pub two_aliases: String,
    pub no_alias: String,
    pub multi_region: String,
}

/// (d) A key with rotation off, a Disabled key, a key with two aliases, a
/// key without an alias and a Multi-Region key (all with the console's
/// default policy).
pub async fn odd_keys(seed: &Seed) -> OddKeys {
    let (rotation_off, _) = seed
        .key("no rotation", CONSOLE_KEY_POLICY, &[], false)
        .await;
    seed.alias("legacy", &rotation_off).await;
    let (disabled, _) = seed.key("retired", CONSOLE_KEY_POLICY, &[], false).await;
    seed.rotate(&disabled, 365).await;
    seed.alias("retired", &disabled).await;
    seed.kms
        .disable_key()
        .key_id(&disabled)
        .send()
        .await
        .expect("DisableKey");
    let (two_aliases, _) = seed.key("shared", CONSOLE_KEY_POLICY, &[], false).await;
    seed.rotate(&two_aliases, 365).await;
    seed.alias("shared-a", &two_aliases).await;
    seed.alias("shared-b", &two_aliases).await;
    let (no_alias, _) = seed.key("orphan", CONSOLE_KEY_POLICY, &[], false).await;
    let (multi_region, _) = seed.key("global", CONSOLE_KEY_POLICY, &[], true).await;
    seed.alias("global", &multi_region).await;
    OddKeys {
        rotation_off,
        disabled,
        two_aliases,
        no_alias,
        multi_region,
    }
}

/// What the emulator holds for a key and its managed policies: the key
/// policy, rotation, state and tags (c3's left out), and the default
/// document of every policy of its name.
#[derive(Debug, PartialEq)]
pub struct Held {
    pub policy: Value,
    pub rotation: (bool, Option<i32>),
    pub state: String,
    pub tags: BTreeMap<String, String>,
    pub policies: BTreeMap<String, Value>,
}

/// Reads [`Held`] for a key (and the managed policies named like `name`'s).
pub async fn held(seed: &Seed, key_id: &str, name: &str) -> Held {
    let kms = &seed.kms;
    let text = kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy");
    let policy = serde_json::from_str(text.policy().unwrap_or_default()).expect("policy JSON");
    let rotation = kms
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .map_or((false, None), |r| {
            (r.key_rotation_enabled(), r.rotation_period_in_days())
        });
    let state = kms
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata()
        .and_then(|m| m.key_state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let tags = kms
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
        .expect("ListResourceTags")
        .tags()
        .iter()
        .filter(|t| !t.tag_key().starts_with("c3:"))
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    let mut policies = BTreeMap::new();
    let listed = seed
        .iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .expect("ListPolicies");
    for p in listed.policies() {
        let pname = p.policy_name().unwrap_or_default();
        if !pname.ends_with(&format!("-{name}")) {
            continue;
        }
        let arn = p.arn().unwrap_or_default();
        let (_, doc) = crate::e2e::default_policy_document(&seed.iam, arn).await;
        policies.insert(
            pname.to_string(),
            serde_json::from_str(&doc).expect("policy JSON"),
        );
    }
    Held {
        policy,
        rotation,
        state,
        tags,
        policies,
    }
}
