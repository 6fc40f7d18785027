//! Unit tests of `live::kms` against an in-memory fake.

use super::*;
use crate::model::KeyState;
use aws_sdk_kms::Client;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

use crate::live::test_support::{paged, FakeLog};

fn err(operation: &'static str, code: &str) -> AwsCallError {
    AwsCallError::service(operation, code, "fake")
}

/// An in-memory region: pages of `page` items, markers are offsets.
#[derive(Default)]
struct FakeKms {
    page: usize,
    aliases: Vec<LiveAlias>,
    keys: Vec<KeyEntry>,
    tags: HashMap<String, Vec<(String, String)>>,
    /// The error code answered per (operation, key id).
    errors: HashMap<(&'static str, String), String>,
    grants: HashMap<String, Vec<KmsGrant>>,
    /// Every (operation, key or marker) call made.
    log: FakeLog,
    /// Calls in flight now, and the most seen at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl FakeKms {
    fn new(page: usize) -> Self {
        Self {
            page,
            ..Self::default()
        }
    }

    fn key(&mut self, id: &str, tags: &[(&str, &str)]) -> &mut Self {
        self.keys.push(KeyEntry {
            key_id: id.to_string(),
            arn: format!("arn:aws:kms:eu-west-1:111111111111:key/{id}"),
        });
        self.tags.insert(
            id.to_string(),
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    fn c3_key(&mut self, id: &str, name: &str) -> &mut Self {
        self.key(
            id,
            &[
                ("c3:managed", "true"),
                ("c3:name", name),
                ("c3:classification", "internal"),
                ("c3:generation", "1"),
            ],
        )
    }

    /// Answers `operation` on `key_id` with the error `code`.
    fn fail(&mut self, operation: &'static str, key_id: &str, code: &str) -> &mut Self {
        self.errors
            .insert((operation, key_id.to_string()), code.to_string());
        self
    }

    /// The error set by [`FakeKms::fail`] for `operation` on `key_id`, if any.
    fn answer(&self, operation: &'static str, key_id: &str) -> Result<(), AwsCallError> {
        match self.errors.get(&(operation, key_id.to_string())) {
            Some(code) => Err(err(operation, code)),
            None => Ok(()),
        }
    }

    fn alias(&mut self, name: &str, target: Option<&str>) -> &mut Self {
        self.aliases.push(LiveAlias {
            name: name.to_string(),
            target_key_id: target.map(str::to_string),
        });
        self
    }
}

impl KmsRead for FakeKms {
    async fn list_aliases(&self, marker: Option<String>) -> Result<Page<LiveAlias>, AwsCallError> {
        self.log
            .record("ListAliases", marker.as_deref().unwrap_or("-"));
        Ok(paged(&self.aliases, self.page, marker))
    }

    async fn list_keys(&self, marker: Option<String>) -> Result<Page<KeyEntry>, AwsCallError> {
        self.log
            .record("ListKeys", marker.as_deref().unwrap_or("-"));
        Ok(paged(&self.keys, self.page, marker))
    }

    async fn list_tags(
        &self,
        key_id: &str,
        marker: Option<String>,
    ) -> Result<Page<(String, String)>, AwsCallError> {
        self.log.record("ListResourceTags", key_id);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.answer("ListResourceTags", key_id)?;
        let tags = self
            .tags
            .get(key_id)
            .ok_or_else(|| err("ListResourceTags", "NotFoundException"))?;
        Ok(paged(tags, self.page, marker))
    }

    async fn describe(&self, key_id: &str) -> Result<KeyDetails, AwsCallError> {
        self.log.record("DescribeKey", key_id);
        self.answer("DescribeKey", key_id)?;
        Ok(KeyDetails {
            primary_region: None,
            state: KeyState::Enabled,
            description: format!("key {key_id}"),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            multi_region: false,
            custom_key_store_id: None,
            deletion_epoch: None,
            creation_epoch: Some(1),
            rotation: None,
            policy: None,
            grants: None,
        })
    }

    async fn rotation(&self, key_id: &str) -> Result<Rotation, AwsCallError> {
        self.log.record("GetKeyRotationStatus", key_id);
        self.answer("GetKeyRotationStatus", key_id)?;
        Ok(Rotation {
            enabled: true,
            period_days: Some(365),
        })
    }

    async fn policy(&self, key_id: &str) -> Result<Option<String>, AwsCallError> {
        self.log.record("GetKeyPolicy", key_id);
        Ok(Some(format!("{{\"Id\":\"{key_id}\"}}")))
    }

    async fn list_grants(
        &self,
        key_id: &str,
        marker: Option<String>,
    ) -> Result<Page<KmsGrant>, AwsCallError> {
        self.log.record("ListGrants", key_id);
        self.answer("ListGrants", key_id)?;
        let grants = self.grants.get(key_id).cloned().unwrap_or_default();
        Ok(paged(&grants, self.page, marker))
    }
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(std::string::ToString::to_string).collect()
}

async fn read(kms: &FakeKms, declared: &[&str]) -> Result<RegionSnapshot, AwsCallError> {
    let gate = Semaphore::new(4);
    let calls = Calls::new(&gate, "prod", "eu-west-1");
    read_region(kms, &calls, &names(declared), true).await
}

/// Reads `payments`, expecting the region to fail with `code` from `operation`.
async fn assert_region_fails(kms: &FakeKms, operation: &str, code: &str) {
    let e = read(kms, &["payments"]).await.unwrap_err();
    assert_eq!(e.operation, operation);
    assert_eq!(e.code.as_deref(), Some(code));
}

/// The same, in a region whose one key, c3's `payments`, fails `operation`
/// with `code`.
async fn region_fails_on(operation: &'static str, code: &str) {
    let mut kms = FakeKms::new(100);
    kms.c3_key("k", "payments").fail(operation, "k", code);
    assert_region_fails(&kms, operation, code).await;
}

#[tokio::test]
async fn pages_through_aliases_keys_and_tags() {
    let mut kms = FakeKms::new(2);
    for i in 0..5 {
        kms.c3_key(&format!("k{i}"), &format!("n{i}"));
    }
    for i in 0..7 {
        kms.alias(&format!("alias/a{i}"), Some("k0"));
    }
    let snap = read(&kms, &["n1"]).await.unwrap();
    assert_eq!(snap.aliases.len(), 7);
    assert_eq!(snap.keys.len(), 5);
    // 4 tags per key at 2 per page: 2 pages per key.
    assert!(snap.keys.iter().all(|k| k.tags.len() == 4));
    assert_eq!(kms.log.calls("ListAliases"), vec!["-", "2", "4", "6"]);
    assert_eq!(kms.log.calls("ListKeys"), vec!["-", "2", "4"]);
    assert_eq!(kms.log.calls("ListResourceTags").len(), 10);
}

#[tokio::test]
async fn aws_aliases_are_skipped_and_never_described() {
    let mut kms = FakeKms::new(100);
    kms.key("aws-ebs-key", &[])
        .c3_key("c3-key", "payments")
        .alias("alias/aws/ebs", Some("aws-ebs-key"))
        .alias("alias/aws/s3", None)
        .alias("alias/payments", Some("c3-key"));
    let snap = read(&kms, &["payments"]).await.unwrap();
    assert_eq!(
        snap.aliases,
        vec![LiveAlias {
            name: "alias/payments".into(),
            target_key_id: Some("c3-key".into()),
        }]
    );
    assert_eq!(
        snap.keys
            .iter()
            .map(|k| k.key_id.as_str())
            .collect::<Vec<_>>(),
        vec!["c3-key"]
    );
    assert_eq!(kms.log.calls("ListResourceTags"), vec!["c3-key"]);
    assert_eq!(kms.log.calls("DescribeKey"), vec!["c3-key"]);
    assert!(!kms.log.all().iter().any(|(_, w)| w.contains("aws")));
}

#[tokio::test]
async fn c3_keys_found_by_tags_without_alias() {
    let mut kms = FakeKms::new(100);
    kms.c3_key("orphan-gen", "payments")
        .c3_key("other-name", "undeclared")
        .key("plain", &[("team", "x")]);
    let snap = read(&kms, &["payments"]).await.unwrap();
    let by_id = |id: &str| snap.key(id).unwrap();
    let found = by_id("orphan-gen");
    assert_eq!(found.c3_name(), Some("payments"));
    let details = found.details.as_ref().unwrap();
    assert_eq!(details.state, KeyState::Enabled);
    assert_eq!(details.policy.as_deref(), Some("{\"Id\":\"orphan-gen\"}"));
    assert_eq!(
        details.rotation,
        Some(Rotation {
            enabled: true,
            period_days: Some(365)
        })
    );
    // An undeclared c3 name is kept by tag only (orphan report), not read in full.
    assert_eq!(by_id("other-name").c3_name(), Some("undeclared"));
    assert!(by_id("other-name").details.is_none());
    assert!(by_id("plain").details.is_none());
    assert_eq!(kms.log.calls("DescribeKey"), vec!["orphan-gen"]);
    // Sorted by key id, whatever the listing order.
    let ids: Vec<_> = snap.keys.iter().map(|k| k.key_id.clone()).collect();
    assert_eq!(ids, vec!["orphan-gen", "other-name", "plain"]);
}

#[tokio::test]
async fn declared_alias_target_read_in_full_only_when_c3() {
    let mut kms = FakeKms::new(100);
    kms.key("foreign", &[("owner", "someone")])
        .c3_key("c3-other", "orders")
        .alias("alias/payments", Some("foreign"))
        .alias("alias/ledger", Some("c3-other"))
        .alias("alias/empty", None);
    let snap = read(&kms, &["payments", "ledger"]).await.unwrap();
    let foreign = snap.key("foreign").unwrap();
    assert_eq!(foreign.tag("owner"), Some("someone"));
    assert!(foreign.details.is_none());
    // c3 key of another name behind a declared alias: read in full.
    assert!(snap.key("c3-other").unwrap().details.is_some());
    assert_eq!(snap.alias("alias/empty").unwrap().target_key_id, None);
}

#[tokio::test]
async fn vanished_key_is_dropped() {
    let mut kms = FakeKms::new(100);
    kms.c3_key("here", "payments").c3_key("gone", "payments");
    kms.fail("ListResourceTags", "gone", "NotFoundException");
    kms.c3_key("gone-later", "payments");
    kms.fail("DescribeKey", "gone-later", "NotFoundException");
    let snap = read(&kms, &["payments"]).await.unwrap();
    let ids: Vec<_> = snap.keys.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, vec!["here"]);
}

#[tokio::test]
async fn other_tag_failure_fails_the_region() {
    let mut kms = FakeKms::new(100);
    kms.c3_key("here", "payments").key("locked", &[]);
    kms.fail("ListResourceTags", "locked", "AccessDeniedException");
    assert_region_fails(&kms, "ListResourceTags", "AccessDeniedException").await;
}

#[tokio::test]
async fn rotation_unreadable_in_some_states_is_none() {
    for code in [
        "KMSInvalidStateException",
        "DisabledException",
        "UnsupportedOperationException",
    ] {
        let mut kms = FakeKms::new(100);
        kms.c3_key("pending", "payments");
        kms.fail("GetKeyRotationStatus", "pending", code);
        let snap = read(&kms, &["payments"]).await.unwrap();
        let details = snap.key("pending").unwrap().details.clone().unwrap();
        assert_eq!(details.rotation, None, "{code}");
        assert!(details.policy.is_some());
    }
}

#[tokio::test]
async fn other_rotation_failure_fails_the_region() {
    region_fails_on("GetKeyRotationStatus", "KMSInternalException").await;
}

fn grant(id: &str, grantee: &str) -> KmsGrant {
    KmsGrant {
        grant_id: id.to_string(),
        name: None,
        grantee: Some(grantee.to_string()),
        grantee_service: None,
        retiring: None,
        issuing_account: Some("arn:aws:iam::111111111111:root".into()),
        operations: vec!["Decrypt".into()],
        constraints: BTreeMap::new(),
        source_arn: None,
    }
}

#[tokio::test]
async fn grants_of_keys_read_in_full_are_paged_and_sorted() {
    let mut kms = FakeKms::new(2);
    kms.c3_key("k", "payments").key("foreign", &[]);
    kms.grants.insert(
        "k".into(),
        ["g3", "g1", "g2"]
            .iter()
            .map(|id| grant(id, "arn:aws:iam::999999999999:root"))
            .collect(),
    );
    let snap = read(&kms, &["payments"]).await.unwrap();
    let grants = snap
        .key("k")
        .unwrap()
        .details
        .as_ref()
        .unwrap()
        .grants
        .clone();
    let ids: Vec<String> = grants.unwrap().into_iter().map(|g| g.grant_id).collect();
    assert_eq!(ids, vec!["g1", "g2", "g3"]);
    // two pages of two; the foreign key's grants are never listed
    assert_eq!(kms.log.calls("ListGrants"), vec!["k", "k"]);
}

#[tokio::test]
async fn unreadable_grants_fail_the_region_never_an_empty_list() {
    region_fails_on("ListGrants", "AccessDeniedException").await;
}

#[tokio::test]
async fn grants_are_not_read_when_switched_off() {
    let mut kms = FakeKms::new(100);
    kms.c3_key("k", "payments");
    let gate = Semaphore::new(4);
    let calls = Calls::new(&gate, "prod", "eu-west-1");
    let snap = read_region(&kms, &calls, &names(&["payments"]), false)
        .await
        .unwrap();
    assert_eq!(
        snap.key("k").unwrap().details.as_ref().unwrap().grants,
        None
    );
    assert!(kms.log.calls("ListGrants").is_empty());
}

#[tokio::test(start_paused = true)]
async fn list_grants_is_paced_per_account_and_region() {
    let mut kms = FakeKms::new(100);
    for i in 0..5 {
        kms.c3_key(&format!("k{i}"), "payments");
    }
    let gate = Semaphore::new(16);
    let pacer = crate::aws::Pacer::per_second(2);
    let calls = Calls::new(&gate, "prod", "eu-west-1").with_pacer(&pacer);
    let start = tokio::time::Instant::now();
    read_region(&kms, &calls, &names(&["payments"]), true)
        .await
        .unwrap();
    // five ListGrants at two per second: the last one starts 2 s after the first
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn the_key_behind_an_adopt_alias_is_read_in_full_and_no_other() {
    let mut kms = FakeKms::new(100);
    kms.key("cdk", &[("aws:cloudformation:stack-name", "keys")])
        .key("console", &[])
        .key("loose", &[])
        .alias("alias/legacy", Some("cdk"))
        .alias("alias/payments", Some("console"));
    let gate = Semaphore::new(4);
    let calls = Calls::new(&gate, "prod", "eu-west-1");
    let declared = names(&["legacy", "payments"]);
    let snap = read_region_adopting(&kms, &calls, &declared, &names(&["legacy"]), true)
        .await
        .unwrap();
    // legacy says adopt = true: its alias's key is read in full, with five calls.
    assert!(snap.key("cdk").unwrap().details.is_some());
    let per_key = |id: &str| kms.log.all().into_iter().filter(|(_, w)| w == id).count();
    assert_eq!(per_key("cdk"), 5);
    // payments does not: its foreign key is read by tag only, as before; so
    // is a key no alias of a declared name points at.
    assert!(snap.key("console").unwrap().details.is_none());
    assert_eq!(per_key("console"), 1);
    assert_eq!(per_key("loose"), 1);
    // An adopt name not declared for this target reads nothing more.
    let snap = read_region_adopting(&kms, &calls, &names(&[]), &names(&["legacy"]), true)
        .await
        .unwrap();
    assert!(snap.key("cdk").unwrap().details.is_none());
}

#[tokio::test]
async fn at_most_five_calls_per_c3_key() {
    let mut kms = FakeKms::new(100);
    kms.c3_key("k", "payments")
        .alias("alias/payments", Some("k"));
    read(&kms, &["payments"]).await.unwrap();
    let per_key: Vec<_> = kms
        .log
        .all()
        .into_iter()
        .filter(|(_, w)| w == "k")
        .map(|(o, _)| o)
        .collect();
    assert_eq!(per_key.len(), 5, "{per_key:?}");
}

#[tokio::test]
async fn calls_run_concurrently_within_the_permits() {
    let mut kms = FakeKms::new(100);
    for i in 0..20 {
        kms.key(&format!("k{i:02}"), &[]);
    }
    let gate = Semaphore::new(3);
    let calls = Calls::new(&gate, "prod", "eu-west-1");
    let snap = read_region(&kms, &calls, &names(&[]), true).await.unwrap();
    assert_eq!(snap.keys.len(), 20);
    assert_eq!(kms.max_in_flight.load(Ordering::SeqCst), 3);
}

/// Every key of a region has its reads queued at once; a queued read must
/// not hold an SDK future (~5 KB each), or 10,000 keys take hundreds of MB.
#[test]
fn queued_reads_hold_no_sdk_future() {
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("eu-west-1"))
        .build();
    let kms = SdkKms::new(Client::from_conf(conf));
    let sdk_call = std::mem::size_of_val(&kms.describe("k"));
    let gate = Semaphore::new(1);
    let calls = Calls::new(&gate, "prod", "eu-west-1");
    let details = std::mem::size_of_val(&read_details(&kms, &calls, "k", true));
    let tags = std::mem::size_of_val(&collect_pages("ListResourceTags", &calls, |m| {
        kms.list_tags("k", m)
    }));
    assert!(sdk_call > 1024, "an SDK call future is {sdk_call} bytes");
    assert!(details < 1024, "read_details future is {details} bytes");
    assert!(tags < 1024, "a tag listing future is {tags} bytes");
}
