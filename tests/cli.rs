//! The command line as design.md's "Command line" section states it: help,
//! usage errors, exit codes, `-c`/`C3_CONFIG`, stdout of `--output json`,
//! colour, and that `validate` (and anything given an invalid file) makes no
//! AWS call.
//!
//! Tests that must make no call run against a closed port or against an
//! emulator of their own whose request log is then checked to be empty.

use std::path::{Path, PathBuf};

use c3::render::json::PlanDocument;

use crate::e2e::{apply_ok, c3, one_key_config, plan_json, Config, Run};
use crate::support::{self, fresh_account, offline, run, Emulator};

const R1: &str = "eu-west-1";
const ESC: &str = "\x1b[";
/// A prompt no c3 command prints: [`support::run_in_pty`] then types nothing.
const NO_PROMPT: &str = "(no prompt expected)";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.toml` files of a directory of the repo, sorted.
fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .toml in {dir}");
    files
}

/// The line an invalid fixture is wrong on (its `# expect-line: N` comment).
fn expected_line(fixture: &Path) -> usize {
    std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# expect-line:"))
        .unwrap_or_else(|| panic!("{} has no `# expect-line:`", fixture.display()))
        .trim()
        .parse()
        .unwrap()
}

/// Whether `text` holds `<file>:<line>:<column>:` for some column.
fn has_position(text: &str, file: &Path, line: usize) -> bool {
    let prefix = format!("{}:{line}:", file.display());
    text.match_indices(&prefix).any(|(at, _)| {
        let rest = &text[at + prefix.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(':')
    })
}

/// What each subcommand's help must say it does.
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("validate", &["Check keys.toml", "Makes no AWS call"]),
    (
        "plan",
        &["show what differs from keys.toml", "Never writes"],
    ),
    (
        "apply",
        &["Make the safe part of the plan real", "Never deletes"],
    ),
    (
        "baseline",
        &["Print [[accept]] entries", "Never writes", "--expires"],
    ),
    ("schema", &["JSON Schema of keys.toml"]),
];

// ---------------------------------------------------------------- help, version, usage

#[test]
fn help_lists_every_subcommand_and_what_it_does() {
    for flag in ["--help", "-h"] {
        let r = run(offline().arg(flag));
        assert_eq!(r.code, 0, "c3 {flag}: {r:?}");
        assert!(r.stdout.contains("Usage: c3"), "c3 {flag}: {r:?}");
        for (name, says) in SUBCOMMANDS {
            let line = r
                .stdout
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("c3 {flag} does not list {name}: {r:?}"));
            // The short help shows the first sentence of each description.
            assert!(line.contains(says[0]), "{name}: {line:?}");
        }
        assert!(r.stderr.is_empty(), "c3 {flag}: {r:?}");
    }
}

#[test]
fn each_subcommand_has_help_saying_what_it_does() {
    for (name, says) in SUBCOMMANDS {
        for args in [vec![*name, "--help"], vec!["help", *name]] {
            let r = run(offline().args(&args));
            assert_eq!(r.code, 0, "c3 {args:?}: {r:?}");
            assert!(
                r.stdout.contains(&format!("Usage: c3 {name}")),
                "c3 {args:?}: {r:?}"
            );
            for s in *says {
                assert!(r.stdout.contains(s), "c3 {args:?} lacks {s:?}: {r:?}");
            }
        }
    }
    // The contract's flags are documented where they belong.
    let plan = run(offline().args(["plan", "--help"])).stdout;
    for flag in ["--config", "--output", "--detailed-exitcode", "--out"] {
        assert!(plan.contains(flag), "plan --help lacks {flag}:\n{plan}");
    }
    let apply = run(offline().args(["apply", "--help"])).stdout;
    for flag in ["--config", "--auto-approve", "PLAN_FILE"] {
        assert!(apply.contains(flag), "apply --help lacks {flag}:\n{apply}");
    }
}

