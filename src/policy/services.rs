//! The service principals c3 knows by a short name (`service_principals =
//! ["logs", "cloudtrail"]`): whether AWS documents the principal as global
//! (`cloudtrail.amazonaws.com`) or regional (`logs.<region>.amazonaws.com`),
//! and the conditions AWS recommends in a key policy that lets the service
//! use the key. docs/config.md shows this table with the AWS page each row
//! comes from; keep the two alike.
//!
//! Every statement c3 writes for a service principal also carries
//! `aws:SourceAccount` = the key's account. A full principal
//! (`delivery.logs.amazonaws.com`, `logs.{region}.amazonaws.com`) is taken
//! as written, with `aws:SourceAccount` only.
//!
//! # Sids
//!
//! A regional principal's statement is `AllowService<Svc>`, the Sid c3 has
//! always given it (`AllowServiceLogs`), so a key made before this table
//! keeps its statement and only gains the recommended conditions. A global
//! principal's statement is `AllowService<Svc>Global`
//! (`AllowServiceCloudtrailGlobal`): c3 used to build
//! `cloudtrail.<region>.amazonaws.com` under `AllowServiceCloudtrail`, and
//! a new Sid makes the usual merge add the right statement and report the
//! old one as a c3 statement that is no longer declared (kept, as every
//! live statement is), instead of adding a second principal to it.

/// One service principal c3 knows by a short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The short name in `service_principals` (`logs`, `delivery.logs`).
    pub name: &'static str,
    /// Whether the principal is `<name>.<region>.<suffix>` (else `<name>.<suffix>`).
    pub regional: bool,
    /// Conditions beyond `aws:SourceAccount`: (operator, key, value), the
    /// value with `{partition}`, `{region}` and `{account}` to replace.
    pub conditions: &'static [(&'static str, &'static str, &'static str)],
    /// Whether `kms:DescribeKey` is granted in a statement of its own,
    /// without the conditions above (an encryption-context condition never
    /// matches DescribeKey, which has no encryption context).
    pub describe_apart: bool,
    /// The AWS page the row comes from.
    pub source: &'static str,
}

const SQS_KEYS: &str = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html";

/// Every service c3 knows by a short name, sorted by name.
pub const SERVICES: &[Service] = &[
    Service {
        name: "cloudtrail",
        regional: false,
        conditions: &[(
            "StringLike",
            "kms:EncryptionContext:aws:cloudtrail:arn",
            "arn:{partition}:cloudtrail:*:{account}:trail/*",
        )],
        describe_apart: true,
        source: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html",
    },
    Service {
        name: "cloudwatch",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: "https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns",
    },
    Service {
        name: "config",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: "https://docs.aws.amazon.com/config/latest/developerguide/s3-kms-key-policy.html",
    },
    Service {
        name: "delivery.logs",
        regional: false,
        conditions: &[(
            "ArnLike",
            "aws:SourceArn",
            "arn:{partition}:logs:{region}:{account}:*",
        )],
        describe_apart: false,
        source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-V2-S3.html",
    },
    Service {
        name: "events",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: SQS_KEYS,
    },
    Service {
        name: "logs",
        regional: true,
        conditions: &[(
            "ArnLike",
            "kms:EncryptionContext:aws:logs:arn",
            "arn:{partition}:logs:{region}:{account}:*",
        )],
        describe_apart: false,
        source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    },
    Service {
        name: "s3",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: SQS_KEYS,
    },
    Service {
        name: "ses",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: "https://docs.aws.amazon.com/kms/latest/developerguide/services-ses.html",
    },
    Service {
        name: "sns",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: SQS_KEYS,
    },
    Service {
        name: "sqs",
        regional: false,
        conditions: &[],
        describe_apart: false,
        source: SQS_KEYS,
    },
];

/// Services that use a key on a caller's behalf and have no service
/// principal of their own in a key policy: `via_services`, not
/// `service_principals`. AWS Backup is one: it uses the key with the
/// permissions of the backup role (a principal for `users` or a statement),
/// <https://docs.aws.amazon.com/aws-backup/latest/devguide/encryption.html>.
pub const VIA_ONLY: &[&str] = &["backup", "secretsmanager", "dynamodb", "ebs", "rds"];

/// The service of a short name.
pub fn known(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.name == name)
}

/// The short names, comma-separated (for messages).
pub fn known_names() -> String {
    let names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
    names.join(", ")
}

/// The DNS suffixes a full service principal may end with.
const SUFFIXES: [&str; 2] = [".amazonaws.com.cn", ".amazonaws.com"];

