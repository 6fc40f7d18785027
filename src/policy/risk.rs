//! How risky what c3 finds is (design.md, "Severity"), and how to say it in
//! a review: who a statement or a grant lets in, under which conditions, and
//! whether that is anyone, another account, or a principal that no longer
//! exists.

use std::collections::BTreeSet;

use super::Statement;
use crate::model::KmsGrant;
use crate::plan::Severity;

/// Who a principal is, seen from the account that owns the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `*`: anyone.
    Anyone,
    /// A principal of this account.
    SameAccount,
    /// A principal of another account.
    OtherAccount(String),
    /// A service principal (`logs.eu-west-1.amazonaws.com`).
    Service,
    /// A unique id (`AROA…`, `AIDA…`): AWS shows a deleted principal so.
    Deleted,
    /// Anything else (federated, canonical user).
    Other,
}

/// Unique-id prefixes of IAM principals: users, roles, groups, instance profiles.
const UNIQUE_ID_PREFIXES: [&str; 4] = ["AIDA", "AROA", "AGPA", "AIPA"];

/// Whether a value is an IAM unique id, as AWS shows a principal that was
/// deleted after a policy named it.
pub fn is_unique_id(value: &str) -> bool {
    value.len() >= 16
        && UNIQUE_ID_PREFIXES.iter().any(|p| value.starts_with(p))
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The account of an IAM or STS ARN (`arn:aws:iam::111111111111:role/x`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    let _partition = parts.next()?;
    let service = parts.next()?;
    let _region = parts.next()?;
    let account = parts.next()?;
    (matches!(service, "iam" | "sts") && account.len() == 12).then_some(account)
}

/// Whether a value is a service principal (`logs.amazonaws.com`,
/// `logs.eu-west-1.amazonaws.com`, `….amazonaws.com.cn`).
pub fn is_service_principal(value: &str) -> bool {
    !value.contains(':')
        && (value.ends_with(".amazonaws.com") || value.ends_with(".amazonaws.com.cn"))
}

/// Who `value`, a principal of type `kind`, is for a key in `account`.
pub fn classify(kind: &str, value: &str, account: &str) -> Principal {
    match kind {
        "AWS" if value == "*" => Principal::Anyone,
        "AWS" if is_unique_id(value) => Principal::Deleted,
        "AWS" => match arn_account(value) {
            Some(a) if a == account => Principal::SameAccount,
            Some(a) => Principal::OtherAccount(a.to_string()),
            None if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) => {
                if value == account {
                    Principal::SameAccount
                } else {
                    Principal::OtherAccount(value.to_string())
                }
            }
            None => Principal::Other,
        },
        "Service" if value == "*" => Principal::Anyone,
        "Service" => Principal::Service,
        _ if value == "*" => Principal::Anyone,
        _ => Principal::Other,
    }
}

/// Condition keys that, compared positively with a value that is not a
/// wildcard, limit who can use a statement to an account, an organisation,
/// a network or a named principal or resource (as IAM Access Analyzer and
/// Security Hub KMS.5 read them). `kms:ViaService` alone does not: any
/// account's callers can reach a key through a service.
const LIMITING_KEYS: [&str; 12] = [
    "kms:calleraccount",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:resourceaccount",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalarn",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:userid",
];

/// Keys whose values are account ids.
const ACCOUNT_KEYS: [&str; 5] = [
    "kms:calleraccount",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:resourceaccount",
];

/// Operators that compare positively (an `…IfExists` operator does not
/// limit a request that lacks the key).
fn positive(op: &str) -> bool {
    let op = op.strip_prefix("ForAnyValue:").unwrap_or(op);
    matches!(
        op,
        "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" | "ArnEquals" | "ArnLike"
    )
}

