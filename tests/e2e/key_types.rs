//! Every kind of key end to end (issue 16): a multi-Region signing key in
//! two accounts and three regions (replicas made, re-made after a deletion,
//! a missing primary reported), a signing key whose managed policies grant
//! exactly their actions, an HMAC key, and the fields AWS fixes at creation
//! reported as needing a new key.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MacAlgorithmSpec, MessageType, SigningAlgorithmSpec};
use serde_json::{json, Value};

use super::*;
use crate::support::fresh_account;

const R1: &str = "eu-west-1";
const R2: &str = "eu-central-1";
const R3: &str = "us-east-1";

/// Two accounts in three regions, one key of `kind` (TOML lines).
fn config_of(accounts: &[&str], regions: &[&str], key: &str) -> String {
    let mut text = "version = 1\n\n".to_string();
    for (i, id) in accounts.iter().enumerate() {
        text.push_str(&account_block(&format!("a{i}"), id, regions));
    }
    text.push_str("[classifications.signing]\n\n[[keys]]\nclassification = \"signing\"\n");
    text.push_str(key);
    text
}

/// `c3 plan --detailed-exitcode` exit code, from an async test.
async fn plan_code(config: &Config) -> Run {
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || c3(&path, &["plan", "--detailed-exitcode"]))
        .await
        .expect("join")
}

async fn plan_doc(config: &Config) -> PlanDocument {
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || plan_json(&path).1)
        .await
        .expect("join")
}

/// Signs `message` with the key behind `alias` in one client, and verifies
/// with the key behind the same alias in another.
async fn signs_and_verifies(
    signer: &aws_sdk_kms::Client,
    verifier: &aws_sdk_kms::Client,
    alias: &str,
) -> bool {
    signs_and_verifies_with(signer, verifier, alias, SigningAlgorithmSpec::EcdsaSha256).await
}

/// [`signs_and_verifies`] with another signing algorithm.
async fn signs_and_verifies_with(
    signer: &aws_sdk_kms::Client,
    verifier: &aws_sdk_kms::Client,
    alias: &str,
    algorithm: SigningAlgorithmSpec,
) -> bool {
    let message = Blob::new(b"release v1.2.3".to_vec());
    let signature = signer
        .sign()
        .key_id(alias)
        .message(message.clone())
        .message_type(MessageType::Raw)
        .signing_algorithm(algorithm.clone())
        .send()
        .await
        .expect("Sign")
        .signature()
        .cloned()
        .expect("a signature");
    verifier
        .verify()
        .key_id(alias)
        .message(message)
        .message_type(MessageType::Raw)
        .signature(signature)
        .signing_algorithm(algorithm.clone())
        .send()
        .await
        .expect("Verify")
        .signature_valid()
}

/// The policy's default document, parsed.
async fn policy_doc(account: &str, name: &str) -> Value {
    let iam = iam(account).await;
    let arn = format!("arn:aws:iam::{account}:policy/{name}");
    let (_, text) = default_policy_document(&iam, &arn).await;
    serde_json::from_str(&text).expect("policy JSON")
}

