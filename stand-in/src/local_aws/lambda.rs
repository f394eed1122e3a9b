//! The stand-in's Lambda Invoke (restJson1: `POST /2015-03-31/functions/{name}/invocations`),
//! for locally defined function versions and aliases, with Lambda's status codes, error types
//! (in `x-amzn-errortype`) and error bodies. An alias routes each invocation to its version or
//! its additional version by their weights, and every invocation publishes Lambda's CloudWatch
//! metrics (`Invocations`, `Errors`, `Duration`); [`simulate`] runs an alias's traffic of past
//! minutes in an instant, for the canary judge's tests.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::faults::{apply_fault, take_fault};
use super::metrics::LambdaInvocation;
use super::model::{Fault, FunctionVersion, InvocationRecord, Operation, Reply, RuntimeOutcome, TrafficSummary};
use super::records::Shared;

/// The ARN the stand-in's account and region give a function version.
fn arn(name: &str, version: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}:{version}")
}

/// A restJson1 error as Lambda sends it.
fn error(status: StatusCode, code: &str, body: Value) -> Response {
    (
        status,
        [("x-amzn-errortype", code), ("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}),
        ),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            json!({"Type": "Service", "Message": "injected: Lambda failed to process the request"}),
        ),
        // The function is not named here: the fault is drawn before the request is read.
        Fault::AccessDenied => error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            json!({"Message": "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function because no identity-based policy allows the lambda:InvokeFunction action"}),
        ),
        // Never reached: apply_fault waits out latency and lets the call go on.
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            json!({"Type": "Service", "Message": "latency is not an error"}),
        ),
    }
}

/// `NAME`, `NAME:QUALIFIER` or a (partial) function ARN, as Lambda reads `FunctionName`: the name
/// and the qualifier it carries.
fn split_function_name(text: &str) -> (String, Option<String>) {
    let text = text.split_once(":function:").map_or(text, |(_, rest)| rest);
    match text.split_once(':') {
        Some((name, qualifier)) => (name.to_string(), Some(qualifier.to_string())),
        None => (text.to_string(), None),
    }
}

/// The version an invocation runs, and how it was reached.
struct Selected {
    version: String,
    /// The alias it was invoked through, if any.
    alias: Option<String>,
    behaviour: FunctionVersion,
    /// The version's invocation count, this one included.
    call: u32,
}

/// Routes `qualifier` (an alias, a version or none: `$LATEST`) to a version and counts the
/// invocation; `None` when there is no such function version.
fn select(shared: &Shared, name: &str, qualifier: Option<&str>) -> Option<Selected> {
    let mut records = shared.records();
    let alias = qualifier.filter(|q| records.aliases.contains_key(&(name.to_string(), q.to_string())));
    let version = match alias {
        Some(alias) => records.aliases.get_mut(&(name.to_string(), alias.to_string()))?.route(),
        None => qualifier.unwrap_or("$LATEST").to_string(),
    };
    let (behaviour, calls) = records.functions.get_mut(&(name.to_string(), version.clone()))?;
    *calls += 1;
    Some(Selected {
        version,
        alias: alias.map(str::to_string),
        behaviour: behaviour.clone(),
        call: *calls,
    })
}

/// What one run of a version answered.
struct Ran {
    /// The response payload: the function's answer, or its error document.
    body: String,
    /// The function failed (`X-Amz-Function-Error`), which Lambda's `Errors` counts.
    function_error: bool,
    duration: Duration,
}

/// How long a simulated invocation that never answers runs: Lambda's default timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs `behaviour` for its `call`th invocation. `simulated` runs take no time (their delay is
/// their reported duration, a hang a time-out at Lambda's default 3 s) except a program's own,
/// which really runs.
async fn run(behaviour: FunctionVersion, call: u32, payload: &Value, simulated: bool) -> Ran {
    let started = Instant::now();
    if !simulated {
        tokio::time::sleep(behaviour.delay).await;
    }
    let mut duration = behaviour.delay;
    let reply = if call <= behaviour.fail_first {
        Reply::Status(503)
    } else if behaviour.fail_every > 0 && call.is_multiple_of(behaviour.fail_every) {
        Reply::FunctionError(format!(
            "injected: invocation {call} fails, as every {}th does",
            behaviour.fail_every
        ))
    } else {
        behaviour.reply
    };
    let answered = |body: String| (body, false);
    let (body, function_error) = match reply {
        Reply::Status(status) => answered(http_response(status)),
        Reply::StatusByPath(by_path, fallback) => {
            let path = event_path(payload);
            let status = by_path.iter().find(|(p, _)| *p == path).map_or(fallback, |(_, s)| *s);
            answered(http_response(status))
        }
        Reply::Json(value) => answered(value.to_string()),
        Reply::FunctionError(message) => (
            json!({"errorType": "Runtime.Unhandled", "errorMessage": message}).to_string(),
            true,
        ),
        Reply::Hang if simulated => {
            duration = DEFAULT_TIMEOUT;
            (timed_out(DEFAULT_TIMEOUT).to_string(), true)
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            answered(http_response(504))
        }
        Reply::Runtime(own) => {
            let outcome = own.runtime.deliver(payload.clone(), own.timeout).await.outcome;
            duration = started.elapsed();
            match outcome {
                RuntimeOutcome::Response(answer) => answered(answer.to_string()),
                // Lambda answers 200 with the function's error document and the error header.
                RuntimeOutcome::Error(error) => (error.to_string(), true),
                RuntimeOutcome::TimedOut => (timed_out(own.timeout).to_string(), true),
            }
        }
    };
    if !simulated {
        duration = started.elapsed();
    }
    Ran {
        body,
        function_error,
        duration,
    }
}