#[test]
fn version_exits_0_and_names_the_version() {
    let version = format!("c3 {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let r = run(offline().arg(flag));
        assert_eq!(r.code, 0, "c3 {flag}: {r:?}");
        assert_eq!(r.stdout, version, "c3 {flag}");
    }
    // Propagated to subcommands (clap names them `c3-plan`).
    let r = run(offline().args(["plan", "--version"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("c3") && r.stdout.trim_end().ends_with(env!("CARGO_PKG_VERSION")),
        "{r:?}"
    );
}

#[test]
fn usage_errors_exit_1_never_2_with_clap_message_on_stderr() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "unexpected argument '--bogus'"),
        (&["plan", "--bogus"], "unexpected argument '--bogus'"),
        (&["frob"], "unrecognized subcommand 'frob'"),
        (
            &["plan", "--output", "xml"],
            "invalid value 'xml' for '--output",
        ),
        (
            &["plan", "-o", "yaml"],
            "invalid value 'yaml' for '--output",
        ),
        (
            &["plan", "--parallelism", "0"],
            "invalid value '0' for '--parallelism",
        ),
        (
            &["apply", "--parallelism", "0"],
            "invalid value '0' for '--parallelism",
        ),
        (
            &["plan", "--parallelism", "many"],
            "invalid value 'many' for '--parallelism",
        ),
        (
            &["plan", "--color", "rainbow"],
            "invalid value 'rainbow' for '--color",
        ),
        (
            &["plan", "--detailed-exitcode", "--output"],
            "a value is required for '--output",
        ),
        (&["validate", "extra"], "unexpected argument 'extra'"),
        (&["-q", "-v", "validate"], "cannot be used with"),
        (&[], "Usage: c3"),
    ];
    for (args, message) in cases {
        // --detailed-exitcode in the arguments must not turn a usage error into 2.
        let r = run(offline().args(*args));
        assert_eq!(r.code, 1, "c3 {args:?}: {r:?}");
        assert!(r.stderr.contains(message), "c3 {args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "c3 {args:?}: {r:?}");
        if !args.is_empty() {
            assert!(r.stderr.starts_with("error: "), "c3 {args:?}: {r:?}");
        }
    }
}

// ---------------------------------------------------------------- validate, invalid files

#[test]
fn validate_accepts_every_example_without_any_aws_call() {
    let own = Emulator::start_own();
    for example in toml_files("examples") {
        let r = run(support::c3_command_at(&own.endpoint())
            .arg("validate")
            .arg("-c")
            .arg(&example));
        assert_eq!(r.code, 0, "{}: {r:?}", example.display());
        assert!(
            r.stdout
                .contains(&format!("{} is valid", example.display())),
            "{}: {r:?}",
            example.display()
        );
    }
    assert_eq!(own.all_requests(), vec![], "validate called AWS");
}

#[test]
fn an_invalid_file_exits_1_with_its_position_and_no_aws_call() {
    let own = Emulator::start_own();
    let fixtures = toml_files("tests/fixtures/invalid");
    for fixture in &fixtures {
        let line = expected_line(fixture);
        for args in [
            &["validate"][..],
            &["plan"],
            &["plan", "--output", "json", "--detailed-exitcode"],
            &["apply", "--auto-approve"],
        ] {
            let r = run(support::c3_command_at(&own.endpoint())
                .args(args)
                .arg("-c")
                .arg(fixture));
            let what = format!("c3 {args:?} -c {}", fixture.display());
            assert_eq!(r.code, 1, "{what}: {r:?}");
            assert!(has_position(&r.stderr, fixture, line), "{what}: {r:?}");
            assert!(r.stdout.is_empty(), "{what}: {r:?}");
        }
    }
    assert_eq!(
        own.all_requests(),
        vec![],
        "an invalid file led to AWS calls"
    );

    // The same server does log c3's calls: the empty log above means something.
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let r = run(support::c3_command_at(&own.endpoint())
        .arg("plan")
        .arg("-c")
        .arg(&config.path));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        own.requests(&account)
            .iter()
            .any(|q| q.operation == "ListAliases"),
        "{:?}",
        own.all_requests()
    );
}

#[test]
fn a_missing_config_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    for sub in ["validate", "plan"] {
        let r = run(offline().arg(sub).arg("-c").arg(&missing));
        assert_eq!(r.code, 1, "{sub}: {r:?}");
        assert!(
            r.stderr.contains(&missing.display().to_string()),
            "{sub}: {r:?}"
        );
    }
}

// ---------------------------------------------------------------- schema

#[test]
fn schema_prints_exactly_the_schema_file() {
    let r = run(offline().arg("schema"));
    assert_eq!(r.code, 0, "{r:?}");
    let file = std::fs::read_to_string(repo().join("schema/keys.schema.json")).unwrap();
    assert!(
        r.stdout == file,
        "c3 schema differs from schema/keys.schema.json"
    );
    assert!(r.stderr.is_empty(), "{r:?}");
    // It needs no keys.toml.
    let dir = tempfile::tempdir().unwrap();
    let r = run(offline().arg("schema").current_dir(dir.path()));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout == file);
}

