//! Faults at the wire: throttling, HTTP 429/500/503, reset connections and
//! truncated answers, injected by the project's proxy between c3 and the
//! emulator. A plan under faults is the plan without them, or a clear error
//! for the affected target — never a different plan. An apply under faults
//! converges on rerun, with one key per (name, generation, account, region)
//! and nothing deleted.

use std::collections::BTreeMap;

use super::*;
use crate::support::{fresh_account, Proxy};

const R1: &str = "eu-west-1";
const R2: &str = "eu-central-1";

const FAULTS: &[(&str, &str)] = &[
    ("throttle", "0.3"),
    ("http429", "0.3"),
    ("http500", "0.25"),
    ("http503", "0.25"),
    ("reset", "0.2"),
    ("truncate", "0.2"),
    // Every call throttled: retries run out, and every target is an error.
    ("throttle", "1.0"),
];

/// The injected error answers (throttling, 429, 500, 503) carry `x-amz-retry-after` (see
/// tests/emulator/proxy.py): the SDK waits this long before each retry instead of its backoff of
/// up to 20 s. The same faults meet the same retries (8 attempts), retry quota and reruns, without
/// minutes of waiting; resets and truncated answers keep the SDK's own backoff. Without it, the
/// plan with every call throttled took from 20 s to over 4 min, by the backoff's jitter alone.
const RETRY_AFTER_MS: &str = "100";

fn estate(a: &str, b: &str) -> String {
    format!(
        "version = 1\n\n{}{}[classifications.confidential]\nrotation_days = 180\nvia_services = [\"s3\"]\n\n[[keys]]\nname = \"payments\"\nclassification = \"confidential\"\n\n[[keys]]\nname = \"ledger\"\nclassification = \"confidential\"\n",
        account_block("one", a, &[R1, R2]),
        account_block("two", b, &[R1])
    )
}

