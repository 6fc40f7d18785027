//! Tests of the harness itself: the emulator answers, accounts are isolated, the request log
//! attributes calls to the right account and records their parameters, a denied operation fails as
//! on AWS in its account only, owned servers stop, and `c3_command` is hermetic.

use std::collections::HashSet;
use std::error::Error;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aws_sdk_kms::error::ProvideErrorMetadata;

use super::{
    c3_command_at, emulator, fresh_account, sdk_config, Emulator, Request, DEFAULT_ACCOUNT,
};

type TestResult = Result<(), Box<dyn Error>>;

fn has(requests: &[Request], service: &str, operation: &str, region: &str) -> bool {
    requests.iter().any(|r| {
        r.service == service
            && r.operation == operation
            && r.region == region
            && r.status == Some(200)
    })
}

#[tokio::test]
async fn emulator_answers_and_isolates_accounts() -> TestResult {
    let endpoint = emulator().endpoint();
    let (a, b) = (fresh_account(), fresh_account());
    let region = "eu-west-1";
    let kms_a = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &a, region).await);
    let kms_b = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &b, region).await);

    let key_a = kms_a.create_key().description("selftest a").send().await?;
    let key_b = kms_b.create_key().description("selftest b").send().await?;
    let arn_a = key_a
        .key_metadata()
        .and_then(|m| m.arn())
        .unwrap_or_default()
        .to_string();
    let arn_b = key_b
        .key_metadata()
        .and_then(|m| m.arn())
        .unwrap_or_default()
        .to_string();
    assert!(
        arn_a.starts_with(&format!("arn:aws:kms:{region}:{a}:key/")),
        "{arn_a}"
    );
    assert!(
        arn_b.starts_with(&format!("arn:aws:kms:{region}:{b}:key/")),
        "{arn_b}"
    );

    let listed_a: Vec<String> = kms_a
        .list_keys()
        .send()
        .await?
        .keys()
        .iter()
        .filter_map(|k| k.key_arn().map(str::to_string))
        .collect();
    let listed_b: Vec<String> = kms_b
        .list_keys()
        .send()
        .await?
        .keys()
        .iter()
        .filter_map(|k| k.key_arn().map(str::to_string))
        .collect();
    assert_eq!(listed_a, vec![arn_a]);
    assert_eq!(listed_b, vec![arn_b]);

    // Same account, other region: separate state too.
    let kms_a2 = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &a, "eu-central-1").await);
    assert!(kms_a2.list_keys().send().await?.keys().is_empty());

    // IAM is global per account, and lands in the assumed account as well.
    let iam_a = aws_sdk_iam::Client::new(&sdk_config(&endpoint, &a, region).await);
    let policies = iam_a
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await?;
    assert!(policies.policies().is_empty());

    let sts_b = aws_sdk_sts::Client::new(&sdk_config(&endpoint, &b, region).await);
    assert_eq!(
        sts_b.get_caller_identity().send().await?.account(),
        Some(b.as_str())
    );
    Ok(())
}

#[tokio::test]
async fn request_log_attributes_calls_to_the_assumed_account() -> TestResult {
    let emulator = emulator();
    let endpoint = emulator.endpoint();
    let (a, b) = (fresh_account(), fresh_account());
    let kms_a = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &a, "eu-west-1").await);
    let iam_b = aws_sdk_iam::Client::new(&sdk_config(&endpoint, &b, "eu-central-1").await);

    kms_a.create_key().send().await?;
    kms_a.list_aliases().send().await?;
    let missing = kms_a
        .describe_key()
        .key_id("alias/c3-selftest-missing")
        .send()
        .await;
    assert!(missing.is_err());
    iam_b.list_policies().send().await?;

    let log_a = emulator.requests(&a);
    let log_b = emulator.requests(&b);
    // KMS (JSON protocol: X-Amz-Target) and its region.
    assert!(has(&log_a, "kms", "CreateKey", "eu-west-1"), "{log_a:#?}");
    assert!(has(&log_a, "kms", "ListAliases", "eu-west-1"), "{log_a:#?}");
    assert!(
        log_a.iter().any(|r| r.operation == "DescribeKey"
            && r.status == Some(400)
            && r.param("KeyId") == Some("alias/c3-selftest-missing")),
        "the failing call is logged with its status and KeyId: {log_a:#?}"
    );
    assert!(
        log_a
            .iter()
            .filter(|r| r.operation == "CreateKey" || r.operation == "ListAliases")
            .all(|r| r.params.is_empty()),
        "calls without a logged parameter have none: {log_a:#?}"
    );
    // IAM (query protocol: Action in the form body); its scope region is the client's.
    assert!(
        has(&log_b, "iam", "ListPolicies", "eu-central-1"),
        "{log_b:#?}"
    );
    // Each account sees only its own calls.
    assert!(log_a.iter().all(|r| r.service == "kms"), "{log_a:#?}");
    assert!(log_b.iter().all(|r| r.service == "iam"), "{log_b:#?}");
    assert_eq!(
        log_a.iter().filter(|r| r.operation == "CreateKey").count(),
        1
    );
    // The AssumeRole calls themselves were made with the dummy base credentials.
    assert!(has(
        &emulator.requests(DEFAULT_ACCOUNT),
        "sts",
        "AssumeRole",
        "eu-west-1"
    ));
    assert!(emulator.requests(&fresh_account()).is_empty());
    Ok(())
}

