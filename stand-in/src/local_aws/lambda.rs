//! The stand-in's Lambda Invoke (restJson1: `POST /2015-03-31/functions/{name}/invocations`),
//! for locally defined function versions, with Lambda's status codes, error types (in
//! `x-amzn-errortype`) and error bodies.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::faults::{apply_fault, take_fault};
use super::model::{Fault, InvocationRecord, Operation, Reply, RuntimeOutcome};
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

pub(crate) async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Some(response) = apply_fault(take_fault(&shared, Operation::Invoke), fault_response).await {
        return response;
    }
    let name = percent_decode(&name);
    let qualifier = uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("Qualifier="))
            .map(percent_decode)
    });
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let version = qualifier.clone().unwrap_or_else(|| "$LATEST".into());
    let behaviour = {
        let mut records = shared.records();
        records.invocations.push(InvocationRecord {
            function: name.clone(),
            qualifier,
            payload: payload.clone(),
        });
        records
            .functions
            .get_mut(&(name.clone(), version.clone()))
            .map(|(behaviour, calls)| {
                *calls += 1;
                (behaviour.clone(), *calls)
            })
    };
    let Some((behaviour, call)) = behaviour else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            json!({"Type": "User", "Message": format!("Function not found: {}", arn(&name, &version))}),
        );
    };
    tokio::time::sleep(behaviour.delay).await;
    let reply = if call <= behaviour.fail_first {
        Reply::Status(503)
    } else {
        behaviour.reply
    };
    let executed = [("x-amz-executed-version", version.clone())];
    match reply {
        Reply::Status(status) => (executed, http_response(status)).into_response(),
        Reply::StatusByPath(by_path, fallback) => {
            let path = event_path(&payload);
            let status = by_path.iter().find(|(p, _)| *p == path).map_or(fallback, |(_, s)| *s);
            (executed, http_response(status)).into_response()
        }
        Reply::Json(value) => (executed, value.to_string()).into_response(),
        Reply::FunctionError(message) => (
            [
                ("x-amz-executed-version", version),
                ("x-amz-function-error", "Unhandled".to_string()),
            ],
            json!({"errorType": "Runtime.Unhandled", "errorMessage": message}).to_string(),
        )
            .into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            (executed, http_response(504)).into_response()
        }
        Reply::Runtime(own) => match own.runtime.deliver(payload, own.timeout).await.outcome {
            RuntimeOutcome::Response(answer) => (executed, answer.to_string()).into_response(),
            // Lambda answers 200 with the function's error document and the error header.
            RuntimeOutcome::Error(error) => function_error(version, error),
            RuntimeOutcome::TimedOut => function_error(
                version,
                json!({"errorType": "Sandbox.Timedout", "errorMessage": format!(
                    "Task timed out after {:.2} seconds", own.timeout.as_secs_f64()
                )}),
            ),
        },
    }
}

fn function_error(version: String, error: Value) -> Response {
    (
        [
            ("x-amz-executed-version", version),
            ("x-amz-function-error", "Unhandled".to_string()),
        ],
        error.to_string(),
    )
        .into_response()
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
}
