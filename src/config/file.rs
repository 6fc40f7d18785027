//! `keys.toml` as written: a mirror of the file (strict: unknown fields are
//! errors), from which the JSON Schema is derived too. `read` fills it field
//! by field; serde can too (`toml::from_str`), and the tests check that both
//! read a valid file alike.
//!
//! Integers are `i64` (TOML's integer) so that out-of-range values reach
//! validation, which says what is allowed, instead of failing as a type
//! mismatch. Every field is an `Option`, the required ones too (marked
//! `#[schemars(required)]`, so the schema still requires them): a field that
//! is missing, or of the wrong type, is left out and reported, and the rest
//! of the file is still checked. The defaults are applied in `expand`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde::Deserialize;
use serde_json::Value;

mod statement;
pub use statement::{ConditionValue, PrincipalFile, StatementFile, Strings};
#[path = "file_fleet.rs"]
mod fleet;
pub use fleet::{OrganizationFile, RolloutFile};

/// Account and classification names (`[accounts.<name>]`).
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// Key names: they form `alias/<name>` and `allow-encrypt-<name>` (IAM: 128 at most).
pub(crate) const KEY_NAME_PATTERN: &str = "^[A-Za-z0-9_-]+$";
/// AWS region names.
pub(crate) const REGION_PATTERN: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]+$";
/// 12-digit account ids.
pub(crate) const ACCOUNT_ID_PATTERN: &str = "^[0-9]{12}$";
/// IAM role ARNs.
pub(crate) const ROLE_ARN_PATTERN: &str =
    "^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/([!-~]*/)?[A-Za-z0-9_+=,.@-]{1,64}$";
/// STS ExternalId.
pub(crate) const EXTERNAL_ID_PATTERN: &str = "^[A-Za-z0-9_+=,.@:/-]+$";
/// IAM paths.
pub(crate) const POLICY_PATH_PATTERN: &str = "^(/|/[!-~]+/)$";
/// STS role session names.
pub(crate) const SESSION_NAME_PATTERN: &str = "^[A-Za-z0-9_+=,.@-]+$";
/// Service names: lowercase DNS labels.
pub(crate) const SERVICE_PATTERN: &str = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
/// Service principals: a short name c3 knows (`logs`, `delivery.logs`) or a
/// full principal (`delivery.logs.amazonaws.com`, `logs.{region}.amazonaws.com`).
pub(crate) const SERVICE_PRINCIPAL_PATTERN: &str =
    "^([a-z0-9-]+|\\{region\\})(\\.([a-z0-9-]+|\\{region\\}))*$";
/// Key administrators and users: an IAM or STS principal ARN, or an
/// account id; `{account}` stands for the key's account.
pub(crate) const PRINCIPAL_PATTERN: &str =
    "^(arn:aws(-cn|-us-gov|-iso|-iso-b)?:(iam|sts)::([0-9]{12}|\\{account\\}):[!-~]+|[0-9]{12}|\\{account\\})$";
/// The key specs c3 creates (`model::key_type::SPECS`).
pub(crate) const KEY_SPECS: [&str; 17] = [
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "SM2",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
];
/// The key usages c3 declares (`model::key_type::USAGES`).
pub(crate) const KEY_USAGES: [&str; 3] = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"];
/// Statement ids: letters and digits, as c3 writes its own.
pub(crate) const SID_PATTERN: &str = "^[A-Za-z0-9]{1,128}$";
/// User tag keys: KMS tag characters, not under `aws:` or `c3:`.
pub(crate) const TAG_KEY_PATTERN: &str =
    "^(?![aA][wW][sS]:)(?![cC]3:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+$";
/// `ignore_tags` entries: tag-key characters plus `*` and `?`, not under `c3:`.
pub(crate) const TAG_GLOB_PATTERN: &str = "^(?![cC]3:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@*?]+$";
/// User tag values: KMS tag characters.
pub(crate) const TAG_VALUE_PATTERN: &str = "^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$";