#[tokio::test]
async fn denied_operation_fails_as_on_aws_in_its_account_only() -> TestResult {
    let emulator = emulator();
    let endpoint = emulator.endpoint();
    let (denied, free) = (fresh_account(), fresh_account());
    let region = "eu-west-1";
    let kms_denied = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &denied, region).await);
    let kms_free = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &free, region).await);
    let iam_denied = aws_sdk_iam::Client::new(&sdk_config(&endpoint, &denied, region).await);
    let key_denied = kms_denied.create_key().send().await?;
    let key_denied = key_denied
        .key_metadata()
        .map(aws_sdk_kms::types::KeyMetadata::key_id)
        .ok_or("no key metadata")?;
    let key_free = kms_free.create_key().send().await?;
    let key_free = key_free
        .key_metadata()
        .map(aws_sdk_kms::types::KeyMetadata::key_id)
        .ok_or("no key metadata")?;

    emulator.deny(&denied, "ListGrants");
    emulator.deny_with(&denied, "ListPolicies", "Throttling");

    // KMS speaks JSON: AccessDeniedException, HTTP 400.
    let err = kms_denied
        .list_grants()
        .key_id(key_denied)
        .send()
        .await
        .err()
        .ok_or("ListGrants was not denied")?;
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    // IAM speaks the query protocol: the code asked for, HTTP 400 (403 only for AccessDenied).
    let err = iam_denied
        .list_policies()
        .send()
        .await
        .err()
        .ok_or("ListPolicies was not denied")?;
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    // The other operations of that account, and the other account, are unaffected.
    kms_denied.describe_key().key_id(key_denied).send().await?;
    kms_free.list_grants().key_id(key_free).send().await?;

    // Denied calls are logged with their status and parameters.
    let log = emulator.requests(&denied);
    assert!(
        log.iter().any(|r| r.operation == "ListGrants"
            && r.status == Some(400)
            && r.param("KeyId") == Some(key_denied)),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|r| r.operation == "ListPolicies" && r.status == Some(400)),
        "{log:#?}"
    );
    assert!(
        has(&emulator.requests(&free), "kms", "ListGrants", region),
        "the other account's ListGrants succeeded"
    );
    Ok(())
}

#[test]
fn fresh_accounts_are_unique_12_digit_ids() -> TestResult {
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| (0..250).map(|_| fresh_account()).collect::<Vec<_>>()))
        .collect();
    let mut seen = HashSet::new();
    for thread in threads {
        for account in thread.join().map_err(|_| "a thread panicked")? {
            assert!(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                "{account}"
            );
            assert_ne!(account, DEFAULT_ACCOUNT);
            assert!(seen.insert(account.clone()), "duplicate account {account}");
        }
    }
    assert_eq!(seen.len(), 1000);
    Ok(())
}

