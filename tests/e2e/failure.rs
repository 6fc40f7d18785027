//! Failures and refusals end to end: one failing account does not stop the
//! others and gets nothing written; `c3 apply` asks on a terminal, refuses
//! without one, and writes nothing when the answer is no.

use super::*;
use crate::support::{fresh_account, run_in_pty, Emulator, DEFAULT_ACCOUNT};

const R1: &str = "eu-west-1";
/// What c3 apply prints when it asks (src/commands/apply.rs).
const PROMPT: &str = "[y/N]";

/// Every operation that writes (what apply may call, and what it must never).
const WRITES: &[&str] = &[
    "CreateKey",
    "CreateAlias",
    "UpdateAlias",
    "PutKeyPolicy",
    "EnableKeyRotation",
    "TagResource",
    "EnableKey",
    "CancelKeyDeletion",
    "CreatePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "SetDefaultPolicyVersion",
    "TagPolicy",
];

/// The writes among operations: what c3 may write, and what it must never call.
fn writes(ops: impl IntoIterator<Item = String>) -> Vec<String> {
    let forbidden = crate::support::forbidden_operations();
    ops.into_iter()
        .filter(|op| WRITES.contains(&op.as_str()) || forbidden.contains(&op.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_account_does_not_stop_the_others_and_gets_no_write() {
    // A server of our own: calls made with the ambient credentials land in moto's
    // default account, which no other test can then touch.
    let own = Emulator::start_own();
    let endpoint = own.endpoint();
    let good = fresh_account();
    let bad = fresh_account();
    assert_ne!(bad, DEFAULT_ACCOUNT);
    // `bad` has no role_arn: the ambient credentials are the default account's,
    // so its identity check fails; the key targets both accounts.
    let config = Config::new(&format!(
        "version = 1\n\n{}[accounts.bad]\nid = \"{bad}\"\nregions = [\"{R1}\"]\n\n[classifications.internal]\n\n[[keys]]\nname = \"payments\"\nclassification = \"internal\"\n",
        account_block("good", &good, &[R1])
    ));
    let path = config.path.clone();
    let ep = endpoint.clone();
    let run = tokio::task::spawn_blocking(move || c3_at(&ep, &path, &["apply", "--auto-approve"]))
        .await
        .expect("join");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!("error: bad ({bad})")),
        "the failure is not named on stderr: {run:?}"
    );

    // Apply read the good account twice: its plan, and the plan after writing,
    // which converged at once (the emulator's reads show writes at once). The
    // bad account failed before anything was written, so apply does not wait
    // (seconds, re-reading everything) for it to settle.
    let reads = |account: &str| {
        own.requests(account)
            .iter()
            .filter(|r| r.operation == "ListAliases")
            .count()
    };
    assert_eq!(reads(&good), 2, "{:?}", own.requests(&good));
    // The good account was applied and has converged.
    let kms = aws_sdk_kms::Client::new(&support::sdk_config(&endpoint, &good, R1).await);
    let key = key_behind(&kms, "alias/payments").await;
    assert!(!key.is_empty());
    let path = config.path.clone();
    let ep = endpoint.clone();
    let plan = tokio::task::spawn_blocking(move || c3_at(&ep, &path, &["plan", "-o", "json"]))
        .await
        .expect("join");
    assert_eq!(plan.code, 1, "the bad account still fails: {plan:?}");
    let doc: PlanDocument = serde_json::from_str(&plan.stdout).expect("plan JSON");
    assert!(!doc.errors.is_empty(), "{plan:?}");
    assert!(
        doc.errors.iter().all(|e| e.account == bad),
        "{:?}",
        doc.errors
    );
    let left: Vec<_> = doc
        .changes
        .iter()
        .filter(|c| c.account == good && c.executable())
        .collect();
    assert!(left.is_empty(), "left in the good account: {left:#?}");
    assert!(!doc.changes.iter().any(|c| c.account == bad));

    // Writes went to the good account only.
    let good_ops: Vec<String> = own
        .requests(&good)
        .into_iter()
        .map(|r| r.operation)
        .collect();
    assert!(good_ops.iter().any(|op| op == "CreateKey"), "{good_ops:?}");
    assert!(
        own.requests(&bad).is_empty(),
        "calls reached the bad account: {:?}",
        own.requests(&bad)
    );
    // What the ambient credentials did (in moto's default account): STS only
    // (the identity check, AssumeRole for the good account), nothing written.
    let ambient = own.requests(DEFAULT_ACCOUNT);
    assert!(
        ambient.iter().any(|r| r.operation == "GetCallerIdentity"),
        "{ambient:?}"
    );
    assert!(
        ambient.iter().all(|r| r.service == "sts"),
        "the failing account's credentials were used beyond STS: {ambient:?}"
    );
    let everywhere = writes(
        own.all_requests()
            .into_iter()
            .filter(|(account, _)| *account != good)
            .map(|(_, r)| r.operation),
    );
    assert!(
        everywhere.is_empty(),
        "written outside the good account: {everywhere:?}"
    );
}

#[test]
fn apply_without_a_terminal_or_auto_approve_refuses_and_writes_nothing() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let run = c3(&config.path, &["apply"]); // stdin is /dev/null
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("stdin is not a terminal"), "{run:?}");
    assert!(run.stderr.contains("--auto-approve"), "{run:?}");
    assert!(
        !run.stderr.contains(PROMPT),
        "asked without a terminal: {run:?}"
    );
    let ops = operations(&account);
    assert!(
        ops.contains_key("ListAliases"),
        "the plan was not read: {ops:?}"
    );
    assert_eq!(writes(ops.into_keys()), Vec::<String>::new());
}

/// `c3 apply -c <config>` (no --auto-approve) under a pseudo-terminal, answering `answer`.
fn apply_on_a_terminal(config: &Path, answer: &str) -> support::PtyRun {
    let mut command = support::c3_command();
    command.arg("apply").arg("-c").arg(config);
    run_in_pty(&command, PROMPT, answer)
}

#[test]
fn apply_on_a_terminal_answered_no_writes_nothing() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let run = apply_on_a_terminal(&config.path, "n");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.output.contains(PROMPT), "it did not ask: {run:?}");
    // It showed the plan before asking, for this account (the hermetic
    // environment reached it: the emulator answered).
    let asked = run.output.find(PROMPT).unwrap_or_default();
    assert!(run.output[..asked].contains(&account), "{run:?}");
    assert!(run.output[..asked].contains("create"), "{run:?}");
    assert!(run.output.contains("cancelled"), "{run:?}");
    assert!(!run.output.contains("Converged"), "{run:?}");

    let ops = operations(&account);
    assert!(ops.contains_key("ListAliases"), "{ops:?}");
    assert_eq!(writes(ops.into_keys()), Vec::<String>::new());
    // Still everything to create.
    let (_, doc) = plan_json(&config.path);
    assert!(doc.summary.create > 0, "{:?}", doc.summary);
}

#[test]
fn apply_on_a_terminal_answered_yes_converges() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let run = apply_on_a_terminal(&config.path, "y");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.output.contains(PROMPT), "it did not ask: {run:?}");
    assert!(!run.output.contains("cancelled"), "{run:?}");
    assert!(run.output.contains("Converged"), "{run:?}");

    assert!(operations(&account).contains_key("CreateKey"));
    let (run, doc) = plan_json(&config.path);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(doc.changes.is_empty(), "{:#?}", doc.changes);
}