/// Whether a condition value pins something (Security Hub KMS.5: "only
/// fixed values"): no `*` or `?`, except in the resource part of an ARN
/// whose account is fixed (`arn:aws:iam::111122223333:role/*`) and below a
/// fixed organisation in `aws:PrincipalOrgPaths` (`o-abc/r-ab12/ou-*`). An
/// ARN without an account (an S3 bucket) must be fixed whole.
fn pins(key: &str, value: &str) -> bool {
    let wild = |v: &str| v.contains(['*', '?']);
    if value.is_empty() {
        return false;
    }
    if value.starts_with("arn:") {
        return match value.split(':').nth(4) {
            Some(account) if !account.is_empty() => !wild(account),
            _ => !wild(value),
        };
    }
    if key == "aws:principalorgpaths" {
        return value
            .split('/')
            .next()
            .is_some_and(|org| org.starts_with("o-") && !wild(org));
    }
    !wild(value)
}

/// The limiting conditions of a statement: (key, values) pairs.
fn limits(s: &Statement) -> Vec<(&str, &BTreeSet<String>)> {
    s.condition
        .iter()
        .filter(|(op, _)| positive(op))
        .flat_map(|(_, keys)| keys.iter())
        .filter(|(key, values)| {
            LIMITING_KEYS.contains(&key.as_str()) && values.iter().all(|v| pins(key, v))
        })
        .map(|(k, v)| (k.as_str(), v))
        .collect()
}

/// The accounts a statement's conditions pin callers to: the values of the
/// account keys, and the accounts of the principal or source ARNs.
pub fn pinned_accounts(s: &Statement) -> BTreeSet<String> {
    limits(s)
        .into_iter()
        .flat_map(|(k, values)| {
            values.iter().filter_map(move |v| {
                if ACCOUNT_KEYS.contains(&k) {
                    Some(v.clone())
                } else if matches!(k, "aws:principalarn" | "aws:sourcearn") {
                    v.split(':')
                        .nth(4)
                        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                        .map(str::to_string)
                } else {
                    None
                }
            })
        })
        .collect()
}

/// Why an `Allow` statement makes a key usable by anyone, or `None`.
pub fn public_reason(s: &Statement) -> Option<String> {
    if s.effect != "Allow" {
        return None;
    }
    if s.not_principal.is_some() && limits(s).is_empty() {
        return Some(
            "it allows everyone but the principals it names (NotPrincipal), with no condition \
             that limits callers to an account, organisation, network or named principal"
                .into(),
        );
    }
    let anyone = s
        .principal
        .as_ref()
        .is_some_and(|p| p.values().any(|v| v.contains("*")));
    if anyone && limits(s).is_empty() {
        Some(
            "it allows principal \"*\" with no condition that limits callers to an account, \
             organisation, network or named principal"
                .into(),
        )
    } else {
        None
    }
}

/// The risk of a live statement and what makes it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// How risky it is.
    pub severity: Severity,
    /// What makes it so, for the detail (`None` for an ordinary finding).
    pub note: Option<String>,
}

impl Assessment {
    fn new(severity: Severity, note: Option<String>) -> Self {
        Self { severity, note }
    }
}

/// The risk of a key-policy statement that keys.toml does not declare, for a
/// key in `account`: public is critical, another account high, a deleted
/// principal or anything else medium.
pub fn assess_statement(s: &Statement, account: &str) -> Assessment {
    if let Some(why) = public_reason(s) {
        return Assessment::new(
            Severity::Critical,
            Some(format!("it makes the key usable by anyone: {why}")),
        );
    }
    let mut others: BTreeSet<String> = BTreeSet::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    for (kind, values) in s.principal.iter().flatten() {
        for v in values {
            match classify(kind, v, account) {
                Principal::OtherAccount(a) => {
                    others.insert(a);
                }
                Principal::Deleted => {
                    deleted.insert(v.clone());
                }
                _ => {}
            }
        }
    }
    if s.principal
        .as_ref()
        .is_some_and(|p| p.values().any(|v| v.contains("*")))
    {
        others.extend(pinned_accounts(s).into_iter().filter(|a| a != account));
    }
    if s.effect == "Allow" && !others.is_empty() {
        let list: Vec<String> = others.into_iter().collect();
        return Assessment::new(
            Severity::High,
            Some(format!(
                "it lets another account use the key: {}",
                list.join(", ")
            )),
        );
    }
    if !deleted.is_empty() {
        let list: Vec<String> = deleted.into_iter().collect();
        return Assessment::new(
            Severity::Medium,
            Some(format!(
                "it names a principal that no longer exists (AWS shows a deleted principal as its unique id: {})",
                list.join(", ")
            )),
        );
    }
    Assessment::new(Severity::Medium, None)
}