/// `keys.toml`: the KMS keys c3 keeps, the accounts and regions they live in,
/// and the classifications that give them defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "c3 keys.toml")]
pub struct KeysFile {
    /// Format version of this file; must be 1.
    #[schemars(required, extend("const" = 1))]
    pub version: Option<i64>,
    /// Run-wide settings; every field is optional.
    #[serde(default)]
    pub settings: SettingsFile,
    /// The AWS accounts c3 manages, by a name you choose
    /// (`[accounts.<name>]`, 1 to 64 of `A-Z a-z 0-9 _ -`). At least one.
    #[serde(default)]
    #[schemars(extend(
        "minProperties" = 1,
        "propertyNames" = { "pattern": NAME_PATTERN }
    ))]
    pub accounts: BTreeMap<String, AccountFile>,
    /// Defaults shared by the keys of a data classification, by name
    /// (`[classifications.<name>]`, 1 to 64 of `A-Z a-z 0-9 _ -`).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": NAME_PATTERN }))]
    pub classifications: BTreeMap<String, ClassificationFile>,
    /// The keys (`[[keys]]`), in the order c3 shows them.
    #[serde(default)]
    pub keys: Vec<KeyFile>,
    /// Reviewed findings accepted until a date (`[[accept]]`): an accepted
    /// finding stays in the plan but no longer counts for
    /// `--detailed-exitcode`. The first entry that matches a finding and has
    /// not expired accepts it.
    #[serde(default)]
    pub accept: Vec<AcceptFile>,
    /// Accounts discovered from AWS Organizations (`[organization]`): they
    /// join `[accounts]` (a declared id wins), named by a stable rule
    /// (docs/config.md). With it, `[accounts]` may be left out.
    pub organization: Option<OrganizationFile>,
    /// How `apply` rolls out across accounts (`[rollout]`): waves, each
    /// applied and converged before the next starts.
    pub rollout: Option<RolloutFile>,
}

/// `[settings]`: run-wide settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// IAM path of the managed policies: begins and ends with `/`, 1 to 512
    /// printable ASCII characters. Default `"/"`.
    #[schemars(length(min = 1, max = 512), regex(pattern = POLICY_PATH_PATTERN))]
    pub policy_path: Option<String>,
    /// STS role session name used when assuming `role_arn`: 2 to 64 of
    /// `A-Z a-z 0-9 _ + = , . @ -`. Default `"c3"`.
    #[schemars(length(min = 2, max = 64), regex(pattern = SESSION_NAME_PATTERN))]
    pub session_name: Option<String>,
    /// Concurrent API calls at most, 1 to 256. Default 16.
    #[schemars(range(min = 1, max = 256))]
    pub parallelism: Option<i64>,
    /// Key-creating and alias writes (CreateKey, CreateAlias, UpdateAlias)
    /// per second, per account and region, 1 to 50. Default 3.
    #[schemars(range(min = 1, max = 50))]
    pub writes_per_second: Option<i64>,
    /// IAM writes (CreatePolicy, CreatePolicyVersion, DeletePolicyVersion)
    /// per second, per account and operation, 1 to 50. Default 10.
    #[schemars(range(min = 1, max = 50))]
    pub iam_writes_per_second: Option<i64>,
    /// Whether `plan` reads the grants of every managed key (ListGrants) and
    /// reports those that are not an AWS service's. Default true; `false`
    /// saves one call per key and leaves grants unchecked (the plan says so).
    pub read_grants: Option<bool>,
    /// ListGrants calls per second, per account and region, 1 to 100 (KMS
    /// allows 100, shared with every other caller). Default 50.
    #[schemars(range(min = 1, max = 100))]
    pub grant_reads_per_second: Option<i64>,
    /// Tag keys never compared on keys and managed policies, as globs (`*`
    /// any run of characters, `?` one), e.g. `["cost-center", "team-*"]`.
    /// `aws:*` tags are never compared anyway; c3's own `c3:` tags cannot
    /// be ignored.
    #[schemars(inner(length(min = 1, max = 128), regex(pattern = TAG_GLOB_PATTERN)))]
    pub ignore_tags: Option<Vec<String>>,
    /// Region names accepted besides the AWS regions this build of c3
    /// knows: for a region newer than the build (or of a partition it does
    /// not list), e.g. `["ap-newregion-1"]`. Each must have the form of a
    /// region name.
    #[schemars(inner(regex(pattern = REGION_PATTERN)))]
    pub allow_regions: Option<Vec<String>>,
}

