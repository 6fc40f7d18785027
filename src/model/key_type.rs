//! The kinds of KMS key c3 declares: key spec and key usage (the pairs AWS
//! accepts), and whether the key is multi-Region. AWS fixes all of them at
//! creation, so a difference from the live key needs a new key (a
//! generation bump), never a write.
//!
//! The pairs are AWS's table "Key spec reference"
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html>).

use serde::Serialize;

/// `SYMMETRIC_DEFAULT`: the spec of a key that declares none.
pub const DEFAULT_SPEC: &str = "SYMMETRIC_DEFAULT";
/// `ENCRYPT_DECRYPT`: the usage of a key that declares none.
pub const ENCRYPT_DECRYPT: &str = "ENCRYPT_DECRYPT";
/// `SIGN_VERIFY`: signing keys.
pub const SIGN_VERIFY: &str = "SIGN_VERIFY";
/// `GENERATE_VERIFY_MAC`: HMAC keys.
pub const GENERATE_VERIFY_MAC: &str = "GENERATE_VERIFY_MAC";

/// Every key spec c3 creates, with the usages AWS accepts for it (c3's
/// usages only: `KEY_AGREEMENT` and `ENCAPSULATE_DECAPSULATE` are not
/// among them).
pub const SPECS: &[(&str, &[&str])] = &[
    ("SYMMETRIC_DEFAULT", &[ENCRYPT_DECRYPT]),
    ("RSA_2048", &[ENCRYPT_DECRYPT, SIGN_VERIFY]),
    ("RSA_3072", &[ENCRYPT_DECRYPT, SIGN_VERIFY]),
    ("RSA_4096", &[ENCRYPT_DECRYPT, SIGN_VERIFY]),
    ("ECC_NIST_P256", &[SIGN_VERIFY]),
    ("ECC_NIST_P384", &[SIGN_VERIFY]),
    ("ECC_NIST_P521", &[SIGN_VERIFY]),
    ("ECC_SECG_P256K1", &[SIGN_VERIFY]),
    ("ECC_NIST_EDWARDS25519", &[SIGN_VERIFY]),
    ("ML_DSA_44", &[SIGN_VERIFY]),
    ("ML_DSA_65", &[SIGN_VERIFY]),
    ("ML_DSA_87", &[SIGN_VERIFY]),
    ("SM2", &[ENCRYPT_DECRYPT, SIGN_VERIFY]),
    ("HMAC_224", &[GENERATE_VERIFY_MAC]),
    ("HMAC_256", &[GENERATE_VERIFY_MAC]),
    ("HMAC_384", &[GENERATE_VERIFY_MAC]),
    ("HMAC_512", &[GENERATE_VERIFY_MAC]),
];

/// The usages c3 declares.
pub const USAGES: [&str; 3] = [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC];

/// The usages AWS accepts for a spec c3 knows.
pub fn usages_of(spec: &str) -> Option<&'static [&'static str]> {
    SPECS.iter().find(|(s, _)| *s == spec).map(|(_, u)| *u)
}

/// Every (spec, usage) pair AWS accepts, as `SPEC/USAGE`, for messages.
pub fn allowed_pairs() -> Vec<String> {
    SPECS
        .iter()
        .flat_map(|(s, us)| us.iter().map(move |u| format!("{s}/{u}")))
        .collect()
}

/// What a key is: AWS fixes each of these at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyType {
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `ECC_NIST_P256`, `HMAC_256`, ...
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY` or `GENERATE_VERIFY_MAC`.
    pub usage: String,
    /// The primary's region of a multi-Region key; `None` for a key of one
    /// region.
    pub primary_region: Option<String>,
}

impl Default for KeyType {
    fn default() -> Self {
        Self {
            spec: DEFAULT_SPEC.into(),
            usage: ENCRYPT_DECRYPT.into(),
            primary_region: None,
        }
    }
}

impl KeyType {
    /// A symmetric encryption key of one region (what c3 always made).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// `SYMMETRIC_DEFAULT` / `ENCRYPT_DECRYPT`: the only kind AWS rotates
    /// automatically and AWS services integrate with (`kms:ViaService`,
    /// grants for AWS resources).
    pub fn is_symmetric_encryption(&self) -> bool {
        self.spec == DEFAULT_SPEC && self.usage == ENCRYPT_DECRYPT
    }

    /// Whether AWS supports automatic rotation of the key.
    pub fn supports_rotation(&self) -> bool {
        kind_rotates(&self.spec, &self.usage)
    }

    /// Whether the key is multi-Region.
    pub fn multi_region(&self) -> bool {
        self.primary_region.is_some()
    }

    /// Whether `region` holds a replica (not the primary) of a
    /// multi-Region key.
    pub fn is_replica_region(&self, region: &str) -> bool {
        self.primary_region.as_deref().is_some_and(|p| p != region)
    }

    /// Words for plans: `symmetric`, `RSA_2048 SIGN_VERIFY`,
    /// `multi-Region HMAC_256 GENERATE_VERIFY_MAC`.
    pub fn words(&self) -> String {
        let kind = if self.is_symmetric_encryption() {
            "symmetric".to_string()
        } else {
            format!("{} {}", self.spec, self.usage)
        };
        if self.multi_region() {
            format!("multi-Region {kind}")
        } else {
            kind
        }
    }
}

/// Whether AWS rotates keys of this spec and usage automatically (only
/// `SYMMETRIC_DEFAULT` / `ENCRYPT_DECRYPT`); an empty spec or usage (a
/// DescribeKey answer without it) is the AWS default. The one notion of
/// "supports rotation" for planner and audit.
pub fn kind_rotates(spec: &str, usage: &str) -> bool {
    let spec = if spec.is_empty() { DEFAULT_SPEC } else { spec };
    let usage = if usage.is_empty() {
        ENCRYPT_DECRYPT
    } else {
        usage
    };
    spec == DEFAULT_SPEC && usage == ENCRYPT_DECRYPT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_follow_aws() {
        assert_eq!(usages_of("SYMMETRIC_DEFAULT"), Some(&[ENCRYPT_DECRYPT][..]));
        assert_eq!(usages_of("HMAC_256"), Some(&[GENERATE_VERIFY_MAC][..]));
        assert!(usages_of("ECC_NIST_P256").is_some_and(|u| !u.contains(&ENCRYPT_DECRYPT)));
        assert_eq!(usages_of("ML_KEM_768"), None);
        assert!(allowed_pairs().contains(&"RSA_2048/SIGN_VERIFY".to_string()));
        let t = KeyType::default();
        assert!(t.is_default() && t.supports_rotation() && !t.multi_region());
        assert_eq!(t.words(), "symmetric");
    }
}
