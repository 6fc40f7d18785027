//! What each field allows, in words (the second half of every message),
//! and the numeric limits the words state.

pub(crate) const VERSION: &str = "version = 1";
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
pub(crate) const SERVICES: &str = "an array of service names, e.g. [\"secretsmanager\", \"s3\"]";
pub(crate) const KEY_NAME: &str = "1 to 114 characters of A-Z a-z 0-9 _ - \
     (the name forms alias/<name> and the IAM policy names allow-encrypt-<name> \
     etc., which allow no other characters and at most 128 of them)";
pub(crate) const DESCRIPTION: &str = "a string of at most 8192 characters";
pub(crate) const GENERATION: &str = "1 to 1000000";
pub(crate) const GENERATION_RANGE: (i64, i64) = (1, 1_000_000);
pub(crate) const TAG_CHARS: &str = "letters, digits, spaces and _ . : / = + - @";
pub(crate) const TAGS: &str = "a table of string values, e.g. tags = { team = \"payments\" }";
pub(crate) const MAX_USER_TAGS: usize = 46;
pub(crate) const ACCEPT_EXPIRES: &str =
    "a bare TOML date, without quotes or a time, e.g. expires = 2027-03-01";
pub(crate) const ACCEPT_SELECTORS: &str =
    "at least one of account, region, key, resource, subject, e.g. key = \"payments\"";
pub(crate) const ACCEPT_RESOURCES: &str =
    "one of key, alias, rotation, key_policy, tags, key_state, iam_policy, grant";

/// What the field at this path shape (see `FieldPath::shape`) allows.
pub(crate) fn allowed(shape: &str) -> Option<String> {
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
        "classifications.*" => "a table with rotation_days, via_services, service_principals",
        "classifications.*.rotation_days" | "keys[].rotation_days" => {
            "an integer from 90 to 2560 (days)"
        }
        "classifications.*.via_services"
        | "classifications.*.service_principals"
        | "keys[].via_services"
        | "keys[].service_principals" => SERVICES,
        "classifications.*.via_services[]"
        | "classifications.*.service_principals[]"
        | "keys[].via_services[]"
        | "keys[].service_principals[]" => SERVICE,
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
        "keys[].enabled" => "true or false",
        "keys[].tags" => TAGS,
        "keys[].tags.*" => "a string of at most 256 characters",
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
        _ => return None,
    };
    Some(text.to_string())
}
