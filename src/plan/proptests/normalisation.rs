//! Policy normalisation: statements in structured form, rendered to JSON in
//! many equivalent ways, normalise to one document.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use super::config;
use super::generators::{shuffle, Rng};
use super::mutations::render;
use crate::policy::{pretty, Document};

/// A policy statement in structured form, rendered to JSON in many equivalent ways.
#[derive(Debug, Clone)]
struct StatementModel {
    sid: Option<String>,
    allow: bool,
    principal: Option<Vec<(String, Vec<String>)>>,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<(String, String, Vec<String>)>,
}

const ACTION_POOL: [&str; 8] = [
    "kms:Encrypt",
    "kms:encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:*",
    "KMS:DescribeKey",
    "kms:CreateGrant",
];
const PRINCIPAL_POOL: [(&str, &str); 5] = [
    ("AWS", "*"),
    ("AWS", "arn:aws:iam::111111111111:root"),
    ("AWS", "arn:aws:iam::222222222222:role/app"),
    ("Service", "logs.eu-west-1.amazonaws.com"),
    ("Service", "s3.amazonaws.com"),
];
const RESOURCE_POOL: [&str; 3] = [
    "*",
    "arn:aws:kms:eu-west-1:111111111111:key/a",
    "arn:aws:kms:eu-west-1:111111111111:key/b",
];
const CONDITION_POOL: [(&str, &str, &[&str]); 5] = [
    (
        "StringEquals",
        "kms:CallerAccount",
        &["111111111111", "222222222222"],
    ),
    (
        "StringEquals",
        "kms:ViaService",
        &["s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"],
    ),
    ("StringEquals", "aws:SourceAccount", &["111111111111"]),
    ("Bool", "kms:GrantIsForAWSResource", &["true", "false"]),
    (
        "StringLike",
        "kms:viaservice",
        &["*.eu-west-1.amazonaws.com"],
    ),
];

fn statement_model() -> impl Strategy<Value = StatementModel> {
    (
        prop::option::of("[A-Za-z0-9]{1,8}"),
        prop::bool::weighted(0.8),
        prop::option::of(prop::collection::vec(
            (0..PRINCIPAL_POOL.len(), 1..3usize),
            1..3,
        )),
        prop::collection::vec(0..ACTION_POOL.len(), 1..4),
        prop::collection::vec(0..RESOURCE_POOL.len(), 1..3),
        prop::collection::vec(
            (
                0..CONDITION_POOL.len(),
                prop::collection::vec(0..2usize, 1..3),
            ),
            0..3,
        ),
    )
        .prop_map(
            |(sid, allow, principal, actions, resources, conditions)| StatementModel {
                sid,
                allow,
                principal: principal.map(|ps| {
                    ps.into_iter()
                        .map(|(i, n)| {
                            let (kind, value) = PRINCIPAL_POOL[i];
                            (kind.to_string(), vec![value.to_string(); n])
                        })
                        .collect()
                }),
                actions: actions
                    .into_iter()
                    .map(|i| ACTION_POOL[i].to_string())
                    .collect(),
                resources: resources
                    .into_iter()
                    .map(|i| RESOURCE_POOL[i].to_string())
                    .collect(),
                conditions: conditions
                    .into_iter()
                    .map(|(i, values)| {
                        let (op, key, pool) = CONDITION_POOL[i];
                        (
                            op.to_string(),
                            key.to_string(),
                            values
                                .into_iter()
                                .map(|v| pool[v % pool.len()].to_string())
                                .collect(),
                        )
                    })
                    .collect(),
            },
        )
}

/// A list of strings as JSON: in a random order, a lone item maybe as a bare string.
fn list_value(items: &[String], rng: &mut Rng) -> Value {
    let mut items: Vec<Value> = items.iter().map(|s| Value::String(s.clone())).collect();
    shuffle(&mut items, rng);
    if items.len() == 1 && rng.coin() {
        items.remove(0)
    } else {
        Value::Array(items)
    }
}

fn object(entries: Vec<(String, Value)>, rng: &mut Rng) -> Value {
    let mut entries = entries;
    shuffle(&mut entries, rng);
    Value::Object(entries.into_iter().collect())
}

