//! `live::read` against the emulator, through the real SDK clients.
//!
//! Each test seeds its own fresh account(s) through the SDK, then reads them
//! with a `DesiredState` built here. Nothing is shared between tests but the
//! emulator process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use c3::live;
use c3::model::{
    Account, DesiredState, KeySpec, KeyState, LiveState, PolicyKind, Settings, Target,
};

use crate::support;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const REGION: &str = "eu-west-1";
const OTHER_REGION: &str = "eu-central-1";

/// A key policy as c3 would write it (stored verbatim by the emulator).
fn key_policy(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

fn c3_tags(name: &str, generation: u32) -> Vec<(String, String)> {
    vec![
        ("c3:managed".into(), "true".into()),
        ("c3:name".into(), name.into()),
        ("c3:classification".into(), "internal".into()),
        ("c3:generation".into(), generation.to_string()),
    ]
}

async fn config(account: &str, region: &str) -> SdkConfig {
    support::sdk_config(&support::emulator().endpoint(), account, region).await
}

async fn kms(account: &str, region: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&config(account, region).await)
}

/// Creates a symmetric key with these tags and policy; returns its id.
async fn create_key(
    kms: &aws_sdk_kms::Client,
    description: &str,
    tags: &[(String, String)],
    policy: Option<String>,
) -> String {
    let mut req = kms
        .create_key()
        .description(description)
        .key_spec(aws_sdk_kms::types::KeySpec::SymmetricDefault)
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .set_policy(policy);
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .unwrap(),
        );
    }
    let out = req.send().await.unwrap();
    out.key_metadata().unwrap().key_id().to_string()
}

async fn create_alias(kms: &aws_sdk_kms::Client, name: &str, key_id: &str) {
    kms.create_alias()
        .alias_name(name)
        .target_key_id(key_id)
        .send()
        .await
        .unwrap();
}

async fn key_count(kms: &aws_sdk_kms::Client) -> usize {
    kms.list_keys()
        .limit(1000)
        .send()
        .await
        .unwrap()
        .keys()
        .len()
}

fn account(name: &str, id: &str, role_arn: Option<String>, regions: &[&str]) -> Account {
    Account {
        name: name.into(),
        id: id.into(),
        role_arn,
        external_id: None,
        regions: regions
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
    }
}

fn key(name: &str, targets: Vec<Target>) -> KeySpec {
    KeySpec {
        key_type: c3::model::KeyType::default(),
        name: name.into(),
        classification: "internal".into(),
        description: format!("Managed by c3: {name} (internal)"),
        rotation_days: 365,
        generation: 1,
        enabled: true,
        via_services: BTreeSet::new(),
        service_principals: BTreeSet::new(),
        administrators: BTreeSet::new(),
        users: BTreeSet::new(),
        statements: Vec::new(),
        user_tags: BTreeMap::new(),
        targets,
        adopt: false,
        rotation: true,
        managed_policies: PolicyKind::ENCRYPTION.into_iter().collect(),
    }
}

fn desired(accounts: Vec<Account>, keys: Vec<KeySpec>, policy_path: &str) -> DesiredState {
    DesiredState {
        settings: Settings {
            policy_path: policy_path.into(),
            parallelism: 4,
            ..Settings::default()
        },
        accounts,
        keys,
        scope: c3::model::Scope::default(),
        accept: Vec::new(),
        fleet: c3::model::Fleet::default(),
    }
}

/// Records which AWS calls a read made: c3's own `AWS call` debug events
/// (one per API call, by operation) and aws-config's AssumeRole provider
/// fetching credentials. Recorded for the current thread only, which is
/// where a `#[tokio::test]` (current-thread runtime) polls everything.
///
/// One global subscriber routes each event to the log of its thread, if
/// any ([`CallLog::record`]). A scoped subscriber per test (`set_default`)
/// is not reliable while other tests run: when exactly one scoped
/// subscriber exists, tracing-core registers a callsite first hit on
/// another thread with that thread's (absent) subscriber only, and caches
/// it as disabled for every thread, so the test saw none of c3's calls.
#[derive(Clone, Default)]
struct CallLog(Arc<Mutex<Vec<String>>>);

