//! `c3 import` against estates other tools made (tests/support/estates.rs):
//! the TOML it prints is valid, says what is live, and round-trips: the
//! plan of it adopts and changes nothing else, apply exits 0, the next plan
//! is clean, and what the emulator holds is unchanged but for c3's tags.

use super::*;
use crate::support::estates::{self, held, Held, Seed};
use crate::support::{self as harness, fresh_account};

const R1: &str = "eu-west-1";
const R2: &str = "eu-central-1";
const TODAY: &str = "2026-11-30";

/// `c3 import --account <id> --regions <regions> --role-arn …` and `args`.
fn import(account: &str, regions: &[&str], args: &[&str]) -> Run {
    harness::run(
        harness::c3_command()
            .env("C3_TODAY", TODAY)
            .args([
                "import",
                "--account",
                account,
                "--regions",
                &regions.join(","),
            ])
            .args(["--role-arn", &format!("arn:aws:iam::{account}:role/c3")])
            .args(args),
    )
}

/// Imports, checks the file is valid, plans (only adoptions executable,
/// every finding accepted), applies, plans again (clean), and checks that
/// the keys and policies are as they were. Returns the imported TOML.
async fn round_trip(seed: &Seed, keys: &[(&str, &str)]) -> String {
    let keys: Vec<(&Seed, &str, &str)> = keys.iter().map(|(id, name)| (seed, *id, *name)).collect();
    round_trip_in(&seed.account, &[&seed.region], &keys).await
}