// ---------------------------------------------------------------- -c and C3_CONFIG

#[test]
fn config_defaults_to_keys_toml_in_the_working_directory() {
    let valid = std::fs::read_to_string(repo().join("examples/minimal.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keys.toml"), &valid).unwrap();
    let r = run(offline().arg("validate").current_dir(dir.path()));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("keys.toml is valid"), "{r:?}");

    // An invalid ./keys.toml is the one read: its error names it.
    let invalid = repo().join("tests/fixtures/invalid/key_rotation_low.toml");
    std::fs::copy(&invalid, dir.path().join("keys.toml")).unwrap();
    let r = run(offline().arg("validate").current_dir(dir.path()));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        has_position(&r.stderr, Path::new("keys.toml"), expected_line(&invalid)),
        "{r:?}"
    );

    // No ./keys.toml: an error that names it.
    let empty = tempfile::tempdir().unwrap();
    let r = run(offline().arg("validate").current_dir(empty.path()));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("keys.toml"), "{r:?}");
}

#[test]
fn c3_config_names_the_file_and_c_overrides_it() {
    let valid = repo().join("examples/minimal.toml");
    let invalid = repo().join("tests/fixtures/invalid/key_rotation_low.toml");
    // The working directory holds a valid keys.toml, so only C3_CONFIG can make it fail.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&valid, dir.path().join("keys.toml")).unwrap();

    let r = run(offline()
        .arg("validate")
        .env("C3_CONFIG", &invalid)
        .current_dir(dir.path()));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        has_position(&r.stderr, &invalid, expected_line(&invalid)),
        "{r:?}"
    );

    let r = run(offline()
        .arg("validate")
        .env("C3_CONFIG", &valid)
        .current_dir(dir.path()));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!("{} is valid", valid.display())),
        "{r:?}"
    );

    let r = run(offline()
        .arg("validate")
        .arg("-c")
        .arg(&valid)
        .env("C3_CONFIG", &invalid)
        .current_dir(dir.path()));
    assert_eq!(r.code, 0, "-c wins over C3_CONFIG: {r:?}");
}

// ---------------------------------------------------------------- plan --output json

#[test]
fn plan_json_prints_only_the_document_even_when_verbose() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    for args in [
        &["plan", "--output", "json"][..],
        &["plan", "-o", "json", "-v"],
        &["-v", "plan", "--output", "json"],
        &["plan", "--output", "json", "-vv"],
        &["plan", "--output", "json", "-vvv", "--detailed-exitcode"],
    ] {
        let r = c3(&config.path, args);
        let expected = if args.contains(&"--detailed-exitcode") {
            2
        } else {
            0
        };
        assert_eq!(r.code, expected, "c3 {args:?}: {r:?}");
        // from_str rejects anything after the document but whitespace.
        let doc: PlanDocument = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!("c3 {args:?}: stdout is not one JSON document ({e}): {r:?}")
        });
        assert_eq!(doc.format_version, 2);
        assert!(doc.errors.is_empty(), "c3 {args:?}: {:?}", doc.errors);
        assert!(!doc.changes.is_empty(), "c3 {args:?}: nothing to create?");
        assert!(doc.changes.iter().all(|c| c.account == account));
        assert!(doc.summary.create > 0, "{:?}", doc.summary);
        if args.iter().any(|a| a.starts_with("-vv")) {
            // The logs exist, and went to stderr.
            assert!(r.stderr.contains("AWS call"), "c3 {args:?}: {r:?}");
        }
    }
}

// ---------------------------------------------------------------- colour

/// `c3 plan` (human) of a fresh account: creates, which colour paints.
fn plan_human(config: &Path, extra: &[&str], no_color: Option<&str>) -> Run {
    let mut command = support::c3_command();
    command.arg("plan").args(extra).arg("-c").arg(config);
    match no_color {
        Some(v) => command.env("NO_COLOR", v),
        None => command.env_remove("NO_COLOR"),
    };
    run(&mut command)
}

#[test]
fn no_colour_when_no_color_is_set_or_output_is_not_a_terminal() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    for (extra, no_color) in [
        (&[][..], Some("1")),
        (&[][..], None),
        (&["--color", "auto"][..], None),
        (&["--color", "never"][..], None),
        (&["--color", "never"][..], Some("1")),
        (&["-vv"][..], Some("1")),
        (&["-vv"][..], None),
    ] {
        let r = plan_human(&config.path, extra, no_color);
        let what = format!("plan {extra:?} NO_COLOR={no_color:?}");
        assert_eq!(r.code, 0, "{what}: {r:?}");
        assert!(r.stdout.contains("create"), "{what}: {r:?}");
        assert!(!r.stdout.contains(ESC), "{what}: colour on stdout: {r:?}");
        // Logs on a stderr that is not a terminal are not coloured either.
        assert!(!r.stderr.contains(ESC), "{what}: colour on stderr: {r:?}");
        if extra.contains(&"-vv") {
            assert!(r.stderr.contains("AWS call"), "{what}: {r:?}");
        }
    }
}

