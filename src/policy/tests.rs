//! Tests of policy parsing, normalisation, comparison and the write checks.

use super::*;

fn doc(text: &str) -> Document {
    match Document::parse(text, "aws") {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn glob_matches_like_iam() {
    assert!(glob_match("kms:*", "kms:Encrypt", true));
    assert!(glob_match("kms:*", "kms:ReEncrypt*", true));
    assert!(glob_match("KMS:encrypt", "kms:Encrypt", true));
    assert!(glob_match("kms:ReEncrypt*", "kms:ReEncryptFrom", true));
    assert!(!glob_match("kms:ReEncryptTo", "kms:ReEncrypt*", true));
    assert!(glob_match("kms:Get?ey*", "kms:GetKeyPolicy", true));
    assert!(!glob_match("arn:aws:kms:*", "ARN:aws:kms:x", false));
    assert!(glob_match("*", "", false));
    assert!(!glob_match("a", "", false));
}

#[test]
fn equivalent_documents_normalize_the_same() {
    let a = doc(r#"{"Version":"2012-10-17","Id":"x","Statement":[
              {"Sid":"A","Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*",
               "Condition":{"Bool":{"kms:GrantIsForAWSResource":true}}},
              {"Sid":"B","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":["kms:*"],"Resource":["*"]}]}"#);
    let b = doc(r#"{
  "Statement" : [ {
    "Resource" : "*", "Action" : "kms:*", "Effect" : "Allow",
    "Principal" : { "AWS" : [ "arn:aws:iam::111111111111:root" ] }, "Sid" : "B" },
   { "Condition": {"Bool": {"kms:GrantIsForAWSResource": ["true"]}},
     "Sid":"A","Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt"],"Resource":"*"} ],
  "Version" : "2012-10-17", "Id": "other"
}"#);
    assert_eq!(a.normalized(), b.normalized());
}

#[test]
fn spelling_does_not_depend_on_order() {
    // Found by the property tests: of two spellings of one action or
    // condition key, the first one met was kept, so list and key order
    // showed in the normalised document.
    let a = doc(
        r#"{"Statement":[{"Effect":"Allow","Action":["kms:encrypt","kms:Encrypt"],"Resource":"*",
            "Condition":{"StringLike":{"kms:viaservice":"*.eu-west-1.amazonaws.com"},
                         "StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
    );
    let b = doc(
        r#"{"Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:encrypt"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"},
                         "StringLike":{"kms:viaservice":"*.eu-west-1.amazonaws.com"}}}]}"#,
    );
    assert_eq!(a.normalized(), b.normalized());
    assert_eq!(
        a.normalized()["Statement"][0]["Action"],
        serde_json::json!(["kms:Encrypt"])
    );
}

#[test]
fn compare_finds_lacks_and_excess() {
    let live = doc(
        r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"*"},
            "Action":["kms:Encrypt","kms:Sign"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:CallerAccount":"111111111111","kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
    );
    let desired = doc(
        r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"*"},
            "Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
            "Condition":{"StringEquals":{"kms:CallerAccount":"111111111111","kms:ViaService":["s3.eu-west-1.amazonaws.com","sqs.eu-west-1.amazonaws.com"]}}}]}"#,
    );
    let (lacks, excess) = compare_statement(&live.statements[0], &desired.statements[0]);
    assert_eq!(lacks.actions, vec!["kms:Decrypt"]);
    assert_eq!(
        lacks.conditions,
        vec![(
            "StringEquals".to_string(),
            "kms:ViaService".to_string(),
            "sqs.eu-west-1.amazonaws.com".to_string()
        )]
    );
    assert_eq!(excess.actions, vec!["kms:Sign"]);
    assert!(excess.principals.is_empty());

    let mut raw = live.raw["Statement"][0].clone();
    add_to_statement(&mut raw, &lacks);
    let merged = parse_statement(&raw, "aws").unwrap_or_else(|e| panic!("{e}"));
    let (lacks2, _) = compare_statement(&merged, &desired.statements[0]);
    assert!(lacks2.is_empty(), "{lacks2:?}");
}

#[test]
fn wildcard_action_covers_specific_ones() {
    let live = doc(
        r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    let desired = doc(
        r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":["kms:Encrypt","kms:ReEncrypt*"],"Resource":"*"}]}"#,
    );
    let (lacks, excess) = compare_statement(&live.statements[0], &desired.statements[0]);
    assert!(lacks.is_empty());
    assert_eq!(excess.actions, vec!["kms:*"]);
}

#[test]
fn safety_check_refuses_lockout_and_public_keys() {
    let ok = doc(
        r#"{"Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}"#,
    );
    assert!(check_key_policy(&ok, "111111111111", "aws").is_ok());
    assert!(check_key_policy(&ok, "222222222222", "aws").is_err());
    let public = doc(
        r#"{"Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kms:*","Resource":"*"},
           {"Sid":"Open","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}]}"#,
    );
    let err = check_key_policy(&public, "111111111111", "aws").unwrap_err();
    assert!(err.contains("Open"), "{err}");
    // Principal "*" limited to the account's callers is not public.
    let pinned = doc(
        r#"{"Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kms:*","Resource":"*"},
           {"Sid":"Account","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111111111111"}}}]}"#,
    );
    assert!(check_key_policy(&pinned, "111111111111", "aws").is_ok());
}

#[test]
fn append_keeps_single_strings_single() {
    let mut v: Value = serde_json::from_str(r#"{"Action":"kms:Encrypt"}"#).unwrap_or_default();
    let lacks = Lacks {
        actions: vec!["kms:Encrypt".into()],
        ..Lacks::default()
    };
    add_to_statement(&mut v, &lacks);
    assert_eq!(v["Action"], Value::String("kms:Encrypt".into()));
}
