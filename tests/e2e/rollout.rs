//! `[organization]` and `[rollout]` against the emulator: an organization
//! made the way its administrators make one (CreateOrganization, OUs,
//! CreateAccount, MoveAccount, TagResource, CloseAccount), discovered by c3
//! through a role in its management account, then rolled out in waves.
//! Wave order and concurrency are read from the emulator's request log
//! (each call's start and end).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::Tag;
use aws_sdk_organizations::Client;

use super::{c3, sdk, Config};
use crate::support::{emulator, fresh_account, Request};

const REGION: &str = "eu-west-1";

/// The writes c3 makes in an account (what "gets no write" looks for).
const WRITES: &[&str] = &[
    "CreateKey",
    "CreateAlias",
    "UpdateAlias",
    "PutKeyPolicy",
    "TagResource",
    "EnableKeyRotation",
    "CreatePolicy",
    "CreatePolicyVersion",
    "TagPolicy",
];

/// An organization in a fresh management account.
pub struct Org {
    pub management: String,
    client: Client,
    pub root: String,
}

/// One member account as created.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub name: String,
}

impl Org {
    pub async fn new() -> Self {
        let management = fresh_account();
        let client = Client::new(&sdk(&management, "us-east-1").await);
        client
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .expect("CreateOrganization");
        let roots = client.list_roots().send().await.expect("ListRoots");
        let root = roots.roots()[0].id().expect("root id").to_string();
        Self {
            management,
            client,
            root,
        }
    }

    pub async fn ou(&self, parent: &str, name: &str) -> String {
        self.client
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .expect("CreateOrganizationalUnit")
            .organizational_unit()
            .and_then(|o| o.id())
            .expect("OU id")
            .to_string()
    }

    /// CreateAccount, then MoveAccount from the root into `parent` and TagResource.
    pub async fn account(&self, parent: &str, name: &str, tags: &[(&str, &str)]) -> Member {
        let out = self
            .client
            .create_account()
            .account_name(name)
            .email(format!("{}@example.com", name.replace(' ', ".")))
            .send()
            .await
            .expect("CreateAccount");
        let id = out
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("account id")
            .to_string();
        if parent != self.root {
            self.client
                .move_account()
                .account_id(&id)
                .source_parent_id(&self.root)
                .destination_parent_id(parent)
                .send()
                .await
                .expect("MoveAccount");
        }
        if !tags.is_empty() {
            let tags: Vec<Tag> = tags
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag"))
                .collect();
            self.client
                .tag_resource()
                .resource_id(&id)
                .set_tags(Some(tags))
                .send()
                .await
                .expect("TagResource");
        }
        Member {
            id,
            name: name.to_string(),
        }
    }

    async fn close(&self, id: &str) {
        self.client
            .close_account()
            .account_id(id)
            .send()
            .await
            .expect("CloseAccount");
    }

    /// `[organization]` reading through a role in the management account.
    pub fn block(&self, parents: &[&str]) -> String {
        let parents: Vec<String> = parents.iter().map(|p| format!("{p:?}")).collect();
        format!(
            "[organization]\nrole_arn = \"arn:aws:iam::{}:role/c3-org-read\"\nparents = [{}]\nrole_name = \"c3\"\nregions = [\"{REGION}\"]\n\n",
            self.management,
            parents.join(", ")
        )
    }
}

fn keys_toml(organization: &str, rollout: &str) -> String {
    format!(
        "version = 1\n\n{organization}{rollout}[classifications.internal]\n\n[[keys]]\nname = \"payments\"\nclassification = \"internal\"\n"
    )
}

fn rollout_block(waves: &str, max: usize, tolerance: usize) -> String {
    format!(
        "[rollout]\nwaves = {waves}\nmax_concurrent_accounts = {max}\nfailure_tolerance = {tolerance}\n\n"
    )
}

/// The write calls c3 made in `account`.
fn writes(account: &str) -> Vec<Request> {
    emulator()
        .requests(account)
        .into_iter()
        .filter(|r| WRITES.contains(&r.operation.as_str()))
        .collect()
}

