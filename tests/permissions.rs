//! examples/iam/c3-plan.json and c3-apply.json against the calls c3
//! actually makes, from the emulator's request log, counted around each c3
//! run only (what the test does by hand to make drift is left out):
//!
//! - actions, both ways: every call is allowed, every allowed action is used;
//! - resources of IAM writes: each write of the apply runs is on one of c3's
//!   own policies (`allow-{encrypt,decrypt,crypto}-<name>` under the test's
//!   `policy_path = "/c3/"`), an Allow statement of c3-apply.json that lists
//!   the action has a Resource pattern matching it, and no Deny statement
//!   matches it; and those Allow statements match no other policy.
//!
//! Conditions (`aws:RequestTag`, `aws:ResourceTag`) are not evaluated: the
//! emulator does not evaluate policies.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_kms::types::Tag;

use crate::e2e::{account_block, c3, iam, key_behind, key_policy, kms, Config};
use crate::support::{emulator, fresh_account, Request};

const R1: &str = "eu-west-1";
/// The `policy_path` of the test's keys.toml, and the path c3-apply.json's
/// IAM writes are scoped to.
const POLICY_PATH: &str = "/c3/";
/// The names c3 gives its managed policies: `<prefix><key name>`.
const POLICY_PREFIXES: [&str; 7] = [
    "allow-encrypt-",
    "allow-decrypt-",
    "allow-crypto-",
    "allow-sign-",
    "allow-verify-",
    "allow-mac-",
    "allow-verify-mac-",
];
/// The second region of the account (the replica of the multi-Region key).
const R2: &str = "eu-central-1";

/// One statement of a policy file, with `Action` and `Resource` as lists.
#[derive(Debug)]
struct Statement {
    sid: String,
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
}

impl Statement {
    /// Whether the statement applies to `action` on `resource` (IAM's
    /// matching: actions case-insensitively, both with `*` and `?`).
    fn covers(&self, action: &str, resource: &str) -> bool {
        self.lists(action)
            && self
                .resources
                .iter()
                .any(|pattern| wildcard_match(pattern, resource))
    }

    /// Whether the statement's `Action` matches `action`.
    fn lists(&self, action: &str) -> bool {
        self.actions.iter().any(|pattern| {
            wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
        })
    }
}

/// The statements of examples/iam/`file`.
fn statements(file: &str) -> Vec<Statement> {
    let path = format!("{}/examples/iam/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("policy file")).expect("JSON");
    assert_eq!(doc["Version"], "2012-10-17", "{file}");
    let list = |s: &serde_json::Value, field: &str| -> Vec<String> {
        match &s[field] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .map(|a| a.as_str().expect("a string").to_string())
                .collect(),
            other => panic!("{file}: {field} is neither a string nor a list: {other}"),
        }
    };
    doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            // This test reads only these forms: anything else would be misread.
            for field in ["NotAction", "NotResource", "NotPrincipal", "Principal"] {
                assert!(
                    s.get(field).is_none(),
                    "{file}: {field} is not checked here"
                );
            }
            let effect = s["Effect"].as_str().expect("Effect");
            assert!(
                effect == "Allow" || effect == "Deny",
                "{file}: Effect {effect}"
            );
            Statement {
                sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                allow: effect == "Allow",
                actions: list(s, "Action"),
                resources: list(s, "Resource"),
            }
        })
        .collect()
}

/// Allowed actions of a policy file (its `Allow` statements).
fn allowed(file: &str) -> BTreeSet<String> {
    statements(file)
        .into_iter()
        .filter(|s| s.allow)
        .flat_map(|s| s.actions)
        .collect()
}

/// IAM's wildcard match of an ARN or action: `*` any run (`/` included),
/// `?` exactly one character; everything else literally.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more character.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Every call the emulator logged in `account`, in order.
fn requests(account: &str) -> Vec<Request> {
    emulator().requests(account)
}

/// `service:Operation` of a call.
fn action(r: &Request) -> String {
    format!("{}:{}", r.service, r.operation)
}

/// Runs c3 and returns the calls it made in `account`. The log of a fresh
/// account only grows, and nothing else calls in it while c3 runs.
fn traced(account: &str, config: &Config, args: &[&str]) -> Vec<Request> {
    let before = requests(account).len();
    let run = c3(&config.path, args);
    assert!(run.code == 0 || run.code == 2, "{args:?}: {run:?}");
    requests(account).split_off(before)
}

/// An IAM call that is no read (not `Get*`/`List*`).
fn is_iam_write(r: &Request) -> bool {
    r.service == "iam" && !r.operation.starts_with("Get") && !r.operation.starts_with("List")
}

