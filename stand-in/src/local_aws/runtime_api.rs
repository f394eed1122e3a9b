//! The stand-in's Lambda Runtime API (`/2018-06-01/runtime/...`), which the function under test
//! polls: one event per `next`, the answer or error per request id, and init errors.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::model::RuntimeOutcome;
use super::records::Shared;

/// One event per poll, with the headers `lambda_runtime` reads. Lambda also sends client-context
/// and Cognito identity headers for mobile SDK callers; CodeDeploy, SNS and EventBridge send none,
/// so the stand-in leaves them out.
pub(crate) async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    if shared.records().first_poll.is_none() {
        shared.records().first_poll = Some(Instant::now());
        shared.changed.notify_waiters();
    }
    let event = shared.next_event.lock().await.recv().await;
    let Some(event) = event else {
        return (StatusCode::GONE, "stand-in stopped").into_response();
    };
    let deadline_ms = event.deadline_header.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d + event.timeout)
            .unwrap_or_default()
            .as_millis()
            .to_string()
    });
    (
        [
            ("lambda-runtime-aws-request-id", event.request_id),
            ("lambda-runtime-deadline-ms", deadline_ms),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:CodeDeployHook_preflight".to_string(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".to_string(),
            ),
            ("content-type", "application/json".to_string()),
        ],
        event.payload.to_string(),
    )
        .into_response()
}

fn finish(shared: &Shared, id: &str, outcome: RuntimeOutcome) -> Response {
    if let Some(waiter) = shared.records().waiting.remove(id) {
        let _ = waiter.send(outcome);
    }
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

pub(crate) async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&shared, &id, RuntimeOutcome::Response(value))
}

pub(crate) async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&shared, &id, RuntimeOutcome::Error(value))
}

pub(crate) async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.records().init_errors.push(value);
    shared.changed.notify_waiters();
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