/// `[accounts.<name>]`: one AWS account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    /// The 12-digit account id, as a string (`"111111111111"`).
    #[schemars(required, regex(pattern = ACCOUNT_ID_PATTERN))]
    pub id: Option<String>,
    /// A role in this account to assume (`arn:aws:iam::<id>:role/<name>`).
    /// Without it the ambient credentials must be this account's.
    #[schemars(regex(pattern = ROLE_ARN_PATTERN))]
    pub role_arn: Option<String>,
    /// ExternalId for AssumeRole: 2 to 1224 of `A-Z a-z 0-9 _ + = , . @ : / -`.
    #[schemars(length(min = 2, max = 1224), regex(pattern = EXTERNAL_ID_PATTERN))]
    pub external_id: Option<String>,
    /// The regions c3 manages in this account (`eu-west-1`), at least one,
    /// no duplicates, all of one partition; each an AWS region c3 knows or
    /// one that `[settings] allow_regions` lists.
    #[schemars(
        required,
        length(min = 1),
        inner(regex(pattern = REGION_PATTERN)),
        extend("uniqueItems" = true)
    )]
    pub regions: Option<Vec<String>>,
}

/// `[classifications.<name>]`: defaults for every key of this class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassificationFile {
    /// AWS-managed rotation period in days, 90 to 2560, for keys that do not
    /// set their own. Default 365.
    #[schemars(range(min = 90, max = 2560))]
    pub rotation_days: Option<i64>,
    /// Services (lowercase DNS labels, e.g. `secretsmanager`) allowed to use
    /// the keys on a caller's behalf (`kms:ViaService`).
    #[schemars(inner(regex(pattern = SERVICE_PATTERN)))]
    pub via_services: Option<Vec<String>>,
    /// Services allowed to use the keys as service principals: a short name
    /// c3 knows (`logs`, `cloudtrail`, `delivery.logs`, …; docs/config.md
    /// lists them with the principal and conditions AWS documents), or a
    /// full principal (`delivery.logs.amazonaws.com`,
    /// `logs.{region}.amazonaws.com`), which gets `aws:SourceAccount` only.
    #[schemars(inner(regex(pattern = SERVICE_PRINCIPAL_PATTERN)))]
    pub service_principals: Option<Vec<String>>,
    /// Key administrators (statement `AllowKeyAdministrators`, as the AWS
    /// console writes it): IAM principal ARNs or account ids, `{account}`
    /// and `{region}` replaced per target.
    #[schemars(inner(regex(pattern = PRINCIPAL_PATTERN)), extend("uniqueItems" = true))]
    pub administrators: Option<Vec<String>>,
    /// Key users (statements `AllowKeyUsers` and `AllowKeyUsersGrants`, as
    /// the AWS console writes them): like `administrators`; principals of
    /// other accounts are allowed.
    #[schemars(inner(regex(pattern = PRINCIPAL_PATTERN)), extend("uniqueItems" = true))]
    pub users: Option<Vec<String>>,
    /// Further key-policy statements (`[[classifications.<name>.statements]]`),
    /// in IAM's field names.
    pub statements: Option<Vec<StatementFile>>,
    /// Whether c3 enables and compares rotation for the keys of this class
    /// that do not say. Default true.
    pub rotation: Option<bool>,
    /// The managed policies c3 keeps for the keys of this class that do not
    /// say: `true` (every kind of the key's usage), `false` (none) or a
    /// subset of its kinds (`encrypt`, `decrypt`, `crypto`; `sign`,
    /// `verify`; `mac`, `verify-mac`). Default true.
    pub managed_policies: Option<ManagedPoliciesFile>,
    /// The key spec of the keys of this class that do not set their own: `SYMMETRIC_DEFAULT`,
    /// `RSA_2048`/`3072`/`4096`, `ECC_NIST_P256`/`P384`/`P521`,
    /// `ECC_SECG_P256K1`, `ECC_NIST_EDWARDS25519`, `ML_DSA_44`/`65`/`87`,
    /// `SM2` (China Regions), `HMAC_224`/`256`/`384`/`512`. Fixed at
    /// creation: a change needs a new key (bump `generation`). Default
    /// `SYMMETRIC_DEFAULT`.
    #[schemars(extend("enum" = KEY_SPECS))]
    pub key_spec: Option<String>,
    /// What the key is for: `ENCRYPT_DECRYPT`, `SIGN_VERIFY` or
    /// `GENERATE_VERIFY_MAC`, in a pair AWS accepts with `key_spec`
    /// (docs/config.md lists them). Fixed at creation. Default
    /// `ENCRYPT_DECRYPT`.
    #[schemars(extend("enum" = KEY_USAGES))]
    pub key_usage: Option<String>,
}

