//! What each field allows, in words (the second half of every message),
//! and the numeric limits the words state.

pub(crate) const VERSION: &str = "version = 1";
pub(crate) const PARENTS: &str =
    "a non-empty array of OU ids or root ids, e.g. [\"ou-ab12-cd34ef56\"]";
pub(crate) const PARENT: &str = "an OU id (ou-<4 to 32 of a-z 0-9>-<8 to 32 of a-z 0-9>, \
    e.g. \"ou-ab12-cd34ef56\") or a root id (r-<4 to 32 of a-z 0-9>, e.g. \"r-ab12\")";
pub(crate) const ROLE_NAME: &str = "an IAM role name: 1 to 64 of A-Z a-z 0-9 and _ + = , . @ -";
pub(crate) const WAVES: &str = "a non-empty array of waves, each a non-empty array of account \
    selectors, e.g. [[\"canary\"], [\"ou:ou-ab12-cd34ef56\"], [\"*\"]]";
pub(crate) const SELECTOR: &str = "an account name or 12-digit id, a glob on names (prod-*), \
    ou:<OU or root id>, tag:<key>=<value>, or * (every account no other wave takes)";
pub(crate) const POLICY_PATH: &str = "an IAM path that begins and ends with `/`, \
     1 to 512 printable ASCII characters without spaces, e.g. \"/\" or \"/c3/\"";
pub(crate) const SESSION_NAME: &str = "2 to 64 characters of A-Z a-z 0-9 and _ + = , . @ -";
pub(crate) const PARALLELISM: &str = "1 to 256";
pub(crate) const PARALLELISM_RANGE: (i64, i64) = (1, 256);
pub(crate) const WRITES_PER_SECOND: &str = "1 to 50 writes per second";
pub(crate) const WRITES_PER_SECOND_RANGE: (i64, i64) = (1, 50);
pub(crate) const GRANT_READS_PER_SECOND: &str =
    "1 to 100 ListGrants calls per second (KMS allows 100 per account and region, shared with every other caller)";
pub(crate) const GRANT_READS_PER_SECOND_RANGE: (i64, i64) = (1, 100);
pub(crate) const IGNORE_TAGS: &str =
    "an array of tag-key globs, e.g. [\"cost-center\", \"team-*\"]";
pub(crate) const IGNORE_TAG: &str = "a tag-key glob of 1 to 128 characters: letters, digits, \
     spaces and _ . : / = + - @, with * for any run and ? for one character; not c3:… \
     (c3's own tags are always compared)";
pub(crate) const NAME: &str = "1 to 64 characters of A-Z a-z 0-9 _ -";
pub(crate) const ACCOUNT_ID: &str = "exactly 12 digits, as a string, e.g. \"111111111111\"";
pub(crate) const ROLE_ARN: &str = "an IAM role ARN in this account, \
     arn:<aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b>:iam::<12-digit id>:role/<path/><name>, \
     e.g. \"arn:aws:iam::111111111111:role/c3\"";
pub(crate) const EXTERNAL_ID: &str = "2 to 1224 characters of A-Z a-z 0-9 and _ + = , . @ : / -";
pub(crate) const REGION: &str =
    "a region name such as \"eu-west-1\", \"us-gov-west-1\" or \"cn-north-1\"";
pub(crate) const REGIONS: &str = "an array of region names, e.g. [\"eu-west-1\"]";
pub(crate) const ALLOW_REGIONS: &str =
    "an array of region names c3 does not know yet, e.g. [\"ap-newregion-1\"]";
/// What to do about a region name c3 does not know.
pub(crate) const NEW_REGION: &str =
    "or a region newer than this build of c3, listed in [settings] allow_regions";
pub(crate) const ROTATION_DAYS: &str = "90 to 2560 days";
pub(crate) const ROTATION_DAYS_RANGE: (i64, i64) = (90, 2560);
pub(crate) const SERVICE: &str = "a lowercase DNS label (a-z 0-9 -, at most 63, \
     not starting or ending with -), e.g. \"secretsmanager\" or \"lex-v2\"; \
     c3 adds .<region>.amazonaws.com itself";
