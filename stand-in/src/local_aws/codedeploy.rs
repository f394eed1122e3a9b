//! The stand-in's CodeDeploy (awsJson1_1: `POST /`, `X-Amz-Target: CodeDeploy_20141006.*`):
//! GetDeployment, GetApplicationRevision, GetDeploymentGroup,
//! PutLifecycleEventHookExecutionStatus, and the deployment targets (ListDeploymentTargets,
//! BatchGetDeploymentTargets, GetDeploymentTarget), answering in AWS's shapes and with AWS's
//! error codes.
//!
//! As in AWS, GetDeployment names the revision by its type and SHA-256 only; the AppSpec's text
//! comes from GetApplicationRevision, found by application, revision type and SHA-256. The
//! targets' lifecycle events say which hook is being called (its payload does not), and
//! `AllowTraffic`'s times say when the traffic was split.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::aws_json::{error, ok};
use super::faults::{apply_fault, take_fault};
use super::model::{
    DeploymentSpec, DeploymentTarget, ECS_LIFECYCLE_EVENTS, EcsTarget, Fault, LAMBDA_LIFECYCLE_EVENTS, LambdaTarget,
    Lifecycle, Operation, ReportRecord, RevisionForm,
};
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
        "ListDeploymentTargets" => Some(Operation::ListDeploymentTargets),
        "BatchGetDeploymentTargets" => Some(Operation::BatchGetDeploymentTargets),
        "GetDeploymentTarget" => Some(Operation::GetDeploymentTarget),
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
        Operation::ListDeploymentTargets => list_deployment_targets(shared, &request),
        Operation::BatchGetDeploymentTargets => batch_get_deployment_targets(shared, &request),
        Operation::GetDeploymentTarget => get_deployment_target(shared, &text("deploymentId"), &text("targetId")),
        Operation::Invoke
        | Operation::DescribeListeners
        | Operation::DescribeLoadBalancers
        | Operation::DescribeRules
        | Operation::DescribeTargetGroups
        | Operation::DescribeServiceRevisions
        | Operation::GetMetricData => error(StatusCode::BAD_REQUEST, "UnknownOperationException", target),
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
    let current = records
        .deployments
        .get(deployment_id)
        .is_some_and(|(_, execution)| execution == execution_id);
    // An earlier hook execution of the deployment, completed before `LocalAws::next_hook_execution`
    // moved it on: a late report of it is refused as already completed, as any completed event's.
    let earlier = records
        .reports
        .iter()
        .any(|report| report.accepted && report.deployment_id == deployment_id && report.execution_id == execution_id);
    let known = current || earlier;
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

/// The events of a deployment on `platform`, in order.
pub(crate) fn lifecycle_events(platform: &str) -> &'static [&'static str] {
    if platform == "ECS" {
        &ECS_LIFECYCLE_EVENTS
    } else {
        &LAMBDA_LIFECYCLE_EVENTS
    }
}

/// Where a deployment whose spec gives no lifecycle stands: at the hook preflight has always
/// served (`AfterAllowTestTraffic` for ECS, `BeforeAllowTraffic` for Lambda).
pub(crate) fn default_lifecycle(platform: &str) -> Lifecycle {
    Lifecycle::in_progress(if platform == "ECS" {
        "AfterAllowTestTraffic"
    } else {
        "BeforeAllowTraffic"
    })
}

/// The deployment's targets: those its spec names, or those its AppSpec or ECS service implies.
fn targets(spec: &DeploymentSpec) -> Vec<DeploymentTarget> {
    if !spec.targets.is_empty() {
        return spec.targets.clone();
    }
    match spec.platform.as_str() {
        "Lambda" => appspec_functions(&spec.appspec)
            .into_iter()
            .map(DeploymentTarget::Lambda)
            .collect(),
        "ECS" => spec
            .ecs_service
            .iter()
            .map(|(service, cluster)| {
                DeploymentTarget::Ecs(EcsTarget::new(
                    cluster,
                    service,
                    &format!("{service}-blue"),
                    &format!("{service}-green"),
                ))
            })
            .collect(),
        // Stand-in simplification: EC2/on-premises deployments (instance targets) have none.
        _ => Vec::new(),
    }
}

