//! The stand-in's Amazon ECS (awsJson1_1: `POST /`, `X-Amz-Target:
//! AmazonEC2ContainerServiceV20141113.*`): DescribeServiceRevisions, for ECS-native blue/green
//! deployments, which moto does not implement. Only the fields preflight reads are given, in
//! ECS's names: `loadBalancers[].advancedConfiguration` (the test and production listener rules,
//! the alternate target group) and `resolvedConfiguration.loadBalancers` (green's own target
//! group). An ARN ECS does not know is answered as ECS does: HTTP 200, under `failures` with
//! reason `MISSING`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::aws_json::{error, ok};
use super::faults::{apply_fault, take_fault};
use super::model::{EcsServiceRecord, Fault, Operation};
use super::records::Shared;

/// ECS's target prefix.
pub(crate) const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded"),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "Service Unavailable. Please try again later.",
        ),
        Fault::AccessDenied => error(
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            "User: arn:aws:sts::000000000000:assumed-role/preflight/EcsHook_preflight is not authorized to perform: \
             ecs:DescribeServiceRevisions",
        ),
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "latency is not an error",
        ),
    }
}

fn revision(service: &EcsServiceRecord) -> Value {
    json!({
        "serviceRevisionArn": service.revision_arn,
        "serviceArn": service.service_arn,
        "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/shop",
        "taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/checkout:2",
        "launchType": "FARGATE",
        "loadBalancers": [{
            // As in AWS, `targetGroupArn` is the service's primary target group; green's own is
            // the resolved one.
            "targetGroupArn": service.blue_target_group,
            "containerName": "web",
            "containerPort": 8080,
            "advancedConfiguration": {
                "alternateTargetGroupArn": service.green_target_group,
                "productionListenerRule": service.production_rule_arn,
                "testListenerRule": service.test_rule_arn,
                "roleArn": "arn:aws:iam::000000000000:role/ecs-blue-green",
            },
        }],
        "resolvedConfiguration": {
            "loadBalancers": [{
                "targetGroupArn": service.green_target_group,
                "productionListenerRule": service.production_rule_arn,
            }],
        },
    })
}

/// Serves one ECS request whose target is `operation`'s.
pub(crate) async fn serve(shared: &Shared, target: &str, request: &Value) -> Response {
    if target != format!("{TARGET_PREFIX}DescribeServiceRevisions") {
        return error(StatusCode::BAD_REQUEST, "UnknownOperationException", target);
    }
    if let Some(response) = apply_fault(take_fault(shared, Operation::DescribeServiceRevisions), fault_response).await {
        return response;
    }
    let Some(arns) = request.get("serviceRevisionArns").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            "serviceRevisionArns is required",
        );
    };
    let records = shared.records();
    let mut revisions = Vec::new();
    let mut failures = Vec::new();
    for arn in arns.iter().filter_map(Value::as_str) {
        match records.ecs_services.iter().find(|service| service.revision_arn == arn) {
            Some(service) => revisions.push(revision(service)),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    ok(json!({"serviceRevisions": revisions, "failures": failures}))
}
