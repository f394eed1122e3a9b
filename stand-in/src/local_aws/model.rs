//! The stand-in's model: what it holds and what its users hand it or read back, as plain data
//! (the operations and their faults, deployments and their revisions, function versions and
//! their replies, records of reports and invocations, listeners and ECS services). Nothing here
//! serves HTTP; the services and the facade (`LocalAws`) build on it.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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
    /// GetDeployment's `status`; the facade's `set_status` moves it on.
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

/// The Runtime API a program of the user's polls, as the stand-in's Invoke reaches it: the
/// facade's `LocalAws` is one, started for that program alone.
pub trait Runtime: Send + Sync {
    /// `127.0.0.1:PORT`, the program's `AWS_LAMBDA_RUNTIME_API`.
    fn runtime_api(&self) -> String;

    /// Delivers `payload` to the program and waits for its answer, for at most `timeout`.
    fn deliver(&self, payload: Value, timeout: Duration) -> Pin<Box<dyn Future<Output = Delivered> + Send + '_>>;
}

/// A Runtime API of the program's own, whose queue the stand-in's Invoke delivers to; holding it
/// keeps that Runtime API running.
#[derive(Clone)]
pub struct OwnRuntime {
    pub runtime: Arc<dyn Runtime>,
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

/// A listener and its load balancer, as the stand-in holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRecord {
    pub listener_arn: String,
    pub load_balancer_arn: String,
    pub port: u16,
    /// `HTTP` or `HTTPS` (an ALB's), `TCP` or `TLS` (an NLB's).
    pub protocol: String,
    pub dns_name: String,
    /// `application` or `network`.
    pub load_balancer_type: String,
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
