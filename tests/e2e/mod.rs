//! Helpers for end-to-end tests: keys.toml files for fresh accounts, running
//! the c3 binary against the shared emulator, and SDK clients to seed or
//! inspect an account by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use c3::render::json::PlanDocument;

use crate::support::{self, emulator};

pub mod adopt;
pub mod apply;
pub mod audit;
pub mod crash;
pub mod drift_job;
pub mod errors;
pub mod failure;
pub mod faults;
pub mod import;
pub mod key_types;
pub mod ownership;
pub mod plan;
pub mod policy_content;
pub mod rollout;
pub mod show;

/// A keys.toml in a temp dir.
pub struct Config {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Config {
    /// Writes `text` as keys.toml.
    pub fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.toml");
        std::fs::write(&path, text).expect("write keys.toml");
        Self { _dir: dir, path }
    }

    /// Replaces the file's text.
    pub fn rewrite(&self, text: &str) {
        std::fs::write(&self.path, text).expect("rewrite keys.toml");
    }

    /// A path in the same temp dir.
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.path.with_file_name(name)
    }
}

/// What a c3 run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs c3 with `args` then `-c <config>`.
pub fn c3(config: &Path, args: &[&str]) -> Run {
    c3_at(&emulator().endpoint(), config, args)
}

/// Runs c3 against the emulator at `endpoint` (such as a test's own) with `args` then `-c <config>`.
pub fn c3_at(endpoint: &str, config: &Path, args: &[&str]) -> Run {
    let mut command = support::c3_command_at(endpoint);
    command
        .args(args)
        .arg("-c")
        .arg(config)
        .stdin(std::process::Stdio::null());
    let r = finish(command.output().expect("run c3"));
    support::validate_emitted_plans(&command, &r.stdout);
    r
}

/// `c3 plan --output json`, parsed into the typed document.
pub fn plan_json(config: &Path) -> (Run, PlanDocument) {
    let run = c3(config, &["plan", "--output", "json"]);
    let doc: PlanDocument = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("plan output is not the JSON document ({e}):\n{run:?}"));
    (run, doc)
}

/// `c3 apply --auto-approve`; asserts it succeeded.
pub fn apply_ok(config: &Path) -> Run {
    let run = c3(config, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "apply failed:\n{run:?}");
    run
}

/// [`apply_ok`] from an async test, off the runtime's threads.
pub async fn apply_in_background(config: &Config) -> Run {
    let path = config.path.clone();
    tokio::task::spawn_blocking(move || apply_ok(&path))
        .await
        .expect("join")
}

/// An SDK config for an account on the shared emulator.
pub async fn sdk(account: &str, region: &str) -> aws_config::SdkConfig {
    support::sdk_config(&emulator().endpoint(), account, region).await
}

/// A KMS client in an account and region.
pub async fn kms(account: &str, region: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk(account, region).await)
}

/// An IAM client in an account.
pub async fn iam(account: &str) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk(account, "us-east-1").await)
}

/// The account block of a keys.toml for a fresh account reached by AssumeRole.
pub fn account_block(name: &str, id: &str, regions: &[&str]) -> String {
    let regions: Vec<String> = regions.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "[accounts.{name}]\nid = \"{id}\"\nrole_arn = \"arn:aws:iam::{id}:role/c3\"\nregions = [{}]\n\n",
        regions.join(", ")
    )
}

/// One account, one region, one key named `payments` of class `confidential`.
pub fn one_key_config(account: &str, region: &str) -> String {
    format!(
        "version = 1\n\n{}[classifications.confidential]\nrotation_days = 180\nvia_services = [\"secretsmanager\"]\nservice_principals = [\"logs\"]\n\n[[keys]]\nname = \"payments\"\nclassification = \"confidential\"\ntags = {{ team = \"payments\" }}\n",
        account_block("prod", account, &[region])
    )
}

/// The key id behind an alias.
pub async fn key_behind(kms: &aws_sdk_kms::Client, alias: &str) -> String {
    kms.describe_key()
        .key_id(alias)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_string()
}

/// The key policy text of a key.
pub async fn key_policy(kms: &aws_sdk_kms::Client, key_id: &str) -> serde_json::Value {
    let text = kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy")
        .policy()
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&text).expect("policy JSON")
}

/// (resource, action, executable) of every change, sorted.
pub fn rows(doc: &PlanDocument) -> Vec<(String, String, bool)> {
    let mut rows: Vec<(String, String, bool)> = doc
        .changes
        .iter()
        .map(|c| {
            (
                c.resource.to_string(),
                c.action().to_string(),
                c.executable(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Every operation the emulator saw in an account.
pub fn operations(account: &str) -> BTreeMap<String, usize> {
    let mut ops = BTreeMap::new();
    for r in emulator().requests(account) {
        *ops.entry(r.operation).or_insert(0) += 1;
    }
    ops
}

/// The default version of a managed policy and its document (decoded).
pub async fn default_policy_document(iam: &aws_sdk_iam::Client, arn: &str) -> (String, String) {
    let policy = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .expect("GetPolicy");
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .expect("default version")
        .to_string();
    let document = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version)
        .send()
        .await
        .expect("GetPolicyVersion")
        .policy_version()
        .and_then(|v| v.document())
        .map(|d| c3::live::iam::decode_document("GetPolicyVersion", d).expect("decode"))
        .expect("document");
    (version, document)
}

/// A policy document as the API returned it, decoded (IAM returns documents
/// URL-encoded; some emulators raw).
pub fn decode_document(text: &str) -> String {
    c3::live::iam::decode_document("test", text).expect("a UTF-8 document")
}
