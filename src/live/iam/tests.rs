//! Unit tests of `live::iam` against an in-memory fake.

use super::*;
use std::collections::HashMap;
use tokio::sync::Semaphore;

use crate::live::test_support::{paged, FakeLog};

const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
const DOC_ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3ADecrypt%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";

#[derive(Default)]
struct FakeIam {
    page: usize,
    policies: Vec<PolicyEntry>,
    documents: HashMap<(String, String), String>,
    tags: HashMap<String, Vec<(String, String)>>,
    log: FakeLog,
}

impl FakeIam {
    fn arn(path: &str, name: &str) -> String {
        format!("arn:aws:iam::111111111111:policy{path}{name}")
    }

    fn policy(&mut self, path: &str, name: &str, versions: &[(&str, bool, Option<&str>)]) {
        let arn = Self::arn(path, name);
        self.tags.entry(arn.clone()).or_default();
        self.policies.push(PolicyEntry {
            arn,
            path: Some(path.to_string()),
            default_version_id: versions.iter().find(|v| v.1).map(|v| v.0.to_string()),
            attachments: Some(2),
            versions: versions
                .iter()
                .map(|(id, is_default, doc)| VersionEntry {
                    version: PolicyVersion {
                        id: id.to_string(),
                        is_default: *is_default,
                        created_epoch: Some(10),
                    },
                    document: doc.map(str::to_string),
                })
                .collect(),
        });
    }
}

impl IamRead for FakeIam {
    async fn local_policies(
        &self,
        marker: Option<String>,
    ) -> Result<Page<PolicyEntry>, AwsCallError> {
        self.log.record(
            "GetAccountAuthorizationDetails",
            marker.as_deref().unwrap_or_default(),
        );
        Ok(paged(&self.policies, self.page, marker))
    }

    async fn policy_document(
        &self,
        arn: &str,
        version_id: &str,
    ) -> Result<Option<String>, AwsCallError> {
        self.log.record("GetPolicyVersion", arn);
        Ok(self
            .documents
            .get(&(arn.to_string(), version_id.to_string()))
            .cloned())
    }

    async fn policy_tags(
        &self,
        arn: &str,
        marker: Option<String>,
    ) -> Result<Page<(String, String)>, AwsCallError> {
        self.log.record("ListPolicyTags", arn);
        match self.tags.get(arn) {
            Some(tags) => Ok(paged(tags, self.page, marker)),
            None => Err(AwsCallError::service(
                "ListPolicyTags",
                "NoSuchEntity",
                "gone",
            )),
        }
    }
}

async fn read(iam: &FakeIam, path: &str) -> AccountSnapshot {
    let gate = Semaphore::new(2);
    let calls = Calls::new(&gate, "prod", "global");
    read_account(iam, &calls, path).await.unwrap()
}

#[test]
fn name_comes_from_the_arn() {
    assert_eq!(
        policy_name_from_arn(
            "arn:aws:iam::111111111111:policy/c3/allow-encrypt-payments",
            "/c3/"
        )
        .as_deref(),
        Some("allow-encrypt-payments")
    );
    assert_eq!(
        policy_name_from_arn("arn:aws:iam::111111111111:policy/allow-crypto-x", "/").as_deref(),
        Some("allow-crypto-x")
    );
    assert_eq!(
        policy_name_from_arn(
            "arn:aws-cn:iam::111111111111:policy/a/b/allow-decrypt-y",
            "/a/b/"
        )
        .as_deref(),
        Some("allow-decrypt-y")
    );
    assert_eq!(policy_name_from_arn("not-an-arn", "/"), None);
    assert_eq!(
        path_from_arn("arn:aws:iam::1:policy/a/b/n").as_deref(),
        Some("/a/b/")
    );
}

#[test]
fn documents_decode_in_both_forms() {
    assert_eq!(decode_document("x", DOC).unwrap(), DOC);
    assert_eq!(decode_document("x", DOC_ENCODED).unwrap(), DOC);
    // A raw document keeps a literal percent sign; "+" is not a space.
    let raw = r#"{"Sid":"a%20b+c"}"#;
    assert_eq!(decode_document("x", raw).unwrap(), raw);
    assert_eq!(
        decode_document("x", "%7B%22a%22%3A%22b+c%22%7D").unwrap(),
        r#"{"a":"b+c"}"#
    );
}

