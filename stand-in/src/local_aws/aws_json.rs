//! The awsJson1_1 protocol's answers (`POST /` with `X-Amz-Target`), which the stand-in's
//! CodeDeploy and ECS share: a JSON body, and errors named by `__type`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An awsJson1_1 error: HTTP 400 (500 for AWS's own failures) with `__type` and `message`.
pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/x-amz-json-1.1")],
        json!({"__type": code, "message": message}).to_string(),
    )
        .into_response()
}

/// A successful answer: HTTP 200 with `body`.
pub(super) fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}