/// `[[keys]]`: one key, created in every account and region it targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// The key name, 1 to 114 of `A-Z a-z 0-9 _ -`, unique even ignoring
    /// case: it forms `alias/<name>` and the IAM policy names
    /// `allow-{encrypt,decrypt,crypto}-<name>` (128 characters at most).
    #[schemars(required, length(min = 1, max = 114), regex(pattern = KEY_NAME_PATTERN))]
    pub name: Option<String>,
    /// The key's classification; must be declared in `[classifications]`.
    #[schemars(required)]
    pub classification: Option<String>,
    /// The key description, at most 8192 characters. Default
    /// `"Managed by c3: <name> (<classification>)"`.
    #[schemars(length(max = 8192))]
    pub description: Option<String>,
    /// The names of the accounts the key lives in (declared in
    /// `[accounts]`). Default: every account.
    #[schemars(
        inner(regex(pattern = NAME_PATTERN)),
        extend("uniqueItems" = true)
    )]
    pub accounts: Option<Vec<String>>,
    /// The regions the key lives in, no duplicates; each must be a region
    /// of at least one of its accounts. Default: each account's regions.
    #[schemars(
        inner(regex(pattern = REGION_PATTERN)),
        extend("uniqueItems" = true)
    )]
    pub regions: Option<Vec<String>>,
    /// AWS-managed rotation period in days, 90 to 2560. Default: the
    /// classification's, else 365.
    #[schemars(range(min = 90, max = 2560))]
    pub rotation_days: Option<i64>,
    /// The generation behind the alias, 1 to 1000000; bump it to put a new
    /// key behind the alias (manual rotation; old keys stay). Default 1.
    #[schemars(range(min = 1, max = 1_000_000))]
    pub generation: Option<i64>,
    /// Whether the key should be enabled. Default true.
    pub enabled: Option<bool>,
    /// Services allowed through `kms:ViaService`, added to the
    /// classification's.
    #[schemars(inner(regex(pattern = SERVICE_PATTERN)))]
    pub via_services: Option<Vec<String>>,
    /// Services allowed as service principals, added to the
    /// classification's: short names c3 knows or full principals.
    #[schemars(inner(regex(pattern = SERVICE_PRINCIPAL_PATTERN)))]
    pub service_principals: Option<Vec<String>>,
    /// Key administrators, added to the classification's.
    #[schemars(inner(regex(pattern = PRINCIPAL_PATTERN)), extend("uniqueItems" = true))]
    pub administrators: Option<Vec<String>>,
    /// Key users, added to the classification's.
    #[schemars(inner(regex(pattern = PRINCIPAL_PATTERN)), extend("uniqueItems" = true))]
    pub users: Option<Vec<String>>,
    /// Further key-policy statements (`[[keys.statements]]`), added to the
    /// classification's.
    pub statements: Option<Vec<StatementFile>>,
    /// Tags put on the key, at most 46 (c3 adds its own four `c3:` tags).
    /// Keys 1 to 128, values 0 to 256 characters: letters, digits, spaces
    /// and `_ . : / = + - @`; no key under `aws:` or `c3:`.
    #[schemars(extend(
        "maxProperties" = 46,
        "propertyNames" = { "minLength": 1, "maxLength": 128, "pattern": TAG_KEY_PATTERN },
        "additionalProperties" = { "type": "string", "maxLength": 256, "pattern": TAG_VALUE_PATTERN }
    ))]
    pub tags: Option<BTreeMap<String, String>>,
    /// Whether an existing key behind `alias/<name>` that c3 does not manage,
    /// and existing managed policies of its names at `policy_path`, are taken
    /// into c3's care by adding c3's tags (an executable `adopt`). Default
    /// false: they are conflicts.
    pub adopt: Option<bool>,
    /// Whether c3 enables and compares rotation for this key. `false`: c3
    /// neither enables rotation nor reports it (then `rotation_days` is not
    /// allowed on the key). Default: the classification's, else true.
    pub rotation: Option<bool>,
    /// The managed policies c3 keeps for this key: `true` (every kind of
    /// its usage), `false` (none) or a subset of its kinds: `encrypt`,
    /// `decrypt`, `crypto` (ENCRYPT_DECRYPT); `sign`, `verify`
    /// (SIGN_VERIFY); `mac`, `verify-mac` (GENERATE_VERIFY_MAC). Default:
    /// the classification's, else true.
    pub managed_policies: Option<ManagedPoliciesFile>,
    /// The key spec AWS creates the key with: `SYMMETRIC_DEFAULT`,
    /// `RSA_2048`/`3072`/`4096`, `ECC_NIST_P256`/`P384`/`P521`,
    /// `ECC_SECG_P256K1`, `ECC_NIST_EDWARDS25519`, `ML_DSA_44`/`65`/`87`,
    /// `SM2` (China Regions), `HMAC_224`/`256`/`384`/`512`. Fixed at
    /// creation: a change needs a new key (bump `generation`). Default
    /// `SYMMETRIC_DEFAULT`.
    #[schemars(extend("enum" = KEY_SPECS))]
    pub key_spec: Option<String>,
    /// What the key is for: `ENCRYPT_DECRYPT`, `SIGN_VERIFY` or
    /// `GENERATE_VERIFY_MAC`, in a pair AWS accepts with `key_spec`
    /// (docs/config.md lists them). Fixed at creation. Default
    /// `ENCRYPT_DECRYPT`.
    #[schemars(extend("enum" = KEY_USAGES))]
    pub key_usage: Option<String>,
    /// Whether the key is a multi-Region key: the primary is created in
    /// `primary_region` and replicated into the key's other regions of each
    /// account (ReplicateKey). Fixed at creation. Default false.
    pub multi_region: Option<bool>,
    /// The region of the primary key of a multi-Region key: one of the
    /// key's regions in each of its accounts. Only with
    /// `multi_region = true`. Default: the first of the key's `regions`,
    /// else the first region of its first account.
    #[schemars(regex(pattern = REGION_PATTERN))]
    pub primary_region: Option<String>,
}

