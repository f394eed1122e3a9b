//! A local stand-in for the AWS side of a deployment, on one loopback port, split by service:
//! [`codedeploy`] (GetDeployment, GetApplicationRevision, GetDeploymentGroup,
//! PutLifecycleEventHookExecutionStatus), [`elb`] (DescribeListeners, DescribeLoadBalancers,
//! DescribeRules, for ECS test listeners), [`ecs`] (DescribeServiceRevisions, for ECS-native
//! deployments), [`lambda`] (Invoke, for locally defined function versions), [`runtime_api`]
//! (what the function under test polls), and [`faults`] (errors injected into any operation).
//!
//! Each answers with AWS's shapes, status codes and error codes; where it simplifies on
//! purpose, a comment says so. It keeps a record of every call, report and invocation so that
//! tests can assert on what the hook did, and wakes waiters when something is recorded.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::server::Server;

mod codedeploy;
mod ecs;
mod elb;
mod faults;
mod lambda;
mod runtime_api;

pub use codedeploy::sha256_hex;
pub use elb::ListenerRecord;

/// The AWS operations the stand-in serves, for fault injection and call records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    GetDeployment,
    GetApplicationRevision,
    GetDeploymentGroup,
    PutLifecycleEventHookExecutionStatus,
    Invoke,
    DescribeListeners,
    DescribeLoadBalancers,
    DescribeRules,
    DescribeServiceRevisions,
}

impl Operation {
    fn from_target(target: &str) -> Option<Operation> {
        match target.strip_prefix("CodeDeploy_20141006.")? {
            "GetDeployment" => Some(Operation::GetDeployment),
            "GetApplicationRevision" => Some(Operation::GetApplicationRevision),
            "GetDeploymentGroup" => Some(Operation::GetDeploymentGroup),
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

/// The deployment's revision type. GetDeployment names it by SHA-256 only, whatever the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionForm {
    /// `AppSpecContent`, as the CLI, SDKs and CloudFormation create Lambda and ECS revisions.
    AppSpecContent,
    /// The older `String` type.
    String,
    /// An S3 bundle, as EC2/on-premises deployments use: CodeDeploy's API does not show its AppSpec.
    S3,
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
    /// GetDeployment's `description` (`create-deployment --description`), absent when `None`.
    pub description: Option<String>,
    /// GetDeploymentGroup's ECS service (`serviceName`, `clusterName`), for ECS groups.
    pub ecs_service: Option<(String, String)>,
    /// GetDeploymentGroup's test traffic route listener, when the group has one.
    pub test_listener: Option<String>,
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
            description: None,
            ecs_service: None,
            test_listener: None,
        }
    }

    /// An ECS deployment of service `checkout` in cluster `shop`; its group has no test route
    /// until [`DeploymentSpec::test_listener`] gives one.
    pub fn ecs(appspec: impl Into<String>) -> DeploymentSpec {
        DeploymentSpec {
            platform: "ECS".into(),
            ecs_service: Some(("checkout".into(), "shop".into())),
            ..DeploymentSpec::lambda(appspec)
        }
    }

    /// The deployment group's test traffic route: this listener ARN.
    pub fn test_listener(mut self, listener_arn: &str) -> DeploymentSpec {
        self.test_listener = Some(listener_arn.into());
        self
    }

    /// An EC2/on-premises deployment (the maintenance page's case), in `application`/`group`,
    /// whose revision is an S3 bundle.
    pub fn server(application: &str, group: &str) -> DeploymentSpec {
        DeploymentSpec {
            application: application.into(),
            group: group.into(),
            platform: "Server".into(),
            appspec: "version: 0.0\nos: linux\n".into(),
            form: RevisionForm::S3,
            ..DeploymentSpec::lambda("")
        }
    }

    pub fn form(mut self, form: RevisionForm) -> DeploymentSpec {
        self.form = form;
        self
    }

    /// The deployment's description, as `create-deployment --description` sets it.
    pub fn described(mut self, description: &str) -> DeploymentSpec {
        self.description = Some(description.into());
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
    /// Whatever a real program answers: the user's own code, speaking the Lambda Runtime API to
    /// a runtime of its own, each Invoke delivered to it as Lambda would.
    Runtime(OwnRuntime),
}

/// The Runtime API a program of the user's polls: a [`LocalAws`] of its own, whose queue the
/// stand-in's Invoke delivers to.
#[derive(Clone)]
pub struct OwnRuntime {
    pub runtime: Arc<LocalAws>,
    /// As the function's configured timeout: an invocation that takes longer fails as Lambda's do.
    pub timeout: Duration,
}

impl std::fmt::Debug for OwnRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OwnRuntime({})", self.runtime.runtime_api())
    }
}

impl PartialEq for OwnRuntime {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.runtime, &other.runtime)
    }
}

