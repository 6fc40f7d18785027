//! An estate for `c3 audit`'s tests: in one account and region, a key in every
//! state the audit judges, seeded with the SDK as people and other tools make
//! them. Every key policy is literal JSON written here, never built with c3's
//! policy builder. [`seed`] returns what it made ([`AuditEstate`]), each key
//! with its [`Role`].
//!
//! What the audit should conclude is not written here: the roles say what a
//! key *is*; the tests assert the verdicts (see `/tmp/audit-research.md` for
//! what Security Hub and Prowler say of each form).
//!
//! Emulator notes: moto accepts `Origin=EXTERNAL` and leaves the key
//! `Enabled` (AWS: `PendingImport` until key material is imported; moto has
//! no GetParametersForImport). Every key is `SYMMETRIC_DEFAULT` unless its
//! role says otherwise.

use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{GrantOperation, KeySpec, KeyUsageType, OriginType, Tag};

use super::estates::{Seed, CONSOLE_KEY_POLICY};

/// Who a public statement names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublicPrincipal {
    /// `"Principal": "*"`
    Star,
    /// `"Principal": {"AWS": "*"}`
    AwsStar,
    /// `"Principal": {"AWS": ["*"]}`
    AwsStarList,
}

impl PublicPrincipal {
    pub const ALL: [Self; 3] = [Self::Star, Self::AwsStar, Self::AwsStarList];

    fn json(self) -> &'static str {
        match self {
            Self::Star => r#""*""#,
            Self::AwsStar => r#"{"AWS": "*"}"#,
            Self::AwsStarList => r#"{"AWS": ["*"]}"#,
        }
    }
}

/// The condition on a public statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublicCondition {
    /// No `Condition`: public by every definition.
    Unconditional,
    /// `StringEquals` on the key's own account: `kms:CallerAccount` for
    /// [`PublicPrincipal::Star`] and [`PublicPrincipal::AwsStarList`],
    /// `aws:PrincipalAccount` for [`PublicPrincipal::AwsStar`]. Not public.
    PinsAccount,
    /// Only `StringEquals kms:ViaService = s3.<region>.amazonaws.com`: any
    /// account's principals may still use the key through S3. Public by AWS's
    /// definition; Prowler's `kms_key_not_publicly_accessible` passes it.
    ViaServiceOnly,
}

impl PublicCondition {
    pub const ALL: [Self; 3] = [Self::Unconditional, Self::PinsAccount, Self::ViaServiceOnly];

    fn json(self, principal: PublicPrincipal) -> &'static str {
        match (self, principal) {
            (Self::Unconditional, _) => "",
            (Self::PinsAccount, PublicPrincipal::AwsStar) => {
                r#", "Condition": {"StringEquals": {"aws:PrincipalAccount": "ACCOUNT"}}"#
            }
            (Self::PinsAccount, _) => {
                r#", "Condition": {"StringEquals": {"kms:CallerAccount": "ACCOUNT"}}"#
            }
            (Self::ViaServiceOnly, _) => {
                r#", "Condition": {"StringEquals": {"kms:ViaService": "s3.REGION.amazonaws.com"}}"#
            }
        }
    }
}

/// What a seeded key is. Every key has rotation on at 365 days unless its role says otherwise
/// ([`AuditKey::rotation_days`]), the console's default key policy unless its role names another
/// (managed keys: the root-trust policy c3 writes), and `alias/audit-<role>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Tagged by c3 (`c3:managed`, `c3:name`, `c3:classification=internal`,
    /// `c3:generation=1`), `alias/<name>`, rotation on at 365 days.
    ManagedRotated,
    /// Tagged by c3, rotation off.
    ManagedRotationOff,
    /// Tagged by c3 (`internal`, whose period a keys.toml would declare as
    /// 365), rotation on at 180 days: a period other than the declared one.
    ManagedOtherPeriod,
    /// No c3 tag, the console's policy, rotation on at 365 days.
    UnmanagedRotated,
    /// No c3 tag, rotation off.
    UnmanagedRotationOff,
    /// No c3 tag, rotation on, then disabled.
    Disabled,
    /// No c3 tag, rotation on, then scheduled for deletion in 7 days
    /// ([`AuditKey::deletion_date`]).
    PendingDeletion,
    /// `RSA_2048`, `SIGN_VERIFY` (rotation not supported).
    AsymmetricSign,
    /// `HMAC_256`, `GENERATE_VERIFY_MAC` (rotation not supported).
    Hmac,
    /// `Origin=EXTERNAL`, imported key material (rotation not supported).
    External,
    /// An Allow statement for everyone in one of the three forms.
    Public(PublicPrincipal, PublicCondition),
    /// The key policy allows `arn:aws:iam::<other account>:root` to use it.
    CrossAccountPolicy,
    /// The console's policy; a grant lets `arn:aws:iam::<other
    /// account>:role/reader` decrypt.
    CrossAccountGrant,
    /// Used: encrypted with through the SDK (GetKeyLastUsage: `Encrypt`).
    Used,
}

