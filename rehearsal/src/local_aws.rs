//! A local stand-in for the AWS side of a deployment, on one loopback port: CodeDeploy's
//! GetDeployment, GetApplicationRevision and PutLifecycleEventHookExecutionStatus (awsJson1_1),
//! Lambda Invoke (restJson1) for locally defined function versions, and the Lambda Runtime API
//! that the hook's `bootstrap` polls.
//!
//! It keeps a record of every call, report and invocation so that tests can assert on what the
//! hook did, and it can inject faults into any operation.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::server::Server;

/// The AWS operations the stand-in serves, for fault injection and call records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    GetDeployment,
    GetApplicationRevision,
    PutLifecycleEventHookExecutionStatus,
    Invoke,
}

impl Operation {
    fn from_target(target: &str) -> Option<Operation> {
        match target.strip_prefix("CodeDeploy_20141006.")? {
            "GetDeployment" => Some(Operation::GetDeployment),
            "GetApplicationRevision" => Some(Operation::GetApplicationRevision),
            "PutLifecycleEventHookExecutionStatus" => Some(Operation::PutLifecycleEventHookExecutionStatus),
            _ => None,
        }
    }
}

/// A fault the next call(s) of an operation meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, but only after this long.
    Latency(Duration),
    /// HTTP 500.
    ServerError,
    /// ThrottlingException (CodeDeploy) or TooManyRequestsException (Lambda).
    Throttle,
    /// AccessDeniedException.
    AccessDenied,
}

/// How the deployment's revision comes back from GetDeployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionForm {
    /// `revision.appSpecContent.content`, as the CLI and SDKs create it.
    AppSpecContent,
    /// The older `revision.string.content`.
    String,
    /// Only `appSpecContent.sha256`, as reported for CloudFormation/SAM deployments: the
    /// content must be fetched with GetApplicationRevision.
    Sha256Only,
}

/// A deployment to create.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    pub application: String,
    pub group: String,
    /// `Lambda` or `ECS`.
    pub platform: String,
    pub appspec: String,
    pub form: RevisionForm,
    /// GetDeployment's `creator`: `user`, or `autoscaling` for a scale-out.
    pub creator: String,
    /// GetDeployment's `status`; [`LocalAws::set_status`] moves it on.
    pub status: String,
}

impl DeploymentSpec {
    pub fn lambda(appspec: impl Into<String>) -> DeploymentSpec {
        DeploymentSpec {
            application: "my-app".into(),
            group: "my-app-live".into(),
            platform: "Lambda".into(),
            appspec: appspec.into(),
            form: RevisionForm::AppSpecContent,
            creator: "user".into(),
            status: "InProgress".into(),
        }
    }

    pub fn ecs(appspec: impl Into<String>) -> DeploymentSpec {
        DeploymentSpec {
            platform: "ECS".into(),
            ..DeploymentSpec::lambda(appspec)
        }
    }

    /// An EC2/on-premises deployment (the maintenance page's case), in `application`/`group`.
    pub fn server(application: &str, group: &str) -> DeploymentSpec {
        DeploymentSpec {
            application: application.into(),
            group: group.into(),
            platform: "Server".into(),
            appspec: "version: 0.0\nos: linux\n".into(),
            ..DeploymentSpec::lambda("")
        }
    }

    pub fn form(mut self, form: RevisionForm) -> DeploymentSpec {
        self.form = form;
        self
    }

    /// Who created the deployment, as GetDeployment's `creator` says (`autoscaling`, …).
    pub fn created_by(mut self, creator: &str) -> DeploymentSpec {
        self.creator = creator.into();
        self
    }
}

/// The ids a hook execution is reported with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    pub execution_id: String,
}

impl Deployment {
    /// The payload CodeDeploy sends to the hook.
    pub fn hook_event(&self) -> Value {
        json!({"DeploymentId": self.id, "LifecycleEventHookExecutionId": self.execution_id})
    }
}

/// What a locally defined function version answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `{"statusCode": N}` whatever the request.
    Status(u16),
    /// The status for the event's path, or the fallback.
    StatusByPath(Vec<(String, u16)>, u16),
    /// A JSON document as is.
    Json(Value),
    /// An unhandled error (`X-Amz-Function-Error: Unhandled`).
    FunctionError(String),
    /// Never answers (until the caller gives up).
    Hang,
}

