//! The tables of `keys.toml`, field by field: the type of each field, and
//! (from the schema) which fields each table has and must have.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::super::file::{
    AcceptFile, AccountFile, ClassificationFile, KeyFile, KeysFile, OrganizationFile, RolloutFile,
    SettingsFile, StatementFile, Table,
};
use super::{Loc, Reader};

impl Reader<'_> {
    /// The whole file (the root table).
    pub(super) fn file(&mut self, root: &Spanned<DeValue<'_>>) -> KeysFile {
        let mut file = KeysFile::default();
        let Some(table) = root.get_ref().as_table() else {
            return file;
        };
        self.fields(&Loc::Root, table, Table::Top, |r, name, p, v| {
            match name {
                "version" => file.version = r.integer(p, v),
                "settings" => file.settings = r.entry(p, v, Self::settings),
                "accounts" => file.accounts = r.named(p, v, Self::account),
                "classifications" => file.classifications = r.named(p, v, Self::classification),
                "keys" => file.keys = r.listed(p, v, Self::key),
                "accept" => file.accept = r.listed(p, v, Self::accept),
                "organization" => file.organization = Some(r.entry(p, v, Self::organization)),
                "rollout" => file.rollout = Some(r.entry(p, v, Self::rollout)),
                _ => return false,
            }
            true
        });
        file
    }

    fn settings(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> SettingsFile {
        let mut s = SettingsFile::default();
        self.fields(at, table, Table::Settings, |r, name, p, v| {
            match name {
                "policy_path" => s.policy_path = r.string(p, v),
                "session_name" => s.session_name = r.string(p, v),
                "parallelism" => s.parallelism = r.integer(p, v),
                "writes_per_second" => s.writes_per_second = r.integer(p, v),
                "iam_writes_per_second" => s.iam_writes_per_second = r.integer(p, v),
                "read_grants" => s.read_grants = r.boolean(p, v),
                "grant_reads_per_second" => s.grant_reads_per_second = r.integer(p, v),
                "ignore_tags" => s.ignore_tags = r.strings(p, v),
                "allow_regions" => s.allow_regions = r.strings(p, v),
                _ => return false,
            }
            true
        });
        s
    }

    fn account(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> AccountFile {
        let mut a = AccountFile::default();
        self.fields(at, table, Table::Account, |r, name, p, v| {
            match name {
                "id" => a.id = r.string(p, v),
                "role_arn" => a.role_arn = r.string(p, v),
                "external_id" => a.external_id = r.string(p, v),
                "regions" => a.regions = r.strings(p, v),
                _ => return false,
            }
            true
        });
        a
    }

    fn classification(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> ClassificationFile {
        let mut c = ClassificationFile::default();
        self.fields(at, table, Table::Classification, |r, name, p, v| {
            match name {
                "rotation_days" => c.rotation_days = r.integer(p, v),
                "via_services" => c.via_services = r.strings(p, v),
                "service_principals" => c.service_principals = r.strings(p, v),
                "administrators" => c.administrators = r.strings(p, v),
                "users" => c.users = r.strings(p, v),
                "statements" => c.statements = Some(r.listed(p, v, Self::statement)),
                "rotation" => c.rotation = r.boolean(p, v),
                "managed_policies" => c.managed_policies = r.managed_policies(p, v),
                "key_spec" => c.key_spec = r.string(p, v),
                "key_usage" => c.key_usage = r.string(p, v),
                _ => return false,
            }
            true
        });
        c
    }

    fn key(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> KeyFile {
        let mut k = KeyFile::default();
        self.fields(at, table, Table::Key, |r, name, p, v| {
            match name {
                "name" => k.name = r.string(p, v),
                "classification" => k.classification = r.string(p, v),
                "description" => k.description = r.string(p, v),
                "accounts" => k.accounts = r.strings(p, v),
                "regions" => k.regions = r.strings(p, v),
                "rotation_days" => k.rotation_days = r.integer(p, v),
                "generation" => k.generation = r.integer(p, v),
                "enabled" => k.enabled = r.boolean(p, v),
                "via_services" => k.via_services = r.strings(p, v),
                "service_principals" => k.service_principals = r.strings(p, v),
                "administrators" => k.administrators = r.strings(p, v),
                "users" => k.users = r.strings(p, v),
                "statements" => k.statements = Some(r.listed(p, v, Self::statement)),
                "tags" => k.tags = r.string_map(p, v),
                "adopt" => k.adopt = r.boolean(p, v),
                "rotation" => k.rotation = r.boolean(p, v),
                "managed_policies" => k.managed_policies = r.managed_policies(p, v),
                "key_spec" => k.key_spec = r.string(p, v),
                "key_usage" => k.key_usage = r.string(p, v),
                "multi_region" => k.multi_region = r.boolean(p, v),
                "primary_region" => k.primary_region = r.string(p, v),
                _ => return false,
            }
            true
        });
        k
    }

    fn accept(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> AcceptFile {
        let mut a = AcceptFile::default();
        self.fields(at, table, Table::Accept, |r, name, p, v| {
            match name {
                "account" => a.account = r.string(p, v),
                "region" => a.region = r.string(p, v),
                "key" => a.key = r.string(p, v),
                "resource" => a.resource = r.string(p, v),
                "subject" => a.subject = r.string(p, v),
                "reason" => a.reason = r.string(p, v),
                "expires" => a.expires = r.date(p, v),
                _ => return false,
            }
            true
        });
        a
    }

    fn organization(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> OrganizationFile {
        let mut o = OrganizationFile::default();
        self.fields(at, table, Table::Organization, |r, name, p, v| {
            match name {
                "role_arn" => o.role_arn = r.string(p, v),
                "external_id" => o.external_id = r.string(p, v),
                "parents" => o.parents = r.strings(p, v),
                "root" => o.root = r.boolean(p, v),
                "tags" => o.tags = r.string_map(p, v),
                "role_name" => o.role_name = r.string(p, v),
                "regions" => o.regions = r.strings(p, v),
                _ => return false,
            }
            true
        });
        o
    }

    fn rollout(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> RolloutFile {
        let mut o = RolloutFile::default();
        self.fields(at, table, Table::Rollout, |r, name, p, v| {
            match name {
                "waves" => o.waves = r.waves(p, v),
                "max_concurrent_accounts" => o.max_concurrent_accounts = r.integer(p, v),
                "failure_tolerance" => o.failure_tolerance = r.integer(p, v),
                "region_order" => o.region_order = r.strings(p, v),
                _ => return false,
            }
            true
        });
        o
    }

    /// `[[keys.statements]]`: one key-policy statement.
    fn statement(&mut self, at: &Loc<'_>, table: &DeTable<'_>) -> StatementFile {
        let mut st = StatementFile::default();
        self.fields(at, table, Table::Statement, |r, name, p, v| {
            match name {
                "sid" => st.sid = r.string(p, v),
                "effect" => st.effect = r.string(p, v),
                "principal" => st.principal = r.principal(p, v),
                "action" => st.action = r.one_or_many(p, v),
                "resource" => st.resource = r.one_or_many(p, v),
                "condition" => st.condition = r.condition(p, v),
                _ => return false,
            }
            true
        });
        st
    }

    /// Reads each field of a table with `field`, which says `false` for a
    /// name the table has no field of; reports those, and the required
    /// fields that the table lacks.
    fn fields(
        &mut self,
        at: &Loc<'_>,
        table: &DeTable<'_>,
        kind: Table,
        mut field: impl FnMut(&mut Self, &str, &Loc<'_>, &Spanned<DeValue<'_>>) -> bool,
    ) {
        let fields = kind.fields();
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let here = at.key(name);
            if !field(self, name, &here, value) {
                self.unknown(key, &here, &fields.all);
            }
        }
        self.require(table, at, &fields.required);
    }

    /// One table (`[settings]`, an account, a key) read by `read`; empty
    /// when the value is not a table.
    fn entry<T: Default>(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
        read: fn(&mut Self, &Loc<'_>, &DeTable<'_>) -> T,
    ) -> T {
        match self.table(at, value) {
            Some(table) => read(self, at, table),
            None => T::default(),
        }
    }

    /// `[accounts.<name>]` / `[classifications.<name>]`: each entry on its own.
    fn named<T: Default>(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
        read: fn(&mut Self, &Loc<'_>, &DeTable<'_>) -> T,
    ) -> BTreeMap<String, T> {
        let Some(table) = self.collection(at, value, DeValue::as_table) else {
            return BTreeMap::new();
        };
        table
            .iter()
            .map(|(name, entry)| {
                let entry = self.entry(&at.key(name.get_ref()), entry, read);
                (name.get_ref().to_string(), entry)
            })
            .collect()
    }

    /// `[[keys]]`: each entry on its own, in its place even when it is not
    /// a table, so that `keys[i]` stays the i-th key of the file.
    fn listed<T: Default>(
        &mut self,
        at: &Loc<'_>,
        value: &Spanned<DeValue<'_>>,
        read: fn(&mut Self, &Loc<'_>, &DeTable<'_>) -> T,
    ) -> Vec<T> {
        let Some(array) = self.collection(at, value, DeValue::as_array) else {
            return Vec::new();
        };
        array
            .iter()
            .enumerate()
            .map(|(i, entry)| self.entry(&at.index(i), entry, read))
            .collect()
    }
}
