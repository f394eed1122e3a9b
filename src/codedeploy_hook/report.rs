//! Telling CodeDeploy the verdict: PutLifecycleEventHookExecutionStatus, once.

use std::fmt;

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusError;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use serde::Serialize;

use super::payload::HookEvent;
use crate::checks::verdict::Status;
use crate::plumbing::aws::{AwsError, Service};

/// What became of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Delivery {
    Accepted,
    /// A duplicate delivery of an execution that was already reported: nothing more to do.
    AlreadyReported,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::Accepted => "accepted",
            Delivery::AlreadyReported => "already_reported",
        })
    }
}

/// Sends the status. Throttling and 5xx are retried by the SDK (see [`crate::plumbing::aws`]);
/// any other failure is returned so that the invocation fails and Lambda's retry can report
/// again. (Even a denied report: a role created with the stack is often not usable everywhere
/// for its first minute, and the retry comes after that.)
pub(crate) async fn send_report(client: &Client, event: &HookEvent, status: Status) -> Result<Delivery, AwsError> {
    let status = match status {
        Status::Succeeded => LifecycleEventStatus::Succeeded,
        Status::Failed => LifecycleEventStatus::Failed,
    };
    let result = client
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(&event.deployment_id)
        .lifecycle_event_hook_execution_id(&event.lifecycle_event_hook_execution_id)
        .status(status)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Delivery::Accepted),
        Err(error) => match error.as_service_error() {
            Some(PutLifecycleEventHookExecutionStatusError::LifecycleEventAlreadyCompletedException(_)) => {
                Ok(Delivery::AlreadyReported)
            }
            _ => Err(AwsError::from_sdk(
                Service::CodeDeploy,
                "PutLifecycleEventHookExecutionStatus",
                &error,
            )),
        },
    }
}