/// A function version's behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionVersion {
    pub reply: Reply,
    /// How long each invocation takes.
    pub delay: Duration,
    /// The first N invocations answer 503 before `reply` takes over (a version still warming up).
    pub fail_first: u32,
}

impl FunctionVersion {
    pub fn replying(reply: Reply) -> FunctionVersion {
        FunctionVersion {
            reply,
            delay: Duration::ZERO,
            fail_first: 0,
        }
    }
}

/// A report the hook sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub deployment_id: String,
    pub execution_id: String,
    pub status: String,
    /// False for a second report of the same execution (rejected as already completed) or a fault.
    pub accepted: bool,
    pub at: Instant,
}

/// An Invoke the hook made.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    pub function: String,
    pub qualifier: Option<String>,
    pub payload: Value,
}

/// How one delivery of an event to the hook ended, as the Runtime API saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeOutcome {
    Response(Value),
    Error(Value),
    /// No answer before the function's timeout (Lambda would have stopped the function).
    TimedOut,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub outcome: RuntimeOutcome,
    pub started: Instant,
    /// When the function's timeout ran out.
    pub deadline: Instant,
}

struct PendingEvent {
    request_id: String,
    payload: Value,
    timeout: Duration,
    /// Sent as `Lambda-Runtime-Deadline-Ms` instead of now + timeout, to imitate emulators.
    deadline_header: Option<String>,
}

#[derive(Default)]
struct Records {
    deployments: HashMap<String, (DeploymentSpec, String)>,
    functions: HashMap<(String, String), (FunctionVersion, u32)>,
    completed: HashMap<String, String>,
    reports: Vec<ReportRecord>,
    calls: Vec<Operation>,
    invocations: Vec<InvocationRecord>,
    faults: HashMap<Operation, VecDeque<Fault>>,
    waiting: HashMap<String, oneshot::Sender<RuntimeOutcome>>,
    init_errors: Vec<Value>,
    first_poll: Option<Instant>,
    next_id: u64,
}

struct Shared {
    records: Mutex<Records>,
    events: mpsc::UnboundedSender<PendingEvent>,
    next_event: tokio::sync::Mutex<mpsc::UnboundedReceiver<PendingEvent>>,
}

impl Shared {
    /// Poisoning only follows a panic in a test thread; the records are still worth reading.
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running stand-in. Dropping it stops the server.
pub struct LocalAws {
    server: Server,
    shared: Arc<Shared>,
}

impl LocalAws {
    /// Starts the stand-in on a free loopback port.
    pub async fn start() -> std::io::Result<LocalAws> {
        LocalAws::start_on("127.0.0.1:0").await
    }

