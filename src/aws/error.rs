//! A failed AWS call, reduced to what a person needs to act on it.
//!
//! Every service's `SdkError<E, HttpResponse>` is the same generic type (the
//! service crates re-export it from the smithy runtime), so one constructor
//! covers KMS, IAM and STS. `live/` and `apply/` add the target; this module
//! knows nothing about them.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::operation::RequestId;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

/// What kind of failure an [`AwsCallError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallErrorKind {
    /// AWS answered with an error code (access denied, not found, throttled, ...).
    Service,
    /// The call (or an attempt of it) timed out.
    Timeout,
    /// The request never got an answer (network, endpoint).
    Dispatch,
    /// Nothing listens at the endpoint (connection refused); not retried.
    Refused,
    /// The endpoint's host name does not resolve; not retried.
    UnknownHost,
    /// The credential chain found no credentials.
    NoCredentials,
    /// The SDK could not build the request.
    Construction,
    /// An answer came back that the SDK could not read.
    Response,
    /// A reply that made no sense to c3 (e.g. a truncated page without a marker).
    Protocol,
}

/// One failed AWS call: the operation, AWS's error code and message, and the
/// request id when AWS gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCallError {
    /// The API operation, e.g. `ListAliases`.
    pub operation: &'static str,
    /// AWS's error code, e.g. `AccessDeniedException`; `None` when the call got no answer.
    pub code: Option<String>,
    /// What went wrong, in AWS's words or the SDK's.
    pub message: String,
    /// The request id, for AWS support.
    pub request_id: Option<String>,
    /// The kind of failure.
    pub kind: CallErrorKind,
    /// What the call was about, when it helps to say (the role of an AssumeRole).
    pub resource: Option<String>,
}

/// Error codes that mean "not allowed".
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
];

/// Error codes that mean "these credentials have expired".
const EXPIRED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "TokenRefreshRequired",
];

/// Error codes that mean "AWS does not know these credentials".
const UNRECOGNIZED: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];

/// Error codes that mean "slow down" (left after the SDK's own retries).
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