/// A seeded key.
#[derive(Clone, Debug)]
pub struct AuditKey {
    pub role: Role,
    pub id: String,
    pub arn: String,
    /// `alias/...` pointing at it.
    pub alias: String,
    /// Carries c3's tags.
    pub managed: bool,
    /// The rotation period as seeded; `None` when rotation is off or unsupported.
    pub rotation_days: Option<i32>,
    /// For [`Role::PendingDeletion`]: DescribeKey's `DeletionDate`.
    pub deletion_date: Option<DateTime>,
}

/// What [`seed`] made.
pub struct AuditEstate {
    pub seed: Seed,
    /// The account named by [`Role::CrossAccountPolicy`] and
    /// [`Role::CrossAccountGrant`] (nothing is created in it).
    pub other_account: String,
    pub keys: Vec<AuditKey>,
}

impl AuditEstate {
    /// The key seeded for `role` (every role is seeded exactly once).
    ///
    /// # Panics
    /// When `role` was not seeded.
    pub fn key(&self, role: Role) -> &AuditKey {
        self.keys
            .iter()
            .find(|k| k.role == role)
            .unwrap_or_else(|| panic!("no key seeded for {role:?}"))
    }
}

/// Every role [`seed`] makes, in the order it makes them.
pub fn roles() -> Vec<Role> {
    let mut roles = vec![
        Role::ManagedRotated,
        Role::ManagedRotationOff,
        Role::ManagedOtherPeriod,
        Role::UnmanagedRotated,
        Role::UnmanagedRotationOff,
        Role::Disabled,
        Role::PendingDeletion,
        Role::AsymmetricSign,
        Role::Hmac,
        Role::External,
    ];
    for principal in PublicPrincipal::ALL {
        for condition in PublicCondition::ALL {
            roles.push(Role::Public(principal, condition));
        }
    }
    roles.extend([
        Role::CrossAccountPolicy,
        Role::CrossAccountGrant,
        Role::Used,
    ]);
    roles
}

/// The root-trust statement every policy here starts with.
const ROOT_STATEMENT: &str = r#"{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::ACCOUNT:root"}, "Action": "kms:*", "Resource": "*"}"#;

/// The key policy of a [`Role::Public`] key (`ACCOUNT`, `REGION` unfilled).
pub fn public_policy(principal: PublicPrincipal, condition: PublicCondition) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{ROOT_STATEMENT}, {{"Sid": "AllowEveryone", "Effect": "Allow", "Principal": {}, "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"{}}}]}}"#,
        principal.json(),
        condition.json(principal)
    )
}

/// The key policy of [`Role::CrossAccountPolicy`] (`ACCOUNT` unfilled).
pub fn cross_account_policy(other_account: &str) -> String {
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{ROOT_STATEMENT}, {{"Sid": "AllowPartnerAccount", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{other_account}:root"}}, "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}}]}}"#
    )
}

/// Seeds the estate in a fresh account of the shared emulator, in `region`.
pub async fn seed(region: &str) -> AuditEstate {
    let seed = Seed::new(&super::fresh_account(), region).await;
    let other_account = super::fresh_account();
    let mut keys = Vec::new();
    for role in roles() {
        keys.push(seed_one(&seed, role, &other_account).await);
    }
    AuditEstate {
        seed,
        other_account,
        keys,
    }
}

