//! A key name's key and `alias/<name>`: what stands in the way (conflicts),
//! the key to create, and the alias to create, adopt or repoint.

use super::{KeyContext, KeyView};
use crate::model::{tag, KeyOwner, LiveKey};
use crate::plan::action::{KeyRef, Operation};
use crate::plan::desired::{WantedKeyPolicy, KEY_POLICY_MAX_BYTES};
use crate::plan::{ActionKind, Changes, Finding, PolicyDiff, Resource, Severity};

/// What the alias of a key name leads to.
enum AliasPlan<'a> {
    /// The alias points at something that is not a c3 key of this name:
    /// what it points at, in words.
    Conflict(String),
    /// A key that lost `c3:managed` holds the name and no c3 key is current:
    /// nothing to write to (the lost key's conflict says why).
    Blocked,
    /// The alias must lead to the current key, or to one this plan creates.
    Lead(Option<&'a LiveKey>),
}

impl<'a> AliasPlan<'a> {
    fn decide(ctx: &KeyContext<'a>, view: &KeyView<'a>) -> Self {
        if view.alias.is_some() && view.alias_on_ours.is_none() {
            let what = match view.alias_target.and_then(|id| ctx.snapshot.key(id)) {
                Some(k) if ctx.spec.adopt => match crate::plan::adopt::refusal(k, &ctx.spec.name) {
                    Some(why) => format!(
                        "{}; adopt = true, but c3 does not adopt it: {why}",
                        not_ours(k, &ctx.spec.name)
                    ),
                    None => match view.ours.first() {
                        Some(own) => format!(
                            "{}; adopt = true, but c3 does not adopt it while c3's own key {} of {} is here: point {} at that key, or rename the key in keys.toml",
                            not_ours(k, &ctx.spec.name),
                            own.key_id,
                            ctx.spec.name,
                            ctx.spec.alias()
                        ),
                        None => not_ours(k, &ctx.spec.name),
                    },
                },
                Some(k) => not_ours(k, &ctx.spec.name),
                None => match view.alias_target {
                    Some(id) => format!("key {id}, which c3 cannot see"),
                    None => "no key".to_string(),
                },
            };
            Self::Conflict(what)
        } else if !view.lost.is_empty() && view.current.is_none() {
            Self::Blocked
        } else {
            Self::Lead(view.current)
        }
    }
}

/// Plans the key and the alias of a name: conflicts first, then the key to
/// create (if none is current) and the alias. Returns the generation it
/// creates, if any.
pub(super) fn plan(ctx: &KeyContext<'_>, view: &KeyView<'_>, changes: &mut Changes) -> Option<u32> {
    let at = ctx.at();
    let name = &ctx.spec.name;
    // A key that lost c3:managed but still carries this name is reported
    // once: by the alias conflict when the alias points at it, else here.
    for key in view
        .lost
        .iter()
        .filter(|k| Some(k.key_id.as_str()) != view.alias_target)
    {
        changes.finding(
            Finding::Conflict,
            &at,
            Resource::Key,
            Severity::High,
            format!(
                "{}; c3 will not write to it, and creates and adopts nothing for {name} here while it is there: {}",
                not_ours(key, name),
                ways_out(name)
            ),
        )
        .about(key.key_id.as_str());
    }
    match AliasPlan::decide(ctx, view) {
        AliasPlan::Conflict(what) => {
            changes.finding(
                Finding::Conflict,
                &at,
                Resource::Alias,
                Severity::High,
                format!(
                    "{} points at {what}; c3 leaves the alias alone and creates nothing behind it{}",
                    ctx.spec.alias(),
                    if ctx.spec.adopt {
                        String::new()
                    } else {
                        format!(": {}", ways_out(name))
                    }
                ),
            )
            .about(ctx.spec.alias());
            None
        }
        AliasPlan::Blocked => None,
        AliasPlan::Lead(Some(current)) => {
            plan_alias(ctx, view, KeyRef::existing(&current.key_id), changes);
            None
        }
        AliasPlan::Lead(None) => {
            let generation = create_key(ctx, changes)?;
            plan_alias(ctx, view, KeyRef::New { generation }, changes);
            Some(generation)
        }
    }
}

/// The ways out of a conflict, said the same way everywhere.
fn ways_out(name: &str) -> String {
    format!(
        "either rename the key in keys.toml, or, once you have reviewed what is there and want c3 to manage it, set adopt = true on key {name} in keys.toml, so that apply tags it {}=true and {}={name}",
        tag::MANAGED,
        tag::NAME
    )
}

/// Why a key that stands in the way is not c3's, in words.
fn not_ours(key: &LiveKey, name: &str) -> String {
    let id = &key.key_id;
    match key.owner() {
        KeyOwner::C3 { name: other } if other != name => {
            format!("key {id}, a c3 key of another name ({other})")
        }
        KeyOwner::C3 { .. } => format!("key {id}"),
        KeyOwner::LostManaged { .. } => format!(
            "key {id}, which carries {}={name} but not {}=true (the tag was removed or changed), so c3 no longer counts it as its own",
            tag::NAME,
            tag::MANAGED
        ),
        KeyOwner::C3Unnamed => format!(
            "key {id}, which is tagged {}=true but has no {} tag",
            tag::MANAGED,
            tag::NAME
        ),
        KeyOwner::Other => format!("key {id}, which c3 does not manage"),
    }
}

