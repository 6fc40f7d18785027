//! Planning one account's managed policies (IAM is global).
//!
//! Managed policies are compared by what they grant, not by how statements
//! are split or named: each plain `Allow` statement is expanded into
//! permissions (action, resource, condition; [`permissions`]). A live policy
//! that lacks a desired permission is updated to a new default version
//! holding the union of both ([`update`]); a live permission the file does
//! not need is reported and kept ([`findings`]).

mod findings;
mod permissions;
mod update;

use std::collections::{BTreeMap, BTreeSet};

use super::action::Operation;
use super::desired::{managed_policy_of, pending_arn, pending_arn_sized, MANAGED_POLICY_MAX_CHARS};
use super::{ActionKind, At, Changes, PlanError, PolicyDiff, Resource, Severity};
use crate::model::{
    partition, tag, Account, AccountSnapshot, DesiredState, KeyOwner, KeySpec, LiveState,
    PolicyKind, Target,
};
use crate::policy::{pretty, size_without_whitespace, Document};
use permissions::{covered, permissions};

/// IAM keeps at most five versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// Keys to be created, per (account, key name): regions and generations.
pub(crate) type KeysToCreate = BTreeMap<(String, String), Vec<(String, u32)>>;

/// Plans the managed policies of every key declared in an account, then
/// reports c3 policies the file no longer declares there.
pub(crate) fn plan_account(
    desired: &DesiredState,
    account: &Account,
    snapshot: &AccountSnapshot,
    live: &LiveState,
    created: &KeysToCreate,
    changes: &mut Changes,
    errors: &mut Vec<PlanError>,
) {
    // Every key the file declares in this account, in scope or not.
    let declared: BTreeSet<&str> = desired
        .keys
        .iter()
        .filter(|k| k.targets.iter().any(|t| t.account == account.id))
        .map(|k| k.name.as_str())
        .collect();
    for spec in desired.keys.iter().filter(|k| desired.scope.key(&k.name)) {
        let Some(keys) = KeyArns::of(desired, account, spec, live, created) else {
            continue;
        };
        let at = At {
            account: &account.id,
            region: None,
            key: &spec.name,
        };
        if keys.arns.is_empty() {
            let path = &desired.settings.policy_path;
            findings::report_waiting(spec, &at, snapshot, path, changes);
        }
        for kind in PolicyKind::ALL
            .into_iter()
            .filter(|k| spec.keeps_policy(*k))
        {
            let Some(wanted) = WantedPolicy::new(kind, spec, &keys, &account.id, errors) else {
                continue;
            };
            // With no key to name, an existing policy is still checked (what
            // it grants, whose it is), but a missing one waits (above).
            if keys.arns.is_empty() && snapshot.policy(&wanted.name).is_none() {
                continue;
            }
            let ctx = PolicyContext {
                kind,
                wanted: &wanted,
                snapshot,
                path: &desired.settings.policy_path,
                key: &spec.name,
                adopt: spec.adopt,
                keys: &keys,
                live,
                ignore_tags: &desired.settings.ignore_tags,
            };
            plan_policy(&ctx, &at, changes);
        }
    }
    findings::report_orphans(desired, snapshot, &declared, &account.id, changes);
}

/// The key ARNs the managed policies of a key name must name in an account.
struct KeyArns {
    /// Every c3 key of the name in every region, and the keys this plan creates.
    arns: BTreeSet<String>,
    /// The same, with each key to be created at a real ARN's length (for the size check).
    sized: BTreeSet<String>,
    /// Keys carrying the name without `c3:managed=true`, by ARN → key id.
    lost: BTreeMap<String, String>,
}

impl KeyArns {
    /// The ARNs of a key name's keys in an account, or `None` when the managed
    /// policies cannot be planned in this run: a region of the key is outside
    /// the selection (`--regions`) or could not be read, so the list would be
    /// incomplete.
    fn of(
        desired: &DesiredState,
        account: &Account,
        spec: &KeySpec,
        live: &LiveState,
        created: &KeysToCreate,
    ) -> Option<Self> {
        let regions: Vec<&Target> = spec
            .targets
            .iter()
            .filter(|t| t.account == account.id)
            .collect();
        if regions.is_empty() || !regions.iter().all(|t| desired.scope.target(t)) {
            return None;
        }
        let mut keys = KeyArns {
            arns: BTreeSet::new(),
            sized: BTreeSet::new(),
            lost: BTreeMap::new(),
        };
        for t in &regions {
            let Some(Ok(region)) = live.regions.get(t) else {
                return None;
            };
            for k in &region.keys {
                match k.owner() {
                    KeyOwner::C3 { name } if name == spec.name => {
                        keys.arns.insert(k.arn.clone());
                        keys.sized.insert(k.arn.clone());
                    }
                    KeyOwner::LostManaged { name } if name == spec.name => {
                        keys.lost.insert(k.arn.clone(), k.key_id.clone());
                    }
                    _ => {}
                }
            }
        }
        for (region, generation) in created
            .get(&(account.id.clone(), spec.name.clone()))
            .into_iter()
            .flatten()
        {
            let t = Target::new(&account.id, region);
            // A replica made from a primary that exists has its key id.
            if let Some(arn) = replica_arn(spec, &t, live) {
                keys.sized.insert(arn.clone());
                keys.arns.insert(arn);
                continue;
            }
            keys.arns.insert(pending_arn(&t, &spec.name, *generation));
            keys.sized.insert(pending_arn_sized(&t, *generation));
        }
        Some(keys)
    }
}

