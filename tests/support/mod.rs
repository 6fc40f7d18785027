//! Test harness: the local AWS emulator (moto plus our patches, `tests/emulator/`), per-test
//! accounts on it, SDK configs that land in those accounts, and a hermetic `c3` command.
//!
//! - [`emulator()`]: one server shared by the whole test process, started on first use; or, when
//!   `C3_TEST_EMULATOR_DIR` names one, the server started for the whole run (under nextest, which
//!   runs each test in a process of its own: `tests/support/nextest-emulator.sh`).
//! - [`Emulator::start_own`]: a private server for a test that needs one (stopped on drop).
//! - [`fresh_account`]: a new 12-digit account id per call. moto keeps separate state per account,
//!   so tests isolate themselves by account instead of resetting the shared server.
//! - [`sdk_config`]: an `SdkConfig` whose calls land in a given account (through STS AssumeRole).
//! - [`Emulator::requests`]: what the server was asked, per account (its request log), with the
//!   parameters that name what a call touched ([`Request::param`]).
//! - [`Emulator::deny`]: make one operation fail in one account from now on, as AWS refuses a call
//!   that the caller's policy does not allow (to test how c3 takes a refusal).
//! - [`c3_command`]: the `c3` binary with a clean environment pointing at the shared emulator.
//!
//! The emulator runs from `<repo>/.venv` (made by `scripts/emulator-venv.sh`, which
//! `scripts/test.sh` runs), or from the interpreter in `C3_EMULATOR_PYTHON`. A missing emulator
//! fails the tests that need it: it never skips them.

// Helpers for every test module; not every module uses every helper.
#![allow(dead_code)]

pub mod audit_estate;
pub mod estates;
mod selftest;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};

/// The repository root (where Cargo.toml is).
const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// Cargo's scratch directory for integration tests (`target/tmp`).
const SCRATCH: &str = env!("CARGO_TARGET_TMPDIR");
/// How long a server may take to answer `GET /moto-api/`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The account moto uses for credentials it does not know (such as `test`/`test`).
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// What c3 apply must never call (tests/emulator/forbidden_operations.txt,
/// shared with the Python checks): each deletes, disables or removes something.
pub fn forbidden_operations() -> Vec<&'static str> {
    forbidden(false)
}

/// [`forbidden_operations`] and DeletePolicyVersion, which apply calls only at IAM's
/// five-version limit: for tests whose policies never come near it.
pub fn forbidden_below_version_limit() -> Vec<&'static str> {
    forbidden(true)
}

fn forbidden(all_of_them: bool) -> Vec<&'static str> {
    include_str!("../emulator/forbidden_operations.txt")
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split('#').next()?.split_whitespace().collect();
            match words.as_slice() {
                [op] => Some(*op),
                [op, _] if all_of_them => Some(*op),
                _ => None,
            }
        })
        .collect()
}

/// The role [`sdk_config`] assumes in each account (moto accepts any role; none is created).
pub const TEST_ROLE: &str = "c3-test";

/// A running emulator: its endpoint and its request log.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    port: u16,
    log: PathBuf,
    output: PathBuf,
    pid: u32,
}

/// One AWS API call the emulator received (a line of its request log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `kms`, `iam` or `sts` (the SigV4 credential scope's service).
    pub service: String,
    /// The operation, such as `CreateKey` or `GetPolicyVersion`.
    pub operation: String,
    /// The SigV4 credential scope's region (IAM calls carry the client's region too).
    pub region: String,
    /// The HTTP status of the response.
    pub status: Option<u16>,
    /// The request's parameters that name what it touched, as strings, when it carries them:
    /// `PolicyArn`, `PolicyName`, `Path`, `VersionId`, `KeyId`, `AliasName`, `TargetKeyId`,
    /// `GrantId`, `RoleArn` (see tests/emulator/README.md); empty when it carries none.
    pub params: BTreeMap<String, String>,
    /// When the server received the call and when it answered it, in microseconds since the
    /// epoch (the log's `start` and `end`).
    pub micros: (u64, u64),
}