/// `Allow AWS arn:…:root, Service logs… → kms:Decrypt, kms:Encrypt on * if
/// StringEquals kms:ViaService=s3.eu-west-1.amazonaws.com`: what a statement
/// grants, in one line.
pub fn describe_statement(s: &Statement) -> String {
    let principals = |label: &str, p: &super::Principals| {
        let items: Vec<String> = p
            .iter()
            .flat_map(|(kind, values)| values.iter().map(move |v| format!("{kind} {v}")))
            .collect();
        format!("{label}{}", items.join(", "))
    };
    let mut out = s.effect.clone();
    if let Some(p) = &s.principal {
        out.push(' ');
        out.push_str(&principals("", p));
    }
    if let Some(p) = &s.not_principal {
        out.push(' ');
        out.push_str(&principals("everyone but ", p));
    }
    out.push_str(" →");
    if let Some(a) = &s.action {
        out.push(' ');
        out.push_str(&a.iter().collect::<Vec<_>>().join(", "));
    }
    if let Some(a) = &s.not_action {
        out.push_str(" every action but ");
        out.push_str(&a.iter().collect::<Vec<_>>().join(", "));
    }
    if let Some(r) = &s.resource {
        out.push_str(" on ");
        out.push_str(&r.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    if let Some(r) = &s.not_resource {
        out.push_str(" on every resource but ");
        out.push_str(&r.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    let conditions: Vec<String> = s
        .condition
        .iter()
        .flat_map(|(op, keys)| {
            keys.iter().map(move |(key, values)| {
                let spelled = s.condition_keys.get(key).unwrap_or(key);
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                format!("{op} {spelled}={}", values.join("|"))
            })
        })
        .collect();
    if conditions.is_empty() {
        out.push_str(", no condition");
    } else {
        out.push_str(" if ");
        out.push_str(&conditions.join(" and "));
    }
    out
}

/// Whether a grant is one an AWS service made for an AWS resource of this
/// account (EBS, RDS, Secrets Manager … through `kms:ViaService`): its
/// grantee is a service principal, a service-linked role or an AWS-internal
/// session of this account, and this account issued it.
pub fn is_expected_service_grant(g: &KmsGrant, account: &str) -> bool {
    let issued_here = g
        .issuing_account
        .as_deref()
        .is_none_or(|a| arn_account(a) == Some(account) || a == account);
    let by_service = g.grantee_service.is_some()
        || g.grantee.as_deref().is_some_and(|p| {
            is_service_principal(p)
                || (arn_account(p) == Some(account)
                    && (p.contains(":role/aws-service-role/")
                        || p.contains(":assumed-role/aws-service-role/")
                        || p.contains(":assumed-role/aws:")))
        });
    issued_here && by_service
}

/// The risk of a grant that is not an AWS service's, for a key in `account`.
pub fn assess_grant(g: &KmsGrant, account: &str) -> Assessment {
    let grantee = g.grantee.as_deref().unwrap_or("");
    if grantee == "*" {
        return Assessment::new(
            Severity::Critical,
            Some("it makes the key usable by anyone".into()),
        );
    }
    let issuer = g.issuing_account.as_deref().and_then(arn_account);
    match classify("AWS", grantee, account) {
        Principal::OtherAccount(a) => Assessment::new(
            Severity::High,
            Some(format!("it lets another account use the key: {a}")),
        ),
        Principal::Deleted => Assessment::new(
            Severity::Medium,
            Some(format!(
                "its grantee no longer exists (AWS shows a deleted principal as its unique id: {grantee})"
            )),
        ),
        _ if issuer.is_some_and(|i| i != account) => Assessment::new(
            Severity::High,
            Some(format!(
                "another account issued it: {}",
                issuer.unwrap_or_default()
            )),
        ),
        _ => Assessment::new(Severity::Medium, None),
    }
}

/// `grant g-1 "name" to arn:… for Decrypt, GenerateDataKey; constraints …;
/// retiring principal …; issued by …`.
pub fn describe_grant(g: &KmsGrant) -> String {
    let mut out = format!("grant {}", g.grant_id);
    if let Some(n) = &g.name {
        out.push_str(&format!(" ({n:?})"));
    }
    out.push_str(&format!(
        " to {} for {}",
        g.grantee
            .as_deref()
            .or(g.grantee_service.as_deref())
            .unwrap_or("(no grantee)"),
        if g.operations.is_empty() {
            "no operation".to_string()
        } else {
            g.operations.join(", ")
        }
    ));
    let mut constraints: Vec<String> = g
        .constraints
        .iter()
        .map(|(kind, pairs)| {
            let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{kind} {}", pairs.join(", "))
        })
        .collect();
    if let Some(arn) = &g.source_arn {
        constraints.push(format!("SourceArn {arn}"));
    }
    if constraints.is_empty() {
        out.push_str(", no constraint");
    } else {
        out.push_str(&format!(", constraints: {}", constraints.join("; ")));
    }
    if let Some(r) = &g.retiring {
        out.push_str(&format!(", retiring principal {r}"));
    }
    if let Some(i) = &g.issuing_account {
        out.push_str(&format!(", issued by {i}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Document;
    use std::collections::BTreeMap;

    const ACCOUNT: &str = "111111111111";

    fn statement(json: &str) -> Statement {
        let doc = Document::parse(&format!(r#"{{"Statement":[{json}]}}"#), "aws")
            .unwrap_or_else(|e| panic!("{e}"));
        doc.statements[0].clone()
    }

    #[test]
    fn public_in_every_usual_form() {
        for principal in [r#""*""#, r#"{"AWS":"*"}"#, r#"{"AWS":["*"]}"#] {
            let s = statement(&format!(
                r#"{{"Effect":"Allow","Principal":{principal},"Action":"kms:Decrypt","Resource":"*"}}"#
            ));
            assert!(public_reason(&s).is_some(), "{principal}");
            assert_eq!(assess_statement(&s, ACCOUNT).severity, Severity::Critical);
        }
        // NotPrincipal with Allow lets in everyone else.
        let s = statement(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}"#,
        );
        assert!(public_reason(&s).is_some());
    }

    #[test]
    fn a_condition_that_pins_the_account_is_not_public() {
        let pinned = statement(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
               "Condition":{"StringEquals":{"kms:CallerAccount":"111111111111"}}}"#,
        );
        assert_eq!(public_reason(&pinned), None);
        assert_eq!(
            assess_statement(&pinned, ACCOUNT).severity,
            Severity::Medium
        );
        // Pinned to another account: cross-account, high.
        let other = statement(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*",
               "Condition":{"StringEquals":{"aws:PrincipalAccount":"999999999999"}}}"#,
        );
        let a = assess_statement(&other, ACCOUNT);
        assert_eq!(a.severity, Severity::High);
        assert!(a.note.unwrap_or_default().contains("999999999999"));
        // Conditions that do not limit the caller: still public.
        for condition in [
            r#"{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}"#,
            r#"{"StringLike":{"kms:CallerAccount":"*"}}"#,
            r#"{"StringEqualsIfExists":{"kms:CallerAccount":"111111111111"}}"#,
            r#"{"StringNotEquals":{"kms:CallerAccount":"999999999999"}}"#,
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}"#,
        ] {
            let s = statement(&format!(
                r#"{{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{condition}}}"#
            ));
            assert!(public_reason(&s).is_some(), "{condition}");
        }
        // A Deny is never public.
        let deny =
            statement(r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#);
        assert_eq!(public_reason(&deny), None);
    }

    #[test]
    fn principals_of_other_accounts_and_deleted_ones() {
        let s = statement(
            r#"{"Effect":"Allow","Principal":{"AWS":["999999999999","arn:aws:iam::111111111111:role/app"]},"Action":"kms:Decrypt","Resource":"*"}"#,
        );
        let a = assess_statement(&s, ACCOUNT);
        assert_eq!(a.severity, Severity::High);
        assert!(a.note.unwrap_or_default().contains("999999999999"));
        let s = statement(
            r#"{"Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEEXAMPLE123"},"Action":"kms:Decrypt","Resource":"*"}"#,
        );
        let a = assess_statement(&s, ACCOUNT);
        assert_eq!(a.severity, Severity::Medium);
        assert!(a.note.unwrap_or_default().contains("AROAEXAMPLEEXAMPLE123"));
        assert!(is_unique_id("AIDAJQABLZS4A3QDU576Q"));
        assert!(!is_unique_id("arn:aws:iam::1:root"));
        assert!(!is_unique_id("AROA"));
    }

    #[test]
    fn statements_are_described_with_principal_actions_and_conditions() {
        let s = statement(
            r#"{"Sid":"X","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},
               "Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*",
               "Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}}"#,
        );
        assert_eq!(
            describe_statement(&s),
            "Allow AWS arn:aws:iam::999999999999:root → kms:Decrypt, kms:DescribeKey on * if StringEquals kms:ViaService=s3.eu-west-1.amazonaws.com"
        );
    }

    fn grant(grantee: &str, issuer: &str) -> KmsGrant {
        KmsGrant {
            grant_id: "g1".into(),
            name: None,
            grantee: Some(grantee.into()),
            grantee_service: None,
            retiring: None,
            issuing_account: Some(issuer.into()),
            operations: vec!["Decrypt".into(), "GenerateDataKey".into()],
            constraints: BTreeMap::from([(
                "EncryptionContextSubset".to_string(),
                BTreeMap::from([("aws:rds:db-id".to_string(), "db-1".to_string())]),
            )]),
            source_arn: None,
        }
    }

    #[test]
    fn service_grants_are_expected_others_are_not() {
        let here = "arn:aws:iam::111111111111:root";
        for grantee in [
            "rds.eu-west-1.amazonaws.com",
            "secretsmanager.amazonaws.com",
            "arn:aws:sts::111111111111:assumed-role/aws:ec2-infrastructure/i-0123",
            "arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        ] {
            assert!(is_expected_service_grant(&grant(grantee, here), ACCOUNT), "{grantee}");
        }
        // A service grant issued by another account is not expected.
        assert!(!is_expected_service_grant(
            &grant(
                "rds.eu-west-1.amazonaws.com",
                "arn:aws:iam::999999999999:root"
            ),
            ACCOUNT
        ));
        let g = grant("arn:aws:iam::999999999999:root", here);
        assert!(!is_expected_service_grant(&g, ACCOUNT));
        assert_eq!(assess_grant(&g, ACCOUNT).severity, Severity::High);
        assert_eq!(
            describe_grant(&g),
            "grant g1 to arn:aws:iam::999999999999:root for Decrypt, GenerateDataKey, constraints: EncryptionContextSubset aws:rds:db-id=db-1, issued by arn:aws:iam::111111111111:root"
        );
        let g = grant("arn:aws:iam::111111111111:role/app", here);
        assert_eq!(assess_grant(&g, ACCOUNT).severity, Severity::Medium);
        let g = grant("AROAEXAMPLEEXAMPLE123", here);
        assert_eq!(assess_grant(&g, ACCOUNT).severity, Severity::Medium);
        let g = grant("*", here);
        assert_eq!(assess_grant(&g, ACCOUNT).severity, Severity::Critical);
    }
}
