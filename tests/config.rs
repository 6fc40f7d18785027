//! config: `keys.toml` → `DesiredState`, through the library only.
//!
//! - `tests/fixtures/invalid/*.toml`: one file per rule; each starts with
//!   comments `# expect-line: N` and `# expect: <substring>` (one or more),
//!   and one test checks them all.
//! - `tests/fixtures/valid/*.toml`: accepted files, with assertions on the
//!   desired state they give.
//! - `schema/keys.schema.json` must equal `c3::config::schema_json()`;
//!   `C3_BLESS=1 cargo test --test integration config::schema` rewrites it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use c3::config::{self, ConfigError, Diagnostic};
use c3::model::{DesiredState, KeySpec, Settings, Target};

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

/// The `.toml` files of a fixture directory, sorted.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(fixture_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn load_valid(name: &str) -> DesiredState {
    let path = fixture_dir("valid").join(name);
    match config::load(&path) {
        Ok(state) => state,
        Err(e) => panic!("{} should be valid:\n{e}", path.display()),
    }
}

fn key<'a>(state: &'a DesiredState, name: &str) -> &'a KeySpec {
    state
        .keys
        .iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("no key {name}"))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

fn targets(pairs: &[(&str, &str)]) -> Vec<Target> {
    pairs.iter().map(|(a, r)| Target::new(*a, *r)).collect()
}

/// The diagnostics of an `Invalid` error, or a panic saying what came instead.
fn invalid(result: Result<DesiredState, ConfigError>) -> (String, Vec<Diagnostic>, String) {
    match result {
        Ok(_) => panic!("accepted"),
        Err(e @ ConfigError::Read { .. }) => panic!("read error: {e}"),
        Err(e) => {
            let text = e.to_string();
            match e {
                ConfigError::Invalid { file, diagnostics } => (file, diagnostics, text),
                ConfigError::Read { .. } => unreachable!(),
            }
        }
    }
}

// ---------------------------------------------------------------- invalid

struct Expectation {
    line: usize,
    substrings: Vec<String>,
}

/// Reads the `# expect-line:` / `# expect:` comments at the top of a fixture.
fn expectation(source: &str) -> Result<Expectation, String> {
    let mut line = None;
    let mut substrings = Vec::new();
    for text in source.lines().take_while(|l| l.starts_with('#')) {
        if let Some(n) = text.strip_prefix("# expect-line:") {
            line = Some(
                n.trim()
                    .parse()
                    .map_err(|e| format!("bad expect-line: {e}"))?,
            );
        } else if let Some(s) = text.strip_prefix("# expect:") {
            substrings.push(s.trim().to_string());
        }
    }
    match (line, substrings.is_empty()) {
        (Some(line), false) => Ok(Expectation { line, substrings }),
        _ => Err("needs `# expect-line: N` and at least one `# expect: ...`".into()),
    }
}

/// What is wrong with how `config::load` treats one invalid fixture.
fn check_invalid_fixture(path: &Path) -> Result<(), String> {
    let source = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let expect = expectation(&source)?;
    let (file, diagnostics, text) = match config::load(path) {
        Ok(_) => return Err("was accepted".into()),
        Err(e @ ConfigError::Read { .. }) => return Err(format!("read error: {e}")),
        Err(e) => {
            let text = e.to_string();
            match e {
                ConfigError::Invalid { file, diagnostics } => (file, diagnostics, text),
                ConfigError::Read { .. } => unreachable!(),
            }
        }
    };
    let name = path.display().to_string();
    if file != name {
        return Err(format!("error names file {file:?}, not {name:?}"));
    }
    let mut lines: Vec<&str> = text.lines().collect();
    let last = lines.pop().unwrap_or_default();
    if last != format!("{} error(s) in {name}", diagnostics.len()) {
        return Err(format!("last line is {last:?}"));
    }
    if let Some(bad) = lines.iter().find(|l| !l.starts_with(&format!("{name}:"))) {
        return Err(format!("line does not start with the file name: {bad}"));
    }
    let on_line: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.line == expect.line)
        .map(|d| d.render(&file))
        .collect();
    let matching = on_line
        .iter()
        .any(|d| expect.substrings.iter().all(|s| d.contains(s.as_str())));
    if matching {
        Ok(())
    } else {
        Err(format!(
            "no diagnostic on line {} contains all of {:?}; got:\n{text}",
            expect.line, expect.substrings
        ))
    }
}