impl Request {
    /// The value of parameter `name` (one of those in [`Request::params`]), if the call carried it.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Names the directory of a server started for the whole test run (by
/// `tests/support/nextest-emulator.sh`): its `port`, `pid`, `requests.jsonl` and `server.out`.
pub const RUN_EMULATOR_DIR: &str = "C3_TEST_EMULATOR_DIR";

/// The emulator shared by every test of this process: the run's server when
/// [`RUN_EMULATOR_DIR`] names one (nextest's setup script), else one started on first use that
/// stops by itself when this process exits (the launcher watches our pid).
///
/// Panics, telling to run `scripts/test.sh`, when the emulator's venv is missing or the server
/// does not come up (or the run's server does not answer).
pub fn emulator() -> &'static Emulator {
    static SHARED: OnceLock<Result<Emulator, String>> = OnceLock::new();
    let started = SHARED.get_or_init(|| {
        if let Some(dir) = std::env::var_os(RUN_EMULATOR_DIR) {
            return Emulator::of_run(Path::new(&dir));
        }
        let dir = scratch_dir("shared")?;
        // The shared server outlives every handle: forget the child, keep its directory.
        Emulator::spawn(&dir.keep()).map(|(emulator, _child)| emulator)
    });
    match started {
        Ok(emulator) => emulator,
        Err(message) => panic!("{message}"),
    }
}

