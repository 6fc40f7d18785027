//! `[settings]`.

use super::super::file::SettingsFile;
use super::super::hints;
use super::super::path::FieldPath;
use super::names::{is_region, policy_path_problem, session_name_problem, show};
use super::Checker;

impl Checker<'_> {
    pub(super) fn settings(&mut self, s: &SettingsFile, path: &FieldPath) {
        let strings = [
            (
                "policy_path",
                &s.policy_path,
                policy_path_problem as fn(&str) -> Option<String>,
                hints::POLICY_PATH,
            ),
            (
                "session_name",
                &s.session_name,
                session_name_problem,
                hints::SESSION_NAME,
            ),
        ];
        for (field, value, problem, allowed) in strings {
            let Some(value) = value else {
                continue;
            };
            if let Some(problem) = problem(value) {
                self.err(
                    &path.key(field),
                    format!("{field} = {} {problem}; allowed: {allowed}", show(value)),
                );
            }
        }
        self.rates(s, path);
        if let Some(globs) = &s.ignore_tags {
            self.ignore_tags(globs, &path.key("ignore_tags"));
        }
        if let Some(regions) = &s.allow_regions {
            self.entries(
                regions,
                &path.key("allow_regions"),
                is_region,
                ("allow_regions entry ", "a region name", hints::REGION),
            );
        }
    }

    /// The numbers: parallelism and the rates of calls.
    fn rates(&mut self, s: &SettingsFile, path: &FieldPath) {
        let rates = [
            (
                "parallelism",
                s.parallelism,
                hints::PARALLELISM_RANGE,
                hints::PARALLELISM,
            ),
            (
                "writes_per_second",
                s.writes_per_second,
                hints::WRITES_PER_SECOND_RANGE,
                hints::WRITES_PER_SECOND,
            ),
            (
                "iam_writes_per_second",
                s.iam_writes_per_second,
                hints::WRITES_PER_SECOND_RANGE,
                hints::WRITES_PER_SECOND,
            ),
            (
                "grant_reads_per_second",
                s.grant_reads_per_second,
                hints::GRANT_READS_PER_SECOND_RANGE,
                hints::GRANT_READS_PER_SECOND,
            ),
        ];
        for (field, value, range, allowed) in rates {
            self.range(&path.key(field), value, range, allowed);
        }
    }
}