/// [`round_trip`] of keys in several regions of one account.
async fn round_trip_in(account: &str, regions: &[&str], keys: &[(&Seed, &str, &str)]) -> String {
    let mut before: Vec<Held> = Vec::new();
    for (seed, id, name) in keys {
        before.push(held(seed, id, name).await);
    }
    let run = import(account, regions, &[]);
    assert_eq!(run.code, 0, "import failed:\n{run:?}");
    let toml_text = run.stdout.clone();
    let config = Config::new(&toml_text);
    let valid = c3(&config.path, &["validate"]);
    assert_eq!(
        valid.code, 0,
        "the imported file is not valid:\n{valid:?}\n{toml_text}"
    );

    let path = config.path.clone();
    let (plan_run, doc) = tokio::task::spawn_blocking(move || {
        let run = harness::run(
            harness::c3_command()
                .env("C3_TODAY", TODAY)
                .args(["plan", "--output", "json", "-c"])
                .arg(&path),
        );
        let doc: PlanDocument = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("plan output is not JSON ({e}):\n{run:?}"));
        (run, doc)
    })
    .await
    .expect("join");
    assert_eq!(plan_run.code, 0, "{plan_run:?}");
    let wrong: Vec<String> = doc
        .changes
        .iter()
        .filter(|c| {
            if c.executable() {
                c.action().to_string() != "adopt"
            } else {
                c.accepted.is_none()
            }
        })
        .map(|c| {
            format!(
                "{} {} {} {}: {}",
                c.key,
                c.resource,
                c.action(),
                c.subject,
                c.detail
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "the plan of the imported file has more than adoptions and accepted findings:\n{}\n{toml_text}",
        wrong.join("\n")
    );
    // Every [[accept]] entry import wrote accepts something (else the plan warns of it).
    assert!(doc.warnings.is_empty(), "{:?}\n{toml_text}", doc.warnings);
    assert!(
        doc.changes.iter().any(c3::plan::Change::executable),
        "nothing to adopt:\n{plan_run:?}"
    );

    let path = config.path.clone();
    let again = tokio::task::spawn_blocking(move || {
        let apply = harness::run(
            harness::c3_command()
                .env("C3_TODAY", TODAY)
                .args(["apply", "--auto-approve", "-c"])
                .arg(&path),
        );
        assert_eq!(apply.code, 0, "apply failed:\n{apply:?}");
        harness::run(
            harness::c3_command()
                .env("C3_TODAY", TODAY)
                .args(["plan", "--detailed-exitcode", "-c"])
                .arg(&path),
        )
    })
    .await
    .expect("join");
    assert_eq!(
        again.code, 0,
        "the plan after apply is not clean:\n{again:?}\n{toml_text}"
    );
    for ((seed, id, name), was) in keys.iter().zip(&before) {
        let now = held(seed, id, name).await;
        assert_eq!(&now, was, "{name} changed beyond c3's tags");
    }
    toml_text
}

/// The `[[keys]]` entry of `name`, parsed.
fn key_entry(text: &str, name: &str) -> toml::Table {
    let parsed: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    parsed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(toml::Value::as_table)
        .find(|k| k["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no key {name}:\n{text}"))
        .clone()
}

#[tokio::test]
async fn keys_made_by_the_cdk_construct_round_trip() {
    let account = fresh_account();
    let seed = Seed::new(&account, R1).await;
    let payments = estates::cdk_key(&seed, "payments", "/").await;
    let ledger = estates::cdk_key(&seed, "ledger", "/").await;
    let text = round_trip(&seed, &[(&payments, "payments"), (&ledger, "ledger")]).await;
    eprintln!("{text}");
    let key = key_entry(&text, "payments");
    assert_eq!(key["adopt"].as_bool(), Some(true));
    assert_eq!(key["classification"].as_str(), Some("imported-rot365"));
    assert!(
        !key.contains_key("managed_policies"),
        "all three exist: {key:?}"
    );
    assert!(!key.contains_key("statements"), "{key:?}");
    assert!(
        text.contains("[classifications.imported-rot365]\nrotation_days = 365\n"),
        "{text}"
    );
    assert!(!text.contains("[[accept]]"), "{text}");
}

#[tokio::test]
async fn keys_made_by_terraform_round_trip() {
    let account = fresh_account();
    let seed = Seed::new(&account, R1).await;
    let orders = estates::terraform_key(&seed, "orders").await;
    let text = round_trip(&seed, &[(&orders, "orders")]).await;
    let key = key_entry(&text, "orders");
    assert_eq!(
        key["administrators"].as_array().map(Vec::len),
        Some(1),
        "{text}"
    );
    assert!(
        text.contains("administrators = [\"arn:aws:iam::{account}:role/terraform\"]"),
        "{text}"
    );
    assert!(text.contains("users = [\"arn:aws:iam::{account}:role/orders-api\", \"arn:aws:iam::{account}:role/orders-worker\"]"), "{text}");
    assert!(
        text.contains("tags = { Environment = \"prod\", ManagedBy = \"terraform\" }"),
        "{text}"
    );
    assert_eq!(key["managed_policies"].as_bool(), Some(false), "{text}");
    // The logs statement is not c3's form: kept as a statement of its own.
    let statements = key["statements"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{text}");
    assert_eq!(statements[0]["sid"].as_str(), Some("AllowCloudWatchLogs"));
}

#[tokio::test]
async fn keys_made_in_the_console_round_trip() {
    let account = fresh_account();
    let seed = Seed::new(&account, R1).await;
    let reports = estates::console_key(&seed, "reports", 180).await;
    let text = round_trip(&seed, &[(&reports, "reports")]).await;
    eprintln!("{text}");
    let key = key_entry(&text, "reports");
    assert_eq!(key["classification"].as_str(), Some("imported-rot180"));
    assert_eq!(key["description"].as_str(), Some("reports"));
    assert!(
        !key.contains_key("statements"),
        "the console's statements are c3's: {text}"
    );
    assert!(
        text.contains("users = [\"arn:aws:iam::{account}:role/reporting\"]"),
        "{text}"
    );
}

#[tokio::test]
async fn odd_keys_are_imported_listed_or_accepted() {
    let account = fresh_account();
    let seed = Seed::new(&account, R1).await;
    let odd = estates::odd_keys(&seed).await;
    let text = round_trip(
        &seed,
        &[
            (&odd.rotation_off, "legacy"),
            (&odd.disabled, "retired"),
            (&odd.two_aliases, "shared-a"),
        ],
    )
    .await;
    let legacy = key_entry(&text, "legacy");
    assert_eq!(
        legacy["classification"].as_str(),
        Some("imported-norotation")
    );
    assert!(
        text.contains("[classifications.imported-norotation]\nrotation = false\n"),
        "{text}"
    );
    assert_eq!(
        key_entry(&text, "retired")["enabled"].as_bool(),
        Some(false)
    );
    key_entry(&text, "shared-a");
    assert!(!text.contains("name = \"shared-b\""), "{text}");
    assert!(text.contains("also has alias/shared-b"), "{text}");
    assert!(text.contains("subject  = \"alias/shared-b\""), "{text}");
    assert!(
        text.contains(&format!(
            "# not imported: key {} in {account} {R1} has no alias",
            odd.no_alias
        )),
        "{text}"
    );
    // A multi-Region key (without replicas) is imported as one.
    let global = key_entry(&text, "global");
    assert_eq!(global["multi_region"].as_bool(), Some(true), "{text}");
    assert_eq!(global["primary_region"].as_str(), Some(R1), "{text}");
    assert!(
        text.contains("expires  = 2027-02-28"),
        "90 days after {TODAY}: {text}"
    );
}

#[tokio::test]
async fn keys_of_other_kinds_round_trip_with_their_fields() {
    let account = fresh_account();
    let (west, central) = (Seed::new(&account, R1).await, Seed::new(&account, R2).await);
    let (signing, hmac) = estates::other_kinds(&west, &central).await;
    let text = round_trip_in(
        &account,
        &[R1, R2],
        &[
            (&west, &signing, "releases"),
            (&central, &signing, "releases"),
            (&west, &hmac, "tokens"),
        ],
    )
    .await;
    let releases = key_entry(&text, "releases");
    assert_eq!(
        releases["key_spec"].as_str(),
        Some("ECC_NIST_P256"),
        "{text}"
    );
    assert_eq!(
        releases["key_usage"].as_str(),
        Some("SIGN_VERIFY"),
        "{text}"
    );
    assert_eq!(releases["multi_region"].as_bool(), Some(true), "{text}");
    assert_eq!(releases["primary_region"].as_str(), Some(R1), "{text}");
    assert_eq!(
        releases["regions"].as_array().map(Vec::len),
        Some(2),
        "{text}"
    );
    let tokens = key_entry(&text, "tokens");
    assert_eq!(tokens["key_spec"].as_str(), Some("HMAC_256"), "{text}");
    assert_eq!(
        tokens["key_usage"].as_str(),
        Some("GENERATE_VERIFY_MAC"),
        "{text}"
    );
    assert!(!tokens.contains_key("multi_region"), "{text}");
    assert!(!text.contains("not imported"), "{text}");
}

#[tokio::test]
async fn one_name_in_two_regions_with_different_settings_round_trips() {
    let account = fresh_account();
    let (west, central) = (Seed::new(&account, R1).await, Seed::new(&account, R2).await);
    let a = estates::console_key(&west, "reports", 365).await;
    let mut policy: serde_json::Value =
        serde_json::from_str(estates::CONSOLE_KEY_POLICY).expect("JSON");
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(serde_json::json!({
            "Sid": "Analytics read",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::ACCOUNT:role/analytics"},
            "Action": "kms:Decrypt",
            "Resource": "*"
        }));
    let (b, _) = central
        .key("reports", &policy.to_string(), &[("owner", "ops")], false)
        .await;
    central.rotate(&b, 365).await;
    central.alias("reports", &b).await;
    let text = round_trip_in(
        &account,
        &[R1, R2],
        &[(&west, &a, "reports"), (&central, &b, "reports")],
    )
    .await;
    let key = key_entry(&text, "reports");
    assert_eq!(key["regions"].as_array().map(Vec::len), Some(2), "{text}");
    assert!(!key.contains_key("statements"), "{text}");
    assert!(!key.contains_key("tags"), "the tags differ: {text}");
    assert!(text.contains("subject  = \"Analytics read\""), "{text}");
    assert_eq!(text.matches("resource = \"tags\"").count(), 2, "{text}");
}

#[tokio::test]
async fn import_into_an_existing_file_needs_force() {
    let account = fresh_account();
    let seed = Seed::new(&account, R1).await;
    estates::console_key(&seed, "reports", 365).await;
    let config = Config::new("keep me");
    let out = config.path.to_string_lossy().to_string();
    let run = import(&account, &[R1], &["--out", &out]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("exists"), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&config.path).expect("read"),
        "keep me"
    );
    let run = import(&account, &[R1], &["--out", &out, "--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let written = std::fs::read_to_string(&config.path).expect("read");
    key_entry(&written, "reports");
}

#[tokio::test]
async fn an_unreadable_account_is_an_error_for_it_alone() {
    let (good, bad) = (fresh_account(), fresh_account());
    let seed = Seed::new(&good, R1).await;
    estates::console_key(&seed, "reports", 365).await;
    let other = Seed::new(&bad, R1).await;
    estates::console_key(&other, "hidden", 365).await;
    emulator().deny(&bad, "ListKeys");
    let config = Config::new(&format!(
        "version = 1\n\n{}{}",
        account_block("good", &good, &[R1]),
        account_block("bad", &bad, &[R1, R2])
    ));
    let run = harness::run(
        harness::c3_command()
            .env("C3_TODAY", TODAY)
            .args(["import", "-c"])
            .arg(&config.path),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("ListKeys"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("# MISSING: account {bad} {R1}")),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("# MISSING: account {bad} {R2}")),
        "{run:?}"
    );
    key_entry(&run.stdout, "reports");
    assert!(!run.stdout.contains("hidden"), "{run:?}");
    assert!(run.stdout.contains("[accounts.good]") && run.stdout.contains("[accounts.bad]"));
}

#[test]
fn ambient_credentials_need_no_role_and_a_bad_id_is_refused() {
    let run = harness::run(harness::c3_command().args([
        "import",
        "--account",
        harness::DEFAULT_ACCOUNT,
        "--regions",
        R1,
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "[accounts.acct-{0}]\nid = \"{0}\"\nregions = [\"{R1}\"]",
            harness::DEFAULT_ACCOUNT
        )),
        "{run:?}"
    );
    let run =
        harness::run(harness::c3_command().args(["import", "--account", "12345", "--regions", R1]));
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("not a 12-digit account id"), "{run:?}");
    let run = harness::run(harness::c3_command().args(["import", "--account", "123456789012"]));
    assert_eq!(
        run.code, 1,
        "--account without --regions is a usage error: {run:?}"
    );
}