#[tokio::test]
async fn owned_emulator_is_separate_and_stops_on_drop() -> TestResult {
    let own = Emulator::start_own();
    let endpoint = own.endpoint();
    assert_ne!(endpoint, emulator().endpoint());
    let account = fresh_account();
    let kms = aws_sdk_kms::Client::new(&sdk_config(&endpoint, &account, "us-east-1").await);
    kms.create_key().send().await?;
    assert!(has(
        &own.requests(&account),
        "kms",
        "CreateKey",
        "us-east-1"
    ));
    assert!(
        emulator().requests(&account).is_empty(),
        "the shared server saw nothing of it"
    );

    let port = endpoint
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .parse::<u16>()?;
    drop(own);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the owned emulator still answers after drop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

#[test]
fn c3_command_is_hermetic() -> TestResult {
    let endpoint = "http://127.0.0.1:9";
    let command = c3_command_at(endpoint);
    let envs: Vec<(String, Option<String>)> = command
        .get_envs()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.map(|v| v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    let value = |name: &str| {
        envs.iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    };
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("AWS_") || name.starts_with("C3_") {
            assert!(
                envs.iter().any(|(k, _)| *k == name),
                "{name} leaks into c3's environment"
            );
        }
    }
    assert_eq!(value("AWS_ENDPOINT_URL").as_deref(), Some(endpoint));
    assert_eq!(value("AWS_ACCESS_KEY_ID").as_deref(), Some("test"));
    assert_eq!(value("AWS_SECRET_ACCESS_KEY").as_deref(), Some("test"));
    assert_eq!(value("AWS_REGION").as_deref(), Some("us-east-1"));
    assert_eq!(value("AWS_EC2_METADATA_DISABLED").as_deref(), Some("true"));
    assert_eq!(value("NO_COLOR").as_deref(), Some("1"));
    let home = value("HOME").ok_or("HOME is not set")?;
    assert!(std::path::Path::new(&home).is_dir(), "{home}");
    assert_ne!(Some(home), std::env::var("HOME").ok());
    // The binary starts with that environment.
    let out = c3_command_at(endpoint).arg("--help").output()?;
    assert!(out.status.success(), "{out:?}");
    Ok(())
}

/// The audit estate (`audit_estate::seed`) makes one key per role in the state the role names, and
/// the emulator's GetKeyLastUsage reads back through the Rust SDK: empty for an unused key, the
/// Encrypt for the used one.
#[tokio::test]
async fn audit_estate_seeds_every_role() -> TestResult {
    use super::audit_estate::{self, PublicCondition, PublicPrincipal, Role};
    use aws_sdk_kms::types::{KeyLastUsageTrackingOperation, KeySpec, KeyState, OriginType};

    let seeded = audit_estate::seed("eu-west-1").await;
    let estate = &seeded;
    let kms = &estate.seed.kms;
    let roles = audit_estate::roles();
    assert_eq!(estate.keys.len(), roles.len());
    let ids: HashSet<&str> = estate.keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids.len(), roles.len(), "one key per role");

    let meta = |role| async move {
        let id = estate.key(role).id.clone();
        let out = kms.describe_key().key_id(id).send().await?;
        out.key_metadata()
            .cloned()
            .ok_or_else(|| Box::<dyn Error>::from("no metadata"))
    };
    assert_eq!(
        meta(Role::Disabled).await?.key_state(),
        Some(&KeyState::Disabled)
    );
    let pending = meta(Role::PendingDeletion).await?;
    assert_eq!(pending.key_state(), Some(&KeyState::PendingDeletion));
    assert!(estate.key(Role::PendingDeletion).deletion_date.is_some());
    assert_eq!(
        meta(Role::AsymmetricSign).await?.key_spec(),
        Some(&KeySpec::Rsa2048)
    );
    assert_eq!(meta(Role::Hmac).await?.key_spec(), Some(&KeySpec::Hmac256));
    assert_eq!(
        meta(Role::External).await?.origin(),
        Some(&OriginType::External)
    );

    let policy_of = |role| async move {
        let id = estate.key(role).id.clone();
        let out = kms.get_key_policy().key_id(id).send().await?;
        let doc: serde_json::Value = serde_json::from_str(out.policy().unwrap_or_default())?;
        Ok::<_, Box<dyn Error>>(doc)
    };
    let public = policy_of(Role::Public(
        PublicPrincipal::AwsStarList,
        PublicCondition::PinsAccount,
    ))
    .await?;
    assert_eq!(
        public["Statement"][1]["Principal"],
        serde_json::json!({"AWS": ["*"]})
    );
    assert_eq!(
        public["Statement"][1]["Condition"]["StringEquals"]["kms:CallerAccount"],
        estate.seed.account.as_str()
    );

    for role in [
        Role::Used,
        Role::Public(PublicPrincipal::Star, PublicCondition::Unconditional),
    ] {
        let status = kms
            .get_key_rotation_status()
            .key_id(&estate.key(role).id)
            .send()
            .await?;
        assert!(status.key_rotation_enabled(), "{role:?}: rotation on");
        assert_eq!(status.rotation_period_in_days(), Some(365), "{role:?}");
    }

    let grants = kms
        .list_grants()
        .key_id(&estate.key(Role::CrossAccountGrant).id)
        .send()
        .await?;
    let grantee = format!("arn:aws:iam::{}:role/reader", estate.other_account);
    assert!(grants
        .grants()
        .iter()
        .any(|g| g.grantee_principal() == Some(grantee.as_str())));

    let used = kms
        .get_key_last_usage()
        .key_id(&estate.key(Role::Used).id)
        .send()
        .await?;
    let usage = used.key_last_usage().ok_or("no KeyLastUsage")?;
    assert_eq!(
        usage.operation(),
        Some(&KeyLastUsageTrackingOperation::Encrypt)
    );
    assert!(usage.timestamp().is_some() && usage.cloud_trail_event_id().is_some());
    let unused = kms
        .get_key_last_usage()
        .key_id(&estate.key(Role::ManagedRotated).arn)
        .send()
        .await?;
    assert_eq!(
        unused.key_id(),
        Some(estate.key(Role::ManagedRotated).id.as_str())
    );
    assert!(unused
        .key_last_usage()
        .is_some_and(|u| u.operation().is_none()));
    assert_eq!(unused.tracking_start_date(), unused.key_creation_date());
    Ok(())
}
