//! `[classifications.<name>]`, and the service lists of classifications
//! and keys.

use std::collections::BTreeMap;

use super::super::file::ClassificationFile;
use super::super::hints;
use super::super::path::FieldPath;
use super::names::{is_service, name_problem, show};
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
            self.like_a_class(
                &p,
                c.rotation_days,
                c.via_services.as_ref(),
                c.service_principals.as_ref(),
            );
        }
    }

    /// What a key can set as its classification does: `rotation_days`,
    /// `via_services`, `service_principals`.
    pub(super) fn like_a_class(
        &mut self,
        p: &FieldPath,
        rotation_days: Option<i64>,
        via_services: Option<&Vec<String>>,
        service_principals: Option<&Vec<String>>,
    ) {
        self.range(
            &p.key("rotation_days"),
            rotation_days,
            hints::ROTATION_DAYS_RANGE,
            hints::ROTATION_DAYS,
        );
        for (field, services) in [
            ("via_services", via_services),
            ("service_principals", service_principals),
        ] {
            if let Some(services) = services {
                let what = ("", "a service name", hints::SERVICE);
                self.entries(services, &p.key(field), is_service, what);
            }
        }
    }
}
