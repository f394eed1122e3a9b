//! The stand-in's CodeDeploy (awsJson1_1: `POST /`, `X-Amz-Target: CodeDeploy_20141006.*`):
//! GetDeployment, GetApplicationRevision, GetDeploymentGroup and
//! PutLifecycleEventHookExecutionStatus, answering in AWS's shapes and with AWS's error codes.
//!
//! As in AWS, GetDeployment names the revision by its type and SHA-256 only; the AppSpec's text
//! comes from GetApplicationRevision, found by application, revision type and SHA-256.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::aws_json::{error, ok};
use super::faults::{apply_fault, take_fault};
use super::model::{DeploymentSpec, Fault, Operation, ReportRecord, RevisionForm};
use super::records::Shared;

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded"),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        Fault::AccessDenied => error(
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to perform this action",
        ),
        // Never reached: apply_fault waits out latency and lets the call go on.
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "latency is not an error",
        ),
    }
}

/// The operation an `X-Amz-Target` of CodeDeploy's names.
fn operation(target: &str) -> Option<Operation> {
    match target.strip_prefix("CodeDeploy_20141006.")? {
        "GetDeployment" => Some(Operation::GetDeployment),
        "GetApplicationRevision" => Some(Operation::GetApplicationRevision),
        "GetDeploymentGroup" => Some(Operation::GetDeploymentGroup),
        "PutLifecycleEventHookExecutionStatus" => Some(Operation::PutLifecycleEventHookExecutionStatus),
        _ => None,
    }
}