/// A server of a test's own; dropping it kills the server and waits for it.
#[derive(Debug)]
pub struct OwnedEmulator {
    emulator: Emulator,
    child: Child,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for OwnedEmulator {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

impl Drop for OwnedEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    /// Start a server for the calling test alone (a few hundred ms to a second or two).
    pub fn start_own() -> OwnedEmulator {
        let started = scratch_dir("own").and_then(|dir| {
            Emulator::spawn(dir.path()).map(|(emulator, child)| (emulator, child, dir))
        });
        match started {
            Ok((emulator, child, dir)) => OwnedEmulator {
                emulator,
                child,
                _dir: dir,
            },
            Err(message) => panic!("{message}"),
        }
    }

    /// `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The file the server's stdout and stderr go to.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The request log (one JSON line per AWS call, appended as the server answers), for tests
    /// that follow it while it grows; [`Emulator::requests`] reads it whole.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Every AWS call the server attributed to `account`, in the order it answered them.
    /// The log line is written before the response is sent, so a call that returned is listed.
    pub fn requests(&self, account: &str) -> Vec<Request> {
        self.all_requests()
            .into_iter()
            .filter(|(a, _)| a == account)
            .map(|(_, r)| r)
            .collect()
    }

    /// Every AWS call the server received, whatever its account, as (account, call), in the
    /// order it answered them. Meant for a server of a test's own ([`Emulator::start_own`]):
    /// the shared one holds every test's calls.
    pub fn all_requests(&self) -> Vec<(String, Request)> {
        let text = fs::read_to_string(&self.log).unwrap_or_else(|e| {
            panic!(
                "cannot read the emulator's request log {}: {e}",
                self.log.display()
            )
        });
        text.split_inclusive('\n')
            // A line without its newline is still being written: not a complete call yet.
            .filter(|line| line.ends_with('\n') && !line.trim().is_empty())
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad line in {}: {e}: {line}", self.log.display()));
                let field = |name: &str| {
                    entry
                        .get(name)
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string()
                };
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let micros = |name: &str| {
                    entry
                        .get(name)
                        .and_then(serde_json::Value::as_f64)
                        .map_or(0, |s| (s * 1e6) as u64)
                };
                (
                    field("account"),
                    Request {
                        service: field("service"),
                        operation: field("operation"),
                        region: field("region"),
                        status: entry
                            .get("status")
                            .and_then(serde_json::Value::as_u64)
                            .and_then(|s| u16::try_from(s).ok()),
                        params: entry
                            .get("params")
                            .and_then(|v| v.as_object())
                            .map(|params| {
                                params
                                    .iter()
                                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        micros: (micros("start"), micros("end")),
                    },
                )
            })
            .collect()
    }

    /// From now on, every call of `operation` (such as `ListGrants` or
    /// `GetAccountAuthorizationDetails`) in `account` fails as a refusal does on AWS:
    /// `AccessDeniedException` (HTTP 400) for KMS, `AccessDenied` (HTTP 403) for IAM and STS.
    /// The calls are still in the request log, with that status. Rules are server state and stay
    /// until the server stops: on the shared server, deny only in a test's own [`fresh_account`].
    ///
    /// Panics when the server does not take the rule.
    pub fn deny(&self, account: &str, operation: &str) {
        self.add_deny_rule(account, operation, None);
    }

    /// Like [`Emulator::deny`], with the AWS error code the calls get instead (such as
    /// `ThrottlingException` or `Throttling`): HTTP 403 for `AccessDenied` and
    /// `AccessDeniedException` on IAM and STS, else 400.
    pub fn deny_with(&self, account: &str, operation: &str, code: &str) {
        self.add_deny_rule(account, operation, Some(code));
    }

    /// Ends the waiting period of every PendingDeletion key of `account`, as time does on AWS:
    /// each is deleted with its aliases (`POST /c3-api/kms/expire-deletions`,
    /// tests/emulator/README.md). Panics unless the server answers 200.
    pub fn expire_deletions(&self, account: &str) {
        let body = serde_json::json!({ "account": account }).to_string();
        if let Err(why) = post_json(self.port, "/c3-api/kms/expire-deletions", &body) {
            panic!(
                "the emulator at {} did not expire deletions: {why}",
                self.endpoint
            );
        }
    }

    /// From now on, AssumeRole into `role_arn` fails as AWS refuses a role whose trust policy
    /// does not let the caller in: `AccessDenied` (HTTP 403), "User is not authorized to perform:
    /// sts:AssumeRole on resource: <role>". Other roles are assumed as before.
    ///
    /// Panics when the server does not take the rule.
    pub fn deny_assume_role(&self, role_arn: &str) {
        let account = role_arn.split(':').nth(4).unwrap_or_default();
        let rule = serde_json::json!({
            "account": account, "operation": "AssumeRole", "role_arn": role_arn
        });
        if let Err(why) = post_json(self.port, "/c3-api/deny", &rule.to_string()) {
            panic!(
                "the emulator at {} did not take the deny rule {rule}: {why}",
                self.endpoint
            );
        }
    }

    /// `POST /c3-api/deny` (tests/emulator/README.md); panics unless the server answers 200.
    fn add_deny_rule(&self, account: &str, operation: &str, code: Option<&str>) {
        let mut rule = serde_json::json!({ "account": account, "operation": operation });
        if let Some(code) = code {
            rule["code"] = code.into();
        }
        if let Err(why) = post_json(self.port, "/c3-api/deny", &rule.to_string()) {
            panic!(
                "the emulator at {} did not take the deny rule {rule}: {why}",
                self.endpoint
            );
        }
    }

    /// The server started for the whole run, from its directory (see [`RUN_EMULATOR_DIR`]);
    /// an error unless it answers.
    fn of_run(dir: &Path) -> Result<Emulator, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            fs::read_to_string(&path)
                .map_err(|e| format!("{RUN_EMULATOR_DIR}: cannot read {}: {e}", path.display()))
                .and_then(|text| {
                    text.trim().parse::<u32>().map_err(|e| {
                        format!(
                            "{RUN_EMULATOR_DIR}: {} is not a number: {e}",
                            path.display()
                        )
                    })
                })
        };
        let port = u16::try_from(read("port")?)
            .map_err(|e| format!("{RUN_EMULATOR_DIR}: not a port: {e}"))?;
        let emulator = Emulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            log: dir.join("requests.jsonl"),
            output: dir.join("server.out"),
            pid: read("pid")?,
        };
        if moto_api_answers(port) {
            Ok(emulator)
        } else {
            Err(format!(
                "the AWS emulator of this run ({RUN_EMULATOR_DIR}={}) does not answer on {}; \
                 its output is in {}",
                dir.display(),
                emulator.endpoint,
                emulator.output.display()
            ))
        }
    }

    /// Start the launcher on a free port, writing its request log and output into `dir`.
    /// Retries with another port if the one picked was taken in between.
    fn spawn(dir: &Path) -> Result<(Emulator, Child), String> {
        let python = python()?;
        let script = Path::new(REPO).join("tests/emulator/moto_c3_server.py");
        let log = dir.join("requests.jsonl");
        let output = dir.join("server.out");
        // An empty log before the server starts: a server that was never called has a log with
        // no line (and a missing log stays an error of the harness, not "no calls").
        File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port()?;
            let out = File::create(&output)
                .map_err(|e| format!("cannot create {}: {e}", output.display()))?;
            let err = out
                .try_clone()
                .map_err(|e| format!("cannot duplicate a file handle: {e}"))?;
            let mut command = Command::new(&python);
            command
                .arg(&script)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .args(["--parent-pid", &std::process::id().to_string()])
                .env("C3_EMULATOR_LOG", &log)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            for (name, _) in std::env::vars_os() {
                // MOTO_ACCOUNT_ID would disable account switching; other MOTO_* change behaviour.
                if name.to_string_lossy().starts_with("MOTO_") {
                    command.env_remove(name);
                }
            }
            let mut child = command.spawn().map_err(|e| {
                format!("cannot run {} {}: {e}", python.display(), script.display())
            })?;
            let endpoint = format!("http://127.0.0.1:{port}");
            match wait_ready(port, &mut child) {
                Ok(()) => {
                    let pid = child.id();
                    return Ok((
                        Emulator {
                            endpoint,
                            port,
                            log,
                            output,
                            pid,
                        },
                        child,
                    ));
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text = fs::read_to_string(&output).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
                    last_error = format!(
                        "the AWS emulator ({} {}) on port {port} {why}; its output:\n{tail}",
                        python.display(),
                        script.display()
                    );
                }
            }
        }
        Err(last_error)
    }
}