    /// Starts the stand-in on a given address, such as `127.0.0.1:4599`.
    pub async fn start_on(address: &str) -> std::io::Result<LocalAws> {
        let (events, next_event) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            records: Mutex::new(Records::default()),
            events,
            next_event: tokio::sync::Mutex::new(next_event),
        });
        let app = Router::new()
            .route("/", post(codedeploy))
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let server = Server::start(app, address).await?;
        Ok(LocalAws { server, shared })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `127.0.0.1:PORT`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.server.addr.to_string()
    }

    pub fn add_function(&self, name: &str, version: &str, behaviour: FunctionVersion) {
        self.shared
            .records()
            .functions
            .insert((name.to_string(), version.to_string()), (behaviour, 0));
    }

    pub fn create_deployment(&self, spec: DeploymentSpec) -> Deployment {
        // Ids are unique across stand-ins, as they are across a real account.
        static NEXT_DEPLOYMENT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT_DEPLOYMENT.fetch_add(1, Ordering::Relaxed);
        self.create_deployment_with_ids(spec, &format!("d-LOCAL{n:05}"), &format!("local-hook-execution-{n:05}"))
    }

    /// Creates a deployment with given ids, such as those of a sample event file.
    pub fn create_deployment_with_ids(&self, spec: DeploymentSpec, id: &str, execution_id: &str) -> Deployment {
        let deployment = Deployment {
            id: id.to_string(),
            execution_id: execution_id.to_string(),
        };
        self.shared
            .records()
            .deployments
            .insert(deployment.id.clone(), (spec, deployment.execution_id.clone()));
        deployment
    }

    /// Moves a deployment to `status` (`Succeeded`, `Failed`, `Stopped`, …), as GetDeployment
    /// will then report it.
    pub fn set_status(&self, deployment: &Deployment, status: &str) {
        if let Some((spec, _)) = self.shared.records().deployments.get_mut(&deployment.id) {
            spec.status = status.to_string();
        }
    }

    /// The next `times` calls of `operation` meet `fault`.
    pub fn inject(&self, operation: Operation, fault: Fault, times: usize) {
        let mut records = self.shared.records();
        let queue = records.faults.entry(operation).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Delivers the deployment's hook event and waits for the hook to answer or time out.
    pub async fn deliver(&self, deployment: &Deployment, function_timeout: Duration) -> Delivered {
        self.deliver_payload(deployment.hook_event(), function_timeout).await
    }

    /// Delivers any payload, valid or not.
    pub async fn deliver_payload(&self, payload: Value, function_timeout: Duration) -> Delivered {
        self.deliver_with_deadline_header(payload, function_timeout, None).await
    }

    /// Delivers with a given `Lambda-Runtime-Deadline-Ms` value, such as the placeholder
    /// `600000` that cargo lambda's emulator sends.
    pub async fn deliver_with_deadline_header(
        &self,
        payload: Value,
        function_timeout: Duration,
        deadline_header: Option<String>,
    ) -> Delivered {
        let (sender, receiver) = oneshot::channel();
        let request_id = {
            let mut records = self.shared.records();
            records.next_id += 1;
            let id = format!("local-request-{}", records.next_id);
            records.waiting.insert(id.clone(), sender);
            id
        };
        let started = Instant::now();
        let _ = self.shared.events.send(PendingEvent {
            request_id,
            payload,
            timeout: function_timeout,
            deadline_header,
        });
        // Waiting for the poll as well as the run: allow a little for the process to start.
        let outcome = match tokio::time::timeout(function_timeout + Duration::from_secs(5), receiver).await {
            Ok(Ok(outcome)) => outcome,
            _ => RuntimeOutcome::TimedOut,
        };
        Delivered {
            outcome,
            started,
            deadline: started + function_timeout,
        }
    }

    pub fn reports(&self) -> Vec<ReportRecord> {
        self.shared.records().reports.clone()
    }

    /// The status CodeDeploy accepted for this deployment's hook execution, if any.
    pub fn accepted_status(&self, deployment: &Deployment) -> Option<String> {
        self.shared.records().completed.get(&deployment.execution_id).cloned()
    }

    pub fn calls(&self, operation: Operation) -> usize {
        self.shared.records().calls.iter().filter(|c| **c == operation).count()
    }

    pub fn invocations(&self) -> Vec<InvocationRecord> {
        self.shared.records().invocations.clone()
    }

    /// When the hook first asked for an event: the end of its cold start.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.records().first_poll
    }

    pub fn init_errors(&self) -> Vec<Value> {
        self.shared.records().init_errors.clone()
    }
}

fn take_fault(shared: &Shared, operation: Operation) -> Option<Fault> {
    let mut records = shared.records();
    records.calls.push(operation);
    records.faults.get_mut(&operation).and_then(VecDeque::pop_front)
}

/// Applies latency, or returns the error response a fault stands for.
async fn apply_fault(fault: Option<Fault>, error: fn(StatusCode, &str, &str) -> Response) -> Option<Response> {
    match fault? {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::ServerError => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "injected 500",
        )),
        Fault::Throttle => Some(error(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded")),
        Fault::AccessDenied => Some(error(
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to perform this action",
        )),
    }
}

fn codedeploy_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/x-amz-json-1.1")],
        json!({"__type": kind, "message": message}).to_string(),
    )
        .into_response()
}

fn codedeploy_ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

