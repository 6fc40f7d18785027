//! A key's policy: c3's statements (by Sid) merged into the live policy,
//! never removing or narrowing anything. First the merge is decided (what is
//! added, what is found), then whether the merged policy may be written
//! ([`Write`]), then the changes are emitted.

use serde_json::Value;

use super::{statement_name, KeyContext};
use crate::model::{partition, LiveKey};
use crate::plan::action::Operation;
use crate::plan::desired::{is_reserved_sid, KEY_POLICY_MAX_BYTES};
use crate::plan::{ActionKind, Changes, PolicyDiff, Resource, Severity};
use crate::policy::{
    self, add_to_statement, compare_statement, parse_statement, pretty, risk, Document,
};

/// Plans the policy of the current key of a name.
pub(super) fn plan(ctx: &KeyContext<'_>, key: &LiveKey, changes: &mut Changes) {
    let at = ctx.at();
    let Some(text) = key.details.as_ref().and_then(|d| d.policy.as_deref()) else {
        return;
    };
    let live = match Document::parse(text, partition(&ctx.target.region)) {
        Ok(doc) => doc,
        Err(e) => {
            changes
                .report(
                    &at,
                    Resource::KeyPolicy,
                    Severity::Medium,
                    format!(
                        "the key policy of {} cannot be read ({e}); c3 will not rewrite it",
                        key.key_id
                    ),
                )
                .about(key.key_id.as_str());
            return;
        }
    };
    let merge = Merge::of(ctx, &live);
    for (severity, detail, sid) in &merge.findings {
        changes
            .report(&at, Resource::KeyPolicy, *severity, detail.clone())
            .about(sid.as_str());
    }
    report_undeclared(ctx, &live, changes);
    let c3_public = c3_public_statements(ctx, &live);
    let still_public = if merge.updates.is_empty() {
        c3_public
    } else {
        match Write::decide(ctx, &live, merge, &c3_public) {
            Write::Invalid(e) => {
                changes
                    .report(
                        &at,
                        Resource::KeyPolicy,
                        Severity::Medium,
                        format!("merged policy is invalid: {e}"),
                    )
                    .about(key.key_id.as_str());
                c3_public
            }
            Write::HeldBack { detail, diff } => {
                changes
                    .report(&at, Resource::KeyPolicy, Severity::Low, detail)
                    .about(key.key_id.as_str())
                    .diff = Some(diff);
                c3_public
            }
            Write::Put {
                severity,
                detail,
                text,
                diff,
                public,
            } => {
                let operation = Operation::PutKeyPolicy {
                    key_id: key.key_id.clone(),
                    policy: text,
                };
                changes
                    .exec(
                        &at,
                        Resource::KeyPolicy,
                        ActionKind::Update,
                        severity,
                        detail,
                        operation,
                    )
                    .diff = Some(diff);
                // c3's statements that stay public are those the merge keeps public.
                c3_public
                    .into_iter()
                    .filter(|n| public.contains(n))
                    .collect()
            }
        }
    };
    report_public_c3_statements(ctx, &live, &still_public, changes);
}

/// Whether a live statement of another Sid grants exactly what `want`
/// does, while no live statement has `want`'s Sid: then `want` is satisfied
/// as it is (design.md, "Key policy content").
fn satisfied_elsewhere(live: &Document, want: &policy::Statement) -> bool {
    live.statements
        .iter()
        .any(|s| s.sid != want.sid && s.grants_same(want))
}

/// Whether a live statement stands for a wanted one whose Sid the live
/// policy lacks: it grants exactly the same, so it is c3's statement under
/// another Sid, neither re-added nor reported.
fn stands_for_wanted(ctx: &KeyContext<'_>, live: &Document, s: &policy::Statement) -> bool {
    ctx.wanted.statements.iter().any(|(_, want)| {
        s.grants_same(want)
            && !live
                .statements
                .iter()
                .any(|l| l.sid.is_some() && l.sid == want.sid)
    })
}

