//! The stand-in's CodeDeploy (awsJson1_1: `POST /`, `X-Amz-Target: CodeDeploy_20141006.*`):
//! GetDeployment, BatchGetDeployments, ListDeployments, GetApplicationRevision,
//! GetDeploymentGroup, PutLifecycleEventHookExecutionStatus, and the deployment targets
//! (ListDeploymentTargets, BatchGetDeploymentTargets, GetDeploymentTarget), answering in AWS's
//! shapes and with AWS's error codes.
//!
//! As in AWS, GetDeployment names the revision by its type and SHA-256 only; the AppSpec's text
//! comes from GetApplicationRevision, found by application, revision type and SHA-256. The
//! targets' lifecycle events say which hook is being called (its payload does not), and
//! `AllowTraffic`'s times say when the traffic was split.
//!
//! A deployment is `InProgress` from its creation until it ends: a hook's `Failed` report fails
//! it; a `Succeeded` report of the last hook the AppSpec names succeeds it once the traffic has
//! moved (the last hook before `AllowTraffic` leaves it in `AllowTraffic`, whose length the
//! stand-in does not simulate: a test moves it on); and an alarm of its group in `ALARM` stops it,
//! as CodeDeploy does ([`stop_on_alarm`]), rolling it back when the group says so.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::alarms;
use super::aws_json::{error, ok};
use super::faults::{apply_fault, take_fault};
use super::model::{
    AlarmStateValue, DeploymentSpec, DeploymentTarget, ECS_LIFECYCLE_EVENTS, EcsTarget, ErrorInformation, Fault,
    LAMBDA_LIFECYCLE_EVENTS, LambdaTarget, Lifecycle, Operation, ReportRecord, RevisionForm, RollbackInfo,
};
use super::records::{AliasRecord, DeploymentRun, Records, Shared, next_deployment_number};

/// ListDeployments' page when a test sets none. AWS does not document its page size; callers
/// must follow `nextToken` whatever it is, and a test that wants to see them do it sets a small
/// one (the facade's `set_list_deployments_page_size`).
pub(crate) const LIST_DEPLOYMENTS_PAGE_SIZE: usize = 100;

/// The statuses a deployment can have (`includeOnlyStatuses` takes only these).
const DEPLOYMENT_STATUSES: [&str; 8] = [
    "Created",
    "Queued",
    "InProgress",
    "Baking",
    "Succeeded",
    "Failed",
    "Stopped",
    "Ready",
];

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
        "ListDeployments" => Some(Operation::ListDeployments),
        "BatchGetDeployments" => Some(Operation::BatchGetDeployments),
        _ => None,
    }
}

/// Serves one CodeDeploy request whose target is `target`.
pub(crate) async fn serve(shared: &Shared, target: &str, body: &[u8]) -> Response {
    let Some(operation) = operation(target) else {
        return error(StatusCode::BAD_REQUEST, "UnknownOperationException", target);
    };
    // CodeDeploy polls its alarms on its own, whoever calls: whatever data arrived since the last
    // call has had its effect before this one is answered.
    alarms::settle(&mut shared.records());
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
        Operation::ListDeployments => list_deployments(shared, &request),
        Operation::BatchGetDeployments => batch_get_deployments(shared, &request),
        // Other services' operations: `operation` never names them.
        _ => error(StatusCode::BAD_REQUEST, "UnknownOperationException", target),
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
    ok(json!({ "deploymentInfo": deployment_info(id, spec, records.runs.get(id)) }))
}

/// A subset of AWS's `deploymentInfo`: the fields preflight reads, in AWS's names and values.
/// AWS leaves out what a deployment does not have (a description, a completion, an error, a
/// rollback), and so does the stand-in.
fn deployment_info(id: &str, spec: &DeploymentSpec, run: Option<&DeploymentRun>) -> Value {
    let mut info = json!({
        "applicationName": spec.application,
        "deploymentGroupName": spec.group,
        "deploymentId": id,
        "computePlatform": spec.platform,
        "creator": spec.creator,
        "status": spec.status,
        "revision": revision_by_hash(spec),
    });
    let Some(fields) = info.as_object_mut() else {
        return info;
    };
    if let Some(description) = &spec.description {
        fields.insert("description".into(), json!(description));
    }
    if let Some(rollback) = &spec.auto_rollback {
        fields.insert(
            "autoRollbackConfiguration".into(),
            json!({"enabled": rollback.enabled, "events": rollback.events}),
        );
    }
    let Some(run) = run else {
        return info;
    };
    fields.insert("createTime".into(), json!(epoch_seconds(run.create_time)));
    if let Some(complete) = run.complete_time {
        fields.insert("completeTime".into(), json!(epoch_seconds(complete)));
    }
    if let Some(problem) = &run.error {
        fields.insert(
            "errorInformation".into(),
            json!({"code": problem.code, "message": problem.message}),
        );
    }
    if let Some(rollback) = &run.rollback {
        let mut info = serde_json::Map::new();
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                info.insert(name.into(), json!(value));
            }
        };
        put("rollbackDeploymentId", &rollback.rollback_deployment_id);
        put(
            "rollbackTriggeringDeploymentId",
            &rollback.rollback_triggering_deployment_id,
        );
        put("rollbackMessage", &rollback.rollback_message);
        fields.insert("rollbackInfo".into(), Value::Object(info));
    }
    info
}