thread_local! {
    static THREAD_LOG: std::cell::RefCell<Option<CallLog>> = const { std::cell::RefCell::new(None) };
}

/// Clears this thread's [`CallLog`] when dropped.
struct Recording;

impl Drop for Recording {
    fn drop(&mut self) {
        THREAD_LOG.with(|log| log.borrow_mut().take());
    }
}

/// The global subscriber's layer: hands each event to its thread's log.
struct Router;

impl<S: tracing::Subscriber> Layer<S> for Router {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        THREAD_LOG.with(|log| {
            if let Some(log) = log.borrow().as_ref() {
                log.on_event(event);
            }
        });
    }
}

impl CallLog {
    /// A log of this thread's calls until the returned guard is dropped.
    fn record() -> (CallLog, Recording) {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::filter::LevelFilter::DEBUG)
                .with(Router);
            // Another global subscriber may exist already; then this one is not needed.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        let log = CallLog::default();
        THREAD_LOG.with(|slot| *slot.borrow_mut() = Some(log.clone()));
        (log, Recording)
    }

    fn on_event(&self, event: &tracing::Event<'_>) {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let entry = match fields.message.as_str() {
            "AWS call" => fields.operation,
            "retrieving assumed credentials" => "AssumeRole".to_string(),
            _ => return,
        };
        self.0.lock().unwrap().push(entry);
    }

    fn count(&self, operation: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|o| *o == operation)
            .count()
    }
}

#[derive(Default)]
struct EventFields {
    message: String,
    operation: String,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "operation" {
            self.operation = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "operation" => self.operation = format!("{value:?}"),
            _ => {}
        }
    }
}

fn region<'a>(state: &'a LiveState, account: &str, region: &str) -> &'a c3::model::RegionSnapshot {
    match state.regions.get(&Target::new(account, region)) {
        Some(Ok(snapshot)) => snapshot,
        other => panic!("{account}/{region}: {other:?}"),
    }
}