/// `managed_policies`: all, none, or the kinds listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ManagedPoliciesFile {
    /// `true`: every kind of the key's usage; `false`: none.
    All(bool),
    /// Only these kinds, each once, at least one.
    Some(
        #[schemars(
            length(min = 1),
            extend(
                "items" = { "type": "string", "enum": ["encrypt", "decrypt", "crypto", "sign", "verify", "mac", "verify-mac"] },
                "uniqueItems" = true
            )
        )]
        Vec<String>,
    ),
}

/// `[[accept]]`: findings a person reviewed and accepts, with a reason,
/// until a date. Every selector is optional, but at least one is required
/// (an entry without one would accept everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptFile {
    /// The account: its name in `[accounts]`, or its 12-digit id.
    pub account: Option<String>,
    /// The region (`eu-west-1`); managed policies are global and have none.
    #[schemars(regex(pattern = REGION_PATTERN))]
    pub region: Option<String>,
    /// The key name (also a key no longer declared, for an orphan).
    pub key: Option<String>,
    /// What the finding is about, as the plan's `resource` column says.
    #[schemars(extend("enum" = ["key", "alias", "rotation", "key_policy", "tags", "key_state", "iam_policy", "grant"]))]
    pub resource: Option<String>,
    /// A glob (`*` any run, `?` one character) on the finding's subject: a
    /// statement Sid, a tag key, a grant id, a principal, a policy name, or
    /// the key id or alias name.
    #[schemars(length(min = 1))]
    pub subject: Option<String>,
    /// Why the finding is accepted (a ticket, a decision); not empty.
    #[schemars(required, length(min = 1))]
    pub reason: Option<String>,
    /// The last day the entry accepts anything, a bare TOML date
    /// (`expires = 2027-03-01`, no quotes). After it the findings count
    /// again and the plan warns.
    #[schemars(required, with = "Option<String>", extend("format" = "date"))]
    pub expires: Option<toml::value::Datetime>,
}

/// A table of `keys.toml`, for what its schema says of its fields.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    /// The top level, [`KeysFile`].
    Top,
    /// `[settings]`, [`SettingsFile`].
    Settings,
    /// `[accounts.<name>]`, [`AccountFile`].
    Account,
    /// `[classifications.<name>]`, [`ClassificationFile`].
    Classification,
    /// `[[keys]]`, [`KeyFile`].
    Key,
    /// `[[accept]]`, [`AcceptFile`].
    Accept,
    /// `[[keys.statements]]`, [`StatementFile`].
    Statement,
    /// `[organization]`, [`OrganizationFile`].
    Organization,
    /// `[rollout]`, [`RolloutFile`].
    Rollout,
}