/// The group as the deployments created in it describe it (the latest one, should they differ):
/// a subset of AWS's `deploymentGroupInfo` (the fields preflight reads), in AWS's names.
fn get_deployment_group(shared: &Shared, application: &str, group: &str) -> Response {
    let records = shared.records();
    let Some((spec, _)) = records
        .deployments
        .iter()
        .filter(|(_, (spec, _))| spec.application == application && spec.group == group)
        .max_by_key(|(id, _)| records.runs.get(*id).map(|run| run.sequence))
        .map(|(_, deployment)| deployment)
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
    // Left out for a group created without them (the stand-in's simplification: AWS may show
    // them disabled).
    if let (Some(alarms), Some(fields)) = (&spec.alarm_configuration, info.as_object_mut()) {
        let names: Vec<Value> = alarms.alarms.iter().map(|name| json!({"name": name})).collect();
        fields.insert(
            "alarmConfiguration".into(),
            json!({"enabled": alarms.enabled, "ignorePollAlarmFailure": alarms.ignore_poll_alarm_failure, "alarms": names}),
        );
    }
    if let (Some(rollback), Some(fields)) = (&spec.auto_rollback, info.as_object_mut()) {
        fields.insert(
            "autoRollbackConfiguration".into(),
            json!({"enabled": rollback.enabled, "events": rollback.events}),
        );
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
    if current {
        after_report(&mut records, deployment_id, status);
    }
    ok(json!({"lifecycleEventHookExecutionId": execution_id}))
}

/// What an accepted report does to its deployment: `Failed` fails it (and rolls it back when its
/// group says so); `Succeeded` of the last hook succeeds it, once the traffic has moved. Its time
/// is the wall clock's: the report arrives now.
///
/// The targets' events are left as they were: a hook event delivered again (Lambda's retry of an
/// asynchronous invocation) still finds its event in progress, as the tests of repeated
/// deliveries need; CodeDeploy would show it `Succeeded` or `Failed`.
fn after_report(records: &mut Records, id: &str, status: &str) {
    let Some((spec, _)) = records.deployments.get(id) else {
        return;
    };
    if spec.status != "InProgress" {
        return;
    }
    let events = lifecycle_events(&spec.platform);
    let position = |event: &str| events.iter().position(|known| *known == event);
    let current = spec.lifecycle.as_ref().map_or_else(
        || default_lifecycle(&spec.platform).in_progress,
        |l| l.in_progress.clone(),
    );
    let now = SystemTime::now();
    if status == "Failed" {
        let rolls_back = spec.auto_rollback.as_ref().is_some_and(|r| r.on("DEPLOYMENT_FAILURE"));
        // The message is the stand-in's: the API documents the code only.
        let problem = ErrorInformation {
            code: "HOOK_EXECUTION_FAILURE".into(),
            message: format!("The {current} lifecycle event hook reported Failed."),
        };
        end(records, id, "Failed", now, problem);
        if rolls_back {
            roll_back(records, id, now);
        }
        return;
    }
    let later_hook = appspec_hooks(&spec.appspec, events)
        .iter()
        .any(|hook| position(hook) > position(&current));
    let traffic_moved = position(&current) > position("AllowTraffic");
    if !later_hook && traffic_moved {
        if let Some((spec, _)) = records.deployments.get_mut(id) {
            spec.status = "Succeeded".into();
        }
        if let Some(run) = records.runs.get_mut(id) {
            run.complete_time = Some(now);
        }
    }
}

/// The lifecycle events the AppSpec's `Hooks` name, YAML or JSON, read key by key as
/// [`appspec_functions`] reads the functions.
fn appspec_hooks(appspec: &str, events: &[&str]) -> Vec<String> {
    let broken = appspec.replace(['{', '}', ',', '[', ']'], "\n");
    let mut in_hooks = false;
    let mut hooks = Vec::new();
    for line in broken.lines() {
        let line = line.trim().trim_start_matches("- ");
        let Some((key, _)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        if key == "Hooks" {
            in_hooks = true;
        } else if in_hooks && events.contains(&key) {
            hooks.push(key.to_string());
        }
    }
    hooks
}

/// Ends deployment `id` with `status` at `at`, for the reason given.
fn end(records: &mut Records, id: &str, status: &str, at: SystemTime, problem: ErrorInformation) {
    if let Some((spec, _)) = records.deployments.get_mut(id) {
        spec.status = status.into();
    }
    if let Some(run) = records.runs.get_mut(id) {
        run.complete_time = Some(at);
        run.error = Some(problem);
    }
}

/// Stops, as CodeDeploy does, every deployment in progress whose group's alarm configuration
/// (enabled) names `alarm`, which went to `ALARM` at `at`: status `Stopped`, `errorInformation`
/// `ALARM_ACTIVE`, completed at `at` (or, for one created after the `created_after`th deployment,
/// which started while the alarm was already in `ALARM`, at its creation if that is later), its
/// targets' event in progress ended `Failed` then, and rolled back when the group rolls back on
/// `DEPLOYMENT_STOP_ON_ALARM`.
///
/// `at` is the alarm's state change, in the data's simulated time. Real CodeDeploy polls its
/// alarms at an interval AWS does not document, so the real stop comes that much later.
pub(super) fn stop_on_alarm(records: &mut Records, alarm: &str, at: SystemTime, created_after: u64) {
    let mut stopped: Vec<(String, Vec<String>)> = records
        .deployments
        .iter()
        .filter(|(_, (spec, _))| spec.status == "InProgress")
        .filter_map(|(id, (spec, _))| {
            let configuration = spec.alarm_configuration.as_ref().filter(|c| c.enabled)?;
            configuration.alarms.iter().any(|name| name == alarm).then(|| {
                let active = configuration
                    .alarms
                    .iter()
                    .filter(|name| {
                        records
                            .alarms
                            .get(name.as_str())
                            .is_some_and(|record| record.state.value == AlarmStateValue::Alarm)
                    })
                    .cloned()
                    .collect();
                (id.clone(), active)
            })
        })
        .collect();
    stopped.sort();
    for (id, active) in stopped {
        let at = match records.runs.get(&id) {
            Some(run) if run.sequence > created_after => at.max(run.create_time),
            _ => at,
        };
        // The message is the one CodeDeploy's console shows for such a stop; the API documents
        // the code only.
        let problem = ErrorInformation {
            code: "ALARM_ACTIVE".into(),
            message: format!(
                "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, \
                 and the affected deployments have been stopped. Activated alarms: {}",
                active.join(", ")
            ),
        };
        end(records, &id, "Stopped", at, problem);
        if let Some(run) = records.runs.get_mut(&id) {
            run.stopped_at = Some(at);
        }
        let rolls_back = records
            .deployments
            .get(&id)
            .and_then(|(spec, _)| spec.auto_rollback.as_ref())
            .is_some_and(|rollback| rollback.on("DEPLOYMENT_STOP_ON_ALARM"));
        if rolls_back {
            roll_back(records, &id, at);
        }
    }
}

/// Rolls deployment `id` back at `at`, as CodeDeploy does, by a new deployment (creator
/// `codeDeployRollback`) that each side's `rollbackInfo` names: for Lambda, each target's alias
/// (when the stand-in has it) goes back to the AppSpec's `CurrentVersion` with no additional
/// weights.
///
/// Stand-in simplifications: the rollback completes at once and runs no hooks (its targets name
/// the versions the other way round, its revision is the deployment's own); an ECS deployment's
/// traffic, which the stand-in does not hold for CodeDeploy, is not moved.
fn roll_back(records: &mut Records, id: &str, at: SystemTime) {
    let Some((spec, _)) = records.deployments.get(id) else {
        return;
    };
    let spec = spec.clone();
    let mut reversed = Vec::new();
    for target in targets(&spec) {
        let DeploymentTarget::Lambda(lambda) = target else {
            reversed.push(target);
            continue;
        };
        let alias = (lambda.function.clone(), lambda.alias.clone());
        if let Some(routing) = records.aliases.get_mut(&alias) {
            *routing = AliasRecord::new(&lambda.current_version, None);
        }
        reversed.push(DeploymentTarget::Lambda(LambdaTarget {
            current_version: lambda.target_version.clone(),
            target_version: lambda.current_version.clone(),
            ..lambda
        }));
    }
    let rollback_id = format!("d-LOCAL{:05}", next_deployment_number());
    let rollback = DeploymentSpec {
        status: "Succeeded".into(),
        creator: "codeDeployRollback".into(),
        description: None,
        targets: reversed,
        lifecycle: None,
        created: Some(at),
        ..spec
    };
    records.start_run(&rollback_id, &rollback);
    if let Some(run) = records.runs.get_mut(&rollback_id) {
        run.complete_time = Some(at);
        run.rollback = Some(RollbackInfo {
            rollback_triggering_deployment_id: Some(id.to_string()),
            ..RollbackInfo::default()
        });
    }
    // A hook execution id of its own that no report can name.
    let execution = format!("{rollback_id}-runs-no-hooks");
    records.deployments.insert(rollback_id.clone(), (rollback, execution));
    if let Some(run) = records.runs.get_mut(id) {
        run.rollback = Some(RollbackInfo {
            // The message is the stand-in's.
            rollback_message: Some(format!("Rolled back by deployment {rollback_id}, which succeeded.")),
            rollback_deployment_id: Some(rollback_id),
            ..RollbackInfo::default()
        });
    }
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
///
/// A deployment `stopped` (by an alarm) at a time has its event in progress ended `Failed` then
/// and the later ones `Skipped`: AWS does not document how a stop marks them, and a stopped
/// event is one that did not succeed.
fn lifecycle_view(
    events: &[&str],
    lifecycle: &Lifecycle,
    now: SystemTime,
    stopped: Option<SystemTime>,
) -> (Vec<Value>, SystemTime, bool) {
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
            match stopped {
                Some(at) => {
                    last_updated = at.max(start);
                    json!({"lifecycleEventName": name, "status": "Failed",
                           "startTime": epoch_seconds(start), "endTime": epoch_seconds(last_updated)})
                }
                None => json!({"lifecycleEventName": name, "status": "InProgress", "startTime": epoch_seconds(start)}),
            }
        } else if stopped.is_some() {
            json!({"lifecycleEventName": name, "status": "Skipped"})
        } else {
            json!({"lifecycleEventName": name, "status": "Pending"})
        };
        listed.push(event);
    }
    (listed, last_updated, shifted)
}

/// The target as BatchGetDeploymentTargets and GetDeploymentTarget describe it.
fn describe_target(
    deployment_id: &str,
    spec: &DeploymentSpec,
    run: Option<&DeploymentRun>,
    target: &DeploymentTarget,
    now: SystemTime,
) -> Value {
    let default = default_lifecycle(&spec.platform);
    let lifecycle = spec.lifecycle.as_ref().unwrap_or(&default);
    let stopped = run.and_then(|run| run.stopped_at);
    let (events, last_updated, shifted) = lifecycle_view(lifecycle_events(&spec.platform), lifecycle, now, stopped);
    let rolled_back = run.is_some_and(|run| {
        run.rollback
            .as_ref()
            .is_some_and(|r| r.rollback_deployment_id.is_some())
    });
    let weight = if rolled_back {
        0.0
    } else {
        lifecycle.target_weight.unwrap_or(if shifted { 1.0 } else { 0.0 })
    };
    // A stopped deployment's targets did not succeed either (TargetStatus has no `Stopped`).
    let status = if stopped.is_some() { "Failed" } else { "InProgress" };
    let id = target_id(target);
    match target {
        DeploymentTarget::Lambda(lambda) => json!({
            "deploymentTargetType": "LambdaTarget",
            "lambdaTarget": {
                "deploymentId": deployment_id,
                "targetId": id,
                // The alias's ARN: the API reference does not show a Lambda target's ARN.
                "targetArn": format!("arn:aws:lambda:us-east-1:000000000000:function:{}:{}", lambda.function, lambda.alias),
                "status": status,
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
                    "status": status,
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
    // Every target the stand-in describes is InProgress, or Failed once an alarm stopped it.
    let status = if records.runs.get(id).is_some_and(|run| run.stopped_at.is_some()) {
        "Failed"
    } else {
        "InProgress"
    };
    let ids: Vec<String> = match wanted_statuses {
        Some(statuses) if !statuses.contains(&status) => Vec::new(),
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
    let run = records.runs.get(id);
    ids.iter()
        .map(|wanted| {
            all.iter()
                .find(|target| target_id(target) == *wanted)
                .map(|target| describe_target(id, spec, run, target, now))
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

/// ListDeployments: the ids of the account's deployments (or one group's), newest first, filtered
/// by status and creation time, a page at a time. AWS does not document the order; callers must
/// not depend on it.
fn list_deployments(shared: &Shared, request: &Value) -> Response {
    let records = shared.records();
    let text = |field: &str| request.get(field).and_then(Value::as_str);
    let scope = match (text("applicationName"), text("deploymentGroupName")) {
        (None, None) => None,
        (None, Some(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "ApplicationNameRequiredException",
                "The minimum number of required application names was not specified.",
            );
        }
        (Some(_), None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            );
        }
        (Some(application), Some(group)) => {
            let specs = || records.deployments.values().map(|(spec, _)| spec);
            if !specs().any(|spec| spec.application == application) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ApplicationDoesNotExistException",
                    &format!("No application found for name: {application}"),
                );
            }
            if !specs().any(|spec| spec.application == application && spec.group == group) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "DeploymentGroupDoesNotExistException",
                    &format!("No Deployment Group found for name: {group}"),
                );
            }
            Some((application, group))
        }
    };
    let statuses: Option<Vec<&str>> = match request.get("includeOnlyStatuses") {
        None | Some(Value::Null) => None,
        Some(listed) => {
            let listed: Vec<&str> = listed
                .as_array()
                .map(|items| items.iter().map(|item| item.as_str().unwrap_or("")).collect())
                .unwrap_or_default();
            if let Some(unknown) = listed.iter().find(|status| !DEPLOYMENT_STATUSES.contains(status)) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidDeploymentStatusException",
                    &format!("The specified deployment status {unknown} doesn't exist or cannot be determined."),
                );
            }
            Some(listed)
        }
    };
    let range = request.get("createTimeRange");
    let bound = |name: &str| range.and_then(|range| range.get(name)).and_then(Value::as_f64);
    let (from, to) = (bound("start"), bound("end"));
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidTimeRangeException",
            "The specified time range was specified in an invalid format.",
        );
    }
    // The stand-in's deployments link to no external resource (CloudFormation's), so none has the
    // external id asked for.
    let external = request.get("externalId").is_some_and(|id| !id.is_null());
    let mut listed: Vec<(&String, &DeploymentRun)> = records
        .deployments
        .iter()
        .filter(|(_, (spec, _))| {
            scope.is_none_or(|(application, group)| spec.application == application && spec.group == group)
        })
        .filter(|(_, (spec, _))| {
            statuses
                .as_ref()
                .is_none_or(|statuses| statuses.contains(&spec.status.as_str()))
        })
        .filter_map(|(id, _)| Some((id, records.runs.get(id)?)))
        .filter(|(_, run)| {
            let created = epoch_seconds(run.create_time);
            from.is_none_or(|from| created >= from) && to.is_none_or(|to| created <= to)
        })
        .filter(|_| !external)
        .collect();
    listed.sort_by_key(|(_, run)| std::cmp::Reverse((run.create_time, run.sequence)));
    let ids: Vec<&String> = listed.into_iter().map(|(id, _)| id).collect();
    let page_size = records
        .deployment_page_size
        .unwrap_or(LIST_DEPLOYMENTS_PAGE_SIZE)
        .max(1);
    page(request, &ids, page_size, "deployments")
}

