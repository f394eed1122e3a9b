//! The stand-in's EventBridge (awsJson1_1: `POST /`, `X-Amz-Target: AWSEvents.PutEvents`, as the
//! Rust SDK and botocore send it): PutEvents onto the account's `default` bus and the buses a test
//! adds, answering as AWS documents. A request holds 1 to 10 entries of at most 256 KB together
//! (else `ValidationException`, the whole request refused); each entry is judged on its own: one
//! without `Source`, `DetailType` or `Detail` fails with `InvalidArgument`, a `Detail` that is not a
//! JSON object with `MalformedDetail`, and the rest get an `EventId`, `FailedEntryCount` counting
//! the failures. An entry for a bus that does not exist fails with `ResourceNotFoundException`
//! (stricter than EventBridge has been seen to be: users report it accepting such an event and
//! dropping it). Faults are injected as for every operation ([`Operation::PutEvents`]).
//!
//! Each accepted event is recorded with how many hook reports had arrived before it, so that a
//! test can tell that an event came after the report it announces.

use std::collections::BTreeSet;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::LocalAws;
use super::aws_json::{error, ok};
use super::faults::{apply_fault, take_fault};
use super::model::{Fault, Operation};
use super::records::Shared;

/// The `X-Amz-Target` prefix of EventBridge's operations.
pub(crate) const TARGET_PREFIX: &str = "AWSEvents.";

/// The most entries one PutEvents request holds.
const MAX_ENTRIES: usize = 10;
/// The most a request's entries may hold together, as EventBridge counts an entry's size.
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// The account's own bus, always there.
const DEFAULT_BUS: &str = "default";

/// An event EventBridge accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct PutEventRecord {
    pub event_id: String,
    /// The bus's name (an ARN given is read to the name it ends with).
    pub bus: String,
    pub source: String,
    pub detail_type: String,
    /// The `Detail`, parsed (a JSON object).
    pub detail: Value,
    /// How many PutLifecycleEventHookExecutionStatus calls had arrived before this event.
    pub reports_before: usize,
    pub at: Instant,
}

/// The buses a test added besides `default`, and the events accepted.
#[derive(Debug, Default)]
pub(crate) struct EventBridgeRecords {
    buses: BTreeSet<String>,
    events: Vec<PutEventRecord>,
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded"),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalException",
            "This exception occurs due to unexpected causes.",
        ),
        Fault::AccessDenied => error(
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to \
             perform: events:PutEvents on resource: arn:aws:events:us-east-1:000000000000:event-bus/default because no \
             identity-based policy allows the events:PutEvents action",
        ),
        // Never reached: apply_fault waits out latency and lets the call go on.
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalException",
            "latency is not an error",
        ),
    }
}

/// Serves one EventBridge request whose target is `target`.
pub(crate) async fn serve(shared: &Shared, target: &str, body: &[u8]) -> Response {
    if target.strip_prefix(TARGET_PREFIX) != Some("PutEvents") {
        return error(StatusCode::BAD_REQUEST, "UnknownOperationException", target);
    }
    if let Some(response) = apply_fault(take_fault(shared, Operation::PutEvents), fault_response).await {
        return response;
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(entries) = request.get("Entries").and_then(Value::as_array) else {
        return validation(
            "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
        );
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return validation(&format!(
            "1 validation error detected: Value '{}' at 'entries' failed to satisfy constraint: Member must have \
             length less than or equal to {MAX_ENTRIES} and greater than or equal to 1",
            entries.len()
        ));
    }
    if entries.iter().map(entry_size).sum::<usize>() > MAX_REQUEST_BYTES {
        return validation("Total size of the entries in the request is over the limit.");
    }
    let mut records = shared.records();
    let mut answers = Vec::new();
    let mut failed = 0;
    for entry in entries {
        match accept(&mut records.event_bridge, entry) {
            Ok(accepted) => {
                let event_id = event_id(records.event_bridge.events.len() + 1);
                let reports_before = records
                    .calls
                    .iter()
                    .filter(|call| **call == Operation::PutLifecycleEventHookExecutionStatus)
                    .count();
                records.event_bridge.events.push(PutEventRecord {
                    event_id: event_id.clone(),
                    reports_before,
                    at: Instant::now(),
                    ..accepted
                });
                answers.push(json!({"EventId": event_id}));
            }
            Err((code, message)) => {
                failed += 1;
                answers.push(json!({"ErrorCode": code, "ErrorMessage": message}));
            }
        }
    }
    drop(records);
    shared.changed.notify_waiters();
    ok(json!({"FailedEntryCount": failed, "Entries": answers}))
}

fn validation(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "ValidationException", message)
}

