//! The stand-in's model: what it holds and what its users hand it or read back, as plain data
//! (the operations and their faults, deployments with their revisions, targets and lifecycle,
//! function versions and their replies, records of reports and invocations, traffic summaries,
//! listeners and ECS services). Nothing here serves HTTP; the services and the facade
//! (`LocalAws`) build on it.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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
    /// ELBv2's DescribeTargetGroups, by ARN or by name.
    DescribeTargetGroups,
    DescribeServiceRevisions,
    /// CloudWatch's GetMetricData.
    GetMetricData,
    /// CodeDeploy's ListDeploymentTargets.
    ListDeploymentTargets,
    /// CodeDeploy's BatchGetDeploymentTargets.
    BatchGetDeploymentTargets,
    /// CodeDeploy's GetDeploymentTarget.
    GetDeploymentTarget,
    /// CodeDeploy's ListDeployments.
    ListDeployments,
    /// CodeDeploy's BatchGetDeployments.
    BatchGetDeployments,
    /// CloudWatch's PutMetricData.
    PutMetricData,
    /// CloudWatch's DescribeAlarms.
    DescribeAlarms,
    /// EventBridge's PutEvents.
    PutEvents,
}

/// A fault the next call(s) of an operation meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, but only after this long.
    Latency(Duration),
    /// HTTP 500.
    ServerError,
    /// ThrottlingException (CodeDeploy, ECS), TooManyRequestsException (Lambda) or Throttling
    /// (CloudWatch, ELBv2).
    Throttle,
    /// AccessDeniedException (AccessDenied for CloudWatch and ELBv2).
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
    /// The deployment's targets, as ListDeploymentTargets and BatchGetDeploymentTargets report
    /// them; none given: read from the AppSpec (Lambda) or `ecs_service` (ECS), see
    /// [`DeploymentSpec::target`].
    pub targets: Vec<DeploymentTarget>,
    /// Where the targets' lifecycle stands; `None`: at the hook preflight has always served
    /// (`BeforeAllowTraffic` for Lambda, `AfterAllowTestTraffic` for ECS).
    pub lifecycle: Option<Lifecycle>,
    /// The group's CloudWatch alarms (GetDeploymentGroup's `alarmConfiguration`, SAM's
    /// `DeploymentPreference.Alarms`): while the deployment is `InProgress`, one of them in
    /// `ALARM` stops it, as CodeDeploy does. `None`: the group has none.
    pub alarm_configuration: Option<AlarmConfiguration>,
    /// The group's `autoRollbackConfiguration`: on which events CodeDeploy rolls the deployment
    /// back. `None`: it never does.
    pub auto_rollback: Option<AutoRollback>,
    /// GetDeployment's `createTime` (what ListDeployments' `createTimeRange` filters on);
    /// `None`: when the deployment is created.
    pub created: Option<SystemTime>,
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
            targets: Vec::new(),
            lifecycle: None,
            alarm_configuration: None,
            auto_rollback: None,
            created: None,
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

    /// Adds a deployment target. A Lambda deployment given none has one per function of its
    /// AppSpec (`Name`, `Alias`, `CurrentVersion`, `TargetVersion`, read as the kit's AppSpecs
    /// write them), an ECS deployment one for its `ecs_service` with target groups
    /// `SERVICE-blue` and `SERVICE-green` (GetDeploymentGroup's); a Server deployment none.
    pub fn target(mut self, target: DeploymentTarget) -> DeploymentSpec {
        self.targets.push(target);
        self
    }

    /// Where the targets' lifecycle stands (the facade's `set_lifecycle` moves it on later, and
    /// its `next_hook_execution` with the next hook execution).
    pub fn lifecycle(mut self, lifecycle: Lifecycle) -> DeploymentSpec {
        self.lifecycle = Some(lifecycle);
        self
    }

    /// The group's alarms, enabled, polling failures not ignored: what SAM makes of
    /// `DeploymentPreference.Alarms`.
    pub fn alarms(mut self, names: &[&str]) -> DeploymentSpec {
        self.alarm_configuration = Some(AlarmConfiguration {
            enabled: true,
            ignore_poll_alarm_failure: false,
            alarms: names.iter().map(|name| name.to_string()).collect(),
        });
        self
    }

    /// The group rolls its deployments back, enabled, on `events` (`DEPLOYMENT_FAILURE`,
    /// `DEPLOYMENT_STOP_ON_ALARM`, `DEPLOYMENT_STOP_ON_REQUEST`).
    pub fn auto_rollback(mut self, events: &[&str]) -> DeploymentSpec {
        self.auto_rollback = Some(AutoRollback {
            enabled: true,
            events: events.iter().map(|event| event.to_string()).collect(),
        });
        self
    }

    /// When the deployment was created, as GetDeployment's `createTime` says.
    pub fn created_at(mut self, at: SystemTime) -> DeploymentSpec {
        self.created = Some(at);
        self
    }

    /// A Lambda deployment in a group as SAM makes it of a `DeploymentPreference` with `Alarms`:
    /// the alarms enabled, rolled back on [`SAM_AUTO_ROLLBACK_EVENTS`].
    pub fn sam_lambda(appspec: impl Into<String>, alarms: &[&str]) -> DeploymentSpec {
        DeploymentSpec::lambda(appspec)
            .alarms(alarms)
            .auto_rollback(&SAM_AUTO_ROLLBACK_EVENTS)
    }
}