fn timed_out(timeout: Duration) -> Value {
    json!({"errorType": "Sandbox.Timedout", "errorMessage": format!(
        "Task timed out after {:.2} seconds", timeout.as_secs_f64()
    )})
}

/// Publishes the invocation's metrics, stamped `at` (its start, as Lambda stamps them).
fn publish(shared: &Shared, name: &str, qualifier: Option<&str>, selected: &Selected, ran: &Ran, at: SystemTime) {
    let invocation = LambdaInvocation {
        function: name,
        resource: qualifier.map(|qualifier| format!("{name}:{qualifier}")),
        executed_version: selected.alias.as_ref().map(|_| selected.version.as_str()),
        function_error: ran.function_error,
        duration: ran.duration,
    };
    shared.records().metrics.lambda_invocation(&invocation, at);
}

pub(crate) async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Some(response) = apply_fault(take_fault(&shared, Operation::Invoke), fault_response).await {
        return response;
    }
    let (name, in_name) = split_function_name(&percent_decode(&name));
    let in_query = uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("Qualifier="))
            .map(percent_decode)
    });
    let qualifier = match (in_name, in_query) {
        (Some(in_name), Some(in_query)) if in_name != in_query => {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                json!({"Type": "User", "message": "The derived qualifier from the function name does not match the specified qualifier."}),
            );
        }
        (in_name, in_query) => in_name.or(in_query),
    };
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let started_at = SystemTime::now();
    let selected = select(&shared, &name, qualifier.as_deref());
    shared.records().invocations.push(InvocationRecord {
        function: name.clone(),
        qualifier: qualifier.clone(),
        payload: payload.clone(),
        executed_version: selected.as_ref().map(|selected| selected.version.clone()),
    });
    let Some(selected) = selected else {
        let version = qualifier.as_deref().unwrap_or("$LATEST");
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            json!({"Type": "User", "Message": format!("Function not found: {}", arn(&name, version))}),
        );
    };
    let ran = run(selected.behaviour.clone(), selected.call, &payload, false).await;
    publish(&shared, &name, qualifier.as_deref(), &selected, &ran, started_at);
    let executed = ("x-amz-executed-version", selected.version);
    if ran.function_error {
        ([executed, ("x-amz-function-error", "Unhandled".to_string())], ran.body).into_response()
    } else {
        ([executed], ran.body).into_response()
    }
}

/// Invokes `function:alias` `requests` times, each routed and run as a real invocation of the
/// alias (the versions' behaviours, their invocation counts), but stamps each one's metrics at
/// evenly spaced times within `[from, to)` instead of now, and runs without their delays: how a
/// test or the rehearsal reproduces minutes of production traffic in milliseconds. It is not
/// the hook's doing, so it is neither recorded as an Invoke nor met by injected faults.
///
/// Panics if the alias does not exist: a test set-up bug.
pub(crate) async fn simulate(
    shared: &Shared,
    function: &str,
    alias: &str,
    requests: u32,
    from: SystemTime,
    to: SystemTime,
) -> TrafficSummary {
    assert!(
        shared
            .records()
            .aliases
            .contains_key(&(function.to_string(), alias.to_string())),
        "simulated traffic through {function}:{alias}, an alias the stand-in does not have"
    );
    // An HTTP API request for `GET /`, as production traffic through a function URL or an API.
    let payload = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "", "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/", "sourceIp": "192.0.2.1"}},
    });
    let span = to.duration_since(from).unwrap_or_default();
    let mut summary = TrafficSummary::default();
    for n in 0..requests {
        let at = from + span * n / requests;
        let selected = select(shared, function, Some(alias))
            .unwrap_or_else(|| panic!("{function}:{alias} routes to a version the stand-in does not have"));
        let ran = run(selected.behaviour.clone(), selected.call, &payload, true).await;
        publish(shared, function, Some(alias), &selected, &ran, at);
        let counts = summary.versions.entry(selected.version.clone()).or_default();
        counts.invocations += 1;
        counts.errors += u32::from(ran.function_error);
    }
    summary
}

fn http_response(status: u16) -> String {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json!({"status": if status < 400 { "ok" } else { "unhealthy" }}).to_string(),
        "isBase64Encoded": false,
    })
    .to_string()
}

/// The request path of an API Gateway v1, v2 or ALB event.
fn event_path(event: &Value) -> String {
    event
        .get("rawPath")
        .or_else(|| event.get("path"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_names_and_qualifiers() {
        assert_eq!(percent_decode("%24LATEST"), "$LATEST");
        assert_eq!(percent_decode("arn%3Aaws%3Alambda"), "arn:aws:lambda");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
    }

    #[test]
    fn function_names_with_and_without_qualifiers() {
        let split = |text: &str| split_function_name(text);
        assert_eq!(split("my-api"), ("my-api".into(), None));
        assert_eq!(split("my-api:live"), ("my-api".into(), Some("live".into())));
        assert_eq!(
            split("arn:aws:lambda:us-east-1:000000000000:function:my-api:7"),
            ("my-api".into(), Some("7".into()))
        );
        assert_eq!(split("000000000000:function:my-api"), ("my-api".into(), None));
    }
}