#[tokio::test]
async fn filters_by_path_and_name_reads_tags_and_decodes() {
    let mut iam = FakeIam {
        page: 2,
        ..FakeIam::default()
    };
    iam.policy(
        "/c3/",
        "allow-encrypt-payments",
        &[("v1", true, Some(DOC_ENCODED))],
    );
    iam.policy(
        "/c3/",
        "allow-decrypt-payments",
        &[
            ("v10", true, Some(DOC)),
            ("v2", false, Some("{}")),
            ("v9", false, Some("{}")),
        ],
    );
    iam.tags.insert(
        FakeIam::arn("/c3/", "allow-decrypt-payments"),
        vec![
            ("c3:managed".into(), "true".into()),
            ("c3:name".into(), "payments".into()),
            ("team".into(), "x".into()),
        ],
    );
    iam.policy("/", "allow-crypto-payments", &[("v1", true, Some(DOC))]);
    iam.policy(
        "/c3/sub/",
        "allow-crypto-payments",
        &[("v1", true, Some(DOC))],
    );
    iam.policy("/c3/", "Allow-Crypto-Orders", &[("v1", true, Some(DOC))]);
    iam.policy("/c3/", "something-else", &[("v1", true, Some(DOC))]);
    let snap = read(&iam, "/c3/").await;
    let names: Vec<_> = snap.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["allow-decrypt-payments", "allow-encrypt-payments"]
    );
    assert!(snap.policies.iter().all(|p| p.document == DOC));
    assert!(snap.policies[0].is_owned_by("payments"));
    assert_eq!(snap.policies[0].tags.as_ref().unwrap().len(), 3);
    assert!(!snap.policies[1].is_owned_by("payments"));
    assert_eq!(snap.policies[1].tags, Some(BTreeMap::new()));
    assert_eq!(snap.policies[1].attachments, Some(2));
    let versions: Vec<_> = snap.policies[0]
        .versions
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(versions, vec!["v2", "v9", "v10"]);
    // Same names elsewhere, and another spelling, are listed by name only.
    let others: Vec<_> = snap
        .others
        .iter()
        .map(|p| (p.path.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        others,
        vec![
            ("/c3/", "Allow-Crypto-Orders"),
            ("/", "allow-crypto-payments"),
            ("/c3/sub/", "allow-crypto-payments"),
        ]
    );
    // Four pages of two; tags of both candidates, nothing else.
    assert_eq!(iam.log.calls("GetAccountAuthorizationDetails").len(), 3);
    assert_eq!(iam.log.calls("ListPolicyTags").len(), 3);
    assert!(iam.log.calls("GetPolicyVersion").is_empty());
}

#[tokio::test]
async fn a_policy_deleted_while_read_is_dropped() {
    let mut iam = FakeIam {
        page: 100,
        ..FakeIam::default()
    };
    iam.policy("/", "allow-encrypt-old", &[("v1", true, Some(DOC))]);
    iam.policy("/", "allow-decrypt-gone", &[("v1", true, Some(DOC))]);
    iam.tags.remove(&FakeIam::arn("/", "allow-decrypt-gone"));
    let snap = read(&iam, "/").await;
    assert_eq!(snap.policies.len(), 1);
    assert_eq!(snap.policies[0].name, "allow-encrypt-old");
}

#[tokio::test]
async fn missing_default_document_is_fetched() {
    let mut iam = FakeIam {
        page: 100,
        ..FakeIam::default()
    };
    iam.policy("/", "allow-encrypt-payments", &[("v3", true, None)]);
    iam.documents.insert(
        (FakeIam::arn("/", "allow-encrypt-payments"), "v3".into()),
        DOC.into(),
    );
    let snap = read(&iam, "/").await;
    assert_eq!(snap.policies[0].document, DOC);
    assert_eq!(iam.log.calls("GetPolicyVersion").len(), 1);
}
