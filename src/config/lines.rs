//! The lines of keys.toml that declare each key and account, from toml's
//! spans (the parse every diagnostic uses): for reports that point at the
//! file (SARIF locations).

use std::collections::BTreeMap;

use toml::de::DeValue;

use super::locate::TomlSource;
use super::path::FieldPath;

/// Where keys.toml declares things, 1-based lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationLines {
    /// The line of each `[[keys]]` entry (its header), by key name.
    pub keys: BTreeMap<String, u32>,
    /// The line of each `[accounts.X]` table, by account name and by id.
    pub accounts: BTreeMap<String, u32>,
}

fn text<'a>(value: Option<&'a DeValue<'_>>) -> Option<&'a str> {
    match value {
        Some(DeValue::String(s)) => Some(s.as_ref()),
        _ => None,
    }
}

fn field<'a, 's>(value: &'a DeValue<'s>, name: &str) -> Option<&'a DeValue<'s>> {
    match value {
        DeValue::Table(t) => t
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == name)
            .map(|(_, v)| v.get_ref()),
        _ => None,
    }
}

/// The declaration lines of a keys.toml source; what cannot be parsed is
/// left out (the file's own errors are `c3 validate`'s business).
pub fn declaration_lines(source: &str) -> DeclarationLines {
    let (doc, _) = TomlSource::parse(source);
    let mut out = DeclarationLines::default();
    let line = |path: &FieldPath| u32::try_from(doc.line_col_of(path).0).unwrap_or(u32::MAX);
    let root = doc.root().get_ref();
    if let Some(DeValue::Array(entries)) = field(root, "keys") {
        for (i, entry) in entries.iter().enumerate() {
            if let Some(name) = text(field(entry.get_ref(), "name")) {
                let at = line(&FieldPath::root().key("keys").index(i));
                out.keys.entry(name.to_string()).or_insert(at);
            }
        }
    }
    if let Some(DeValue::Table(accounts)) = field(root, "accounts") {
        for (name, account) in accounts {
            let name = name.get_ref().as_ref();
            let at = line(&FieldPath::root().key("accounts").key(name));
            out.accounts.entry(name.to_string()).or_insert(at);
            if let Some(id) = text(field(account.get_ref(), "id")) {
                out.accounts.entry(id.to_string()).or_insert(at);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_accounts_are_found_at_their_headers() {
        let source = "version = 1\n\n[accounts.prod]\nid = \"111111111111\"\nregions = [\"eu-west-1\"]\n\n[accounts]\nstaging = { id = \"222222222222\", regions = [\"eu-west-1\"] }\n\n[[keys]]\nclassification = \"c\"\nname = \"payments\"\n\n[keys.tags]\nteam = \"x\"\n\n[[keys]]\nname = \"logs\"\n";
        let lines = declaration_lines(source);
        assert_eq!(lines.keys.get("payments"), Some(&10));
        assert_eq!(lines.keys.get("logs"), Some(&17));
        assert_eq!(lines.accounts.get("prod"), Some(&3));
        assert_eq!(lines.accounts.get("111111111111"), Some(&3));
        assert!(lines.accounts.contains_key("222222222222"));
    }

    #[test]
    fn an_unparsable_file_declares_what_parsed() {
        let lines = declaration_lines("[[keys]]\nname = \"a\"\n[[keys\n");
        assert!(lines.accounts.is_empty());
    }
}
