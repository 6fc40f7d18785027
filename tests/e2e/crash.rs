//! Crash safety of `c3 apply` (design.md: "A run that dies half-way must be
//! safe to repeat"): an apply killed with SIGKILL at any moment, then run
//! again, ends with exactly one key per (name, generation, account, region),
//! every alias on it, rotation on, no two versions of a managed policy with
//! the same document, and nothing deleted.
//!
//! - [`apply_killed_at_several_points_converges_when_rerun`]: the estate of
//!   [`estate`] (2 accounts × 2 regions × 3 keys, 2 writes per second, about
//!   5.5 s for a full apply on an idle emulator: keys and aliases in the first
//!   ~1.5 s, the 18 managed policies after that), killed at fixed delays and
//!   at two moments read from the emulator's request log, each on fresh
//!   accounts, in parallel.
//! - The other tests build, with the SDK, exactly what a run killed at one
//!   precise step leaves behind (the key c3's CreateKey makes, from c3's own
//!   desired-state functions), so the awkward steps are covered every time,
//!   not only when a timer happens to hit them.
//!
//! `scripts/crash-trials.sh` runs the long version (20 random kill times).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_kms::types::{KeySpec, KeyUsageType, Tag};
use c3::model::PolicyKind;
use c3::model::{tag, Target};
use c3::plan::desired::{key_policy, managed_policy};
use c3::policy::{pretty, Document};

use super::*;
use crate::support::fresh_account;

const REGIONS: [&str; 2] = ["eu-west-1", "eu-central-1"];
const KEYS: [&str; 3] = ["payments", "orders", "logs"];
const KINDS: [&str; 3] = ["encrypt", "decrypt", "crypto"];

/// How long to wait after the kill before looking: the emulator finishes a
/// request it already received even when its client is gone (AWS does too),
/// and a rerun that listed keys before such a CreateKey completed could not
/// see the key. 300 ms is several times a CreateKey on the emulator.
const SETTLE: Duration = Duration::from_millis(300);

/// The writes a complete apply of [`estate`] makes in its two accounts.
const ALL_KEYS: usize = 2 * REGIONS.len() * KEYS.len();
const ALL_POLICIES: usize = 2 * KEYS.len() * KINDS.len();

/// 2 accounts × 2 regions × 3 keys, paced at 2 writes per second per
/// (account, region, operation) so that a kill can land mid-way.
fn estate(accounts: &[String]) -> String {
    let mut text = String::from("version = 1\n\n[settings]\nwrites_per_second = 2\n\n");
    for (i, id) in accounts.iter().enumerate() {
        text.push_str(&account_block(&format!("a{i}"), id, &REGIONS));
    }
    text.push_str(
        "[classifications.confidential]\nrotation_days = 180\nvia_services = [\"secretsmanager\"]\n\n",
    );
    for name in KEYS {
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nclassification = \"confidential\"\ntags = {{ team = \"{name}\" }}\n\n"
        ));
    }
    text
}

/// When to kill the apply.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// This long after the process was started.
    After(Duration),
    /// As soon as the emulator's request log shows this operation in the
    /// first account (the line is written before the answer is sent).
    OnFirst(&'static str),
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::After(d) => write!(f, "after {} ms", d.as_millis()),
            Self::OnFirst(op) => write!(f, "on the first {op}"),
        }
    }
}

/// Follows the request log from where it ended when created.
struct LogTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl LogTail {
    fn at_end() -> Self {
        let path = emulator().log_path().to_path_buf();
        let offset = std::fs::metadata(&path).map_or(0, |m| m.len());
        Self {
            path,
            offset,
            partial: String::new(),
        }
    }

    /// Whether a line appended since the last call is `operation` in `account`.
    fn saw(&mut self, account: &str, operation: &str) -> bool {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            // The server creates its log with the first request it answers.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
            Err(e) => panic!("cannot open the request log: {e}"),
        };
        file.seek(SeekFrom::Start(self.offset)).expect("seek");
        let mut text = String::new();
        let n = file
            .read_to_string(&mut text)
            .expect("read the request log");
        self.offset += n as u64;
        self.partial.push_str(&text);
        let mut found = false;
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            found |= entry["account"] == account && entry["operation"] == operation;
        }
        found
    }
}

