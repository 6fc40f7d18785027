//! Which live key each change is about: its id and ARN, for the plan
//! document's `key_id` and `key_arn`.

use super::{Change, ChangeKind};
use crate::model::{LiveState, RegionSnapshot, Target};

/// Sets `key_id` and `key_arn` on every regional change about a key that
/// exists: the key its operation names, else the key its text names first,
/// else the key `alias/<name>` points at. A change about a key this plan creates
/// names none (nor do IAM policy changes, which have no region).
pub(crate) fn assign(changes: &mut [Change], live: &LiveState) {
    for c in changes {
        let Some(region) = c.region.as_deref() else {
            continue;
        };
        let Some(Ok(snap)) = live.regions.get(&Target::new(&c.account, region)) else {
            continue;
        };
        let id = match operation_key(c) {
            OperationKey::New => None,
            OperationKey::Existing(id) => Some(id),
            OperationKey::None => named_or_aliased(c, snap),
        };
        if let Some(key) = id.as_deref().and_then(|id| snap.key(id)) {
            c.key_id = Some(key.key_id.clone());
            c.key_arn = Some(key.arn.clone());
        }
    }
}

/// What an operation says about its key.
enum OperationKey {
    /// A key this plan creates.
    New,
    /// A key that exists, by id.
    Existing(String),
    /// Nothing (a finding, or an operation without a key).
    None,
}

fn operation_key(c: &Change) -> OperationKey {
    let ChangeKind::Action { operation, .. } = &c.kind else {
        return OperationKey::None;
    };
    let Ok(v) = serde_json::to_value(operation) else {
        return OperationKey::None;
    };
    if v["op"] == "create_key" || !v["key"]["new"].is_null() {
        return OperationKey::New;
    }
    let id = v["key_id"]
        .as_str()
        .or_else(|| v["key"]["existing"]["key_id"].as_str())
        .map(str::to_string);
    id.map_or(OperationKey::None, OperationKey::Existing)
}

fn named_or_aliased(c: &Change, snap: &RegionSnapshot) -> Option<String> {
    // The key the text names first (snapshot order must not matter).
    snap.keys
        .iter()
        .filter_map(|k| c.detail.find(&k.key_id).map(|at| (at, &k.key_id)))
        .min()
        .map(|(_, id)| id.clone())
        .or_else(|| {
            snap.alias(&format!("alias/{}", c.key))
                .and_then(|a| a.target_key_id.clone())
        })
}