/// The policy ARN an IAM write is on: for CreatePolicy the one it creates,
/// else its `PolicyArn` parameter.
fn written_policy(account: &str, r: &Request) -> String {
    if r.operation == "CreatePolicy" {
        let name = r.param("PolicyName").unwrap_or_else(|| panic!("{r:?}"));
        format!(
            "arn:aws:iam::{account}:policy{}{name}",
            r.param("Path").unwrap_or("/")
        )
    } else {
        r.param("PolicyArn")
            .unwrap_or_else(|| panic!("no PolicyArn in {r:?}"))
            .to_string()
    }
}

/// Whether `arn` is one of c3's policies under [`POLICY_PATH`] in `account`.
fn is_c3_policy(account: &str, arn: &str) -> bool {
    arn.strip_prefix(&format!("arn:aws:iam::{account}:policy{POLICY_PATH}"))
        .and_then(|name| {
            POLICY_PREFIXES
                .iter()
                .find_map(|prefix| name.strip_prefix(prefix))
        })
        .is_some_and(|key| !key.is_empty() && !key.contains('/'))
}

/// Panics unless the policy file allows `action` on `resource` (an Allow
/// statement lists the action with a matching Resource) and denies neither.
fn assert_allowed(file: &str, statements: &[Statement], action: &str, resource: &str) {
    let allows: Vec<&str> = statements
        .iter()
        .filter(|s| s.allow && s.covers(action, resource))
        .map(|s| s.sid.as_str())
        .collect();
    let denies: Vec<&str> = statements
        .iter()
        .filter(|s| !s.allow && s.covers(action, resource))
        .map(|s| s.sid.as_str())
        .collect();
    assert!(
        !allows.is_empty(),
        "{file}: no Allow statement lists {action} with a Resource matching {resource}"
    );
    assert!(
        denies.is_empty(),
        "{file}: {denies:?} deny {action} on {resource}"
    );
}

fn config_text(account: &str, keys: &[(&str, u32, &str)]) -> String {
    let mut text = format!(
        "version = 1\n\n[settings]\npolicy_path = \"{POLICY_PATH}\"\n\n{}[classifications.confidential]\nrotation_days = 180\nservice_principals = [\"logs\"]\n\n",
        account_block("prod", account, &[R1, R2])
    );
    for (name, generation, description) in keys {
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nclassification = \"confidential\"\ngeneration = {generation}\ndescription = \"{description}\"\nregions = [\"{R1}\"]\n\n"
        ));
    }
    text
}

#[test]
fn wildcard_match_is_iams() {
    assert!(wildcard_match("*", ""));
    assert!(wildcard_match(
        "arn:aws:iam::*:policy/c3/allow-encrypt-*",
        "arn:aws:iam::123456789012:policy/c3/allow-encrypt-data"
    ));
    assert!(wildcard_match("a*c*e", "abcde"));
    assert!(wildcard_match("a?c", "abc"));
    assert!(!wildcard_match("a?c", "ac"));
    assert!(!wildcard_match(
        "arn:aws:iam::*:policy/c3/allow-encrypt-*",
        "arn:aws:iam::123456789012:policy/allow-encrypt-data"
    ));
    assert!(!wildcard_match("abc", "abcd"));
    assert!(wildcard_match("ab*", "ab"));
}