/// The events on which SAM's deployment groups roll back (its `AutoRollbackConfiguration`).
pub const SAM_AUTO_ROLLBACK_EVENTS: [&str; 3] = [
    "DEPLOYMENT_FAILURE",
    "DEPLOYMENT_STOP_ON_ALARM",
    "DEPLOYMENT_STOP_ON_REQUEST",
];

/// A deployment group's `alarmConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmConfiguration {
    pub enabled: bool,
    /// Whether a deployment goes on when CloudWatch cannot tell the alarms' state (the stand-in's
    /// CloudWatch always can).
    pub ignore_poll_alarm_failure: bool,
    /// The alarms' names (at most 10 in AWS).
    pub alarms: Vec<String>,
}

/// A deployment group's `autoRollbackConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRollback {
    pub enabled: bool,
    /// `DEPLOYMENT_FAILURE`, `DEPLOYMENT_STOP_ON_ALARM` or `DEPLOYMENT_STOP_ON_REQUEST`.
    pub events: Vec<String>,
}

impl AutoRollback {
    /// Whether the group rolls back on `event`.
    pub fn on(&self, event: &str) -> bool {
        self.enabled && self.events.iter().any(|known| known == event)
    }
}

/// What became of a deployment, as GetDeployment reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentState {
    /// `InProgress` from its creation until a hook's report ends it (`Failed`, or `Succeeded`
    /// after the last hook once traffic has moved), a stop ends it (`Stopped`), or the facade's
    /// `set_status` moves it.
    pub status: String,
    pub create_time: SystemTime,
    /// When it ended: for a stop on an alarm, the (simulated) time the alarm went to `ALARM`.
    pub complete_time: Option<SystemTime>,
    /// Why it failed or was stopped (`errorInformation`): `ALARM_ACTIVE`, `HOOK_EXECUTION_FAILURE`.
    pub error: Option<ErrorInformation>,
    /// Its rollback (`rollbackInfo`), or, for a rollback, the deployment it rolled back.
    pub rollback: Option<RollbackInfo>,
    /// Who created it: `user`, or `codeDeployRollback` for a rollback.
    pub creator: String,
}

/// GetDeployment's `errorInformation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInformation {
    pub code: String,
    pub message: String,
}

/// GetDeployment's `rollbackInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollbackInfo {
    /// On a rolled-back deployment: the rollback deployment's id.
    pub rollback_deployment_id: Option<String>,
    /// On a rollback deployment: the deployment it rolled back.
    pub rollback_triggering_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
}

/// A CloudWatch metric alarm on one series, as PutMetricAlarm defines it (the members the
/// stand-in evaluates, in CloudWatch's names and values).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAlarm {
    pub name: String,
    pub namespace: String,
    pub metric_name: String,
    /// Exactly the series' dimensions, `(name, value)`.
    pub dimensions: Vec<(String, String)>,
    /// `SampleCount`, `Average`, `Sum`, `Minimum`, `Maximum`, or a percentile `pNN`
    /// (PutMetricAlarm's `ExtendedStatistic`).
    pub statistic: String,
    /// Seconds: 10, 20, 30 or a multiple of 60.
    pub period: u32,
    pub evaluation_periods: u32,
    /// How many of the `evaluation_periods` must breach (M of N).
    pub datapoints_to_alarm: u32,
    pub threshold: f64,
    /// `GreaterThanOrEqualToThreshold`, `GreaterThanThreshold`, `LessThanThreshold` or
    /// `LessThanOrEqualToThreshold`.
    pub comparison_operator: String,
    /// `missing` (CloudWatch's default), `notBreaching`, `breaching` or `ignore`.
    pub treat_missing_data: String,
}

