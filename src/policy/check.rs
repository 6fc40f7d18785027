//! The checks every document passes before c3 writes it.

use super::{actions_cover, risk, Document};

/// Characters of a document once whitespace is removed (IAM's size measure).
pub fn size_without_whitespace(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks a key policy before it is written: the account root keeps `kms:*`
/// (nobody is locked out), and no statement makes the key usable by anyone
/// (an `Allow` of principal `*` whose conditions do not limit callers to an
/// account, organisation, network or named principal; see
/// [`risk::public_reason`]). Returns what is wrong.
pub fn check_key_policy(doc: &Document, account: &str, partition: &str) -> Result<(), String> {
    let root = format!("arn:{partition}:iam::{account}:root");
    let root_ok = doc.statements.iter().any(|s| {
        s.is_plain_allow()
            && s.condition.is_empty()
            && s.principal
                .as_ref()
                .and_then(|p| p.get("AWS"))
                .is_some_and(|v| v.contains(&root))
            && s.action.as_ref().is_some_and(|a| actions_cover(a, "kms:*"))
            && s.resource.as_ref().is_some_and(|r| r.contains("*"))
    });
    if !root_ok {
        return Err(format!(
            "no statement allows {root} kms:* on \"*\" (EnableRootAccess): writing it could lock the account out of the key"
        ));
    }
    for s in &doc.statements {
        if let Some(why) = risk::public_reason(s) {
            let sid = s.sid.as_deref().unwrap_or("(no Sid)");
            return Err(format!(
                "statement {sid} would make the key usable by anyone ({why}): c3 never writes such a policy"
            ));
        }
    }
    Ok(())
}

/// The last check before a key policy text is written (apply runs it before
/// every CreateKey and PutKeyPolicy): it parses, fits AWS's 32 KB limit,
/// keeps the account root's access and opens the key to nobody.
pub fn check_key_policy_text(policy: &str, target: &crate::model::Target) -> Result<(), String> {
    let max = crate::plan::desired::KEY_POLICY_MAX_BYTES;
    if policy.len() > max {
        return Err(format!(
            "the key policy is {} bytes, over AWS's limit of {max}",
            policy.len()
        ));
    }
    let part = crate::model::partition(&target.region);
    let doc = Document::parse(policy, part).map_err(|e| e.to_string())?;
    check_key_policy(&doc, &target.account, part)
}
