//! The shared predicates of validation: what a name, an id, a region, a
//! service, a path or an ARN may be, and how a user's value is shown in a
//! message.

use std::ops::RangeInclusive;

/// A user's value quoted for a message, shortened when long.
pub(crate) fn show(value: &str) -> String {
    const MAX: usize = 48;
    let n = value.chars().count();
    if n <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX - 8).collect();
        format!("{head:?}...")
    }
}

/// `"1 character"`, `"3 characters"`.
pub(crate) fn characters(n: usize) -> String {
    if n == 1 {
        "1 character".into()
    } else {
        format!("{n} characters")
    }
}

fn is_word_or(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || extra.contains(c)
}

/// Why an account, classification or key name is not 1..=max of `[A-Za-z0-9_-]`.
pub(crate) fn name_problem(name: &str, max: usize) -> Option<String> {
    if name.is_empty() {
        Some("is empty".into())
    } else {
        word_problem(name, 1..=max, "-")
    }
}

/// Why `value` is not `len` characters of `[A-Za-z0-9_]` and `extra`.
fn word_problem(value: &str, len: RangeInclusive<usize>, extra: &str) -> Option<String> {
    let n = value.chars().count();
    if len.contains(&n) {
        value
            .chars()
            .find(|c| !is_word_or(*c, extra))
            .map(|c| format!("contains {c:?}"))
    } else {
        Some(format!("is {} long", characters(n)))
    }
}

/// Exactly 12 ASCII digits.
pub(crate) fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// `^[a-z]{2}(-[a-z]+)+-[0-9]+$`
pub(crate) fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// A lowercase DNS label: `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`.
pub(crate) fn is_service(name: &str) -> bool {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= 63 && ok(first) && ok(last) && bytes.iter().all(|&b| ok(b) || b == b'-')
        }
        _ => false,
    }
}

/// Why a policy path is not an IAM path (`/` or `/[\x21-\x7E]+/`, 512 at most).
pub(crate) fn policy_path_problem(path: &str) -> Option<String> {
    let len = path.chars().count();
    if len > 512 {
        Some(format!("is {} long", characters(len)))
    } else if let Some(c) = path.chars().find(|c| !('\x21'..='\x7e').contains(c)) {
        Some(format!("contains {c:?}"))
    } else if !path.starts_with('/') || !path.ends_with('/') {
        Some("does not begin and end with `/`".into())
    } else if path == "//" {
        Some("has an empty segment".into())
    } else {
        None
    }
}

/// Why a session name is not 2..=64 of `[\w+=,.@-]`.
pub(crate) fn session_name_problem(name: &str) -> Option<String> {
    word_problem(name, 2..=64, "+=,.@-")
}

/// Why an external id is not 2..=1224 of `[\w+=,.@:/-]`.
pub(crate) fn external_id_problem(id: &str) -> Option<String> {
    word_problem(id, 2..=1224, "+=,.@:/-")
}

/// `arn:<partition>:iam::<12 digits>:role/<path/><name>` → (partition, account).
pub(crate) fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !matches!(
        partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    ) {
        return None;
    }
    let rest = rest.strip_prefix("iam::")?;
    let (account, rest) = rest.split_once(':')?;
    if !is_account_id(account) {
        return None;
    }
    let role = rest.strip_prefix("role/")?;
    let (role_path, name) = match role.rfind('/') {
        Some(i) => (&role[..=i], &role[i + 1..]),
        None => ("", role),
    };
    let path_ok =
        role_path.len() <= 511 && role_path.chars().all(|c| ('\x21'..='\x7e').contains(&c));
    let name_ok = (1..=64).contains(&name.len()) && name.chars().all(|c| is_word_or(c, "+=,.@-"));
    (path_ok && name_ok).then_some((partition, account))
}

/// Characters KMS allows in tag keys and values.
pub(crate) fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || "_.:/=+-@".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "eu-west-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-2",
            "us-isob-east-1",
            "eu-central-12",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "eu",
            "eu-1",
            "eu-west",
            "EU-west-1",
            "eu-west-",
            "eu--1",
            "eur-west-1",
            "eu-west-1a",
            "eu_west_1",
            "eu-west-1 ",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn services() {
        for ok in ["s3", "secretsmanager", "lex-v2", "a", &"a".repeat(63)] {
            assert!(is_service(ok), "{ok}");
        }
        for bad in [
            "",
            "-s3",
            "s3-",
            "S3",
            "logs.amazonaws.com",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(!is_service(bad), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111111111111:role/c3"),
            Some(("aws", "111111111111"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-us-gov:iam::111111111111:role/team/sub/c3-admin"),
            Some(("aws-us-gov", "111111111111"))
        );
        for bad in [
            "arn:aws:iam::111111111111:user/c3",
            "arn:aws:iam::11111111111:role/c3",
            "arn:aws:iam:eu-west-1:111111111111:role/c3",
            "arn:azure:iam::111111111111:role/c3",
            "arn:aws:iam::111111111111:role/",
            "arn:aws:iam::111111111111:role/a b",
            "arn:aws:sts::111111111111:assumed-role/c3/x",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_strings() {
        assert_eq!(policy_path_problem("/"), None);
        assert_eq!(policy_path_problem("/c3/keys/"), None);
        assert!(policy_path_problem("c3/").is_some());
        assert!(policy_path_problem("/c3").is_some());
        assert!(policy_path_problem("/c 3/").is_some());
        assert!(policy_path_problem("//").is_some());
        assert_eq!(session_name_problem("c3"), None);
        assert!(session_name_problem("c").is_some());
        assert!(session_name_problem("c3 run").is_some());
        assert_eq!(external_id_problem("ab:/=,.@+-_9"), None);
        assert!(external_id_problem("a").is_some());
        assert!(external_id_problem("a b").is_some());
    }

    #[test]
    fn tag_chars() {
        for c in [
            'a', 'Z', '9', 'é', '日', ' ', '_', '.', ':', '/', '=', '+', '-', '@',
        ] {
            assert!(is_tag_char(c), "{c:?}");
        }
        for c in ['\t', '\n', '#', '!', '*', '"', '\''] {
            assert!(!is_tag_char(c), "{c:?}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(name_problem("prod_1-a", 64), None);
        assert!(name_problem("", 64).is_some());
        assert!(name_problem("a.b", 64).is_some());
        assert!(name_problem(&"a".repeat(65), 64).is_some());
    }
}