/// The functions of a Lambda AppSpec, read key by key (`Name`, `Alias`, `CurrentVersion`,
/// `TargetVersion`), YAML or JSON: enough for the AppSpecs tests write, not a YAML parser.
fn appspec_functions(appspec: &str) -> Vec<LambdaTarget> {
    let mut functions: Vec<LambdaTarget> = Vec::new();
    let broken = appspec.replace(['{', '}', ',', '[', ']'], "\n");
    for line in broken.lines() {
        let line = line.trim().trim_start_matches("- ");
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let unquote = |text: &str| text.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        let (key, value) = (unquote(key), unquote(value));
        if key == "Name" {
            functions.push(LambdaTarget::new(&value, "", "", ""));
        }
        let Some(function) = functions.last_mut() else {
            continue;
        };
        match key.as_str() {
            "Alias" => function.alias = value,
            "CurrentVersion" => function.current_version = value,
            "TargetVersion" => function.target_version = value,
            _ => {}
        }
    }
    functions
}

/// A target's id: the function's name for Lambda (as AWS's API reference says), `CLUSTER:SERVICE`
/// for ECS.
fn target_id(target: &DeploymentTarget) -> String {
    match target {
        DeploymentTarget::Lambda(lambda) => lambda.function.clone(),
        DeploymentTarget::Ecs(ecs) => format!("{}:{}", ecs.cluster, ecs.service),
    }
}

/// Epoch seconds with milliseconds, as awsJson1_1 sends timestamps.
fn epoch_seconds(at: SystemTime) -> f64 {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    (since.as_millis() as f64) / 1000.0
}

/// The lifecycle events as CodeDeploy lists them, the time the target was last updated (the
/// event in progress's start), and whether `AllowTraffic` has succeeded.
fn lifecycle_view(events: &[&str], lifecycle: &Lifecycle, now: SystemTime) -> (Vec<Value>, SystemTime, bool) {
    let second = Duration::from_secs(1);
    let current = events.iter().position(|e| *e == lifecycle.in_progress).unwrap_or(0);
    let allow = events.iter().position(|e| *e == "AllowTraffic").unwrap_or(events.len());
    let shifted = current > allow;
    // Each event the stand-in did not time takes a second, back to back around AllowTraffic's
    // window (or up to now, when the traffic has not shifted yet).
    let steps = |n: usize| second * u32::try_from(n).unwrap_or(u32::MAX);
    let (allow_start, allow_end) = match lifecycle.allow_traffic {
        Some(window) if current >= allow => window,
        _ if current >= allow => {
            let at = now.checked_sub(steps(current - allow)).unwrap_or(now);
            (at, at)
        }
        _ => {
            let at = now + steps(allow - current);
            (at, at)
        }
    };
    let mut listed = Vec::new();
    let mut last_updated = now;
    for (index, name) in events.iter().enumerate() {
        let start = if index < allow {
            allow_start.checked_sub(steps(allow - index)).unwrap_or(allow_start)
        } else if index == allow {
            allow_start
        } else {
            allow_end + steps(index - allow - 1)
        };
        let end = if index == allow { allow_end } else { start + second };
        let event = if index < current {
            json!({"lifecycleEventName": name, "status": "Succeeded",
                   "startTime": epoch_seconds(start), "endTime": epoch_seconds(end)})
        } else if index == current {
            last_updated = start;
            json!({"lifecycleEventName": name, "status": "InProgress", "startTime": epoch_seconds(start)})
        } else {
            json!({"lifecycleEventName": name, "status": "Pending"})
        };
        listed.push(event);
    }
    (listed, last_updated, shifted)
}