impl AwsCallError {
    /// An error that is not an SDK error: c3 found the answer unusable.
    pub fn protocol(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            code: None,
            message: message.into(),
            request_id: None,
            kind: CallErrorKind::Protocol,
            resource: None,
        }
    }

    /// An error AWS answered with `code` (tests, and c3's own refusals that
    /// read like AWS's).
    pub fn service(operation: &'static str, code: &str, message: impl Into<String>) -> Self {
        Self {
            operation,
            code: Some(code.to_string()),
            message: message.into(),
            request_id: None,
            kind: CallErrorKind::Service,
            resource: None,
        }
    }

    /// The same error, about `resource`.
    #[must_use]
    pub fn about(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// An error from the SDK, for any service.
    ///
    /// When the call failed because its credentials could not be obtained by
    /// AssumeRole, the AssumeRole failure is reported instead (it is the cause
    /// the user can act on).
    pub fn from_sdk<E>(operation: &'static str, err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        if let Some(service) = err.as_service_error() {
            let code = service.code().map(str::to_string);
            let message = match service.message() {
                Some(m) if !m.trim().is_empty() => m.to_string(),
                _ => "AWS gave no message".to_string(),
            };
            let request_id = err
                .request_id()
                .or_else(|| service.meta().request_id())
                .map(str::to_string);
            return Self {
                operation,
                code,
                message,
                request_id,
                kind: CallErrorKind::Service,
                resource: None,
            };
        }
        // A credentials failure of an assumed role is the AssumeRole's: the
        // cause the user can act on (the caller sets the role as resource).
        if let Some(assume) = find_assume_role_error(err) {
            return Self::from_sdk("AssumeRole", assume);
        }
        let full = chain_text(err);
        let kind = match err {
            _ if credentials_missing(&full) => CallErrorKind::NoCredentials,
            _ => match super::http::Unreachable::of(err) {
                Some(super::http::Unreachable::Refused) => CallErrorKind::Refused,
                Some(super::http::Unreachable::UnknownHost) => CallErrorKind::UnknownHost,
                None => match err {
                    SdkError::TimeoutError(_) => CallErrorKind::Timeout,
                    SdkError::DispatchFailure(d) if d.is_timeout() => CallErrorKind::Timeout,
                    SdkError::DispatchFailure(_) => CallErrorKind::Dispatch,
                    SdkError::ConstructionFailure(_) => CallErrorKind::Construction,
                    SdkError::ResponseError(_) => CallErrorKind::Response,
                    _ => CallErrorKind::Dispatch,
                },
            },
        };
        // The SDK's whole chain (every provider of the credential chain, the
        // connector's layers) is for -vv; the message says the cause.
        tracing::debug!(operation, error = %full, "AWS call failed");
        let message = match kind {
            CallErrorKind::NoCredentials => "no AWS credentials were found".to_string(),
            CallErrorKind::Refused => {
                "the connection was refused (nothing listens at the endpoint)".to_string()
            }
            CallErrorKind::UnknownHost => "the endpoint's host name does not resolve".to_string(),
            CallErrorKind::Timeout => "no answer in time, after retries".to_string(),
            _ => full,
        };
        Self {
            operation,
            code: None,
            message,
            request_id: err.request_id().map(str::to_string),
            kind,
            resource: None,
        }
    }

    /// Whether AWS's code is `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the resource does not exist (KMS `NotFoundException`, IAM `NoSuchEntity`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("NotFoundException" | "NoSuchEntity" | "NoSuchEntityException")
        )
    }

    /// Whether the call was refused for lack of permission.
    pub fn is_access_denied(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| ACCESS_DENIED.contains(&c))
    }

    /// Whether AWS throttled the call (after the SDK's retries).
    pub fn is_throttling(&self) -> bool {
        self.code.as_deref().is_some_and(|c| THROTTLED.contains(&c))
    }

    /// What the user can do about it, when c3 knows.
    pub fn hint(&self) -> Option<&'static str> {
        if let Some(code) = self.code.as_deref() {
            if ACCESS_DENIED.contains(&code) {
                if self.operation == "AssumeRole" {
                    return Some(
                        "the role's trust policy must let the credentials c3 runs with assume \
                         it (see `aws sts get-caller-identity`), those credentials need \
                         sts:AssumeRole on the role, and the account's external_id must match \
                         the trust policy's sts:ExternalId condition",
                    );
                }
                return Some(
                    "check the permissions of the credentials (or of the account's role_arn): \
                     c3 plan needs sts:GetCallerIdentity, kms:ListAliases, kms:ListKeys, \
                     kms:ListResourceTags, kms:DescribeKey, kms:GetKeyRotationStatus, \
                     kms:GetKeyPolicy, kms:ListGrants (kms:List*, kms:Describe*, kms:Get*), \
                     iam:GetAccountAuthorizationDetails, iam:GetPolicyVersion and \
                     iam:ListPolicyTags (examples/iam/c3-plan.json); a key policy can also \
                     deny them",
                );
            }
            if EXPIRED.contains(&code) {
                return Some(
                    "the credentials have expired: refresh them (e.g. `aws sso login`) and run again",
                );
            }
            if UNRECOGNIZED.contains(&code) {
                return Some(
                    "AWS does not recognise the credentials: check AWS_PROFILE or \
                     AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and that the region is enabled \
                     for the account",
                );
            }
            if code == "AccountMismatch" {
                return Some(
                    "the credentials that answered belong to another account: check AWS_PROFILE \
                     and the credentials in the environment, or the account's id and role_arn \
                     in keys.toml",
                );
            }
            if THROTTLED.contains(&code) {
                return Some(
                    "AWS throttled the calls beyond the SDK's retries: lower settings.parallelism \
                     or run again later",
                );
            }
            return None;
        }
        match self.kind {
            CallErrorKind::Timeout => Some(
                "the call timed out after retries: check the network, a proxy (HTTPS_PROXY) and \
                 AWS_ENDPOINT_URL, or run again",
            ),
            CallErrorKind::Dispatch => Some(
                "the call did not reach AWS: check the network, a proxy (HTTPS_PROXY), the \
                 region and AWS_ENDPOINT_URL",
            ),
            CallErrorKind::Refused => Some(
                "nothing listens where c3 sends its calls: check AWS_ENDPOINT_URL (unset it to \
                 reach AWS) and a proxy (HTTPS_PROXY); c3 does not retry a refused connection",
            ),
            CallErrorKind::UnknownHost => Some(
                "check AWS_ENDPOINT_URL, the region names in keys.toml and DNS; c3 does not \
                 retry a name that does not resolve",
            ),
            CallErrorKind::NoCredentials => Some(
                "c3 looked for credentials, in this order, in AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, the profile AWS_PROFILE (or `default`) of ~/.aws/config \
                 and ~/.aws/credentials (including SSO: run `aws sso login`), web identity \
                 (AWS_WEB_IDENTITY_TOKEN_FILE), the ECS container and the EC2 instance metadata; \
                 provide one of them",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for AwsCallError {
    /// `Operation [resource]: Code: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation)?;
        if let Some(r) = &self.resource {
            write!(f, " {r}")?;
        }
        match &self.code {
            Some(code) => write!(f, ": {code}: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

/// Whether an error's text says the credential chain found nothing.
fn credentials_missing(text: &str) -> bool {
    text.contains("no credentials found in chain")
        || text.contains("no providers in chain provided credentials")
        || text.contains("failed to load credentials")
}

impl StdError for AwsCallError {}

/// The messages of an error and its sources, each once, joined by `: `
/// (`dispatch failure: io error: ... Connection refused (os error 111)`),
/// without the debug dumps the SDK's own context printer adds.
fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// The AssumeRole failure somewhere in an error's source chain (the SDK
/// reports a credentials failure as a dispatch failure of the call that
/// needed them, wrapping the provider's error). The error itself is not
/// looked at, only its sources.
fn find_assume_role_error<'a>(
    err: &'a (dyn StdError + 'static),
) -> Option<&'a SdkError<AssumeRoleError>> {
    let mut current: Option<&'a (dyn StdError + 'static)> = err.source();
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<SdkError<AssumeRoleError>>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn service(code: &str, operation: &'static str) -> AwsCallError {
        AwsCallError::service(operation, code, "m")
    }

    #[test]
    fn display_with_and_without_code() {
        assert_eq!(
            service("AccessDeniedException", "ListKeys").to_string(),
            "ListKeys: AccessDeniedException: m"
        );
        assert_eq!(
            AwsCallError::protocol("ListKeys", "bad page").to_string(),
            "ListKeys: bad page"
        );
    }

    #[test]
    fn hints_by_code() {
        let denied = service("AccessDeniedException", "ListKeys").hint();
        assert!(denied.is_some_and(|h| h.contains("kms:ListKeys")));
        let assume = service("AccessDenied", "AssumeRole").hint();
        assert!(assume.is_some_and(|h| h.contains("trust policy")));
        assert!(service("ExpiredToken", "GetCallerIdentity")
            .hint()
            .is_some_and(|h| h.contains("expired")));
        assert!(service("UnrecognizedClientException", "ListKeys")
            .hint()
            .is_some_and(|h| h.contains("recognise")));
        assert!(service("ThrottlingException", "ListKeys")
            .hint()
            .is_some_and(|h| h.contains("parallelism")));
        assert!(service("NotFoundException", "DescribeKey").hint().is_none());
        assert!(service("NotFoundException", "DescribeKey").is_not_found());
        assert!(service("NoSuchEntity", "ListPolicyTags").is_not_found());
    }

    #[test]
    fn from_sdk_service_error_keeps_code_and_message() {
        use aws_sdk_kms::operation::list_keys::ListKeysError;
        use aws_sdk_kms::types::error::KmsInternalException;
        let inner = ListKeysError::KmsInternalException(
            KmsInternalException::builder()
                .message("boom")
                .meta(
                    aws_sdk_kms::error::ErrorMetadata::builder()
                        .code("KMSInternalException")
                        .message("boom")
                        .build(),
                )
                .build(),
        );
        let raw = aws_smithy_runtime_api_response();
        let err = SdkError::service_error(inner, raw);
        let call = AwsCallError::from_sdk("ListKeys", &err);
        assert_eq!(call.code.as_deref(), Some("KMSInternalException"));
        assert_eq!(call.message, "boom");
        assert_eq!(call.kind, CallErrorKind::Service);
        assert_eq!(call.to_string(), "ListKeys: KMSInternalException: boom");
    }

    #[test]
    fn from_sdk_timeout_has_readable_message() {
        use aws_sdk_kms::operation::list_keys::ListKeysError;
        let err: SdkError<ListKeysError> = SdkError::timeout_error("took too long");
        let call = AwsCallError::from_sdk("ListKeys", &err);
        assert_eq!(call.kind, CallErrorKind::Timeout);
        assert!(call.code.is_none());
        // The cause in words; the SDK's chain goes to the -vv log only.
        assert_eq!(call.message, "no answer in time, after retries");
        assert!(call.hint().is_some());
    }

    fn aws_smithy_runtime_api_response() -> aws_sdk_kms::config::http::HttpResponse {
        aws_sdk_kms::config::http::HttpResponse::new(
            400.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }
}