/// An entry's size as EventBridge counts it: its `Time` (14 bytes when given), `Source`,
/// `DetailType`, `Detail` and each of its `Resources`, in UTF-8 bytes.
fn entry_size(entry: &Value) -> usize {
    let text = |field: &str| entry.get(field).and_then(Value::as_str).map_or(0, str::len);
    let time = if entry.get("Time").is_some() { 14 } else { 0 };
    let resources: usize = entry
        .get("Resources")
        .and_then(Value::as_array)
        .map_or(0, |all| all.iter().filter_map(Value::as_str).map(str::len).sum());
    time + text("Source") + text("DetailType") + text("Detail") + resources
}

/// An EventId in the shape EventBridge's have (a UUID), unique in this stand-in.
fn event_id(n: usize) -> String {
    format!("{n:08x}-7e57-4e1d-8b1d-{n:012x}")
}

/// The entry as recorded (its id and order filled in by the caller), or the entry's error.
fn accept(records: &mut EventBridgeRecords, entry: &Value) -> Result<PutEventRecord, (&'static str, String)> {
    let field = |name: &'static str| -> Result<String, (&'static str, String)> {
        match entry.get(name).and_then(Value::as_str) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err((
                "InvalidArgument",
                format!("Parameter {name} is not valid. Reason: {name} is a required argument."),
            )),
        }
    };
    let source = field("Source")?;
    let detail_type = field("DetailType")?;
    let detail_text = field("Detail")?;
    let detail = match serde_json::from_str::<Value>(&detail_text) {
        Ok(detail @ Value::Object(_)) => detail,
        _ => return Err(("MalformedDetail", "Detail is malformed.".to_string())),
    };
    let given = entry
        .get("EventBusName")
        .and_then(Value::as_str)
        .filter(|bus| !bus.is_empty())
        .unwrap_or(DEFAULT_BUS);
    let bus = given.rsplit_once(":event-bus/").map_or(given, |(_, name)| name);
    if bus != DEFAULT_BUS && !records.buses.contains(bus) {
        return Err(("ResourceNotFoundException", format!("Event bus {bus} does not exist.")));
    }
    Ok(PutEventRecord {
        event_id: String::new(),
        bus: bus.to_string(),
        source,
        detail_type,
        detail,
        reports_before: 0,
        at: Instant::now(),
    })
}

/// EventBridge's side of the facade.
impl LocalAws {
    /// Creates the event bus `name` (the `default` bus is always there).
    pub fn add_event_bus(&self, name: &str) {
        self.shared.records().event_bridge.buses.insert(name.to_string());
    }

    /// Every event PutEvents accepted, in the order they arrived.
    pub fn eventbridge_events(&self) -> Vec<PutEventRecord> {
        self.shared.records().event_bridge.events.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> Value {
        json!({"Source": "preflight", "DetailType": "Preflight Verdict", "Detail": detail})
    }

    #[test]
    fn an_entry_needs_a_source_a_detail_type_and_a_json_object_as_detail() {
        let mut records = EventBridgeRecords::default();
        let accepted = accept(&mut records, &entry(r#"{"status": "Failed"}"#)).expect("accepted");
        assert_eq!(
            (accepted.bus.as_str(), &accepted.detail),
            ("default", &json!({"status": "Failed"}))
        );
        for missing in ["Source", "DetailType", "Detail"] {
            let mut without = entry("{}");
            without.as_object_mut().map(|entry| entry.remove(missing));
            let (code, message) = accept(&mut records, &without).unwrap_err();
            assert_eq!(code, "InvalidArgument");
            assert!(message.contains(missing), "{message}");
        }
        for malformed in ["[1]", "\"text\"", "{", "null"] {
            assert_eq!(
                accept(&mut records, &entry(malformed)).unwrap_err().0,
                "MalformedDetail"
            );
        }
    }

    #[test]
    fn a_bus_is_named_or_given_by_arn_and_must_exist() {
        let mut records = EventBridgeRecords::default();
        let mut on = |bus: &str| {
            let mut named = entry("{}");
            named["EventBusName"] = json!(bus);
            accept(&mut records, &named)
        };
        assert_eq!(
            on("arn:aws:events:us-east-1:000000000000:event-bus/default").map(|e| e.bus),
            Ok("default".to_string())
        );
        let (code, message) = on("releases").unwrap_err();
        assert_eq!(
            (code, message.as_str()),
            ("ResourceNotFoundException", "Event bus releases does not exist.")
        );
        records.buses.insert("releases".into());
        let mut named = entry("{}");
        named["EventBusName"] = json!("releases");
        assert_eq!(accept(&mut records, &named).map(|e| e.bus), Ok("releases".to_string()));
    }

    #[test]
    fn an_entry_s_size_counts_its_source_detail_type_detail_time_and_resources() {
        let mut sized = entry("{}");
        assert_eq!(entry_size(&sized), "preflight".len() + "Preflight Verdict".len() + 2);
        sized["Time"] = json!(1_700_000_000);
        sized["Resources"] = json!(["arn:a", "arn:bc"]);
        assert_eq!(entry_size(&sized), 9 + 17 + 2 + 14 + 11);
    }
}