/// The target as BatchGetDeploymentTargets and GetDeploymentTarget describe it.
fn describe_target(deployment_id: &str, spec: &DeploymentSpec, target: &DeploymentTarget, now: SystemTime) -> Value {
    let default = default_lifecycle(&spec.platform);
    let lifecycle = spec.lifecycle.as_ref().unwrap_or(&default);
    let (events, last_updated, shifted) = lifecycle_view(lifecycle_events(&spec.platform), lifecycle, now);
    let weight = lifecycle.target_weight.unwrap_or(if shifted { 1.0 } else { 0.0 });
    let id = target_id(target);
    match target {
        DeploymentTarget::Lambda(lambda) => json!({
            "deploymentTargetType": "LambdaTarget",
            "lambdaTarget": {
                "deploymentId": deployment_id,
                "targetId": id,
                // The alias's ARN: the API reference does not show a Lambda target's ARN.
                "targetArn": format!("arn:aws:lambda:us-east-1:000000000000:function:{}:{}", lambda.function, lambda.alias),
                "status": "InProgress",
                "lastUpdatedAt": epoch_seconds(last_updated),
                "lifecycleEvents": events,
                "lambdaFunctionInfo": {
                    "functionName": lambda.function,
                    "functionAlias": lambda.alias,
                    "currentVersion": lambda.current_version,
                    "targetVersion": lambda.target_version,
                    "targetVersionWeight": weight,
                },
            },
        }),
        DeploymentTarget::Ecs(ecs) => {
            // Blue is the primary task set until production traffic has shifted to green.
            let (blue_status, green_status) = if shifted {
                ("ACTIVE", "PRIMARY")
            } else {
                ("PRIMARY", "ACTIVE")
            };
            let task_set = |label: &str, identifier: &str, status: &str, group: &str, percent: f64| {
                json!({
                    // AWS's own spelling of the member.
                    "identifer": identifier,
                    "desiredCount": 2, "pendingCount": 0, "runningCount": 2,
                    "status": status,
                    "trafficWeight": percent,
                    "targetGroup": {"name": group},
                    "taskSetLabel": label,
                })
            };
            json!({
                "deploymentTargetType": "ECSTarget",
                "ecsTarget": {
                    "deploymentId": deployment_id,
                    "targetId": id,
                    "targetArn": format!("arn:aws:ecs:us-east-1:000000000000:service/{}/{}", ecs.cluster, ecs.service),
                    "lastUpdatedAt": epoch_seconds(last_updated),
                    "lifecycleEvents": events,
                    "status": "InProgress",
                    "taskSetsInfo": [
                        task_set("Blue", "ecs-svc/1111111111111111111", blue_status, &ecs.blue_target_group, 100.0 - weight * 100.0),
                        task_set("Green", "ecs-svc/2222222222222222222", green_status, &ecs.green_target_group, weight * 100.0),
                    ],
                },
            })
        }
    }
}

/// A request CodeDeploy refuses: its error code and message (all HTTP 400).
struct Refusal(&'static str, String);

impl Refusal {
    fn response(&self) -> Response {
        error(StatusCode::BAD_REQUEST, self.0, &self.1)
    }
}

/// The deployment named by `id`, or why CodeDeploy refuses that id.
fn started_deployment<'a>(records: &'a super::records::Records, id: &str) -> Result<&'a DeploymentSpec, Refusal> {
    if id.is_empty() {
        return Err(Refusal(
            "DeploymentIdRequiredException",
            "At least one deployment ID must be specified.".into(),
        ));
    }
    if !id.starts_with("d-") {
        return Err(Refusal(
            "InvalidDeploymentIdException",
            format!("{id} is not a valid deployment ID."),
        ));
    }
    let Some((spec, _)) = records.deployments.get(id) else {
        return Err(Refusal(
            "DeploymentDoesNotExistException",
            format!("The deployment {id} could not be found"),
        ));
    };
    if matches!(spec.status.as_str(), "Created" | "Queued") {
        return Err(Refusal(
            "DeploymentNotStartedException",
            format!("The deployment {id} has not started."),
        ));
    }
    Ok(spec)
}

fn list_deployment_targets(shared: &Shared, request: &Value) -> Response {
    let records = shared.records();
    let id = request.get("deploymentId").and_then(Value::as_str).unwrap_or_default();
    let spec = match started_deployment(&records, id) {
        Ok(spec) => spec,
        Err(refusal) => return refusal.response(),
    };
    // The stand-in's lists fit in one page, so it never hands out a token to come back with.
    if request.get("nextToken").is_some_and(|token| !token.is_null()) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidNextTokenException",
            "The next token was specified in an invalid format.",
        );
    }
    let mut wanted_statuses: Option<Vec<&str>> = None;
    if let Some(filters) = request.get("targetFilters").and_then(Value::as_object) {
        for (key, values) in filters {
            match key.as_str() {
                "TargetStatus" => {
                    let values = values.as_array().map(Vec::as_slice).unwrap_or_default();
                    wanted_statuses = Some(values.iter().filter_map(Value::as_str).collect());
                }
                // Blue and Green instances are EC2/on-premises'; the stand-in has none.
                "ServerInstanceLabel" => wanted_statuses = Some(Vec::new()),
                other => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidTargetFilterNameException",
                        &format!("The target filter name {other} is invalid."),
                    );
                }
            }
        }
    }
    // Every target the stand-in describes is InProgress.
    let ids: Vec<String> = match wanted_statuses {
        Some(statuses) if !statuses.contains(&"InProgress") => Vec::new(),
        _ => targets(spec).iter().map(target_id).collect(),
    };
    ok(json!({"targetIds": ids}))
}