/// What a killed apply had done.
#[derive(Debug)]
struct Killed {
    /// When the kill was sent, from the start of the process.
    at: Duration,
    /// The process had finished before the kill.
    finished_first: bool,
    /// Writes the emulator received, over both accounts.
    ops: BTreeMap<String, usize>,
}

impl Killed {
    fn count(&self, op: &str) -> usize {
        self.ops.get(op).copied().unwrap_or(0)
    }

    /// The phase it landed in: the point of the test is the half-done runs.
    fn phase(&self) -> &'static str {
        let (keys, policies) = (self.count("CreateKey"), self.count("CreatePolicy"));
        if keys == 0 {
            "before any key"
        } else if policies == ALL_POLICIES {
            "after every write"
        } else if keys < ALL_KEYS {
            "half-done: creating keys"
        } else if self.count("CreatePolicy") == 0 {
            "half-done: keys made, no policy"
        } else {
            "half-done: creating policies"
        }
    }

    fn half_done(&self) -> bool {
        self.count("CreateKey") > 0 && self.count("CreatePolicy") < ALL_POLICIES
    }

    fn counts(&self) -> String {
        format!(
            "CreateKey {}/{ALL_KEYS}, EnableKeyRotation {}, CreateAlias {}, CreatePolicy {}/{ALL_POLICIES}",
            self.count("CreateKey"),
            self.count("EnableKeyRotation"),
            self.count("CreateAlias"),
            self.count("CreatePolicy"),
        )
    }
}

/// Starts `c3 apply --auto-approve`, kills it with SIGKILL at `trigger`, waits
/// for the emulator to finish what it had received, and counts the writes.
fn kill_apply(config: &Path, accounts: &[String], trigger: Trigger) -> Killed {
    let mut tail = LogTail::at_end();
    let mut child = support::c3_command()
        .args(["apply", "--auto-approve", "-c"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn c3 apply");
    let start = Instant::now();
    let give_up = Duration::from_secs(60);
    let mut finished_first = false;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            finished_first = true;
            break;
        }
        let now = start.elapsed();
        let fire = match trigger {
            Trigger::After(d) => now >= d,
            Trigger::OnFirst(op) => tail.saw(&accounts[0], op),
        };
        assert!(
            now < give_up,
            "{trigger}: did not happen within {give_up:?}"
        );
        if fire {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let at = start.elapsed();
    if !finished_first {
        // std's Child::kill sends SIGKILL on Unix.
        child.kill().expect("SIGKILL c3");
    }
    child.wait().expect("reap c3");
    std::thread::sleep(SETTLE);
    let mut ops = BTreeMap::new();
    for account in accounts {
        for (op, n) in operations(account) {
            *ops.entry(op).or_insert(0) += n;
        }
    }
    Killed {
        at,
        finished_first,
        ops,
    }
}

/// What is in the accounts, checked against what must be there.
#[derive(Debug, Default)]
struct Census {
    /// Every c3 key, per (account, region, name, generation).
    keys: BTreeMap<(String, String, String, u32), Vec<String>>,
    /// Pairs of versions of one managed policy with the same document.
    duplicate_versions: usize,
    /// Everything wrong, in words.
    problems: Vec<String>,
}

/// All c3 keys of an (account, region): key id → (ARN, tags).
async fn c3_keys(
    kms: &aws_sdk_kms::Client,
) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let mut ids = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = kms
            .list_keys()
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListKeys");
        for k in out.keys() {
            ids.push((
                k.key_id().unwrap_or_default().to_string(),
                k.key_arn().unwrap_or_default().to_string(),
            ));
        }
        marker = out.next_marker().map(str::to_string);
        if !out.truncated() || marker.is_none() {
            break;
        }
    }
    let mut keys = BTreeMap::new();
    for (id, arn) in ids {
        let mut tags = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let out = kms
                .list_resource_tags()
                .key_id(&id)
                .set_marker(marker.clone())
                .send()
                .await
                .expect("ListResourceTags");
            for t in out.tags() {
                tags.insert(t.tag_key().to_string(), t.tag_value().to_string());
            }
            marker = out.next_marker().map(str::to_string);
            if !out.truncated() || marker.is_none() {
                break;
            }
        }
        if tags.get(tag::MANAGED).map(String::as_str) == Some("true") {
            keys.insert(id, (arn, tags));
        }
    }
    keys
}