#[test]
fn color_always_colours_even_with_no_color_and_no_terminal() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let r = plan_human(&config.path, &["--color", "always"], Some("1"));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(ESC), "{r:?}");

    let mut command = support::c3_command();
    command
        .args(["plan", "-c"])
        .arg(&config.path)
        .env("C3_COLOR", "always");
    let r = run(&mut command);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(ESC), "C3_COLOR=always: {r:?}");
}

#[test]
fn auto_colours_a_terminal_unless_no_color() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));
    let mut command = support::c3_command();
    command.args(["plan", "-c"]).arg(&config.path);

    // The prompt never shows: plan asks nothing, so nothing is typed.
    command.env_remove("NO_COLOR");
    let r = support::run_in_pty(&command, NO_PROMPT, "");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.output.contains("create"), "{r:?}");
    assert!(r.output.contains(ESC), "a terminal without NO_COLOR: {r:?}");

    command.env("NO_COLOR", "1");
    let r = support::run_in_pty(&command, NO_PROMPT, "");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.output.contains("create"), "{r:?}");
    assert!(!r.output.contains(ESC), "a terminal with NO_COLOR=1: {r:?}");
}

// ---------------------------------------------------------------- --detailed-exitcode

#[test]
fn detailed_exitcode_is_2_with_differences_and_0_without() {
    let account = fresh_account();
    let config = Config::new(&one_key_config(&account, R1));

    // Everything to create: differences.
    let r = c3(&config.path, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = c3(&config.path, &["plan"]);
    assert_eq!(
        r.code, 0,
        "without the flag, differences are a success: {r:?}"
    );

    apply_ok(&config.path);
    let r = c3(&config.path, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("No differences"), "{r:?}");
    let r = c3(&config.path, &["plan", "--detailed-exitcode", "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");

    // Reported differences (never applied) count too: the file now says
    // disabled, the key is enabled.
    config.rewrite(&one_key_config(&account, R1).replace(
        "classification = \"confidential\"\n",
        "classification = \"confidential\"\nenabled = false\n",
    ));
    let (_, doc) = plan_json(&config.path);
    assert!(!doc.changes.is_empty(), "enabled = false is not reported?");
    assert!(
        doc.changes.iter().all(|c| !c.executable()),
        "{:#?}",
        doc.changes
    );
    let r = c3(&config.path, &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = c3(&config.path, &["plan"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn detailed_exitcode_is_1_when_a_target_fails() {
    let wrong = fresh_account();
    assert_ne!(wrong, support::DEFAULT_ACCOUNT);
    // No role_arn: the ambient credentials are moto's default account, not `wrong`.
    let config = Config::new(&format!(
        "version = 1\n\n[accounts.mismatch]\nid = \"{wrong}\"\nregions = [\"{R1}\"]\n\n[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n"
    ));
    for args in [
        &["plan", "--detailed-exitcode"][..],
        &["plan", "--detailed-exitcode", "--output", "json"],
        &["plan"],
    ] {
        let r = c3(&config.path, args);
        assert_eq!(r.code, 1, "c3 {args:?}: {r:?}");
        // The error, naming the account, on stderr; the JSON document says it too.
        assert!(r.stderr.contains(&wrong), "c3 {args:?}: {r:?}");
        if args.contains(&"json") {
            assert!(r.stdout.contains(&wrong), "c3 {args:?}: {r:?}");
        }
    }
    // A target that could not be read is never said to match: the summary
    // line says how many could not be read, and stdout has no error text.
    let r = c3(&config.path, &["plan"]);
    assert!(
        r.stdout
            .contains("1 account(s) or region(s) could not be read"),
        "{r:?}"
    );
    assert!(!r.stdout.contains("matches keys.toml"), "{r:?}");
    assert!(!r.stdout.contains("No differences"), "{r:?}");
    assert!(r.stderr.starts_with("error: mismatch ("), "{r:?}");
    assert!(r.stderr.contains("AccountMismatch"), "{r:?}");
}