/// A full service principal as written: its labels before the DNS suffix
/// (`["delivery", "logs"]`, `["logs", "{region}"]`), or `None` when it is
/// not one (`….amazonaws.com` of lowercase DNS labels, `{region}` allowed
/// as a label).
pub fn full_principal_labels(value: &str) -> Option<Vec<&str>> {
    let head = SUFFIXES.iter().find_map(|s| value.strip_suffix(s))?;
    let labels: Vec<&str> = head.split('.').collect();
    let label_ok = |l: &&str| {
        *l == "{region}"
            || (!l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    };
    labels.iter().all(label_ok).then_some(labels)
}

/// Whether a label is a region name (`eu-west-1`) or `{region}`.
fn is_region_label(label: &str) -> bool {
    if label == "{region}" {
        return true;
    }
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `lex-v2` → `LexV2`, `delivery.logs` → `DeliveryLogs`: letters and digits,
/// as IAM wants a Sid.
pub fn sid_part(name: &str) -> String {
    name.split(['-', '.'])
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The Sid of the statement for a service principal entry (a short name
/// or a full principal; see the module documentation).
pub fn statement_sid(entry: &str) -> String {
    if let Some(s) = known(entry) {
        return service_sid(s.name, s.regional);
    }
    match full_principal_labels(entry) {
        Some(labels) => match labels.split_last() {
            Some((last, rest)) if is_region_label(last) && !rest.is_empty() => {
                service_sid(&rest.join("."), true)
            }
            _ => service_sid(&labels.join("."), false),
        },
        // Not reached for a valid file; a stable Sid all the same.
        None => service_sid(entry, true),
    }
}

fn service_sid(name: &str, regional: bool) -> String {
    let global = if regional { "" } else { "Global" };
    format!("AllowService{}{global}", sid_part(name))
}

/// The Sid of the `kms:DescribeKey` statement of a service whose
/// DescribeKey is granted apart.
pub fn describe_sid(entry: &str) -> String {
    format!("{}DescribeKey", statement_sid(entry))
}

/// `{partition}`, `{region}` and `{account}` replaced.
pub fn fill(template: &str, partition: &str, region: &str, account: &str) -> String {
    template
        .replace("{partition}", partition)
        .replace("{region}", region)
        .replace("{account}", account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_row_cites_an_aws_page() {
        let names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for s in SERVICES {
            assert!(
                s.source.starts_with("https://docs.aws.amazon.com/")
                    || s.source.starts_with("https://repost.aws/"),
                "{}",
                s.name
            );
        }
        for name in [
            "logs",
            "cloudtrail",
            "sns",
            "sqs",
            "events",
            "s3",
            "delivery.logs",
            "config",
            "ses",
            "cloudwatch",
        ] {
            assert!(known(name).is_some(), "{name}");
        }
        // Services without a principal of their own are known too, as such.
        for name in ["backup", "secretsmanager"] {
            assert!(known(name).is_none() && VIA_ONLY.contains(&name), "{name}");
        }
    }

    #[test]
    fn sids_of_regional_principals_stay_those_of_old_and_global_ones_differ() {
        assert_eq!(statement_sid("logs"), "AllowServiceLogs");
        assert_eq!(statement_sid("cloudtrail"), "AllowServiceCloudtrailGlobal");
        assert_eq!(
            describe_sid("cloudtrail"),
            "AllowServiceCloudtrailGlobalDescribeKey"
        );
        assert_eq!(
            statement_sid("delivery.logs"),
            "AllowServiceDeliveryLogsGlobal"
        );
        assert_eq!(
            statement_sid("delivery.logs.amazonaws.com"),
            "AllowServiceDeliveryLogsGlobal"
        );
        assert_eq!(
            statement_sid("logs.{region}.amazonaws.com"),
            "AllowServiceLogs"
        );
        assert_eq!(
            statement_sid("logs.eu-west-1.amazonaws.com"),
            "AllowServiceLogs"
        );
        assert_eq!(
            statement_sid("lex-v2.amazonaws.com.cn"),
            "AllowServiceLexV2Global"
        );
    }

    #[test]
    fn full_principals() {
        assert_eq!(
            full_principal_labels("delivery.logs.amazonaws.com"),
            Some(vec!["delivery", "logs"])
        );
        assert_eq!(
            full_principal_labels("logs.{region}.amazonaws.com"),
            Some(vec!["logs", "{region}"])
        );
        for bad in [
            "logs",
            "amazonaws.com",
            ".amazonaws.com",
            "Logs.amazonaws.com",
            "logs..amazonaws.com",
            "logs.{account}.amazonaws.com",
            "arn:aws:iam::111111111111:root",
        ] {
            assert_eq!(full_principal_labels(bad), None, "{bad}");
        }
    }
}