/// Reports every live statement keys.toml does not declare (kept).
fn report_undeclared(ctx: &KeyContext<'_>, live: &Document, changes: &mut Changes) {
    for s in &live.statements {
        if s.sid.as_ref().is_some_and(|sid| ctx.wanted.declares(sid)) {
            // c3's own statements altered so that the key is public are
            // judged with the merge: its repair, or a finding.
            continue;
        }
        if stands_for_wanted(ctx, live, s) {
            continue;
        }
        let assessment = risk::assess_statement(s, &ctx.target.account);
        let what = if s.sid.as_deref().is_some_and(is_reserved_sid) {
            "has the Sid of a c3 statement that keys.toml no longer declares"
        } else {
            "is not declared in keys.toml"
        };
        let mut detail = format!(
            "statement {} {what} (kept): {}",
            statement_name(s),
            risk::describe_statement(s)
        );
        if let Some(note) = &assessment.note {
            detail.push_str(&format!("; {note}"));
        }
        changes
            .report(&ctx.at(), Resource::KeyPolicy, assessment.severity, detail)
            .about(s.subject());
    }
}

/// What merging c3's statements into a live key policy gives.
struct Merge {
    /// The live document with what it lacks added.
    merged: Value,
    /// What was added, for the detail (`add statement X`, `X gains …`).
    updates: Vec<String>,
    /// What c3's own statements (by Sid) do beyond keys.toml, or cannot be
    /// given: reported, in statement order, with the Sid.
    findings: Vec<(Severity, String, String)>,
}

impl Merge {
    /// Adds to a copy of the live policy what c3's statements lack, and notes
    /// what they grant beyond them.
    fn of(ctx: &KeyContext<'_>, live: &Document) -> Self {
        let mut merge = Merge {
            merged: live.raw.clone(),
            updates: Vec::new(),
            findings: Vec::new(),
        };
        for (raw, want) in &ctx.wanted.statements {
            let sid = want.sid.clone().unwrap_or_default();
            let Some(i) = live
                .statements
                .iter()
                .position(|s| s.sid.as_deref() == Some(sid.as_str()))
            else {
                if satisfied_elsewhere(live, want) {
                    // A live statement grants exactly this under another Sid.
                    continue;
                }
                if want.effect == "Allow" {
                    merge.updates.push(format!("add statement {sid}"));
                    append_statement(&mut merge.merged, raw.clone());
                } else {
                    // A Deny added to a live policy takes permissions away:
                    // c3 shows it and leaves it to a person.
                    merge.findings.push((
                        Severity::Medium,
                        format!(
                            "statement {sid} ({}) is missing: {}; c3 does not add it to a live key policy, as it would take permissions away",
                            want.effect,
                            risk::describe_statement(want)
                        ),
                        sid.clone(),
                    ));
                }
                continue;
            };
            let found = &live.statements[i];
            let (lacks, excess) = compare_statement(found, want);
            let mut merged = None;
            if !lacks.is_empty() && found.effect != "Allow" {
                merge.findings.push((
                    Severity::Medium,
                    format!(
                        "statement {sid} is not an Allow: {}; c3 will not change it",
                        risk::describe_statement(found)
                    ),
                    sid.clone(),
                ));
            } else if !lacks.is_empty() {
                merge
                    .updates
                    .push(format!("{sid} gains {}", lacks.describe()));
                if let Some(stmt) = statement_mut(&mut merge.merged, i) {
                    add_to_statement(stmt, &lacks);
                    merged = parse_statement(stmt, partition(&ctx.target.region)).ok();
                }
            }
            if !excess.is_empty() {
                // What stays beyond keys.toml is judged as it will be once the
                // merge is written (a condition c3 restores no longer leaves
                // the key public: the update's row says so until then).
                let judged = merged.as_ref().unwrap_or(found);
                let assessment = risk::assess_statement(judged, &ctx.target.account);
                let mut detail = format!(
                    "statement {sid} grants more than keys.toml asks for: {} (kept)",
                    excess.describe()
                );
                if let Some(note) = assessment.note {
                    detail.push_str(&format!("; {note}"));
                }
                let severity = assessment.severity.max(Severity::Medium);
                merge.findings.push((severity, detail, sid.clone()));
            }
        }
        merge
    }
}

/// Whether a merged key policy is written: c3 never writes a key policy
/// that would lock the account out, leave the key usable by anyone, or
/// exceed AWS's size limit.
enum Write {
    /// The merged document does not parse.
    Invalid(String),
    /// Held back: the detail says what it would add and why not.
    HeldBack { detail: String, diff: PolicyDiff },
    /// PutKeyPolicy with `text`.
    Put {
        severity: Severity,
        detail: String,
        text: String,
        diff: PolicyDiff,
        /// The statements that stay public after the write (by name).
        public: Vec<String>,
    },
}