/// Serves one CodeDeploy request whose target is `target`.
pub(crate) async fn serve(shared: &Shared, target: &str, body: &[u8]) -> Response {
    let Some(operation) = operation(target) else {
        return error(StatusCode::BAD_REQUEST, "UnknownOperationException", target);
    };
    if let Some(response) = apply_fault(take_fault(shared, operation), fault_response).await {
        return response;
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |field: &str| {
        request
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match operation {
        Operation::GetDeployment => get_deployment(shared, &text("deploymentId")),
        Operation::GetApplicationRevision => {
            get_application_revision(shared, &text("applicationName"), request.get("revision"))
        }
        Operation::GetDeploymentGroup => {
            get_deployment_group(shared, &text("applicationName"), &text("deploymentGroupName"))
        }
        Operation::PutLifecycleEventHookExecutionStatus => put_status(
            shared,
            &text("deploymentId"),
            &text("lifecycleEventHookExecutionId"),
            &text("status"),
        ),
        Operation::Invoke
        | Operation::DescribeListeners
        | Operation::DescribeLoadBalancers
        | Operation::DescribeRules
        | Operation::DescribeServiceRevisions => error(StatusCode::BAD_REQUEST, "UnknownOperationException", target),
    }
}

/// The AppSpec's SHA-256, in lower-case hex as CodeDeploy reports it.
pub fn sha256_hex(content: &str) -> String {
    Sha256::digest(content.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The revision as GetDeployment shows it: type and SHA-256, never the content.
fn revision_by_hash(spec: &DeploymentSpec) -> Value {
    let sha256 = sha256_hex(&spec.appspec);
    match spec.form {
        RevisionForm::AppSpecContent => json!({"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha256}}),
        RevisionForm::String => json!({"revisionType": "String", "string": {"sha256": sha256}}),
        RevisionForm::S3 => json!({"revisionType": "S3", "s3Location": {
            "bucket": format!("{}-releases", spec.application), "key": format!("{}.zip", spec.group),
            "bundleType": "zip", "eTag": sha256,
        }}),
    }
}

/// The revision with its content, as GetApplicationRevision answers.
fn revision_with_content(spec: &DeploymentSpec) -> Value {
    let sha256 = sha256_hex(&spec.appspec);
    match spec.form {
        RevisionForm::String => {
            json!({"revisionType": "String", "string": {"content": spec.appspec, "sha256": sha256}})
        }
        _ => json!({"revisionType": "AppSpecContent", "appSpecContent": {"content": spec.appspec, "sha256": sha256}}),
    }
}

fn get_deployment(shared: &Shared, id: &str) -> Response {
    let records = shared.records();
    let Some((spec, _)) = records.deployments.get(id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "DeploymentDoesNotExistException",
            &format!("The deployment {id} could not be found"),
        );
    };
    // A subset of AWS's deploymentInfo: the fields preflight reads, in AWS's names and values.
    let mut info = json!({
        "applicationName": spec.application,
        "deploymentGroupName": spec.group,
        "deploymentId": id,
        "computePlatform": spec.platform,
        "creator": spec.creator,
        "status": spec.status,
        "revision": revision_by_hash(spec),
    });
    // AWS leaves `description` out of a deployment created without one.
    if let (Some(description), Some(fields)) = (&spec.description, info.as_object_mut()) {
        fields.insert("description".into(), json!(description));
    }
    ok(json!({ "deploymentInfo": info }))
}

/// The group as the deployments created in it describe it: a subset of AWS's
/// `deploymentGroupInfo` (the fields preflight reads), in AWS's names.
fn get_deployment_group(shared: &Shared, application: &str, group: &str) -> Response {
    let records = shared.records();
    let Some((spec, _)) = records
        .deployments
        .values()
        .find(|(spec, _)| spec.application == application && spec.group == group)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "DeploymentGroupDoesNotExistException",
            &format!("No Deployment Group found for name: {group}"),
        );
    };
    let mut info = json!({
        "applicationName": spec.application,
        "deploymentGroupName": spec.group,
        "computePlatform": spec.platform,
    });
    if let (Some((service, cluster)), Some(fields)) = (&spec.ecs_service, info.as_object_mut()) {
        fields.insert(
            "ecsServices".into(),
            json!([{"serviceName": service, "clusterName": cluster}]),
        );
        let mut pair = json!({
            "targetGroups": [{"name": format!("{service}-blue")}, {"name": format!("{service}-green")}],
            "prodTrafficRoute": {"listenerArns": [format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/{cluster}/prod")]},
        });
        if let (Some(listener), Some(pair)) = (&spec.test_listener, pair.as_object_mut()) {
            pair.insert("testTrafficRoute".into(), json!({"listenerArns": [listener]}));
        }
        fields.insert("loadBalancerInfo".into(), json!({"targetGroupPairInfoList": [pair]}));
    }
    ok(json!({ "deploymentGroupInfo": info }))
}

/// The request's revision as `(type, sha256)`; `None` when it names neither.
fn requested(revision: Option<&Value>) -> Option<(&str, &str)> {
    let revision = revision?;
    let kind = revision.get("revisionType")?.as_str()?;
    let field = match kind {
        "AppSpecContent" => "appSpecContent",
        "String" => "string",
        _ => return None,
    };
    Some((kind, revision.get(field)?.get("sha256")?.as_str()?))
}

fn get_application_revision(shared: &Shared, application: &str, revision: Option<&Value>) -> Response {
    let records = shared.records();
    let in_application: Vec<&DeploymentSpec> = records
        .deployments
        .values()
        .map(|(spec, _)| spec)
        .filter(|spec| spec.application == application)
        .collect();
    if in_application.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "ApplicationDoesNotExistException",
            &format!("No application found for name: {application}"),
        );
    }
    let Some((kind, sha256)) = requested(revision) else {
        // Stand-in simplification: AWS answers InvalidRevisionException for most malformed
        // revisions and RevisionRequiredException for a missing one; one code serves here.
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRevisionException",
            "The revision must name an AppSpecContent or String revision by its sha256",
        );
    };
    let wanted_form = if kind == "String" {
        RevisionForm::String
    } else {
        RevisionForm::AppSpecContent
    };
    let found = in_application
        .into_iter()
        .find(|spec| spec.form == wanted_form && sha256_hex(&spec.appspec) == sha256);
    match found {
        Some(spec) => ok(json!({
            "applicationName": application,
            "revision": revision_with_content(spec),
            "revisionInfo": {"description": "local rehearsal revision", "deploymentGroups": [spec.group]},
        })),
        None => error(
            StatusCode::BAD_REQUEST,
            "RevisionDoesNotExistException",
            "The named revision does not exist with the IAM user or AWS account.",
        ),
    }
}

fn put_status(shared: &Shared, deployment_id: &str, execution_id: &str, status: &str) -> Response {
    let mut records = shared.records();
    let known = records
        .deployments
        .get(deployment_id)
        .is_some_and(|(_, execution)| execution == execution_id);
    let rejection = if !records.deployments.contains_key(deployment_id) {
        Some(("DeploymentDoesNotExistException", "The deployment could not be found"))
    } else if !known {
        Some((
            "InvalidLifecycleEventHookExecutionIdException",
            "A lifecycle event hook is invalid",
        ))
    } else if !matches!(status, "Succeeded" | "Failed") {
        Some((
            "InvalidLifecycleEventHookExecutionStatusException",
            "The result of a Lambda validation function that verifies a lifecycle event is invalid. It should return Succeeded or Failed.",
        ))
    } else if records.completed.contains_key(execution_id) {
        Some((
            "LifecycleEventAlreadyCompletedException",
            "An attempt to return the status of an already completed lifecycle event occurred.",
        ))
    } else {
        None
    };
    records.reports.push(ReportRecord {
        deployment_id: deployment_id.to_string(),
        execution_id: execution_id.to_string(),
        status: status.to_string(),
        accepted: rejection.is_none(),
        at: std::time::Instant::now(),
    });
    shared.changed.notify_waiters();
    if let Some((kind, message)) = rejection {
        return error(StatusCode::BAD_REQUEST, kind, message);
    }
    records.completed.insert(execution_id.to_string(), status.to_string());
    ok(json!({"lifecycleEventHookExecutionId": execution_id}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sha256_is_the_real_digest() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn get_deployment_names_the_revision_without_its_content() {
        let spec = DeploymentSpec::lambda("Resources: []");
        let revision = revision_by_hash(&spec);
        assert_eq!(revision["revisionType"], "AppSpecContent");
        assert_eq!(revision["appSpecContent"]["sha256"], sha256_hex("Resources: []"));
        assert!(revision["appSpecContent"].get("content").is_none(), "{revision}");
        let legacy = revision_by_hash(&spec.form(RevisionForm::String));
        assert!(legacy["string"].get("content").is_none(), "{legacy}");
    }
}