/// The ARN a replica of a multi-Region key will have in `target` when its
/// primary exists (replicas share the primary's key id).
fn replica_arn(spec: &KeySpec, target: &Target, live: &LiveState) -> Option<String> {
    let primary = spec.key_type.primary_region.as_deref()?;
    if primary == target.region {
        return None;
    }
    let at = Target::new(&target.account, primary);
    let Some(Ok(snapshot)) = live.regions.get(&at) else {
        return None;
    };
    let key = super::kms::current_in(snapshot, spec)?;
    key.details
        .as_ref()
        .is_some_and(|d| d.multi_region)
        .then(|| crate::model::key_arn(target, &key.key_id))
}

/// A managed policy as c3 wants it, built once per plan.
struct WantedPolicy {
    /// `allow-<kind>-<name>`.
    name: String,
    /// The document CreatePolicy sends.
    text: String,
    /// The same, parsed.
    doc: Document,
}

impl WantedPolicy {
    /// The policy of `kind` for a key name, or `None` (with an error when it
    /// would be over IAM's size limit).
    fn new(
        kind: PolicyKind,
        spec: &KeySpec,
        keys: &KeyArns,
        account: &str,
        errors: &mut Vec<PlanError>,
    ) -> Option<Self> {
        let name = kind.policy_name(&spec.name);
        let public_key = !spec.key_type.is_symmetric_encryption()
            && spec.key_type.usage == crate::model::key_type::ENCRYPT_DECRYPT;
        let value = managed_policy_of(kind, public_key, &keys.arns);
        let text = pretty(&value);
        let size = if keys.sized == keys.arns {
            size_without_whitespace(&text)
        } else {
            size_without_whitespace(&pretty(&managed_policy_of(kind, public_key, &keys.sized)))
        };
        if size > MANAGED_POLICY_MAX_CHARS {
            errors.push(PlanError::new(
                account,
                None,
                format!(
                    "{name} would be {size} characters, over IAM's limit of {MANAGED_POLICY_MAX_CHARS}: key '{}' has too many key ARNs ({}) in this account; declare it in fewer regions or use a shorter name",
                    spec.name,
                    keys.arns.len()
                ),
            ));
            return None;
        }
        let doc = Document::from_value(value, partition("")).ok()?;
        Some(Self { name, text, doc })
    }
}

/// What planning one managed policy looks at.
struct PolicyContext<'a> {
    kind: PolicyKind,
    wanted: &'a WantedPolicy,
    snapshot: &'a AccountSnapshot,
    path: &'a str,
    key: &'a str,
    /// `adopt = true` on the key.
    adopt: bool,
    keys: &'a KeyArns,
    /// Everything read, to tell a key that no longer exists from one not seen.
    live: &'a LiveState,
    ignore_tags: &'a [String],
}

fn plan_policy(ctx: &PolicyContext<'_>, at: &At<'_>, changes: &mut Changes) {
    let name = &ctx.wanted.name;
    let Some(live) = ctx.snapshot.policy(name) else {
        match ctx.snapshot.clash(name) {
            Some(other) => findings::report_clash(&other, ctx.path, name, at, changes),
            None => create_policy(ctx, at, changes),
        }
        return;
    };
    if !live.is_owned_by(ctx.key) {
        findings::report_foreign(live, ctx.key, ctx.adopt, at, changes);
        return;
    }
    findings::report_undeclared_tags(live, ctx.ignore_tags, at, changes);
    let live_doc =
        match Document::parse(&live.document, partition("")) {
            Ok(d) => d,
            Err(e) => {
                changes.report(
                at,
                Resource::IamPolicy,
                Severity::Medium,
                format!("{name}: the default version cannot be read ({e}); c3 will not change it"),
            )
            .about(name.as_str());
                return;
            }
        };
    let want = permissions(&ctx.wanted.doc);
    let have = permissions(&live_doc);
    let lacking: Vec<_> = want.iter().filter(|p| !covered(p, &have)).collect();
    findings::report_excess(ctx, &live_doc, &have, &want, at, changes);
    if !lacking.is_empty() {
        update::plan(ctx, live, &live_doc, &have, &lacking, at, changes);
    }
}

/// CreatePolicy, tagged as c3's.
fn create_policy(ctx: &PolicyContext<'_>, at: &At<'_>, changes: &mut Changes) {
    let tags = BTreeMap::from([
        (tag::MANAGED.to_string(), "true".to_string()),
        (tag::NAME.to_string(), ctx.key.to_string()),
    ]);
    let operation = Operation::CreatePolicy {
        name: ctx.wanted.name.clone(),
        path: ctx.path.to_string(),
        document: ctx.wanted.text.clone(),
        tags,
    };
    let detail = format!("create {}{}", ctx.path, ctx.wanted.name);
    let create = changes.exec(
        at,
        Resource::IamPolicy,
        ActionKind::Create,
        Severity::Info,
        detail,
        operation,
    );
    create.about(ctx.wanted.name.as_str());
    create.diff = Some(PolicyDiff {
        before: String::new(),
        after: ctx.wanted.doc.normalized_text(),
    });
}
