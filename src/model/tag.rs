//! Tag keys c3 puts on every key it creates (and on its managed
//! policies), and what they prove: c3 writes only to what carries them.

use std::collections::BTreeMap;
/// `"true"` on every resource c3 created.
pub const MANAGED: &str = "c3:managed";
/// The key name from `keys.toml`.
pub const NAME: &str = "c3:name";
/// The key's classification.
pub const CLASSIFICATION: &str = "c3:classification";
/// The key's generation (decimal).
pub const GENERATION: &str = "c3:generation";
/// The prefix reserved for c3's own tags.
pub const PREFIX: &str = "c3:";
/// The prefix AWS reserves for its own tags; c3 never compares them.
pub const AWS_PREFIX: &str = "aws:";

/// Whether a tag key is one of AWS's own (`aws:*`, any case).
pub fn is_aws(key: &str) -> bool {
    key.get(..AWS_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(AWS_PREFIX))
}

/// Whether tags prove a resource is c3's of key name `name`:
/// `c3:managed=true` and `c3:name=<name>` (design.md, "Ownership").
pub fn owned_by(tags: &BTreeMap<String, String>, name: &str) -> bool {
    is_managed(tags) && tags.get(NAME).map(String::as_str) == Some(name)
}

/// Whether tags carry `c3:managed=true`.
pub fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED).map(String::as_str) == Some("true")
}