/// Creates the key of the declared generation, or reports why not; returns
/// the generation created.
fn create_key(ctx: &KeyContext<'_>, changes: &mut Changes) -> Option<u32> {
    let spec = ctx.spec;
    let at = ctx.at();
    let wanted = ctx.wanted;
    if !spec.enabled {
        changes.report(
            &at,
            Resource::Key,
            Severity::Info,
            format!(
                "generation {} does not exist and enabled = false: c3 does not create disabled keys",
                spec.generation
            ),
        );
        return None;
    }
    if wanted.text.len() > KEY_POLICY_MAX_BYTES {
        changes.report(
            &at,
            Resource::Key,
            Severity::Low,
            format!(
                "the key policy would be {} bytes, over AWS's limit of {KEY_POLICY_MAX_BYTES}: declare fewer services",
                wanted.text.len()
            ),
        );
        return None;
    }
    if spec.key_type.is_replica_region(&ctx.target.region) {
        return super::replica::create(ctx, changes);
    }
    if let Some(why) = super::replica::primary_missing(ctx) {
        changes.report(&at, Resource::Key, Severity::Medium, why);
        return None;
    }
    let key_type = &spec.key_type;
    let rotation = if key_type.supports_rotation() {
        format!("rotation every {} days", spec.rotation_days)
    } else {
        "no automatic rotation (AWS rotates only symmetric encryption keys)".to_string()
    };
    let create = changes.exec(
        &at,
        Resource::Key,
        ActionKind::Create,
        Severity::Info,
        format!(
            "create {} key{}, generation {}, {rotation}, {} key policy statements{}",
            key_type.words(),
            super::replica::replicas_note(ctx),
            spec.generation,
            wanted.statements.len(),
            other_accounts(wanted, &ctx.target.account)
        ),
        Operation::CreateKey {
            generation: spec.generation,
            description: spec.description.clone(),
            policy: wanted.text.clone(),
            tags: spec.tags(),
            rotation_days: spec.rotation_days,
            key_spec: key_type.spec.clone(),
            key_usage: key_type.usage.clone(),
            multi_region: key_type.multi_region(),
        },
    );
    create.diff = Some(PolicyDiff {
        before: String::new(),
        after: wanted.normalized.clone(),
    });
    Some(spec.generation)
}

/// Creates, adopts or repoints `alias/<name>` (the alias is missing or on a
/// c3 key of this name).
fn plan_alias(ctx: &KeyContext<'_>, view: &KeyView<'_>, key_ref: KeyRef, changes: &mut Changes) {
    let spec = ctx.spec;
    let at = ctx.at();
    let alias_name = spec.alias();
    let shown = match &key_ref {
        KeyRef::Existing { key_id } => key_id.clone(),
        KeyRef::New { .. } => "the new key".to_string(),
    };
    match (view.alias_on_ours, view.current) {
        (Some(on), Some(cur)) if on.key_id == cur.key_id => {}
        (Some(on), _) => {
            // A generation bump realises a new declaration; an alias moved
            // to another key of the name by hand is drift.
            let severity = if matches!(key_ref, KeyRef::New { .. }) {
                Severity::Info
            } else {
                Severity::Low
            };
            let generation = on.c3_generation().map_or("?".into(), |g| g.to_string());
            changes.exec(
                &at,
                Resource::Alias,
                ActionKind::Repoint,
                severity,
                format!(
                    "{alias_name}: {} (generation {generation}) → {shown} (generation {}); the old key stays enabled",
                    on.key_id, spec.generation
                ),
                Operation::UpdateAlias {
                    alias: alias_name.clone(),
                    key: key_ref,
                },
            );
        }
        (None, Some(cur)) => {
            changes.exec(
                &at,
                Resource::Alias,
                ActionKind::Adopt,
                Severity::Info,
                format!(
                    "{alias_name} → {} (a c3 key of generation {} that no alias points at)",
                    cur.key_id, spec.generation
                ),
                Operation::CreateAlias {
                    alias: alias_name.clone(),
                    key: key_ref,
                },
            );
        }
        (None, None) => {
            changes.exec(
                &at,
                Resource::Alias,
                ActionKind::Create,
                Severity::Info,
                format!("create {alias_name} → {shown}"),
                Operation::CreateAlias {
                    alias: alias_name.clone(),
                    key: key_ref,
                },
            );
        }
    }
}

/// `"; principals of other accounts: …"` for the principals of the wanted
/// key policy that belong to another account than the key's (declared in
/// `users`, `administrators` or `statements`), so that a review sees them;
/// empty when there are none.
pub(super) fn other_accounts(wanted: &WantedKeyPolicy, account: &str) -> String {
    let others: std::collections::BTreeSet<&str> = wanted
        .statements
        .iter()
        .flat_map(|(_, s)| s.principal.iter().flatten())
        .flat_map(|(kind, values)| values.iter().map(move |v| (kind.as_str(), v.as_str())))
        .filter(|(kind, v)| {
            matches!(
                crate::policy::risk::classify(kind, v, account),
                crate::policy::risk::Principal::OtherAccount(_)
            )
        })
        .map(|(_, v)| v)
        .collect();
    if others.is_empty() {
        String::new()
    } else {
        let list: Vec<&str> = others.into_iter().collect();
        format!("; principals of other accounts: {}", list.join(", "))
    }
}
