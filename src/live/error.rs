//! A failed read, with the account and region it belongs to.

use std::fmt;

use crate::aws::AwsCallError;
use crate::model::{Account, ReadFailure};

/// The part of an account's read that failed: KMS in one region, IAM, or
/// connecting to the account. (Not [`crate::model::Scope`], which is what a
/// run reads.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadPart {
    /// KMS in one region (or connecting to the account, reported per region).
    Region(String),
    /// IAM, which is global to the account.
    Iam,
    /// Connecting to the account (STS), before any region was read.
    Account,
}

/// A failed AWS call with its context: which account and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ReadError {
    /// The account's name in `keys.toml`.
    pub account_name: String,
    /// The account id.
    pub account_id: String,
    /// Which part of the account's read.
    pub part: ReadPart,
    /// The call that failed.
    #[source]
    pub call: AwsCallError,
}

impl ReadError {
    /// The error of `call` while reading `part` of `account`.
    pub fn new(account: &Account, part: ReadPart, call: AwsCallError) -> Self {
        Self {
            account_name: account.name.clone(),
            account_id: account.id.clone(),
            part,
            call,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account '{}' ({})", self.account_name, self.account_id)?;
        match &self.part {
            ReadPart::Region(region) => write!(f, ", region {region}")?,
            ReadPart::Iam => f.write_str(", IAM")?,
            ReadPart::Account => {}
        }
        write!(f, ": {}", self.call)?;
        if let Some(request_id) = &self.call.request_id {
            write!(f, " (request id {request_id})")?;
        }
        if let Some(hint) = self.call.hint() {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl From<ReadError> for ReadFailure {
    fn from(err: ReadError) -> Self {
        let call = err.call;
        let cause = match &call.code {
            Some(code) => format!("{code}: {}", call.message),
            None => call.message.clone(),
        };
        ReadFailure {
            message: call.to_string(),
            cause,
            operation: Some(call.operation.to_string()),
            hint: call.hint().map(str::to_string),
            code: call.code,
            request_id: call.request_id,
            account_wide: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_account_region_and_hint() {
        let account = Account {
            name: "prod".into(),
            id: "111111111111".into(),
            role_arn: None,
            external_id: None,
            regions: vec!["eu-west-1".into()],
        };
        let mut call = AwsCallError::service("ListAliases", "AccessDeniedException", "not allowed");
        call.request_id = Some("req-1".into());
        let err = ReadError::new(&account, ReadPart::Region("eu-west-1".into()), call);
        let m = err.to_string();
        assert!(
            m.starts_with(
                "account 'prod' (111111111111), region eu-west-1: ListAliases: \
                 AccessDeniedException: not allowed (request id req-1); hint: "
            ),
            "{m}"
        );
        assert!(m.contains("kms:ListAliases"), "{m}");
        let failure: ReadFailure = err.into();
        assert_eq!(
            failure.message,
            "ListAliases: AccessDeniedException: not allowed"
        );
        assert_eq!(failure.operation.as_deref(), Some("ListAliases"));
        assert_eq!(failure.code.as_deref(), Some("AccessDeniedException"));
        assert_eq!(failure.request_id.as_deref(), Some("req-1"));
        assert!(failure.hint.is_some_and(|h| h.contains("kms:ListAliases")));
    }
}
