//! Fingerprints: a stable id for each change of a plan, the same from run
//! to run while the change is about the same thing (reports use it to track
//! a finding: SARIF's `partialFingerprints`, the JSON plan's `fingerprint`).
//!
//! A change is identified by its account, region (`global` for IAM), key
//! name, resource, action and subject (a statement's Sid, a tag key, a grant
//! id, a policy name, else the key id or alias), and, where several changes
//! of a plan share all of these, by its rank among them in the plan's
//! (deterministic) order. The id is the first 128 bits of the SHA-256 of
//! that identity, in hex. Its wording (`detail`) and severity are left out:
//! rewording a message, or a finding growing riskier, is the same finding.

use std::collections::HashMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::Change;

/// Gives every change its fingerprint.
pub fn assign(changes: &mut [Change]) {
    let mut rank: HashMap<String, usize> = HashMap::new();
    for change in changes {
        let identity = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            change.account,
            change.region.as_deref().unwrap_or("global"),
            change.key,
            change.resource,
            change.action(),
            change.subject
        );
        let n = rank.entry(identity.clone()).or_insert(0);
        change.fingerprint = fingerprint(&identity, *n);
        *n += 1;
    }
}

fn fingerprint(identity: &str, rank: usize) -> String {
    let mut hash = Sha256::new();
    hash.update(b"c3 fingerprint 1\n");
    hash.update(identity.as_bytes());
    hash.update(format!("\n{rank}").as_bytes());
    let digest = hash.finalize();
    digest[..16]
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_changes() -> Vec<Change> {
        let (desired, live) = crate::plan::screen_tests::drifted();
        crate::plan::plan(&desired, &live).changes
    }

    #[test]
    fn the_same_findings_get_the_same_fingerprints_and_different_ones_differ() {
        let mut a = sample_changes();
        let mut b = sample_changes();
        assign(&mut a);
        assign(&mut b);
        let fa: Vec<&str> = a.iter().map(|c| c.fingerprint.as_str()).collect();
        let fb: Vec<&str> = b.iter().map(|c| c.fingerprint.as_str()).collect();
        assert_eq!(fa, fb);
        let unique: std::collections::BTreeSet<&str> = fa.iter().copied().collect();
        assert_eq!(unique.len(), fa.len(), "every change of a plan has its own");
        assert!(fa.iter().all(|f| f.len() == 32));
        // Rewording or re-ranking the risk keeps it; another subject changes it.
        b[0].detail.push_str(" (reworded)");
        b[0].severity = crate::plan::Severity::Critical;
        assign(&mut b);
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        b[0].subject.push('x');
        assign(&mut b);
        assert_ne!(a[0].fingerprint, b[0].fingerprint);
    }
}
