//! An ECS deployment's test listener, found from its CodeDeploy deployment group: the group's
//! test traffic route (GetDeploymentGroup) → the listener's address (ELBv2). This is what lets
//! one hook check every ECS service without `ALB_URL`.

use aws_sdk_codedeploy::types::DeploymentGroupInfo;

use super::deployment::DiscoveryError;
use crate::checks::ServiceTarget;
use crate::plumbing::aws::AwsClients;
use crate::plumbing::aws::codedeploy::get_deployment_group;
use crate::plumbing::aws::elb::listener_url;

/// The ECS service and its test listener's ARN, read from the deployment group; pure.
pub(crate) fn test_route(info: &DeploymentGroupInfo) -> (Option<String>, Option<String>) {
    let service = info
        .ecs_services()
        .first()
        .and_then(|service| service.service_name())
        .map(str::to_string);
    // CodeDeploy allows one target group pair with one test listener for an ECS deployment group.
    let listener = info
        .load_balancer_info()
        .map(|info| info.target_group_pair_info_list())
        .and_then(|pairs| pairs.first())
        .and_then(|pair| pair.test_traffic_route())
        .and_then(|route| route.listener_arns().first())
        .cloned();
    (service, listener)
}

/// The service of `application`/`group` and where its test listener answers.
pub(crate) async fn find_test_listener(
    clients: &AwsClients,
    application: &str,
    group: &str,
) -> Result<ServiceTarget, DiscoveryError> {
    let info = get_deployment_group(clients.codedeploy().await, application, group).await?;
    let (name, listener_arn) = test_route(&info);
    let Some(listener_arn) = listener_arn else {
        return Err(DiscoveryError::NoTestRoute {
            application: application.to_string(),
            group: group.to_string(),
        });
    };
    let url = listener_url(clients.elb().await, &listener_arn)
        .await
        .map_err(DiscoveryError::Listener)?;
    Ok(ServiceTarget {
        name,
        test_listener: Some(url),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plumbing::aws::canned::ecs_deployment_group;

    #[test]
    fn the_test_route_and_the_service_are_read_from_the_group() {
        assert_eq!(
            test_route(&ecs_deployment_group(Some("arn:test"))),
            (Some("checkout".into()), Some("arn:test".into()))
        );
    }

    #[test]
    fn a_group_without_a_test_route_has_no_listener_and_the_production_one_is_never_taken() {
        assert_eq!(test_route(&ecs_deployment_group(None)), (Some("checkout".into()), None));
        assert_eq!(test_route(&DeploymentGroupInfo::builder().build()), (None, None));
    }
}