#[test]
fn every_invalid_fixture_fails_on_its_line_with_its_message() {
    let files = fixtures("invalid");
    assert!(files.len() >= 40, "only {} invalid fixtures", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            check_invalid_fixture(path)
                .err()
                .map(|why| format!("--- {}: {why}", path.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} invalid fixtures are not rejected as expected:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_error_in_a_file_is_reported_sorted_by_line() {
    let source = r#"version = 2

[settings]
parallelism = 0

[accounts.prod]
id = "12345"
regions = ["eu-west-1", "mars-1"]

[accounts.staging]
id = "222222222222"
role_arn = "arn:aws:iam::333333333333:role/c3"
regions = ["eu-west-1"]

[classifications.internal]
rotation_days = 30

[[keys]]
name = "pay/ments"
classification = "nope"
rotation_days = 80
tags = { "aws:x" = "y" }

[[keys]]
name = "orders"
classification = "internal"
accounts = ["prod", "qa"]
generation = 0
"#;
    let (file, diagnostics, text) = invalid(config::parse(source, "multi.toml"));
    assert_eq!(file, "multi.toml");
    let got: Vec<(usize, &str)> = diagnostics
        .iter()
        .map(|d| (d.line, d.field.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "version"),
            (4, "settings.parallelism"),
            (7, "accounts.prod.id"),
            (8, "accounts.prod.regions[1]"),
            (12, "accounts.staging.role_arn"),
            (16, "classifications.internal.rotation_days"),
            (19, "keys[0].name"),
            (20, "keys[0].classification"),
            (21, "keys[0].rotation_days"),
            (22, "keys[0].tags.\"aws:x\""),
            (27, "keys[1].accounts[1]"),
            (28, "keys[1].generation"),
        ],
        "{text}"
    );
    assert!(text.ends_with("\n12 error(s) in multi.toml"), "{text}");
    assert!(
        text.starts_with("multi.toml:1:11: version: version = 2 is not supported"),
        "{text}"
    );
}

#[test]
fn type_errors_in_several_sections_are_all_reported() {
    let source = r#"version = 1

[settings]
parallelism = "many"

[accounts.prod]
id = 111111111111
regions = ["eu-west-1"]

[accounts.staging]
id = "222222222222"
regions = ["eu-west-1"]
colour = "blue"

[[keys]]
name = "a"

[[keys]]
name = "b"
classification = "c"
enabled = "yes"
"#;
    let (_, diagnostics, text) = invalid(config::parse(source, "types.toml"));
    let got: Vec<(usize, &str)> = diagnostics
        .iter()
        .map(|d| (d.line, d.field.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (4, "settings.parallelism"),
            (7, "accounts.prod.id"),
            (13, "accounts.staging.colour"),
            (15, "keys[0].classification"),
            // Rule errors are checked past the type errors.
            (20, "keys[1].classification"),
            (21, "keys[1].enabled"),
        ],
        "{text}"
    );
}

/// Issue 10: `rotation_days = "90"` used to hide every rule error of the
/// file until it was fixed.
#[test]
fn a_wrong_type_and_six_rule_errors_are_reported_in_one_run() {
    let path = fixture_dir("invalid").join("wrong_type_and_rules.toml");
    let (_, diagnostics, text) = invalid(config::load(&path));
    let got: Vec<(usize, usize, &str)> = diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.field.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (9, 15, "settings.parallelism"),
            (12, 6, "accounts.prod.id"),
            (13, 25, "accounts.prod.regions[1]"),
            (16, 17, "classifications.internal.rotation_days"),
            (19, 8, "keys[0].name"),
            (20, 18, "keys[0].classification"),
            (24, 17, "keys[0].rotation_days"),
        ],
        "{text}"
    );
    assert!(text.contains("\n7 error(s) in "), "{text}");
    assert!(
        diagnostics[6]
            .message
            .starts_with("expected an integer, found a string \"90\""),
        "{text}"
    );
}

#[test]
fn a_field_of_the_wrong_type_is_not_also_reported_as_missing_or_broken() {
    // Each value below has the wrong type; nothing else is wrong, and no
    // rule that needs the field speaks about it.
    let source = r#"version = "1"

[accounts.prod]
id = 111111111111
role_arn = 5
external_id = "abc"
regions = "eu-west-1"

[classifications.internal]

[[keys]]
name = ["payments"]
classification = "internal"
accounts = "prod"
regions = ["eu-west-1", 1]
"#;
    let (_, diagnostics, text) = invalid(config::parse(source, "keys.toml"));
    let got: Vec<&str> = diagnostics.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        got,
        [
            "version",
            "accounts.prod.id",
            "accounts.prod.role_arn",
            "accounts.prod.regions",
            "keys[0].name",
            "keys[0].accounts",
            "keys[0].regions[1]",
        ],
        "{text}"
    );
    assert!(
        diagnostics
            .iter()
            .all(|d| d.message.starts_with("expected ")),
        "{text}"
    );
}

#[test]
fn diagnostics_have_columns_and_display_is_file_line_column_field_message() {
    let source = "version = 1\n\n[accounts.prod]\nid = \"111111111111\"\nregions = [\"eu-west-1\"]\n\n[classifications.c]\n\n[[keys]]\nname = \"k\"\nclassification = \"c\"\nrotation_days = 80\n";
    let (_, diagnostics, text) = invalid(config::parse(source, "keys.toml"));
    assert_eq!(
        diagnostics,
        vec![Diagnostic {
            line: 12,
            column: 17,
            field: "keys[0].rotation_days".into(),
            message: "rotation_days = 80 is out of range; allowed: 90 to 2560 days".into(),
        }]
    );
    assert_eq!(
        text,
        "keys.toml:12:17: keys[0].rotation_days: rotation_days = 80 is out of range; \
         allowed: 90 to 2560 days\n1 error(s) in keys.toml"
    );
}