impl Reply {
    /// An API Gateway or ALB response (`statusCode`, a JSON `content-type`) whose body is `body`.
    pub fn http_json(status: u16, body: Value) -> Reply {
        Reply::Json(
            json!({"statusCode": status, "headers": {"content-type": "application/json"}, "body": body.to_string()}),
        )
    }
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
    listeners: Vec<ListenerRecord>,
    ecs_services: Vec<EcsServiceRecord>,
    faults: HashMap<Operation, VecDeque<Fault>>,
    waiting: HashMap<String, oneshot::Sender<RuntimeOutcome>>,
    init_errors: Vec<Value>,
    first_poll: Option<Instant>,
    next_id: u64,
}

struct Shared {
    records: Mutex<Records>,
    /// Woken whenever a report, a first poll or an init error is recorded.
    changed: Notify,
    events: mpsc::UnboundedSender<PendingEvent>,
    next_event: tokio::sync::Mutex<mpsc::UnboundedReceiver<PendingEvent>>,
}

impl Shared {
    /// Poisoning only follows a panic in a test thread; the records are still worth reading.
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `POST /` is shared by three protocols: CodeDeploy and ECS (awsJson1_1) name their operation
/// in `X-Amz-Target`; ELBv2 (awsQuery) names its action in a form body.
async fn serve_json_or_query(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if target.is_empty() {
        let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        return elb::serve(&shared, &form).await;
    }
    if target.starts_with(ecs::TARGET_PREFIX) {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return ecs::serve(&shared, target, &request).await;
    }
    codedeploy::serve(&shared, target, &body).await
}

/// What green's test listener rule asks of a request (the conditions the stand-in gives it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestRule {
    /// A `host-header` condition.
    pub host: Option<String>,
    /// An `http-header` condition: name and value.
    pub header: Option<(String, String)>,
    /// A `path-pattern` condition's values; none: no path condition.
    pub path_patterns: Vec<String>,
}

/// An ECS-native blue/green service as the stand-in holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsServiceRecord {
    pub service_arn: String,
    pub revision_arn: String,
    pub blue_target_group: String,
    pub green_target_group: String,
    pub production_rule_arn: String,
    pub test_rule_arn: String,
    pub test_rule: TestRule,
    /// Where the test rule forwards: green's target group once test traffic has shifted.
    pub test_rule_forwards_to: String,
}

/// An ECS-native service's names, for the hook calls of its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsService {
    pub service_arn: String,
    /// Blue: the revision serving production.
    pub blue_revision: String,
    /// Green: the revision being deployed.
    pub green_revision: String,
    pub test_rule_arn: String,
}

