use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::import::{FoundKey, ImportAccount, ImportInput, Missing};
use crate::model::{Date, KeyDetails, KeyState, KmsGrant, Rotation};

const A: &str = "111111111111";
const B: &str = "222222222222";
const R: &str = "eu-west-1";

fn root_policy(account: &str, extra: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}{extra}]}}"#
    )
}

fn key(account: &str, id: &str, aliases: &[&str], policy: String) -> FoundKey {
    FoundKey {
        account: account.into(),
        region: R.into(),
        key_id: id.into(),
        aliases: aliases.iter().map(|a| (*a).to_string()).collect(),
        tags: BTreeMap::from([("team".to_string(), "pay".to_string())]),
        details: KeyDetails {
            primary_region: None,
            state: KeyState::Enabled,
            description: "d".into(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            creation_epoch: None,
            rotation: Some(Rotation {
                enabled: true,
                period_days: Some(365),
            }),
            policy: Some(policy),
            grants: Some(Vec::new()),
            origin: "AWS_KMS".into(),
            multi_region: false,
            custom_key_store_id: None,
            deletion_epoch: None,
        },
    }
}

fn input(keys: Vec<FoundKey>) -> ImportInput {
    let account = |id: &str| ImportAccount {
        name: crate::import::account_name(id),
        id: id.into(),
        role_arn: None,
        external_id: None,
        regions: vec![R.into()],
    };
    ImportInput {
        accounts: vec![account(A), account(B)],
        policy_path: "/".into(),
        keys,
        policies: BTreeMap::from([(
            A.to_string(),
            BTreeMap::from([(
                "allow-decrypt-payments".to_string(),
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#.to_string(),
            )]),
        )]),
        missing: Vec::new(),
        declared: BTreeSet::new(),
        today: Date::parse("2026-11-30").unwrap_or_else(|e| panic!("{e}")),
    }
}

fn parse(text: &str) -> crate::model::DesiredState {
    crate::config::parse(text, "keys.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn a_name_in_two_accounts_is_one_entry_and_what_one_has_alone_is_accepted() {
    let extra = r#",{"Sid":"Analytics","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:role/a"},"Action":"kms:Decrypt","Resource":"*"}"#;
    let mut b = key(B, "k2", &["payments"], root_policy(B, extra));
    b.details.grants = Some(vec![KmsGrant {
        grant_id: "g1".into(),
        name: None,
        grantee: Some("arn:aws:iam::333333333333:role/a".into()),
        grantee_service: None,
        retiring: None,
        issuing_account: None,
        operations: vec!["Decrypt".into()],
        constraints: BTreeMap::new(),
        source_arn: None,
    }]);
    let text = write(&input(vec![
        key(A, "k1", &["payments"], root_policy(A, "")),
        b,
    ]));
    let desired = parse(&text);
    assert_eq!(desired.keys.len(), 1, "{text}");
    let spec = &desired.keys[0];
    assert_eq!(spec.targets.len(), 2);
    assert!(spec.statements.is_empty(), "{text}");
    assert!(spec.adopt);
    assert_eq!(spec.classification, "imported-rot365");
    assert_eq!(desired.accept.len(), 2, "{text}");
    assert!(text.contains("subject  = \"Analytics\""), "{text}");
    assert!(
        text.contains("resource = \"grant\"\nsubject  = \"g1\""),
        "{text}"
    );
    assert!(text.contains("expires  = 2027-02-28"), "{text}");
    assert!(text.contains("reason   = \"imported as is: "), "{text}");
    // allow-decrypt-payments exists in one account only: no kind is in both.
    assert!(text.contains("managed_policies = false"), "{text}");
}

#[test]
fn keys_import_cannot_take_are_comments_and_a_second_alias_is_accepted() {
    let mut mrk = key(A, "mrk-1", &["global"], root_policy(A, ""));
    mrk.details.origin = "EXTERNAL".into();
    let mut hmac = key(A, "h1", &["mac"], root_policy(A, ""));
    hmac.details.spec = "ECC_NIST_P256".into();
    hmac.details.usage = "KEY_AGREEMENT".into();
    let mut off = key(A, "k3", &["legacy"], root_policy(A, ""));
    off.details.rotation = Some(Rotation {
        enabled: false,
        period_days: None,
    });
    off.details.state = KeyState::Disabled;
    let mut inp = input(vec![
        mrk,
        hmac,
        key(A, "k0", &[], root_policy(A, "")),
        key(A, "k1", &["a-name", "b-name"], root_policy(A, "")),
        off,
    ]);
    inp.missing.push(Missing {
        account: B.into(),
        region: Some(R.into()),
        iam_only: false,
        message: "ListKeys: AccessDeniedException".into(),
    });
    let text = write(&inp);
    let desired = parse(&text);
    let names: Vec<&str> = desired.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["a-name", "legacy"], "{text}");
    assert!(text.contains("# not imported: key k0 in 111111111111 eu-west-1 has no alias"));
    assert!(
        text.contains("imported key material (origin EXTERNAL)"),
        "{text}"
    );
    assert!(
        text.contains("key spec ECC_NIST_P256 and usage KEY_AGREEMENT (c3 creates no such keys"),
        "{text}"
    );
    assert!(text.contains("also has alias/b-name"), "{text}");
    assert!(text.contains("subject  = \"alias/b-name\""), "{text}");
    assert!(
        text.contains("# MISSING: account 222222222222 eu-west-1"),
        "{text}"
    );
    let legacy = &desired.keys[1];
    assert!(!legacy.rotation && !legacy.enabled, "{text}");
    assert!(text.contains("[classifications.imported-norotation]\nrotation = false\n"));
}

#[test]
fn class_names_say_rotation_and_services() {
    let via = BTreeSet::from(["secretsmanager".to_string()]);
    let principals = BTreeSet::from([
        "logs".to_string(),
        "delivery.logs.amazonaws.com".to_string(),
    ]);
    assert_eq!(
        class_name(Some(90), &via, &principals),
        "imported-rot90-secretsmanager-delivery-logs"
    );
    assert_eq!(
        class_name(None, &BTreeSet::new(), &BTreeSet::new()),
        "imported-norotation"
    );
}

#[test]
fn a_managed_policy_that_grants_less_than_c3s_is_left_out() {
    let mut inp = input(vec![key(A, "k1", &["payments"], root_policy(A, ""))]);
    let narrow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let arn = "arn:aws:kms:eu-west-1:111111111111:key/k1";
    let full = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:DescribeKey","kms:Encrypt","kms:GenerateDataKey*","kms:ReEncryptTo"],"Resource":"{arn}"}}]}}"#
    );
    inp.policies = BTreeMap::from([(
        A.to_string(),
        BTreeMap::from([
            ("allow-decrypt-payments".to_string(), narrow.to_string()),
            ("allow-encrypt-payments".to_string(), full),
        ]),
    )]);
    let text = write(&inp);
    assert!(text.contains("managed_policies = [\"encrypt\"]"), "{text}");
    assert!(
        text.contains("# allow-decrypt-payments in acct-111111111111 grants less than c3 writes"),
        "{text}"
    );
    parse(&text);
}

