//! ECS's DescribeServiceRevisions for one revision, with its errors typed once: an ARN ECS does
//! not know comes back in the answer's `failures`, not as an error code, and is made one here.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::ServiceRevision;

use super::error::{AwsError, Failure, Service};

/// The service revision `revision_arn`. Throttling and 5xx have been retried by the SDK already.
pub(crate) async fn describe_service_revision(
    client: &Client,
    revision_arn: &str,
) -> Result<ServiceRevision, AwsError> {
    let output = client
        .describe_service_revisions()
        .service_revision_arns(revision_arn)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(Service::Ecs, "DescribeServiceRevisions", &error))?;
    if let Some(revision) = output.service_revisions().first() {
        return Ok(revision.clone());
    }
    // ECS answers 200 with the ARN under `failures` (reason `MISSING`) when it does not know it:
    // asking again gives the same answer.
    let (code, detail) = output
        .failures()
        .first()
        .map(|failure| {
            (
                failure.reason().unwrap_or("MISSING").to_string(),
                failure.detail().map(str::to_string),
            )
        })
        .unwrap_or_else(|| ("MISSING".to_string(), None));
    Err(AwsError {
        service: Service::Ecs,
        operation: "DescribeServiceRevisions",
        failure: Failure::Service,
        message: Some(detail.unwrap_or_else(|| format!("ECS did not describe {revision_arn}"))),
        advice: Some(format!(
            "ECS in this account and region has no service revision {revision_arn}: the hook must run in the \
             service's account and region"
        )),
        code: Some(code),
        http_status: Some(200),
    })
}