impl EcsService {
    /// ECS's lifecycle-hook payload at `stage`, with green's production weight when production
    /// traffic is shifting (`None`: `productionTrafficWeights` is `{}`) and the hook's
    /// `hookDetails`.
    pub fn hook_event(&self, stage: &str, green_production: Option<f64>, hook_details: Option<Value>) -> Value {
        let production = match green_production {
            Some(weight) => json!({&self.green_revision: weight, &self.blue_revision: 100.0 - weight}),
            None => json!({}),
        };
        let mut event = json!({
            "executionId": format!("{}-{}", stage.to_lowercase(), self.green_revision.rsplit('/').next().unwrap_or("")),
            "lifecycleStage": stage,
            "resourceArn": self.service_arn.replace(":service/", ":service-deployment/") + "/local-deployment",
            "executionDetails": {
                "serviceArn": self.service_arn,
                "targetServiceRevisionArn": self.green_revision,
                "testTrafficWeights": {&self.green_revision: 100, &self.blue_revision: 0},
                "productionTrafficWeights": production,
            },
        });
        if let Some(details) = hook_details {
            event["hookDetails"] = details;
        }
        event
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
            changed: Notify::new(),
            events,
            next_event: tokio::sync::Mutex::new(next_event),
        });
        let app = Router::new()
            .route("/", post(serve_json_or_query))
            .route("/2015-03-31/functions/{name}/invocations", post(lambda::invoke))
            .route("/2018-06-01/runtime/invocation/next", get(runtime_api::next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(runtime_api::invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(runtime_api::invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(runtime_api::init_error))
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

    /// An HTTP listener on `port` of a load balancer whose DNS name is `127.0.0.1`, so that what
    /// is sent to it reaches a loopback server on that port; returns the listener's ARN.
    pub fn add_test_listener(&self, port: u16) -> String {
        let mut records = self.shared.records();
        let n = records.listeners.len() + 1;
        let load_balancer_arn =
            format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/shop-{n}/50dc6c495c0c9188");
        let listener_arn = format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/shop-{n}/50dc6c495c0c9188/f2f7dc8efc522ab2"
        );
        records.listeners.push(ListenerRecord {
            listener_arn: listener_arn.clone(),
            load_balancer_arn,
            port,
            protocol: "HTTP".into(),
            dns_name: "127.0.0.1".into(),
        });
        listener_arn
    }

    /// An ECS-native blue/green service `checkout` in cluster `shop`: a test listener on `port`
    /// (as [`LocalAws::add_test_listener`]) whose rule asks what `rule` says and forwards to blue
    /// until [`LocalAws::shift_test_traffic`] moves it to green.
    pub fn add_ecs_service(&self, port: u16, rule: TestRule) -> EcsService {
        let listener_arn = self.add_test_listener(port);
        let n = self.shared.records().ecs_services.len() + 1;
        let group = |name: &str| {
            format!(
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/checkout-{n}-{name}/73e2d6bc24d8a067"
            )
        };
        let rule_arn = listener_arn.replace(":listener/", ":listener-rule/") + "/9683b2d02a6cabee";
        self.add_ecs_service_routed(&rule_arn, &group("green"), &group("blue"), rule)
    }

    /// An ECS-native service whose revision names the test listener rule `test_rule_arn` and
    /// the target groups given: for a rule that lives elsewhere (moto's ELBv2, say), `rule` is
    /// what the stand-in's own DescribeRules would answer. The rule forwards to blue until
    /// [`LocalAws::shift_test_traffic`].
    pub fn add_ecs_service_routed(
        &self,
        test_rule_arn: &str,
        green_target_group: &str,
        blue_target_group: &str,
        rule: TestRule,
    ) -> EcsService {
        let mut records = self.shared.records();
        let n = records.ecs_services.len() + 1;
        let service_arn = format!("arn:aws:ecs:us-east-1:000000000000:service/shop/checkout-{n}");
        let revision = |k: u32| format!("arn:aws:ecs:us-east-1:000000000000:service-revision/shop/checkout-{n}/{k}");
        let production_rule_arn = match test_rule_arn.rsplit_once('/') {
            Some((listener, _)) => format!("{listener}/0467ef3c8400ae65"),
            None => format!("{test_rule_arn}-production"),
        };
        records.ecs_services.push(EcsServiceRecord {
            service_arn: service_arn.clone(),
            revision_arn: revision(2),
            blue_target_group: blue_target_group.to_string(),
            green_target_group: green_target_group.to_string(),
            production_rule_arn,
            test_rule_arn: test_rule_arn.to_string(),
            test_rule: rule,
            test_rule_forwards_to: blue_target_group.to_string(),
        });
        EcsService {
            service_arn,
            blue_revision: revision(1),
            green_revision: revision(2),
            test_rule_arn: test_rule_arn.to_string(),
        }
    }

    /// Gives the service's green revision the ARN `revision_arn` (a sample event's, say).
    pub fn name_green_revision(&self, service: &EcsService, revision_arn: &str) -> EcsService {
        let mut records = self.shared.records();
        if let Some(record) = records
            .ecs_services
            .iter_mut()
            .find(|record| record.test_rule_arn == service.test_rule_arn)
        {
            record.revision_arn = revision_arn.to_string();
        }
        EcsService {
            green_revision: revision_arn.to_string(),
            ..service.clone()
        }
    }

    /// ECS's test traffic shift: the test rule forwards to green (or back to blue).
    pub fn shift_test_traffic(&self, service: &EcsService, to_green: bool) {
        let mut records = self.shared.records();
        if let Some(record) = records
            .ecs_services
            .iter_mut()
            .find(|record| record.test_rule_arn == service.test_rule_arn)
        {
            record.test_rule_forwards_to = if to_green {
                record.green_target_group.clone()
            } else {
                record.blue_target_group.clone()
            };
        }
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

    /// Waits until `ready` holds for the records, waking on each report, first poll or init
    /// error (never polling on a timer), for at most `budget`. True if it held.
    async fn wait_until(&self, budget: Duration, ready: impl Fn(&Records) -> bool) -> bool {
        let waiting = async {
            loop {
                // Registered before looking, so that a change between the look and the wait
                // still wakes this waiter.
                let changed = self.shared.changed.notified();
                if ready(&self.shared.records()) {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(budget, waiting).await.is_ok()
    }

    /// The first poll, once it happens (or the program reports an init error, or `budget` ends).
    pub async fn wait_for_first_poll(&self, budget: Duration) -> Option<Instant> {
        self.wait_until(budget, |records| {
            records.first_poll.is_some() || !records.init_errors.is_empty()
        })
        .await;
        self.first_poll()
    }

    /// Waits until more than `seen` reports have arrived, and returns them all.
    pub async fn wait_for_reports_after(&self, seen: usize, budget: Duration) -> Vec<ReportRecord> {
        self.wait_until(budget, |records| records.reports.len() > seen).await;
        self.reports()
    }

    pub fn init_errors(&self) -> Vec<Value> {
        self.shared.records().init_errors.clone()
    }
}