/// Checks every (account, region) for exactly one c3 key per declared (name,
/// generation) and no other, the alias on the newest generation, rotation on
/// at `rotation_days`; every managed policy for versions with distinct
/// documents and a default version naming exactly the key ARNs of its name in
/// its account; and the request log for deletions.
async fn census(
    accounts: &[String],
    regions: &[&str],
    keys: &[(&str, &[u32])],
    rotation_days: i32,
) -> Census {
    let mut c = Census::default();
    let mut arns: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for account in accounts {
        for region in regions {
            let kms = kms(account, region).await;
            let live = c3_keys(&kms).await;
            let mut found: BTreeMap<(String, u32), Vec<String>> = BTreeMap::new();
            for (id, (arn, tags)) in &live {
                let name = tags.get(tag::NAME).cloned().unwrap_or_default();
                let generation = tags
                    .get(tag::GENERATION)
                    .and_then(|g| g.parse().ok())
                    .unwrap_or(0);
                found
                    .entry((name.clone(), generation))
                    .or_default()
                    .push(id.clone());
                arns.entry((account.clone(), name))
                    .or_default()
                    .insert(arn.clone());
                let rotation = kms
                    .get_key_rotation_status()
                    .key_id(id)
                    .send()
                    .await
                    .expect("GetKeyRotationStatus");
                if !rotation.key_rotation_enabled()
                    || rotation.rotation_period_in_days() != Some(rotation_days)
                {
                    c.problems.push(format!(
                        "{account} {region}: key {id} rotation is {:?} every {:?} days, not on every {rotation_days}",
                        rotation.key_rotation_enabled(),
                        rotation.rotation_period_in_days()
                    ));
                }
            }
            let mut wanted = BTreeSet::new();
            for (name, generations) in keys {
                for g in *generations {
                    wanted.insert((name.to_string(), *g));
                }
            }
            for (name, generation) in &wanted {
                let n = found.get(&(name.clone(), *generation)).map_or(0, Vec::len);
                if n != 1 {
                    c.problems.push(format!(
                        "{account} {region}: {n} c3 keys of {name} generation {generation}, not 1"
                    ));
                }
            }
            for ((name, generation), ids) in &found {
                if !wanted.contains(&(name.clone(), *generation)) {
                    c.problems.push(format!(
                        "{account} {region}: unexpected c3 key(s) {ids:?} of {name} generation {generation}"
                    ));
                }
                c.keys.insert(
                    (
                        account.clone(),
                        region.to_string(),
                        name.clone(),
                        *generation,
                    ),
                    ids.clone(),
                );
            }
            let aliases = kms.list_aliases().send().await.expect("ListAliases");
            for (name, generations) in keys {
                let newest = generations.iter().max().copied().unwrap_or(1);
                let want = found.get(&(name.to_string(), newest)).cloned();
                let alias = format!("alias/{name}");
                let on = aliases
                    .aliases()
                    .iter()
                    .find(|a| a.alias_name() == Some(alias.as_str()))
                    .and_then(|a| a.target_key_id().map(str::to_string));
                match (&on, &want) {
                    (Some(id), Some(ids)) if ids.len() == 1 && ids[0] == *id => {}
                    _ => c.problems.push(format!(
                        "{account} {region}: {alias} points at {on:?}, not at the one key of generation {newest} ({want:?})"
                    )),
                }
            }
        }
        let iam = iam(account).await;
        for (name, _) in keys {
            let want_arns = arns
                .get(&(account.clone(), name.to_string()))
                .cloned()
                .unwrap_or_default();
            for kind in KINDS {
                let arn = format!("arn:aws:iam::{account}:policy/allow-{kind}-{name}");
                let Ok(policy) = iam.get_policy().policy_arn(&arn).send().await else {
                    c.problems.push(format!("{account}: {arn} is missing"));
                    continue;
                };
                let default = policy
                    .policy()
                    .and_then(|p| p.default_version_id())
                    .unwrap_or_default()
                    .to_string();
                let versions = iam
                    .list_policy_versions()
                    .policy_arn(&arn)
                    .send()
                    .await
                    .expect("ListPolicyVersions");
                let mut seen: BTreeMap<String, String> = BTreeMap::new();
                for v in versions.versions() {
                    let id = v.version_id().unwrap_or_default().to_string();
                    let out = iam
                        .get_policy_version()
                        .policy_arn(&arn)
                        .version_id(&id)
                        .send()
                        .await
                        .expect("GetPolicyVersion");
                    let text = decode_document(
                        out.policy_version()
                            .and_then(|v| v.document())
                            .unwrap_or(""),
                    );
                    let doc = match Document::parse(&text, "aws") {
                        Ok(d) => d,
                        Err(e) => {
                            c.problems
                                .push(format!("{account}: {arn} {id} is unreadable: {e}"));
                            continue;
                        }
                    };
                    if id == default {
                        let named: BTreeSet<String> = doc
                            .statements
                            .iter()
                            .flat_map(|s| s.resource.clone().unwrap_or_default())
                            .collect();
                        if named != want_arns {
                            c.problems.push(format!(
                                "{account}: {arn} ({id}) names {named:?}, not the key ARNs {want_arns:?}"
                            ));
                        }
                    }
                    let normal = doc.normalized_text();
                    if let Some(other) = seen.get(&normal) {
                        c.duplicate_versions += 1;
                        c.problems.push(format!(
                            "{account}: {arn} versions {other} and {id} have the same document"
                        ));
                    } else {
                        seen.insert(normal, id);
                    }
                }
            }
        }
        let ops = operations(account);
        for op in crate::support::forbidden_below_version_limit() {
            if let Some(n) = ops.get(op) {
                c.problems
                    .push(format!("{account}: {op} was called {n} time(s)"));
            }
        }
    }
    c
}

