//! The hook payload CodeDeploy sends: which deployment, and which hook execution to report on.
//!
//! The payload arrives as untyped JSON so that a malformed one becomes a clear error naming what
//! is wrong, rather than the runtime's generic deserialisation failure.

use std::fmt;

use aws_lambda_events::codedeploy::CodeDeployLifecycleEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::plumbing::text::kind_of;

/// The two ids every report needs. Never empty.
pub type HookEvent = CodeDeployLifecycleEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(String);

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid hook payload: {}; preflight expects CodeDeploy's {{\"DeploymentId\": \"d-…\", \"LifecycleEventHookExecutionId\": \"…\"}} \
             (or Amazon ECS's lifecycle hook payload, with executionId and lifecycleStage, or a deployment \
             notification from an SNS trigger or EventBridge)",
            self.0
        )
    }
}

impl std::error::Error for PayloadError {}

/// Checks the payload's shape field by field, then hands it to the typed struct.
pub fn parse_hook_event(payload: &Value) -> Result<HookEvent, PayloadError> {
    let Some(object) = payload.as_object() else {
        return Err(PayloadError(format!("it is {}, not a JSON object", kind_of(payload))));
    };
    for field in ["DeploymentId", "LifecycleEventHookExecutionId"] {
        match object.get(field) {
            None => return Err(PayloadError(format!("`{field}` is missing"))),
            Some(Value::String(text)) if text.trim().is_empty() => {
                return Err(PayloadError(format!("`{field}` is empty")));
            }
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(PayloadError(format!("`{field}` is {}, not a string", kind_of(other))));
            }
        }
    }
    HookEvent::deserialize(payload).map_err(|error| PayloadError(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_two_ids_and_ignores_unknown_fields() {
        let event = parse_hook_event(&json!({
            "DeploymentId": "d-ABC123",
            "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRh",
            "Extra": [1, 2]
        }))
        .unwrap();
        assert_eq!(event.deployment_id, "d-ABC123");
        assert_eq!(event.lifecycle_event_hook_execution_id, "eyJlbmNyeXB0ZWREYXRh");
    }

    #[test]
    fn each_bad_shape_says_what_is_wrong() {
        let cases = [
            (json!([1]), "an array, not a JSON object"),
            (json!("d-1"), "a string, not a JSON object"),
            (json!(null), "null, not a JSON object"),
            (
                json!({"LifecycleEventHookExecutionId": "x"}),
                "`DeploymentId` is missing",
            ),
            (
                json!({"DeploymentId": "d-1"}),
                "`LifecycleEventHookExecutionId` is missing",
            ),
            (
                json!({"DeploymentId": 7, "LifecycleEventHookExecutionId": "x"}),
                "`DeploymentId` is a number",
            ),
            (
                json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": " "}),
                "`LifecycleEventHookExecutionId` is empty",
            ),
            (
                json!({"deploymentId": "d-1", "lifecycleEventHookExecutionId": "x"}),
                "`DeploymentId` is missing",
            ),
        ];
        for (payload, expected) in cases {
            let error = parse_hook_event(&payload).unwrap_err().to_string();
            assert!(error.contains(expected), "{payload}: {error}");
        }
    }
}