pub(crate) const SERVICE_PRINCIPAL: &str = "a service c3 knows by its short name \
     (backup, cloudtrail, cloudwatch, config, delivery.logs, events, logs, s3, ses, sns, sqs; \
     docs/config.md lists the principal and conditions of each), or a full service principal \
     of lowercase DNS labels ending in .amazonaws.com or .amazonaws.com.cn, \
     e.g. \"delivery.logs.amazonaws.com\" or \"logs.{region}.amazonaws.com\"";
pub(crate) const PRINCIPALS: &str =
    "an array of principal ARNs, e.g. [\"arn:aws:iam::{account}:role/KeyAdmins\"]";
pub(crate) const PRINCIPAL: &str = "an IAM principal ARN, \
     arn:<aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b>:iam::<12-digit id or {account}>:<root|role/…|user/…>, \
     an STS arn:…:sts::<id>:assumed-role/<role>/<session>, or a 12-digit account id; \
     {account} and {region} are replaced per target; never \"*\"";
pub(crate) const SID: &str = "1 to 128 letters and digits, unique among the statements of a key \
     and its classification, not one of c3's own (EnableRootAccess, AllowViaService…, \
     AllowService…, AllowKeyAdministrators, AllowKeyUsers…)";
pub(crate) const EFFECT: &str = "\"Allow\" or \"Deny\"";
pub(crate) const ACTION: &str =
    "a KMS action or pattern such as \"kms:Decrypt\" or \"kms:GenerateDataKey*\", or an array of them";
pub(crate) const STATEMENT_PRINCIPAL: &str = "{ AWS = <principal ARN(s)> }, \
     { Service = <….amazonaws.com> } (a string or an array), or \"*\" with a condition \
     that pins the account (e.g. kms:CallerAccount)";
pub(crate) const CONDITION: &str = "a table of operators, e.g. \
     { StringEquals = { \"kms:ViaService\" = \"backup.{region}.amazonaws.com\" } }";
pub(crate) const PLACEHOLDERS: &str = "{account} and {region} only";
pub(crate) const SERVICES: &str = "an array of service names, e.g. [\"secretsmanager\", \"s3\"]";
pub(crate) const KEY_NAME: &str = "1 to 114 characters of A-Z a-z 0-9 _ - \
     (the name forms alias/<name> and the IAM policy names allow-encrypt-<name> \
     etc., which allow no other characters and at most 128 of them)";
pub(crate) const DESCRIPTION: &str = "a string of at most 8192 characters";
pub(crate) const GENERATION: &str = "1 to 1000000";
pub(crate) const GENERATION_RANGE: (i64, i64) = (1, 1_000_000);
pub(crate) const TAG_CHARS: &str = "letters, digits, spaces and _ . : / = + - @";
pub(crate) const TAGS: &str = "a table of string values, e.g. tags = { team = \"payments\" }";
pub(crate) const ROTATION_OFF: &str = "either rotation = false without rotation_days, \
     or rotation_days with rotation = true (the default)";
pub(crate) const MANAGED_POLICIES: &str = "true (every kind of the key's usage), false (none), \
     or a non-empty array of the kinds of its usage, each once: \"encrypt\", \"decrypt\", \
     \"crypto\" (ENCRYPT_DECRYPT), \"sign\", \"verify\" (SIGN_VERIFY), \"mac\", \"verify-mac\" \
     (GENERATE_VERIFY_MAC), e.g. [\"decrypt\"]";
pub(crate) const MANAGED_POLICY_KIND: &str = "one of \"encrypt\", \"decrypt\", \"crypto\" \
     (ENCRYPT_DECRYPT keys), \"sign\", \"verify\" (SIGN_VERIFY keys), \"mac\", \"verify-mac\" \
     (GENERATE_VERIFY_MAC keys): allow-<kind>-<name>";
pub(crate) const MANAGED_POLICY_KINDS: [&str; 7] = [
    "encrypt",
    "decrypt",
    "crypto",
    "sign",
    "verify",
    "mac",
    "verify-mac",
];
pub(crate) const KEY_USAGE: &str =
    "one of \"ENCRYPT_DECRYPT\", \"SIGN_VERIFY\", \"GENERATE_VERIFY_MAC\"";
