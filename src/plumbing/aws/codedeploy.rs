//! The CodeDeploy reads the flows share: GetDeployment, and GetDeploymentGroup (for an ECS
//! deployment's test listener), with their errors typed once.

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::types::{DeploymentGroupInfo, DeploymentInfo};

use super::error::{AwsError, Failure, Service};

/// CodeDeploy's error code for an id it does not know.
pub(crate) const DEPLOYMENT_DOES_NOT_EXIST: &str = "DeploymentDoesNotExistException";

/// GetDeployment's `deploymentInfo`. Throttling and 5xx have been retried by the SDK already.
pub(crate) async fn get_deployment(client: &Client, deployment_id: &str) -> Result<DeploymentInfo, AwsError> {
    let output = client
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .map_err(|error| {
            let error = AwsError::from_sdk(Service::CodeDeploy, "GetDeployment", &error);
            if error.is(DEPLOYMENT_DOES_NOT_EXIST) {
                error.with_advice(format!(
                    "CodeDeploy in this account and region has no deployment {deployment_id}"
                ))
            } else {
                error
            }
        })?;
    output.deployment_info.ok_or_else(|| AwsError {
        service: Service::CodeDeploy,
        operation: "GetDeployment",
        failure: Failure::Response,
        code: None,
        message: Some(format!("the answer for {deployment_id} has no deploymentInfo")),
        http_status: None,
        advice: None,
    })
}

/// GetDeploymentGroup's `deploymentGroupInfo`. Throttling and 5xx have been retried already.
pub(crate) async fn get_deployment_group(
    client: &Client,
    application: &str,
    group: &str,
) -> Result<DeploymentGroupInfo, AwsError> {
    let output = client
        .get_deployment_group()
        .application_name(application)
        .deployment_group_name(group)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(Service::CodeDeploy, "GetDeploymentGroup", &error))?;
    output.deployment_group_info.ok_or_else(|| AwsError {
        service: Service::CodeDeploy,
        operation: "GetDeploymentGroup",
        failure: Failure::Response,
        code: None,
        message: Some(format!(
            "the answer for {application}/{group} has no deploymentGroupInfo"
        )),
        http_status: None,
        advice: None,
    })
}