/// A lower-case name for `role`, used in aliases and `c3:name`.
fn slug(role: Role) -> String {
    let text = format!("{role:?}");
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

async fn seed_one(seed: &Seed, role: Role, other_account: &str) -> AuditKey {
    let name = format!("audit-{}", slug(role));
    let rotation_days = rotation_of(role);
    let (id, arn, managed) = match role {
        Role::ManagedRotated | Role::ManagedRotationOff | Role::ManagedOtherPeriod => {
            let tags = [
                ("c3:managed", "true"),
                ("c3:name", name.as_str()),
                ("c3:classification", "internal"),
                ("c3:generation", "1"),
            ];
            let description = format!("Managed by c3: {name} (internal)");
            let (id, arn) = seed
                .key(&description, &c3_like_policy(), &tags, false)
                .await;
            (id, arn, true)
        }
        Role::AsymmetricSign | Role::Hmac | Role::External => {
            let (id, arn) = special_key(seed, role).await;
            (id, arn, false)
        }
        _ => {
            let policy = match role {
                Role::Public(principal, condition) => public_policy(principal, condition),
                Role::CrossAccountPolicy => cross_account_policy(other_account),
                _ => CONSOLE_KEY_POLICY.to_string(),
            };
            let (id, arn) = seed.key(&name, &policy, &[], false).await;
            (id, arn, false)
        }
    };
    if let Some(days) = rotation_days {
        seed.rotate(&id, days).await;
    }
    seed.alias(&name, &id).await;
    let deletion_date = after_creation(seed, role, &id, other_account).await;
    AuditKey {
        role,
        id,
        arn,
        alias: format!("alias/{name}"),
        managed,
        rotation_days,
        deletion_date,
    }
}

/// The rotation period a role's key gets: 365 days, so that each key fails only the control its
/// role is about; none for the rotation-off roles and for the keys that cannot rotate
/// (asymmetric, HMAC, EXTERNAL); 180 for [`Role::ManagedOtherPeriod`].
fn rotation_of(role: Role) -> Option<i32> {
    match role {
        Role::ManagedRotationOff
        | Role::UnmanagedRotationOff
        | Role::AsymmetricSign
        | Role::Hmac
        | Role::External => None,
        Role::ManagedOtherPeriod => Some(180),
        _ => Some(365),
    }
}

/// The root-trust policy alone, as c3 writes it for a key without grants.
fn c3_like_policy() -> String {
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnableRootAccess","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ACCOUNT:root"},"Action":"kms:*","Resource":"*"}]}"#
        .to_string()
}

/// An asymmetric, HMAC or EXTERNAL-origin key with the console's policy: (id, ARN).
async fn special_key(seed: &Seed, role: Role) -> (String, String) {
    let policy = CONSOLE_KEY_POLICY.replace("ACCOUNT", &seed.account);
    let mut create = seed
        .kms
        .create_key()
        .description(format!("audit {}", slug(role)))
        .policy(policy);
    create = match role {
        Role::AsymmetricSign => create
            .key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsageType::SignVerify),
        Role::Hmac => create
            .key_spec(KeySpec::Hmac256)
            .key_usage(KeyUsageType::GenerateVerifyMac),
        _ => create.origin(OriginType::External).tags(
            Tag::builder()
                .tag_key("owner")
                .tag_value("hsm-team")
                .build()
                .expect("tag"),
        ),
    };
    let out = create.send().await.expect("CreateKey");
    let meta = out.key_metadata().expect("metadata");
    (
        meta.key_id().to_string(),
        meta.arn().unwrap_or_default().to_string(),
    )
}

/// What a role does once the key exists: disable, schedule deletion (its
/// `DeletionDate`), grant to the other account, or encrypt.
async fn after_creation(
    seed: &Seed,
    role: Role,
    id: &str,
    other_account: &str,
) -> Option<DateTime> {
    let kms = &seed.kms;
    match role {
        Role::Disabled => {
            kms.disable_key()
                .key_id(id)
                .send()
                .await
                .expect("DisableKey");
        }
        Role::PendingDeletion => {
            let out = kms
                .schedule_key_deletion()
                .key_id(id)
                .pending_window_in_days(7)
                .send()
                .await
                .expect("ScheduleKeyDeletion");
            return out.deletion_date().copied();
        }
        Role::CrossAccountGrant => {
            kms.create_grant()
                .key_id(id)
                .grantee_principal(format!("arn:aws:iam::{other_account}:role/reader"))
                .operations(GrantOperation::Decrypt)
                .operations(GrantOperation::DescribeKey)
                .name("partner-reader")
                .send()
                .await
                .expect("CreateGrant");
        }
        Role::Used => {
            kms.encrypt()
                .key_id(id)
                .plaintext(Blob::new("c3 audit estate"))
                .send()
                .await
                .expect("Encrypt");
        }
        _ => {}
    }
    None
}
