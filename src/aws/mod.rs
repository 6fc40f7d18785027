//! AWS access: the SDK configuration, decided once per run, and one session
//! per declared account (its credentials, checked against its id).
//!
//! Credentials, endpoints, retries and timeouts are settled here; readers and
//! writers receive ready clients. `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_KMS`, ...) is honoured by `aws-config` itself, so tests
//! reach an emulator with no code path of their own.

pub mod error;
pub mod http;
pub mod pace;
pub mod pages;

use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::SharedCredentialsProvider;

use crate::model::{self, Account, Settings};

pub use error::{AwsCallError, CallErrorKind};
pub use pace::Pacer;

/// Attempts per call (the first one included) before a retryable error is
/// given up on. Standard mode: exponential backoff with jitter, plus the
/// SDK's client-side retry quota.
pub const MAX_ATTEMPTS: u32 = 8;
/// Time to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for one attempt of a call, retries not included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The retry policy of every client.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The timeouts of every client.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The base configuration: the standard credential chain (environment,
/// profiles, SSO, web identity, container and instance roles), region and
/// endpoint from the environment, with c3's retries and timeouts.
pub async fn load_base_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http::client())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// The credentials of one declared account, verified to belong to it.
///
/// Clients made from a session share one credentials provider and, for an
/// assumed role, one identity cache of the session's own, so a role is
/// assumed once per account and refreshed before it expires, whatever the
/// number of regions, clients and accounts.
#[derive(Debug, Clone)]
pub struct AccountSession {
    /// The account as declared.
    pub account: Account,
    config: SdkConfig,
}

impl AccountSession {
    /// The configuration whose credentials belong to the account.
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// A KMS client for one region of the account.
    pub fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    /// An IAM client for the account. IAM is global; the client signs for
    /// the global region of the partition of the account's first region.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let region = iam_region(&home_region(&self.account, &self.config));
        let conf = aws_sdk_iam::config::Builder::from(&self.config)
            .region(Region::new(region))
            .build();
        aws_sdk_iam::Client::from_conf(conf)
    }
}

/// The region c3 uses for an account's global calls (STS, IAM): its first
/// declared region, else the configured one, else `us-east-1`.
pub fn home_region(account: &Account, config: &SdkConfig) -> String {
    account
        .regions
        .first()
        .cloned()
        .or_else(|| config.region().map(std::string::ToString::to_string))
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// The region IAM is signed for in the partition of `region`.
pub fn iam_region(region: &str) -> String {
    match model::partition(region) {
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        "aws-iso" => "us-iso-east-1",
        "aws-iso-b" => "us-isob-east-1",
        _ => "us-east-1",
    }
    .to_string()
}

/// Credentials for one account: AssumeRole into `role_arn` when it is set
/// (once; the provider caches and refreshes), else the base credentials.
/// Then STS GetCallerIdentity must name `account.id`: c3 never reads or
/// writes an account other than the one declared.
pub async fn connect(
    base: &SdkConfig,
    account: &Account,
    settings: &Settings,
) -> Result<AccountSession, AwsCallError> {
    let home = home_region(account, base);
    let config = match &account.role_arn {
        None => base.clone(),
        Some(role_arn) => {
            let mut builder = AssumeRoleProvider::builder(role_arn.clone())
                .session_name(settings.session_name.clone())
                .region(Region::new(home.clone()))
                .configure(base);
            if let Some(external_id) = &account.external_id {
                builder = builder.external_id(external_id.clone());
            }
            let provider = builder.build().await;
            base.to_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                // A cache of its own: the base configuration's is shared by
                // every account and holds 64 partitions, evicting beyond, so
                // with more accounts roles were assumed again and again.
                .identity_cache(IdentityCache::lazy().build())
                .build()
        }
    };
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .region(Region::new(home.clone()))
            .build(),
    );
    tracing::debug!(
        operation = "GetCallerIdentity",
        account = %account.name,
        region = %home,
        assume_role = account.role_arn.is_some(),
        "AWS call"
    );
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        let err = AwsCallError::from_sdk("GetCallerIdentity", &e);
        match (&account.role_arn, err.operation) {
            (Some(role), "AssumeRole") => err.about(role.clone()),
            _ => err,
        }
    })?;
    let actual = identity.account().unwrap_or_default();
    if actual != account.id {
        return Err(identity_mismatch(account, actual, identity.arn()));
    }
    Ok(AccountSession {
        account: account.clone(),
        config,
    })
}