/// (first start, last end) of the writes in `account`.
fn write_span(account: &str) -> Option<(u64, u64)> {
    let w = writes(account);
    let start = w.iter().map(|r| r.micros.0).min()?;
    let end = w.iter().map(|r| r.micros.1).max()?;
    Some((start, end))
}

/// The most spans open at one instant.
fn most_at_once(spans: &[(u64, u64)]) -> usize {
    let mut events: Vec<(u64, i32)> = spans
        .iter()
        .flat_map(|(s, e)| [(*s, 1), (*e, -1)])
        .collect();
    // At the same instant an end comes before a start.
    events.sort_unstable();
    let (mut open, mut most) = (0_i32, 0_i32);
    for (_, d) in events {
        open += d;
        most = most.max(open);
    }
    usize::try_from(most).unwrap_or(0)
}

/// 30 ACTIVE accounts in OUs A, B and C (C inside B), tagged; one suspended
/// account in A; the management account at the root.
struct Estate {
    org: Org,
    a: String,
    b: String,
    c: String,
    members: Vec<(Member, Vec<String>)>,
    suspended: Member,
}

async fn estate_of_30() -> Estate {
    let org = Org::new().await;
    let a = org.ou(&org.root, "A").await;
    let b = org.ou(&org.root, "B").await;
    let c = org.ou(&b, "C").await;
    let mut members = Vec::new();
    for (ou, path, letter) in [
        (&a, vec![a.clone()], "A"),
        (&b, vec![b.clone()], "B"),
        (&c, vec![b.clone(), c.clone()], "C"),
    ] {
        for n in 1..=10 {
            let env = if n % 2 == 0 { "prod" } else { "dev" };
            let m = org
                .account(
                    ou,
                    &format!("Team {letter} {n:02}"),
                    &[("env", env), ("c3", "enabled")],
                )
                .await;
            members.push((m, path.clone()));
        }
    }
    let suspended = org.account(&a, "Team A Closed", &[("c3", "enabled")]).await;
    org.close(&suspended.id).await;
    Estate {
        org,
        a,
        b,
        c,
        members,
        suspended,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_of_30_accounts_is_discovered_exactly() {
    let e = estate_of_30().await;
    let config = Config::new(&keys_toml(&e.org.block(&[&e.a, &e.b]), ""));
    let path = config.path.clone();
    let (run, doc) = tokio::task::spawn_blocking(move || {
        let run = c3(&path, &["plan", "--output", "json"]);
        let doc: c3::render::json::PlanDocument =
            serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {run:?}"));
        (run, doc)
    })
    .await
    .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    let view = doc.rollout.expect("the plan shows the discovered accounts");
    let got: BTreeMap<String, (String, String, Vec<String>)> = view
        .discovered
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                (d.name.clone(), d.org_name.clone(), d.ous.clone()),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, String, Vec<String>)> = e
        .members
        .iter()
        .map(|(m, path)| {
            let slug = m.name.to_lowercase().replace(' ', "-");
            (m.id.clone(), (slug, m.name.clone(), path.clone()))
        })
        .collect();
    assert_eq!(got, want);
    assert!(!got.contains_key(&e.suspended.id));
    assert!(
        run.stderr
            .contains(&format!("{} (Team A Closed, SUSPENDED)", e.suspended.id)),
        "{run:?}"
    );
    // Every discovered account is planned: its key is to be created.
    let planned: BTreeSet<&str> = doc.changes.iter().map(|c| c.account.as_str()).collect();
    assert_eq!(planned.len(), 30);
    // The listings were made in the management account, through its role:
    // per parent and sub-OU (A, B, C) one page of accounts and one of OUs.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in emulator().requests(&e.org.management) {
        if r.service == "organizations" && r.operation.starts_with("List") {
            *counts.entry(r.operation).or_default() += 1;
        }
    }
    assert_eq!(
        counts,
        BTreeMap::from([
            ("ListAccountsForParent".to_string(), 3),
            ("ListOrganizationalUnitsForParent".to_string(), 3),
            // The seeding's own ListRoots.
            ("ListRoots".to_string(), 1),
        ])
    );
    let ops: BTreeSet<String> = emulator()
        .requests(&e.org.management)
        .into_iter()
        .map(|r| r.operation)
        .collect();
    assert!(ops.contains("ListAccountsForParent"), "{ops:?}");
    assert!(ops.contains("ListOrganizationalUnitsForParent"), "{ops:?}");
    // No tag filter and no tag: selector: no tag is read.
    assert!(!ops.contains("ListTagsForResource"), "{ops:?}");

    // With a tag filter, only the tagged accounts join, and their tags are read.
    let tagged = e
        .org
        .block(&[&e.a, &e.b])
        .replace("role_name", "tags = { env = \"prod\" }\nrole_name");
    config.rewrite(&keys_toml(&tagged, ""));
    let path = config.path.clone();
    let run = tokio::task::spawn_blocking(move || c3(&path, &["plan", "--output", "json"]))
        .await
        .expect("join");
    let doc: c3::render::json::PlanDocument = serde_json::from_str(&run.stdout).expect("json");
    let ids: BTreeSet<String> = doc
        .rollout
        .expect("rollout")
        .discovered
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids.len(), 15);
    let nested = &e.members[29].0; // Team C 10: prod, in C inside B
    assert!(ids.contains(&nested.id));
    let _ = &e.c;
}