/// The targets named by `ids` in deployment `id`, described, or why CodeDeploy refuses.
fn described_targets(shared: &Shared, id: &str, ids: &[&str]) -> Result<Vec<Value>, Refusal> {
    let records = shared.records();
    let spec = started_deployment(&records, id)?;
    if ids.is_empty() {
        return Err(Refusal(
            "DeploymentTargetIdRequiredException",
            "A deployment target ID was not provided.".into(),
        ));
    }
    if ids.len() > 25 {
        return Err(Refusal(
            "DeploymentTargetListSizeExceededException",
            "The maximum number of targets that can be associated with an Amazon ECS or Lambda deployment was \
             exceeded. The target list of both types of deployments must have exactly one item. This exception does \
             not apply to EC2/On-premises deployments."
                .into(),
        ));
    }
    let all = targets(spec);
    let now = SystemTime::now();
    ids.iter()
        .map(|wanted| {
            all.iter()
                .find(|target| target_id(target) == *wanted)
                .map(|target| describe_target(id, spec, target, now))
                .ok_or_else(|| {
                    Refusal(
                        "DeploymentTargetDoesNotExistException",
                        format!("The provided target ID {wanted} does not belong to the deployment {id}."),
                    )
                })
        })
        .collect()
}

fn batch_get_deployment_targets(shared: &Shared, request: &Value) -> Response {
    let id = request.get("deploymentId").and_then(Value::as_str).unwrap_or_default();
    let ids: Vec<&str> = request
        .get("targetIds")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match described_targets(shared, id, &ids) {
        Ok(described) => ok(json!({"deploymentTargets": described})),
        Err(refusal) => refusal.response(),
    }
}