/// A rerun must succeed and say the accounts converged (or, when the killed
/// run had already written everything, that there was nothing to apply).
fn assert_rerun_converged(what: &str, run: &super::Run) {
    assert_eq!(run.code, 0, "{what}: the rerun failed:\n{run:?}");
    assert!(
        run.stdout.contains("Converged") || run.stdout.contains("Nothing to apply."),
        "{what}: the rerun did not converge:\n{run:?}"
    );
}

/// One kill point, on accounts of its own.
struct Trial {
    trigger: Trigger,
    killed: Killed,
    rerun: super::Run,
    plan: super::Run,
    census: Census,
}

async fn trial(trigger: Trigger) -> Trial {
    let accounts = vec![fresh_account(), fresh_account()];
    let config = Config::new(&estate(&accounts));
    let path = config.path.clone();
    let ids = accounts.clone();
    let (killed, rerun) = tokio::task::spawn_blocking(move || {
        let killed = kill_apply(&path, &ids, trigger);
        let rerun = c3(&path, &["apply", "--auto-approve"]);
        (killed, rerun)
    })
    .await
    .expect("join");
    let census = census(
        &accounts,
        &REGIONS,
        &[("payments", &[1]), ("orders", &[1]), ("logs", &[1])],
        180,
    )
    .await;
    let path = config.path.clone();
    let plan = tokio::task::spawn_blocking(move || c3(&path, &["plan", "--detailed-exitcode"]))
        .await
        .expect("join");
    Trial {
        trigger,
        killed,
        rerun,
        plan,
        census,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_killed_at_several_points_converges_when_rerun() {
    // A full apply of `estate` takes ~5.5 s on an idle emulator: the 12 keys
    // and aliases within ~1.5 s, then 9 policies per account at 2 per second.
    // The delays spread over that; the two log triggers land, one most likely
    // between a CreateKey and its EnableKeyRotation, the other between two
    // CreatePolicy calls (they are 500 ms apart).
    let triggers = [
        Trigger::After(Duration::from_millis(300)),
        Trigger::After(Duration::from_millis(1_200)),
        Trigger::After(Duration::from_millis(2_500)),
        Trigger::After(Duration::from_secs(4)),
        Trigger::OnFirst("CreateKey"),
        Trigger::OnFirst("CreatePolicy"),
    ];
    let trials: Vec<Trial> =
        futures::future::join_all(triggers.into_iter().map(|t| tokio::spawn(trial(t))))
            .await
            .into_iter()
            .map(|r| r.expect("trial"))
            .collect();

    let mut table = String::new();
    for t in &trials {
        table.push_str(&format!(
            "{:<24} killed at {:>5} ms{}: {:<30} {}; rerun exit {}, {} key(s), {} duplicate version(s)\n",
            t.trigger.to_string(),
            t.killed.at.as_millis(),
            if t.killed.finished_first { " (had finished)" } else { "" },
            t.killed.phase(),
            t.killed.counts(),
            t.rerun.code,
            t.census.keys.values().map(Vec::len).sum::<usize>(),
            t.census.duplicate_versions,
        ));
    }
    println!("{table}");

    for t in &trials {
        let what = format!("kill {} ({})", t.trigger, t.killed.phase());
        assert_rerun_converged(&what, &t.rerun);
        assert!(
            t.census.problems.is_empty(),
            "{what}: {:#?}\n{table}",
            t.census.problems
        );
        assert_eq!(
            t.plan.code, 0,
            "{what}: plan after the rerun:\n{:?}",
            t.plan
        );
    }
    // The test is worth something only if some kill left a run half-done.
    assert!(
        trials
            .iter()
            .filter(|t| matches!(t.trigger, Trigger::After(_)))
            .any(|t| t.killed.half_done()),
        "no fixed delay landed after a CreateKey and before the last CreatePolicy:\n{table}"
    );
    let between_policies = trials
        .iter()
        .find(|t| matches!(t.trigger, Trigger::OnFirst("CreatePolicy")))
        .expect("the CreatePolicy trial");
    let n = between_policies.killed.count("CreatePolicy");
    assert!(
        (1..ALL_POLICIES).contains(&n),
        "the kill on the first CreatePolicy should land between CreatePolicy calls:\n{table}"
    );
}

/// Creates with the SDK the key c3's CreateKey would make for `name` at this
/// target, as written in `config_text` (same description, policy and tags),
/// with rotation on only if `rotated`. Returns its key id.
async fn leave_key(config_text: &str, name: &str, target: &Target, rotated: bool) -> String {
    let desired = c3::config::parse(config_text, "keys.toml").expect("valid keys.toml");
    let spec = desired
        .keys
        .iter()
        .find(|k| k.name == name)
        .expect("declared key");
    let kms = kms(&target.account, &target.region).await;
    let mut create = kms
        .create_key()
        .description(&spec.description)
        .policy(pretty(&key_policy(spec, target)))
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .multi_region(false)
        .bypass_policy_lockout_safety_check(false);
    for (k, v) in spec.tags() {
        create = create.tags(Tag::builder().tag_key(k).tag_value(v).build().expect("tag"));
    }
    let key_id = create
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_string();
    if rotated {
        kms.enable_key_rotation()
            .key_id(&key_id)
            .rotation_period_in_days(i32::try_from(spec.rotation_days).expect("days"))
            .send()
            .await
            .expect("EnableKeyRotation");
    }
    key_id
}

/// The executable (resource, action) pairs of a plan, sorted.
fn executable(doc: &PlanDocument) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = rows(doc)
        .into_iter()
        .filter(|(_, _, exec)| *exec)
        .map(|(r, a, _)| (r, a))
        .collect();
    v.sort();
    v
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items
        .iter()
        .map(|(r, a)| (r.to_string(), a.to_string()))
        .collect();
    v.sort();
    v
}

/// Applies, plans with --detailed-exitcode, and takes the census of one key
/// in one region.
async fn rerun_and_census(
    config: &Config,
    account: &str,
    region: &str,
    generations: &'static [u32],
) -> Census {
    let path = config.path.clone();
    let (run, plan) = tokio::task::spawn_blocking(move || {
        (
            c3(&path, &["apply", "--auto-approve"]),
            c3(&path, &["plan", "--detailed-exitcode"]),
        )
    })
    .await
    .expect("join");
    assert_rerun_converged("rerun", &run);
    assert_eq!(plan.code, 0, "plan after the rerun:\n{plan:?}");
    census(
        &[account.to_string()],
        &[region],
        &[("payments", generations)],
        180,
    )
    .await
}

/// Killed between CreateKey and EnableKeyRotation: the key exists, tagged,
/// with its policy, but rotation is off and no alias points at it. The rerun
/// adopts it (no second key) and turns rotation on.
#[tokio::test(flavor = "multi_thread")]
async fn killed_between_create_key_and_rotation_the_key_is_adopted_and_rotated() {
    let account = fresh_account();
    let region = REGIONS[0];
    let text = one_key_config(&account, region);
    let config = Config::new(&text);
    let left = leave_key(&text, "payments", &Target::new(&account, region), false).await;

    let path = config.path.clone();
    let (_, plan) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(
        executable(&plan),
        pairs(&[
            ("alias", "adopt"),
            ("rotation", "update"),
            ("iam_policy", "create"),
            ("iam_policy", "create"),
            ("iam_policy", "create"),
        ]),
        "{:#?}",
        plan.changes
    );
    let c = rerun_and_census(&config, &account, region, &[1]).await;
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let key = (
        account.clone(),
        region.to_string(),
        "payments".to_string(),
        1,
    );
    assert_eq!(
        c.keys.get(&key),
        Some(&vec![left]),
        "the left key is the one"
    );
}

/// Killed between two CreatePolicy calls: the key, its alias and one managed
/// policy exist. The rerun creates the other two and leaves the first at one
/// version.
#[tokio::test(flavor = "multi_thread")]
async fn killed_between_create_policy_calls_the_rest_are_created_once() {
    let account = fresh_account();
    let region = REGIONS[0];
    let target = Target::new(&account, region);
    let text = one_key_config(&account, region);
    let config = Config::new(&text);
    let key_id = leave_key(&text, "payments", &target, true).await;
    let kms = kms(&account, region).await;
    kms.create_alias()
        .alias_name("alias/payments")
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");
    let arn = format!("arn:aws:kms:{region}:{account}:key/{key_id}");
    let iam = iam(&account).await;
    iam.create_policy()
        .policy_name("allow-encrypt-payments")
        .path("/")
        .policy_document(pretty(&managed_policy(
            PolicyKind::Encrypt,
            &BTreeSet::from([arn]),
        )))
        .description("Managed by c3")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(tag::MANAGED)
                .value("true")
                .build()
                .expect("tag"),
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(tag::NAME)
                .value("payments")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("CreatePolicy");

    let path = config.path.clone();
    let (_, plan) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    assert_eq!(
        executable(&plan),
        pairs(&[("iam_policy", "create"), ("iam_policy", "create")]),
        "{:#?}",
        plan.changes
    );
    let c = rerun_and_census(&config, &account, region, &[1]).await;
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let versions = iam
        .list_policy_versions()
        .policy_arn(format!(
            "arn:aws:iam::{account}:policy/allow-encrypt-payments"
        ))
        .send()
        .await
        .expect("ListPolicyVersions");
    assert_eq!(versions.versions().len(), 1, "{versions:?}");
}

/// A generation bump killed after the new key was made and before the alias
/// moved (with or without its rotation set): the rerun repoints the alias at
/// that key, creates no third key, keeps the old one, and adds the new ARN to
/// each managed policy in one new version.
async fn bump_killed_before_the_alias_moved(rotated: bool) {
    let account = fresh_account();
    let region = REGIONS[0];
    let text = one_key_config(&account, region);
    let config = Config::new(&text);
    apply_in_background(&config).await;
    let bumped = text.replace(
        "classification = \"confidential\"\n",
        "classification = \"confidential\"\ngeneration = 2\n",
    );
    config.rewrite(&bumped);
    let new = leave_key(&bumped, "payments", &Target::new(&account, region), rotated).await;

    let path = config.path.clone();
    let (_, plan) = tokio::task::spawn_blocking(move || plan_json(&path))
        .await
        .expect("join");
    let mut want = vec![
        ("alias", "repoint"),
        ("iam_policy", "update"),
        ("iam_policy", "update"),
        ("iam_policy", "update"),
    ];
    if !rotated {
        want.push(("rotation", "update"));
    }
    assert_eq!(executable(&plan), pairs(&want), "{:#?}", plan.changes);
    let c = rerun_and_census(&config, &account, region, &[1, 2]).await;
    assert!(c.problems.is_empty(), "{:#?}", c.problems);
    let key = (
        account.clone(),
        region.to_string(),
        "payments".to_string(),
        2,
    );
    assert_eq!(
        c.keys.get(&key),
        Some(&vec![new]),
        "the left key is the one"
    );
    let iam = iam(&account).await;
    for kind in KINDS {
        let versions = iam
            .list_policy_versions()
            .policy_arn(format!(
                "arn:aws:iam::{account}:policy/allow-{kind}-payments"
            ))
            .send()
            .await
            .expect("ListPolicyVersions");
        assert_eq!(versions.versions().len(), 2, "{kind}: {versions:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_killed_before_update_alias_repoints_to_the_new_key() {
    bump_killed_before_the_alias_moved(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bump_killed_before_rotation_repoints_and_rotates_the_new_key() {
    bump_killed_before_the_alias_moved(false).await;
}

/// The census itself can fail: a second c3 key of a generation, and a policy
/// version repeating another's document (reformatted), are both found.
#[tokio::test(flavor = "multi_thread")]
async fn the_census_sees_a_second_key_and_a_repeated_policy_version() {
    let account = fresh_account();
    let region = REGIONS[0];
    let text = one_key_config(&account, region);
    let config = Config::new(&text);
    apply_in_background(&config).await;
    let clean = census(
        std::slice::from_ref(&account),
        &[region],
        &[("payments", &[1])],
        180,
    )
    .await;
    assert!(clean.problems.is_empty(), "{:#?}", clean.problems);

    leave_key(&text, "payments", &Target::new(&account, region), true).await;
    let iam = iam(&account).await;
    let arn = format!("arn:aws:iam::{account}:policy/allow-decrypt-payments");
    let v1 = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .expect("GetPolicyVersion");
    let doc: serde_json::Value = serde_json::from_str(&decode_document(
        v1.policy_version()
            .and_then(|v| v.document())
            .unwrap_or_default(),
    ))
    .expect("JSON");
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(serde_json::to_string(&doc).expect("JSON"))
        .set_as_default(false)
        .send()
        .await
        .expect("CreatePolicyVersion");

    let dirty = census(
        std::slice::from_ref(&account),
        &[region],
        &[("payments", &[1])],
        180,
    )
    .await;
    assert_eq!(dirty.duplicate_versions, 1, "{:#?}", dirty.problems);
    assert!(
        dirty
            .problems
            .iter()
            .any(|p| p.contains("2 c3 keys of payments generation 1")),
        "{:#?}",
        dirty.problems
    );
}
