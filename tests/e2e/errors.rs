//! When things go wrong (issue: errors a user can act on): each mistake
//! people make every day gives a short, specific message on stderr, quickly,
//! and stdout carries only the requested output.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::*;
use crate::support::{c3_command_at, fresh_account, Emulator, DEFAULT_ACCOUNT};

const R1: &str = "eu-west-1";

/// Three accounts reached through roles, one key.
fn three_accounts() -> (Config, Vec<String>) {
    let ids: Vec<String> = (0..3).map(|_| fresh_account()).collect();
    let mut text = String::from("version = 1\n\n");
    for (name, id) in ["prod", "staging", "dev"].iter().zip(&ids) {
        text.push_str(&account_block(name, id, &[R1]));
    }
    text.push_str(
        "[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
    );
    (Config::new(&text), ids)
}

fn run(mut command: std::process::Command) -> Run {
    let r = finish(command.stdin(Stdio::null()).output().expect("run c3"));
    crate::support::validate_emitted_plans(&command, &r.stdout);
    r
}

#[test]
fn without_credentials_the_cause_is_said_once_on_stderr_and_stdout_claims_nothing() {
    let (config, ids) = three_accounts();
    let mut command = c3_command_at(&emulator().endpoint());
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args(["plan", "--detailed-exitcode", "-c"])
        .arg(&config.path);
    let r = run(command);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stdout.contains("No differences"), "{r:?}");
    assert!(
        r.stdout
            .contains("3 account(s) or region(s) could not be read"),
        "{r:?}"
    );
    // One error for the three accounts, one hint, no dump of the credential chain.
    assert_eq!(r.stderr.matches("error:").count(), 1, "{r:?}");
    assert!(
        r.stderr
            .starts_with("error: no AWS credentials were found, in 3 places:"),
        "{r:?}"
    );
    for id in &ids {
        assert!(r.stderr.contains(id.as_str()), "{r:?}");
    }
    assert_eq!(r.stderr.matches("hint:").count(), 1, "{r:?}");
    assert!(!r.stderr.contains("Ec2InstanceMetadata"), "{r:?}");
}

#[test]
fn an_endpoint_that_refuses_is_reported_in_seconds_not_minutes() {
    let (config, _) = three_accounts();
    let mut command = crate::support::offline();
    command.args(["plan", "-c"]).arg(&config.path);
    let started = Instant::now();
    let r = run(command);
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {r:?}");
    assert_eq!(r.stderr.matches("error:").count(), 1, "{r:?}");
    assert!(r.stderr.contains("the connection was refused"), "{r:?}");
    assert!(r.stderr.contains("AWS_ENDPOINT_URL"), "{r:?}");
    assert!(!r.stderr.contains("timed out"), "{r:?}");
}

#[test]
fn a_denied_assume_role_is_one_clear_error_even_with_quiet_and_no_sdk_dump() {
    let own = Emulator::start_own();
    // Every AssumeRole the test's credentials make is refused, as a trust
    // policy that does not trust the caller would.
    own.deny_with(DEFAULT_ACCOUNT, "AssumeRole", "AccessDenied");
    let id = fresh_account();
    let config = Config::new(&format!(
        "version = 1\n\n{}[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
        account_block("prod", &id, &[R1])
    ));
    for quiet in [true, false] {
        let mut command = c3_command_at(&own.endpoint());
        command.arg("plan");
        if quiet {
            command.arg("-q");
        }
        command.arg("-c").arg(&config.path);
        let r = run(command);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr.starts_with(&format!(
                "error: prod ({id}) AssumeRole arn:aws:iam::{id}:role/c3: AccessDenied"
            )),
            "{r:?}"
        );
        assert!(r.stderr.contains("hint: the role's trust policy"), "{r:?}");
        assert!(r.stderr.contains("external_id"), "{r:?}");
        for noise in ["WARN", "ErrorMetadata", "Unhandled", "needed for"] {
            assert!(!r.stderr.contains(noise), "{noise}: {r:?}");
        }
        assert_eq!(
            r.stderr.lines().filter(|l| !l.starts_with("  ")).count(),
            1,
            "{r:?}"
        );
    }
}

#[test]
fn misspelt_regions_are_caught_by_validate_with_a_suggestion() {
    let config = Config::new(
        "version = 1\n\n[accounts.prod]\nid = \"111111111111\"\nregions = [\"eu-wset-1\", \"us-east-9\"]\n",
    );
    let r = c3(&config.path, &["validate"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(
        r.stderr.contains(":5:12: accounts.prod.regions[0]: \"eu-wset-1\" is not an AWS region c3 knows (did you mean \"eu-west-1\"?)"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("\"us-east-9\" is not an AWS region c3 knows"),
        "{r:?}"
    );
    assert!(r.stderr.contains("allow_regions"), "{r:?}");
}

#[test]
fn a_closed_pipe_ends_c3_quietly_with_exit_0() {
    let config = Config::new(&one_key_config(&fresh_account(), R1));
    let mut child = crate::support::c3_command()
        .args(["plan", "-c"])
        .arg(&config.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn c3");
    // The reader goes away before c3 writes its plan.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn progress_is_never_a_line_per_write_and_quiet_leaves_only_errors() {
    let account = fresh_account();
    let text = format!(
        "version = 1\n\n{}[classifications.internal]\n\n[[keys]]\nname = \"a\"\nclassification = \"internal\"\n\n[[keys]]\nname = \"b\"\nclassification = \"internal\"\n",
        account_block("prod", &account, &[R1, "eu-central-1"])
    );
    let config = Config::new(&text);
    // stderr is not a terminal: no progress at all.
    let quiet_plan = c3(&config.path, &["plan", "-q"]);
    assert_eq!(quiet_plan.code, 0, "{quiet_plan:?}");
    assert!(quiet_plan.stderr.is_empty(), "{quiet_plan:?}");
    let applied = c3(&config.path, &["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(applied.stderr.is_empty(), "{applied:?}");
    // --progress plain: one line per account and region read and written, for CI logs.
    let other = fresh_account();
    config.rewrite(&text.replace(&account, &other));
    let plain = c3(
        &config.path,
        &["apply", "--auto-approve", "--progress", "plain"],
    );
    assert_eq!(plain.code, 0, "{plain:?}");
    let lines: Vec<&str> = plain.stderr.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("read ")).count(),
        2,
        "{plain:?}"
    );
    let applied_lines: Vec<&&str> = lines.iter().filter(|l| l.starts_with("applied ")).collect();
    // Two regions and IAM, each once, though each has several writes.
    assert_eq!(applied_lines.len(), 3, "{plain:?}");
    assert!(
        applied_lines.iter().all(|l| l.ends_with(", done")),
        "{plain:?}"
    );
}