/// canary at the root, four accounts in A, four in B.
struct Small {
    org: Org,
    ou_a: String,
    a: Vec<Member>,
    b: Vec<Member>,
    canary: Member,
}

async fn small_estate() -> Small {
    let org = Org::new().await;
    let ou_a = org.ou(&org.root, "A").await;
    let ou_b = org.ou(&org.root, "B").await;
    let canary = org.account(&org.root, "Canary", &[]).await;
    let mut a = Vec::new();
    let mut b = Vec::new();
    for n in 1..=4 {
        a.push(org.account(&ou_a, &format!("A {n}"), &[]).await);
        b.push(org.account(&ou_b, &format!("B {n}"), &[]).await);
    }
    Small {
        org,
        ou_a,
        a,
        b,
        canary,
    }
}

fn small_config(s: &Small, tolerance: usize) -> Config {
    let root = s.org.root.clone();
    let waves = format!("[[\"canary\"], [\"ou:{}\"], [\"*\"]]", s.ou_a);
    Config::new(&keys_toml(
        &s.org.block(&[&root]),
        &rollout_block(&waves, 2, tolerance),
    ))
}

async fn apply(config: &Config) -> super::Run {
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || c3(&path, &["apply", "--auto-approve"]))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread")]
async fn waves_apply_in_order_and_at_most_max_concurrent_accounts_at_once() {
    let s = small_estate().await;
    let config = small_config(&s, 0);
    // The waves, before anything is applied.
    let path = config.path.clone();
    let shown = tokio::task::spawn_blocking(move || c3(&path, &["plan", "--show-waves"]))
        .await
        .expect("join");
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown.stdout.contains("Wave 2 of 3: 4 account(s)"),
        "{shown:?}"
    );
    assert!(
        shown.stdout.contains(&format!("canary ({}", s.canary.id)),
        "{shown:?}"
    );
    let run = apply(&config).await;
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "| 1 | 1 | 1 | 0 | 0 | converged |",
        "| 2 | 4 | 4 | 0 | 0 | converged |",
        "| 3 | 5 | 5 | 0 | 0 | converged |",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{run:?}");
    }
    let span = |m: &Member| write_span(&m.id).unwrap_or_else(|| panic!("no write in {}", m.name));
    let canary = span(&s.canary);
    let wave2: Vec<(u64, u64)> = s.a.iter().map(span).collect();
    let wave3: Vec<(u64, u64)> = s.b.iter().map(span).collect();
    let start = |w: &[(u64, u64)]| w.iter().map(|s| s.0).min().unwrap_or(0);
    let end = |w: &[(u64, u64)]| w.iter().map(|s| s.1).max().unwrap_or(0);
    assert!(
        canary.1 < start(&wave2),
        "wave 2 started before the canary was done"
    );
    assert!(
        end(&wave2) < start(&wave3),
        "wave 3 started before wave 2 was done"
    );
    assert!(most_at_once(&wave2) <= 2, "{wave2:?}");
    assert!(most_at_once(&wave3) <= 2, "{wave3:?}");
    // Every account ends with its key.
    for m in s.a.iter().chain(&s.b).chain([&s.canary]) {
        assert_eq!(
            writes(&m.id)
                .iter()
                .filter(|r| r.operation == "CreateKey")
                .count(),
            1,
            "{}",
            m.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_account_of_wave_2_stops_the_rollout_unless_tolerated() {
    for tolerance in [0, 1] {
        let s = small_estate().await;
        let broken = &s.a[1];
        emulator().deny_assume_role(&format!("arn:aws:iam::{}:role/c3", broken.id));
        let config = small_config(&s, tolerance);
        let run = apply(&config).await;
        assert_eq!(run.code, 1, "{run:?}");
        let name = broken.name.to_lowercase().replace(' ', "-");
        assert!(
            run.stdout
                .contains(&format!("wave 2: {name} ({}): failed", broken.id)),
            "{run:?}"
        );
        assert!(
            writes(&broken.id).is_empty(),
            "the failed account got a write"
        );
        let wave3_writes: usize = s.b.iter().map(|m| writes(&m.id).len()).sum();
        if tolerance == 0 {
            assert!(
                run.stdout.contains("| 3 | 5 | 0 | 0 | 5 | not attempted |"),
                "{run:?}"
            );
            assert!(
                run.stderr.contains("the later waves are not attempted"),
                "{run:?}"
            );
            assert_eq!(wave3_writes, 0, "wave 3 was written to");
        } else {
            assert!(
                run.stdout
                    .contains("| 2 | 4 | 3 | 1 | 0 | failed within tolerance |"),
                "{run:?}"
            );
            assert!(
                run.stdout.contains("| 3 | 5 | 5 | 0 | 0 | converged |"),
                "{run:?}"
            );
            assert!(wave3_writes > 0);
        }
        // The other accounts of wave 2 were applied either way.
        for m in s.a.iter().filter(|m| m.id != broken.id) {
            assert!(!writes(&m.id).is_empty(), "{}", m.name);
        }
    }
}

async fn run_c3(config: &Config, args: &'static [&'static str]) -> super::Run {
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || c3(&path, args))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread")]
async fn waves_are_checked_again_once_the_accounts_are_discovered() {
    let s = small_estate().await;
    let root = s.org.root.clone();
    // Line 13: a selector that picks nothing; line 14: a-2 is already in wave 2 (ou:A).
    let waves = format!(
        "[\n  [\"canary\"],\n  [\"ou:{}\"],\n  [\"ou:ou-zzzz-nothere1\"],\n  [\"a-2\", \"*\"],\n]",
        s.ou_a
    );
    let text = keys_toml(&s.org.block(&[&root]), &rollout_block(&waves, 2, 0));
    assert_eq!(text.lines().nth(12), Some("  [\"ou:ou-zzzz-nothere1\"],"));
    let config = Config::new(&text);
    let run = run_c3(&config, &["plan"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let file = config.path.display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "{file}:13: rollout.waves[2][0]: wave selector \"ou:ou-zzzz-nothere1\" (wave 3) matches no declared or discovered account"
        )),
        "{run:?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "{file}:14: rollout.waves[3][0]: account `a-2` is in two waves"
        )),
        "{run:?}"
    );
    // Nothing was read in the accounts: the waves are checked first.
    assert!(emulator().requests(&s.canary.id).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discovered_account_in_no_wave_is_reported_at_the_line_of_the_waves() {
    let s = small_estate().await;
    let root = s.org.root.clone();
    let waves = format!("[[\"canary\"], [\"ou:{}\"]]", s.ou_a);
    let text = keys_toml(&s.org.block(&[&root]), &rollout_block(&waves, 2, 0));
    let line = text
        .lines()
        .position(|l| l.starts_with("waves = "))
        .expect("waves line")
        + 1;
    let config = Config::new(&text);
    let run = run_c3(&config, &["plan"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let file = config.path.display().to_string();
    assert!(
        run.stderr.contains(&format!(
            "{file}:{line}: rollout.waves: account `b-1` is in no wave"
        )),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_wave_at_a_time_with_wave_n_and_the_plan_grouped_by_wave() {
    let s = small_estate().await;
    let config = small_config(&s, 0);
    let plan = run_c3(&config, &["plan"]).await;
    assert_eq!(plan.code, 0, "{plan:?}");
    let w1 = plan
        .stdout
        .find("Wave 1 (canary): 1 account(s), Plan: 5 to create");
    let w2 = plan.stdout.find("Wave 2 (ou:");
    let w3 = plan
        .stdout
        .find("Wave 3 (*): 5 account(s), Plan: 25 to create");
    assert!(w1 < w2 && w2 < w3 && w1.is_some(), "{plan:?}");
    assert!(plan
        .stdout
        .contains("Accounts discovered from AWS Organizations (10):"));
    let doc = run_c3(&config, &["plan", "--wave", "2", "--output", "json"]).await;
    let doc: c3::render::json::PlanDocument = serde_json::from_str(&doc.stdout).expect("json");
    let planned: BTreeSet<String> = doc.changes.iter().map(|c| c.account.clone()).collect();
    let wave2: BTreeSet<String> = s.a.iter().map(|m| m.id.clone()).collect();
    assert_eq!(planned, wave2);
    let shown = doc.rollout.expect("rollout").waves;
    assert_eq!(shown.len(), 1);
    assert_eq!(
        (shown[0].wave, &shown[0].accounts),
        (2, &wave2.iter().cloned().collect())
    );
    let run = run_c3(&config, &["apply", "--auto-approve", "--wave", "1"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("| 1 | 1 | 1 | 0 | 0 | converged |"),
        "{run:?}"
    );
    assert!(
        !run.stdout.lines().any(|l| l.starts_with("| 2 |")),
        "{run:?}"
    );
    assert!(!writes(&s.canary.id).is_empty());
    for m in s.a.iter().chain(&s.b) {
        assert!(writes(&m.id).is_empty(), "{} was written to", m.name);
    }
    let bad = run_c3(&config, &["plan", "--wave", "4"]).await;
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("--wave 4: keys.toml has 3 wave(s)"),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn region_order_applies_the_regions_of_an_account_one_after_the_other() {
    let account = fresh_account();
    let text = format!(
        "version = 1\n\n{}[rollout]\nwaves = [[\"*\"]]\nregion_order = [\"eu-central-1\", \"eu-west-1\"]\n\n[classifications.internal]\n\n[[keys]]\nname = \"a\"\nclassification = \"internal\"\n\n[[keys]]\nname = \"b\"\nclassification = \"internal\"\n",
        super::account_block("prod", &account, &["eu-west-1", "eu-central-1"])
    );
    let config = Config::new(&text);
    let run = run_c3(&config, &["apply", "--auto-approve"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let kms_writes: Vec<Request> = writes(&account)
        .into_iter()
        .filter(|r| r.service == "kms")
        .collect();
    let last_central = kms_writes
        .iter()
        .filter(|r| r.region == "eu-central-1")
        .map(|r| r.micros.1)
        .max()
        .expect("writes in eu-central-1");
    let first_west = kms_writes
        .iter()
        .filter(|r| r.region == "eu-west-1")
        .map(|r| r.micros.0)
        .min()
        .expect("writes in eu-west-1");
    assert!(
        last_central < first_west,
        "eu-west-1 began before eu-central-1 was done"
    );
    // The managed policies, written last, name the keys of both regions.
    let policies: usize = writes(&account)
        .iter()
        .filter(|r| r.operation == "CreatePolicy")
        .count();
    assert_eq!(policies, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn region_order_either_way_creates_a_multi_region_key_with_its_replica() {
    for order in [
        "[\"eu-west-1\", \"eu-central-1\"]",
        "[\"eu-central-1\", \"eu-west-1\"]",
    ] {
        let account = fresh_account();
        let text = format!(
            "version = 1\n\n{}[rollout]\nwaves = [[\"*\"]]\nregion_order = {order}\n\n[classifications.internal]\n\n[[keys]]\nname = \"a\"\nclassification = \"internal\"\nmulti_region = true\nprimary_region = \"eu-west-1\"\n",
            super::account_block("prod", &account, &["eu-west-1", "eu-central-1"])
        );
        let config = Config::new(&text);
        let run = run_c3(&config, &["apply", "--auto-approve"]).await;
        assert_eq!(run.code, 0, "{order}: {run:?}");
        assert!(
            run.stdout.contains("| 1 | 1 | 1 | 0 | 0 | converged |"),
            "{order}: {run:?}"
        );
        let ops = |op: &str| {
            writes(&account)
                .iter()
                .filter(|r| r.operation == op)
                .map(|r| r.region.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ops("CreateKey"), ["eu-west-1"], "{order}");
        let replicated = emulator()
            .requests(&account)
            .into_iter()
            .filter(|r| r.operation == "ReplicateKey")
            .count();
        assert_eq!(replicated, 1, "{order}: {run:?}");
        let again = run_c3(&config, &["plan", "--detailed-exitcode"]).await;
        assert_eq!(again.code, 0, "{order}: {again:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_from_the_root_says_which_account_is_the_management_account() {
    let org = Org::new().await;
    org.account(&org.root, "One", &[]).await;
    let block = org.block(&[]).replace("parents = []", "root = true");
    let config = Config::new(&keys_toml(&block, &rollout_block("[[\"*\"]]", 2, 0)));
    let run = run_c3(&config, &["plan", "--show-waves"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("Organizations: {} (", org.management))
            && run
                .stderr
                .contains("is the management account; discovery from the root includes it"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_saved_with_wave_n_applies_wave_n_only() {
    let s = small_estate().await;
    let config = small_config(&s, 0);
    let saved = config.path.with_file_name("wave2.json");
    let saved_arg = saved.display().to_string();
    let path = config.path.clone();
    let arg = saved_arg.clone();
    let planned =
        tokio::task::spawn_blocking(move || c3(&path, &["plan", "--wave", "2", "--out", &arg]))
            .await
            .expect("join");
    assert_eq!(planned.code, 0, "{planned:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved plan")).expect("json");
    assert_eq!(doc["selection"]["wave"], 2, "{}", doc["selection"]);
    // Another wave on the command line: refused, nothing written.
    let path = config.path.clone();
    let arg = saved_arg.clone();
    let other = tokio::task::spawn_blocking(move || {
        c3(&path, &["apply", &arg, "--auto-approve", "--wave", "1"])
    })
    .await
    .expect("join");
    assert_eq!(other.code, 1, "{other:?}");
    assert!(other.stderr.contains("--wave 2"), "{other:?}");
    assert!(writes(&s.canary.id).is_empty());
    let path = config.path.clone();
    let run =
        tokio::task::spawn_blocking(move || c3(&path, &["apply", &saved_arg, "--auto-approve"]))
            .await
            .expect("join");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("| 2 | 4 | 4 | 0 | 0 | converged |"),
        "{run:?}"
    );
    assert!(writes(&s.canary.id).is_empty(), "wave 1 was written to");
    for m in &s.b {
        assert!(writes(&m.id).is_empty(), "{} was written to", m.name);
    }
    for m in &s.a {
        assert!(!writes(&m.id).is_empty(), "{} got no write", m.name);
    }
}