/// One page of `items` as `{field: [...], nextToken}`, from where the request's `nextToken` says.
/// A token is good only for the question it was handed out for (the request without its token),
/// as AWS's are.
fn page(request: &Value, items: &[&String], page_size: usize, field: &str) -> Response {
    let mut question = request.clone();
    if let Some(fields) = question.as_object_mut() {
        fields.remove("nextToken");
    }
    let fingerprint: String = Sha256::digest(question.to_string().as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let offset = match request.get("nextToken") {
        None | Some(Value::Null) => 0,
        Some(token) => {
            let offset = token
                .as_str()
                .and_then(|token| token.strip_prefix(&format!("local-{fingerprint}-")))
                .and_then(|offset| offset.parse::<usize>().ok())
                .filter(|offset| *offset < items.len());
            match offset {
                Some(offset) => offset,
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidNextTokenException",
                        "The next token was specified in an invalid format.",
                    );
                }
            }
        }
    };
    let end = offset.saturating_add(page_size).min(items.len());
    let mut body = json!({ field: &items[offset..end] });
    if let (true, Some(fields)) = (end < items.len(), body.as_object_mut()) {
        fields.insert("nextToken".into(), json!(format!("local-{fingerprint}-{end}")));
    }
    ok(body)
}

/// BatchGetDeployments: each deployment named that exists, as GetDeployment describes it (AWS
/// leaves out the ids it does not know), at most 25 a call.
fn batch_get_deployments(shared: &Shared, request: &Value) -> Response {
    let records = shared.records();
    let ids: Vec<&str> = request
        .get("deploymentIds")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "DeploymentIdRequiredException",
            "At least one deployment ID must be specified.",
        );
    }
    if ids.len() > 25 {
        return error(
            StatusCode::BAD_REQUEST,
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (25) was exceeded.",
        );
    }
    if let Some(invalid) = ids.iter().find(|id| !id.starts_with("d-")) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidDeploymentIdException",
            &format!("{invalid} is not a valid deployment ID."),
        );
    }
    let described: Vec<Value> = ids
        .iter()
        .filter_map(|id| {
            let (spec, _) = records.deployments.get(*id)?;
            Some(deployment_info(id, spec, records.runs.get(*id)))
        })
        .collect();
    ok(json!({"deploymentsInfo": described}))
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
    use crate::{Deployment, LocalAws, MetricAlarm};
    use aws_sdk_codedeploy::error::ProvideErrorMetadata;
    use aws_sdk_codedeploy::types::LifecycleEventStatus;

    /// A CodeDeploy client for the stand-in, with test credentials.
    async fn codedeploy(aws: &LocalAws) -> aws_sdk_codedeploy::Client {
        aws_sdk_codedeploy::Client::new(&crate::kit::local_sdk_config(&aws.endpoint_url(), true).await)
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

    /// A CloudWatch client for the stand-in, as the live judge publishes with.
    async fn cloudwatch(aws: &LocalAws) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&crate::kit::local_sdk_config(&aws.endpoint_url(), true).await)
    }

    /// Publishes the live judge's `CanaryFailing` for `function`: `value` at `at`.
    async fn publish_canary_failing(aws: &LocalAws, function: &str, at: SystemTime, value: f64) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let datum = MetricDatum::builder()
            .metric_name("CanaryFailing")
            .dimensions(Dimension::builder().name("FunctionName").value(function).build())
            .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(at))
            .value(value)
            .build();
        cloudwatch(aws)
            .await
            .put_metric_data()
            .namespace("preflight")
            .metric_data(datum)
            .send()
            .await
            .expect("PutMetricData");
    }

    /// GetDeployment's `deploymentInfo`.
    async fn deployment_info(
        codedeploy: &aws_sdk_codedeploy::Client,
        id: &str,
    ) -> aws_sdk_codedeploy::types::DeploymentInfo {
        codedeploy
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .expect("GetDeployment")
            .deployment_info()
            .cloned()
            .expect("deploymentInfo")
    }

    fn seconds(at: Option<&aws_sdk_codedeploy::primitives::DateTime>) -> Option<i64> {
        at.map(|at| at.secs())
    }

    fn epoch(at: SystemTime) -> i64 {
        at.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64)
    }

    /// The Lambda target's events, `(name, status)`.
    async fn events(codedeploy: &aws_sdk_codedeploy::Client, id: &str, target: &str) -> Vec<(String, String)> {
        let described = codedeploy
            .batch_get_deployment_targets()
            .deployment_id(id)
            .target_ids(target)
            .send()
            .await
            .expect("BatchGetDeploymentTargets");
        let target = described.deployment_targets()[0]
            .lambda_target()
            .expect("a Lambda target");
        target
            .lifecycle_events()
            .iter()
            .map(|event| {
                let status = event
                    .status()
                    .map(|status| status.as_str().to_string())
                    .unwrap_or_default();
                (event.lifecycle_event_name().unwrap_or_default().to_string(), status)
            })
            .collect()
    }

    fn named(events: &[(&str, &str)]) -> Vec<(String, String)> {
        events
            .iter()
            .map(|(name, status)| (name.to_string(), status.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn a_group_s_alarm_stops_its_deployment_in_progress_and_rolls_the_alias_back() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        for version in ["1", "2"] {
            aws.add_function(
                "my-api",
                version,
                crate::FunctionVersion::replying(crate::Reply::Status(200)),
            );
        }
        aws.add_alias("my-api", "live", "1", Some(("2", 0.1)));
        let alarm = MetricAlarm::canary_failing("my-api");
        let alarm_name = alarm.name.clone();
        aws.put_metric_alarm(alarm);
        let appspec = crate::kit::lambda_canary_appspec(&[("my-api", "1", "2")]);
        let split_since = crate::kit::minutes_ago(6);
        let canary = DeploymentSpec::sam_lambda(appspec.clone(), &[&alarm_name])
            .lifecycle(Lifecycle::allowing_traffic(split_since).target_weight(0.1));
        let deployment = aws.create_deployment(canary.clone());
        // Another group, whose alarm is another; and a deployment of the same group that ended.
        let other = DeploymentSpec {
            group: "other-live".into(),
            ..DeploymentSpec::sam_lambda(appspec.clone(), &["other-canary-failing"])
        };
        let other = aws.create_deployment(other.lifecycle(Lifecycle::allowing_traffic(split_since)));
        let finished = aws.create_deployment(canary.clone());
        aws.set_status(&finished, "Succeeded");
        let codedeploy = codedeploy(&aws).await;

        let group = codedeploy
            .get_deployment_group()
            .application_name("my-app")
            .deployment_group_name("my-app-live")
            .send()
            .await
            .expect("GetDeploymentGroup");
        let group = group.deployment_group_info().expect("deploymentGroupInfo");
        let alarms = group.alarm_configuration().expect("alarmConfiguration");
        assert_eq!((alarms.enabled(), alarms.ignore_poll_alarm_failure()), (true, false));
        assert_eq!(alarms.alarms()[0].name(), Some(alarm_name.as_str()));
        let rollback = group.auto_rollback_configuration().expect("autoRollbackConfiguration");
        let events_on: Vec<&str> = rollback.events().iter().map(|event| event.as_str()).collect();
        assert!(
            rollback.enabled() && events_on.contains(&"DEPLOYMENT_STOP_ON_ALARM"),
            "{events_on:?}"
        );
        assert_eq!(
            events(&codedeploy, &deployment.id, "my-api").await,
            named(&[
                ("Start", "Succeeded"),
                ("BeforeAllowTraffic", "Succeeded"),
                ("AllowTraffic", "InProgress"),
                ("AfterAllowTraffic", "Pending"),
                ("End", "Pending"),
            ])
        );

        // The live judge's 1 in the minute two minutes ago: the alarm fires at that minute's end.
        let failing_minute = crate::kit::minutes_ago(2);
        publish_canary_failing(&aws, "my-api", failing_minute + Duration::from_secs(1), 1.0).await;
        let fired = failing_minute + Duration::from_secs(60);
        let info = deployment_info(&codedeploy, &deployment.id).await;
        assert_eq!(info.status().map(|s| s.as_str()), Some("Stopped"));
        let problem = info.error_information().expect("errorInformation");
        assert_eq!(problem.code().map(|code| code.as_str()), Some("ALARM_ACTIVE"));
        assert!(
            problem.message().unwrap_or_default().ends_with(&alarm_name),
            "{problem:?}"
        );
        assert_eq!(
            seconds(info.complete_time()),
            Some(epoch(fired)),
            "stopped when the alarm fired"
        );
        let state = aws.deployment_state(&deployment).expect("the deployment");
        assert_eq!((state.status.as_str(), state.complete_time), ("Stopped", Some(fired)));

        let rollback_id = info
            .rollback_info()
            .and_then(|rollback| rollback.rollback_deployment_id())
            .expect("a rollback deployment");
        let rollback = deployment_info(&codedeploy, rollback_id).await;
        assert_eq!(rollback.creator().map(|c| c.as_str()), Some("codeDeployRollback"));
        assert_eq!(rollback.status().map(|s| s.as_str()), Some("Succeeded"));
        let triggered_by = rollback
            .rollback_info()
            .and_then(|r| r.rollback_triggering_deployment_id());
        assert_eq!(triggered_by, Some(deployment.id.as_str()));
        let served = aws
            .simulate_alias_traffic("my-api", "live", 20, failing_minute, fired)
            .await;
        assert_eq!(
            (served.version("1").invocations, served.version("2").invocations),
            (20, 0),
            "the alias is back on version 1 alone"
        );
        assert_eq!(
            events(&codedeploy, &deployment.id, "my-api").await,
            named(&[
                ("Start", "Succeeded"),
                ("BeforeAllowTraffic", "Succeeded"),
                ("AllowTraffic", "Failed"),
                ("AfterAllowTraffic", "Skipped"),
                ("End", "Skipped"),
            ])
        );

        let untouched = |deployment: &crate::Deployment| {
            aws.deployment_state(deployment)
                .map(|state| (state.status, state.error))
        };
        assert_eq!(
            untouched(&other),
            Some(("InProgress".to_string(), None)),
            "another group's alarm"
        );
        assert_eq!(
            untouched(&finished),
            Some(("Succeeded".to_string(), None)),
            "already finished"
        );
    }

    #[tokio::test]
    async fn an_alarm_that_fired_and_recovered_before_anyone_looked_still_stopped_the_deployment() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let alarm = MetricAlarm::canary_failing("my-api");
        let alarm_name = alarm.name.clone();
        aws.put_metric_alarm(alarm);
        let appspec = crate::kit::lambda_canary_appspec(&[("my-api", "1", "2")]);
        let deployment = aws.create_deployment(
            DeploymentSpec::sam_lambda(appspec, &[&alarm_name])
                .lifecycle(Lifecycle::allowing_traffic(crate::kit::minutes_ago(6))),
        );
        // A failing minute, then a healthy one, published together: ALARM for a minute, then OK.
        let failing_minute = crate::kit::minutes_ago(3);
        let minute = Duration::from_secs(60);
        aws.record_metric(
            "preflight",
            "CanaryFailing",
            &[("FunctionName", "my-api")],
            "None",
            failing_minute,
            1.0,
        );
        aws.record_metric(
            "preflight",
            "CanaryFailing",
            &[("FunctionName", "my-api")],
            "None",
            failing_minute + minute,
            0.0,
        );
        let state = aws.alarm_state(&alarm_name).expect("the alarm");
        assert_eq!(state.value, crate::AlarmStateValue::Ok, "recovered");
        let stopped = aws.deployment_state(&deployment).expect("the deployment");
        assert_eq!(
            (stopped.status.as_str(), stopped.complete_time),
            ("Stopped", Some(failing_minute + minute)),
            "stopped when the alarm fired"
        );
    }

    #[tokio::test]
    async fn a_deployment_started_while_its_group_s_alarm_is_in_alarm_is_stopped_as_it_starts() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let alarm = MetricAlarm::canary_failing("my-api");
        let alarm_name = alarm.name.clone();
        aws.put_metric_alarm(alarm);
        let dimensions = [("FunctionName", "my-api")];
        let failing_minute = crate::kit::minutes_ago(3);
        aws.record_metric("preflight", "CanaryFailing", &dimensions, "None", failing_minute, 1.0);
        let state = aws.alarm_state(&alarm_name).expect("the alarm");
        assert_eq!(state.value, crate::AlarmStateValue::Alarm);

        let appspec = crate::kit::lambda_canary_appspec(&[("my-api", "1", "2")]);
        let late = aws.create_deployment(DeploymentSpec::sam_lambda(appspec, &[&alarm_name]));
        let stopped = aws.deployment_state(&late).expect("the deployment");
        assert_eq!(stopped.status, "Stopped");
        assert_eq!(
            stopped.complete_time,
            Some(stopped.create_time),
            "stopped as it started"
        );
    }

    #[tokio::test]
    async fn a_deployment_is_in_progress_until_its_last_hook_reports_or_a_hook_fails() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let codedeploy = codedeploy(&aws).await;
        let status = |info: &aws_sdk_codedeploy::types::DeploymentInfo| info.status().map(|s| s.as_str().to_string());
        let appspec = crate::kit::lambda_canary_appspec(&[("my-api", "1", "2")]);

        let passing = aws.create_deployment(DeploymentSpec::lambda(appspec.clone()));
        let info = deployment_info(&codedeploy, &passing.id).await;
        assert_eq!(status(&info).as_deref(), Some("InProgress"));
        assert!(info.create_time().is_some() && info.complete_time().is_none());
        assert_eq!(report(&codedeploy, &passing, "Succeeded").await, Ok(()));
        let info = deployment_info(&codedeploy, &passing.id).await;
        assert_eq!(
            status(&info).as_deref(),
            Some("InProgress"),
            "AfterAllowTraffic's hook is to come"
        );
        let end = SystemTime::now() - Duration::from_secs(60);
        let after = aws.next_hook_execution(
            &passing,
            Lifecycle::after_allow_traffic(end - Duration::from_secs(600), end),
        );
        assert_eq!(report(&codedeploy, &after, "Succeeded").await, Ok(()));
        let info = deployment_info(&codedeploy, &passing.id).await;
        assert_eq!(status(&info).as_deref(), Some("Succeeded"));
        assert!(info.complete_time().is_some() && info.error_information().is_none());

        // With the hook before traffic only, the deployment goes on into AllowTraffic.
        let before_only = aws.create_deployment(DeploymentSpec::lambda(crate::kit::lambda_appspec(&[(
            "my-api", "1", "2",
        )])));
        assert_eq!(report(&codedeploy, &before_only, "Succeeded").await, Ok(()));
        let info = deployment_info(&codedeploy, &before_only.id).await;
        assert_eq!(status(&info).as_deref(), Some("InProgress"));

        let failing = aws.create_deployment(DeploymentSpec::lambda(appspec));
        assert_eq!(report(&codedeploy, &failing, "Failed").await, Ok(()));
        let info = deployment_info(&codedeploy, &failing.id).await;
        assert_eq!(status(&info).as_deref(), Some("Failed"));
        let code = info
            .error_information()
            .and_then(|problem| problem.code())
            .map(|code| code.as_str().to_string());
        assert_eq!(code.as_deref(), Some("HOOK_EXECUTION_FAILURE"));
        assert!(info.rollback_info().is_none(), "the group rolls nothing back");
    }

    #[tokio::test]
    async fn list_deployments_filters_by_group_status_and_creation_and_pages() {
        let aws = LocalAws::start().await.expect("start the stand-in");
        let codedeploy = codedeploy(&aws).await;
        let appspec = crate::kit::lambda_appspec(&[("my-api", "1", "2")]);
        let in_group = |group: &str, created: SystemTime| DeploymentSpec {
            group: group.into(),
            ..DeploymentSpec::lambda(appspec.clone()).created_at(created)
        };
        let hour = Duration::from_secs(3600);
        let now = SystemTime::now();
        // Oldest first: a1 … a4 in my-app-live, b1 and b2 in my-app-other.
        let a1 = aws.create_deployment(in_group("my-app-live", now - hour * 5));
        let a2 = aws.create_deployment(in_group("my-app-live", now - hour * 4));
        let b1 = aws.create_deployment(in_group("my-app-other", now - hour * 3));
        let a3 = aws.create_deployment(in_group("my-app-live", now - hour * 2));
        let b2 = aws.create_deployment(in_group("my-app-other", now - hour));
        let a4 = aws.create_deployment(in_group("my-app-live", now));
        aws.set_status(&a2, "Succeeded");
        aws.set_status(&b2, "Stopped");
        aws.set_list_deployments_page_size(2);

        let calls_before = aws.calls(Operation::ListDeployments);
        let in_progress: Vec<String> = codedeploy
            .list_deployments()
            .include_only_statuses(aws_sdk_codedeploy::types::DeploymentStatus::InProgress)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<String>, _>>()
            .await
            .expect("ListDeployments");
        assert_eq!(
            in_progress,
            [a4.id.clone(), a3.id.clone(), b1.id.clone(), a1.id.clone()],
            "the account's, newest first"
        );
        assert_eq!(
            aws.calls(Operation::ListDeployments) - calls_before,
            2,
            "two pages of two"
        );

        let list = || codedeploy.list_deployments();
        let ids = |output: aws_sdk_codedeploy::operation::list_deployments::ListDeploymentsOutput| {
            (output.deployments().to_vec(), output.next_token().map(str::to_string))
        };
        let group = list()
            .application_name("my-app")
            .deployment_group_name("my-app-other")
            .send()
            .await
            .expect("one group's");
        assert_eq!(ids(group), (vec![b2.id.clone(), b1.id.clone()], None));
        let recent = list()
            .create_time_range(
                aws_sdk_codedeploy::types::TimeRange::builder()
                    .start(aws_sdk_codedeploy::primitives::DateTime::from(
                        now - hour * 2 - Duration::from_secs(1),
                    ))
                    .build(),
            )
            .include_only_statuses(aws_sdk_codedeploy::types::DeploymentStatus::Succeeded)
            .include_only_statuses(aws_sdk_codedeploy::types::DeploymentStatus::InProgress)
            .send()
            .await
            .expect("the last two hours'");
        assert_eq!(ids(recent).0, [a4.id.clone(), a3.id.clone()]);

        let refused = |result: Result<_, aws_sdk_codedeploy::error::SdkError<_>>| {
            result.err().and_then(
                |error: aws_sdk_codedeploy::error::SdkError<
                    aws_sdk_codedeploy::operation::list_deployments::ListDeploymentsError,
                >| error.code().map(str::to_string),
            )
        };
        let no_application = list().deployment_group_name("my-app-live").send().await;
        assert_eq!(
            refused(no_application).as_deref(),
            Some("ApplicationNameRequiredException")
        );
        let no_group = list()
            .application_name("my-app")
            .deployment_group_name("nope")
            .send()
            .await;
        assert_eq!(
            refused(no_group).as_deref(),
            Some("DeploymentGroupDoesNotExistException")
        );
        let bad_token = list().next_token("local-0000-2").send().await;
        assert_eq!(refused(bad_token).as_deref(), Some("InvalidNextTokenException"));

        let batch = codedeploy
            .batch_get_deployments()
            .deployment_ids(&a2.id)
            .deployment_ids("d-UNKNOWN")
            .deployment_ids(&b2.id)
            .send()
            .await
            .expect("BatchGetDeployments");
        let statuses: Vec<(Option<&str>, Option<&str>)> = batch
            .deployments_info()
            .iter()
            .map(|info| (info.deployment_id(), info.status().map(|s| s.as_str())))
            .collect();
        assert_eq!(
            statuses,
            [
                (Some(a2.id.as_str()), Some("Succeeded")),
                (Some(b2.id.as_str()), Some("Stopped"))
            ],
            "an unknown id is left out"
        );
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
        let (events, last_updated, shifted) =
            lifecycle_view(&LAMBDA_LIFECYCLE_EVENTS, &lifecycle, SystemTime::now(), None);
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