#[tokio::test]
async fn c3_keys_are_read_in_full_and_others_by_tag() {
    let acct = support::fresh_account();
    let kms = kms(&acct, REGION).await;
    let policy = key_policy(&acct);

    let current = create_key(
        &kms,
        "Payment records",
        &c3_tags("payments", 2),
        Some(policy.clone()),
    )
    .await;
    create_alias(&kms, "alias/payments", &current).await;
    kms.enable_key_rotation()
        .key_id(&current)
        .rotation_period_in_days(180)
        .send()
        .await
        .unwrap();
    // An older generation: no alias, found by its tags only.
    let older = create_key(&kms, "Payment records", &c3_tags("payments", 1), None).await;
    // A c3 key of a generation scheduled for deletion.
    let pending = create_key(&kms, "Payment records", &c3_tags("payments", 0), None).await;
    kms.schedule_key_deletion()
        .key_id(&pending)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    // A key c3 does not manage, under a declared alias.
    let foreign = create_key(
        &kms,
        "someone else's",
        &[("owner".to_string(), "team-x".to_string())],
        None,
    )
    .await;
    create_alias(&kms, "alias/ledger", &foreign).await;
    // A c3 key whose name is no longer declared (an orphan).
    let orphan = create_key(&kms, "old", &c3_tags("retired", 1), None).await;
    let keys_before = key_count(&kms).await;

    let target = Target::new(&acct, REGION);
    let d = desired(
        vec![account("main", &acct, None, &[REGION])],
        vec![
            key("payments", vec![target.clone()]),
            key("ledger", vec![target.clone()]),
        ],
        "/",
    );
    let base = config(&acct, REGION).await;
    let state = live::read(&d, &base).await;

    let snap = region(&state, &acct, REGION);
    // Sorted, customer aliases only (no alias/aws/*).
    let aliases: Vec<_> = snap
        .aliases
        .iter()
        .map(|a| (a.name.as_str(), a.target_key_id.as_deref()))
        .collect();
    assert_eq!(
        aliases,
        vec![
            ("alias/ledger", Some(foreign.as_str())),
            ("alias/payments", Some(current.as_str())),
        ]
    );
    let mut ids: Vec<_> = [&current, &older, &pending, &foreign, &orphan]
        .iter()
        .map(|s| (*s).clone())
        .collect();
    ids.sort();
    let read_ids: Vec<_> = snap.keys.iter().map(|k| k.key_id.clone()).collect();
    assert_eq!(read_ids, ids, "every key, sorted by id");

    let cur = snap.key(&current).unwrap();
    assert_eq!(cur.c3_generation(), Some(2));
    assert!(cur.arn.contains(&acct) && cur.arn.ends_with(&current));
    let details = cur.details.as_ref().expect("c3 key read in full");
    assert_eq!(details.state, KeyState::Enabled);
    assert_eq!(details.description, "Payment records");
    assert_eq!(details.manager, "CUSTOMER");
    assert_eq!(details.spec, "SYMMETRIC_DEFAULT");
    assert_eq!(details.usage, "ENCRYPT_DECRYPT");
    assert!(details.creation_epoch.is_some());
    assert_eq!(details.policy.as_deref(), Some(policy.as_str()));
    let rotation = details.rotation.as_ref().expect("rotation status");
    assert!(rotation.enabled);
    // Plain moto drops the period; AWS (and the patched emulator) report it.
    assert!(matches!(rotation.period_days, None | Some(180)));

    let old = snap.key(&older).unwrap().details.as_ref().unwrap();
    assert_eq!(old.state, KeyState::Enabled);
    assert!(old
        .policy
        .as_deref()
        .is_some_and(|p| p.contains("Statement")));
    assert!(old.rotation.as_ref().is_some_and(|r| !r.enabled));

    let pend = snap.key(&pending).unwrap().details.as_ref().unwrap();
    assert_eq!(pend.state, KeyState::PendingDeletion);
    // AWS refuses GetKeyRotationStatus in this state (rotation: None); plain moto answers.
    assert!(pend.rotation.as_ref().is_none_or(|r| !r.enabled));

    let f = snap.key(&foreign).unwrap();
    assert_eq!(f.tag("owner"), Some("team-x"));
    assert!(!f.is_managed());
    assert!(f.details.is_none(), "a foreign key is never read in full");

    let o = snap.key(&orphan).unwrap();
    assert_eq!(o.c3_name(), Some("retired"));
    assert!(
        o.details.is_none(),
        "undeclared c3 names are kept by tag only"
    );

    // alias/aws/* were never described (moto would have created keys).
    assert_eq!(key_count(&kms).await, keys_before);

    assert_eq!(
        state.accounts.get(&acct),
        Some(&Ok(c3::model::AccountSnapshot::default()))
    );
}

#[tokio::test]
async fn more_than_a_page_of_aliases() {
    let acct = support::fresh_account();
    let kms = kms(&acct, REGION).await;
    let mut keys = Vec::new();
    for i in 0..3 {
        let name = format!("k{i}");
        keys.push(create_key(&kms, &name, &c3_tags(&name, 1), None).await);
    }
    for i in 0..120 {
        create_alias(&kms, &format!("alias/page-{i:03}"), &keys[i % keys.len()]).await;
    }

    let target = Target::new(&acct, REGION);
    let d = desired(
        vec![account("main", &acct, None, &[REGION])],
        vec![key("page-007", vec![target.clone()])],
        "/",
    );
    let state = live::read(&d, &config(&acct, REGION).await).await;
    let snap = region(&state, &acct, REGION);

    let names: Vec<_> = snap.aliases.iter().map(|a| a.name.clone()).collect();
    let expected: Vec<_> = (0..120).map(|i| format!("alias/page-{i:03}")).collect();
    assert_eq!(names, expected);
    assert_eq!(snap.keys.len(), 3);
    // alias/page-007 points at keys[1] (a c3 key named k1): read in full.
    assert!(snap.key(&keys[1]).unwrap().details.is_some());
    assert!(snap.key(&keys[0]).unwrap().details.is_none());
}

