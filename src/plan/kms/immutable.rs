//! What AWS fixes when it creates a key (key spec, key usage, multi-Region,
//! origin of the key material): a current key that differs from keys.toml
//! there cannot be changed, only replaced by a new key. Each difference is
//! a report that says so, never an executable change.

use super::KeyContext;
use crate::model::key_type::DEFAULT_SPEC;
use crate::model::LiveKey;
use crate::plan::{Changes, Resource, Severity};

/// The origin of the key material of every key c3 creates.
const ORIGIN: &str = "AWS_KMS";

/// Reports each field of the current key that AWS fixed at creation and
/// that differs from keys.toml. The live key stays as usable and protected
/// as before, so the severity is `low` (like a description that differs);
/// key material from outside AWS (`EXTERNAL`: it can expire, and was made
/// outside KMS) is `medium`.
pub(super) fn report(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
    let Some(d) = &key.details else {
        return;
    };
    let want = &ctx.spec.key_type;
    // A key that reports no spec is taken for the default (older endpoints).
    let spec = if d.spec.is_empty() {
        DEFAULT_SPEC
    } else {
        d.spec.as_str()
    };
    let mut found: Vec<(String, Severity)> = Vec::new();
    if spec != want.spec {
        found.push((
            format!("key_spec is {spec}, keys.toml says {}", want.spec),
            Severity::Low,
        ));
    }
    if d.usage != want.usage {
        found.push((
            format!("key_usage is {}, keys.toml says {}", d.usage, want.usage),
            Severity::Low,
        ));
    }
    if d.multi_region != want.multi_region() {
        let (live, file) = if d.multi_region {
            ("a multi-Region key", "multi_region = false")
        } else {
            ("a single-Region key", "multi_region = true")
        };
        found.push((
            format!("it is {live}, keys.toml says {file}"),
            Severity::Low,
        ));
    }
    if !d.origin.is_empty() && d.origin != ORIGIN {
        found.push((
            format!(
                "its key material's origin is {}, c3 creates keys with {ORIGIN}",
                d.origin
            ),
            Severity::Medium,
        ));
    }
    let at = ctx.at();
    primary_elsewhere(ctx, key, changes);
    for (what, severity) in found {
        changes
            .report(
                &at,
                Resource::Key,
                severity,
                format!(
                    "key {}: {what}; AWS fixes this when it creates a key, so c3 never changes it: needs a new key: bump `generation`",
                    key.key_id
                ),
            )
            .about(key.key_id.as_str());
    }
}

/// A multi-Region key whose primary is in another region than
/// `primary_region` says: reported once, in the declared primary's region.
/// Moving a primary (UpdatePrimaryRegion) is a person's decision.
fn primary_elsewhere(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
    let (Some(declared), Some(d)) = (ctx.spec.key_type.primary_region.as_deref(), &key.details)
    else {
        return;
    };
    let Some(live) = d.primary_region.as_deref().filter(|_| d.multi_region) else {
        return;
    };
    if live == declared || ctx.target.region != declared {
        return;
    }
    changes
        .report(
            &ctx.at(),
            Resource::Key,
            Severity::Low,
            format!(
                "the primary of multi-Region key {} is in {live}, keys.toml says primary_region = \"{declared}\": c3 never moves a primary; set primary_region = \"{live}\", or make the key in {declared} the primary (UpdatePrimaryRegion, a person's decision); until then c3 plans no rotation for it (AWS sets rotation on the primary only)",
                key.key_id
            ),
        )
        .about(key.key_id.as_str());
}
