//! A key's state, description and rotation.

use crate::model::{KeySpec, KeyState, LiveKey};
use crate::plan::action::Operation;
use crate::plan::{ActionKind, At, Changes, Resource, Severity};

/// Restores a c3 key that is Disabled, PendingDeletion or
/// PendingReplicaDeletion (when keys.toml
/// wants it enabled), or reports a state c3 does not change.
pub(super) fn plan_state(
    spec: &KeySpec,
    key: &LiveKey,
    is_current: bool,
    at: &At<'_>,
    changes: &mut Changes,
) {
    let Some(details) = &key.details else {
        return;
    };
    let which = if is_current {
        String::new()
    } else {
        format!(
            " (generation {})",
            key.c3_generation().map_or("?".into(), |g| g.to_string())
        )
    };
    let id = &key.key_id;
    match (&details.state, spec.enabled) {
        (KeyState::Enabled, true) => {}
        (KeyState::Enabled, false) if is_current => {
            changes
                .report(
                    at,
                    Resource::KeyState,
                    Severity::Low,
                    format!(
                    "key {id} is enabled but keys.toml says enabled = false: c3 never disables keys"
                ),
                )
                .about(id.as_str());
        }
        (KeyState::Enabled, false) => {}
        (KeyState::Disabled, true) => {
            changes.exec(
                at,
                Resource::KeyState,
                ActionKind::Restore,
                Severity::High,
                format!("key {id}{which} is Disabled: enable it"),
                Operation::Restore {
                    key_id: id.clone(),
                    cancel_deletion: false,
                    enable: true,
                },
            );
        }
        (KeyState::Disabled, false) => {}
        (state, enabled) if state.scheduled_for_deletion() => {
            changes.exec(
                at,
                Resource::KeyState,
                ActionKind::Restore,
                Severity::Critical,
                if enabled {
                    format!("key {id}{which} is {state}: cancel the deletion and enable it")
                } else {
                    format!("key {id}{which} is {state}: cancel the deletion (it stays disabled)")
                },
                Operation::Restore {
                    key_id: id.clone(),
                    cancel_deletion: true,
                    enable: enabled,
                },
            );
        }
        // Other states (Creating, PendingImport, Unavailable, ...).
        (state, _) => {
            changes
                .report(
                    at,
                    Resource::KeyState,
                    Severity::Medium,
                    format!("key {id}{which} is in state {state}, which c3 does not change"),
                )
                .about(id.as_str());
        }
    }
}

/// Updates the description when it differs.
pub(super) fn plan_description(
    spec: &KeySpec,
    key: &LiveKey,
    live: &str,
    at: &At<'_>,
    changes: &mut Changes,
) {
    if live != spec.description {
        changes.exec(
            at,
            Resource::Key,
            ActionKind::Update,
            Severity::Low,
            format!("description {live:?} → {:?}", spec.description),
            Operation::UpdateDescription {
                key_id: key.key_id.clone(),
                description: spec.description.clone(),
            },
        );
    }
}

/// Enables rotation with the declared period, or reports why not now;
/// nothing with `rotation = false` (rotation is then neither enabled nor
/// compared).
pub(super) fn plan_rotation(spec: &KeySpec, key: &LiveKey, at: &At<'_>, changes: &mut Changes) {
    let Some(details) = key.details.as_ref().filter(|_| spec.rotation) else {
        return;
    };
    let want = spec.rotation_days;
    let Some(rotation) = &details.rotation else {
        // GetKeyRotationStatus fails while a key is PendingDeletion (and on some
        // endpoints while it is Disabled). When the same apply restores the key,
        // set rotation anyway (EnableKeyRotation is idempotent): otherwise a
        // rotation that is off would take a second apply to be seen and fixed.
        let restored = spec.enabled
            && (details.state == KeyState::Disabled || details.state.scheduled_for_deletion());
        if restored {
            changes.exec(
                at,
                Resource::Rotation,
                ActionKind::Update,
                Severity::Medium,
                format!(
                    "rotation cannot be read while the key is {}: enable it every {want} days once the key is restored",
                    details.state
                ),
                Operation::EnableRotation {
                    key_id: key.key_id.clone(),
                    rotation_days: want,
                },
            );
        }
        return;
    };
    let detail = if rotation.enabled {
        match rotation.period_days {
            Some(p) if p != want => format!("rotation every {p} days → every {want} days"),
            // AWS always reports the period; when an endpoint does not, nothing is claimed.
            _ => return,
        }
    } else {
        format!("rotation is off: enable it every {want} days")
    };
    let usable = match details.state {
        KeyState::Enabled => true,
        // A restore in the same apply enables the key before rotation is set.
        KeyState::Disabled | KeyState::PendingDeletion => spec.enabled,
        KeyState::Other(_) => false,
    };
    if usable {
        changes.exec(
            at,
            Resource::Rotation,
            ActionKind::Update,
            Severity::Medium,
            detail,
            Operation::EnableRotation {
                key_id: key.key_id.clone(),
                rotation_days: want,
            },
        );
    } else {
        changes
            .report(
                at,
                Resource::Rotation,
                Severity::Medium,
                format!("{detail} (not possible while the key is {})", details.state),
            )
            .about(key.key_id.as_str());
    }
}