#[tokio::test]
async fn accounts_reached_by_role_see_only_their_own_keys() {
    let caller = support::fresh_account();
    let a = support::fresh_account();
    let b = support::fresh_account();

    let a_west = create_key(&kms(&a, REGION).await, "a", &c3_tags("shared", 1), None).await;
    let a_central = create_key(
        &kms(&a, OTHER_REGION).await,
        "a",
        &c3_tags("shared", 1),
        None,
    )
    .await;
    let b_kms = kms(&b, REGION).await;
    let b_west = create_key(&b_kms, "b", &c3_tags("shared", 1), None).await;
    create_alias(&b_kms, "alias/shared", &b_west).await;

    let mut acct_a = account(
        "a",
        &a,
        Some(format!("arn:aws:iam::{a}:role/c3")),
        &[OTHER_REGION, REGION],
    );
    acct_a.external_id = Some("ext-123".into());
    let acct_b = account(
        "b",
        &b,
        Some(format!("arn:aws:iam::{b}:role/c3")),
        &[REGION],
    );
    let targets = vec![
        Target::new(&a, OTHER_REGION),
        Target::new(&a, REGION),
        Target::new(&b, REGION),
    ];
    let d = desired(vec![acct_a, acct_b], vec![key("shared", targets)], "/");
    // The ambient credentials belong to a third account.
    let base = config(&caller, REGION).await;
    let (log, recording) = CallLog::record();
    let state = live::read(&d, &base).await;
    drop(recording);

    // One AssumeRole per account, whatever its number of regions and clients.
    // (counted by the emulator: c3's AssumeRole calls are signed by the caller's account)
    let assumed = support::emulator()
        .requests(&caller)
        .iter()
        .filter(|r| r.operation == "AssumeRole")
        .count();
    assert_eq!(assumed, 2);
    assert_eq!(log.count("GetCallerIdentity"), 2);
    assert_eq!(log.count("GetAccountAuthorizationDetails"), 2);
    // Per region: one page of each listing, then 4 calls per c3 key (one key each).
    for op in [
        "ListAliases",
        "ListKeys",
        "ListResourceTags",
        "DescribeKey",
        "GetKeyRotationStatus",
        "GetKeyPolicy",
    ] {
        assert_eq!(log.count(op), 3, "{op}");
    }
    assert_eq!(log.count("ListPolicyTags"), 0);

    let only = |account: &str, region_name: &str| -> Vec<String> {
        region(&state, account, region_name)
            .keys
            .iter()
            .map(|k| {
                assert!(k.arn.contains(&format!(":{account}:")), "{}", k.arn);
                assert!(k.details.is_some());
                k.key_id.clone()
            })
            .collect()
    };
    assert_eq!(only(&a, REGION), vec![a_west]);
    assert_eq!(only(&a, OTHER_REGION), vec![a_central]);
    assert_eq!(only(&b, REGION), vec![b_west.clone()]);
    assert!(region(&state, &a, REGION).aliases.is_empty());
    assert_eq!(
        region(&state, &b, REGION).aliases[0]
            .target_key_id
            .as_deref(),
        Some(b_west.as_str())
    );
    assert_eq!(state.regions.len(), 3);
    assert!(state
        .accounts
        .get(&a)
        .is_some_and(std::result::Result::is_ok));
    assert!(state
        .accounts
        .get(&b)
        .is_some_and(std::result::Result::is_ok));
}