fn render_statement(s: &StatementModel, rng: &mut Rng) -> Value {
    let mut e: Vec<(String, Value)> = vec![];
    if let Some(sid) = &s.sid {
        e.push(("Sid".into(), json!(sid)));
    }
    e.push((
        "Effect".into(),
        json!(if s.allow { "Allow" } else { "Deny" }),
    ));
    if let Some(ps) = &s.principal {
        let only_star = ps
            .iter()
            .all(|(k, v)| k == "AWS" && v.iter().all(|x| x == "*"));
        if only_star && rng.coin() {
            e.push(("Principal".into(), json!("*")));
        } else {
            // Principals of one kind merged, as a JSON object cannot repeat a key.
            let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in ps {
                by_kind
                    .entry(k.clone())
                    .or_default()
                    .extend(v.iter().cloned());
            }
            let entries = by_kind
                .into_iter()
                .map(|(k, v)| {
                    let v: Vec<String> = v
                        .into_iter()
                        .map(|x| {
                            match x
                                .strip_prefix("arn:aws:iam::")
                                .and_then(|r| r.strip_suffix(":root"))
                            {
                                Some(id) if rng.coin() => id.to_string(),
                                _ => x,
                            }
                        })
                        .collect();
                    let value = list_value(&v, rng);
                    (k, value)
                })
                .collect();
            e.push(("Principal".into(), object(entries, rng)));
        }
    }
    e.push(("Action".into(), list_value(&s.actions, rng)));
    e.push(("Resource".into(), list_value(&s.resources, rng)));
    if !s.conditions.is_empty() {
        let mut ops: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for (op, key, values) in &s.conditions {
            ops.entry(op.clone())
                .or_default()
                .entry(key.clone())
                .or_default()
                .extend(values.iter().cloned());
        }
        let entries = ops
            .into_iter()
            .map(|(op, keys)| {
                let keys = keys
                    .into_iter()
                    .map(|(k, vs)| {
                        let mut items: Vec<Value> = vs
                            .iter()
                            .map(|v| match v.as_str() {
                                "true" if rng.coin() => json!(true),
                                "false" if rng.coin() => json!(false),
                                _ => json!(v),
                            })
                            .collect();
                        shuffle(&mut items, rng);
                        let value = if items.len() == 1 && rng.coin() {
                            items.remove(0)
                        } else {
                            Value::Array(items)
                        };
                        (k, value)
                    })
                    .collect();
                (op, object(keys, rng))
            })
            .collect();
        e.push(("Condition".into(), object(entries, rng)));
    }
    object(e, rng)
}

fn render_document(statements: &[StatementModel], seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut items: Vec<Value> = statements
        .iter()
        .map(|s| render_statement(s, &mut rng))
        .collect();
    shuffle(&mut items, &mut rng);
    let statement = if items.len() == 1 && rng.coin() {
        items.remove(0)
    } else {
        Value::Array(items)
    };
    let mut e = vec![
        ("Version".to_string(), json!("2012-10-17")),
        ("Statement".to_string(), statement),
    ];
    if rng.coin() {
        e.push(("Id".to_string(), json!(format!("id-{}", rng.below(100)))));
    }
    let doc = object(e, &mut rng);
    render(&doc, &mut rng)
}

fn normalized(text: &str) -> Result<Value, TestCaseError> {
    Document::parse(text, "aws")
        .map(|d| d.normalized())
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn normalisation_is_idempotent(statements in prop::collection::vec(statement_model(), 1..5), seed in any::<u64>()) {
        let text = render_document(&statements, seed);
        let once = normalized(&text)?;
        let twice = normalized(&pretty(&once))?;
        prop_assert_eq!(&once, &twice);
        let compact = normalized(&once.to_string())?;
        prop_assert_eq!(&once, &compact);
    }

    #[test]
    fn normalisation_ignores_formatting(statements in prop::collection::vec(statement_model(), 1..5), a in any::<u64>(), b in any::<u64>()) {
        let (x, y) = (render_document(&statements, a), render_document(&statements, b));
        prop_assert_eq!(normalized(&x)?, normalized(&y)?, "\n{}\n---\n{}", x, y);
    }
}