impl MetricAlarm {
    /// The alarm a team puts on the live judge's metric for `function`, named
    /// `FUNCTION-canary-failing`: namespace `preflight`, metric `CanaryFailing` under exactly
    /// `FunctionName` = `function`, its `Maximum` per 60 s `>= 1` in 1 of 1 periods, missing data
    /// not breaching (no judgement is no failure).
    pub fn canary_failing(function: &str) -> MetricAlarm {
        MetricAlarm {
            name: format!("{function}-canary-failing"),
            namespace: "preflight".into(),
            metric_name: "CanaryFailing".into(),
            dimensions: vec![("FunctionName".into(), function.into())],
            statistic: "Maximum".into(),
            period: 60,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            threshold: 1.0,
            comparison_operator: "GreaterThanOrEqualToThreshold".into(),
            treat_missing_data: "notBreaching".into(),
        }
    }
}

/// An alarm's state value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmStateValue {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmStateValue {
    /// CloudWatch's name for it: `OK`, `ALARM`, `INSUFFICIENT_DATA`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmStateValue::Ok => "OK",
            AlarmStateValue::Alarm => "ALARM",
            AlarmStateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// An alarm's state, and since when (simulated time: the end of the period whose evaluation
/// changed it; `None` while it has never been evaluated).
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmState {
    pub value: AlarmStateValue,
    pub since: Option<SystemTime>,
    /// CloudWatch's `StateReason`, in the stand-in's words.
    pub reason: String,
}

/// A PutMetricData call as it arrived (injected faults are not among them).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataRecord {
    pub namespace: String,
    /// `MetricData`, then each `EntityMetricData`'s.
    pub data: Vec<MetricDatumRecord>,
    /// The error code it was refused with (`InvalidParameterValue`, …); `None`: stored.
    pub refused: Option<String>,
}

/// One `MetricDatum` as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatumRecord {
    pub metric_name: String,
    /// In the order sent.
    pub dimensions: Vec<(String, String)>,
    pub timestamp: Option<SystemTime>,
    pub value: Option<f64>,
    pub values: Vec<f64>,
    pub counts: Vec<f64>,
    /// `StatisticValues`: sample count, sum, minimum, maximum.
    pub statistic_values: Option<[f64; 4]>,
    pub unit: Option<String>,
}

/// A Lambda deployment's lifecycle events, in CodeDeploy's order.
pub const LAMBDA_LIFECYCLE_EVENTS: [&str; 5] = [
    "Start",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
    "End",
];

/// An ECS deployment's lifecycle events, in CodeDeploy's order.
pub const ECS_LIFECYCLE_EVENTS: [&str; 8] = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

/// A deployment's target, as CodeDeploy's deployment targets describe it.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentTarget {
    /// A `LambdaTarget`: one function's alias shifting from one version to another.
    Lambda(LambdaTarget),
    /// An `ECSTarget`: one service's blue and green task sets.
    Ecs(EcsTarget),
}

/// A Lambda function a deployment shifts: `lambdaTarget.lambdaFunctionInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    /// The function's name, which is also the target's id.
    pub function: String,
    pub alias: String,
    /// The version the alias pointed to before the deployment.
    pub current_version: String,
    /// The version being deployed.
    pub target_version: String,
}

impl LambdaTarget {
    /// Function `function`'s alias `alias` moving from `current_version` to `target_version`.
    pub fn new(function: &str, alias: &str, current_version: &str, target_version: &str) -> LambdaTarget {
        LambdaTarget {
            function: function.into(),
            alias: alias.into(),
            current_version: current_version.into(),
            target_version: target_version.into(),
        }
    }
}

/// An ECS service a deployment replaces, with its two task sets' target groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTarget {
    pub cluster: String,
    pub service: String,
    /// The target group (its name) of the blue task set, which serves production before.
    pub blue_target_group: String,
    /// The target group (its name) of the green task set, the one being deployed.
    pub green_target_group: String,
}

impl EcsTarget {
    /// Service `service` in `cluster`, blue behind `blue_target_group`, green behind
    /// `green_target_group` (target group names).
    pub fn new(cluster: &str, service: &str, blue_target_group: &str, green_target_group: &str) -> EcsTarget {
        EcsTarget {
            cluster: cluster.into(),
            service: service.into(),
            blue_target_group: blue_target_group.into(),
            green_target_group: green_target_group.into(),
        }
    }

    /// The ARN the stand-in's ELBv2 (DescribeTargetGroups) gives this service's target group
    /// named `name` (`blue_target_group` or `green_target_group`): `…:targetgroup/NAME/ID`.
    pub fn target_group_arn(name: &str) -> String {
        format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/73e2d6bc24d8a067")
    }

    /// The Application Load Balancer both its target groups serve, named after the cluster
    /// (`…:loadbalancer/app/CLUSTER/ID`): the one behind GetDeploymentGroup's production listener.
    pub fn load_balancer_arn(&self) -> String {
        format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/{}/50dc6c495c0c9188",
            self.cluster
        )
    }
}