/// The fields of a table: all of them in the order of the struct, and
/// those it must have.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) all: Vec<&'static str>,
    pub(crate) required: Vec<&'static str>,
}

impl Table {
    /// The table's fields, as the schema (and so the struct) lists them.
    /// The top level requires only `version` here: a file without
    /// `accounts` is validation's to report ("no account is declared").
    pub(crate) fn fields(self) -> &'static Fields {
        static FIELDS: OnceLock<[Fields; 9]> = OnceLock::new();
        let all = FIELDS.get_or_init(|| {
            static SCHEMA: OnceLock<Value> = OnceLock::new();
            let schema = SCHEMA.get_or_init(schema);
            let defs = &schema["definitions"];
            let mut top = fields_of(schema);
            top.required.retain(|f| *f != "accounts");
            [
                top,
                fields_of(&defs["SettingsFile"]),
                fields_of(&defs["AccountFile"]),
                fields_of(&defs["ClassificationFile"]),
                fields_of(&defs["KeyFile"]),
                fields_of(&defs["AcceptFile"]),
                fields_of(&defs["StatementFile"]),
                fields_of(&defs["OrganizationFile"]),
                fields_of(&defs["RolloutFile"]),
            ]
        });
        &all[self as usize]
    }
}

fn fields_of(object: &'static Value) -> Fields {
    let names = |v: &'static Value| -> Vec<&'static str> {
        match v {
            Value::Object(map) => map.keys().map(String::as_str).collect(),
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    };
    Fields {
        all: names(&object["properties"]),
        required: names(&object["required"]),
    }
}

/// The JSON Schema of `keys.toml` (draft 07, which editors such as taplo
/// understand), as a JSON value.
pub(crate) fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with_transform(RecursiveTransform(no_null))
        .into_generator();
    let schema = generator.into_root_schema_for::<KeysFile>().to_value();
    let serde_json::Value::Object(mut root) = schema else {
        return schema;
    };
    // `accounts` has a serde default so that its absence is reported by
    // validation ("no account is declared"), but the file needs one.
    if let Some(serde_json::Value::Array(required)) = root.get_mut("required") {
        required.push("accounts".into());
    }
    // The header first, then the rest as generated.
    let mut ordered = serde_json::Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(v) = root.remove(key) {
            ordered.insert(key.into(), v);
        }
    }
    ordered.extend(root);
    serde_json::Value::Object(ordered)
}

/// TOML has no null: an absent field is how a value is left out, so the
/// `"null"` type schemars gives every `Option` field is taken out again.
/// (schemars 1 dropped its `option_add_null_type` setting: a schema
/// [transform](schemars::transform) is its way to change that, and
/// [`RecursiveTransform`] applies it to every subschema.)
fn no_null(schema: &mut Schema) {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            schema.insert("type".into(), only);
        }
    }
    // An optional field of a type of its own (`Option<Strings>`) is
    // `anyOf: [{"$ref": …}, {"type": "null"}]`.
    if let Some(Value::Array(any)) = schema.get_mut("anyOf") {
        any.retain(|s| s.get("type").is_none_or(|t| t != "null"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_from_the_schema() {
        let key = Table::Key.fields();
        assert_eq!(key.all.first(), Some(&"name"));
        assert_eq!(key.all.len(), 21);
        assert_eq!(key.required, ["name", "classification"]);
        assert_eq!(Table::Account.fields().required, ["id", "regions"]);
        assert!(Table::Settings.fields().required.is_empty());
        assert!(Table::Settings.fields().all.contains(&"allow_regions"));
        assert_eq!(Table::Classification.fields().all.len(), 10);
        assert_eq!(
            Table::Statement.fields().required,
            ["sid", "effect", "principal", "action"]
        );
        let top = Table::Top.fields();
        assert_eq!(
            top.all,
            [
                "version",
                "settings",
                "accounts",
                "classifications",
                "keys",
                "accept",
                "organization",
                "rollout"
            ]
        );
        assert_eq!(Table::Accept.fields().required, ["reason", "expires"]);
        assert_eq!(top.required, ["version"]);
    }
}