/// The interpreter of the emulator's venv.
fn python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("C3_EMULATOR_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let python = Path::new(REPO).join(".venv/bin/python");
    if python.exists() {
        Ok(python)
    } else {
        Err(format!(
            "the AWS emulator's venv is missing ({} not found): run scripts/test.sh \
             (or scripts/emulator-venv.sh, then cargo test); or set C3_EMULATOR_PYTHON",
            python.display()
        ))
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Wait until `GET /moto-api/` answers 200, or the child exits, or the timeout passes.
fn wait_ready(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status}) before answering"));
        }
        if moto_api_answers(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "did not answer GET /moto-api/ within {READY_TIMEOUT:?}"
    ))
}

fn moto_api_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// POSTs the JSON `body` to `path` on the server at 127.0.0.1:`port` (HTTP/1.0, one connection)
/// and returns the response body when the status is 200; otherwise says what happened.
fn post_json(port: u16, path: &str, body: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| format!("cannot set a read timeout: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send POST {path}: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("cannot read the answer to POST {path}: {e}"))?;
    let (head, answer) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) == Some("200") {
        Ok(answer.to_string())
    } else {
        Err(format!("POST {path} answered {status:?}: {answer}"))
    }
}

/// A new directory under cargo's test scratch dir; directories from runs over a day old are removed.
fn scratch_dir(prefix: &str) -> Result<tempfile::TempDir, String> {
    let base = Path::new(SCRATCH);
    fs::create_dir_all(base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    if let Ok(entries) = fs::read_dir(base) {
        let day = Duration::from_secs(24 * 3600);
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > day);
            if stale && entry.file_name().to_string_lossy().starts_with("c3-emu-") {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("c3-emu-{prefix}-"))
        .tempdir_in(base)
        .map_err(|e| format!("cannot create a directory in {}: {e}", base.display()))
}

/// A 12-digit account id no other call returns: not in this process (a counter), not in a
/// parallel test process, nor in an earlier run against a long-lived server (the first 8 digits
/// mix the process id with the time the process first asked).
pub fn fresh_account() -> String {
    static BASE: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // splitmix64 of (time, pid): spreads nearby values over the whole range.
        // Only the low bits seed the generator.
        #[allow(clippy::cast_possible_truncation)]
        let mut x = (nanos as u64) ^ (u64::from(std::process::id()) << 40) ^ 0x9E37_79B9_7F4A_7C15;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        10_000_000 + x % 90_000_000 // 8 digits, no leading zero
    });
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        assert!(
            n < 10_000,
            "fresh_account: more than 10,000 accounts in one test process"
        );
        let account = format!("{base:08}{n:04}");
        if account != DEFAULT_ACCOUNT {
            return account;
        }
    }
}