/// Where a deployment's lifecycle stands, as its targets' `lifecycleEvents` report it: the
/// events before `in_progress` `Succeeded` with start and end times, `in_progress` itself
/// `InProgress` with a start time only, the later ones `Pending` without times.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    /// The event under way, one of [`LAMBDA_LIFECYCLE_EVENTS`] or [`ECS_LIFECYCLE_EVENTS`]
    /// (the deployment's platform's): the hook being called, since its payload does not say.
    pub in_progress: String,
    /// `AllowTraffic`'s start and end, once it has succeeded: the window in which a Canary or
    /// Linear configuration split the traffic. While `AllowTraffic` itself is in progress, only
    /// the start counts. `None`: as if it took no time, just before the event in progress
    /// started (or, before it, just after).
    pub allow_traffic: Option<(SystemTime, SystemTime)>,
    /// The share (0.0 to 1.0) of production traffic on the new version (Lambda's
    /// `targetVersionWeight`; green's `trafficWeight`, in percent, for ECS). `None`: 1.0 once
    /// `AllowTraffic` has succeeded, 0.0 before.
    pub target_weight: Option<f64>,
}

impl Lifecycle {
    /// The lifecycle with `event` in progress.
    pub fn in_progress(event: &str) -> Lifecycle {
        Lifecycle {
            in_progress: event.into(),
            allow_traffic: None,
            target_weight: None,
        }
    }

    /// At `AfterAllowTraffic`, the traffic having been split from `start` to `end`: what a canary
    /// judge reads.
    pub fn after_allow_traffic(start: SystemTime, end: SystemTime) -> Lifecycle {
        Lifecycle::in_progress("AfterAllowTraffic").allow_traffic(start, end)
    }

    /// In `AllowTraffic` since `start`: the traffic is being split (what a live judge reads), the
    /// events before it `Succeeded`, the ones after `Pending`. The new version's share is 0.0
    /// unless [`Lifecycle::target_weight`] says otherwise (a canary's 0.1, say).
    pub fn allowing_traffic(start: SystemTime) -> Lifecycle {
        Lifecycle::in_progress("AllowTraffic").allow_traffic(start, start)
    }

    /// `AllowTraffic` ran from `start` to `end`.
    pub fn allow_traffic(mut self, start: SystemTime, end: SystemTime) -> Lifecycle {
        self.allow_traffic = Some((start, end));
        self
    }

    /// The new version's share of production traffic, 0.0 to 1.0.
    pub fn target_weight(mut self, weight: f64) -> Lifecycle {
        self.target_weight = Some(weight);
        self
    }
}

/// The ids a hook execution is reported with: the deployment's, and the one lifecycle event hook
/// execution's (the facade's `next_hook_execution` gives the same deployment's next).
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
    /// When not 0, every Nth invocation (the Nth, the 2Nth, …) ends in a function error
    /// (`X-Amz-Function-Error: Unhandled`), the others answer `reply`: a version that fails a
    /// share of its requests, as a canary judge should notice.
    pub fail_every: u32,
}

impl FunctionVersion {
    pub fn replying(reply: Reply) -> FunctionVersion {
        FunctionVersion {
            reply,
            delay: Duration::ZERO,
            fail_first: 0,
            fail_every: 0,
        }
    }

    /// Answers `reply`, except that every `n`th invocation ends in a function error.
    pub fn failing_every(n: u32, reply: Reply) -> FunctionVersion {
        FunctionVersion {
            fail_every: n,
            ..FunctionVersion::replying(reply)
        }
    }
}

/// How many invocations a version ran, and how many of them ended in a function error (what
/// Lambda's `Invocations` and `Errors` count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionTraffic {
    pub invocations: u32,
    pub errors: u32,
}

/// What simulated traffic through an alias did, per executed version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficSummary {
    pub versions: BTreeMap<String, VersionTraffic>,
}

impl TrafficSummary {
    /// The counts for `version` (zero if it ran nothing).
    pub fn version(&self, version: &str) -> VersionTraffic {
        self.versions.get(version).copied().unwrap_or_default()
    }
}

/// Requests simulated through a target group: how many, the share answered 5xx, how long each
/// took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetGroupRequests {
    pub requests: u32,
    /// 0.0 to 1.0; the 5xx answers are spread evenly among the requests.
    pub five_xx_share: f64,
    pub latency: Duration,
}

/// What simulated traffic through a target group counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetGroupTraffic {
    pub requests: u32,
    /// The requests the targets answered with a 5xx status.
    pub five_xx: u32,
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
    /// The version that ran (an alias's weights choose it); `None` when nothing could run.
    pub executed_version: Option<String>,
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
