//! No secret leaks: credentials never appear in c3's output, at any verbosity.

use crate::e2e::{account_block, finish, Config};
use crate::support::{self, fresh_account};

const ACCESS_KEY: &str = "AKIAC3LEAKCHECK00001";
const SECRET: &str = "c3LeakCheckSecret/DoNotPrint+0123456789ab";

/// Signs of a credential in text: ours, or the ones STS hands out (moto's
/// session tokens start with `FQoGZXIvYXdzE`; temporary key ids with `ASIA`).
fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for needle in [ACCESS_KEY, SECRET, "FQoGZXIvYXdzE", "x-amz-security-token"] {
        if text.contains(needle) {
            found.push(needle.to_string());
        }
    }
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(20) {
        let word = &bytes[i..i + 20];
        if word.starts_with(b"ASIA")
            && word[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            found.push(String::from_utf8_lossy(word).into_owned());
        }
    }
    found
}

fn run(config: &Config, args: &[&str], extra_env: &[(&str, &str)]) -> crate::e2e::Run {
    let mut command = support::c3_command();
    command
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .args(args)
        .arg("-c")
        .arg(&config.path)
        .stdin(std::process::Stdio::null());
    for (k, v) in extra_env {
        command.env(k, v);
    }
    finish(command.output().expect("run c3"))
}

#[test]
fn no_credential_appears_in_any_output_at_any_verbosity() {
    let (a, b) = (fresh_account(), fresh_account());
    // One account by AssumeRole (session credentials), one that fails its identity check.
    let text = format!(
        "version = 1\n\n{}[accounts.other]\nid = \"{b}\"\nregions = [\"eu-west-1\"]\n\n[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n",
        account_block("main", &a, &["eu-west-1"])
    );
    let config = Config::new(&text);
    let mut checked = 0;
    for (args, env) in [
        (vec!["plan", "-vvv"], vec![]),
        (vec!["plan", "-vvv", "--output", "json"], vec![]),
        (vec!["apply", "-vvv", "--auto-approve"], vec![]),
        (vec!["plan", "-vvv"], vec![("C3_LOG", "trace")]),
        (
            vec!["apply", "-vvv", "--auto-approve"],
            vec![("C3_LOG", "trace")],
        ),
    ] {
        let r = run(&config, &args, &env);
        assert!(!r.stderr.is_empty() || !r.stdout.is_empty());
        for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            let found = leaks(text);
            assert!(
                found.is_empty(),
                "c3 {args:?} {env:?} printed credentials on {stream}: {found:?}"
            );
        }
        checked += r.stdout.len() + r.stderr.len();
    }
    // The verbose runs did say a lot (the scan looked at real output).
    assert!(checked > 10_000, "only {checked} bytes of output");
}