async fn codedeploy(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(operation) = Operation::from_target(target) else {
        return codedeploy_error(StatusCode::BAD_REQUEST, "UnknownOperationException", target);
    };
    if let Some(response) = apply_fault(take_fault(&shared, operation), codedeploy_error).await {
        return response;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |field: &str| {
        request
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match operation {
        Operation::GetDeployment => get_deployment(&shared, &text("deploymentId")),
        Operation::GetApplicationRevision => get_application_revision(&shared, &text("applicationName")),
        Operation::PutLifecycleEventHookExecutionStatus => put_status(
            &shared,
            &text("deploymentId"),
            &text("lifecycleEventHookExecutionId"),
            &text("status"),
        ),
        Operation::Invoke => codedeploy_error(StatusCode::BAD_REQUEST, "UnknownOperationException", target),
    }
}

fn sha256_stand_in(content: &str) -> String {
    // Not a real digest: CodeDeploy only needs it to match between the two calls.
    format!(
        "{:064x}",
        content
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
    )
}

fn revision_json(spec: &DeploymentSpec, form: RevisionForm) -> Value {
    let sha = sha256_stand_in(&spec.appspec);
    match form {
        RevisionForm::AppSpecContent => json!({
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": spec.appspec, "sha256": sha}
        }),
        RevisionForm::String => json!({
            "revisionType": "String",
            "string": {"content": spec.appspec, "sha256": sha}
        }),
        RevisionForm::Sha256Only => json!({
            "revisionType": "AppSpecContent",
            "appSpecContent": {"sha256": sha}
        }),
    }
}

fn get_deployment(shared: &Shared, id: &str) -> Response {
    let records = shared.records();
    let Some((spec, _)) = records.deployments.get(id) else {
        return codedeploy_error(
            StatusCode::BAD_REQUEST,
            "DeploymentDoesNotExistException",
            &format!("The deployment {id} could not be found"),
        );
    };
    codedeploy_ok(json!({"deploymentInfo": {
        "applicationName": spec.application,
        "deploymentGroupName": spec.group,
        "deploymentId": id,
        "computePlatform": spec.platform,
        "creator": spec.creator,
        "status": spec.status,
        "revision": revision_json(spec, spec.form),
    }}))
}

fn get_application_revision(shared: &Shared, application: &str) -> Response {
    let records = shared.records();
    let found = records
        .deployments
        .values()
        .find(|(spec, _)| spec.application == application);
    match found {
        Some((spec, _)) => codedeploy_ok(json!({
            "applicationName": application,
            "revision": revision_json(spec, RevisionForm::AppSpecContent),
            "revisionInfo": {"description": "local rehearsal revision"},
        })),
        None => codedeploy_error(
            StatusCode::BAD_REQUEST,
            "ApplicationDoesNotExistException",
            &format!("No application found for name: {application}"),
        ),
    }
}

fn put_status(shared: &Shared, deployment_id: &str, execution_id: &str, status: &str) -> Response {
    let mut records = shared.records();
    let known = records
        .deployments
        .get(deployment_id)
        .is_some_and(|(_, execution)| execution == execution_id);
    let rejection = if !known {
        Some((
            "InvalidLifecycleEventHookExecutionIdException",
            "unknown hook execution",
        ))
    } else if !matches!(status, "Succeeded" | "Failed") {
        Some((
            "InvalidLifecycleEventHookExecutionStatusException",
            "status must be Succeeded or Failed",
        ))
    } else if records.completed.contains_key(execution_id) {
        Some((
            "LifecycleEventAlreadyCompletedException",
            "The lifecycle event is already completed",
        ))
    } else {
        None
    };
    records.reports.push(ReportRecord {
        deployment_id: deployment_id.to_string(),
        execution_id: execution_id.to_string(),
        status: status.to_string(),
        accepted: rejection.is_none(),
        at: Instant::now(),
    });
    if let Some((kind, message)) = rejection {
        return codedeploy_error(StatusCode::BAD_REQUEST, kind, message);
    }
    records.completed.insert(execution_id.to_string(), status.to_string());
    codedeploy_ok(json!({"lifecycleEventHookExecutionId": execution_id}))
}

fn lambda_error(status: StatusCode, kind: &str, message: &str) -> Response {
    // Lambda is restJson1: the error type travels in a header.
    let status = match kind {
        "ThrottlingException" => StatusCode::TOO_MANY_REQUESTS,
        "AccessDeniedException" => StatusCode::FORBIDDEN,
        _ => status,
    };
    let kind = if kind == "ThrottlingException" {
        "TooManyRequestsException"
    } else {
        kind
    };
    (
        status,
        [("x-amzn-errortype", kind), ("content-type", "application/json")],
        json!({"Type": "User", "message": message}).to_string(),
    )
        .into_response()
}

async fn invoke(State(shared): State<Arc<Shared>>, Path(name): Path<String>, uri: Uri, body: Bytes) -> Response {
    if let Some(response) = apply_fault(take_fault(&shared, Operation::Invoke), lambda_error).await {
        return response;
    }
    let name = percent_decode(&name);
    let qualifier = uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("Qualifier="))
            .map(percent_decode)
    });
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let version = qualifier.clone().unwrap_or_else(|| "$LATEST".into());
    let behaviour = {
        let mut records = shared.records();
        records.invocations.push(InvocationRecord {
            function: name.clone(),
            qualifier,
            payload: payload.clone(),
        });
        records
            .functions
            .get_mut(&(name.clone(), version.clone()))
            .map(|(behaviour, calls)| {
                *calls += 1;
                (behaviour.clone(), *calls)
            })
    };
    let Some((behaviour, call)) = behaviour else {
        return lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}:{version}"),
        );
    };
    tokio::time::sleep(behaviour.delay).await;
    let reply = if call <= behaviour.fail_first {
        Reply::Status(503)
    } else {
        behaviour.reply
    };
    let executed = [("x-amz-executed-version", version.clone())];
    match reply {
        Reply::Status(status) => (executed, http_response(status)).into_response(),
        Reply::StatusByPath(by_path, fallback) => {
            let path = event_path(&payload);
            let status = by_path.iter().find(|(p, _)| *p == path).map_or(fallback, |(_, s)| *s);
            (executed, http_response(status)).into_response()
        }
        Reply::Json(value) => (executed, value.to_string()).into_response(),
        Reply::FunctionError(message) => (
            [
                ("x-amz-executed-version", version),
                ("x-amz-function-error", "Unhandled".to_string()),
            ],
            json!({"errorType": "Runtime.Unhandled", "errorMessage": message}).to_string(),
        )
            .into_response(),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            (executed, http_response(504)).into_response()
        }
    }
}