pub(crate) const MULTI_REGION_FIELDS: &str = "primary_region only with multi_region = true, \
     naming a region the key has in every one of its accounts";
pub(crate) const MAX_USER_TAGS: usize = 46;
pub(crate) const ACCEPT_EXPIRES: &str =
    "a bare TOML date, without quotes or a time, e.g. expires = 2027-03-01";
pub(crate) const ACCEPT_SELECTORS: &str =
    "at least one of account, region, key, resource, subject, e.g. key = \"payments\"";
pub(crate) const ACCEPT_RESOURCES: &str =
    "one of key, alias, rotation, key_policy, tags, key_state, iam_policy, grant";

/// What the field at this path shape (see `FieldPath::shape`) allows.
pub(crate) fn allowed(shape: &str) -> Option<String> {
    if let Some(text) = key_policy(shape).or_else(|| accept(shape)) {
        return Some(text.to_string());
    }
    let text = match shape {
        "version" => VERSION,
        "settings" => {
            "a table: [settings] with policy_path, session_name, parallelism, writes_per_second, iam_writes_per_second, read_grants, grant_reads_per_second, ignore_tags, allow_regions"
        }
        "settings.policy_path" => POLICY_PATH,
        "settings.session_name" => SESSION_NAME,
        "settings.parallelism" => "an integer from 1 to 256",
        "settings.writes_per_second" => "an integer from 1 to 50",
        "settings.iam_writes_per_second" => "an integer from 1 to 50",
        "settings.read_grants" => "true or false",
        "settings.grant_reads_per_second" => "an integer from 1 to 100",
        "settings.ignore_tags" => IGNORE_TAGS,
        "settings.ignore_tags[]" => IGNORE_TAG,
        "settings.allow_regions" => ALLOW_REGIONS,
        "settings.allow_regions[]" => REGION,
        "accounts" => "a table of accounts, [accounts.<name>]",
        "accounts.*" => "a table with id, regions and optionally role_arn, external_id",
        "accounts.*.id" => ACCOUNT_ID,
        "accounts.*.role_arn" => ROLE_ARN,
        "accounts.*.external_id" => EXTERNAL_ID,
        "accounts.*.regions" | "keys[].regions" => REGIONS,
        "accounts.*.regions[]" | "keys[].regions[]" => REGION,
        "classifications" => "a table of classifications, [classifications.<name>]",
        "classifications.*" => {
            "a table with rotation_days, via_services, service_principals, administrators, users, statements, rotation, managed_policies, key_spec, key_usage"
        }
        "classifications.*.rotation_days" | "keys[].rotation_days" => {
            "an integer from 90 to 2560 (days)"
        }
        "classifications.*.via_services"
        | "classifications.*.service_principals"
        | "keys[].via_services"
        | "keys[].service_principals" => SERVICES,
        "classifications.*.via_services[]" | "keys[].via_services[]" => SERVICE,
        "classifications.*.service_principals[]" | "keys[].service_principals[]" => {
            SERVICE_PRINCIPAL
        }
        "keys" => "an array of tables, [[keys]]",
        "keys[]" => "a table ([[keys]]) with at least name and classification",
        "keys[].name" => KEY_NAME,
        "keys[].classification" => {
            "the name of a classification declared in [classifications.<name>]"
        }
        "keys[].description" => DESCRIPTION,
        "keys[].accounts" => "an array of declared account names, e.g. [\"prod\"]",
        "keys[].accounts[]" => "the name of an account declared in [accounts.<name>]",
        "keys[].generation" => "an integer from 1 to 1000000",
        "keys[].key_spec" | "classifications.*.key_spec" => {
            "a key spec such as \"SYMMETRIC_DEFAULT\", \"RSA_2048\", \"ECC_NIST_P256\" or \"HMAC_256\""
        }
        "keys[].key_usage" | "classifications.*.key_usage" => KEY_USAGE,
        "keys[].primary_region" => REGION,
        "keys[].enabled"
        | "keys[].adopt"
        | "keys[].rotation"
        | "keys[].multi_region"
        | "classifications.*.rotation" => {
            "true or false"
        }
        "keys[].managed_policies" | "classifications.*.managed_policies" => MANAGED_POLICIES,
        "keys[].managed_policies[]" | "classifications.*.managed_policies[]" => {
            MANAGED_POLICY_KIND
        }
        "keys[].tags" => TAGS,
        "keys[].tags.*" => "a string of at most 256 characters",
        _ => return None,
    };
    Some(text.to_string())
}