fn parse(run: &Run) -> PlanDocument {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not a plan ({e}): {run:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_under_faults_is_the_same_plan_or_an_error_never_another_plan() {
    let (a, b) = (fresh_account(), fresh_account());
    let config = Config::new(&estate(&a, &b));
    apply_in_background(&config).await;
    // Some drift, so the plan has executable and reported changes to get right.
    let kms = kms(&a, R1).await;
    let id = key_behind(&kms, "alias/payments").await;
    kms.disable_key_rotation()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKeyRotation");
    kms.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey");

    let path = config.path.clone();
    let (baseline, outcomes) = tokio::task::spawn_blocking(move || {
        let (run, baseline) = plan_json(&path);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!baseline.changes.is_empty());
        let upstream = crate::support::emulator().endpoint();
        // Each fault has its own proxy and plan, and plans only read: they run at once.
        let outcomes: BTreeMap<_, _> = std::thread::scope(|scope| {
            let plans: Vec<_> = FAULTS
                .iter()
                .map(|(fault, fraction)| {
                    let (upstream, path) = (&upstream, &path);
                    scope.spawn(move || {
                        let proxy = Proxy::start(
                            upstream,
                            &[
                                &format!("--{fault}"),
                                fraction,
                                "--seed",
                                "11",
                                "--retry-after-ms",
                                RETRY_AFTER_MS,
                            ],
                        );
                        let run = c3_at(&proxy.endpoint(), path, &["plan", "--output", "json"]);
                        (format!("{fault} {fraction}"), (run.code, parse(&run), run))
                    })
                })
                .collect();
            plans
                .into_iter()
                .map(|plan| plan.join().expect("a plan under faults"))
                .collect()
        });
        (baseline, outcomes)
    })
    .await
    .expect("join");
    let (code, all_throttled, _) = &outcomes["throttle 1.0"];
    assert_eq!(*code, 1);
    assert!(!all_throttled.errors.is_empty() && all_throttled.changes.is_empty());
    // Each error names its account and what failed: throttled, or timed out
    // while its credentials were being throttled.
    assert!(
        all_throttled
            .errors
            .iter()
            .all(|e| e.message.contains(&e.account)
                && (e.message.contains("Throttl") || e.message.contains("timed out"))),
        "{:?}",
        all_throttled.errors
    );

    for (fault, (code, doc, run)) in &outcomes {
        eprintln!(
            "plan with {fault}: exit {code}, {} change(s), {} error(s)",
            doc.changes.len(),
            doc.errors.len()
        );
        if doc.errors.is_empty() {
            assert_eq!(*code, 0, "{fault}: {run:?}");
            assert_eq!(doc.changes, baseline.changes, "{fault}: a different plan");
        } else {
            // A clear error for the targets that failed; nothing claimed elsewhere
            // that the plan without faults does not claim.
            assert_eq!(*code, 1, "{fault}: {run:?}");
            for e in &doc.errors {
                assert!(!e.message.is_empty(), "{fault}: empty error");
            }
            for c in &doc.changes {
                assert!(
                    baseline.changes.contains(c),
                    "{fault}: {c:?} is not in the plan without faults"
                );
            }
        }
    }
}

/// (c3:name, c3:generation) → number of c3 keys, per region of an account.
async fn c3_keys(account: &str, region: &str) -> BTreeMap<(String, String), usize> {
    let kms = kms(account, region).await;
    let mut out = BTreeMap::new();
    let keys = kms.list_keys().limit(1000).send().await.expect("ListKeys");
    for k in keys.keys() {
        let id = k.key_id().unwrap_or_default();
        let tags = kms
            .list_resource_tags()
            .key_id(id)
            .send()
            .await
            .expect("ListResourceTags");
        let get = |name: &str| {
            tags.tags()
                .iter()
                .find(|t| t.tag_key() == name)
                .map(|t| t.tag_value().to_string())
        };
        if get("c3:managed").as_deref() == Some("true") {
            let key = (
                get("c3:name").unwrap_or_default(),
                get("c3:generation").unwrap_or_default(),
            );
            *out.entry(key).or_insert(0) += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_under_faults_converges_on_rerun_without_duplicates() {
    let (a, b) = (fresh_account(), fresh_account());
    let config = Config::new(&estate(&a, &b));
    let path = config.path.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let upstream = crate::support::emulator().endpoint();
        let proxy = Proxy::start(
            &upstream,
            &[
                "--throttle",
                "0.15",
                "--http500",
                "0.1",
                "--reset",
                "0.1",
                "--truncate",
                "0.1",
                "--seed",
                "5",
                "--retry-after-ms",
                RETRY_AFTER_MS,
            ],
        );
        let mut runs = Vec::new();
        for _ in 0..6 {
            let run = c3_at(&proxy.endpoint(), &path, &["apply", "--auto-approve"]);
            let done = run.code == 0;
            runs.push(run);
            if done {
                break;
            }
        }
        runs
    })
    .await
    .expect("join");
    let last = runs.last().expect("a run");
    eprintln!("apply under faults: {} run(s) until exit 0", runs.len());
    assert_eq!(
        last.code,
        0,
        "apply under faults did not converge in {} runs: {last:?}",
        runs.len()
    );

    // Without faults: nothing left to do, one key per (name, generation, target).
    let path = config.path.clone();
    let clean = tokio::task::spawn_blocking(move || c3(&path, &["plan", "--detailed-exitcode"]))
        .await
        .expect("join");
    assert_eq!(clean.code, 0, "{clean:?}");
    for (account, region) in [(&a, R1), (&a, R2), (&b, R1)] {
        let keys = c3_keys(account, region).await;
        assert_eq!(keys.len(), 2, "{account}/{region}: {keys:?}");
        assert!(
            keys.values().all(|n| *n == 1),
            "{account}/{region}: duplicates {keys:?}"
        );
    }
    for account in [&a, &b] {
        let ops = operations(account);
        for op in crate::support::forbidden_below_version_limit() {
            assert!(!ops.contains_key(op), "{op} in {account}: {ops:?}");
        }
        // No policy has two versions.
        let iam = iam(account).await;
        for kind in ["encrypt", "decrypt", "crypto"] {
            for key in ["payments", "ledger"] {
                let arn = format!("arn:aws:iam::{account}:policy/allow-{kind}-{key}");
                let v = iam
                    .list_policy_versions()
                    .policy_arn(&arn)
                    .send()
                    .await
                    .expect("ListPolicyVersions");
                assert_eq!(v.versions().len(), 1, "{arn}: {:?}", v.versions());
            }
        }
    }
}