#[test]
fn an_empty_source_needs_a_version_and_an_account() {
    let (_, diagnostics, text) = invalid(config::parse("", "empty.toml"));
    let got: Vec<(usize, usize, &str)> = diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.field.as_str()))
        .collect();
    assert_eq!(got, [(1, 1, "version"), (1, 1, "accounts")], "{text}");
}

#[test]
fn a_file_that_is_not_utf8_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    fs::write(&path, b"version = 1\n# caf\xe9\n").unwrap();
    let (file, diagnostics, text) = invalid(config::load(&path));
    assert_eq!(file, path.display().to_string());
    assert_eq!(diagnostics.len(), 1, "{text}");
    assert_eq!(
        (diagnostics[0].line, diagnostics[0].column),
        (2, 6),
        "{text}"
    );
    assert!(diagnostics[0].message.contains("not valid UTF-8"), "{text}");
    assert!(diagnostics[0].message.contains("0xE9"), "{text}");
}

#[test]
fn a_huge_file_is_refused_without_parsing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.toml");
    let mut source = String::from("version = 1\n");
    let line = "# padding padding padding padding padding padding padding padding\n";
    while source.len() < 10 * 1024 * 1024 {
        source.push_str(line);
    }
    fs::write(&path, &source).unwrap();
    let (_, diagnostics, text) = invalid(config::load(&path));
    assert_eq!(diagnostics.len(), 1, "{text}");
    assert_eq!(diagnostics[0].field, "(file)");
    assert!(diagnostics[0].message.contains("larger than"), "{text}");
    assert!(diagnostics[0].message.contains("at most"), "{text}");
    let (_, diagnostics, _) = invalid(config::parse(&source, "huge.toml"));
    assert!(diagnostics[0].message.contains("larger than"));
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    match config::load(&path) {
        Err(e @ ConfigError::Read { .. }) => {
            assert!(e.to_string().contains("absent.toml"), "{e}");
            assert!(e.diagnostics().is_empty());
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- valid

#[test]
fn every_valid_fixture_is_accepted() {
    let files = fixtures("valid");
    assert!(files.len() >= 5);
    let failures: Vec<String> = files
        .iter()
        .filter_map(|p| {
            config::load(p)
                .err()
                .map(|e| format!("--- {}:\n{e}", p.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_design_example_expands_as_documented() {
    let state = load_valid("design.toml");
    assert_eq!(
        state.settings,
        Settings {
            policy_path: "/c3/".into(),
            session_name: "c3".into(),
            parallelism: 16,
            writes_per_second: 3,
            iam_writes_per_second: 10,
            read_grants: true,
            grant_reads_per_second: 50,
            ignore_tags: Vec::new(),
        }
    );
    let names: Vec<&str> = state.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["prod", "staging"]);
    let prod = &state.accounts[0];
    assert_eq!(prod.id, "111111111111");
    assert_eq!(
        prod.role_arn.as_deref(),
        Some("arn:aws:iam::111111111111:role/c3")
    );
    assert_eq!(prod.external_id.as_deref(), Some("..."));
    assert_eq!(prod.regions, ["eu-central-1", "eu-west-1"]);
    assert_eq!(state.accounts[1].role_arn, None);

    let payments = key(&state, "payments");
    assert_eq!(payments.classification, "confidential");
    assert_eq!(payments.description, "Payment records");
    assert_eq!(payments.rotation_days, 180);
    assert_eq!(payments.generation, 1);
    assert!(payments.enabled);
    assert_eq!(
        payments.via_services,
        set(&["dynamodb", "s3", "secretsmanager"])
    );
    assert!(payments.service_principals.is_empty());
    assert_eq!(
        payments.user_tags,
        BTreeMap::from([("team".to_string(), "payments".to_string())])
    );
    assert_eq!(
        payments.targets,
        targets(&[("111111111111", "eu-west-1"), ("222222222222", "eu-west-1")])
    );
    assert_eq!(payments.alias(), "alias/payments");
}

#[test]
fn defaults_apply_when_fields_are_left_out() {
    let state = load_valid("defaults.toml");
    assert_eq!(state.settings, Settings::default());
    assert_eq!(state.keys.len(), 1);
    let k = &state.keys[0];
    assert_eq!(k.name, "minimal");
    assert_eq!(k.description, "Managed by c3: minimal (internal)");
    assert_eq!(k.rotation_days, 365);
    assert_eq!(k.generation, 1);
    assert!(k.enabled);
    assert!(k.via_services.is_empty());
    assert!(k.service_principals.is_empty());
    assert!(k.user_tags.is_empty());
    assert_eq!(
        k.targets,
        targets(&[
            ("123456789012", "eu-central-1"),
            ("123456789012", "eu-west-1"),
            ("123456789012", "us-east-1"),
        ])
    );
    // The account's regions are sorted and unique.
    assert_eq!(
        state.accounts[0].regions,
        ["eu-central-1", "eu-west-1", "us-east-1"]
    );
}

#[test]
fn classifications_give_defaults_and_services_are_merged() {
    let state = load_valid("classifications.toml");
    let inherits = key(&state, "inherits");
    assert_eq!(inherits.rotation_days, 90);
    assert_eq!(inherits.via_services, set(&["s3", "secretsmanager"]));
    assert_eq!(inherits.service_principals, set(&["logs"]));

    let overrides = key(&state, "overrides");
    assert_eq!(overrides.rotation_days, 400);
    assert_eq!(
        overrides.via_services,
        set(&["dynamodb", "lex-v2", "s3", "secretsmanager"])
    );
    assert_eq!(
        overrides.service_principals,
        set(&["delivery.logs", "logs"])
    );

    // A classification without rotation_days: the key's, else 365.
    let plain = key(&state, "plain");
    assert_eq!(plain.rotation_days, 365);
    assert!(plain.via_services.is_empty());
    assert_eq!(key(&state, "plain-custom").rotation_days, 2560);
}

#[test]
fn targets_are_the_accounts_times_regions_they_share() {
    let state = load_valid("targets.toml");
    // No accounts, no regions: every account, each in its own regions.
    assert_eq!(
        key(&state, "everywhere").targets,
        targets(&[
            ("111111111111", "eu-central-1"),
            ("111111111111", "eu-west-1"),
            ("111111111111", "us-east-1"),
            ("222222222222", "eu-west-1"),
            ("333333333333", "us-east-1"),
        ])
    );
    // Regions only: each account where it has them.
    assert_eq!(
        key(&state, "us-only").targets,
        targets(&[("111111111111", "us-east-1"), ("333333333333", "us-east-1")])
    );
    // Accounts only: their own regions.
    assert_eq!(
        key(&state, "staging-only").targets,
        targets(&[("222222222222", "eu-west-1")])
    );
    // Both: the intersection, sorted by account id then region.
    assert_eq!(
        key(&state, "both").targets,
        targets(&[("111111111111", "eu-west-1"), ("222222222222", "eu-west-1")])
    );
    // DesiredState::targets: every (account, region) declared.
    assert_eq!(state.targets().len(), 5);
    // Keys keep file order; accounts are in name order.
    let keys: Vec<&str> = state.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        keys,
        ["everywhere", "us-only", "staging-only", "both", "retired"]
    );
    let accounts: Vec<&str> = state.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(accounts, ["alpha", "beta", "gamma"]);
}

#[test]
fn enabled_false_and_generation_are_kept() {
    let state = load_valid("targets.toml");
    let retired = key(&state, "retired");
    assert!(!retired.enabled);
    assert_eq!(retired.generation, 3);
    assert_eq!(
        retired.tags().get("c3:generation").map(String::as_str),
        Some("3")
    );
}

#[test]
fn adopt_rotation_and_managed_policies_default_and_inherit() {
    use c3::model::PolicyKind::{Crypto, Decrypt, Encrypt};
    let state = load_valid("adopt.toml");
    let kinds =
        |name: &str| -> Vec<_> { key(&state, name).managed_policies.iter().copied().collect() };
    let cdk = key(&state, "cdk-key");
    assert!(cdk.adopt && cdk.rotation);
    assert_eq!(kinds("cdk-key"), [Encrypt, Decrypt, Crypto]);
    let imported = key(&state, "imported");
    assert!(imported.adopt && !imported.rotation);
    assert_eq!(kinds("imported"), [Decrypt]);
    let own = key(&state, "own-choice");
    assert!(!own.adopt && own.rotation);
    assert_eq!(own.rotation_days, 180);
    assert_eq!(kinds("own-choice"), [Encrypt, Decrypt, Crypto]);
    assert!(kinds("no-policies").is_empty());
    assert_eq!(kinds("two"), [Encrypt, Crypto]);
}

#[test]
fn key_types_default_inherit_and_pick_their_policies() {
    use c3::model::PolicyKind::{Crypto, Decrypt, Encrypt, Mac, Sign, Verify, VerifyMac};
    let state = load_valid("key_types.toml");
    let kinds =
        |name: &str| -> Vec<_> { key(&state, name).managed_policies.iter().copied().collect() };
    let payments = key(&state, "payments");
    assert!(payments.key_type.is_default() && payments.rotation);
    assert_eq!(payments.rotation_days, 180);
    assert_eq!(kinds("payments"), [Encrypt, Decrypt, Crypto]);
    let releases = key(&state, "releases");
    assert_eq!(
        (
            releases.key_type.spec.as_str(),
            releases.key_type.usage.as_str()
        ),
        ("ECC_NIST_P256", "SIGN_VERIFY")
    );
    assert_eq!(
        releases.key_type.primary_region.as_deref(),
        Some("eu-west-1")
    );
    // AWS rotates no signing key: rotation is neither enabled nor compared.
    assert!(!releases.rotation);
    assert_eq!(kinds("releases"), [Sign, Verify]);
    assert_eq!(key(&state, "jwt").key_type.spec, "RSA_2048");
    assert!(key(&state, "jwt").key_type.primary_region.is_none());
    assert_eq!(kinds("jwt"), [Verify]);
    let tokens = key(&state, "tokens");
    assert_eq!(tokens.key_type.primary_region.as_deref(), Some("us-east-1"));
    assert_eq!(kinds("tokens"), [Mac, VerifyMac]);
    assert!(!key(&state, "envelope").key_type.supports_rotation());
    assert_eq!(kinds("envelope"), [Encrypt, Decrypt, Crypto]);
}

/// Without `primary_region` or `regions`, the primary is the first region
/// every account of the key has: validation checks the region expansion
/// uses, whatever the order of the accounts' names or ids.
#[test]
fn the_default_primary_region_is_a_region_of_every_account_of_the_key() {
    let state = load_valid("multi_region_default_primary.toml");
    let global = key(&state, "global");
    assert_eq!(global.key_type.primary_region.as_deref(), Some("us-east-1"));
    for account in ["111111111111", "222222222222"] {
        assert!(
            global.targets.contains(&Target::new(account, "us-east-1")),
            "{:?}",
            global.targets
        );
    }
}

#[test]
fn settings_are_read() {
    let state = load_valid("settings.toml");
    assert_eq!(
        state.settings,
        Settings {
            policy_path: "/platform/c3/".into(),
            session_name: "c3-reconciler@ci".into(),
            parallelism: 256,
            writes_per_second: 50,
            iam_writes_per_second: 1,
            read_grants: false,
            grant_reads_per_second: 100,
            ignore_tags: vec!["cost-center".into(), "team-*".into(), "aws:*".into()],
        }
    );
}

#[test]
fn inline_tables_and_arrays_are_the_same_file() {
    let inline = load_valid("inline.toml");
    let k = key(&inline, "payments");
    assert_eq!(k.targets, targets(&[("111111111111", "eu-west-1")]));
    assert_eq!(k.rotation_days, 90);
}

#[test]
fn boundary_values_are_accepted() {
    let state = load_valid("boundaries.toml");
    let long = &state.keys[0];
    assert_eq!(long.name.len(), 114);
    assert_eq!(long.rotation_days, 90);
    assert_eq!(long.generation, 1_000_000);
    assert_eq!(long.user_tags.len(), 46);
    assert_eq!(long.description.chars().count(), 8192);
    let gov = key(&state, "gov");
    assert_eq!(gov.rotation_days, 2560);
    assert_eq!(gov.targets, targets(&[("222222222222", "us-gov-west-1")]));
    let unicode = key(&state, "unicode-tags");
    assert_eq!(
        unicode.user_tags.get("équipe").map(String::as_str),
        Some("paiements @ 日本")
    );
    let cn = key(&state, "china");
    assert_eq!(cn.targets, targets(&[("333333333333", "cn-north-1")]));
}

#[test]
fn allow_regions_accepts_a_region_newer_than_c3() {
    let state = load_valid("allow_regions.toml");
    assert_eq!(state.accounts[0].regions, ["ap-newregion-1", "eu-west-1"]);
    assert_eq!(
        key(&state, "payments").targets,
        targets(&[("111111111111", "ap-newregion-1")])
    );
    // allow_regions is for validation only: the desired state has no trace of it.
    assert_eq!(state.settings, Settings::default());

    // Without it, the region is refused wherever it is used.
    let source = fs::read_to_string(fixture_dir("valid").join("allow_regions.toml"))
        .unwrap()
        .replace("allow_regions = [\"ap-newregion-1\"]", "");
    let (_, diagnostics, text) = invalid(config::parse(&source, "keys.toml"));
    let got: Vec<&str> = diagnostics.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        got,
        ["accounts.prod.regions[1]", "keys[0].regions[0]"],
        "{text}"
    );
    assert!(
        diagnostics
            .iter()
            .all(|d| d.message.contains("is not an AWS region c3 knows")),
        "{text}"
    );
}

// ---------------------------------------------------------------- documented limits

/// One limit docs/config.md states: the row (field) of a section that
/// states it, and a line of keys.toml that puts a value of `n` (a number, or
/// a length) where it applies.
struct Limit {
    section: &'static str,
    row: &'static str,
    says: &'static str,
    at: &'static str,
    min: usize,
    max: usize,
    line: fn(usize) -> String,
}

/// A valid file but for `line`, which goes `at` the settings, the account
/// (or its name), the classification or the key.
fn file_with(at: &str, line: &str) -> String {
    let part = |here: &str| if here == at { line } else { "" };
    let account = if at == "account name" { line } else { "prod" };
    let name = if line.starts_with("name =") {
        ""
    } else {
        "name = \"k\""
    };
    format!(
        "version = 1\n[settings]\n{}\n[accounts.{account}]\nid = \"111111111111\"\n\
         regions = [\"eu-west-1\"]\nrole_arn = \"arn:aws:iam::111111111111:role/c3\"\n{}\n\
         [classifications.internal]\n{}\n[[keys]]\n{name}\nclassification = \"internal\"\n{}\n",
        part("settings"),
        part("account"),
        part("class"),
        part("key")
    )
}

fn limit(
    section: &'static str,
    row: &'static str,
    at: &'static str,
    (min, max): (usize, usize),
    says: &'static str,
    line: fn(usize) -> String,
) -> Limit {
    Limit {
        section,
        row,
        says,
        at,
        min,
        max,
        line,
    }
}

fn limits() -> Vec<Limit> {
    let settings = "[settings]";
    let key = "[[keys]]";
    vec![
        limit(
            settings,
            "parallelism",
            "settings",
            (1, 256),
            "1 to 256",
            |n| format!("parallelism = {n}"),
        ),
        limit(
            settings,
            "writes_per_second",
            "settings",
            (1, 50),
            "1 to 50",
            |n| format!("writes_per_second = {n}"),
        ),
        limit(
            settings,
            "iam_writes_per_second",
            "settings",
            (1, 50),
            "1 to 50",
            |n| format!("iam_writes_per_second = {n}"),
        ),
        limit(
            settings,
            "grant_reads_per_second",
            "settings",
            (1, 100),
            "1 to 100",
            |n| format!("grant_reads_per_second = {n}"),
        ),
        limit(
            settings,
            "policy_path",
            "settings",
            (3, 512),
            "3 to 512",
            |n| format!("policy_path = \"/{}/\"", "p".repeat(n.saturating_sub(2))),
        ),
        limit(
            settings,
            "session_name",
            "settings",
            (2, 64),
            "2 to 64",
            |n| format!("session_name = \"{}\"", "s".repeat(n)),
        ),
        limit(
            settings,
            "ignore_tags",
            "settings",
            (1, 128),
            "1 to 128",
            |n| format!("ignore_tags = [\"{}\"]", "g".repeat(n)),
        ),
        limit(
            "[accounts.<name>]",
            "",
            "account name",
            (1, 64),
            "1 to 64",
            |n| format!("\"{}\"", "a".repeat(n)),
        ),
        limit(
            "[accounts.<name>]",
            "external_id",
            "account",
            (2, 1224),
            "2 to 1224",
            |n| format!("external_id = \"{}\"", "x".repeat(n)),
        ),
        limit(
            "[classifications.<name>]",
            "rotation_days",
            "class",
            (90, 2560),
            "90 to 2560",
            |n| format!("rotation_days = {n}"),
        ),
        limit(key, "name", "key", (1, 114), "1 to 114", |n| {
            format!("name = \"{}\"", "k".repeat(n))
        }),
        limit(key, "description", "key", (0, 8192), "at most 8192", |n| {
            format!("description = \"{}\"", "d".repeat(n))
        }),
        limit(key, "rotation_days", "key", (90, 2560), "90 to 2560", |n| {
            format!("rotation_days = {n}")
        }),
        limit(
            key,
            "generation",
            "key",
            (1, 1_000_000),
            "1 to 1,000,000",
            |n| format!("generation = {n}"),
        ),
        limit(key, "tags", "key", (1, 128), "keys 1 to 128", |n| {
            format!("tags = {{ \"{}\" = \"v\" }}", "t".repeat(n))
        }),
        limit(key, "tags", "key", (0, 256), "values 0 to 256", |n| {
            format!("tags = {{ t = \"{}\" }}", "v".repeat(n))
        }),
        limit(key, "tags", "key", (0, 46), "at most 46", |n| {
            let tags: Vec<String> = (0..n).map(|i| format!("t{i} = \"v\"")).collect();
            format!("tags = {{ {} }}", tags.join(", "))
        }),
    ]
}

/// The text of a `## ` section of docs/config.md whose heading has `section`.
fn doc_section<'d>(docs: &'d str, section: &str) -> &'d str {
    docs.split("\n## ")
        .find(|s| {
            s.lines()
                .next()
                .is_some_and(|h| h.contains(&format!("`{section}`")))
        })
        .unwrap_or_else(|| panic!("docs/config.md has no section {section}"))
}

/// Every limit docs/config.md states is the one the code enforces: the
/// values at both ends are accepted, the values just outside refused.
#[test]
fn documented_limits_are_the_enforced_ones() {
    let docs =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md")).unwrap();
    let mut wrong = Vec::new();
    for limit in limits() {
        let section = doc_section(&docs, limit.section);
        let text = if limit.row.is_empty() {
            section.to_string()
        } else {
            let prefix = format!("| `{}` |", limit.row);
            section
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_default()
                .to_string()
        };
        let what = format!("{} {} ({})", limit.section, limit.row, limit.says);
        if !text.contains(limit.says) {
            wrong.push(format!("{what}: docs/config.md does not say it"));
        }
        for n in [limit.min, limit.max] {
            if let Err(e) = config::parse(&file_with(limit.at, &(limit.line)(n)), "keys.toml") {
                wrong.push(format!("{what}: {n} is refused:\n{e}"));
            }
        }
        let outside = [limit.min.checked_sub(1), Some(limit.max + 1)];
        for n in outside.into_iter().flatten() {
            if config::parse(&file_with(limit.at, &(limit.line)(n)), "keys.toml").is_ok() {
                wrong.push(format!("{what}: {n} is accepted"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------- snapshots

/// The error `config::load` gives for an invalid fixture, as `c3 validate`
/// prints it (after `error: `), with the fixture's path relative to the
/// repository.
fn rendered(fixture: &str) -> String {
    let path = fixture_dir("invalid").join(fixture);
    let (_, _, text) = invalid(config::load(&path));
    text.replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "")
}

/// What users read when keys.toml is wrong, one kind of problem each.
/// Review changes with `INSTA_UPDATE=always cargo test --test integration
/// config::diagnostics` and `git diff tests/snapshots`.
#[test]
fn diagnostics_as_users_read_them() {
    for (name, fixture) in [
        ("syntax_error", "syntax_error.toml"),
        ("wrong_type", "enabled_wrong_type.toml"),
        ("unknown_field_did_you_mean", "unknown_settings_field.toml"),
        ("missing_required_field", "missing_account_id.toml"),
        ("out_of_range", "key_rotation_low.toml"),
        ("unknown_region_did_you_mean", "account_region_unknown.toml"),
        ("unknown_region_no_close_one", "key_region_unknown.toml"),
        (
            "allow_regions_entry_not_a_region",
            "allow_regions_not_a_region.toml",
        ),
        (
            "undeclared_classification",
            "key_classification_undeclared.toml",
        ),
        (
            "key_region_not_in_its_accounts",
            "key_region_not_in_accounts.toml",
        ),
        (
            "key_name_duplicate_ignoring_case",
            "key_name_duplicate_case.toml",
        ),
        ("wrong_type_and_rule_errors", "wrong_type_and_rules.toml"),
        ("ignore_tags_entry", "ignore_tags_c3.toml"),
        ("role_arn_invalid", "role_arn_invalid.toml"),
    ] {
        // Named config__<name>: insta would prefix the test binary's name.
        insta::with_settings!({
            description => format!("tests/fixtures/invalid/{fixture}"),
            omit_expression => true,
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("config__{name}"), rendered(fixture));
        });
    }
}

// ---------------------------------------------------------------- schema

#[test]
fn schema_file_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/keys.schema.json");
    let generated = config::schema_json();
    if std::env::var_os("C3_BLESS").is_some_and(|v| v == "1") {
        fs::write(&path, &generated).unwrap();
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale (or missing); regenerate it with \
         `C3_BLESS=1 cargo test --test integration config::schema` and commit it",
        path.display()
    );
}

#[test]
fn schema_describes_the_contract_fields() {
    let schema: serde_json::Value = serde_json::from_str(&config::schema_json()).unwrap();
    assert!(config::schema_json().ends_with("}\n"));
    assert_eq!(schema["properties"]["version"]["const"], 1);
    assert_eq!(schema["additionalProperties"], false);
    let defs = &schema["definitions"];
    let fields = |def: &str| -> Vec<String> {
        defs[def]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        fields("SettingsFile"),
        [
            "policy_path",
            "session_name",
            "parallelism",
            "writes_per_second",
            "iam_writes_per_second",
            "read_grants",
            "grant_reads_per_second",
            "ignore_tags",
            "allow_regions"
        ]
    );
    assert_eq!(
        fields("AccountFile"),
        ["id", "role_arn", "external_id", "regions"]
    );
    assert_eq!(
        fields("ClassificationFile"),
        [
            "rotation_days",
            "via_services",
            "service_principals",
            "administrators",
            "users",
            "statements",
            "rotation",
            "managed_policies",
            "key_spec",
            "key_usage"
        ]
    );
    assert_eq!(
        fields("KeyFile"),
        [
            "name",
            "classification",
            "description",
            "accounts",
            "regions",
            "rotation_days",
            "generation",
            "enabled",
            "via_services",
            "service_principals",
            "administrators",
            "users",
            "statements",
            "tags",
            "adopt",
            "rotation",
            "managed_policies",
            "key_spec",
            "key_usage",
            "multi_region",
            "primary_region"
        ]
    );
    assert_eq!(
        fields("StatementFile"),
        [
            "sid",
            "effect",
            "principal",
            "action",
            "resource",
            "condition"
        ]
    );
    for def in [
        "SettingsFile",
        "AccountFile",
        "ClassificationFile",
        "KeyFile",
        "StatementFile",
    ] {
        assert_eq!(defs[def]["additionalProperties"], false, "{def}");
        for (field, property) in defs[def]["properties"].as_object().unwrap() {
            assert!(
                property["description"].is_string(),
                "{def}.{field} has no description"
            );
        }
    }
    let key = &defs["KeyFile"]["properties"];
    assert_eq!(key["name"]["maxLength"], 114);
    assert_eq!(key["rotation_days"]["minimum"], 90);
    assert_eq!(key["rotation_days"]["maximum"], 2560);
    assert_eq!(key["generation"]["minimum"], 1);
    assert_eq!(key["key_usage"]["enum"].as_array().map(Vec::len), Some(3));
    assert!(key["key_spec"]["enum"].as_array().is_some_and(|specs| specs
        .contains(&"HMAC_256".into())
        && specs.contains(&"ML_DSA_44".into())));
    assert_eq!(
        defs["AccountFile"]["properties"]["id"]["pattern"],
        "^[0-9]{12}$"
    );
    // TOML has no null: optional fields are simply not required.
    assert!(!config::schema_json().contains("null"));
}

#[test]
fn accept_entries_keep_their_selectors_their_date_and_their_line() {
    let state = load_valid("accept.toml");
    let file = fixture_dir("valid")
        .join("accept.toml")
        .display()
        .to_string();
    let shown: Vec<String> = state
        .accept
        .iter()
        .map(|a| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {} {} {}",
                a.account,
                a.region,
                a.key,
                a.resource,
                a.subject,
                a.reason,
                a.expires,
                a.at.replace(&file, "accept.toml")
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "Some(\"111111111111\") Some(\"eu-west-1\") Some(\"payments\") Some(\"key_policy\") Some(\"AllowAnalytics*\") analytics reads payments (INC-1234) 2027-03-01 accept.toml:19",
            "Some(\"222222222222\") None Some(\"old-orders\") None None kept for old data 2020-01-31 accept.toml:28",
        ]
    );
}

#[test]
fn key_policy_fields_are_added_to_the_classifications() {
    let state = load_valid("policy_content.toml");
    let k = key(&state, "payments");
    assert_eq!(
        k.administrators,
        set(&["arn:aws:iam::{account}:role/KeyAdmins", "{account}"])
    );
    assert_eq!(
        k.users,
        set(&[
            "arn:aws:iam::444455556666:root",
            "arn:aws:iam::{account}:role/app",
            "arn:aws:sts::{account}:assumed-role/ops/alice",
        ])
    );
    assert_eq!(
        k.service_principals,
        set(&[
            "cloudtrail",
            "delivery.logs.amazonaws.com",
            "logs",
            "logs.{region}.amazonaws.com",
        ])
    );
    let sids: Vec<&str> = k
        .statements
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "AllowAuditRead",
            "AllowBackupVault",
            "AllowOrgDecrypt",
            "DenyDeletion"
        ]
    );
    // IAM's JSON: resource defaults to "*", booleans become the string IAM compares.
    assert_eq!(k.statements[0]["Resource"], "*");
    assert_eq!(
        k.statements[2]["Condition"]["Bool"]["aws:SecureTransport"],
        "true"
    );
}

#[test]
fn organization_and_rollout_expand_with_their_lines() {
    let state = load_valid("organization.toml");
    let org = state.fleet.organization.as_ref().unwrap();
    assert_eq!(org.parents, ["ou-ab12-cd34ef56", "ou-ab12-11112222"]);
    assert_eq!(org.role_name, "c3");
    assert_eq!(org.regions, ["eu-central-1", "eu-west-1"]);
    assert_eq!(org.tags.get("c3").map(String::as_str), Some("enabled"));
    assert!(org.at.ends_with("organization.toml:9"), "{}", org.at);
    let rollout = state.fleet.rollout.as_ref().unwrap();
    assert_eq!(rollout.max_concurrent_accounts, 5);
    assert_eq!(rollout.failure_tolerance, 1);
    let texts: Vec<Vec<&str>> = rollout
        .waves
        .iter()
        .map(|w| w.iter().map(|s| s.text.as_str()).collect())
        .collect();
    assert_eq!(
        texts,
        [
            vec!["canary"],
            vec!["ou:ou-ab12-cd34ef56", "tag:env=staging"],
            vec!["*"]
        ]
    );
    assert!(rollout.waves[1][1].at.ends_with("organization.toml:17"));
    // `payments` names no account: discovered accounts get it too.
    let open: Vec<&str> = state
        .fleet
        .open_keys
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(open, ["payments"]);
    // Without accounts, a file with [organization] is valid and targets
    // nothing until discovery.
    let only = load_valid("organization_only.toml");
    assert!(only.accounts.is_empty());
    assert!(only.fleet.organization.as_ref().unwrap().root);
}
