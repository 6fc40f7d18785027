//! `[[accept]]`: reviewed findings accepted until a date.

use super::super::file::{AcceptFile, KeysFile};
use super::super::hints;
use super::super::path::FieldPath;
use super::super::suggest::did_you_mean;
use super::names::{is_account_id, is_region, show};
use super::Checker;
use crate::plan::Resource;

impl Checker<'_> {
    /// Every `[[accept]]` entry. (`reason` and `expires` missing, or of the
    /// wrong type, were reported by the reader; an `expires` that has
    /// passed is not an error: the plan warns.)
    pub(super) fn accept(&mut self, file: &KeysFile, path: &FieldPath) {
        for (i, entry) in file.accept.iter().enumerate() {
            self.accept_entry(file, entry, &path.index(i));
        }
    }

    fn accept_entry(&mut self, file: &KeysFile, a: &AcceptFile, p: &FieldPath) {
        let selectors = ["account", "region", "key", "resource", "subject"];
        let given = [&a.account, &a.region, &a.key, &a.resource, &a.subject]
            .iter()
            .any(|s| s.is_some());
        let unusable = selectors.iter().any(|s| self.invalid.contains(&p.key(*s)));
        if !given && !unusable {
            self.err(
                p,
                format!(
                    "this [[accept]] entry has no selector, so it would accept every finding; allowed: {}",
                    hints::ACCEPT_SELECTORS
                ),
            );
        }
        if let Some(account) = &a.account {
            self.accept_account(file, account, &p.key("account"));
        }
        if let Some(region) = a.region.as_deref().filter(|r| !is_region(r)) {
            self.err(
                &p.key("region"),
                format!(
                    "region = {} is not a region name; allowed: {}",
                    show(region),
                    hints::REGION
                ),
            );
        }
        if let Some(resource) = &a.resource {
            if Resource::parse(resource).is_none() {
                let names = Resource::ALL.map(Resource::as_str);
                self.err(
                    &p.key("resource"),
                    format!(
                        "resource = {} is not a resource of the plan{}; allowed: {}",
                        show(resource),
                        did_you_mean(resource, names),
                        hints::ACCEPT_RESOURCES
                    ),
                );
            }
        }
        for (field, value) in [
            ("key", &a.key),
            ("subject", &a.subject),
            ("reason", &a.reason),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                let allowed = hints::allowed(&p.key(field).shape()).unwrap_or_default();
                self.err(
                    &p.key(field),
                    format!("{field} is empty; allowed: {allowed}"),
                );
            }
        }
    }

    /// An account selector: a declared account's name or id.
    fn accept_account(&mut self, file: &KeysFile, account: &str, p: &FieldPath) {
        let known = file.accounts.iter().any(|(name, a)| {
            name == account || (is_account_id(account) && a.id.as_deref() == Some(account))
        });
        if known || file.accounts.is_empty() {
            return;
        }
        let names: Vec<&str> = file.accounts.keys().map(String::as_str).collect();
        let what = if is_account_id(account) {
            "the id of no declared account"
        } else {
            "not a declared account"
        };
        self.err(
            p,
            format!(
                "account = {} is {what}{}; allowed: the name of an account declared in [accounts.<name>] ({}), or its id",
                show(account),
                did_you_mean(account, names.iter().copied()),
                names.join(", ")
            ),
        );
    }
}
