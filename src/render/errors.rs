//! Errors of a plan, for people: `account region Operation: Code: message`
//! plus one hint line where c3 knows the usual cause, and the same cause in
//! several accounts or regions said once, with the places it hit.

use std::collections::BTreeMap;

use crate::plan::PlanError;

/// One error block: a cause, where it happened, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBlock {
    /// `Code: message` (or the message), shared by every place.
    pub cause: String,
    /// Each place: `account [region] Operation [resource]`.
    pub places: Vec<String>,
    /// The whole line of a single error: `Operation [resource]: Code: message`.
    pub message: String,
    /// What to do, when c3 knows.
    pub hint: Option<String>,
}

impl ErrorBlock {
    /// The text after `error: `: one place on one line with its message; or
    /// the cause, then each place on its own line; the hint last.
    pub fn text(&self) -> String {
        let mut out = match self.places.as_slice() {
            [one] => format!("{one} {}", self.message),
            many => {
                let mut text = format!("{}, in {} places:", self.cause, many.len());
                for place in many {
                    text.push_str(&format!("\n- {place}"));
                }
                text
            }
        };
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\nhint: {hint}"));
        }
        out
    }
}

/// The errors of a plan, grouped: one block per distinct (cause, hint), in
/// the order the first of each appears (plans sort errors by account and
/// region). `names` gives an account id's name in keys.toml, shown beside it.
pub fn blocks(errors: &[PlanError], names: &BTreeMap<String, String>) -> Vec<ErrorBlock> {
    let mut order: Vec<(String, Option<String>)> = Vec::new();
    let mut grouped: BTreeMap<(String, Option<String>), Vec<&PlanError>> = BTreeMap::new();
    for e in errors {
        let cause = if e.cause.is_empty() {
            e.message.clone()
        } else {
            e.cause.clone()
        };
        let key = (cause, e.hint.clone());
        if !grouped.contains_key(&key) {
            order.push(key.clone());
        }
        grouped.entry(key).or_default().push(e);
    }
    order
        .into_iter()
        .map(|key| {
            let members = grouped.remove(&key).unwrap_or_default();
            let places = members.iter().map(|e| place(e, names)).collect();
            ErrorBlock {
                message: members
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
                cause: key.0,
                places,
                hint: key.1,
            }
            .with_operations(&members)
        })
        .collect()
}

/// `prod (111111111111) eu-west-1`, and for a group the operation and
/// resource that failed there (`… AssumeRole arn:…:role/c3`).
fn place(e: &PlanError, names: &BTreeMap<String, String>) -> String {
    let mut out = match names.get(&e.account) {
        Some(name) => format!("{name} ({})", e.account),
        None => e.account.clone(),
    };
    if let Some(region) = &e.region {
        out.push_str(&format!(" {region}"));
    }
    out
}

impl ErrorBlock {
    fn with_operations(mut self, members: &[&PlanError]) -> Self {
        if self.places.len() > 1 {
            for (place, e) in self.places.iter_mut().zip(members) {
                if let Some(op) = operation_part(e) {
                    place.push_str(&format!(": {op}"));
                }
            }
        }
        self
    }
}

/// The `Operation [resource]` before the cause in an error's message.
fn operation_part(e: &PlanError) -> Option<&str> {
    if e.cause.is_empty() {
        return None;
    }
    e.message
        .strip_suffix(&e.cause)
        .and_then(|head| head.strip_suffix(": "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReadFailure;

    fn failure(operation: &str, cause: &str, hint: Option<&str>) -> ReadFailure {
        let mut f = ReadFailure::new(format!("{operation}: {cause}"));
        f.operation = Some(operation.to_string());
        f.cause = cause.to_string();
        f.hint = hint.map(str::to_string);
        f
    }

    #[test]
    fn the_same_cause_in_several_places_is_said_once_with_each_place() {
        let hint = Some("check AWS_ENDPOINT_URL");
        let errors = vec![
            PlanError::of(
                "111111111111",
                None,
                &failure(
                    "AssumeRole arn:aws:iam::111111111111:role/c3",
                    "refused",
                    hint,
                ),
            ),
            PlanError::of(
                "222222222222",
                None,
                &failure("GetCallerIdentity", "refused", hint),
            ),
            PlanError::of(
                "333333333333",
                Some("eu-west-1"),
                &failure("ListGrants", "AccessDeniedException: no", None),
            ),
        ];
        let names = BTreeMap::from([("111111111111".to_string(), "prod".to_string())]);
        let b = blocks(&errors, &names);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[0].text(),
            "refused, in 2 places:\n- prod (111111111111): AssumeRole arn:aws:iam::111111111111:role/c3\n- 222222222222: GetCallerIdentity\nhint: check AWS_ENDPOINT_URL"
        );
        assert_eq!(
            b[1].text(),
            "333333333333 eu-west-1 ListGrants: AccessDeniedException: no"
        );
    }
}