/// (actions, resources) of every statement of a managed policy, sorted.
fn grants(doc: &Value) -> Vec<(Vec<String>, Vec<String>)> {
    let list = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        out.sort();
        out
    };
    let mut out: Vec<(Vec<String>, Vec<String>)> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{doc}");
            assert!(s.get("Condition").is_none(), "{doc}");
            (list(&s["Action"]), list(&s["Resource"]))
        })
        .collect();
    out.sort();
    out
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_region_key_in_two_accounts_and_three_regions() {
    let accounts = [fresh_account(), fresh_account()];
    let ids: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let config = Config::new(&config_of(
        &ids,
        &[R1, R2, R3],
        "name = \"releases\"\nkey_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nmulti_region = true\nprimary_region = \"eu-west-1\"\n",
    ));
    let before = plan_code(&config).await;
    assert_eq!(before.code, 2, "{before:?}");
    apply_in_background(&config).await;
    let after = plan_code(&config).await;
    assert_eq!(after.code, 0, "{after:?}");

    let mut per_account = Vec::new();
    for account in &accounts {
        // One CreateKey (the primary) and two ReplicateKey per account.
        let ops = operations(account);
        assert_eq!(ops.get("CreateKey"), Some(&1), "{ops:?}");
        assert_eq!(ops.get("ReplicateKey"), Some(&2), "{ops:?}");
        assert_eq!(ops.get("EnableKeyRotation"), None, "{ops:?}");
        let mut key_ids = BTreeSet::new();
        for region in [R1, R2, R3] {
            let kms = kms(account, region).await;
            key_ids.insert(key_behind(&kms, "alias/releases").await);
        }
        assert_eq!(key_ids.len(), 1, "one key id per account: {key_ids:?}");
        let id = key_ids.into_iter().next().unwrap_or_default();
        assert!(id.starts_with("mrk-"), "{id}");
        // A signature made in one region verifies with the replica in another.
        let (primary, replica) = (kms(account, R1).await, kms(account, R3).await);
        assert!(signs_and_verifies(&primary, &replica, "alias/releases").await);
        assert!(signs_and_verifies(&replica, &primary, "alias/releases").await);
        // The managed policies name the primary and every replica.
        let arns: Vec<String> = [R2, R3, R1]
            .iter()
            .map(|r| format!("arn:aws:kms:{r}:{account}:key/{id}"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let sign = policy_doc(account, "allow-sign-releases").await;
        assert_eq!(
            grants(&sign),
            vec![(strings(&["kms:DescribeKey", "kms:Sign"]), arns.clone())]
        );
        per_account.push(id);
    }
    assert_ne!(
        per_account[0], per_account[1],
        "each account has its own key"
    );

    // A replica deleted by hand is made again (same key id), with its alias.
    let a0 = &accounts[0];
    let gone = kms(a0, R2).await;
    gone.schedule_key_deletion()
        .key_id(&per_account[0])
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    emulator().expire_deletions(a0);
    let doc = plan_doc(&config).await;
    let replicate: Vec<_> = doc
        .changes
        .iter()
        .filter(|c| c.executable() && c.region.as_deref() == Some(R2))
        .map(|c| (c.resource.to_string(), c.detail.clone()))
        .collect();
    assert!(
        replicate.iter().any(|(r, d)| r == "key"
            && d.starts_with(
                "replicate multi-Region ECC_NIST_P256 SIGN_VERIFY key from eu-west-1"
            )),
        "{replicate:#?}"
    );
    apply_in_background(&config).await;
    assert_eq!(plan_code(&config).await.code, 0);
    assert_eq!(
        key_behind(&kms(a0, R2).await, "alias/releases").await,
        per_account[0]
    );
    assert_eq!(operations(a0).get("ReplicateKey"), Some(&3));

    // A primary deleted by hand is reported, never re-created.
    let a1 = &accounts[1];
    let primary = kms(a1, R1).await;
    primary
        .schedule_key_deletion()
        .key_id(&per_account[1])
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    emulator().expire_deletions(a1);
    let doc = plan_doc(&config).await;
    let in_primary: Vec<_> = doc
        .changes
        .iter()
        .filter(|c| c.account == *a1 && c.region.as_deref() == Some(R1))
        .collect();
    assert!(
        in_primary.iter().all(|c| !c.executable()),
        "{in_primary:#?}"
    );
    assert!(
        in_primary.iter().any(|c| c.resource.to_string() == "key"
            && c.detail
                .contains("is missing here while its replicas exist")
            && c.detail.contains("UpdatePrimaryRegion")),
        "{in_primary:#?}"
    );
    let creates = operations(a1).get("CreateKey").copied();
    apply_in_background(&config).await;
    assert_eq!(
        operations(a1).get("CreateKey").copied(),
        creates,
        "no second primary"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signing_key_signs_and_its_policies_grant_exactly_their_actions() {
    let account = fresh_account();
    let config = Config::new(&config_of(
        &[&account],
        &[R1],
        "name = \"jwt\"\nkey_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nusers = [\"arn:aws:iam::{account}:role/issuer\"]\n",
    ));
    apply_in_background(&config).await;
    assert_eq!(plan_code(&config).await.code, 0);
    let kms = kms(&account, R1).await;
    assert!(signs_and_verifies(&kms, &kms, "alias/jwt").await);
    let id = key_behind(&kms, "alias/jwt").await;
    let arn = vec![format!("arn:aws:kms:{R1}:{account}:key/{id}")];
    assert_eq!(
        grants(&policy_doc(&account, "allow-sign-jwt").await),
        vec![(strings(&["kms:DescribeKey", "kms:Sign"]), arn.clone())]
    );
    assert_eq!(
        grants(&policy_doc(&account, "allow-verify-jwt").await),
        vec![(
            strings(&["kms:DescribeKey", "kms:GetPublicKey", "kms:Verify"]),
            arn.clone()
        )]
    );
    // The documents as IAM holds them, whole.
    assert_eq!(
        policy_doc(&account, "allow-sign-jwt").await,
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "AllowSign", "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:Sign"], "Resource": arn}]})
    );
    assert_eq!(
        policy_doc(&account, "allow-verify-jwt").await,
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "AllowVerify", "Effect": "Allow",
            "Action": ["kms:DescribeKey", "kms:GetPublicKey", "kms:Verify"], "Resource": arn}]})
    );
    // No encryption policies, no rotation, users get the console's signing actions.
    let iam = iam(&account).await;
    for name in ["allow-encrypt-jwt", "allow-decrypt-jwt", "allow-crypto-jwt"] {
        let arn = format!("arn:aws:iam::{account}:policy/{name}");
        assert!(
            iam.get_policy().policy_arn(arn).send().await.is_err(),
            "{name} exists"
        );
    }
    assert_eq!(operations(&account).get("EnableKeyRotation"), None);
    let policy = key_policy(&kms, &id).await;
    let users = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["Sid"] == "AllowKeyUsers")
        .cloned()
        .expect("AllowKeyUsers");
    assert_eq!(
        users["Action"],
        json!([
            "kms:DescribeKey",
            "kms:GetPublicKey",
            "kms:Sign",
            "kms:Verify"
        ])
    );
    assert!(
        !policy.to_string().contains("AllowKeyUsersGrants"),
        "{policy}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ml_dsa_key_signs_and_verifies() {
    let account = fresh_account();
    let config = Config::new(&config_of(
        &[&account],
        &[R1],
        "name = \"firmware\"\nkey_spec = \"ML_DSA_44\"\nkey_usage = \"SIGN_VERIFY\"\n",
    ));
    apply_in_background(&config).await;
    assert_eq!(plan_code(&config).await.code, 0);
    let kms = kms(&account, R1).await;
    assert!(
        signs_and_verifies_with(
            &kms,
            &kms,
            "alias/firmware",
            SigningAlgorithmSpec::MlDsaShake256
        )
        .await
    );
    let meta = kms
        .describe_key()
        .key_id("alias/firmware")
        .send()
        .await
        .expect("DescribeKey");
    assert_eq!(
        meta.key_metadata()
            .and_then(|m| m.key_spec())
            .map(aws_sdk_kms::types::KeySpec::as_str),
        Some("ML_DSA_44")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_hmac_key_makes_and_verifies_macs() {
    let account = fresh_account();
    let config = Config::new(&config_of(
        &[&account],
        &[R1],
        "name = \"tokens\"\nkey_spec = \"HMAC_256\"\nkey_usage = \"GENERATE_VERIFY_MAC\"\n",
    ));
    apply_in_background(&config).await;
    assert_eq!(plan_code(&config).await.code, 0);
    let kms = kms(&account, R1).await;
    let message = Blob::new(b"session 42".to_vec());
    let mac = kms
        .generate_mac()
        .key_id("alias/tokens")
        .message(message.clone())
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect("GenerateMac")
        .mac()
        .cloned()
        .expect("a MAC");
    let valid = kms
        .verify_mac()
        .key_id("alias/tokens")
        .message(message)
        .mac(mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect("VerifyMac")
        .mac_valid();
    assert!(valid);
    let id = key_behind(&kms, "alias/tokens").await;
    let arn = vec![format!("arn:aws:kms:{R1}:{account}:key/{id}")];
    assert_eq!(
        grants(&policy_doc(&account, "allow-mac-tokens").await),
        vec![(
            strings(&["kms:DescribeKey", "kms:GenerateMac"]),
            arn.clone()
        )]
    );
    assert_eq!(
        grants(&policy_doc(&account, "allow-verify-mac-tokens").await),
        vec![(strings(&["kms:DescribeKey", "kms:VerifyMac"]), arn)]
    );
    assert_eq!(operations(&account).get("EnableKeyRotation"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_key_encryption_key_gets_its_own_encryption_policies() {
    let account = fresh_account();
    let config = Config::new(&config_of(
        &[&account],
        &[R1],
        "name = \"envelopes\"\nkey_spec = \"RSA_3072\"\nkey_usage = \"ENCRYPT_DECRYPT\"\n",
    ));
    apply_in_background(&config).await;
    assert_eq!(plan_code(&config).await.code, 0);
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/envelopes").await;
    let arn = vec![format!("arn:aws:kms:{R1}:{account}:key/{id}")];
    // Encryption with the public key (GetPublicKey), no data keys, no grants.
    assert_eq!(
        grants(&policy_doc(&account, "allow-encrypt-envelopes").await),
        vec![(
            strings(&[
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GetPublicKey",
                "kms:ReEncryptTo"
            ]),
            arn.clone()
        )]
    );
    assert_eq!(
        grants(&policy_doc(&account, "allow-decrypt-envelopes").await),
        vec![(
            strings(&["kms:Decrypt", "kms:DescribeKey", "kms:ReEncryptFrom"]),
            arn.clone()
        )]
    );
    assert_eq!(
        grants(&policy_doc(&account, "allow-crypto-envelopes").await),
        vec![(
            strings(&[
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GetPublicKey",
                "kms:ReEncrypt*"
            ]),
            arn
        )]
    );
    assert_eq!(operations(&account).get("EnableKeyRotation"), None);
    let public = kms
        .get_public_key()
        .key_id("alias/envelopes")
        .send()
        .await
        .expect("GetPublicKey");
    assert!(public.public_key().is_some_and(|k| !k.as_ref().is_empty()));
}

/// The `key` reports of a plan that say a new key is needed.
fn new_key_reports(doc: &PlanDocument) -> Vec<String> {
    doc.changes
        .iter()
        .filter(|c| c.resource.to_string() == "key" && !c.executable())
        .filter(|c| c.detail.contains("needs a new key: bump `generation`"))
        .map(|c| c.detail.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_field_aws_fixes_at_creation_is_reported_never_changed() {
    let account = fresh_account();
    let base = |key: &str| config_of(&[&account], &[R1], &format!("name = \"fixed\"\n{key}"));
    let config = Config::new(&base(""));
    apply_in_background(&config).await;
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/fixed").await;
    for (key, expect) in [
        (
            "key_spec = \"RSA_2048\"\n",
            vec!["key_spec is SYMMETRIC_DEFAULT, keys.toml says RSA_2048"],
        ),
        (
            "key_spec = \"RSA_2048\"\nkey_usage = \"SIGN_VERIFY\"\n",
            vec![
                "key_spec is SYMMETRIC_DEFAULT, keys.toml says RSA_2048",
                "key_usage is ENCRYPT_DECRYPT, keys.toml says SIGN_VERIFY",
            ],
        ),
        (
            "multi_region = true\n",
            vec!["it is a single-Region key, keys.toml says multi_region = true"],
        ),
    ] {
        config.rewrite(&base(key));
        let doc = plan_doc(&config).await;
        let reports = new_key_reports(&doc);
        assert_eq!(reports.len(), expect.len(), "{key}: {reports:#?}");
        for (r, e) in reports.iter().zip(&expect) {
            assert!(r.contains(e) && r.contains(&id), "{r}");
        }
        // apply never executes them: nothing is written to the key.
        let writes = operations(&account);
        apply_in_background(&config).await;
        let after = operations(&account);
        for op in ["CreateKey", "PutKeyPolicy", "UpdateAlias", "TagResource"] {
            assert_eq!(after.get(op), writes.get(op), "{key}: {op}");
        }
        assert_eq!(plan_code(&config).await.code, 2, "{key}");
    }
    // Bumping the generation makes the new kind of key and repoints the alias.
    config.rewrite(&base(
        "key_spec = \"RSA_2048\"\nkey_usage = \"SIGN_VERIFY\"\ngeneration = 2\n",
    ));
    apply_in_background(&config).await;
    // What is left: the encryption policies of generation 1, kept and reported.
    let left = plan_doc(&config).await;
    let mut rows: Vec<(String, String)> = left
        .changes
        .iter()
        .map(|c| (c.resource.to_string(), c.subject.clone()))
        .collect();
    rows.sort();
    assert!(
        !left.changes.iter().any(c3::plan::Change::executable),
        "{:#?}",
        left.changes
    );
    assert_eq!(
        rows,
        [
            ("iam_policy", "allow-crypto-fixed"),
            ("iam_policy", "allow-decrypt-fixed"),
            ("iam_policy", "allow-encrypt-fixed")
        ]
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .to_vec(),
        "{:#?}",
        left.changes
    );
    let new = key_behind(&kms, "alias/fixed").await;
    assert_ne!(new, id);
    let meta = kms
        .describe_key()
        .key_id(&new)
        .send()
        .await
        .expect("DescribeKey");
    let meta = meta.key_metadata().expect("metadata");
    assert_eq!(
        meta.key_spec().map(aws_sdk_kms::types::KeySpec::as_str),
        Some("RSA_2048")
    );
    assert_eq!(
        meta.key_usage()
            .map(aws_sdk_kms::types::KeyUsageType::as_str),
        Some("SIGN_VERIFY")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn key_material_from_outside_aws_is_reported() {
    let account = fresh_account();
    let seed = crate::support::estates::Seed::new(&account, R1).await;
    // A key made by hand with imported key material, carrying c3's tags.
    let kms = kms(&account, R1).await;
    let out = kms
        .create_key()
        .origin(aws_sdk_kms::types::OriginType::External)
        .tags(tag("c3:managed", "true"))
        .tags(tag("c3:name", "imported"))
        .tags(tag("c3:classification", "signing"))
        .tags(tag("c3:generation", "1"))
        .send()
        .await
        .expect("CreateKey");
    let id = out.key_metadata().expect("metadata").key_id().to_string();
    seed.alias("alias/imported", &id).await;
    let config = Config::new(&config_of(
        &[&account],
        &[R1],
        "name = \"imported\"\nrotation = false\n",
    ));
    let doc = plan_doc(&config).await;
    let reports = new_key_reports(&doc);
    assert!(
        reports.iter().any(|r| r.contains("origin is EXTERNAL")),
        "{:#?}",
        doc.changes
    );
}

fn tag(k: &str, v: &str) -> aws_sdk_kms::types::Tag {
    aws_sdk_kms::types::Tag::builder()
        .tag_key(k)
        .tag_value(v)
        .build()
        .expect("tag")
}

use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread")]
async fn a_generation_bump_of_a_multi_region_key_makes_a_new_primary_and_replicas_and_repoints_every_alias(
) {
    let account = fresh_account();
    let key = |generation: u32| {
        format!(
            "name = \"tokens\"\nkey_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nmulti_region = true\ngeneration = {generation}\n"
        )
    };
    let config = Config::new(&config_of(&[&account], &[R1, R2], &key(1)));
    apply_in_background(&config).await;
    assert_eq!(plan_code(&config).await.code, 0);
    let (k1, k2) = (kms(&account, R1).await, kms(&account, R2).await);
    let first = key_behind(&k1, "alias/tokens").await;
    assert_eq!(
        key_behind(&k2, "alias/tokens").await,
        first,
        "one key id in both regions"
    );

    config.rewrite(&config_of(&[&account], &[R1, R2], &key(2)));
    let applied = apply_in_background(&config).await;
    assert_eq!(applied.code, 0, "{applied:?}");
    let after = plan_code(&config).await;
    assert_eq!(after.code, 0, "converged: {after:?}");
    let second = key_behind(&k1, "alias/tokens").await;
    assert!(
        second.starts_with("mrk-") && second != first,
        "{first} -> {second}"
    );
    assert_eq!(
        key_behind(&k2, "alias/tokens").await,
        second,
        "both aliases repointed"
    );
    let ops = operations(&account);
    assert_eq!(ops.get("CreateKey"), Some(&2), "{ops:?}");
    assert_eq!(ops.get("ReplicateKey"), Some(&2), "{ops:?}");
    assert!(signs_and_verifies(&k1, &k2, "alias/tokens").await);
    // The managed policy names the new primary and replica.
    let resources: Vec<String> = grants(&policy_doc(&account, "allow-sign-tokens").await)
        .into_iter()
        .flat_map(|(_, r)| r)
        .collect();
    for region in [R1, R2] {
        let arn = format!("arn:aws:kms:{region}:{account}:key/{second}");
        assert!(resources.contains(&arn), "{arn} not in {resources:?}");
    }
}