/// The SDK's shared identity cache holds 64 partitions and evicts beyond
/// that; each account's session must keep its own, or with more accounts
/// roles get assumed again and again (211 AssumeRole for 100 accounts).
#[tokio::test]
async fn more_accounts_than_the_sdk_cache_holds_assume_each_role_once() {
    let caller = support::fresh_account();
    let accounts: Vec<Account> = (0..80)
        .map(|i| {
            let id = support::fresh_account();
            let role = format!("arn:aws:iam::{id}:role/c3");
            account(&format!("a{i}"), &id, Some(role), &[REGION])
        })
        .collect();
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let mut d = desired(accounts, vec![], "/");
    d.settings.parallelism = 16;
    let base = config(&caller, REGION).await;
    let (log, recording) = CallLog::record();
    let state = live::read(&d, &base).await;
    drop(recording);
    assert!(state.regions.values().all(std::result::Result::is_ok));
    assert!(state.accounts.values().all(std::result::Result::is_ok));
    assert_eq!(log.count("GetCallerIdentity"), ids.len());
    let assumed = support::emulator()
        .requests(&caller)
        .iter()
        .filter(|r| r.operation == "AssumeRole")
        .count();
    assert_eq!(assumed, ids.len());
    for id in &ids {
        // Each account's own calls: one identity check, one page of each listing.
        let ops: Vec<String> = support::emulator()
            .requests(id)
            .into_iter()
            .map(|r| r.operation)
            .collect();
        assert_eq!(ops.len(), 4, "{id}: {ops:?}");
    }
}

