//! Names c3 builds and reads back: partitions, key ARNs, the names of the
//! managed policies and their kinds, and the order of policy versions. One
//! home for each, so the planner, the reader and apply agree.

use super::Target;

/// The AWS partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// The DNS suffix of service endpoints in a region's partition.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The ARN of a key (`arn:<partition>:kms:<region>:<account>:key/<id>`).
pub fn key_arn(target: &Target, key_id: &str) -> String {
    format!(
        "arn:{}:kms:{}:{}:key/{key_id}",
        partition(&target.region),
        target.region,
        target.account
    )
}

/// The target and key id of a key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`).
pub fn parse_key_arn(arn: &str) -> Option<(Target, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("kms"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let id = rest.strip_prefix("key/").filter(|id| !id.is_empty())?;
    Some((Target::new(account, region), id))
}

/// The managed policies of a key name; which of them a key has follows
/// its usage ([`PolicyKind::for_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// `allow-encrypt-<name>`.
    Encrypt,
    /// `allow-decrypt-<name>`.
    Decrypt,
    /// `allow-crypto-<name>`.
    Crypto,
    /// `allow-sign-<name>` (signing keys).
    Sign,
    /// `allow-verify-<name>` (signing keys).
    Verify,
    /// `allow-mac-<name>` (HMAC keys).
    Mac,
    /// `allow-verify-mac-<name>` (HMAC keys).
    VerifyMac,
}

impl PolicyKind {
    /// All kinds, in the order plans list them.
    pub const ALL: [PolicyKind; 7] = [
        Self::Encrypt,
        Self::Decrypt,
        Self::Crypto,
        Self::Sign,
        Self::Verify,
        Self::Mac,
        Self::VerifyMac,
    ];

    /// The kinds of an encryption key (`ENCRYPT_DECRYPT`).
    pub const ENCRYPTION: [PolicyKind; 3] = [Self::Encrypt, Self::Decrypt, Self::Crypto];

    /// The kinds of a key of this usage (`ENCRYPT_DECRYPT`, `SIGN_VERIFY`,
    /// `GENERATE_VERIFY_MAC`); none for a usage c3 does not know.
    pub fn for_usage(usage: &str) -> &'static [PolicyKind] {
        match usage {
            super::key_type::ENCRYPT_DECRYPT => &Self::ENCRYPTION,
            super::key_type::SIGN_VERIFY => &[Self::Sign, Self::Verify],
            super::key_type::GENERATE_VERIFY_MAC => &[Self::Mac, Self::VerifyMac],
            _ => &[],
        }
    }

    /// The policy name for a key name.
    pub fn policy_name(self, key: &str) -> String {
        format!("{}{key}", self.prefix())
    }

    /// `allow-<word>-`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Encrypt => "allow-encrypt-",
            Self::Decrypt => "allow-decrypt-",
            Self::Crypto => "allow-crypto-",
            Self::Sign => "allow-sign-",
            Self::Verify => "allow-verify-",
            Self::Mac => "allow-mac-",
            Self::VerifyMac => "allow-verify-mac-",
        }
    }

    /// `encrypt`, `decrypt`, `crypto`, `sign`, `verify`, `mac` or `verify-mac`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::Crypto => "crypto",
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::Mac => "mac",
            Self::VerifyMac => "verify-mac",
        }
    }

    /// The kind of a word (`encrypt`, ..., `verify-mac`).
    pub fn from_word(word: &str) -> Option<PolicyKind> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }

    /// Splits a policy name, spelled exactly as c3 writes it, into kind and
    /// key name; the longest prefix wins (`allow-verify-mac-x` is the
    /// verify-mac policy of `x`).
    pub fn parse_name(name: &str) -> Option<(PolicyKind, &str)> {
        Self::ALL
            .into_iter()
            .filter_map(|k| {
                name.strip_prefix(k.prefix())
                    .filter(|rest| !rest.is_empty())
                    .map(|rest| (k, rest))
            })
            .min_by_key(|(_, rest)| rest.len())
    }

    /// Whether a policy name is one of c3's names ignoring case (IAM compares
    /// policy names without case, so such a name is taken for c3's).
    pub fn is_c3_like(name: &str) -> bool {
        Self::ALL.into_iter().any(|k| {
            let p = k.prefix();
            name.len() > p.len()
                && name
                    .get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
        })
    }
}

/// The order of policy version ids: by number (`v2` before `v10`), then by text.
pub fn version_order(id: &str) -> (u64, &str) {
    let number = id
        .strip_prefix(['v', 'V'])
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    (number, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_parse_back() {
        assert_eq!(
            PolicyKind::parse_name("allow-crypto-a-b"),
            Some((PolicyKind::Crypto, "a-b"))
        );
        assert_eq!(PolicyKind::parse_name("allow-encrypt-"), None);
        assert_eq!(PolicyKind::parse_name("deny-encrypt-x"), None);
        assert_eq!(PolicyKind::parse_name("Allow-Encrypt-x"), None);
        assert!(PolicyKind::is_c3_like("Allow-Encrypt-x"));
        assert!(!PolicyKind::is_c3_like("allow-crypto-"));
        assert!(PolicyKind::is_c3_like("allow-sign-x"));
        assert!(!PolicyKind::is_c3_like("allow-foo-x"));
        assert_eq!(
            PolicyKind::parse_name("allow-verify-mac-x"),
            Some((PolicyKind::VerifyMac, "x"))
        );
        assert_eq!(
            PolicyKind::parse_name("allow-verify-x"),
            Some((PolicyKind::Verify, "x"))
        );
    }

    #[test]
    fn versions_sort_by_number() {
        let mut ids = vec!["v10", "v2", "v9", "vX"];
        ids.sort_by_key(|id| version_order(id));
        assert_eq!(ids, vec!["v2", "v9", "v10", "vX"]);
    }

    #[test]
    fn key_arns_follow_the_partition() {
        let t = Target::new("111111111111", "cn-north-1");
        assert_eq!(
            key_arn(&t, "k"),
            "arn:aws-cn:kms:cn-north-1:111111111111:key/k"
        );
    }
}