fn http_response(status: u16) -> String {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json!({"status": if status < 400 { "ok" } else { "unhealthy" }}).to_string(),
        "isBase64Encoded": false,
    })
    .to_string()
}

/// The request path of an API Gateway v1, v2 or ALB event.
fn event_path(event: &Value) -> String {
    event
        .get("rawPath")
        .or_else(|| event.get("path"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    shared.records().first_poll.get_or_insert_with(Instant::now);
    let event = shared.next_event.lock().await.recv().await;
    let Some(event) = event else {
        return (StatusCode::GONE, "stand-in stopped").into_response();
    };
    let deadline_ms = event.deadline_header.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d + event.timeout)
            .unwrap_or_default()
            .as_millis()
            .to_string()
    });
    (
        [
            ("lambda-runtime-aws-request-id", event.request_id),
            ("lambda-runtime-deadline-ms", deadline_ms),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:000000000000:function:CodeDeployHook_preflight".to_string(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".to_string(),
            ),
            ("content-type", "application/json".to_string()),
        ],
        event.payload.to_string(),
    )
        .into_response()
}

fn finish(shared: &Shared, id: &str, outcome: RuntimeOutcome) -> Response {
    if let Some(waiter) = shared.records().waiting.remove(id) {
        let _ = waiter.send(outcome);
    }
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn invocation_response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&shared, &id, RuntimeOutcome::Response(value))
}

async fn invocation_error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    finish(&shared, &id, RuntimeOutcome::Error(value))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.records().init_errors.push(value);
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_names_and_qualifiers() {
        assert_eq!(percent_decode("%24LATEST"), "$LATEST");
        assert_eq!(percent_decode("arn%3Aaws%3Alambda"), "arn:aws:lambda");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
    }
}