#[tokio::test]
async fn an_account_with_other_credentials_fails_alone() {
    let caller = support::fresh_account();
    let declared = support::fresh_account();
    let good = support::fresh_account();
    create_key(&kms(&good, REGION).await, "g", &c3_tags("k", 1), None).await;

    let d = desired(
        vec![
            // No role_arn: the ambient credentials (of `caller`) would be used.
            account("wrong", &declared, None, &[REGION, OTHER_REGION]),
            account(
                "good",
                &good,
                Some(format!("arn:aws:iam::{good}:role/c3")),
                &[REGION],
            ),
        ],
        vec![key(
            "k",
            vec![Target::new(&declared, REGION), Target::new(&good, REGION)],
        )],
        "/",
    );
    let state = live::read(&d, &config(&caller, REGION).await).await;

    for r in [REGION, OTHER_REGION] {
        match state.regions.get(&Target::new(&declared, r)) {
            Some(Err(failure)) => {
                let m = &failure.message;
                assert!(m.contains("'wrong'"), "{m}");
                assert!(m.contains(&declared) && m.contains(&caller), "{m}");
                assert!(m.contains("set role_arn"), "{m}");
                assert!(m.contains("GetCallerIdentity"), "{m}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
    assert!(matches!(state.accounts.get(&declared), Some(Err(_))));
    assert_eq!(region(&state, &good, REGION).keys.len(), 1);
    assert!(state
        .accounts
        .get(&good)
        .is_some_and(std::result::Result::is_ok));
}

#[tokio::test]
async fn iam_policies_under_the_policy_path() {
    let acct = support::fresh_account();
    let iam = aws_sdk_iam::Client::new(&config(&acct, "us-east-1").await);
    let doc = |action: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["{action}"],"Resource":["arn:aws:kms:eu-west-1:{acct}:key/x"]}}]}}"#
        )
    };
    let tag = |k: &str, v: &str| {
        aws_sdk_iam::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    let create = |path: &'static str, name: &'static str, document: String, tagged: bool| {
        let iam = iam.clone();
        async move {
            let mut req = iam
                .create_policy()
                .path(path)
                .policy_name(name)
                .policy_document(document);
            if tagged {
                req = req
                    .tags(tag("c3:managed", "true"))
                    .tags(tag("c3:name", "gone"));
            }
            req.send()
                .await
                .unwrap()
                .policy()
                .unwrap()
                .arn()
                .unwrap()
                .to_string()
        }
    };
    let encrypt = create("/c3/", "allow-encrypt-payments", doc("kms:Encrypt"), true).await;
    let decrypt = create("/c3/", "allow-decrypt-payments", doc("kms:Decrypt"), true).await;
    iam.create_policy_version()
        .policy_arn(&decrypt)
        .policy_document(doc("kms:ReEncryptFrom"))
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    create("/c3/", "allow-crypto-gone", doc("kms:Decrypt"), true).await;
    create("/c3/", "allow-crypto-manual", doc("kms:Decrypt"), false).await;
    create("/other/", "allow-crypto-payments", doc("kms:Decrypt"), true).await;
    create("/c3/", "unrelated", doc("kms:Decrypt"), false).await;

    let d = desired(
        vec![account("main", &acct, None, &[REGION])],
        vec![key("payments", vec![Target::new(&acct, REGION)])],
        "/c3/",
    );
    let state = live::read(&d, &config(&acct, REGION).await).await;
    let snap = match state.accounts.get(&acct) {
        Some(Ok(snap)) => snap,
        other => panic!("{other:?}"),
    };
    let names: Vec<_> = snap.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "allow-crypto-gone",
            "allow-crypto-manual",
            "allow-decrypt-payments",
            "allow-encrypt-payments"
        ]
    );
    let enc = snap.policy("allow-encrypt-payments").unwrap();
    assert_eq!(enc.arn, encrypt);
    assert_eq!(enc.path, "/c3/");
    assert_eq!(enc.document, doc("kms:Encrypt"), "decoded, verbatim");
    let tags = enc.tags.as_ref().expect("every candidate's tags are read");
    assert_eq!(tags.get("c3:managed").map(String::as_str), Some("true"));
    assert!(
        enc.is_owned_by("gone"),
        "the test tags every policy c3:name=gone"
    );
    // The same name under another path is listed by name, for the clash check.
    let others: Vec<_> = snap
        .others
        .iter()
        .map(|p| (p.path.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(others, vec![("/other/", "allow-crypto-payments")]);
    let dec = snap.policy("allow-decrypt-payments").unwrap();
    assert_eq!(
        dec.document,
        doc("kms:ReEncryptFrom"),
        "the default version"
    );
    let versions: Vec<_> = dec
        .versions
        .iter()
        .map(|v| (v.id.as_str(), v.is_default))
        .collect();
    assert_eq!(versions, vec![("v1", false), ("v2", true)]);
    let gone = snap.policy("allow-crypto-gone").unwrap();
    let tags = gone.tags.as_ref().expect("orphan candidates carry tags");
    assert_eq!(tags.get("c3:managed").map(String::as_str), Some("true"));
    let manual = snap.policy("allow-crypto-manual").unwrap();
    assert_eq!(manual.tags, Some(BTreeMap::new()));
}

/// A multi-Region key and its replica, both c3's: each region reads its own
/// copy in full, with the same key id, the kind DescribeKey tells and the
/// primary's region.
#[tokio::test]
async fn a_multi_region_key_and_its_replica_are_read_with_their_primary_region() {
    let account = support::fresh_account();
    let west = kms(&account, REGION).await;
    let mut create = west
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .multi_region(true)
        .policy(key_policy(&account));
    for (k, v) in c3_tags("global", 1) {
        create = create.tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .unwrap(),
        );
    }
    let id = create
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string();
    let mut replicate = west
        .replicate_key()
        .key_id(&id)
        .replica_region(OTHER_REGION)
        .policy(key_policy(&account));
    for (k, v) in c3_tags("global", 1) {
        replicate = replicate.tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .unwrap(),
        );
    }
    replicate.send().await.unwrap();
    let targets = vec![
        Target::new(&account, OTHER_REGION),
        Target::new(&account, REGION),
    ];
    let d = desired(
        vec![account_of(&account)],
        vec![key("global", targets)],
        "/",
    );
    let state = live::read(&d, &config(&account, REGION).await).await;
    for r in [REGION, OTHER_REGION] {
        let snap = region(&state, &account, r);
        let key = snap.key(&id).unwrap_or_else(|| panic!("{r}: {snap:?}"));
        assert!(key.arn.contains(&format!(":kms:{r}:")), "{}", key.arn);
        let details = key.details.as_ref().expect("read in full");
        assert!(details.multi_region, "{r}");
        assert_eq!(details.primary_region.as_deref(), Some(REGION), "{r}");
        assert_eq!(
            (details.spec.as_str(), details.usage.as_str()),
            ("ECC_NIST_P256", "SIGN_VERIFY")
        );
    }
}

fn account_of(id: &str) -> Account {
    account("a", id, None, &[OTHER_REGION, REGION])
}