/// An SDK config whose calls go to `endpoint` and land in `account`: it assumes
/// `arn:aws:iam::<account>:role/c3-test` with dummy base credentials (moto maps the credentials
/// AssumeRole hands out to the role's account; the role need not exist).
pub async fn sdk_config(endpoint: &str, account: &str, region: &str) -> SdkConfig {
    let base = base_config(endpoint, region).await;
    let role = AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/{TEST_ROLE}"))
        .session_name("c3-test")
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(role))
        .build()
}

/// An SDK config with the dummy credentials `test`/`test`: its calls land in [`DEFAULT_ACCOUNT`].
pub async fn base_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("test", "test", None, None, "c3-tests"))
        .load()
        .await
}

/// The `c3` binary, pointed at the shared emulator, with a clean environment (see [`c3_command_at`]).
pub fn c3_command() -> Command {
    c3_command_at(&emulator().endpoint())
}

/// The `c3` binary pointed at `endpoint`, hermetic: every `AWS_*` and `C3_*` variable of the test
/// process is removed; plans made at [`TEST_NOW`]; dummy credentials (account [`DEFAULT_ACCOUNT`]), region us-east-1, no
/// colour, no instance metadata, and a `HOME` of its own (so no `~/.aws` is read).
pub fn c3_command_at(endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_c3"));
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("AWS_") || text.starts_with("C3_") {
            command.env_remove(&name);
        }
    }
    command
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("C3_NOW", TEST_NOW)
        .env("HOME", test_home());
    command
}

/// The `created_at` of every plan the tests make (`C3_NOW`).
pub const TEST_NOW: &str = "2026-11-30T12:00:00Z";

/// `http://127.0.0.1:<port>` where nothing listens (a port that was free a moment ago).
pub fn closed_endpoint() -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The hermetic c3 command, pointed at a closed port: any AWS call would fail at once.
pub fn offline() -> Command {
    c3_command_at(&closed_endpoint())
}

/// Runs a c3 command with no stdin and collects what it printed. Every plan document it emitted
/// (on stdout, or written with `--out FILE`) is checked against schema/plan.schema.json.
pub fn run(command: &mut Command) -> crate::e2e::Run {
    let r = crate::e2e::finish(
        command
            .stdin(Stdio::null())
            .output()
            .expect("run the c3 binary"),
    );
    validate_emitted_plans(command, &r.stdout);
    r
}

/// Checks the plan documents a finished c3 command emitted against the schema: its stdout and the
/// file of `--out FILE`, when they are one (a JSON object with `format_version`).
pub fn validate_emitted_plans(command: &Command, stdout: &str) {
    let args: Vec<String> = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = command.get_current_dir().map(Path::to_path_buf);
    for (i, arg) in args.iter().enumerate() {
        let out = match arg.strip_prefix("--out=") {
            Some(path) => Some(path.to_string()),
            None if arg == "--out" => args.get(i + 1).cloned(),
            None => None,
        };
        if let Some(out) = out {
            let path = match &cwd {
                Some(dir) => dir.join(&out),
                None => PathBuf::from(&out),
            };
            match fs::read_to_string(&path) {
                Ok(text) if is_plan_document(&text) => {
                    validate_plan(&text, &format!("--out {out}"));
                }
                _ => {}
            }
        }
    }
    if is_plan_document(stdout) {
        validate_plan(stdout, &format!("the stdout of c3 {}", args.join(" ")));
    }
}

