//! Which existing managed policies c3 can adopt as they are: a live
//! `allow-<kind>-<name>` that grants at least what c3 would write for the
//! key ARNs import found is adopted unchanged; one that grants less would
//! be updated by the first apply, so import leaves it out of
//! `managed_policies` (c3 then leaves it alone) and says so.

use std::collections::BTreeSet;

use crate::model::PolicyKind;
#[cfg(test)]
use crate::plan::desired::managed_policy;
use crate::plan::desired::managed_policy_of;
use crate::policy::{glob_match, Condition, Document};

/// (action, resource, condition) for every plain `Allow` of a document.
fn permissions(doc: &Document) -> Vec<(String, String, Condition)> {
    let mut out = Vec::new();
    for s in doc.statements.iter().filter(|s| s.is_plain_allow()) {
        let (Some(actions), Some(resources)) = (&s.action, &s.resource) else {
            continue;
        };
        let condition = Condition::of(s);
        for a in actions.iter() {
            for r in resources {
                out.push((a.to_string(), r.clone(), condition.clone()));
            }
        }
    }
    out
}

/// Whether the live document (JSON text) grants at least what c3 writes
/// for `kind` on `arns`; `public_key`: of an asymmetric encryption key
/// (`desired::kind_statements_of`).
pub fn covers_of(
    live: &str,
    kind: PolicyKind,
    public_key: bool,
    arns: &BTreeSet<String>,
    partition: &str,
) -> bool {
    let Ok(live) = Document::parse(live, partition) else {
        return false;
    };
    let wanted = managed_policy_of(kind, public_key, arns);
    let Ok(wanted) = Document::from_value(wanted, partition) else {
        return false;
    };
    let have = permissions(&live);
    permissions(&wanted)
        .iter()
        .all(|(action, resource, condition)| {
            have.iter().any(|(a, r, c)| {
                c == condition && glob_match(a, action, true) && glob_match(r, resource, false)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:eu-west-1:111111111111:key/k1";

    #[test]
    fn a_policy_that_grants_less_than_c3s_is_not_covered() {
        let arns = BTreeSet::from([ARN.to_string()]);
        let same = managed_policy(PolicyKind::Decrypt, &arns).to_string();
        assert!(covers_of(&same, PolicyKind::Decrypt, false, &arns, "aws"));
        let wider = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
        assert!(covers_of(wider, PolicyKind::Decrypt, false, &arns, "aws"));
        // As in the planner: only the same condition covers a conditioned grant.
        assert!(!covers_of(wider, PolicyKind::Crypto, false, &arns, "aws"));
        let less = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{ARN}"}}]}}"#
        );
        assert!(!covers_of(&less, PolicyKind::Decrypt, false, &arns, "aws"));
        assert!(!covers_of(
            "not json",
            PolicyKind::Decrypt,
            false,
            &arns,
            "aws"
        ));
    }
}
