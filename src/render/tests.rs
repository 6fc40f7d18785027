//! Snapshots of what users read on stderr when AWS calls fail: each kind of
//! failure c3 knows, rendered exactly as `c3 plan` prints it.

// Tests spell out whole scenarios and worlds; the 80-line limit is for the product's code.
#![allow(clippy::too_many_lines, clippy::many_single_char_names)]

use std::collections::BTreeMap;

use super::printer::{Printer, SharedBuffer};
use crate::aws::{AwsCallError, CallErrorKind};
use crate::live::{ReadError, ReadPart};
use crate::model::{Account, ReadFailure};
use crate::plan::{Plan, PlanError};

fn account(name: &str, id: &str) -> Account {
    Account {
        name: name.into(),
        id: id.into(),
        role_arn: Some(format!("arn:aws:iam::{id}:role/c3")),
        external_id: None,
        regions: vec!["eu-west-1".into()],
    }
}

fn dispatch(operation: &'static str, kind: CallErrorKind, message: &str) -> AwsCallError {
    AwsCallError {
        operation,
        code: None,
        message: message.into(),
        request_id: None,
        kind,
        resource: None,
    }
}

/// The plan error of `call` in `part` of `account`, as live/ and plan/ make it.
fn error(account: &Account, part: ReadPart, call: AwsCallError) -> PlanError {
    let region = match &part {
        ReadPart::Region(r) => Some(r.clone()),
        _ => None,
    };
    let failure: ReadFailure = ReadError::new(account, part, call).into();
    PlanError::of(&account.id, region.as_deref(), &failure)
}

/// What `c3 plan` prints on stderr for these errors.
fn stderr_of(errors: Vec<PlanError>, accounts: &[&Account]) -> String {
    let err = SharedBuffer::default();
    let printer = Printer::into_buffers(SharedBuffer::default(), err.clone());
    let mut plan = Plan {
        errors,
        ..Plan::default()
    };
    plan.sort();
    let names: BTreeMap<String, String> = accounts
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    super::errors(&printer, &plan, &names);
    err.text()
}

#[test]
fn aws_errors_as_users_read_them() {
    let prod = account("prod", "111111111111");
    let staging = account("staging", "222222222222");
    let dev = account("dev", "333333333333");
    let all = [&prod, &staging, &dev];
    let role = |a: &Account| a.role_arn.clone().unwrap_or_default();
    let everywhere = |call: AwsCallError| {
        all.iter()
            .map(|a| {
                let call = if call.operation == "AssumeRole" {
                    call.clone().about(role(a))
                } else {
                    call.clone()
                };
                error(a, ReadPart::Account, call)
            })
            .collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Vec<PlanError>)> = vec![
        (
            "no_credentials",
            everywhere(dispatch(
                "AssumeRole",
                CallErrorKind::NoCredentials,
                "no AWS credentials were found",
            )),
        ),
        (
            "connection_refused",
            everywhere(dispatch(
                "GetCallerIdentity",
                CallErrorKind::Refused,
                "the connection was refused (nothing listens at the endpoint)",
            )),
        ),
        (
            "unknown_host",
            vec![error(
                &prod,
                ReadPart::Account,
                dispatch(
                    "GetCallerIdentity",
                    CallErrorKind::UnknownHost,
                    "the endpoint's host name does not resolve",
                ),
            )],
        ),
        (
            "timeout",
            vec![error(
                &prod,
                ReadPart::Region("eu-west-1".into()),
                dispatch("ListKeys", CallErrorKind::Timeout, "no answer in time, after retries"),
            )],
        ),
        (
            "assume_role_denied",
            vec![error(
                &staging,
                ReadPart::Account,
                AwsCallError::service(
                    "AssumeRole",
                    "AccessDenied",
                    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/c3",
                )
                .about(role(&staging)),
            )],
        ),
        (
            "account_mismatch",
            vec![error(
                &dev,
                ReadPart::Account,
                AwsCallError::service(
                    "GetCallerIdentity",
                    "AccountMismatch",
                    "account 'dev' is declared as 333333333333 but assuming arn:aws:iam::333333333333:role/c3 gave credentials of 444444444444 (arn:aws:sts::444444444444:assumed-role/c3/c3); fix the account's id or its role_arn",
                ),
            )],
        ),
        (
            "list_grants_denied",
            vec![error(
                &prod,
                ReadPart::Region("eu-west-1".into()),
                AwsCallError::service(
                    "ListGrants",
                    "AccessDeniedException",
                    "User: arn:aws:sts::111111111111:assumed-role/c3/c3 is not authorized to perform: kms:ListGrants",
                ),
            )],
        ),
        (
            "iam_read_denied",
            vec![error(
                &prod,
                ReadPart::Iam,
                AwsCallError::service(
                    "GetAccountAuthorizationDetails",
                    "AccessDenied",
                    "not authorized to perform: iam:GetAccountAuthorizationDetails",
                ),
            )],
        ),
        (
            "expired_token",
            vec![error(
                &prod,
                ReadPart::Region("eu-west-1".into()),
                AwsCallError::service("ListAliases", "ExpiredTokenException", "The security token included in the request is expired"),
            )],
        ),
        (
            "unrecognized_client",
            vec![error(
                &staging,
                ReadPart::Region("eu-west-1".into()),
                AwsCallError::service("ListAliases", "UnrecognizedClientException", "The security token included in the request is invalid."),
            )],
        ),
        (
            "throttled",
            vec![
                error(
                    &prod,
                    ReadPart::Region("eu-west-1".into()),
                    AwsCallError::service("DescribeKey", "ThrottlingException", "Rate exceeded"),
                ),
                error(
                    &staging,
                    ReadPart::Region("eu-west-1".into()),
                    AwsCallError::service("ListGrants", "ThrottlingException", "Rate exceeded"),
                ),
            ],
        ),
    ];
    assert!(cases.len() >= 10);
    for (name, errors) in cases {
        insta::assert_snapshot!(name, stderr_of(errors, &all));
    }
}