#[test]
fn keys_of_every_kind_are_written_with_their_fields() {
    let mut primary = key(A, "mrk-1", &["releases"], root_policy(A, ""));
    primary.details.spec = "ECC_NIST_P256".into();
    primary.details.usage = "SIGN_VERIFY".into();
    primary.details.multi_region = true;
    primary.details.primary_region = Some(R.into());
    primary.details.rotation = None;
    let mut replica = primary.clone();
    replica.region = "eu-central-1".into();
    let mut hmac = key(A, "h1", &["tokens"], root_policy(A, ""));
    hmac.details.spec = "HMAC_256".into();
    hmac.details.usage = "GENERATE_VERIFY_MAC".into();
    hmac.details.rotation = None;
    let mut inp = input(vec![primary, replica, hmac]);
    inp.accounts[0].regions.push("eu-central-1".into());
    let text = write(&inp);
    let desired = parse(&text);
    let releases = desired
        .keys
        .iter()
        .find(|k| k.name == "releases")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(releases.key_type.spec, "ECC_NIST_P256", "{text}");
    assert_eq!(releases.key_type.usage, "SIGN_VERIFY");
    assert_eq!(releases.key_type.primary_region.as_deref(), Some(R));
    assert_eq!(releases.targets.len(), 2, "{text}");
    assert!(!releases.rotation);
    assert!(text.contains("key_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\nmulti_region = true\nprimary_region = \"eu-west-1\"\n"), "{text}");
    let tokens = desired
        .keys
        .iter()
        .find(|k| k.name == "tokens")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(tokens.key_type.spec, "HMAC_256");
    assert!(tokens.key_type.primary_region.is_none());
    // No managed policy of the kinds of their usage exists: none is kept.
    assert!(tokens.managed_policies.is_empty(), "{text}");
}

#[test]
fn a_replica_whose_primary_was_not_read_is_a_comment() {
    let mut replica = key(A, "mrk-9", &["global"], root_policy(A, ""));
    replica.details.multi_region = true;
    replica.details.primary_region = Some("us-east-1".into());
    let text = write(&input(vec![replica]));
    assert!(
        text.contains("# not imported: alias/global → key mrk-9 in 111111111111 eu-west-1: a replica of a multi-Region key whose primary is in us-east-1, a region not read"),
        "{text}"
    );
    assert!(parse(&text).keys.is_empty(), "{text}");
}