/// Whether a text is a plan document (not keys.toml of `import --out`, not a table): a JSON
/// object with `format_version`.
fn is_plan_document(text: &str) -> bool {
    text.trim_start().starts_with('{') && text.contains("\"format_version\"")
}

/// Validates one plan document against schema/plan.schema.json with the venv's
/// `check-jsonschema`; panics with its report when the document does not conform.
pub fn validate_plan(text: &str, what: &str) {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = Path::new(SCRATCH).join("plan-documents");
    fs::create_dir_all(&dir).expect("a directory for plan documents");
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file = dir.join(format!("plan-{}-{n}.json", std::process::id()));
    fs::write(&file, text).expect("write the plan document");
    let checker = Path::new(REPO).join(".venv/bin/check-jsonschema");
    let out = Command::new(&checker)
        .arg("--schemafile")
        .arg(Path::new(REPO).join("schema/plan.schema.json"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}): run scripts/emulator-venv.sh",
                checker.display()
            )
        });
    assert!(
        out.status.success(),
        "{what} is not valid against schema/plan.schema.json:\n{}{}\n--- document\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = fs::remove_file(&file);
}

/// An empty directory used as `HOME` by [`c3_command_at`].
fn test_home() -> OsString {
    let home = Path::new(SCRATCH).join("c3-home");
    if let Err(e) = fs::create_dir_all(&home) {
        panic!("cannot create {}: {e}", home.display());
    }
    home.into_os_string()
}

/// What a program run under a pseudo-terminal showed and how it ended.
pub struct PtyRun {
    /// The program's exit code (128 + N when signal N killed it).
    pub code: i32,
    /// Everything the terminal showed (stdout and stderr interleaved, CR LF line ends, the typed
    /// answer echoed), then anything the driver itself wrote to its stderr.
    pub output: String,
}

impl std::fmt::Debug for PtyRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- terminal\n{}", self.code, self.output)
    }
}

/// Runs `command` (for example [`c3_command`] with its arguments) under a pseudo-terminal, so its
/// stdin, stdout and stderr are a terminal, and types `answer` and Enter once `prompt` has
/// appeared in its output; a program that never shows `prompt` is never answered.
///
/// The driver is `tests/support/pty_answer.py`, run by the emulator's Python. The program, its
/// arguments, its environment (what `command` set and removed) and its working directory are
/// those of `command`, so [`c3_command`]'s hermetic environment reaches c3 unchanged.
pub fn run_in_pty(command: &Command, prompt: &str, answer: &str) -> PtyRun {
    let python = python().unwrap_or_else(|message| panic!("{message}"));
    let mut driver = Command::new(python);
    driver
        .arg(Path::new(REPO).join("tests/support/pty_answer.py"))
        .arg(prompt)
        .arg(answer)
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => driver.env(name, value),
            None => driver.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        driver.current_dir(dir);
    }
    let out = driver
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run tests/support/pty_answer.py: {e}"));
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.stderr.is_empty() {
        output.push_str("\n--- pty_answer.py stderr\n");
        output.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    PtyRun {
        code: out.status.code().unwrap_or(-1),
        output,
    }
}

/// The project's fault- and latency-injecting proxy (`tests/emulator/proxy.py`)
/// in front of an emulator, on 127.0.0.1; stopped when dropped.
pub struct Proxy {
    child: std::process::Child,
    port: u16,
}

impl Proxy {
    /// Starts the proxy towards `upstream` with extra arguments such as
    /// `["--throttle", "0.3", "--seed", "7"]`.
    pub fn start(upstream: &str, args: &[&str]) -> Proxy {
        use std::io::BufRead;
        let python = python().unwrap_or_else(|e| panic!("{e}"));
        let mut child = std::process::Command::new(python)
            .arg(Path::new(REPO).join("tests/emulator/proxy.py"))
            .args(["--upstream", upstream, "--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the proxy: {e}"));
        let stdout = child.stdout.take().expect("proxy stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("proxy port line");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the proxy printed {line:?}, not its port"));
        Proxy { child, port }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