/// What a key-policy field (administrators, users, statements) allows.
fn key_policy(shape: &str) -> Option<&'static str> {
    let text = match shape {
        "classifications.*.administrators"
        | "classifications.*.users"
        | "keys[].administrators"
        | "keys[].users" => PRINCIPALS,
        "classifications.*.administrators[]"
        | "classifications.*.users[]"
        | "keys[].administrators[]"
        | "keys[].users[]" => PRINCIPAL,
        "classifications.*.statements" | "keys[].statements" => {
            "an array of tables, [[keys.statements]] or [[classifications.<name>.statements]]"
        }
        "classifications.*.statements[]" | "keys[].statements[]" => {
            "a table with sid, effect, principal, action and optionally resource, condition"
        }
        "classifications.*.statements[].sid" | "keys[].statements[].sid" => SID,
        "classifications.*.statements[].effect" | "keys[].statements[].effect" => EFFECT,
        "classifications.*.statements[].principal" | "keys[].statements[].principal" => {
            STATEMENT_PRINCIPAL
        }
        "classifications.*.statements[].action" | "keys[].statements[].action" => ACTION,
        "classifications.*.statements[].resource" | "keys[].statements[].resource" => {
            "\"*\" (the default), or a string or an array of strings"
        }
        "classifications.*.statements[].condition" | "keys[].statements[].condition" => CONDITION,
        _ => return None,
    };
    Some(text)
}

/// What a field of `[[accept]]` allows.
fn accept(shape: &str) -> Option<&'static str> {
    let text = match shape {
        "accept" => "an array of tables, [[accept]]",
        "accept[]" => {
            "a table ([[accept]]) with reason, expires and at least one of account, region, key, resource, subject"
        }
        "accept[].account" => "the name of an account declared in [accounts.<name>], or its id",
        "accept[].region" => REGION,
        "accept[].key" => "a key name",
        "accept[].resource" => ACCEPT_RESOURCES,
        "accept[].subject" => {
            "a glob (* any run, ? one character) on a Sid, tag key, grant id, principal or policy name"
        }
        "accept[].reason" => "a string that says why the finding is accepted, e.g. \"INC-1234: reviewed\"",
        "accept[].expires" => ACCEPT_EXPIRES,
        "organization" => "a table: [organization] with role_name, regions and parents or root = true",
        "organization.role_arn" => "an IAM role ARN in the management or a delegated administrator account",
        "organization.external_id" => EXTERNAL_ID,
        "organization.parents" => PARENTS,
        "organization.parents[]" => PARENT,
        "organization.root" => "true (every account of the organization) or false",
        "organization.tags" => "a table of string values, e.g. tags = { c3 = \"enabled\" }",
        "organization.tags.*" => "a string",
        "organization.role_name" => ROLE_NAME,
        "organization.regions" => REGIONS,
        "organization.regions[]" => REGION,
        "rollout" => "a table: [rollout] with waves",
        "rollout.waves" => WAVES,
        "rollout.waves[]" => "a non-empty array of account selectors",
        "rollout.waves[][]" => SELECTOR,
        "rollout.max_concurrent_accounts" => "an integer from 1 to 256",
        "rollout.failure_tolerance" => "an integer from 0 to 10000",
        "rollout.region_order" => "an array of region names, e.g. [\"eu-west-1\", \"eu-central-1\"]",
        "rollout.region_order[]" => REGION,
        _ => return None,
    };
    Some(text)
}
