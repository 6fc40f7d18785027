//! `[accounts.<name>]`, and the region lists of accounts and keys.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::super::file::AccountFile;
use super::super::path::FieldPath;
use super::super::{hints, regions};
use super::names::{
    external_id_problem, is_account_id, is_region, name_problem, parse_role_arn, show,
};
use super::Checker;
use crate::model;

/// What the keys need to know of a declared account.
pub(super) struct AccountView<'f> {
    /// Its name in the file.
    pub(super) name: &'f str,
    /// Its regions as written, sorted and unique; `None` when they could
    /// not be read (then nothing can be said about a key's regions in it).
    pub(super) regions: Option<BTreeSet<&'f str>>,
}

impl<'f> Checker<'f> {
    /// Every account; what the keys need to know of each.
    pub(super) fn accounts(
        &mut self,
        accounts: &'f BTreeMap<String, AccountFile>,
        path: &FieldPath,
    ) -> Vec<AccountView<'f>> {
        if accounts.is_empty() && !self.invalid.contains(path) && !self.discovering {
            self.err(
                path,
                "no account is declared; allowed: at least one [accounts.<name>] table \
                 with id and regions, or [organization] to discover them"
                    .into(),
            );
        }
        let mut ids = HashMap::new();
        accounts
            .iter()
            .map(|(name, a)| self.account(name, a, &path.key(name.as_str()), &mut ids))
            .collect()
    }

    fn account(
        &mut self,
        name: &'f str,
        a: &'f AccountFile,
        p: &FieldPath,
        ids: &mut HashMap<&'f str, &'f str>,
    ) -> AccountView<'f> {
        if let Some(problem) = name_problem(name, 64) {
            self.err(
                p,
                format!(
                    "account name {} {problem}; allowed: {}",
                    show(name),
                    hints::NAME
                ),
            );
        }
        let id =
            a.id.as_deref()
                .filter(|id| self.account_id(id, name, &p.key("id"), ids));
        let partition = a
            .regions
            .as_deref()
            .and_then(|regions| self.account_regions(regions, &p.key("regions")));
        if let Some(arn) = &a.role_arn {
            self.role_arn(arn, id, partition, &p.key("role_arn"));
        }
        if let Some(x) = &a.external_id {
            let has_role = a.role_arn.is_some() || self.invalid.contains(&p.key("role_arn"));
            self.external_id(x, has_role, &p.key("external_id"));
        }
        AccountView {
            name,
            regions: a
                .regions
                .as_ref()
                .map(|regions| regions.iter().map(String::as_str).collect()),
        }
    }

    /// Whether the id is a 12-digit id that no other account has.
    fn account_id(
        &mut self,
        id: &'f str,
        name: &'f str,
        path: &FieldPath,
        ids: &mut HashMap<&'f str, &'f str>,
    ) -> bool {
        if !is_account_id(id) {
            self.err(
                path,
                format!(
                    "id = {} is not an AWS account id; allowed: {}",
                    show(id),
                    hints::ACCOUNT_ID
                ),
            );
            return false;
        }
        if let Some(first) = ids.get(id) {
            self.err(
                path,
                format!(
                    "id {id:?} is also the id of account `{first}`: accounts `{first}` and \
                     `{name}` are the same AWS account; allowed: each account id in one \
                     [accounts.<name>] only"
                ),
            );
        } else {
            ids.insert(id, name);
        }
        true
    }

    /// An account's regions: at least one, each a region once, all in one
    /// partition. Returns that partition.
    pub(super) fn account_regions(
        &mut self,
        regions: &[String],
        path: &FieldPath,
    ) -> Option<&'static str> {
        if regions.is_empty() {
            self.err(
                path,
                format!(
                    "regions = [] lists no region; allowed: at least one region, {}",
                    hints::REGIONS
                ),
            );
        }
        let mut seen = BTreeSet::new();
        let mut partitions: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
        for (i, r) in regions.iter().enumerate() {
            if self.region_entry(r, &path.index(i), &mut seen) {
                partitions.entry(model::partition(r)).or_default().push(r);
            }
        }
        if partitions.len() > 1 {
            let mix: Vec<String> = partitions
                .iter()
                .map(|(p, rs)| format!("{p}: {}", rs.join(", ")))
                .collect();
            self.err(
                path,
                format!(
                    "regions are in more than one AWS partition ({}); allowed: regions of \
                     one partition, since an account belongs to exactly one",
                    mix.join("; ")
                ),
            );
            return None;
        }
        partitions.keys().next().copied()
    }

    /// One entry of a list of regions (an account's or a key's): a region
    /// name, of a region c3 knows or `allow_regions` lists, not listed
    /// before. Whether it is all that.
    pub(super) fn region_entry<'r>(
        &mut self,
        region: &'r str,
        path: &FieldPath,
        seen: &mut BTreeSet<&'r str>,
    ) -> bool {
        let problem = if !is_region(region) {
            let suggestion = regions::closest(region)
                .map(|r| format!(" (did you mean {r:?}?)"))
                .unwrap_or_default();
            format!(
                "{} is not a region name{suggestion}; allowed: {}",
                show(region),
                hints::REGION
            )
        } else if !regions::is_known(region) && !self.allow_regions.contains(region) {
            unknown_region(region)
        } else if !seen.insert(region) {
            format!(
                "region {} is listed twice; allowed: each region once",
                show(region)
            )
        } else {
            return true;
        };
        self.err(path, problem);
        false
    }

    /// `role_arn`: a role ARN, in this account and its partition.
    fn role_arn(&mut self, arn: &str, id: Option<&str>, partition: Option<&str>, path: &FieldPath) {
        let Some((arn_partition, arn_account)) = parse_role_arn(arn) else {
            self.err(
                path,
                format!(
                    "role_arn = {} is not an IAM role ARN; allowed: {}",
                    show(arn),
                    hints::ROLE_ARN
                ),
            );
            return;
        };
        if let Some(id) = id.filter(|id| *id != arn_account) {
            self.err(
                path,
                format!(
                    "role_arn is a role in account {arn_account} but id is {}; c3 acts in \
                     the account it assumes into, so the role must be in this account; \
                     allowed: arn:{arn_partition}:iam::{id}:role/<name>",
                    show(id)
                ),
            );
        }
        if let Some(partition) = partition.filter(|p| *p != arn_partition) {
            self.err(
                path,
                format!(
                    "role_arn is in partition {arn_partition} but the account's regions \
                     are in partition {partition}; allowed: arn:{partition}:iam::..."
                ),
            );
        }
    }

    /// `external_id`: its characters, and a role to send it with.
    fn external_id(&mut self, x: &str, has_role: bool, path: &FieldPath) {
        if let Some(problem) = external_id_problem(x) {
            self.err(
                path,
                format!("external_id {problem}; allowed: {}", hints::EXTERNAL_ID),
            );
        }
        if !has_role {
            self.err(
                path,
                "external_id is set but role_arn is not, and an ExternalId is only sent \
                 when assuming role_arn; allowed: add role_arn, or remove external_id"
                    .into(),
            );
        }
    }
}

/// A region name c3 does not know: the closest known one, or the known
/// ones of that name or area, and how to allow a new one.
fn unknown_region(region: &str) -> String {
    match regions::closest(region) {
        Some(known) => format!(
            "{} is not an AWS region c3 knows (did you mean {known:?}?); allowed: a region \
             c3 knows, {}",
            show(region),
            hints::NEW_REGION
        ),
        None => format!(
            "{} is not an AWS region c3 knows; allowed: one of {}, {}",
            show(region),
            regions::related(region).join(", "),
            hints::NEW_REGION
        ),
    }
}