impl Write {
    /// `c3_public`: c3's own statements that make the live key public.
    fn decide(ctx: &KeyContext<'_>, live: &Document, merge: Merge, c3_public: &[String]) -> Self {
        let part = partition(&ctx.target.region);
        let Merge {
            mut merged,
            updates,
            ..
        } = merge;
        if merged.get("Version").is_none() {
            if let Some(m) = merged.as_object_mut() {
                m.insert("Version".into(), policy::POLICY_VERSION.into());
            }
        }
        let text = pretty(&merged);
        let after = match Document::from_value(merged, part) {
            Ok(d) => d,
            Err(e) => return Self::Invalid(e.to_string()),
        };
        let diff = PolicyDiff {
            before: live.normalized_text(),
            after: after.normalized_text(),
        };
        let mut detail = updates.join("; ");
        // A statement c3 keeps (it never removes one) that leaves the key public.
        let public: Vec<String> = after
            .statements
            .iter()
            .filter(|s| risk::public_reason(s).is_some())
            .map(statement_name)
            .collect();
        // c3's own statements that make the key public now and that this write
        // repairs (their conditions restored): the update is critical.
        let repaired: Vec<&str> = c3_public
            .iter()
            .filter(|name| !public.contains(name))
            .map(String::as_str)
            .collect();
        let severity = if repaired.is_empty() {
            Severity::Low
        } else {
            detail.push_str(&format!(
                "; until then statement {} makes the key usable by anyone",
                repaired.join(", ")
            ));
            Severity::Critical
        };
        match refusal(ctx, &after, &text, &public) {
            None => Self::Put {
                severity,
                detail,
                text,
                diff,
                public,
            },
            Some(why) => Self::HeldBack {
                detail: format!("{detail}: not applied, {why}"),
                diff,
            },
        }
    }
}

/// Why a merged key policy must not be written, if it must not.
fn refusal(
    ctx: &KeyContext<'_>,
    after: &Document,
    text: &str,
    public: &[String],
) -> Option<String> {
    if !public.is_empty() {
        return Some(format!(
            "held back while statement {} makes the key usable by anyone (see its row): c3 never writes a key policy that leaves a key public",
            public.join(", ")
        ));
    }
    let part = partition(&ctx.target.region);
    policy::check_key_policy(after, &ctx.target.account, part)
        .err()
        .or_else(|| {
            (text.len() > KEY_POLICY_MAX_BYTES).then(|| {
                format!(
                    "the merged policy would be {} bytes, over AWS's limit of {KEY_POLICY_MAX_BYTES}",
                    text.len()
                )
            })
        })
}

/// The names of c3's own statements (by Sid) that make the live key public.
fn c3_public_statements(ctx: &KeyContext<'_>, live: &Document) -> Vec<String> {
    live.statements
        .iter()
        .filter(|s| s.sid.as_ref().is_some_and(|sid| ctx.wanted.declares(sid)))
        .filter(|s| risk::public_reason(s).is_some())
        .map(statement_name)
        .collect()
}

/// A critical finding for each of c3's own statements named in
/// `still_public`: they make the key public and no write of this plan
/// repairs them.
fn report_public_c3_statements(
    ctx: &KeyContext<'_>,
    live: &Document,
    still_public: &[String],
    changes: &mut Changes,
) {
    for s in &live.statements {
        let name = statement_name(s);
        let Some(why) = risk::public_reason(s) else {
            continue;
        };
        if still_public.contains(&name) {
            changes.report(
                &ctx.at(),
                Resource::KeyPolicy,
                Severity::Critical,
                format!(
                    "statement {name} makes the key usable by anyone: {why}: {} (c3 never writes a key policy that leaves a key public)",
                    risk::describe_statement(s)
                ),
            )
            .about(s.subject());
        }
    }
}

fn append_statement(doc: &mut Value, statement: Value) {
    let Some(m) = doc.as_object_mut() else {
        return;
    };
    match m.get_mut("Statement") {
        Some(Value::Array(items)) => items.push(statement),
        Some(single) => {
            let one = single.take();
            *single = Value::Array(vec![one, statement]);
        }
        None => {
            m.insert("Statement".into(), Value::Array(vec![statement]));
        }
    }
}

fn statement_mut(doc: &mut Value, index: usize) -> Option<&mut Value> {
    match doc.get_mut("Statement")? {
        Value::Array(items) => items.get_mut(index),
        single @ Value::Object(_) if index == 0 => Some(single),
        _ => None,
    }
}