/// The error for credentials that belong to another account than declared.
fn identity_mismatch(account: &Account, actual: &str, arn: Option<&str>) -> AwsCallError {
    let actual = if actual.is_empty() {
        "an account STS did not name"
    } else {
        actual
    };
    let who = arn.map(|a| format!(" ({a})")).unwrap_or_default();
    let message = match &account.role_arn {
        None => format!(
            "account '{}' is declared as {} but the credentials belong to {}{}; set role_arn \
             for this account or run with credentials of {}",
            account.name, account.id, actual, who, account.id
        ),
        Some(role) => format!(
            "account '{}' is declared as {} but assuming {} gave credentials of {}{}; fix the \
             account's id or its role_arn",
            account.name, account.id, role, actual, who
        ),
    };
    AwsCallError {
        operation: "GetCallerIdentity",
        code: Some("AccountMismatch".to_string()),
        message,
        request_id: None,
        kind: CallErrorKind::Protocol,
        resource: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use aws_sdk_sts::config::Credentials;

    /// A configuration whose endpoint refuses connections.
    async fn unreachable() -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(http::client())
            .endpoint_url("http://127.0.0.1:1")
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .build(),
            )
            .load()
            .await
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_a_dispatch_failure_with_a_hint() {
        let err = connect(&unreachable().await, &account(None), &Settings::default())
            .await
            .unwrap_err();
        assert_eq!(err.operation, "GetCallerIdentity");
        assert_eq!(err.code, None);
        assert_eq!(err.kind, CallErrorKind::Refused, "{err}");
        assert!(err.hint().is_some_and(|h| h.contains("AWS_ENDPOINT_URL")));
    }

    #[tokio::test]
    async fn a_failed_assume_role_is_reported_as_such() {
        let err = connect(
            &unreachable().await,
            &account(Some("arn:aws:iam::111111111111:role/c3")),
            &Settings::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.operation, "AssumeRole", "{err}");
        assert_eq!(
            err.resource.as_deref(),
            Some("arn:aws:iam::111111111111:role/c3")
        );
        assert_eq!(err.kind, CallErrorKind::Refused, "{err}");
    }

    fn account(role: Option<&str>) -> Account {
        Account {
            name: "prod".into(),
            id: "111111111111".into(),
            role_arn: role.map(str::to_string),
            external_id: None,
            regions: vec!["eu-west-1".into()],
        }
    }

    #[test]
    fn mismatch_names_both_ids_and_the_fix() {
        let e = identity_mismatch(&account(None), "222222222222", None);
        let text = e.to_string();
        assert!(text.contains("'prod'"), "{text}");
        assert!(text.contains("111111111111"), "{text}");
        assert!(text.contains("222222222222"), "{text}");
        assert!(text.contains("set role_arn"), "{text}");
        let e = identity_mismatch(
            &account(Some("arn:aws:iam::333333333333:role/c3")),
            "333333333333",
            None,
        );
        assert!(e.message.contains("role_arn"), "{}", e.message);
    }

    #[test]
    fn iam_region_follows_the_partition() {
        assert_eq!(iam_region("eu-west-1"), "us-east-1");
        assert_eq!(iam_region("cn-northwest-1"), "cn-north-1");
        assert_eq!(iam_region("us-gov-east-1"), "us-gov-west-1");
    }
}