#[tokio::test(flavor = "multi_thread")]
async fn example_policies_allow_exactly_what_c3_calls() {
    let account = fresh_account();
    let config = Arc::new(Config::new(&config_text(
        &account,
        &[("data", 1, "Data"), ("old", 1, "Old")],
    )));
    let mut plan_calls: Vec<Request> = Vec::new();
    let mut apply_calls: Vec<Request> = Vec::new();
    // plan, apply, plan: the actions of the plans and of the apply
    let cycle = |account: String, config: Arc<Config>| {
        tokio::task::spawn_blocking(move || {
            let p = traced(&account, &config, &["plan"]);
            let ap = traced(&account, &config, &["apply", "--auto-approve"]);
            let p2 = traced(&account, &config, &["plan"]);
            (p, ap, p2)
        })
    };
    // 1. an empty account
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_calls.extend(p);
    plan_calls.extend(p2);
    apply_calls.extend(ap);

    // 2. drift by hand: deletion scheduled, a statement removed, a tag changed.
    let kms = kms(&account, R1).await;
    let id = key_behind(&kms, "alias/data").await;
    let mut policy = key_policy(&kms, &id).await;
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .retain(|s| s["Sid"] != "AllowServiceLogs");
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutKeyPolicy");
    kms.tag_resource()
        .key_id(&id)
        .tags(
            Tag::builder()
                .tag_key("c3:classification")
                .tag_value("x")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagResource");
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    // 3. the file changes: "old" is dropped (its resources become reported
    //    orphans) and "data" gets a new description.
    config.rewrite(&config_text(&account, &[("data", 1, "Data, described")]));
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_calls.extend(p);
    plan_calls.extend(p2);
    apply_calls.extend(ap);

    // 4. four more versions of a managed policy by hand, then generation 2:
    //    the update must prune the oldest version first.
    let iam = iam(&account).await;
    let arn = format!("arn:aws:iam::{account}:policy{POLICY_PATH}allow-encrypt-data");
    let doc = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .expect("GetPolicyVersion");
    let text = doc
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default()
        .to_string();
    let text = if text.starts_with('{') {
        text
    } else {
        percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned()
    };
    for _ in 0..4 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(&text)
            .set_as_default(true)
            .send()
            .await
            .expect("CreatePolicyVersion");
    }

    config.rewrite(&config_text(&account, &[("data", 2, "Data, described")]));
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_calls.extend(p);
    plan_calls.extend(p2);
    apply_calls.extend(ap);

    // 5. a brownfield key and one of its managed policies, made by hand
    //    without c3's tags, which the file adopts (TagResource, GetPolicy,
    //    TagPolicy), then updates.
    let made = kms
        .create_key()
        .description("Legacy")
        .send()
        .await
        .expect("CreateKey");
    let legacy = made.key_metadata().expect("metadata").key_id().to_string();
    kms.create_alias()
        .alias_name("alias/legacy")
        .target_key_id(&legacy)
        .send()
        .await
        .expect("CreateAlias");
    iam.create_policy()
        .policy_name("allow-decrypt-legacy")
        .path(POLICY_PATH)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("CreatePolicy");
    let mut text = config_text(&account, &[("data", 2, "Data, described")]);
    text.push_str(
        "[[keys]]\nname = \"legacy\"\nclassification = \"confidential\"\ndescription = \"Legacy\"\nadopt = true\nregions = [\"eu-west-1\"]\n\n",
    );
    config.rewrite(&text);
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_calls.extend(p);
    plan_calls.extend(p2);
    apply_calls.extend(ap);

    // 6. a multi-Region signing key: CreateKey in R1, ReplicateKey into R2,
    //    allow-sign-release and allow-verify-release.
    text.push_str(
        "[[keys]]\nname = \"release\"\nclassification = \"signing\"\nmulti_region = true\n",
    );
    text.push_str(
        "\n[classifications.signing]\nkey_spec = \"ECC_NIST_P256\"\nkey_usage = \"SIGN_VERIFY\"\n",
    );
    config.rewrite(&text);
    let (p, ap, p2) = cycle(account.clone(), config.clone()).await.expect("join");
    plan_calls.extend(p);
    plan_calls.extend(p2);
    apply_calls.extend(ap);

    let plan_actions: BTreeSet<String> = plan_calls.iter().map(action).collect();
    let apply_actions: BTreeSet<String> = apply_calls.iter().map(action).collect();
    // CreateKey and CreatePolicy are called with tags: they need these too.
    let mut needed_by_apply = apply_actions.clone();
    if apply_actions.contains("kms:CreateKey") || apply_actions.contains("kms:ReplicateKey") {
        needed_by_apply.insert("kms:TagResource".into());
    }
    if apply_actions.contains("iam:CreatePolicy") {
        needed_by_apply.insert("iam:TagPolicy".into());
    }

    let plan_file = allowed("c3-plan.json");
    let apply_file = allowed("c3-apply.json");
    assert_eq!(
        plan_actions, plan_file,
        "c3 plan's calls (left) vs examples/iam/c3-plan.json (right)"
    );
    assert_eq!(
        needed_by_apply, apply_file,
        "c3 apply's calls (left) vs examples/iam/c3-apply.json (right)"
    );
    // Nothing destructive is allowed by either file.
    for action in plan_file.iter().chain(&apply_file) {
        for verb in [
            "Delete", "Disable", "Untag", "Schedule", "Detach", "Revoke", "Retire",
        ] {
            let op = action.split(':').nth(1).unwrap_or_default();
            assert!(
                !op.starts_with(verb) || action == "iam:DeletePolicyVersion",
                "{action} is allowed"
            );
        }
    }

    // The IAM writes: only on c3's own policies, each allowed on its resource.
    let apply_file = statements("c3-apply.json");
    let writes: Vec<&Request> = apply_calls.iter().filter(|r| is_iam_write(r)).collect();
    let written: BTreeSet<String> = writes.iter().map(|r| r.operation.clone()).collect();
    assert_eq!(
        written,
        BTreeSet::from(
            [
                "CreatePolicy",
                "CreatePolicyVersion",
                "DeletePolicyVersion",
                "TagPolicy"
            ]
            .map(String::from)
        ),
        "the run goes through every kind of IAM write: {writes:#?}"
    );
    for r in &writes {
        let arn = written_policy(&account, r);
        assert!(
            is_c3_policy(&account, &arn),
            "{} on {arn}: not one of c3's policies under {POLICY_PATH}",
            r.operation
        );
        assert_allowed("c3-apply.json", &apply_file, &action(r), &arn);
        if r.operation == "CreatePolicy" {
            // Called with tags: IAM authorizes TagPolicy on the new policy too.
            assert_allowed("c3-apply.json", &apply_file, "iam:TagPolicy", &arn);
        }
    }
    assert!(
        plan_calls.iter().all(|r| !is_iam_write(r)),
        "plan wrote to IAM: {plan_calls:#?}"
    );

    // And the file allows IAM writes on nothing else: not at another path,
    // not under another name, not in another partition.
    let elsewhere = [
        format!("arn:aws:iam::{account}:policy/allow-encrypt-data"),
        format!("arn:aws:iam::{account}:policy/c3/other/allow-encrypt-data"),
        format!("arn:aws:iam::{account}:policy/c3/admin"),
        format!("arn:aws:iam::{account}:policy/c3/allow-everything"),
        format!("arn:aws:iam::{account}:role/c3/allow-encrypt-data"),
        format!("arn:aws-cn:iam::{account}:policy/c3/allow-encrypt-data"),
    ];
    for operation in [
        "CreatePolicy",
        "CreatePolicyVersion",
        "DeletePolicyVersion",
        "TagPolicy",
    ] {
        let action = format!("iam:{operation}");
        for arn in &elsewhere {
            let allows: Vec<&str> = apply_file
                .iter()
                .filter(|s| s.allow && s.covers(&action, arn))
                .map(|s| s.sid.as_str())
                .collect();
            assert!(allows.is_empty(), "{allows:?} allow {action} on {arn}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_policy_allows_exactly_what_c3_audit_calls() {
    let account = fresh_account();
    let seed = crate::support::estates::Seed::new(&account, R1).await;
    let console = crate::support::estates::CONSOLE_KEY_POLICY.replace("ACCOUNT", &account);
    // A key c3 manages (apply makes it), one nobody manages, one with rotation on.
    let config = Arc::new(Config::new(&config_text(&account, &[("data", 1, "Data")])));
    let (other, _) = seed.key("made by hand", &console, &[], false).await;
    seed.rotate(&other, 365).await;
    let calls = tokio::task::spawn_blocking(move || {
        let _ = traced(&account, &config, &["apply", "--auto-approve"]);
        traced(&account, &config, &["audit"])
    })
    .await
    .expect("join");
    let audit_actions: BTreeSet<String> = calls.iter().map(action).collect();
    assert_eq!(
        audit_actions,
        allowed("c3-audit.json"),
        "c3 audit's calls (left) vs examples/iam/c3-audit.json (right)"
    );
}

/// examples/iam/c3-org-read.json against the calls of account discovery in
/// the management account, both ways: from the root with a tag filter
/// (ListRoots, ListTagsForResource), and from an OU.
#[tokio::test(flavor = "multi_thread")]
async fn org_read_policy_allows_exactly_what_discovery_calls() {
    use crate::e2e::rollout::Org;
    let org = Org::new().await;
    let ou = org.ou(&org.root, "Workloads").await;
    let sub = org.ou(&ou, "Team").await;
    org.account(&ou, "One", &[("c3", "enabled")]).await;
    org.account(&sub, "Two", &[("c3", "enabled")]).await;
    let rollout = "[rollout]\nwaves = [[\"*\"]]\n\n";
    let keys =
        "[classifications.internal]\n\n[[keys]]\nname = \"data\"\nclassification = \"internal\"\n";
    let from_root = org
        .block(&[])
        .replace("parents = []", "root = true\ntags = { c3 = \"enabled\" }");
    let from_ou = org.block(&[&ou]);
    let mut calls = Vec::new();
    for block in [from_root, from_ou] {
        let config = Config::new(&format!("version = 1\n\n{block}{rollout}{keys}"));
        let management = org.management.clone();
        calls.extend(
            tokio::task::spawn_blocking(move || {
                traced(&management, &config, &["plan", "--show-waves"])
            })
            .await
            .expect("join"),
        );
    }
    let called: BTreeSet<String> = calls.iter().map(action).collect();
    assert_eq!(
        called,
        allowed("c3-org-read.json"),
        "discovery's calls in the management account (left) vs examples/iam/c3-org-read.json (right)"
    );
    let file = statements("c3-org-read.json");
    for r in &calls {
        assert_allowed("c3-org-read.json", &file, &action(r), "*");
    }
}
