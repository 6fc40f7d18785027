//! `[classifications.<name>]`, and the service lists of classifications
//! and keys.

use std::collections::BTreeMap;

use super::super::file::{ClassificationFile, ManagedPoliciesFile};
use super::super::hints;
use super::super::path::FieldPath;
use super::names::{is_service, name_problem, show};
use super::policy::{PolicyFields, Sids};
use super::Checker;

impl Checker<'_> {
    pub(super) fn classifications(
        &mut self,
        classes: &BTreeMap<String, ClassificationFile>,
        path: &FieldPath,
    ) {
        for (name, c) in classes {
            let p = path.key(name.as_str());
            if let Some(problem) = name_problem(name, 64) {
                self.err(
                    &p,
                    format!(
                        "classification name {} {problem}; allowed: {}",
                        show(name),
                        hints::NAME
                    ),
                );
            }
            self.like_a_class(&p, c.rotation_days, c.via_services.as_ref());
            self.rotation_off(&p, c.rotation, c.rotation_days, None);
            if let Some(mp) = &c.managed_policies {
                self.managed_policies(mp, &p.key("managed_policies"));
            }
            let fields = PolicyFields {
                service_principals: c.service_principals.as_ref(),
                administrators: c.administrators.as_ref(),
                users: c.users.as_ref(),
                statements: c.statements.as_ref(),
            };
            self.policy_fields(&p, &fields, &mut Sids::new());
            self.class_key_type(c, &p);
        }
    }

    /// What a key can set as its classification does: `rotation_days`,
    /// `via_services` (the key-policy fields are `policy_fields`').
    pub(super) fn like_a_class(
        &mut self,
        p: &FieldPath,
        rotation_days: Option<i64>,
        via_services: Option<&Vec<String>>,
    ) {
        self.range(
            &p.key("rotation_days"),
            rotation_days,
            hints::ROTATION_DAYS_RANGE,
            hints::ROTATION_DAYS,
        );
        if let Some(services) = via_services {
            let what = ("", "a service name", hints::SERVICE);
            self.entries(services, &p.key("via_services"), is_service, what);
        }
    }

    /// `rotation_days` where rotation is off (`rotation = false` on the same
    /// table, or on the key's classification: `inherited`) says nothing.
    pub(super) fn rotation_off(
        &mut self,
        p: &FieldPath,
        rotation: Option<bool>,
        rotation_days: Option<i64>,
        inherited: Option<&str>,
    ) {
        let (Some(days), false) = (rotation_days, rotation.unwrap_or(inherited.is_none())) else {
            return;
        };
        let from = match (rotation, inherited) {
            (Some(false), _) | (_, None) => "rotation = false".to_string(),
            (_, Some(class)) => {
                format!("rotation = false (from classification `{class}`)")
            }
        };
        self.err(
            &p.key("rotation_days"),
            format!(
                "rotation_days = {days} together with {from}: c3 neither enables nor \
                 compares rotation for such a key; allowed: {}",
                hints::ROTATION_OFF
            ),
        );
    }

    /// `managed_policies`: a boolean, or a non-empty list of the kinds, each once.
    pub(super) fn managed_policies(&mut self, mp: &ManagedPoliciesFile, path: &FieldPath) {
        let ManagedPoliciesFile::Some(list) = mp else {
            return;
        };
        if list.is_empty() {
            self.err(
                path,
                format!(
                    "managed_policies = [] names no policy; allowed: {}",
                    hints::MANAGED_POLICIES
                ),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, kind) in list.iter().enumerate() {
            let problem = if !hints::MANAGED_POLICY_KINDS.contains(&kind.as_str()) {
                format!(
                    "{} is not a managed policy kind{}; allowed: {}",
                    show(kind),
                    super::super::suggest::did_you_mean(
                        kind,
                        hints::MANAGED_POLICY_KINDS.iter().copied()
                    ),
                    hints::MANAGED_POLICY_KIND
                )
            } else if !seen.insert(kind.as_str()) {
                format!("{} is listed twice; allowed: each kind once", show(kind))
            } else {
                continue;
            };
            self.err(&path.index(i), problem);
        }
    }
}