fn get_deployment_target(shared: &Shared, id: &str, target_id: &str) -> Response {
    let ids: Vec<&str> = if target_id.is_empty() {
        Vec::new()
    } else {
        vec![target_id]
    };
    match described_targets(shared, id, &ids) {
        Ok(mut described) => ok(json!({"deploymentTarget": described.pop()})),
        Err(refusal) => refusal.response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Deployment, LocalAws};
    use aws_sdk_codedeploy::error::ProvideErrorMetadata;
    use aws_sdk_codedeploy::types::LifecycleEventStatus;

    /// A CodeDeploy client for the stand-in, with test credentials.
    async fn codedeploy(aws: &LocalAws) -> aws_sdk_codedeploy::Client {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(aws.endpoint_url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_codedeploy::config::Credentials::new(
                "AKIASTANDIN000000000",
                "stand-in-secret-not-real",
                None,
                None,
                "codedeploy-tests",
            ))
            .load()
            .await;
        aws_sdk_codedeploy::Client::new(&config)
    }

    /// Reports `status` for `execution`, as the hook does; the error code CodeDeploy refuses with.
    async fn report(
        codedeploy: &aws_sdk_codedeploy::Client,
        execution: &Deployment,
        status: &str,
    ) -> Result<(), Option<String>> {
        codedeploy
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(&execution.id)
            .lifecycle_event_hook_execution_id(&execution.execution_id)
            .status(LifecycleEventStatus::from(status))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| error.code().map(str::to_string))
    }

    /// The lifecycle event in progress on the deployment's one target.
    async fn in_progress(codedeploy: &aws_sdk_codedeploy::Client, deployment: &Deployment, target: &str) -> String {
        let described = codedeploy
            .get_deployment_target()
            .deployment_id(&deployment.id)
            .target_id(target)
            .send()
            .await
            .expect("GetDeploymentTarget");
        let target = described
            .deployment_target()
            .and_then(|target| target.lambda_target())
            .expect("a Lambda target");
        target
            .lifecycle_events()
            .iter()
            .find(|event| event.status().map(|status| status.as_str()) == Some("InProgress"))
            .and_then(|event| event.lifecycle_event_name())
            .unwrap_or_default()
            .to_string()
    }

    #[tokio::test]
    async fn the_next_hook_execution_is_the_same_deployment_s_under_a_new_id_with_its_lifecycle_moved_on() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let spec = DeploymentSpec::lambda(crate::kit::lambda_appspec(&[("my-api", "1", "2")]));
        let before = aws.create_deployment(spec);
        let codedeploy = codedeploy(&aws).await;
        assert_eq!(in_progress(&codedeploy, &before, "my-api").await, "BeforeAllowTraffic");
        assert_eq!(report(&codedeploy, &before, "Succeeded").await, Ok(()));

        let end = SystemTime::now() - Duration::from_secs(300);
        let after = aws.next_hook_execution(
            &before,
            Lifecycle::after_allow_traffic(end - Duration::from_secs(600), end),
        );
        assert_eq!(after.id, before.id, "the same deployment");
        assert_ne!(after.execution_id, before.execution_id, "a hook execution of its own");
        assert_eq!(in_progress(&codedeploy, &after, "my-api").await, "AfterAllowTraffic");
        assert_eq!(aws.accepted_status(&after), None, "not reported yet");

        assert_eq!(
            report(&codedeploy, &before, "Failed").await,
            Err(Some("LifecycleEventAlreadyCompletedException".into())),
            "a late report of the earlier execution"
        );
        assert_eq!(report(&codedeploy, &after, "Failed").await, Ok(()));
        assert_eq!(aws.accepted_status(&before).as_deref(), Some("Succeeded"));
        assert_eq!(aws.accepted_status(&after).as_deref(), Some("Failed"));
        let unknown = Deployment {
            execution_id: "never-started".into(),
            ..after.clone()
        };
        assert_eq!(
            report(&codedeploy, &unknown, "Succeeded").await,
            Err(Some("InvalidLifecycleEventHookExecutionIdException".into()))
        );
    }

    #[tokio::test]
    #[should_panic(expected = "does not come after BeforeAllowTraffic")]
    async fn the_next_hook_execution_moves_the_lifecycle_on_never_back() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let deployment = aws.create_deployment(DeploymentSpec::lambda(crate::kit::lambda_appspec(&[(
            "my-api", "1", "2",
        )])));
        aws.next_hook_execution(&deployment, Lifecycle::in_progress("Start"));
    }

    #[test]
    fn the_functions_of_a_yaml_or_json_appspec() {
        let yaml = crate::kit::lambda_appspec(&[("my-api", "1", "2"), ("worker", "7", "8")]);
        let json = r#"{"version":0.0,"Resources":[{"f":{"Type":"AWS::Lambda::Function","Properties":{"Name":"my-api","Alias":"live","CurrentVersion":"1","TargetVersion":2}}}]}"#;
        assert_eq!(
            appspec_functions(&yaml),
            vec![
                LambdaTarget::new("my-api", "live", "1", "2"),
                LambdaTarget::new("worker", "live", "7", "8")
            ]
        );
        assert_eq!(
            appspec_functions(json),
            vec![LambdaTarget::new("my-api", "live", "1", "2")]
        );
    }

    #[test]
    fn events_before_the_one_in_progress_succeeded_and_later_ones_are_pending() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let end = start + Duration::from_secs(600);
        let lifecycle = Lifecycle::after_allow_traffic(start, end);
        let (events, last_updated, shifted) = lifecycle_view(&LAMBDA_LIFECYCLE_EVENTS, &lifecycle, SystemTime::now());
        let statuses: Vec<&str> = events.iter().filter_map(|e| e["status"].as_str()).collect();
        assert_eq!(
            statuses,
            ["Succeeded", "Succeeded", "Succeeded", "InProgress", "Pending"]
        );
        assert_eq!(events[2]["startTime"], 1_000_000.0);
        assert_eq!(events[2]["endTime"], 1_000_600.0);
        assert_eq!(events[3]["startTime"], 1_000_600.0);
        assert!(events[3].get("endTime").is_none() && events[4].get("startTime").is_none());
        assert!(events[1]["endTime"].as_f64() <= events[2]["startTime"].as_f64());
        assert_eq!(last_updated, end);
        assert!(shifted);
    }

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
