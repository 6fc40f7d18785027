//! `[classifications.<name>]`, and the service lists of classifications
//! and keys.

use std::collections::BTreeMap;

use super::super::file::ClassificationFile;
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
            let fields = PolicyFields {
                service_principals: c.service_principals.as_ref(),
                administrators: c.administrators.as_ref(),
                users: c.users.as_ref(),
                statements: c.statements.as_ref(),
            };
            self.policy_fields(&p, &fields, &mut Sids::new());
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
}
