//! A change's JSON record: what a document may say.
use super::*;

fn record(action: &str, executable: bool, operation: bool) -> serde_json::Value {
    let mut v = serde_json::json!({
        "account": "111111111111", "region": "eu-west-1", "key": "payments",
        "resource": "rotation", "action": action, "executable": executable,
        "severity": "medium", "detail": "rotation is off",
    });
    if operation {
        v["operation"] =
            serde_json::json!({"op": "enable_rotation", "key_id": "k", "rotation_days": 90});
    }
    v
}

#[test]
fn a_document_cannot_say_executable_without_an_operation_or_the_reverse() {
    let read =
        |v: serde_json::Value| serde_json::from_value::<Change>(v).map_err(|e| e.to_string());
    let ok = read(record("update", true, true)).map(|c| (c.executable(), c.operation().is_some()));
    assert_eq!(ok, Ok((true, true)));
    let ok = read(record("report", false, false)).map(|c| c.executable());
    assert_eq!(ok, Ok(false));
    for (action, executable, operation, says) in [
        (
            "update",
            true,
            false,
            "must be executable and carry its operation",
        ),
        (
            "update",
            false,
            true,
            "must be executable and carry its operation",
        ),
        (
            "report",
            true,
            false,
            "never executable and carries no operation",
        ),
        (
            "conflict",
            false,
            true,
            "never executable and carries no operation",
        ),
    ] {
        let err = read(record(action, executable, operation))
            .err()
            .unwrap_or_default();
        assert!(
            err.contains(says),
            "{action} {executable} {operation}: {err}"
        );
    }
}
