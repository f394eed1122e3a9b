//! The CodeDeploy reads the flows share: GetDeployment, GetDeploymentGroup (for an ECS
//! deployment's test listener), a deployment's targets with their lifecycle events, and the
//! deployments in progress (for the live judge), with their errors typed once.

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

/// BatchGetDeploymentTargets takes at most this many target ids a call.
const TARGETS_PER_BATCH: usize = 25;

/// A page cap for ListDeploymentTargets: a Lambda or ECS deployment has one target, so this many
/// pages means a `nextToken` that never ends.
const MAX_TARGET_PAGES: usize = 20;

/// Every target of a deployment with its lifecycle events: ListDeploymentTargets (every page),
/// then BatchGetDeploymentTargets. Throttling and 5xx have been retried already.
pub(crate) async fn deployment_targets(
    client: &Client,
    deployment_id: &str,
) -> Result<Vec<aws_sdk_codedeploy::types::DeploymentTarget>, AwsError> {
    let mut ids = Vec::new();
    let mut next_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(Service::CodeDeploy, "ListDeploymentTargets", &error))?;
        ids.extend(page.target_ids().iter().cloned());
        pages += 1;
        match page.next_token() {
            Some(token) if !token.is_empty() && pages < MAX_TARGET_PAGES => next_token = Some(token.to_string()),
            _ => break,
        }
    }
    let mut targets = Vec::with_capacity(ids.len());
    for batch in ids.chunks(TARGETS_PER_BATCH) {
        let output = client
            .batch_get_deployment_targets()
            .deployment_id(deployment_id)
            .set_target_ids(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(Service::CodeDeploy, "BatchGetDeploymentTargets", &error))?;
        targets.extend(output.deployment_targets().iter().cloned());
    }
    Ok(targets)
}

/// A page cap for ListDeployments: at 100 ids a page, more than any account runs at once.
const MAX_DEPLOYMENT_PAGES: usize = 10;

/// The ids of the account's deployments in progress in this region (ListDeployments with
/// `includeOnlyStatuses: [InProgress]` and no application: every page). Throttling and 5xx have
/// been retried already.
pub(crate) async fn deployments_in_progress(client: &Client) -> Result<Vec<String>, AwsError> {
    let mut ids = Vec::new();
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_DEPLOYMENT_PAGES {
        let page = client
            .list_deployments()
            .include_only_statuses(aws_sdk_codedeploy::types::DeploymentStatus::InProgress)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(Service::CodeDeploy, "ListDeployments", &error))?;
        ids.extend(page.deployments().iter().cloned());
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => break,
        }
    }
    Ok(ids)
}
